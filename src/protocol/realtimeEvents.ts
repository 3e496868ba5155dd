import { Schema } from "effect"
import { OpenRecord, opt, optNull, unknownPayloadExcept } from "./schemaKit.ts"

/**
 * Effect Schemas of the Realtime WebSocket server events: GA transcription and
 * conversation sessions, the legacy beta transcription session, and the beta names of the
 * response streaming events. Shapes follow `openai/resources/realtime/realtime.d.ts` and
 * the protocol reference; unknown fields are dropped, unknown nested item kinds are kept
 * as `{ type: "unknown", originalType, raw }`.
 *
 * Every event's `event_id` is optional here: compatible servers (and the simulator) may
 * leave it out, and nothing downstream depends on it.
 * @module
 */

const str = Schema.String
const num = Schema.Number

/** Builds a server event struct: the `type` literal, an optional `event_id`, then `fields`. */
const realtimeEvent = <const T extends string, const F extends Schema.Struct.Fields>(type: T, fields: F) =>
  Schema.Struct({ type: Schema.Literal(type), event_id: opt(str), ...fields })

// ---------------------------------------------------------------------------------------
// Shared parts

/** One token's log probability (`include: ["item.input_audio_transcription.logprobs"]`). */
export const LogProb = Schema.Struct({ token: str, logprob: num, bytes: opt(Schema.Array(num)) })
/** One token's log probability. `logprob` is a natural log (≤ 0). */
export type LogProb = typeof LogProb.Type

/** Token-based usage of one transcription (gpt-4o-* transcribe models). */
export const TranscriptionUsageTokens = Schema.Struct({
  type: Schema.Literal("tokens"),
  input_tokens: num,
  output_tokens: num,
  total_tokens: num,
  input_token_details: opt(Schema.Struct({ audio_tokens: opt(num), text_tokens: opt(num) })),
})
/** Token-based usage of one transcription. */
export type TranscriptionUsageTokens = typeof TranscriptionUsageTokens.Type

/** Duration-based usage of one transcription (whisper-1); `seconds` of audio billed. */
export const TranscriptionUsageDuration = Schema.Struct({ type: Schema.Literal("duration"), seconds: num })
/** Duration-based usage of one transcription. */
export type TranscriptionUsageDuration = typeof TranscriptionUsageDuration.Type

/** Usage reported with a completed transcription: tokens or duration. */
export const TranscriptionUsage = Schema.Union([TranscriptionUsageTokens, TranscriptionUsageDuration])
/** Usage reported with a completed transcription. */
export type TranscriptionUsage = typeof TranscriptionUsage.Type

/**
 * The session object of `session.created` / `session.updated` (and the beta
 * `transcription_session.*`). Kept open: the common identifying keys are checked when
 * present, every other key is passed through untouched.
 */
export const RealtimeSessionObject = Schema.StructWithRest(
  Schema.Struct({
    type: opt(str),
    id: opt(str),
    object: opt(str),
    model: opt(str),
  }),
  [OpenRecord],
)
/** The session object of `session.created` / `session.updated`: an open record. */
export type RealtimeSessionObject = typeof RealtimeSessionObject.Type

/** One content part of a message item (`input_text`, `input_audio`, `output_audio`, `output_text`, …). */
export const RealtimeContentPart = Schema.Struct({
  type: opt(str),
  id: opt(str),
  text: opt(str),
  audio: opt(str),
  transcript: optNull(str),
  image_url: opt(str),
  detail: opt(str),
})
/** One content part of a message item. `audio` is base64 and never decoded here. */
export type RealtimeContentPart = typeof RealtimeContentPart.Type

const itemCommon = {
  id: opt(str),
  object: opt(str),
  status: opt(Schema.Literals(["completed", "incomplete", "in_progress"])),
} as const

/** A `message` conversation item of any role. */
export const RealtimeMessageItem = Schema.Struct({
  type: Schema.Literal("message"),
  role: Schema.Literals(["user", "assistant", "system"]),
  content: Schema.Array(RealtimeContentPart),
  ...itemCommon,
})
/** A `message` conversation item of any role. */
export type RealtimeMessageItem = typeof RealtimeMessageItem.Type

/** A `function_call` item: `arguments` is the JSON text the model wrote (may be `""` while streaming). */
export const RealtimeFunctionCallItem = Schema.Struct({
  type: Schema.Literal("function_call"),
  name: str,
  arguments: str,
  call_id: opt(str),
  ...itemCommon,
})
/** A `function_call` item. */
export type RealtimeFunctionCallItem = typeof RealtimeFunctionCallItem.Type

/** A `function_call_output` item: the result the client sent back for `call_id`. */
export const RealtimeFunctionCallOutputItem = Schema.Struct({
  type: Schema.Literal("function_call_output"),
  call_id: str,
  output: str,
  ...itemCommon,
})
/** A `function_call_output` item. */
export type RealtimeFunctionCallOutputItem = typeof RealtimeFunctionCallOutputItem.Type

/**
 * A conversation item: message, function call or function call output. Other kinds (MCP
 * items, anything newer) decode to `{ type: "unknown", originalType, raw }`.
 */
export const RealtimeItem = Schema.Union([
  RealtimeMessageItem,
  RealtimeFunctionCallItem,
  RealtimeFunctionCallOutputItem,
  unknownPayloadExcept(["message", "function_call", "function_call_output"]),
])
/** A conversation item; narrow on `type` (`"unknown"` for kinds not modelled here). */
export type RealtimeItem = typeof RealtimeItem.Type

/** Token usage of one response. */
export const RealtimeResponseUsage = Schema.Struct({
  total_tokens: opt(num),
  input_tokens: opt(num),
  output_tokens: opt(num),
  input_token_details: opt(
    Schema.Struct({
      text_tokens: opt(num),
      audio_tokens: opt(num),
      image_tokens: opt(num),
      cached_tokens: opt(num),
      cached_tokens_details: opt(
        Schema.Struct({ text_tokens: opt(num), audio_tokens: opt(num), image_tokens: opt(num) }),
      ),
    }),
  ),
  output_token_details: opt(Schema.Struct({ text_tokens: opt(num), audio_tokens: opt(num) })),
})
/** Token usage of one response. */
export type RealtimeResponseUsage = typeof RealtimeResponseUsage.Type

/** Why a response ended the way it did (`status_details`). */
export const RealtimeResponseStatusDetails = Schema.Struct({
  type: opt(str),
  reason: opt(str),
  error: optNull(Schema.Struct({ type: opt(str), code: optNull(str), message: opt(str) })),
})
/** Why a response ended the way it did. `reason` is e.g. `turn_detected`, `client_cancelled`. */
export type RealtimeResponseStatusDetails = typeof RealtimeResponseStatusDetails.Type

/** The response object of `response.created` / `response.done`. */
export const RealtimeResponse = Schema.Struct({
  id: opt(str),
  object: opt(str),
  status: opt(Schema.Literals(["in_progress", "completed", "cancelled", "failed", "incomplete"])),
  status_details: optNull(RealtimeResponseStatusDetails),
  output: opt(Schema.Array(RealtimeItem)),
  conversation_id: optNull(str),
  output_modalities: opt(Schema.Array(str)),
  max_output_tokens: optNull(Schema.Union([num, Schema.Literal("inf")])),
  metadata: optNull(Schema.Record(str, str)),
  usage: optNull(RealtimeResponseUsage),
})
/** The response object of `response.created` / `response.done`. */
export type RealtimeResponse = typeof RealtimeResponse.Type

/** A content part announced by `response.content_part.added` / `.done`. */
export const RealtimeResponsePart = Schema.Struct({
  type: opt(str),
  text: opt(str),
  audio: opt(str),
  transcript: opt(str),
})
/** A content part announced by `response.content_part.added` / `.done`. */
export type RealtimeResponsePart = typeof RealtimeResponsePart.Type

/** The body of an `error` event. `event_id` names the offending client event, when known. */
export const RealtimeErrorBody = Schema.Struct({
  type: str,
  code: optNull(str),
  message: str,
  param: optNull(str),
  event_id: optNull(str),
})
/** The body of an `error` event. */
export type RealtimeErrorBody = typeof RealtimeErrorBody.Type

// ---------------------------------------------------------------------------------------
// Session

/** `session.created`: the first event, with the server's defaults. */
export const SessionCreatedEvent = realtimeEvent("session.created", { session: RealtimeSessionObject })
/** `session.created`. */
export type SessionCreatedEvent = typeof SessionCreatedEvent.Type

/** `session.updated`: the acknowledgement of a `session.update`, with the whole session. */
export const SessionUpdatedEvent = realtimeEvent("session.updated", { session: RealtimeSessionObject })
/** `session.updated`. */
export type SessionUpdatedEvent = typeof SessionUpdatedEvent.Type

/** Beta `transcription_session.created`: the first event of a beta transcription session. */
export const TranscriptionSessionCreatedEvent = realtimeEvent("transcription_session.created", {
  session: RealtimeSessionObject,
})
/** Beta `transcription_session.created`. */
export type TranscriptionSessionCreatedEvent = typeof TranscriptionSessionCreatedEvent.Type

/** Beta `transcription_session.updated`: the acknowledgement of `transcription_session.update`. */
export const TranscriptionSessionUpdatedEvent = realtimeEvent("transcription_session.updated", {
  session: RealtimeSessionObject,
})
/** Beta `transcription_session.updated`. */
export type TranscriptionSessionUpdatedEvent = typeof TranscriptionSessionUpdatedEvent.Type

// ---------------------------------------------------------------------------------------
// Input audio buffer (all `*_ms` values are offsets into the session's input audio)

/** `input_audio_buffer.speech_started`: VAD heard speech; `audio_start_ms` includes prefix padding. */
export const InputAudioBufferSpeechStartedEvent = realtimeEvent("input_audio_buffer.speech_started", {
  audio_start_ms: num,
  item_id: str,
})
/** `input_audio_buffer.speech_started`. */
export type InputAudioBufferSpeechStartedEvent = typeof InputAudioBufferSpeechStartedEvent.Type

/** `input_audio_buffer.speech_stopped`: VAD heard the end of speech at `audio_end_ms`. */
export const InputAudioBufferSpeechStoppedEvent = realtimeEvent("input_audio_buffer.speech_stopped", {
  audio_end_ms: num,
  item_id: str,
})
/** `input_audio_buffer.speech_stopped`. */
export type InputAudioBufferSpeechStoppedEvent = typeof InputAudioBufferSpeechStoppedEvent.Type

/** `input_audio_buffer.committed`: the buffer became user item `item_id`, after `previous_item_id`. */
export const InputAudioBufferCommittedEvent = realtimeEvent("input_audio_buffer.committed", {
  item_id: str,
  previous_item_id: optNull(str),
})
/** `input_audio_buffer.committed`. */
export type InputAudioBufferCommittedEvent = typeof InputAudioBufferCommittedEvent.Type

/** `input_audio_buffer.cleared`: the answer to `input_audio_buffer.clear`. */
export const InputAudioBufferClearedEvent = realtimeEvent("input_audio_buffer.cleared", {})
/** `input_audio_buffer.cleared`. */
export type InputAudioBufferClearedEvent = typeof InputAudioBufferClearedEvent.Type

/** `input_audio_buffer.timeout_triggered`: server VAD `idle_timeout_ms` fired. */
export const InputAudioBufferTimeoutTriggeredEvent = realtimeEvent("input_audio_buffer.timeout_triggered", {
  audio_start_ms: num,
  audio_end_ms: num,
  item_id: str,
})
/** `input_audio_buffer.timeout_triggered`. */
export type InputAudioBufferTimeoutTriggeredEvent = typeof InputAudioBufferTimeoutTriggeredEvent.Type

/** `input_audio_buffer.dtmf_event_received` (SIP only): a keypad `event` at `received_at` (Unix s). */
export const InputAudioBufferDtmfEventReceivedEvent = realtimeEvent(
  "input_audio_buffer.dtmf_event_received",
  {
    event: str,
    received_at: num,
  },
)
/** `input_audio_buffer.dtmf_event_received`. */
export type InputAudioBufferDtmfEventReceivedEvent = typeof InputAudioBufferDtmfEventReceivedEvent.Type

// ---------------------------------------------------------------------------------------
// Input transcription

/**
 * `conversation.item.input_audio_transcription.delta`: a piece of the transcript of user
 * item `item_id` (gpt-4o-* models send increments; whisper-1 sends the whole turn each time).
 */
export const InputAudioTranscriptionDeltaEvent = realtimeEvent(
  "conversation.item.input_audio_transcription.delta",
  {
    item_id: str,
    content_index: opt(num),
    delta: opt(str),
    logprobs: optNull(Schema.Array(LogProb)),
  },
)
/** `conversation.item.input_audio_transcription.delta`. */
export type InputAudioTranscriptionDeltaEvent = typeof InputAudioTranscriptionDeltaEvent.Type

/**
 * `conversation.item.input_audio_transcription.completed`: the final transcript of user
 * item `item_id`. Completions of different turns may arrive out of order. `usage` is
 * optional here because older and Azure preview servers do not send it.
 */
export const InputAudioTranscriptionCompletedEvent = realtimeEvent(
  "conversation.item.input_audio_transcription.completed",
  {
    item_id: str,
    content_index: num,
    transcript: str,
    logprobs: optNull(Schema.Array(LogProb)),
    languages: opt(Schema.Array(Schema.Struct({ code: str }))),
    usage: opt(TranscriptionUsage),
  },
)
/** `conversation.item.input_audio_transcription.completed`. */
export type InputAudioTranscriptionCompletedEvent = typeof InputAudioTranscriptionCompletedEvent.Type

/** `conversation.item.input_audio_transcription.failed`: one item could not be transcribed (not fatal). */
export const InputAudioTranscriptionFailedEvent = realtimeEvent(
  "conversation.item.input_audio_transcription.failed",
  {
    item_id: str,
    content_index: num,
    error: Schema.Struct({
      type: optNull(str),
      code: optNull(str),
      message: optNull(str),
      param: optNull(str),
    }),
  },
)
/** `conversation.item.input_audio_transcription.failed`. */
export type InputAudioTranscriptionFailedEvent = typeof InputAudioTranscriptionFailedEvent.Type

/** `conversation.item.input_audio_transcription.segment` (diarization): `start`/`end` in seconds. */
export const InputAudioTranscriptionSegmentEvent = realtimeEvent(
  "conversation.item.input_audio_transcription.segment",
  {
    id: str,
    item_id: str,
    content_index: num,
    text: str,
    speaker: str,
    start: num,
    end: num,
  },
)
/** `conversation.item.input_audio_transcription.segment`. */
export type InputAudioTranscriptionSegmentEvent = typeof InputAudioTranscriptionSegmentEvent.Type

// ---------------------------------------------------------------------------------------
// Conversation items

const itemEventFields = { item: RealtimeItem, previous_item_id: optNull(str) } as const

/** `conversation.created` (beta and early GA): the conversation of the session. */
export const ConversationCreatedEvent = realtimeEvent("conversation.created", {
  conversation: Schema.Struct({ id: opt(str), object: opt(str) }),
})
/** `conversation.created`. */
export type ConversationCreatedEvent = typeof ConversationCreatedEvent.Type

/** `conversation.item.added` (GA): an item joined the conversation (no audio bytes). */
export const ConversationItemAddedEvent = realtimeEvent("conversation.item.added", itemEventFields)
/** `conversation.item.added`. */
export type ConversationItemAddedEvent = typeof ConversationItemAddedEvent.Type

/** `conversation.item.done` (GA): an item is complete. */
export const ConversationItemDoneEvent = realtimeEvent("conversation.item.done", itemEventFields)
/** `conversation.item.done`. */
export type ConversationItemDoneEvent = typeof ConversationItemDoneEvent.Type

/** `conversation.item.created` (beta name, still in the GA union). */
export const ConversationItemCreatedEvent = realtimeEvent("conversation.item.created", itemEventFields)
/** `conversation.item.created`. */
export type ConversationItemCreatedEvent = typeof ConversationItemCreatedEvent.Type

/** `conversation.item.deleted`: the answer to `conversation.item.delete`. */
export const ConversationItemDeletedEvent = realtimeEvent("conversation.item.deleted", { item_id: str })
/** `conversation.item.deleted`. */
export type ConversationItemDeletedEvent = typeof ConversationItemDeletedEvent.Type

/** `conversation.item.truncated`: assistant audio of `item_id` was cut at `audio_end_ms`. */
export const ConversationItemTruncatedEvent = realtimeEvent("conversation.item.truncated", {
  item_id: str,
  content_index: num,
  audio_end_ms: num,
})
/** `conversation.item.truncated`. */
export type ConversationItemTruncatedEvent = typeof ConversationItemTruncatedEvent.Type

/** `conversation.item.retrieved`: the answer to `conversation.item.retrieve` (with audio). */
export const ConversationItemRetrievedEvent = realtimeEvent("conversation.item.retrieved", {
  item: RealtimeItem,
})
/** `conversation.item.retrieved`. */
export type ConversationItemRetrievedEvent = typeof ConversationItemRetrievedEvent.Type

// ---------------------------------------------------------------------------------------
// Responses

/** `response.created`: a response started (`status: "in_progress"`). */
export const ResponseCreatedEvent = realtimeEvent("response.created", { response: RealtimeResponse })
/** `response.created`. */
export type ResponseCreatedEvent = typeof ResponseCreatedEvent.Type

/** `response.done`: a response ended, whatever the outcome; read `status` and `usage`. */
export const ResponseDoneEvent = realtimeEvent("response.done", { response: RealtimeResponse })
/** `response.done`. */
export type ResponseDoneEvent = typeof ResponseDoneEvent.Type

const outputItemFields = { response_id: str, output_index: num, item: RealtimeItem } as const

/** `response.output_item.added`: the response started output item `output_index`. */
export const ResponseOutputItemAddedEvent = realtimeEvent("response.output_item.added", outputItemFields)
/** `response.output_item.added`. */
export type ResponseOutputItemAddedEvent = typeof ResponseOutputItemAddedEvent.Type

/** `response.output_item.done`: output item `output_index` is complete (run tools here). */
export const ResponseOutputItemDoneEvent = realtimeEvent("response.output_item.done", outputItemFields)
/** `response.output_item.done`. */
export type ResponseOutputItemDoneEvent = typeof ResponseOutputItemDoneEvent.Type

const partIds = { response_id: str, item_id: str, output_index: num, content_index: num } as const

/** `response.content_part.added`. */
export const ResponseContentPartAddedEvent = realtimeEvent("response.content_part.added", {
  ...partIds,
  part: RealtimeResponsePart,
})
/** `response.content_part.added`. */
export type ResponseContentPartAddedEvent = typeof ResponseContentPartAddedEvent.Type

/** `response.content_part.done`. */
export const ResponseContentPartDoneEvent = realtimeEvent("response.content_part.done", {
  ...partIds,
  part: RealtimeResponsePart,
})
/** `response.content_part.done`. */
export type ResponseContentPartDoneEvent = typeof ResponseContentPartDoneEvent.Type

/** `response.output_audio.delta`: `delta` is base64 PCM16 (24 kHz mono by default), not decoded here. */
export const ResponseOutputAudioDeltaEvent = realtimeEvent("response.output_audio.delta", {
  ...partIds,
  delta: str,
})
/** `response.output_audio.delta`. */
export type ResponseOutputAudioDeltaEvent = typeof ResponseOutputAudioDeltaEvent.Type

/** `response.output_audio.done`. */
export const ResponseOutputAudioDoneEvent = realtimeEvent("response.output_audio.done", partIds)
/** `response.output_audio.done`. */
export type ResponseOutputAudioDoneEvent = typeof ResponseOutputAudioDoneEvent.Type

/** `response.output_audio_transcript.delta`: a piece of the transcript of the spoken reply. */
export const ResponseOutputAudioTranscriptDeltaEvent = realtimeEvent(
  "response.output_audio_transcript.delta",
  {
    ...partIds,
    delta: str,
  },
)
/** `response.output_audio_transcript.delta`. */
export type ResponseOutputAudioTranscriptDeltaEvent = typeof ResponseOutputAudioTranscriptDeltaEvent.Type

/** `response.output_audio_transcript.done`: the whole transcript of the spoken reply. */
export const ResponseOutputAudioTranscriptDoneEvent = realtimeEvent("response.output_audio_transcript.done", {
  ...partIds,
  transcript: str,
})
/** `response.output_audio_transcript.done`. */
export type ResponseOutputAudioTranscriptDoneEvent = typeof ResponseOutputAudioTranscriptDoneEvent.Type

/** `response.output_text.delta`: a piece of a text reply. */
export const ResponseOutputTextDeltaEvent = realtimeEvent("response.output_text.delta", {
  ...partIds,
  delta: str,
})
/** `response.output_text.delta`. */
export type ResponseOutputTextDeltaEvent = typeof ResponseOutputTextDeltaEvent.Type

/** `response.output_text.done`: the whole text reply. */
export const ResponseOutputTextDoneEvent = realtimeEvent("response.output_text.done", {
  ...partIds,
  text: str,
})
/** `response.output_text.done`. */
export type ResponseOutputTextDoneEvent = typeof ResponseOutputTextDoneEvent.Type

/** `response.function_call_arguments.delta`: a piece of the JSON arguments of `call_id`. */
export const ResponseFunctionCallArgumentsDeltaEvent = realtimeEvent(
  "response.function_call_arguments.delta",
  {
    response_id: str,
    item_id: str,
    output_index: num,
    call_id: str,
    delta: str,
  },
)
/** `response.function_call_arguments.delta`. */
export type ResponseFunctionCallArgumentsDeltaEvent = typeof ResponseFunctionCallArgumentsDeltaEvent.Type

/** `response.function_call_arguments.done`: the complete JSON `arguments` of tool `name`. */
export const ResponseFunctionCallArgumentsDoneEvent = realtimeEvent("response.function_call_arguments.done", {
  response_id: str,
  item_id: str,
  output_index: num,
  call_id: str,
  name: opt(str),
  arguments: str,
})
/** `response.function_call_arguments.done`. */
export type ResponseFunctionCallArgumentsDoneEvent = typeof ResponseFunctionCallArgumentsDoneEvent.Type

// Beta names of the response streaming events (§6): same fields, old `type`.

/** Beta `response.audio.delta` (GA: `response.output_audio.delta`). */
export const BetaResponseAudioDeltaEvent = realtimeEvent("response.audio.delta", { ...partIds, delta: str })
/** Beta `response.audio.delta`. */
export type BetaResponseAudioDeltaEvent = typeof BetaResponseAudioDeltaEvent.Type

/** Beta `response.audio.done` (GA: `response.output_audio.done`). */
export const BetaResponseAudioDoneEvent = realtimeEvent("response.audio.done", partIds)
/** Beta `response.audio.done`. */
export type BetaResponseAudioDoneEvent = typeof BetaResponseAudioDoneEvent.Type

/** Beta `response.audio_transcript.delta` (GA: `response.output_audio_transcript.delta`). */
export const BetaResponseAudioTranscriptDeltaEvent = realtimeEvent("response.audio_transcript.delta", {
  ...partIds,
  delta: str,
})
/** Beta `response.audio_transcript.delta`. */
export type BetaResponseAudioTranscriptDeltaEvent = typeof BetaResponseAudioTranscriptDeltaEvent.Type

/** Beta `response.audio_transcript.done` (GA: `response.output_audio_transcript.done`). */
export const BetaResponseAudioTranscriptDoneEvent = realtimeEvent("response.audio_transcript.done", {
  ...partIds,
  transcript: str,
})
/** Beta `response.audio_transcript.done`. */
export type BetaResponseAudioTranscriptDoneEvent = typeof BetaResponseAudioTranscriptDoneEvent.Type

/** Beta `response.text.delta` (GA: `response.output_text.delta`). */
export const BetaResponseTextDeltaEvent = realtimeEvent("response.text.delta", { ...partIds, delta: str })
/** Beta `response.text.delta`. */
export type BetaResponseTextDeltaEvent = typeof BetaResponseTextDeltaEvent.Type

/** Beta `response.text.done` (GA: `response.output_text.done`). */
export const BetaResponseTextDoneEvent = realtimeEvent("response.text.done", { ...partIds, text: str })
/** Beta `response.text.done`. */
export type BetaResponseTextDoneEvent = typeof BetaResponseTextDoneEvent.Type

// ---------------------------------------------------------------------------------------
// Other

/** `rate_limits.updated`: sent at the start of each response. `reset_seconds` in seconds. */
export const RateLimitsUpdatedEvent = realtimeEvent("rate_limits.updated", {
  rate_limits: Schema.Array(
    Schema.Struct({ name: opt(str), limit: opt(num), remaining: opt(num), reset_seconds: opt(num) }),
  ),
})
/** `rate_limits.updated`. */
export type RateLimitsUpdatedEvent = typeof RateLimitsUpdatedEvent.Type

/** `output_audio_buffer.started` (WebRTC/SIP): playback of `response_id` began. */
export const OutputAudioBufferStartedEvent = realtimeEvent("output_audio_buffer.started", {
  response_id: str,
})
/** `output_audio_buffer.started`. */
export type OutputAudioBufferStartedEvent = typeof OutputAudioBufferStartedEvent.Type

/** `output_audio_buffer.stopped` (WebRTC/SIP): playback of `response_id` finished. */
export const OutputAudioBufferStoppedEvent = realtimeEvent("output_audio_buffer.stopped", {
  response_id: str,
})
/** `output_audio_buffer.stopped`. */
export type OutputAudioBufferStoppedEvent = typeof OutputAudioBufferStoppedEvent.Type

/** `output_audio_buffer.cleared` (WebRTC/SIP): queued playback was dropped. */
export const OutputAudioBufferClearedEvent = realtimeEvent("output_audio_buffer.cleared", {
  response_id: str,
})
/** `output_audio_buffer.cleared`. */
export type OutputAudioBufferClearedEvent = typeof OutputAudioBufferClearedEvent.Type

/** `error`: most errors leave the session open; read `error.code` (see {@link RealtimeErrorBody}). */
export const RealtimeErrorEvent = realtimeEvent("error", { error: RealtimeErrorBody })
/** `error` on a Realtime socket. */
export type RealtimeErrorEvent = typeof RealtimeErrorEvent.Type

/**
 * Every Realtime server event this library decodes, keyed by its `type`. The decoder
 * dispatches on `type` through this table; the simulator can use it to check what it sends.
 */
export const realtimeServerEventSchemas = {
  "session.created": SessionCreatedEvent,
  "session.updated": SessionUpdatedEvent,
  "transcription_session.created": TranscriptionSessionCreatedEvent,
  "transcription_session.updated": TranscriptionSessionUpdatedEvent,
  "input_audio_buffer.speech_started": InputAudioBufferSpeechStartedEvent,
  "input_audio_buffer.speech_stopped": InputAudioBufferSpeechStoppedEvent,
  "input_audio_buffer.committed": InputAudioBufferCommittedEvent,
  "input_audio_buffer.cleared": InputAudioBufferClearedEvent,
  "input_audio_buffer.timeout_triggered": InputAudioBufferTimeoutTriggeredEvent,
  "input_audio_buffer.dtmf_event_received": InputAudioBufferDtmfEventReceivedEvent,
  "conversation.item.input_audio_transcription.delta": InputAudioTranscriptionDeltaEvent,
  "conversation.item.input_audio_transcription.completed": InputAudioTranscriptionCompletedEvent,
  "conversation.item.input_audio_transcription.failed": InputAudioTranscriptionFailedEvent,
  "conversation.item.input_audio_transcription.segment": InputAudioTranscriptionSegmentEvent,
  "conversation.created": ConversationCreatedEvent,
  "conversation.item.added": ConversationItemAddedEvent,
  "conversation.item.done": ConversationItemDoneEvent,
  "conversation.item.created": ConversationItemCreatedEvent,
  "conversation.item.deleted": ConversationItemDeletedEvent,
  "conversation.item.truncated": ConversationItemTruncatedEvent,
  "conversation.item.retrieved": ConversationItemRetrievedEvent,
  "response.created": ResponseCreatedEvent,
  "response.done": ResponseDoneEvent,
  "response.output_item.added": ResponseOutputItemAddedEvent,
  "response.output_item.done": ResponseOutputItemDoneEvent,
  "response.content_part.added": ResponseContentPartAddedEvent,
  "response.content_part.done": ResponseContentPartDoneEvent,
  "response.output_audio.delta": ResponseOutputAudioDeltaEvent,
  "response.output_audio.done": ResponseOutputAudioDoneEvent,
  "response.output_audio_transcript.delta": ResponseOutputAudioTranscriptDeltaEvent,
  "response.output_audio_transcript.done": ResponseOutputAudioTranscriptDoneEvent,
  "response.output_text.delta": ResponseOutputTextDeltaEvent,
  "response.output_text.done": ResponseOutputTextDoneEvent,
  "response.function_call_arguments.delta": ResponseFunctionCallArgumentsDeltaEvent,
  "response.function_call_arguments.done": ResponseFunctionCallArgumentsDoneEvent,
  "response.audio.delta": BetaResponseAudioDeltaEvent,
  "response.audio.done": BetaResponseAudioDoneEvent,
  "response.audio_transcript.delta": BetaResponseAudioTranscriptDeltaEvent,
  "response.audio_transcript.done": BetaResponseAudioTranscriptDoneEvent,
  "response.text.delta": BetaResponseTextDeltaEvent,
  "response.text.done": BetaResponseTextDoneEvent,
  "rate_limits.updated": RateLimitsUpdatedEvent,
  "output_audio_buffer.started": OutputAudioBufferStartedEvent,
  "output_audio_buffer.stopped": OutputAudioBufferStoppedEvent,
  "output_audio_buffer.cleared": OutputAudioBufferClearedEvent,
  error: RealtimeErrorEvent,
} as const

/** A Realtime server event this library models (every `type` of {@link realtimeServerEventSchemas}). */
export type KnownRealtimeServerEvent = {
  readonly [K in keyof typeof realtimeServerEventSchemas]: (typeof realtimeServerEventSchemas)[K]["Type"]
}[keyof typeof realtimeServerEventSchemas]
