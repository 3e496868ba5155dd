/**
 * voxstate/machines: the session machines, pure XState v5 logic whose I/O actors are
 * supplied by `src/runtime` (or by tests, with `machine.provide`).
 * @module
 */

export {
  type AgentSessionContext,
  type AgentSessionEmitted,
  type AgentSessionEvent,
  type AgentSessionInput,
  type AgentState,
  agentSessionMachine,
  agentStateOf,
  type LlmTurnInput,
  type QueuedReply,
  type ToolOutput,
  type TurnSettings,
  type UserState,
  userStateOf,
} from "./agent/agentSession.ts"
export {
  cutReplyToHeard,
  DEFAULT_CHARACTERS_PER_MS,
  heardText,
  joinUtterances,
  type TimelineSegment,
  wordsHeard,
  wordsOf,
  wordsWithin,
} from "./agent/turnRules.ts"

export {
  backoffDelayMs,
  classifyServerError,
  DEFAULT_LIFECYCLE_TIMEOUTS,
  DEFAULT_RECONNECT_POLICY,
  failureOfEvent,
  initialLifecycleState,
  type LifecycleContext,
  type LifecycleEvent,
  type LifecycleFailure,
  type LifecycleHookAction,
  type LifecycleParts,
  type LifecycleState,
  type LifecycleStateOptions,
  type LifecycleTimeouts,
  lifecycleActions,
  lifecycleDelays,
  lifecycleGuards,
  nextRandom,
  type ReconnectPolicy,
  type RecordFailureParams,
  type SessionSocketInput,
  type SocketFailure,
  sessionLifecycle,
} from "./lifecycle/sessionLifecycle.ts"
export {
  type ChatContextPlan,
  type PlannedCreate,
  planChatContext,
  realtimeItemOf,
} from "./realtime/chatContextPlan.ts"
export {
  type ConversationMirror,
  clampTruncateMs,
  emptyMirror,
  heardTranscript,
  type MirrorItem,
  mirrorChatItems,
} from "./realtime/conversationMirror.ts"
export {
  DEFAULT_RESPONSE_TIMEOUTS,
  type RealtimeControlEvent,
  type RealtimeEvent,
  type RealtimeRestore,
  type RealtimeSessionContext,
  type RealtimeSessionEvent as RealtimeMachineEvent,
  type RealtimeSessionInput,
  type RealtimeSocketCommand,
  realtimeSessionMachine,
  restoreOf as realtimeRestoreOf,
  sessionUpdateOf as realtimeSessionUpdateOf,
} from "./realtime/realtimeSession.ts"
export {
  type ActiveTurn,
  type ChainTurnRequest,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_ROTATE_AFTER_MS,
  type DrainState,
  type PrewarmRequest,
  type RecoveryCause,
  type ResponsesChainContext,
  type ResponsesChainEmitted,
  type ResponsesChainEvent,
  type ResponsesChainInput,
  type ResponsesChainMachine,
  type ResponsesControlEvent,
  type ResponsesSocketCommand,
  type ResponsesSocketEvent,
  type ResponsesSocketInput,
  type ResponsesTurnParams,
  responsesChainMachine,
  type WarmingState,
} from "./responses/responsesChain.ts"
export {
  type AudioInputActorInput,
  type AudioInputCommand,
  type TranscriptionAudioEvent,
  type TranscriptionControlEvent,
  type TranscriptionInternalEvent,
  type TranscriptionMetrics,
  type TranscriptionServerEvent,
  type TranscriptionSessionContext,
  type TranscriptionSessionEvent,
  type TranscriptionSessionInput,
  type TranscriptionSocketCommand,
  transcriptionSessionMachine,
  vadParametersOf,
} from "./transcription/transcriptionSession.ts"
export {
  type SpokenSegment,
  type SynthesisCommand,
  type SynthesisReport,
  type SynthesisStreamContext,
  type SynthesisStreamEvent,
  type SynthesisStreamOutput,
  synthesisStreamMachine,
} from "./tts/synthesisStream.ts"
