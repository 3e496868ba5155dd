/**
 * voxstate/tts: the text-to-speech contract (`TTS`, `SynthesisStream`, `SynthesizeStream`,
 * `SynthesizedAudio`), `createTTS` over REST `POST /audio/speech`, the streaming sentence
 * tokenizer, the StreamAdapter and the fallback chain.
 * @module
 */

export { toSynthesisEffectStream } from "./effect.ts"
export {
  createFallbackTTS,
  type FallbackTTS,
  type FallbackTTSOptions,
  type FallbackTTSStatus,
} from "./FallbackTTS.ts"
export {
  BUILT_IN_VOICES,
  createTTS,
  OPENAI_TTS_SAMPLE_RATE_HZ,
  type OpenAITTS,
  type TTSModel,
  type TTSOptions,
} from "./OpenAITTS.ts"
export {
  createSegmentPipeline,
  type SegmentOutcome,
  type SegmentPipelineOptions,
  type SegmentRequest,
  type SegmentSynthesizer,
} from "./pipeline.ts"
export {
  createSpeechReframer,
  type SpeechReframer,
} from "./reframe.ts"
export {
  createTTSStreamAdapter,
  type RelayProgress,
  relaySegment,
  type TTSStreamAdapterOptions,
} from "./StreamAdapter.ts"
export {
  SynthesisSession,
  type SynthesisSessionLogic,
  type SynthesisSessionOptions,
  type SynthesisSessionParts,
} from "./SynthesisSession.ts"
export {
  createSentenceTokenizer,
  MAX_SPEECH_INPUT_CHARS,
  type SentenceTokenizer,
  type SentenceTokenizerOptions,
  splitText,
} from "./sentences.ts"
export type {
  SegmentMetrics,
  SynthesisEvent,
  SynthesisStream,
  SynthesizedAudio,
  SynthesizeOptions,
  SynthesizeStream,
  TTS,
  TTSCapabilities,
  TTSVoice,
} from "./TTS.ts"
export {
  describeTTSReason,
  isTTSError,
  TTSError,
  type TTSErrorReason,
  toTTSError,
  ttsInvalid,
  withTTSFields,
} from "./TTSError.ts"
