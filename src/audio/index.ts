/**
 * voxstate/audio: PCM16 frames, mono mixdown, the streaming resampler, fixed-duration
 * framing, WAV, base64 and the energy VAD; pure kernels plus the AudioResampler Effect service.
 * @module
 */
export { AudioError, type AudioErrorReason, audioError, isAudioError } from "./AudioError.ts"
export {
  type AudioFrame,
  createFormatGuard,
  type FormatGuard,
  fromFloat32,
  makeAudioFrame,
  validateAudioFrame,
} from "./AudioFrame.ts"
export { AudioResampler, type AudioResamplerShape } from "./AudioResampler.ts"
export { base64ToPcm16, pcm16FromBytes, pcm16ToBase64 } from "./base64.ts"
export { createFramer, type Framer, type FramerOptions } from "./framer.ts"
export { toMono } from "./mono.ts"
export { createPcmConverter, type PcmConverter, type PcmConverterOptions } from "./pcmConverter.ts"
export { createResampler, type Resampler, type ResamplerOptions, type ResamplerQuality } from "./resampler.ts"
export { concatPcm16 } from "./samples.ts"
export { createEnergyVad, type EnergyVadOptions, type Vad, type VadEvent } from "./vad.ts"
export { decodeWav, encodeWav } from "./wav.ts"
