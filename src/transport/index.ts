/**
 * The transport layer: OpenAI / Azure configuration and URLs, the WebSocket transport as an
 * Effect service, its typed error with the close-code table, and the server's retry-after.
 * @module
 */

export {
  classifyOpenAIError,
  type HeaderLookup,
  type OpenAIErrorClass,
  type OpenAIErrorKind,
  type OpenAIErrorSignal,
} from "../protocol/openAIErrorPolicy.ts"
export { retryAfterMsFromHeaders } from "../protocol/retryAfter.ts"
export {
  type FetchReplay,
  type FetchReplayOptions,
  makeFetchReplay,
  recordingFetch,
} from "./httpRecording.ts"
export {
  type AuthHeaderOptions,
  type AzureCredential,
  type AzureOpenAIConfig,
  authHeaders,
  DEFAULT_OPENAI_BASE_URL,
  isOpenAIConfigError,
  loadOpenAIConfig,
  type OpenAIClientOptions,
  type OpenAIConfig,
  OpenAIConfigError,
  type OpenAIConfigErrorReason,
  type OpenAIConfigOptions,
  type OpenAIEnv,
  type OpenAIPlatformConfig,
  openAIClientOptions,
  type RealtimeTarget,
  realtimeUrl,
  resolveOpenAIConfig,
  responsesUrl,
  restBaseUrl,
  restQuery,
  revealHeaders,
  type SecretHeaders,
  secretOf,
  secretsOf,
} from "./OpenAIConfig.ts"
export {
  isOpenAIHttpError,
  makeOpenAIClient,
  makeOpenAIHttp,
  type OpenAIClientBuildOptions,
  OpenAIHttp,
  OpenAIHttpError,
  type OpenAIHttpErrorReason,
  type OpenAIHttpShape,
  type OpenAIHttpSource,
  openAIHttpErrorOf,
} from "./OpenAIHttp.ts"
export {
  connectWebSocket,
  RealtimeSocket,
  type RealtimeSocketConnectOptions,
  type RealtimeSocketShape,
  type SocketConnection,
} from "./RealtimeSocket.ts"
export {
  type HttpEntry,
  layerRecordingSocket,
  makeFileRecorder,
  RECORDING_FORMAT,
  RECORDING_VERSION,
  type RecordedFailure,
  type Recorder,
  type RecordingEntry,
  type RecordingHeader,
  type RecordOptions,
  recordingPathIn,
  recordingSocket,
  type SocketEntry,
} from "./recording.ts"
export {
  type HttpRecordingLine,
  isReplayError,
  layerReplaySocket,
  makeSocketReplay,
  parseRecording,
  type Recording,
  type RecordingLine,
  ReplayError,
  type ReplayErrorReason,
  type SocketReplay,
  type SocketReplayOptions,
} from "./replay.ts"
export {
  makeScrubber,
  noScrubbing,
  REDACTED_TEXT,
  type Scrubber,
  scrubberOf,
  scrubberOfConnection,
  scrubSecrets,
} from "./scrub.ts"
export {
  closeCodeName,
  isRetryableCloseCode,
  isRetryableOpenStatus,
  isTransportError,
  TransportError,
  type TransportErrorReason,
} from "./TransportError.ts"
