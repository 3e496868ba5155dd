/**
 * voxstate/stt: the speech-to-text contract (`STT`, `SpeechEvent`, `SpeechStream`), batch
 * transcription over REST, the StreamAdapter and FallbackAdapter, retries and splitting.
 * @module
 */
export {
  type BatchSTT,
  type BatchSTTModel,
  type BatchSTTOptions,
  confidenceFromLogprobs,
  createBatchSTT,
} from "./BatchSTT.ts"
export {
  createFallbackAdapter,
  type FallbackAdapterOptions,
  type FallbackSTT,
  type FallbackStatus,
} from "./FallbackAdapter.ts"
export {
  type APIConnectOptions,
  DEFAULT_API_CONNECT_OPTIONS,
  isRetryableHttp,
  isRetryableStatus,
  isSTTError,
  MAX_RETRY_AFTER_MS,
  resolveConnectOptions,
  retrySchedule,
  STTError,
  type STTErrorReason,
  sttErrorCode,
  withRetries,
} from "./retry.ts"
export type {
  RecognitionUsage,
  SpeechAlternative,
  SpeechErrorInfo,
  SpeechEvent,
  SpeechStream,
} from "./SpeechEvent.ts"
export {
  createSpeechEventChannel,
  isInputEndedError,
  type RecognitionProgress,
  type RecognizeInput,
  type RecognizeOptions,
  type SpeechEventChannel,
  type SpeechRecognition,
  type STT,
  type STTCapabilities,
  type StreamingSTTOptions,
  type StreamOptions,
  streamingSTT,
  type TranscriptSegment,
  type TranscriptWord,
} from "./STT.ts"
export {
  createAdapterStream,
  createStreamAdapter,
  type StreamAdapterOptions,
} from "./StreamAdapter.ts"
export {
  findSpeechRegions,
  MAX_TRANSCRIPTION_REQUEST_BYTES,
  MULTIPART_OVERHEAD_BYTES,
  maxSamplesPerRequest,
  type PartPlan,
  planParts,
  requestBytesFor,
  type SampleRange,
  WAV_HEADER_BYTES,
} from "./split.ts"
export {
  createTranscriptionSession,
  type LocalTurnDetection,
  type NoiseReductionSetting,
  resumeTranscriptionSession,
  type SemanticVadTurnDetection,
  type ServerVadTurnDetection,
  type TranscriptionMetrics,
  type TranscriptionSchema,
  TranscriptionSession,
  type TranscriptionSessionContext,
  type TranscriptionSessionLogic,
  type TranscriptionSessionOptions,
  type TranscriptionSessionParts,
  type TranscriptionSettings,
  type TranscriptionSnapshot,
  type TranscriptionSnapshotData,
  type TurnDetectionSetting,
} from "./TranscriptionSession.ts"
