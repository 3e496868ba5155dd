/**
 * Audio for the Realtime simulator: signal generators for tests (tone bursts, silence,
 * noise), energy measurement, base64 checks, and the G.711 codecs of the `audio/pcmu` /
 * `audio/pcma` formats. Everything the simulator keeps is 24 kHz mono PCM16. (The simulated
 * model's voice is `synthesizeSpeech` of `rest/signal.ts`, shared with the speech endpoint.)
 * @module
 */
import { Buffer } from "node:buffer"
import { concatPcm16, pcm16ToBase64 } from "../../audio/index.ts"
import { REALTIME_SAMPLE_RATE_HZ } from "../../protocol/audioFormat.ts"
import { createRandom } from "../scenario.ts"

/** Sample rate of all simulator audio, in Hz. */
export const SAMPLE_RATE_HZ = REALTIME_SAMPLE_RATE_HZ

/** Samples in `ms` milliseconds at 24 kHz (rounded). */
export const samplesForMs = (ms: number): number => Math.round((ms * SAMPLE_RATE_HZ) / 1000)

/** Duration of `samples` samples at 24 kHz, in milliseconds (not rounded). */
export const msForSamples = (samples: number): number => (samples * 1000) / SAMPLE_RATE_HZ

/** Options of {@link tone}. */
export interface ToneOptions {
  /** Default 220 Hz. */
  readonly frequencyHz?: number
  /** Peak amplitude, 0..1 of full scale. Default 0.3 (about -13.5 dBFS RMS). */
  readonly amplitude?: number
  /** Fade in and out, in milliseconds, to avoid clicks. Default 5. */
  readonly fadeMs?: number
}

/** A sine tone of `durationMs` at 24 kHz: a stand-in for a burst of speech. */
export const tone = (durationMs: number, options: ToneOptions = {}): Int16Array => {
  const frequencyHz = options.frequencyHz ?? 220
  const amplitude = Math.min(1, Math.max(0, options.amplitude ?? 0.3)) * 32767
  const length = samplesForMs(durationMs)
  const fade = Math.min(samplesForMs(options.fadeMs ?? 5), Math.floor(length / 2))
  const out = new Int16Array(length)
  const step = (2 * Math.PI * frequencyHz) / SAMPLE_RATE_HZ
  for (let i = 0; i < length; i++) {
    const edge = Math.min(i, length - 1 - i)
    const gain = fade > 0 && edge < fade ? edge / fade : 1
    out[i] = Math.round(Math.sin(i * step) * amplitude * gain)
  }
  return out
}

/** `durationMs` of digital silence at 24 kHz. */
export const silence = (durationMs: number): Int16Array => new Int16Array(samplesForMs(durationMs))

/** Seeded white noise at 24 kHz with the given peak amplitude (0..1); e.g. 0.003 ≈ -55 dBFS. */
export const noise = (durationMs: number, amplitude: number, seed = 1): Int16Array => {
  const random = createRandom(seed)
  const out = new Int16Array(samplesForMs(durationMs))
  const peak = Math.min(1, Math.max(0, amplitude)) * 32767
  for (let i = 0; i < out.length; i++) out[i] = Math.round((random() * 2 - 1) * peak)
  return out
}

/** Concatenates PCM16 buffers into a new array (the audio layer's `concatPcm16`, variadic). */
export const concatPcm = (...parts: readonly Int16Array[]): Int16Array => concatPcm16(parts)

/** RMS level of `samples` in dBFS (full-scale sine ≈ -3 dBFS); `-Infinity` for digital silence. */
export const rmsDbfs = (samples: Int16Array): number => {
  if (samples.length === 0) return Number.NEGATIVE_INFINITY
  let sum = 0
  for (let i = 0; i < samples.length; i++) {
    const s = (samples[i] ?? 0) / 32768
    sum += s * s
  }
  return 10 * Math.log10(sum / samples.length)
}

const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/

/** Whether `text` is canonical padded base64 (what the service accepts in `audio` fields). */
export const isBase64 = (text: string): boolean => text.length % 4 === 0 && BASE64_PATTERN.test(text)

/** Byte length of the data a valid base64 string decodes to, without decoding it. */
export const base64ByteLength = (text: string): number => {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0
  return (text.length / 4) * 3 - padding
}

/** Little-endian bytes of PCM16 samples as base64 (the audio layer's `pcm16ToBase64`, no copy). */
export const pcmToBase64: (samples: Int16Array) => string = pcm16ToBase64

/**
 * PCM16 samples from little-endian bytes, always copied (an odd last byte is dropped; the
 * input buffer refuses odd PCM lengths before decoding). Unlike the audio layer's
 * `pcm16FromBytes`, which returns a view when it can, the copy owns its memory, so audio the
 * simulator keeps never pins the Node buffer-pool slab a small base64 decode lands in.
 */
export const pcmFromBytes = (bytes: Uint8Array): Int16Array => {
  const out = new Int16Array(bytes.byteLength >> 1)
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 2))
  return out
}

// G.711 (ITU-T G.711) companding, 8 kHz, one byte per sample.

const MULAW_BIAS = 0x84
const MULAW_CLIP = 32635

/** Decodes one µ-law byte to a linear PCM16 sample. */
export const mulawToLinear = (byte: number): number => {
  const u = ~byte & 0xff
  const exponent = (u >> 4) & 0x07
  const magnitude = ((((u & 0x0f) << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS
  return u & 0x80 ? -magnitude : magnitude
}

/** Encodes one linear PCM16 sample as a µ-law byte. */
export const linearToMulaw = (sample: number): number => {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)))
  const sign = s < 0 ? 0x80 : 0
  if (s < 0) s = -s
  s = Math.min(s, MULAW_CLIP) + MULAW_BIAS
  let exponent = 7
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--
  const mantissa = (s >> (exponent + 3)) & 0x0f
  return ~(sign | (exponent << 4) | mantissa) & 0xff
}

/** Decodes one A-law byte to a linear PCM16 sample. */
export const alawToLinear = (byte: number): number => {
  const a = byte ^ 0x55
  const segment = (a & 0x70) >> 4
  let magnitude = (a & 0x0f) << 4
  if (segment === 0) magnitude += 8
  else magnitude = (magnitude + 0x108) << (segment - 1)
  return a & 0x80 ? magnitude : -magnitude
}

/** Encodes one linear PCM16 sample as an A-law byte. */
export const linearToAlaw = (sample: number): number => {
  // A-law works on 13 bits: drop the three low bits, then find the segment (chord).
  let s = Math.max(-32768, Math.min(32767, Math.round(sample))) >> 3
  let mask: number
  if (s >= 0) {
    mask = 0xd5
  } else {
    mask = 0x55
    s = -s - 1
  }
  let segment = 0
  while (segment < 8 && s > (0x20 << segment) - 1) segment++
  if (segment >= 8) return 0x7f ^ mask
  const mantissa = segment < 2 ? (s >> 1) & 0x0f : (s >> segment) & 0x0f
  return ((segment << 4) | mantissa) ^ mask
}

/** The wire formats of Realtime audio. */
export type WireAudioFormat = "audio/pcm" | "audio/pcmu" | "audio/pcma"

/**
 * Decodes appended wire audio into 24 kHz PCM16: `audio/pcm` as is; G.711 decoded and
 * upsampled ×3 by linear interpolation.
 *
 * Each append is decoded on its own into exactly three samples per byte, so the session clock
 * advances by the append's whole duration at once. The audio layer's `createResampler` would
 * filter better but is a stream: it holds back its look-ahead (39 input samples for 8 → 24
 * kHz) until the next push, and run one-shot per append it rings at every append's edges
 * (a 20 ms append of constant level falls to about a third of it at its end). The simulator
 * only measures the audio's energy and echoes it back in items, for which linear
 * interpolation is enough.
 */
export const decodeWireAudio = (bytes: Uint8Array, format: WireAudioFormat): Int16Array => {
  if (format === "audio/pcm") return pcmFromBytes(bytes)
  const decode = format === "audio/pcmu" ? mulawToLinear : alawToLinear
  const out = new Int16Array(bytes.length * 3)
  for (let i = 0; i < bytes.length; i++) {
    const current = decode(bytes[i] ?? 0)
    const next = i + 1 < bytes.length ? decode(bytes[i + 1] ?? 0) : current
    out[i * 3] = current
    out[i * 3 + 1] = Math.round(current + (next - current) / 3)
    out[i * 3 + 2] = Math.round(current + ((next - current) * 2) / 3)
  }
  return out
}

/**
 * Encodes 24 kHz PCM16 for the wire: `audio/pcm` as is; G.711 after averaging each group of
 * three samples down to 8 kHz.
 */
export const encodeWireAudio = (samples: Int16Array, format: WireAudioFormat): Buffer => {
  if (format === "audio/pcm") return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)
  const encode = format === "audio/pcmu" ? linearToMulaw : linearToAlaw
  const out = Buffer.alloc(Math.floor(samples.length / 3))
  for (let i = 0; i < out.length; i++) {
    const sum = (samples[i * 3] ?? 0) + (samples[i * 3 + 1] ?? 0) + (samples[i * 3 + 2] ?? 0)
    out[i] = encode(sum / 3)
  }
  return out
}
