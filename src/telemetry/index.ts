/**
 * voxstate/telemetry: span and metric helpers on Effect's tracer and metric registry.
 * @module
 */
export {
  type RecognitionMetricAttributes,
  recordRecognition,
  recordRecognitionFailure,
  recordRecognitionSync,
  sttAudioDurationMs,
  sttLatencyMs,
  sttRecognitions,
  sttTokens,
} from "./metrics.ts"
export {
  RealtimeSpanNames,
  type ResponseTrace,
  type ResponseTraceEnd,
  type ResponseTraceOptions,
  traceResponse,
} from "./realtimeSpans.ts"
export {
  annotateOutcome,
  audioToBase64Wav,
  modelConfigAttributes,
  outcomeAttributes,
  type RecognitionOutcome,
  type SensitiveTraceOptions,
  type SpanAttributeValue,
  SttSpanNames,
  sensitiveTraceOptions,
  type TracedAudio,
  type TranscriptionModelConfig,
  type TurnEnd,
  type TurnTrace,
  type TurnTraceOptions,
  traceTurn,
} from "./spans.ts"
export {
  type SegmentTrace,
  type SegmentTraceEnd,
  type SegmentTraceOptions,
  type SpeechModelConfig,
  speechConfigAttributes,
  TtsSpanNames,
  traceSegment,
} from "./ttsSpans.ts"
