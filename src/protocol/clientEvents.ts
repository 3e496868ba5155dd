import type * as BetaRealtime from "openai/resources/beta/realtime/realtime"
import type * as Realtime from "openai/resources/realtime/realtime"
import type { ResponsesClientEvent } from "openai/resources/responses/responses"

/**
 * Client events, typed against the `openai` package's own declarations so a misspelt or
 * misplaced field fails the type-check. Where the protocol accepts more than the SDK type
 * says (e.g. `null` to clear a setting, `response.cancel` on the Responses socket), the
 * SDK type is extended explicitly for that one field.
 * @module
 */

// ---------------------------------------------------------------------------------------
// Session configuration (GA)

/**
 * GA `audio.input` of a conversation session. Extends the SDK type so `transcription` and
 * `noise_reduction` may be `null` (the protocol's way to switch them off).
 */
export type RealtimeAudioInputConfig = Omit<
  Realtime.RealtimeAudioConfigInput,
  "noise_reduction" | "transcription"
> & {
  noise_reduction?: Realtime.RealtimeAudioConfigInput.NoiseReduction | null
  transcription?: Realtime.AudioTranscription | null
}

/** GA `session` of `session.update` for a speech-to-speech session (`type: "realtime"`). */
export type RealtimeSessionConfig = Omit<Realtime.RealtimeSessionCreateRequest, "audio"> & {
  audio?: { input?: RealtimeAudioInputConfig; output?: Realtime.RealtimeAudioConfigOutput }
}

/**
 * GA `audio.input` of a transcription session; `noise_reduction` and `transcription` may
 * be `null` as above.
 */
export type TranscriptionAudioInputConfig = Omit<
  Realtime.RealtimeTranscriptionSessionAudioInput,
  "noise_reduction" | "transcription"
> & {
  noise_reduction?: Realtime.RealtimeTranscriptionSessionAudioInput.NoiseReduction | null
  transcription?: Realtime.AudioTranscription | null
}

/** GA `session` of `session.update` for a transcription session (`type: "transcription"`). */
export type TranscriptionSessionConfig = Omit<Realtime.RealtimeTranscriptionSessionCreateRequest, "audio"> & {
  audio?: { input?: TranscriptionAudioInputConfig }
}

/**
 * Legacy beta `session` of `transcription_session.update`. Extends the SDK type so
 * `turn_detection` and `input_audio_noise_reduction` may be `null`.
 */
export type BetaTranscriptionSessionConfig = Omit<
  BetaRealtime.TranscriptionSessionUpdate.Session,
  "turn_detection" | "input_audio_noise_reduction"
> & {
  turn_detection?: BetaRealtime.TranscriptionSessionUpdate.Session.TurnDetection | null
  input_audio_noise_reduction?: BetaRealtime.TranscriptionSessionUpdate.Session.InputAudioNoiseReduction | null
}

// ---------------------------------------------------------------------------------------
// Realtime client events

/** `session.update` (GA), with the nullable extensions above. */
export type SessionUpdateClientEvent = Omit<Realtime.SessionUpdateEvent, "session"> & {
  session: RealtimeSessionConfig | TranscriptionSessionConfig
}
/** `transcription_session.update` (legacy beta). */
export type TranscriptionSessionUpdateClientEvent = Omit<
  BetaRealtime.TranscriptionSessionUpdate,
  "session"
> & {
  session: BetaTranscriptionSessionConfig
}
/** `input_audio_buffer.append`: `audio` is base64 PCM16 (24 kHz mono unless configured otherwise). */
export type InputAudioBufferAppendClientEvent = Realtime.InputAudioBufferAppendEvent
/** `input_audio_buffer.commit`. */
export type InputAudioBufferCommitClientEvent = Realtime.InputAudioBufferCommitEvent
/** `input_audio_buffer.clear`. */
export type InputAudioBufferClearClientEvent = Realtime.InputAudioBufferClearEvent
/** `conversation.item.create`. */
export type ConversationItemCreateClientEvent = Realtime.ConversationItemCreateEvent
/** `conversation.item.delete`. */
export type ConversationItemDeleteClientEvent = Realtime.ConversationItemDeleteEvent
/** `conversation.item.retrieve`. */
export type ConversationItemRetrieveClientEvent = Realtime.ConversationItemRetrieveEvent
/** `conversation.item.truncate`. */
export type ConversationItemTruncateClientEvent = Realtime.ConversationItemTruncateEvent
/** `response.create` on a Realtime socket; `response.input` may hold `item_reference`s. */
export type ResponseCreateClientEvent = Realtime.ResponseCreateEventWithReferencesParam
/** `response.cancel` on a Realtime socket. */
export type ResponseCancelClientEvent = Realtime.ResponseCancelEvent
/** `output_audio_buffer.clear` (WebRTC/SIP only, after `response.cancel`). */
export type OutputAudioBufferClearClientEvent = Realtime.OutputAudioBufferClearEvent

/** Every event the Realtime constructors build. */
export type RealtimeClientEvent =
  | SessionUpdateClientEvent
  | TranscriptionSessionUpdateClientEvent
  | InputAudioBufferAppendClientEvent
  | InputAudioBufferCommitClientEvent
  | InputAudioBufferClearClientEvent
  | ConversationItemCreateClientEvent
  | ConversationItemDeleteClientEvent
  | ConversationItemRetrieveClientEvent
  | ConversationItemTruncateClientEvent
  | ResponseCreateClientEvent
  | ResponseCancelClientEvent
  | OutputAudioBufferClearClientEvent

// ---------------------------------------------------------------------------------------
// Responses WebSocket client events

/**
 * The body of a Responses WebSocket `response.create`: the SDK's WebSocket event, with
 * `model` required (the socket keeps no default) and without `stream`, `stream_options`
 * and `background`, which the socket mode does not accept. `generate: false` is a warmup;
 * `stream_id` picks a lane.
 */
export type ResponsesCreateParams = Omit<
  ResponsesClientEvent.ResponseCreate,
  "type" | "stream" | "stream_options" | "background" | "model"
> & { model: NonNullable<ResponsesClientEvent.ResponseCreate["model"]> }

/** `response.create` on the Responses socket. */
export type ResponsesCreateClientEvent = { type: "response.create" } & ResponsesCreateParams

/**
 * `response.cancel` on the Responses socket. Not in the SDK's client union (protocol §7),
 * so typed here: `response_id` optional, nothing else.
 */
export interface ResponsesCancelClientEvent {
  type: "response.cancel"
  response_id?: string
}

/** Every event the Responses constructors build. */
export type ResponsesSocketClientEvent = ResponsesCreateClientEvent | ResponsesCancelClientEvent

/** Any client event this module builds; what {@link encodeClientEvent} accepts. */
export type ClientEvent = RealtimeClientEvent | ResponsesSocketClientEvent

// ---------------------------------------------------------------------------------------
// Constructors

/** Options every Realtime constructor takes: a client `event_id`, echoed by the server in errors. */
export interface ClientEventOptions {
  readonly eventId?: string
}

const withEventId = <E extends object>(event: E, options: ClientEventOptions | undefined): E =>
  options?.eventId === undefined ? event : { ...event, event_id: options.eventId }

/**
 * Typed constructors of every client event. Each returns a plain object ready for
 * {@link encodeClientEvent}; none validates at run time beyond what its type enforces.
 */
export const ClientEvents = {
  /**
   * GA `session.update`. `session.type` is `"transcription"` (transcription socket) or
   * `"realtime"` (speech-to-speech). Updates are partial; `null` clears a nullable setting.
   */
  sessionUpdate: (
    session: RealtimeSessionConfig | TranscriptionSessionConfig,
    options?: ClientEventOptions,
  ): SessionUpdateClientEvent => withEventId({ type: "session.update" as const, session }, options),

  /** Legacy beta `transcription_session.update` (Azure preview and beta-compatible servers only). */
  transcriptionSessionUpdate: (
    session: BetaTranscriptionSessionConfig,
    options?: ClientEventOptions,
  ): TranscriptionSessionUpdateClientEvent =>
    withEventId({ type: "transcription_session.update" as const, session }, options),

  /**
   * `input_audio_buffer.append` with base64 `audio`. On the hot path prefer
   * `encodeAudioAppend`, which builds the same JSON without an object.
   */
  inputAudioBufferAppend: (audio: string, options?: ClientEventOptions): InputAudioBufferAppendClientEvent =>
    options?.eventId === undefined
      ? { type: "input_audio_buffer.append", audio }
      : { type: "input_audio_buffer.append", event_id: options.eventId, audio },

  /** `input_audio_buffer.commit`: makes a user item of the buffer (never starts a response). */
  inputAudioBufferCommit: (options?: ClientEventOptions): InputAudioBufferCommitClientEvent =>
    withEventId({ type: "input_audio_buffer.commit" as const }, options),

  /** `input_audio_buffer.clear`: drops uncommitted audio. */
  inputAudioBufferClear: (options?: ClientEventOptions): InputAudioBufferClearClientEvent =>
    withEventId({ type: "input_audio_buffer.clear" as const }, options),

  /**
   * `conversation.item.create`. `previousItemId` places the item (`"root"` = first);
   * without it the item is appended.
   */
  conversationItemCreate: (
    item: Realtime.ConversationItem,
    options?: ClientEventOptions & { readonly previousItemId?: string },
  ): ConversationItemCreateClientEvent =>
    withEventId(
      options?.previousItemId === undefined
        ? { type: "conversation.item.create" as const, item }
        : { type: "conversation.item.create" as const, previous_item_id: options.previousItemId, item },
      options,
    ),

  /** `conversation.item.delete` of `itemId`. */
  conversationItemDelete: (itemId: string, options?: ClientEventOptions): ConversationItemDeleteClientEvent =>
    withEventId({ type: "conversation.item.delete" as const, item_id: itemId }, options),

  /** `conversation.item.retrieve` of `itemId` (the answer carries the item's audio). */
  conversationItemRetrieve: (
    itemId: string,
    options?: ClientEventOptions,
  ): ConversationItemRetrieveClientEvent =>
    withEventId({ type: "conversation.item.retrieve" as const, item_id: itemId }, options),

  /**
   * `conversation.item.truncate` of assistant audio item `itemId` at `audioEndMs`
   * (milliseconds of audio actually played; clamp to what was received). `contentIndex`
   * defaults to 0.
   */
  conversationItemTruncate: (
    itemId: string,
    audioEndMs: number,
    options?: ClientEventOptions & { readonly contentIndex?: number },
  ): ConversationItemTruncateClientEvent =>
    withEventId(
      {
        type: "conversation.item.truncate" as const,
        item_id: itemId,
        content_index: options?.contentIndex ?? 0,
        audio_end_ms: audioEndMs,
      },
      options,
    ),

  /** `response.create` on a Realtime socket; `response` overrides session settings for this response only. */
  responseCreate: (
    response?: Realtime.RealtimeResponseCreateParamsWithReferencesParam,
    options?: ClientEventOptions,
  ): ResponseCreateClientEvent =>
    withEventId(
      response === undefined
        ? { type: "response.create" as const }
        : { type: "response.create" as const, response },
      options,
    ),

  /** `response.cancel` on a Realtime socket; without `responseId` it cancels the active default response. */
  responseCancel: (
    options?: ClientEventOptions & { readonly responseId?: string },
  ): ResponseCancelClientEvent =>
    withEventId(
      options?.responseId === undefined
        ? { type: "response.cancel" as const }
        : { type: "response.cancel" as const, response_id: options.responseId },
      options,
    ),

  /** `output_audio_buffer.clear` (WebRTC/SIP only). */
  outputAudioBufferClear: (options?: ClientEventOptions): OutputAudioBufferClearClientEvent =>
    withEventId({ type: "output_audio_buffer.clear" as const }, options),

  /**
   * `response.create` on the Responses socket. Resend `model`, `instructions` and `tools`
   * every turn; chain with `previous_response_id` plus only the new input items.
   */
  responsesCreate: (params: ResponsesCreateParams): ResponsesCreateClientEvent => ({
    type: "response.create",
    ...params,
  }),

  /** `response.cancel` on the Responses socket (not in the SDK union; see protocol §7). */
  responsesCancel: (responseId?: string): ResponsesCancelClientEvent =>
    responseId === undefined
      ? { type: "response.cancel" }
      : { type: "response.cancel", response_id: responseId },
} as const

// ---------------------------------------------------------------------------------------
// Encoding

const APPEND_PREFIX = '{"type":"input_audio_buffer.append","audio":"'
const APPEND_WITH_ID_PREFIX = '{"type":"input_audio_buffer.append","event_id":'

/**
 * The JSON text of `input_audio_buffer.append`, built by string concatenation: base64
 * needs no escaping, so this skips `JSON.stringify`'s scan of the (large) audio string.
 * Equal to `JSON.stringify(ClientEvents.inputAudioBufferAppend(base64, { eventId }))`.
 *
 * `base64` must be standard base64 (`A–Z a–z 0–9 + / =`), as `pcm16ToBase64` produces; any
 * other text must go through {@link encodeClientEvent}, which escapes it.
 */
export const encodeAudioAppend = (base64: string, eventId?: string): string =>
  eventId === undefined
    ? `${APPEND_PREFIX}${base64}"}`
    : `${APPEND_WITH_ID_PREFIX}${JSON.stringify(eventId)},"audio":"${base64}"}`

/** The JSON text of a client event, ready for `socket.send`. */
export const encodeClientEvent = (event: ClientEvent): string => JSON.stringify(event)
