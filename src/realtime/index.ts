/**
 * voxstate/realtime: the speech-to-speech Realtime session (conversation, tools,
 * interruption at what was heard, reconnect that keeps the conversation).
 * @module
 */
export { isRealtimeError, RealtimeError, type RealtimeErrorReason } from "./RealtimeError.ts"
export {
  createRealtimeSession,
  type DuplicateCreatePolicy,
  RealtimeSession,
  type RealtimeSessionEvent,
  type RealtimeSessionLogic,
  type RealtimeSessionOptions,
  type RealtimeSessionParts,
  type RealtimeSettings,
  type RealtimeSnapshot,
  type RealtimeSnapshotData,
  type RealtimeTurnDetection,
  type ResponseMetrics,
  type ResponseRequest,
  type ResponseTimeouts,
  resumeRealtimeSession,
} from "./RealtimeSession.ts"
