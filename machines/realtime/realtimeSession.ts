/**
 * The Realtime speech-to-speech session (the GA WebSocket in conversation mode) as an XState
 * v5 machine on the shared session lifecycle.
 *
 * ```
 * online ─ connecting ─ awaitingSessionCreated ─ configuring ─ streaming ─▶ closed
 *   streaming ├ input:    listening ⇄ userSpeaking ─▶ committed (awaiting its transcript)
 *             ├ response: idle ─ creating ─ responding ─ cancelling ─ idle
 *             └ tools:    idle ⇄ pending (function calls waiting for their outputs)
 * reconnecting ──reconnectDelay──▶ online (the conversation is re-created from the mirror)
 * ```
 *
 * The response region follows the protocol's diagram: `response.create` sent (creating,
 * `responseCreatedTimeout`), `response.created` (responding, `firstDeltaTimeout` until the
 * first output), `response.cancel` sent (cancelling, `cancelAckTimeout`), `response.done`
 * (idle). A `response.create` while one is in flight follows `onDuplicate`; a `response.done`
 * of another response (or of one already done) changes nothing; `response_cancel_not_active`
 * and `conversation_already_has_active_response` are reported, never fatal.
 *
 * Pure: the `socket` actor does the I/O (supplied by src/realtime with `machine.provide`).
 * What the session tells its user is emitted as {@link RealtimeEvent}s.
 * @module
 */
import { assertEvent, assign, enqueueActions, not, setup } from "xstate"
import {
  initialLifecycleState,
  type LifecycleContext,
  type LifecycleEvent,
  type LifecycleFailure,
  type LifecycleStateOptions,
  lifecycleActions,
  lifecycleDelays,
  lifecycleGuards,
  type SessionSocketInput,
  sessionLifecycle,
} from "../lifecycle/sessionLifecycle.ts"
import type { ChatItem } from "../responses/chatItems.ts"
import { trustedChatItem } from "../responses/chatItems.ts"
import { type ChatContextPlan, realtimeItemOf } from "./chatContextPlan.ts"
import {
  type ConversationMirror,
  clampTruncateMs,
  emptyMirror,
  type MirrorItemInput,
  mirrorAdded,
  mirrorArguments,
  mirrorAudio,
  mirrorChatItems,
  mirrorDeleted,
  mirrorInputTranscript,
  mirrorTranscriptDelta,
  mirrorTranscriptDone,
  mirrorTruncated,
} from "./conversationMirror.ts"

// ---------------------------------------------------------------------------------------
// Settings

/** Turn detection of a conversation session (`null`: manual turns). */
export type RealtimeTurnDetection =
  | {
      readonly type: "server_vad"
      readonly threshold?: number
      readonly prefixPaddingMs?: number
      readonly silenceDurationMs?: number
      readonly idleTimeoutMs?: number | null
      readonly createResponse?: boolean
      readonly interruptResponse?: boolean
    }
  | {
      readonly type: "semantic_vad"
      readonly eagerness?: "low" | "medium" | "high" | "auto"
      readonly createResponse?: boolean
      readonly interruptResponse?: boolean
    }
  | null

/** A function tool as the Realtime session offers it. */
export interface RealtimeToolDefinition {
  readonly name: string
  readonly description?: string
  readonly parameters: Readonly<Record<string, unknown>>
}

/** The session's settings, all changeable at run time (`updateSession`). */
export interface RealtimeSettings {
  readonly model: string
  readonly instructions?: string
  readonly voice?: string
  readonly tools: readonly RealtimeToolDefinition[]
  readonly toolChoice?: "auto" | "none" | "required" | { readonly name: string }
  readonly turnDetection: RealtimeTurnDetection
  readonly inputTranscription?: {
    readonly model: string
    readonly language?: string
    readonly prompt?: string
  } | null
  readonly noiseReduction?: "near_field" | "far_field" | null
  readonly outputModalities?: readonly ["audio"] | readonly ["text"]
  readonly maxOutputTokens?: number | "inf"
}

/** What a `response.create` asks for beyond the session's settings. */
export interface ResponseRequest {
  readonly instructions?: string
  readonly outputModalities?: readonly ["audio"] | readonly ["text"]
  readonly toolChoice?: RealtimeSettings["toolChoice"]
  readonly metadata?: Readonly<Record<string, string>>
}

/** What to do with a `response.create` while one is in flight. */
export type DuplicateCreatePolicy = "cancel_existing" | "cancel_new" | "keep_both"

const turnDetectionWire = (td: RealtimeTurnDetection): Record<string, unknown> | null => {
  if (td === null) return null
  const flags = {
    ...(td.createResponse === undefined ? {} : { create_response: td.createResponse }),
    ...(td.interruptResponse === undefined ? {} : { interrupt_response: td.interruptResponse }),
  }
  if (td.type === "semantic_vad") {
    return {
      type: "semantic_vad",
      ...(td.eagerness === undefined ? {} : { eagerness: td.eagerness }),
      ...flags,
    }
  }
  return {
    type: "server_vad",
    ...(td.threshold === undefined ? {} : { threshold: td.threshold }),
    ...(td.prefixPaddingMs === undefined ? {} : { prefix_padding_ms: td.prefixPaddingMs }),
    ...(td.silenceDurationMs === undefined ? {} : { silence_duration_ms: td.silenceDurationMs }),
    ...(td.idleTimeoutMs === undefined ? {} : { idle_timeout_ms: td.idleTimeoutMs }),
    ...flags,
  }
}

const toolChoiceWire = (choice: RealtimeSettings["toolChoice"]) =>
  typeof choice === "object" ? { type: "function", name: choice.name } : choice

/** The `session` of a `session.update` for `settings` (GA shape, 24 kHz PCM both ways). */
export const sessionUpdateOf = (settings: RealtimeSettings): Record<string, unknown> => ({
  type: "realtime",
  ...(settings.instructions === undefined ? {} : { instructions: settings.instructions }),
  ...(settings.outputModalities === undefined ? {} : { output_modalities: settings.outputModalities }),
  ...(settings.maxOutputTokens === undefined ? {} : { max_output_tokens: settings.maxOutputTokens }),
  tools: settings.tools.map((t) => ({
    type: "function",
    name: t.name,
    ...(t.description === undefined ? {} : { description: t.description }),
    parameters: t.parameters,
  })),
  ...(settings.toolChoice === undefined ? {} : { tool_choice: toolChoiceWire(settings.toolChoice) }),
  audio: {
    input: {
      format: { type: "audio/pcm", rate: 24000 },
      turn_detection: turnDetectionWire(settings.turnDetection),
      ...(settings.inputTranscription === undefined ? {} : { transcription: settings.inputTranscription }),
      ...(settings.noiseReduction === undefined
        ? {}
        : { noise_reduction: settings.noiseReduction === null ? null : { type: settings.noiseReduction } }),
    },
    output: {
      format: { type: "audio/pcm", rate: 24000 },
      ...(settings.voice === undefined ? {} : { voice: settings.voice }),
    },
  },
})

const responseWire = (request: ResponseRequest): Record<string, unknown> | undefined => {
  const out = {
    ...(request.instructions === undefined ? {} : { instructions: request.instructions }),
    ...(request.outputModalities === undefined ? {} : { output_modalities: request.outputModalities }),
    ...(request.toolChoice === undefined ? {} : { tool_choice: toolChoiceWire(request.toolChoice) }),
    ...(request.metadata === undefined ? {} : { metadata: request.metadata }),
  }
  return Object.keys(out).length === 0 ? undefined : out
}

// ---------------------------------------------------------------------------------------
// Events

/** What the session tells its user. `audio` samples are 24 kHz mono PCM16. */
export type RealtimeEvent =
  | { readonly type: "session_ready"; readonly connection: number }
  | { readonly type: "input_speech_started"; readonly itemId: string; readonly audioStartMs: number }
  | { readonly type: "input_speech_stopped"; readonly itemId: string; readonly audioEndMs: number }
  | {
      readonly type: "input_transcript"
      readonly itemId: string
      readonly text: string
      readonly final: boolean
    }
  | { readonly type: "response_started"; readonly responseId: string; readonly requestId: string | undefined }
  | {
      readonly type: "audio"
      readonly responseId: string
      readonly itemId: string
      readonly samples: Int16Array
    }
  | {
      readonly type: "output_transcript"
      readonly responseId: string
      readonly itemId: string
      readonly delta: string
      readonly done: boolean
      readonly transcript?: string
    }
  | { readonly type: "text"; readonly responseId: string; readonly itemId: string; readonly delta: string }
  | {
      readonly type: "function_call"
      readonly responseId: string
      readonly itemId: string
      readonly callId: string
      readonly name: string
      readonly arguments: string
    }
  | {
      readonly type: "response_done"
      readonly responseId: string
      readonly requestId: string | undefined
      readonly status: string
      readonly usage: unknown
      readonly metrics: ResponseMetrics
    }
  | {
      readonly type: "interrupted"
      readonly responseId: string | undefined
      readonly itemId: string | undefined
      readonly audioEndMs: number
    }
  | { readonly type: "reconnected"; readonly attempt: number; readonly recreatedItems: number }
  | { readonly type: "chat_context_applied"; readonly requestId: string }
  | { readonly type: "error"; readonly error: LifecycleFailure; readonly fatal: boolean }

/** Per-response timings, in milliseconds from `response.create` (or `response.created` for server-made ones). */
export interface ResponseMetrics {
  readonly timeToFirstAudioMs: number | undefined
  readonly timeToFirstTextMs: number | undefined
  readonly durationMs: number
  /** Milliseconds of audio received. */
  readonly audioMs: number
}

/** Server events the `socket` actor sends, named at the edge. */
export type RealtimeServerEvent =
  | {
      readonly type: "SERVER.SPEECH_STARTED"
      readonly itemId: string
      readonly audioStartMs: number
      readonly atMs: number
    }
  | {
      readonly type: "SERVER.SPEECH_STOPPED"
      readonly itemId: string
      readonly audioEndMs: number
      readonly atMs: number
    }
  | { readonly type: "SERVER.COMMITTED"; readonly itemId: string; readonly atMs: number }
  | {
      readonly type: "SERVER.INPUT_TRANSCRIPT"
      readonly itemId: string
      readonly text: string
      readonly final: boolean
      readonly atMs: number
    }
  | {
      readonly type: "SERVER.ITEM_ADDED"
      readonly item: MirrorItemInput
      readonly previousItemId: string | null | undefined
      readonly done: boolean
      readonly atMs: number
    }
  | { readonly type: "SERVER.ITEM_DELETED"; readonly itemId: string; readonly atMs: number }
  | {
      readonly type: "SERVER.ITEM_TRUNCATED"
      readonly itemId: string
      readonly audioEndMs: number
      readonly atMs: number
    }
  | { readonly type: "SERVER.RESPONSE_CREATED"; readonly responseId: string; readonly atMs: number }
  | {
      readonly type: "SERVER.RESPONSE_DONE"
      readonly responseId: string
      readonly status: string
      readonly usage: unknown
      readonly atMs: number
    }
  | {
      readonly type: "SERVER.AUDIO_DELTA"
      readonly responseId: string
      readonly itemId: string
      readonly samples: Int16Array
      readonly atMs: number
    }
  | {
      readonly type: "SERVER.TRANSCRIPT_DELTA"
      readonly responseId: string
      readonly itemId: string
      readonly delta: string
      readonly atMs: number
    }
  | {
      readonly type: "SERVER.TRANSCRIPT_DONE"
      readonly responseId: string
      readonly itemId: string
      readonly transcript: string
      readonly atMs: number
    }
  | {
      readonly type: "SERVER.TEXT_DELTA"
      readonly responseId: string
      readonly itemId: string
      readonly delta: string
      readonly atMs: number
    }
  | {
      readonly type: "SERVER.FUNCTION_CALL"
      readonly responseId: string
      readonly itemId: string
      readonly callId: string
      readonly name: string
      readonly arguments: string
      readonly atMs: number
    }
  | { readonly type: "SERVER.OTHER"; readonly eventType: string; readonly atMs: number }
  | { readonly type: "SOCKET.PROTOCOL_ERROR"; readonly message: string; readonly atMs: number }

/** What the session's user asks for (through the facade). */
export type RealtimeControlEvent =
  | {
      readonly type: "CREATE_RESPONSE"
      readonly requestId: string
      readonly request: ResponseRequest
      readonly atMs: number
    }
  | { readonly type: "SEND_TEXT"; readonly text: string; readonly itemId: string }
  | { readonly type: "INTERRUPT" }
  | {
      readonly type: "TOOL_OUTPUT"
      readonly callId: string
      readonly output: string
      readonly itemId: string
      readonly respond: boolean
      readonly atMs: number
    }
  | { readonly type: "UPDATE_SESSION"; readonly settings: Partial<RealtimeSettings> }
  | { readonly type: "REPORT_PLAYBACK"; readonly itemId: string; readonly playedMs: number }
  | { readonly type: "COMMIT_AUDIO" }
  | { readonly type: "CLEAR_AUDIO" }
  | { readonly type: "SET_CHAT_CONTEXT"; readonly requestId: string; readonly plan: ChatContextPlan }

/** Every event the machine accepts. */
export type RealtimeSessionEvent = LifecycleEvent | RealtimeServerEvent | RealtimeControlEvent

/** Commands to the `socket` actor: a client event to send, or the audio path. */
export type RealtimeSocketCommand =
  | { readonly type: "send"; readonly event: Readonly<Record<string, unknown>> }
  /** Stream the input audio from now on (a configured connection). */
  | { readonly type: "audio.live" }
  | { readonly type: "audio.pause" }

// ---------------------------------------------------------------------------------------
// Context

/** The response in flight (or being asked for). */
export interface ResponseInFlight {
  /** The facade's id of the request (`undefined` for a response the server started itself). */
  readonly requestId: string | undefined
  readonly responseId: string | undefined
  readonly askedAtMs: number
  readonly firstAudioAtMs: number | undefined
  readonly firstTextAtMs: number | undefined
  readonly audioMs: number
  /** The assistant audio item being received. */
  readonly audioItemId: string | undefined
  /** Function calls this response made. */
  readonly calls: readonly string[]
  /** True once any output (audio, text, a call, an item) arrived. */
  readonly outputSeen: boolean
}

/** A function call waiting for its output. */
export interface PendingCall {
  readonly callId: string
  readonly responseId: string
  readonly answered: boolean
  /** Whether the app asked for a response once all outputs are in (default true). */
  readonly respond: boolean
}

export interface RealtimeSessionContext extends LifecycleContext {
  readonly settings: RealtimeSettings
  readonly onDuplicate: DuplicateCreatePolicy
  readonly mirror: ConversationMirror
  readonly response: ResponseInFlight | undefined
  /** Creates waiting for the response in flight to end (`keep_both`, `cancel_existing`). */
  readonly queued: readonly { readonly requestId: string; readonly request: ResponseRequest }[]
  readonly calls: readonly PendingCall[]
  /** Played milliseconds per assistant audio item, as the app reported them. */
  readonly played: Readonly<Record<string, number>>
  /** The last assistant audio item (what an interruption truncates). */
  readonly lastAudioItemId: string | undefined
  /** True while the user speaks (server VAD). */
  readonly speaking: boolean
  /** Committed user items waiting for their transcript. */
  readonly awaitingTranscripts: readonly string[]
  /** The settings changed while not configured: sent again once configured. */
  readonly settingsDirty: boolean
  readonly fatalError: LifecycleFailure | undefined
  readonly responseTimeouts: ResponseTimeouts
  /** True while the connection is configured (client events go out at once). */
  readonly wireReady: boolean
  /** Client events held while not configured, sent once the connection is. */
  readonly outbox: readonly Readonly<Record<string, unknown>>[]
  /** Resumed from a snapshot: the first connection re-creates the mirror, as a reconnection does. */
  readonly recreateOnConnect: boolean
}

/**
 * What a session resumed from a snapshot starts with; everything else starts fresh on the new
 * connection. Built by {@link restoreOf} from a persisted context.
 */
export interface RealtimeRestore {
  readonly mirror: ConversationMirror
  readonly calls: readonly PendingCall[]
  readonly queued: RealtimeSessionContext["queued"]
  readonly played: Readonly<Record<string, number>>
  readonly lastAudioItemId: string | undefined
  /** Client events made while not configured (a text, a tool output): sent on the new connection. */
  readonly outbox: RealtimeSessionContext["outbox"]
}

/**
 * The part of a session's context that outlives its connection, by the rule of a lost
 * connection: a response asked for but not yet created is asked for again, a response in
 * flight keeps what the mirror received, answered calls are in the mirror.
 */
export const restoreOf = (context: RealtimeSessionContext): RealtimeRestore => {
  const response = context.response
  return {
    mirror: context.mirror,
    calls: context.calls.filter((c) => !c.answered),
    queued:
      response?.requestId === undefined || response.responseId !== undefined
        ? context.queued
        : [{ requestId: response.requestId, request: {} }, ...context.queued],
    played: context.played,
    lastAudioItemId: context.lastAudioItemId,
    outbox: context.outbox,
  }
}

export interface RealtimeSessionInput {
  readonly settings: RealtimeSettings
  readonly onDuplicate?: DuplicateCreatePolicy
  readonly lifecycle?: LifecycleStateOptions
  /** The named response waits, in ms. */
  readonly responseTimeouts?: Partial<ResponseTimeouts>
  /** Resume from a snapshot's {@link RealtimeRestore} (the first connection re-creates the conversation). */
  readonly restore?: RealtimeRestore
}

/** The named waits of a response. */
export interface ResponseTimeouts {
  /** `response.create` sent → `response.created` (`responseCreatedTimeout`). */
  readonly createdMs: number
  /** `response.created` → first output (`firstDeltaTimeout`). */
  readonly firstDeltaMs: number
  /** `response.cancel` sent → `response.done` (`cancelAckTimeout`). */
  readonly cancelAckMs: number
}

export const DEFAULT_RESPONSE_TIMEOUTS: ResponseTimeouts = {
  createdMs: 10_000,
  firstDeltaMs: 15_000,
  cancelAckMs: 5_000,
}

const lifecycle = sessionLifecycle("realtime")

const STALLED_RESPONSE: LifecycleFailure = {
  code: "response_stalled",
  message: "The server did not answer the response in time",
  retryable: true,
}

const BENIGN_CODES: ReadonlySet<string> = new Set([
  "conversation_already_has_active_response",
  "response_cancel_not_active",
])

const send = (event: Record<string, unknown>): RealtimeSocketCommand => ({ type: "send", event })

const metricsOf = (response: ResponseInFlight, atMs: number): ResponseMetrics => ({
  timeToFirstAudioMs:
    response.firstAudioAtMs === undefined ? undefined : response.firstAudioAtMs - response.askedAtMs,
  timeToFirstTextMs:
    response.firstTextAtMs === undefined ? undefined : response.firstTextAtMs - response.askedAtMs,
  durationMs: atMs - response.askedAtMs,
  audioMs: response.audioMs,
})

const newResponse = (requestId: string | undefined, atMs: number, responseId?: string): ResponseInFlight => ({
  requestId,
  responseId,
  askedAtMs: atMs,
  firstAudioAtMs: undefined,
  firstTextAtMs: undefined,
  audioMs: 0,
  audioItemId: undefined,
  calls: [],
  outputSeen: false,
})

const isCurrent = (context: RealtimeSessionContext, responseId: string): boolean =>
  context.response !== undefined && context.response.responseId === responseId

/** The current response with its first text stamped at `atMs`, if this is its first text. */
const withFirstText = (
  context: RealtimeSessionContext,
  responseId: string,
  atMs: number,
): RealtimeSessionContext["response"] => {
  const response = context.response
  return response !== undefined && response.firstTextAtMs === undefined && isCurrent(context, responseId)
    ? { ...response, firstTextAtMs: atMs }
    : response
}

const SAMPLES_PER_MS = 24

/** The clock time an event carries (every event from outside does; `CLOSE` does not). */
const atMsOf = (event: { readonly type: string }): number =>
  "atMs" in event && typeof event.atMs === "number" ? event.atMs : 0

export const realtimeSessionMachine = setup({
  types: {
    context: {} as RealtimeSessionContext,
    events: {} as RealtimeSessionEvent,
    input: {} as RealtimeSessionInput,
    emitted: {} as RealtimeEvent,
  },
  actors: {
    // Supplied by src/realtime (machine.provide): one WebSocket connection.
    socket: {} as import("xstate").CallbackActorLogic<RealtimeSocketCommand, SessionSocketInput>,
  },
  guards: {
    ...lifecycleGuards<RealtimeSessionContext, RealtimeSessionEvent>(),
    isCurrentResponseDone: ({ context, event }) =>
      event.type === "SERVER.RESPONSE_DONE" && isCurrent(context, event.responseId),
    isCurrentResponseCreated: ({ context, event }) =>
      event.type === "SERVER.RESPONSE_CREATED" &&
      context.response !== undefined &&
      context.response.responseId === undefined,
    duplicateCancelsExisting: ({ context }) => context.onDuplicate === "cancel_existing",
    duplicateCancelsNew: ({ context }) => context.onDuplicate === "cancel_new",
    hasQueuedCreate: ({ context }) => context.queued.length > 0,
    isSpeaking: ({ context }) => context.speaking,
    awaitingTranscript: ({ context }) => context.awaitingTranscripts.length > 0,
    hasPendingCalls: ({ context }) => context.calls.some((c) => !c.answered),
    allCallsAnswered: ({ context }) => context.calls.length > 0 && context.calls.every((c) => c.answered),
    interruptsOnSpeech: ({ context }) =>
      context.settings.turnDetection !== null && context.settings.turnDetection.interruptResponse !== false,
    noResponseInFlight: ({ context }) => context.response === undefined && context.queued.length === 0,
    outputSeen: ({ context }) => context.response?.outputSeen === true,
    wireReady: ({ context }) => context.wireReady,
    isPendingCall: ({ context, event }) =>
      event.type === "TOOL_OUTPUT" && context.calls.some((c) => c.callId === event.callId && !c.answered),
    isBenignError: ({ event }) =>
      event.type === "SERVER.ERROR" && event.code !== undefined && BENIGN_CODES.has(event.code),
  },
  delays: {
    ...lifecycleDelays<RealtimeSessionContext>(),
    responseCreatedTimeout: ({ context }) => context.responseTimeouts.createdMs,
    firstDeltaTimeout: ({ context }) => context.responseTimeouts.firstDeltaMs,
    cancelAckTimeout: ({ context }) => context.responseTimeouts.cancelAckMs,
  },
  actions: {
    ...lifecycleActions<RealtimeSessionContext, RealtimeSessionEvent>(),
    onConnecting: assign({ speaking: false, awaitingTranscripts: [], wireReady: false }),
    sendSessionUpdate: enqueueActions(({ context, enqueue }) => {
      enqueue.sendTo("socket", send({ type: "session.update", session: sessionUpdateOf(context.settings) }))
      enqueue.assign({ settingsDirty: false })
    }),
    startStreaming: enqueueActions(({ context, enqueue }) => {
      if (context.lifecycle.recovering || context.lifecycle.connections > 1 || context.recreateOnConnect) {
        // A new connection holds an empty conversation: re-create it from the mirror, in order.
        // Messages without text (a user turn whose transcript never came) carry nothing to re-create.
        const items = mirrorChatItems(context.mirror).filter(
          (item) => item.type !== "message" || item.content !== "",
        )
        let previous: string | null = null
        for (const item of items) {
          enqueue.sendTo(
            "socket",
            send({
              type: "conversation.item.create",
              previous_item_id: previous ?? "root",
              item: realtimeItemOf(item),
            }),
          )
          previous = item.id
        }
        // The server answers the creates with item.added: the mirror rebuilds from them.
        enqueue.assign({ mirror: emptyMirror })
        enqueue.emit({
          type: "reconnected",
          attempt: context.lifecycle.attempt,
          recreatedItems: items.length,
        })
      }
      for (const event of context.outbox) enqueue.sendTo("socket", send(event))
      if (context.settingsDirty) {
        enqueue.sendTo("socket", send({ type: "session.update", session: sessionUpdateOf(context.settings) }))
      }
      enqueue.assign({ wireReady: true, outbox: [], settingsDirty: false, recreateOnConnect: false })
      enqueue.sendTo("socket", { type: "audio.live" })
      enqueue.emit({ type: "session_ready", connection: context.lifecycle.connections })
    }),
    handleServerError: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, "SERVER.ERROR")
      enqueue.emit({
        type: "error",
        error: {
          code: event.code ?? event.errorType ?? "server_error",
          message: event.message,
          retryable: false,
        },
        fatal: false,
      })
    }),
    onConnectionLost: enqueueActions(({ context, event, enqueue }) => {
      const response = context.response
      if (response !== undefined) {
        // The response in flight is lost with the connection: reported with what was received.
        enqueue.emit({
          type: "interrupted",
          responseId: response.responseId,
          itemId: response.audioItemId,
          audioEndMs: Math.floor(response.audioMs),
        })
        if (response.responseId !== undefined) {
          enqueue.emit({
            type: "response_done",
            responseId: response.responseId,
            requestId: response.requestId,
            status: "interrupted",
            usage: null,
            metrics: metricsOf(response, Math.max(response.askedAtMs, atMsOf(event))),
          })
        }
      }
      // Asked-for creates are kept (sent on the next connection); answered calls are in the mirror.
      enqueue.assign({
        wireReady: false,
        response: undefined,
        queued:
          response?.requestId === undefined || response.responseId !== undefined
            ? context.queued
            : [{ requestId: response.requestId, request: {} }, ...context.queued],
        calls: context.calls.filter((c) => !c.answered),
      })
    }),
    onSessionFailed: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ wireReady: false })
      const failure = context.lifecycle.lastFailure
      if (failure === undefined) return
      enqueue.assign({ fatalError: failure })
      enqueue.emit({ type: "error", error: failure, fatal: true })
    }),
    onSessionClosed: assign({ wireReady: false }),

    // ---- responses ----
    sendCreate: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, "CREATE_RESPONSE")
      const response = responseWire(event.request)
      enqueue.sendTo(
        "socket",
        send(response === undefined ? { type: "response.create" } : { type: "response.create", response }),
      )
      enqueue.assign({
        response: newResponse(event.requestId, event.atMs),
      })
    }),
    sendQueuedCreate: enqueueActions(({ context, event, enqueue }) => {
      const [next, ...rest] = context.queued
      if (next === undefined) return
      const response = responseWire(next.request)
      enqueue.sendTo(
        "socket",
        send(response === undefined ? { type: "response.create" } : { type: "response.create", response }),
      )
      enqueue.assign({ queued: rest, response: newResponse(next.requestId, atMsOf(event)) })
    }),
    queueCreate: assign({
      queued: ({ context, event }) => {
        assertEvent(event, "CREATE_RESPONSE")
        return [...context.queued, { requestId: event.requestId, request: event.request }]
      },
    }),
    refuseDuplicate: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, "CREATE_RESPONSE")
      enqueue.emit({
        type: "error",
        error: {
          code: "duplicate_response_dropped",
          message: `A response is already in flight; request ${event.requestId} was dropped (onDuplicate: cancel_new)`,
          retryable: false,
        },
        fatal: false,
      })
    }),
    sendCancel: enqueueActions(({ context, enqueue }) => {
      const id = context.response?.responseId
      enqueue.sendTo(
        "socket",
        send(id === undefined ? { type: "response.cancel" } : { type: "response.cancel", response_id: id }),
      )
    }),
    adoptCreated: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.RESPONSE_CREATED")
      const response = context.response ?? newResponse(undefined, event.atMs)
      const adopted = { ...response, responseId: event.responseId }
      enqueue.assign({ response: adopted })
      enqueue.emit({ type: "response_started", responseId: event.responseId, requestId: adopted.requestId })
    }),
    finishResponse: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.RESPONSE_DONE")
      const response = context.response
      if (response === undefined) return
      enqueue.emit({
        type: "response_done",
        responseId: event.responseId,
        requestId: response.requestId,
        status: event.status,
        usage: event.usage,
        metrics: metricsOf(response, event.atMs),
      })
      enqueue.assign({ response: undefined })
    }),
    reportBenign: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, "SERVER.ERROR")
      enqueue.emit({
        type: "error",
        error: { code: event.code ?? "server_error", message: event.message, retryable: false },
        fatal: false,
      })
    }),
    reportStall: enqueueActions(({ enqueue }) => {
      enqueue.emit({ type: "error", error: STALLED_RESPONSE, fatal: false })
      enqueue.assign({ response: undefined })
    }),
    onAudioDelta: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.AUDIO_DELTA")
      const ms = event.samples.length / SAMPLES_PER_MS
      const mirror = mirrorAudio(context.mirror, event.itemId, ms)
      const response = context.response
      enqueue.assign({
        mirror,
        lastAudioItemId: event.itemId,
        ...(response !== undefined && isCurrent(context, event.responseId)
          ? {
              response: {
                ...response,
                audioMs: response.audioMs + ms,
                audioItemId: event.itemId,
                firstAudioAtMs: response.firstAudioAtMs ?? event.atMs,
              },
            }
          : {}),
      })
      enqueue.emit({
        type: "audio",
        responseId: event.responseId,
        itemId: event.itemId,
        samples: event.samples,
      })
    }),
    onTranscriptDelta: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.TRANSCRIPT_DELTA")
      enqueue.assign({
        mirror: mirrorTranscriptDelta(context.mirror, event.itemId, event.delta),
        response: withFirstText(context, event.responseId, event.atMs),
      })
      enqueue.emit({
        type: "output_transcript",
        responseId: event.responseId,
        itemId: event.itemId,
        delta: event.delta,
        done: false,
      })
    }),
    onTranscriptDone: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.TRANSCRIPT_DONE")
      enqueue.assign({ mirror: mirrorTranscriptDone(context.mirror, event.itemId, event.transcript) })
      enqueue.emit({
        type: "output_transcript",
        responseId: event.responseId,
        itemId: event.itemId,
        delta: "",
        done: true,
        transcript: event.transcript,
      })
    }),
    onTextDelta: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.TEXT_DELTA")
      enqueue.assign({
        mirror: mirrorTranscriptDelta(context.mirror, event.itemId, event.delta),
        response: withFirstText(context, event.responseId, event.atMs),
      })
      enqueue.emit({ type: "text", responseId: event.responseId, itemId: event.itemId, delta: event.delta })
    }),
    onFunctionCall: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.FUNCTION_CALL")
      enqueue.assign({
        mirror: mirrorArguments(context.mirror, event.itemId, event.arguments),
        calls: [
          ...context.calls,
          { callId: event.callId, responseId: event.responseId, answered: false, respond: true },
        ],
      })
      enqueue.emit({
        type: "function_call",
        responseId: event.responseId,
        itemId: event.itemId,
        callId: event.callId,
        name: event.name,
        arguments: event.arguments,
      })
    }),
    sendToolOutput: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "TOOL_OUTPUT")
      const events = [
        {
          type: "conversation.item.create",
          item: {
            id: event.itemId,
            type: "function_call_output",
            call_id: event.callId,
            output: event.output,
          },
        },
      ]
      if (context.wireReady) for (const e of events) enqueue.sendTo("socket", send(e))
      else enqueue.assign({ outbox: [...context.outbox, ...events] })
      enqueue.assign({
        calls: context.calls.map((c) =>
          c.callId === event.callId ? { ...c, answered: true, respond: event.respond } : c,
        ),
      })
    }),
    answerTools: enqueueActions(({ context, event, enqueue }) => {
      const respond = context.calls.every((c) => c.respond)
      enqueue.assign({ calls: [] })
      if (!respond) return
      enqueue.sendTo("socket", send({ type: "response.create" }))
      enqueue.assign({ response: newResponse("tools", atMsOf(event)) })
    }),

    // ---- conversation and input ----
    onItemAdded: assign({
      mirror: ({ context, event }) => {
        assertEvent(event, "SERVER.ITEM_ADDED")
        return mirrorAdded(context.mirror, event.item, event.previousItemId, event.done)
      },
    }),
    onItemDeleted: assign({
      mirror: ({ context, event }) => {
        assertEvent(event, "SERVER.ITEM_DELETED")
        return mirrorDeleted(context.mirror, event.itemId)
      },
    }),
    onItemTruncated: assign({
      mirror: ({ context, event }) => {
        assertEvent(event, "SERVER.ITEM_TRUNCATED")
        return mirrorTruncated(context.mirror, event.itemId, event.audioEndMs)
      },
    }),
    onSpeechStarted: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, "SERVER.SPEECH_STARTED")
      enqueue.assign({ speaking: true })
      enqueue.emit({ type: "input_speech_started", itemId: event.itemId, audioStartMs: event.audioStartMs })
    }),
    onSpeechStopped: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, "SERVER.SPEECH_STOPPED")
      enqueue.assign({ speaking: false })
      enqueue.emit({ type: "input_speech_stopped", itemId: event.itemId, audioEndMs: event.audioEndMs })
    }),
    onCommitted: assign({
      speaking: false,
      awaitingTranscripts: ({ context, event }) => {
        assertEvent(event, "SERVER.COMMITTED")
        return context.settings.inputTranscription == null
          ? context.awaitingTranscripts
          : [...context.awaitingTranscripts, event.itemId]
      },
    }),
    onInputTranscript: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.INPUT_TRANSCRIPT")
      if (event.final) {
        enqueue.assign({
          mirror: mirrorInputTranscript(context.mirror, event.itemId, event.text),
          awaitingTranscripts: context.awaitingTranscripts.filter((id) => id !== event.itemId),
        })
      }
      enqueue.emit({ type: "input_transcript", itemId: event.itemId, text: event.text, final: event.final })
    }),
    sendText: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SEND_TEXT")
      const events = [
        {
          type: "conversation.item.create",
          item: {
            id: event.itemId,
            type: "message",
            role: "user",
            content: [{ type: "input_text", text: event.text }],
          },
        },
      ]
      if (context.wireReady) for (const e of events) enqueue.sendTo("socket", send(e))
      else enqueue.assign({ outbox: [...context.outbox, ...events] })
    }),
    commitAudio: enqueueActions(({ context, enqueue }) => {
      const events = [{ type: "input_audio_buffer.commit" }]
      if (context.wireReady) for (const e of events) enqueue.sendTo("socket", send(e))
      else enqueue.assign({ outbox: [...context.outbox, ...events] })
    }),
    clearAudio: enqueueActions(({ context, enqueue }) => {
      const events = [{ type: "input_audio_buffer.clear" }]
      if (context.wireReady) for (const e of events) enqueue.sendTo("socket", send(e))
      else enqueue.assign({ outbox: [...context.outbox, ...events] })
    }),
    applySettings: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "UPDATE_SESSION")
      const settings = { ...context.settings, ...event.settings }
      enqueue.assign({ settings, settingsDirty: true })
    }),
    sendSettings: enqueueActions(({ context, enqueue }) => {
      enqueue.sendTo("socket", send({ type: "session.update", session: sessionUpdateOf(context.settings) }))
      enqueue.assign({ settingsDirty: false })
    }),
    recordPlayback: assign({
      played: ({ context, event }) => {
        assertEvent(event, "REPORT_PLAYBACK")
        return {
          ...context.played,
          [event.itemId]: Math.max(context.played[event.itemId] ?? 0, event.playedMs),
        }
      },
    }),
    /**
     * Truncates the last assistant audio item at what was heard, clamped to the audio
     * received, and tells the app to flush its queue. Nothing received: nothing to truncate.
     */
    truncateHeard: enqueueActions(({ context, enqueue }) => {
      const itemId = context.response?.audioItemId ?? context.lastAudioItemId
      const item = itemId === undefined ? undefined : context.mirror.find((m) => m.id === itemId)
      const received = item?.audioMs ?? 0
      if (itemId === undefined || item === undefined || received <= 0) {
        enqueue.emit({
          type: "interrupted",
          responseId: context.response?.responseId,
          itemId: undefined,
          audioEndMs: 0,
        })
        return
      }
      const audioEndMs = clampTruncateMs(context.played[itemId] ?? 0, received)
      if (audioEndMs < Math.floor(received)) {
        enqueue.sendTo(
          "socket",
          send({
            type: "conversation.item.truncate",
            item_id: itemId,
            content_index: 0,
            audio_end_ms: audioEndMs,
          }),
        )
      }
      enqueue.emit({ type: "interrupted", responseId: context.response?.responseId, itemId, audioEndMs })
    }),
    applyChatContext: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SET_CHAT_CONTEXT")
      const events = [
        ...event.plan.deletes.map((id) => ({ type: "conversation.item.delete", item_id: id })),
        ...event.plan.creates.map((create) => ({
          type: "conversation.item.create",
          previous_item_id: create.previousItemId ?? "root",
          item: realtimeItemOf(create.item),
        })),
      ]
      if (context.wireReady) for (const e of events) enqueue.sendTo("socket", send(e))
      else enqueue.assign({ outbox: [...context.outbox, ...events] })
    }),
    /** An interruption before the connection is configured: the creates asked for never go out. */
    abandonQueued: enqueueActions(({ enqueue }) => {
      enqueue.assign({ queued: [] })
      enqueue.emit({ type: "interrupted", responseId: undefined, itemId: undefined, audioEndMs: 0 })
    }),
    markOutput: assign({
      response: ({ context, event }) => {
        const response = context.response
        const responseId = "responseId" in event ? event.responseId : undefined
        if (response === undefined || response.responseId !== responseId) return response
        return { ...response, outputSeen: true }
      },
    }),
    reportProtocolError: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, "SOCKET.PROTOCOL_ERROR")
      enqueue.emit({
        type: "error",
        error: { code: "ProtocolError", message: event.message, retryable: false },
        fatal: false,
      })
    }),
  },
}).createMachine({
  context: ({ input }) =>
    ({
      lifecycle: initialLifecycleState(input.lifecycle),
      settings: input.settings,
      onDuplicate: input.onDuplicate ?? "cancel_existing",
      mirror: input.restore?.mirror ?? emptyMirror,
      response: undefined,
      queued: input.restore?.queued ?? [],
      calls: input.restore?.calls ?? [],
      played: input.restore?.played ?? {},
      lastAudioItemId: input.restore?.lastAudioItemId,
      speaking: false,
      awaitingTranscripts: [],
      settingsDirty: false,
      fatalError: undefined,
      responseTimeouts: { ...DEFAULT_RESPONSE_TIMEOUTS, ...input.responseTimeouts },
      wireReady: false,
      outbox: input.restore?.outbox ?? [],
      recreateOnConnect: (input.restore?.mirror.length ?? 0) > 0,
    }) satisfies RealtimeSessionContext,
  ...lifecycle.config({
    on: {
      UPDATE_SESSION: { actions: "applySettings" },
      REPORT_PLAYBACK: { actions: "recordPlayback" },
      // Client events while not configured wait in the outbox; in streaming they go at once.
      SEND_TEXT: { actions: "sendText" },
      COMMIT_AUDIO: { actions: "commitAudio" },
      CLEAR_AUDIO: { actions: "clearAudio" },
      SET_CHAT_CONTEXT: { actions: "applyChatContext" },
      TOOL_OUTPUT: { guard: "isPendingCall", actions: "sendToolOutput" },
      CREATE_RESPONSE: { guard: not("wireReady"), actions: "queueCreate" },
      INTERRUPT: { guard: not("wireReady"), actions: "abandonQueued" },
    },
    onlineOn: {
      "SERVER.ITEM_ADDED": { actions: "onItemAdded" },
      "SERVER.ITEM_DELETED": { actions: "onItemDeleted" },
      "SERVER.ITEM_TRUNCATED": { actions: "onItemTruncated" },
      "SERVER.INPUT_TRANSCRIPT": { actions: "onInputTranscript" },
      "SOCKET.PROTOCOL_ERROR": { actions: "reportProtocolError" },
      "SERVER.AUDIO_DELTA": { actions: ["onAudioDelta", "markOutput"] },
      "SERVER.TRANSCRIPT_DELTA": { actions: ["onTranscriptDelta", "markOutput"] },
      "SERVER.TRANSCRIPT_DONE": { actions: "onTranscriptDone" },
      "SERVER.TEXT_DELTA": { actions: ["onTextDelta", "markOutput"] },
      "SERVER.FUNCTION_CALL": { actions: ["onFunctionCall", "markOutput"] },
    },
    streaming: {
      description: "Configured: input, responses and tools run side by side.",
      type: "parallel" as const,
      on: {
        UPDATE_SESSION: { actions: ["applySettings", "sendSettings"] },
      },
      states: {
        input: {
          description: "The user's turn, as the server's VAD (or manual commits) tell it.",
          initial: "listening" as const,
          states: {
            listening: {
              on: {
                "SERVER.SPEECH_STARTED": { target: "userSpeaking", actions: "onSpeechStarted" },
                "SERVER.COMMITTED": { target: "committed", actions: "onCommitted" },
              },
            },
            userSpeaking: {
              on: {
                "SERVER.SPEECH_STOPPED": { target: "listening", actions: "onSpeechStopped" },
                "SERVER.COMMITTED": { target: "committed", actions: "onCommitted" },
              },
            },
            committed: {
              description: "A user item is committed; its transcript (when transcription is on) is awaited.",
              always: { guard: not("awaitingTranscript"), target: "listening" },
              on: {
                "SERVER.SPEECH_STARTED": { target: "userSpeaking", actions: "onSpeechStarted" },
                "SERVER.COMMITTED": { target: "committed", actions: "onCommitted" },
              },
            },
          },
        },
        response: {
          description: "The conversation's one response: asked for, streaming, being cancelled.",
          initial: "idle" as const,
          states: {
            idle: {
              always: [
                { guard: "hasQueuedCreate", target: "creating", actions: "sendQueuedCreate" },
                lifecycle.rotate,
              ],
              on: {
                CREATE_RESPONSE: { target: "creating", actions: "sendCreate" },
                // A response the server started itself (VAD create_response).
                "SERVER.RESPONSE_CREATED": { target: "responding", actions: "adoptCreated" },
                INTERRUPT: { actions: "truncateHeard" },
              },
            },
            creating: {
              description: "response.create sent; awaiting response.created.",
              on: {
                "SERVER.RESPONSE_CREATED": { target: "responding", actions: "adoptCreated" },
                CREATE_RESPONSE: [
                  { guard: "duplicateCancelsNew", actions: "refuseDuplicate" },
                  {
                    guard: "duplicateCancelsExisting",
                    target: "cancelling",
                    actions: ["queueCreate", "sendCancel"],
                  },
                  { actions: "queueCreate" },
                ],
                INTERRUPT: { target: "cancelling", actions: ["sendCancel", "truncateHeard"] },
              },
              after: { responseCreatedTimeout: { target: "idle", actions: "reportStall" } },
            },
            responding: {
              description: "Deltas stream in: audio, transcripts, text, function calls.",
              initial: "awaitingOutput" as const,
              states: {
                awaitingOutput: {
                  always: { guard: "outputSeen", target: "producing" },
                  after: {
                    firstDeltaTimeout: {
                      target: "#realtime.online.streaming.response.idle",
                      actions: "reportStall",
                    },
                  },
                },
                producing: {},
              },
              on: {
                "SERVER.RESPONSE_DONE": {
                  guard: "isCurrentResponseDone",
                  target: "idle",
                  actions: "finishResponse",
                },
                CREATE_RESPONSE: [
                  { guard: "duplicateCancelsNew", actions: "refuseDuplicate" },
                  {
                    guard: "duplicateCancelsExisting",
                    target: "cancelling",
                    actions: ["queueCreate", "sendCancel"],
                  },
                  { actions: "queueCreate" },
                ],
                INTERRUPT: { target: "cancelling", actions: ["sendCancel", "truncateHeard"] },
                // The server cancels on speech itself (interrupt_response): truncate at what was heard.
                "SERVER.SPEECH_STARTED": {
                  guard: "interruptsOnSpeech",
                  target: "cancelling",
                  actions: "truncateHeard",
                },
              },
            },
            cancelling: {
              description: "response.cancel sent; awaiting response.done (late deltas still arrive).",
              on: {
                "SERVER.RESPONSE_CREATED": { guard: "isCurrentResponseCreated", actions: "adoptCreated" },
                "SERVER.RESPONSE_DONE": {
                  guard: "isCurrentResponseDone",
                  target: "idle",
                  actions: "finishResponse",
                },
                CREATE_RESPONSE: [
                  { guard: "duplicateCancelsNew", actions: "refuseDuplicate" },
                  { actions: "queueCreate" },
                ],
              },
              after: { cancelAckTimeout: { target: "idle", actions: "reportStall" } },
            },
          },
        },
        tools: {
          description: "Function calls of the responses, pending until the app gives their outputs.",
          initial: "idle" as const,
          states: {
            idle: {
              always: [
                { guard: "hasPendingCalls", target: "pending" },
                // Outputs given while the wire was down (a reconnect, a resume) went out with the outbox.
                { guard: "allCallsAnswered", target: "answered" },
              ],
            },
            pending: { always: { guard: "allCallsAnswered", target: "answered" } },
            answered: {
              description: "Every output is in: one response.create follows once the response is done.",
              always: [
                { guard: "hasPendingCalls", target: "pending" },
                { guard: "noResponseInFlight", target: "idle", actions: "answerTools" },
              ],
            },
          },
        },
      },
    },
    draining: { always: { target: lifecycle.targets.closed } },
  }),
})

/** A chat item for a text the session sends (helper for the facade). */
export const userTextItem = (id: string, text: string): ChatItem =>
  trustedChatItem({ type: "message", id, role: "user", content: text })

export { clampTruncateMs }
