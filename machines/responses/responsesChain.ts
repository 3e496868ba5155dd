/**
 * The Responses API WebSocket chain: one socket reused across turns, each turn continuing
 * the server's cached response with `previous_response_id` when the caller's history still
 * matches it, and falling back to the full context when it does not or when the service
 * loses the chain.
 *
 * ```
 * disconnected ──work──▶ online: connecting ─▶ ready ─┬─ dispatching ─▶ idle
 *       ▲                                             ├─ warming   (prewarm, generate:false)
 *       └────────── socket lost ──────────────────────├─ turn: awaitingCreated ─▶ streaming
 *                                                     └─ draining  (a cancelled response)
 * ready ──rotateAfter──▶ aged: the socket is replaced at the next idle moment
 * awaitingCreated ──rate limited──▶ backingOff ──rateLimitBackoff──▶ dispatching (one retry)
 * closed (final)
 * ```
 *
 * Recoverable errors, each retried at most once per turn and always with the full context:
 * `previous_response_not_found` (the chain is reset, same socket), `websocket_connection_limit_reached`
 * (a new socket), and the socket closing before any output reached the caller (a new socket).
 * Once a text delta or a tool call has been handed out, a lost turn fails (an `LLMError` at the facade)
 * (`ConnectionLost`, `afterOutput: true`) and is never replayed.
 *
 * Rate limits: a request refused with `rate_limit_exceeded` (or a 429 other than
 * `insufficient_quota`) has created nothing, so it is sent once more, as it was planned, after
 * the delay the service names in `error.headers` (`retry-after-ms` / `retry-after`; else
 * `rateLimitWaitMs`): the `backingOff` state. That retry is the turn's one recovery. A delay
 * longer than `rateLimitMaxWaitMs` is not waited for: the turn fails at once with a retryable
 * failure whose reason carries `retryAfterMs`.
 *
 * Cancel: before the request is sent it sends nothing; before `response.created` it waits for
 * the id; then it sends `response.cancel` for that id and drains: every event until the
 * cancelled response's terminal event is dropped, so the next turn's stream is clean. A
 * confirmed cancelled response still seeds the chain; an unconfirmed one (drain timeout,
 * socket lost) resets it.
 *
 * Pure: the one actor, `socket`, is supplied with `machine.provide({ actors })` (see
 * `src/llm/ResponsesLLM.ts`); it receives {@link ResponsesSocketCommand}s and sends back
 * `SOCKET.*` events and the server's frames named at the edge (`SERVER.RESPONSE_CREATED`,
 * `SERVER.RESPONSE_DONE`, `SERVER.ERROR`, `SERVER.RESPONSE_OUTPUT`). Waits are named delays
 * (`rotateAfter`, `drainTimeout`, `rateLimitBackoff`, and the turn's `responseCreatedTimeout`,
 * `firstOutputTimeout`, `eventGapTimeout`: a turn the service owes an event and leaves without
 * one fails with `Timeout` and the socket is replaced, so the queue moves on). Events of
 * another response than the turn's are skipped.
 * What the caller sees is emitted as {@link ResponsesChainEmitted} events
 * (`actor.on("turn.chunk", ...)`).
 * @module
 */
import { and, assertEvent, assign, enqueueActions, fromCallback, setup } from "xstate"
import {
  ClientEvents,
  type ResponsesCreateParams,
  type ResponsesResponse,
  type ResponsesServerEvent,
  type ResponsesSocketClientEvent,
} from "../../src/protocol/index.ts"
import type { SocketFailure } from "../lifecycle/sessionLifecycle.ts"
import {
  type ChainFailure,
  closedFailure,
  DEFAULT_RATE_LIMIT_MAX_WAIT_MS,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  isRateLimit,
  rateLimitWaitMs,
  serverFailure,
} from "./chainFailure.ts"
import { type ChainState, chainAfterResponse, type FullReason, planChainInput } from "./chainInput.ts"
import { type ChatItem, toResponsesInput, trustedChatItem } from "./chatItems.ts"
import type { ChatChunk, ChatEndStatus } from "./chunks.ts"
import {
  advanceProgress,
  deliveredOutput,
  emptyProgress,
  finishProgress,
  type ResponseProgress,
} from "./responseProgress.ts"
import type { ResponsesServerNamedEvent } from "./responsesServerEvents.ts"

// ---------------------------------------------------------------------------------------
// Requests

/** The `response.create` fields of a turn other than its input and chaining. */
export type ResponsesTurnParams = Omit<ResponsesCreateParams, "input" | "previous_response_id" | "generate">

/** One `chat()` turn. */
export interface ChainTurnRequest {
  /** Local id of the turn; every emitted event of the turn carries it. */
  readonly turnId: string
  /** The whole context of the turn. */
  readonly items: readonly ChatItem[]
  readonly params: ResponsesTurnParams
  /** Send `system` messages as `developer` (reasoning models). */
  readonly developerRole: boolean
}

/** A prewarm: connect, and with `instructions` or tools send a `generate: false` request. */
export interface PrewarmRequest {
  readonly params: ResponsesTurnParams
  /** Sent as a system message, the first item of the chain it seeds. */
  readonly instructions?: string
  readonly developerRole: boolean
}

// ---------------------------------------------------------------------------------------
// Events

/** Events the `socket` actor sends back. */
export type ResponsesSocketEvent =
  /** The handshake finished. */
  | { readonly type: "SOCKET.OPEN"; readonly atMs?: number }
  /** One server frame, named at the edge (see `responsesServerEvents.ts`). */
  | ResponsesServerNamedEvent
  /** A frame that could not be decoded (skipped). */
  | { readonly type: "SOCKET.PROTOCOL_ERROR"; readonly message: string; readonly atMs?: number }
  /** The socket is gone (`close_1000` after a normal close), as the one socket actor reports it. */
  | { readonly type: "SOCKET.FAILED"; readonly failure: SocketFailure; readonly atMs?: number }

/** Events from the LLM's user. */
export type ResponsesControlEvent =
  /** Start a turn (queued behind the one in flight, or refused with `whenBusy: "reject"`). */
  | { readonly type: "CHAT"; readonly request: ChainTurnRequest }
  /** Cancel the turn `turnId` (queued, sent or streaming). */
  | { readonly type: "CANCEL"; readonly turnId: string }
  /** Connect now, and seed the chain when instructions or tools are given. */
  | { readonly type: "PREWARM"; readonly request: PrewarmRequest }
  /** Close the socket and fail whatever is pending. Final. */
  | { readonly type: "CLOSE" }

/** Every event the machine takes. */
export type ResponsesChainEvent = ResponsesSocketEvent | ResponsesControlEvent

/** What the machine tells the `socket` actor. */
export type ResponsesSocketCommand = {
  readonly type: "SEND"
  readonly event: ResponsesSocketClientEvent
  /** The turn a `response.create` is for, so the socket's edge can route its text to the turn's stream. */
  readonly turnId?: string
}

/** Input of the `socket` actor: the socket's generation (1 for the first connection). */
export interface ResponsesSocketInput {
  readonly generation: number
}

/** Why a turn was sent again. */
export type RecoveryCause =
  | "previous_response_not_found"
  | "websocket_connection_limit_reached"
  | "socket_closed"
  | "rate_limit_exceeded"

/** What the machine tells its user. */
export type ResponsesChainEmitted =
  /** A chunk of turn `turnId`; the `end` chunk is its last event. */
  | { readonly type: "turn.chunk"; readonly turnId: string; readonly chunk: ChatChunk }
  /** Turn `turnId` failed; no other event of it follows. */
  | { readonly type: "turn.failed"; readonly turnId: string; readonly error: ChainFailure }
  /** Turn `turnId` sent a `response.create` (`attempt` 2 after a recovery). */
  | {
      readonly type: "turn.sent"
      readonly turnId: string
      readonly attempt: number
      readonly mode: "chained" | "full"
      readonly fullReason?: FullReason
      /** Items in the request's `input`. */
      readonly itemCount: number
      readonly generation: number
    }
  /**
   * Turn `turnId` is being sent again: with the full context after a lost chain or socket, as
   * planned after a rate limit (`afterMs`: the wait before it, in milliseconds).
   */
  | {
      readonly type: "turn.retrying"
      readonly turnId: string
      readonly cause: RecoveryCause
      readonly afterMs?: number
    }
  /** A prewarm finished: connected, and `responseId` seeds the chain when a warmup was sent. */
  | { readonly type: "prewarm.done"; readonly responseId: string | undefined }
  /** A prewarm failed (the chain stays as it was). */
  | { readonly type: "prewarm.failed"; readonly error: ChainFailure }
  /** A socket opened (`generation` counts sockets from 1). */
  | { readonly type: "socket.opened"; readonly generation: number }
  /** Something the machine skipped: an undecodable frame, a stray error, a drain timeout. */
  | { readonly type: "notice"; readonly message: string }

// ---------------------------------------------------------------------------------------
// Context

/** A turn that has been taken from the queue. */
export interface ActiveTurn {
  readonly request: ChainTurnRequest
  /** `response.create` requests sent for this turn. */
  readonly attempts: number
  /** The turn used its one recovery. */
  readonly recovered: boolean
  /** The next send must carry the full context (a recovery). */
  readonly forceFull: boolean
  /** The request must be (re)sent on the current socket. */
  readonly awaitingSend: boolean
  /** The caller cancelled after the request was sent; the cancel waits for `response.created`. */
  readonly cancelRequested: boolean
  readonly progress: ResponseProgress
}

/** A cancelled response whose events are being dropped until it ends. */
export interface DrainState {
  readonly responseId: string
  /** The context the cancelled turn sent (for the chain, when the server confirms). */
  readonly sent: readonly ChatItem[]
}

/** A `generate: false` request in flight. */
export interface WarmingState {
  readonly sent: readonly ChatItem[]
  readonly responseId: string | undefined
}

/** Context of {@link responsesChainMachine}. */
export interface ResponsesChainContext {
  /** Responses are stored server-side: the chain then survives a new socket. */
  readonly store: boolean
  readonly whenBusy: "queue" | "reject"
  readonly rotateAfterMs: number
  readonly drainTimeoutMs: number
  readonly responseCreatedTimeoutMs: number
  readonly firstOutputTimeoutMs: number
  readonly eventGapTimeoutMs: number
  readonly rateLimitMaxWaitMs: number
  readonly rateLimitWaitMs: number
  /** The wait of the rate-limit backoff in progress, in milliseconds. */
  readonly backoffMs: number
  /** Sockets opened so far (the current one's number while online). */
  readonly generation: number
  /** The socket is older than `rotateAfterMs`: it is replaced at the next idle moment. */
  readonly aged: boolean
  readonly chain: ChainState | undefined
  readonly queue: readonly ChainTurnRequest[]
  readonly current: ActiveTurn | undefined
  readonly warmup: PrewarmRequest | undefined
  readonly warming: WarmingState | undefined
  readonly draining: DrainState | undefined
}

/** Input of {@link responsesChainMachine}. Times in milliseconds. */
export interface ResponsesChainInput {
  /** Default false (nothing persisted; the chain lives only on its socket). */
  readonly store?: boolean
  /** What a `CHAT` does while another turn is in flight: wait (default) or fail with `Busy`. */
  readonly whenBusy?: "queue" | "reject"
  /** Socket age after which it is replaced at the next idle moment; default 55 minutes (the service caps it at 60). */
  readonly rotateAfterMs?: number
  /** Longest wait for a cancelled response to end before the socket is dropped; default 5 000 ms. */
  readonly drainTimeoutMs?: number
  /**
   * Longest wait from `response.create` to its `response.created` (also bounds a warmup);
   * default 15 000 ms. The turn then fails with `Timeout` (`response_created`).
   */
  readonly responseCreatedTimeoutMs?: number
  /**
   * Longest wait from `response.created` to the response's first output event; default
   * 60 000 ms. The turn then fails with `Timeout` (`first_output`).
   */
  readonly firstOutputTimeoutMs?: number
  /**
   * Longest silence between two events of a response in progress; default 60 000 ms. The turn
   * then fails with `Timeout` (`between_events`). Only the response's own events count.
   */
  readonly eventGapTimeoutMs?: number
  /**
   * Longest rate-limit delay waited out before the turn's one retry; default 5 000 ms. A
   * longer `retry-after` fails the turn at once; 0 never retries a rate-limited request.
   */
  readonly rateLimitMaxWaitMs?: number
  /** Wait before retrying a rate-limited request when the service names no delay; default 1 000 ms. */
  readonly rateLimitWaitMs?: number
}

/** Default socket age before rotation: 55 minutes. */
export const DEFAULT_ROTATE_AFTER_MS = 55 * 60_000
/** Default drain timeout: 5 seconds. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 5_000
/** Default wait for `response.created`: 15 seconds. */
export const DEFAULT_RESPONSE_CREATED_TIMEOUT_MS = 15_000
/** Default wait from `response.created` to the first output: 60 seconds (reasoning can be slow). */
export const DEFAULT_FIRST_OUTPUT_TIMEOUT_MS = 60_000
/** Default longest silence inside a response: 60 seconds. */
export const DEFAULT_EVENT_GAP_TIMEOUT_MS = 60_000

// ---------------------------------------------------------------------------------------
// Helpers

const isServerEvent = (event: ResponsesChainEvent): event is ResponsesServerNamedEvent =>
  event.type === "SERVER.RESPONSE_CREATED" ||
  event.type === "SERVER.RESPONSE_DONE" ||
  event.type === "SERVER.ERROR" ||
  event.type === "SERVER.RESPONSE_OUTPUT"

/** The decoded frame a named server event carries (for the rules that read its content). */
const serverEvent = (event: ResponsesChainEvent): ResponsesServerEvent | undefined =>
  isServerEvent(event) ? event.event : undefined

const errorCode = (event: ResponsesChainEvent): string | undefined =>
  event.type === "SERVER.ERROR" ? event.code : undefined

/** The headers a refused request's error carries (`error.headers`, nested shape only). */
const errorHeaders = (event: ResponsesChainEvent) =>
  event.type === "SERVER.ERROR" ? event.headers : undefined

/** The wait before retrying a rate-limited request, or undefined when it is not retried. */
const rateLimitWaitOf = (context: ResponsesChainContext, event: ResponsesChainEvent): number | undefined =>
  rateLimitWaitMs(errorHeaders(event), {
    maxWaitMs: context.rateLimitMaxWaitMs,
    defaultWaitMs: context.rateLimitWaitMs,
  })

const terminalResponse = (event: ResponsesChainEvent): ResponsesResponse | undefined =>
  event.type === "SERVER.RESPONSE_DONE" ? event.response : undefined

const endStatus = (response: ResponsesResponse): ChatEndStatus =>
  response.status === "cancelled"
    ? "cancelled"
    : response.status === "incomplete"
      ? "incomplete"
      : "completed"

const errorFromEvent = (event: ResponsesChainEvent, turn: ActiveTurn | undefined): ChainFailure => {
  const error = event.type === "SERVER.ERROR" ? event : undefined
  return serverFailure({
    code: error?.code,
    message: error?.message ?? "The service reported an error",
    status: error?.status,
    errorType: error?.errorType,
    retryAfterMs: error?.retryAfterMs,
    attempts: turn?.attempts ?? 0,
    responseId: turn?.progress.responseId,
  })
}

const errorFromFailedResponse = (response: ResponsesResponse, turn: ActiveTurn): ChainFailure =>
  serverFailure({
    code: response.error?.code ?? undefined,
    message: response.error?.message ?? "The response failed",
    attempts: turn.attempts,
    responseId: response.id,
  })

const connectionLost = (turn: ActiveTurn, end: SocketFailure | undefined): ChainFailure => {
  const afterOutput = turn.progress.delivered
  const why = end?.message ?? "the socket closed"
  return {
    reason: { _tag: "ConnectionLost", afterOutput },
    message: afterOutput
      ? `The connection was lost after output reached the caller, so the turn is not replayed: ${why}`
      : turn.recovered
        ? `The connection was lost again after a recovery: ${why}`
        : `The connection was lost: ${why}`,
    retryable: true,
    attempts: turn.attempts,
    ...(turn.progress.responseId === undefined ? {} : { responseId: turn.progress.responseId }),
  }
}

type TimeoutPhase = "response_created" | "first_output" | "between_events"

const timeoutMsOf = (context: ResponsesChainContext, phase: TimeoutPhase): number =>
  phase === "response_created"
    ? context.responseCreatedTimeoutMs
    : phase === "first_output"
      ? context.firstOutputTimeoutMs
      : context.eventGapTimeoutMs

const timeoutDescription: Record<TimeoutPhase, string> = {
  response_created: "The service did not answer response.create with response.created",
  first_output: "The response sent no output after response.created",
  between_events: "The response fell silent before it ended",
}

const turnTimedOut = (
  context: ResponsesChainContext,
  turn: ActiveTurn,
  phase: TimeoutPhase,
): ChainFailure => {
  const timeoutMs = timeoutMsOf(context, phase)
  return {
    reason: { _tag: "Timeout", phase, timeoutMs },
    message: `${timeoutDescription[phase]} within ${timeoutMs} ms; the socket is replaced`,
    retryable: true,
    attempts: turn.attempts,
    ...(turn.progress.responseId === undefined ? {} : { responseId: turn.progress.responseId }),
  }
}

/** The response id a `response.created` or terminal event names, if it names one. */
const responseIdOf = (event: ResponsesChainEvent): string | undefined => {
  const server = serverEvent(event)
  if (server === undefined) return undefined
  if (server.type === "response.created") return server.response.id
  return terminalResponse(event)?.id
}

const connectFailed = (end: SocketFailure | undefined): ChainFailure => ({
  reason: { _tag: "Connect", ...(end?.status === undefined ? {} : { status: end.status }) },
  message: `The Responses socket could not be opened: ${end?.message ?? "closed during the handshake"}`,
  retryable: end?.retryable ?? true,
})

const closedError = closedFailure

/** The `socket` actor itself failed (threw): a defect, so nothing pending is retried. */
const socketActorFailed = (context: ResponsesChainContext, cause: unknown): ChainFailure => ({
  reason: { _tag: "ConnectionLost", afterOutput: context.current?.progress.delivered === true },
  message: `The socket actor failed: ${cause instanceof Error ? cause.message : String(cause)}`,
  retryable: false,
})

/**
 * The events that fail everything pending with `error`: the current turn (unless it was
 * cancelled: its end was already emitted), the queued turns, and a prewarm waiting or in flight.
 */
const failuresOfPending = (context: ResponsesChainContext, error: ChainFailure): ResponsesChainEmitted[] => {
  const events: ResponsesChainEmitted[] = []
  if (context.current !== undefined && !context.current.cancelRequested) {
    events.push({ type: "turn.failed", turnId: context.current.request.turnId, error })
  }
  for (const request of context.queue) events.push({ type: "turn.failed", turnId: request.turnId, error })
  if (context.warmup !== undefined || context.warming !== undefined) {
    events.push({ type: "prewarm.failed", error })
  }
  return events
}

/** Context with nothing pending (see {@link failuresOfPending}). */
const nothingPending = {
  current: undefined,
  queue: [],
  warmup: undefined,
  warming: undefined,
  draining: undefined,
} as const

const socketEnd = (event: ResponsesChainEvent): SocketFailure | undefined =>
  event.type === "SOCKET.FAILED" ? event.failure : undefined

const cancelledEnd = (turn: ActiveTurn): ChatChunk => ({
  type: "end",
  responseId: turn.progress.responseId,
  status: "cancelled",
  output: deliveredOutput(turn.progress),
})

const socketNotProvided = fromCallback<ResponsesSocketCommand, ResponsesSocketInput>(({ sendBack }) => {
  sendBack({
    type: "SOCKET.FAILED",
    failure: {
      code: "socket_not_provided",
      message: "responsesChainMachine needs a `socket` actor: provide one with machine.provide({ actors })",
      retryable: false,
      opened: false,
    },
  })
})

// ---------------------------------------------------------------------------------------
// Machine

/**
 * The Responses WebSocket chain machine (see the module description). Provide its `socket`
 * actor; send it `CHAT`, `CANCEL`, `PREWARM`, `CLOSE`; read `turn.chunk` / `turn.failed`
 * emitted events.
 */
export const responsesChainMachine = setup({
  types: {
    context: {} as ResponsesChainContext,
    events: {} as ResponsesChainEvent,
    input: {} as ResponsesChainInput,
    emitted: {} as ResponsesChainEmitted,
  },
  actors: { socket: socketNotProvided },
  delays: {
    rotateAfter: ({ context }) => context.rotateAfterMs,
    drainTimeout: ({ context }) => context.drainTimeoutMs,
    rateLimitBackoff: ({ context }) => context.backoffMs,
    responseCreatedTimeout: ({ context }) => context.responseCreatedTimeoutMs,
    firstOutputTimeout: ({ context }) => context.firstOutputTimeoutMs,
    eventGapTimeout: ({ context }) => context.eventGapTimeoutMs,
  },
  guards: {
    hasWork: ({ context }) =>
      context.queue.length > 0 || context.warmup !== undefined || context.current?.awaitingSend === true,
    currentAwaitsSend: ({ context }) => context.current?.awaitingSend === true,
    hasWarmup: ({ context }) => context.warmup !== undefined,
    warmupNeedsRequest: ({ context }) =>
      context.warmup !== undefined &&
      context.chain === undefined &&
      (context.warmup.instructions !== undefined || (context.warmup.params.tools?.length ?? 0) > 0),
    hasQueued: ({ context }) => context.queue.length > 0,
    isOld: ({ context }) => context.aged,
    isQueuedTurn: ({ context, event }) =>
      event.type === "CANCEL" && context.queue.some((r) => r.turnId === event.turnId),
    isLiveCurrentTurn: ({ context, event }) =>
      event.type === "CANCEL" &&
      context.current !== undefined &&
      context.current.request.turnId === event.turnId &&
      !context.current.cancelRequested,
    cancelRequested: ({ context }) => context.current?.cancelRequested === true,
    canRecover: ({ context }) => context.current !== undefined && !context.current.recovered,
    canRecoverBeforeOutput: ({ context }) =>
      context.current !== undefined && !context.current.recovered && !context.current.progress.delivered,
    isPreviousNotFound: ({ event }) => errorCode(event) === "previous_response_not_found",
    isConnectionLimit: ({ event }) => errorCode(event) === "websocket_connection_limit_reached",
    isRateLimited: ({ event }) => event.type === "SERVER.ERROR" && isRateLimit(event.code, event.status),
    rateLimitRetryAllowed: ({ context, event }) => rateLimitWaitOf(context, event) !== undefined,
    isOwnTerminal: ({ context, event }) => {
      const response = terminalResponse(event)
      return response !== undefined && response.id === context.current?.progress.responseId
    },
    isOwnFailure: ({ context, event }) =>
      event.type === "SERVER.RESPONSE_DONE" &&
      event.event.type === "response.failed" &&
      event.responseId === context.current?.progress.responseId,
    isWarmupEnd: ({ context, event }) => {
      const response = terminalResponse(event)
      return (
        response !== undefined &&
        (context.warming?.responseId === undefined || response.id === context.warming.responseId)
      )
    },
    warmupCreated: ({ context }) => context.warming?.responseId !== undefined,
    isDrainedEnd: ({ context, event }) => terminalResponse(event)?.id === context.draining?.responseId,
    /** A created or terminal event of another response than the current turn's: not this turn's. */
    isForeignResponse: ({ context, event }) => {
      const id = responseIdOf(event)
      return id !== undefined && id !== context.current?.progress.responseId
    },
    /** An event of the response in progress (deltas, items): what the turn is owed. */
    isResponseProgress: ({ event }) => {
      const server = serverEvent(event)
      return server !== undefined && server.type !== "unknown" && server.type.startsWith("response.")
    },
  },
  actions: {
    nextGeneration: assign(({ context }) => ({
      generation: context.generation + 1,
      aged: false,
      // A new socket starts with an empty cache: only stored responses can still be chained.
      chain: context.store ? context.chain : undefined,
      current:
        context.current === undefined
          ? undefined
          : { ...context.current, awaitingSend: true, progress: emptyProgress },
    })),
    markAged: assign({ aged: true }),
    announceOpen: enqueueActions(({ context, enqueue }) => {
      enqueue.emit({ type: "socket.opened", generation: context.generation })
    }),

    enqueueOrReject: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "CHAT")
      const busy =
        (context.current !== undefined && !context.current.cancelRequested) || context.queue.length > 0
      if (busy && context.whenBusy === "reject") {
        enqueue.emit({
          type: "turn.failed",
          turnId: event.request.turnId,
          error: {
            reason: { _tag: "Busy" },
            message: "A turn is already in flight on this socket (whenBusy: reject)",
            retryable: true,
            attempts: 0,
          },
        })
        return
      }
      enqueue.assign({ queue: [...context.queue, event.request] })
    }),
    cancelQueued: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "CANCEL")
      enqueue.assign({ queue: context.queue.filter((r) => r.turnId !== event.turnId) })
      enqueue.emit({
        type: "turn.chunk",
        turnId: event.turnId,
        chunk: { type: "end", responseId: undefined, status: "cancelled", output: [] },
      })
    }),
    setWarmup: assign(({ event }) => (event.type === "PREWARM" ? { warmup: event.request } : {})),

    startNextTurn: assign(({ context }) => {
      const [next, ...rest] = context.queue
      if (next === undefined) return {}
      const current: ActiveTurn = {
        request: next,
        attempts: 0,
        recovered: false,
        forceFull: false,
        awaitingSend: true,
        cancelRequested: false,
        progress: emptyProgress,
      }
      return { queue: rest, current }
    }),

    sendTurn: enqueueActions(({ context, enqueue }) => {
      const turn = context.current
      if (turn === undefined) return
      const { request } = turn
      const plan = planChainInput(context.chain, request.items, turn.forceFull)
      const input = toResponsesInput(plan.items, { developerRole: request.developerRole })
      const event = ClientEvents.responsesCreate({
        ...request.params,
        input,
        ...(plan.mode === "chained" ? { previous_response_id: plan.previousResponseId } : {}),
      })
      enqueue.sendTo("socket", {
        type: "SEND",
        event,
        turnId: request.turnId,
      } satisfies ResponsesSocketCommand)
      const attempts = turn.attempts + 1
      enqueue.assign({
        current: { ...turn, attempts, awaitingSend: false, progress: emptyProgress },
      })
      enqueue.emit({
        type: "turn.sent",
        turnId: request.turnId,
        attempt: attempts,
        mode: plan.mode,
        ...(plan.mode === "full" ? { fullReason: plan.reason } : {}),
        itemCount: plan.items.length,
        generation: context.generation,
      })
    }),

    markRecovery: enqueueActions(({ context, event, enqueue }) => {
      const turn = context.current
      if (turn === undefined) return
      const code = errorCode(event)
      const cause: RecoveryCause =
        code === "previous_response_not_found" || code === "websocket_connection_limit_reached"
          ? code
          : "socket_closed"
      enqueue.assign({ current: { ...turn, recovered: true, forceFull: true, awaitingSend: true } })
      enqueue.emit({ type: "turn.retrying", turnId: turn.request.turnId, cause })
    }),
    resetChain: assign({ chain: undefined }),
    scheduleRateLimitRetry: enqueueActions(({ context, event, enqueue }) => {
      const turn = context.current
      const wait = rateLimitWaitOf(context, event)
      if (turn === undefined || wait === undefined) return
      // Nothing was created: the same plan (chained or full) is sent again after the wait.
      enqueue.assign({
        current: { ...turn, recovered: true, awaitingSend: true },
        backoffMs: wait,
      })
      enqueue.emit({
        type: "turn.retrying",
        turnId: turn.request.turnId,
        cause: "rate_limit_exceeded",
        afterMs: wait,
      })
    }),

    recordCreated: assign(({ context, event }) => {
      const server = serverEvent(event)
      if (context.current === undefined || server === undefined) return {}
      return {
        current: { ...context.current, progress: advanceProgress(context.current.progress, server).progress },
      }
    }),
    advanceTurn: enqueueActions(({ context, event, enqueue }) => {
      const turn = context.current
      const server = serverEvent(event)
      if (turn === undefined || server === undefined) return
      // Output the edge already folded and handed to the turn's stream: its progress, no chunk again.
      if (event.type === "SERVER.RESPONSE_OUTPUT" && event.progress !== undefined) {
        enqueue.assign({ current: { ...turn, progress: event.progress } })
        return
      }
      const step = advanceProgress(turn.progress, server)
      if (step.progress !== turn.progress) enqueue.assign({ current: { ...turn, progress: step.progress } })
      for (const chunk of step.chunks)
        enqueue.emit({ type: "turn.chunk", turnId: turn.request.turnId, chunk })
    }),
    finishTurn: enqueueActions(({ context, event, enqueue }) => {
      const turn = context.current
      const response = terminalResponse(event)
      if (turn === undefined || response === undefined) return
      // The edge's fold when it streamed the turn itself (see SERVER.RESPONSE_OUTPUT).
      const progress = (event.type === "SERVER.RESPONSE_DONE" ? event.progress : undefined) ?? turn.progress
      const end = finishProgress(progress, response)
      const turnId = turn.request.turnId
      for (const chunk of end.chunks) enqueue.emit({ type: "turn.chunk", turnId, chunk })
      const reason = response.incomplete_details?.reason ?? undefined
      enqueue.emit({
        type: "turn.chunk",
        turnId,
        chunk: {
          type: "end",
          responseId: response.id,
          status: endStatus(response),
          ...(reason === undefined ? {} : { reason }),
          output: end.output,
        },
      })
      enqueue.assign({
        current: undefined,
        chain: chainAfterResponse(response.id, turn.request.items, end.output),
      })
    }),
    failTurnFromEvent: enqueueActions(({ context, event, enqueue }) => {
      const turn = context.current
      if (turn === undefined) return
      enqueue.emit({ type: "turn.failed", turnId: turn.request.turnId, error: errorFromEvent(event, turn) })
      enqueue.assign({ current: undefined })
    }),
    failTurnFromResponse: enqueueActions(({ context, event, enqueue }) => {
      const turn = context.current
      const response = terminalResponse(event)
      if (turn === undefined || response === undefined) return
      enqueue.emit({
        type: "turn.failed",
        turnId: turn.request.turnId,
        error: errorFromFailedResponse(response, turn),
      })
      enqueue.assign({ current: undefined })
    }),
    failTurnConnectionLost: enqueueActions(({ context, event, enqueue }) => {
      const turn = context.current
      if (turn === undefined) return
      enqueue.emit({
        type: "turn.failed",
        turnId: turn.request.turnId,
        error: connectionLost(turn, socketEnd(event)),
      })
      enqueue.assign({ current: undefined })
    }),
    failOnConnect: enqueueActions(({ context, event, enqueue }) => {
      for (const failure of failuresOfPending(context, connectFailed(socketEnd(event)))) enqueue.emit(failure)
      enqueue.assign(nothingPending)
    }),
    failOnSocketActorError: enqueueActions(({ context, event, enqueue }) => {
      // An xstate.error.actor event carries what the actor threw; xstate.done.actor nothing.
      const cause = (event as { readonly error?: unknown }).error ?? "the socket actor ended"
      for (const failure of failuresOfPending(context, socketActorFailed(context, cause)))
        enqueue.emit(failure)
      enqueue.assign({ ...nothingPending, chain: undefined })
    }),
    dropCurrent: assign({ current: undefined }),
    failTurnTimeout: enqueueActions(({ context, enqueue }, params: { readonly phase: TimeoutPhase }) => {
      const turn = context.current
      if (turn === undefined) return
      // A cancelled turn has had its end already; it is only dropped.
      if (!turn.cancelRequested) {
        enqueue.emit({
          type: "turn.failed",
          turnId: turn.request.turnId,
          error: turnTimedOut(context, turn, params.phase),
        })
      }
      enqueue.assign({ current: undefined })
    }),
    failWarmupTimeout: enqueueActions(({ context, enqueue }) => {
      const timeoutMs = context.responseCreatedTimeoutMs
      enqueue.emit({
        type: "prewarm.failed",
        error: {
          reason: { _tag: "Timeout", phase: "response_created", timeoutMs },
          message: `The warmup response did not end within ${timeoutMs} ms; the socket is replaced`,
          retryable: true,
        },
      })
      enqueue.assign({ warming: undefined })
    }),
    noteForeignEvent: enqueueActions(({ event, enqueue }) => {
      enqueue.emit({
        type: "notice",
        message: `Skipped an event of response ${responseIdOf(event) ?? "?"}, which is not the current turn's`,
      })
    }),

    cancelUnsent: enqueueActions(({ context, enqueue }) => {
      const turn = context.current
      if (turn === undefined) return
      enqueue.emit({ type: "turn.chunk", turnId: turn.request.turnId, chunk: cancelledEnd(turn) })
      enqueue.assign({ current: undefined })
    }),
    requestCancel: enqueueActions(({ context, enqueue }) => {
      const turn = context.current
      if (turn === undefined) return
      enqueue.emit({ type: "turn.chunk", turnId: turn.request.turnId, chunk: cancelledEnd(turn) })
      enqueue.assign({ current: { ...turn, cancelRequested: true } })
    }),
    emitCancelledEnd: enqueueActions(({ context, enqueue }) => {
      const turn = context.current
      if (turn === undefined) return
      enqueue.emit({ type: "turn.chunk", turnId: turn.request.turnId, chunk: cancelledEnd(turn) })
    }),
    sendCancelAndDrain: enqueueActions(({ context, event, enqueue }) => {
      const turn = context.current
      if (turn === undefined) return
      const server = serverEvent(event)
      const responseId =
        server?.type === "response.created" ? server.response.id : (turn.progress.responseId as string)
      enqueue.sendTo("socket", {
        type: "SEND",
        event: ClientEvents.responsesCancel(responseId),
      } satisfies ResponsesSocketCommand)
      enqueue.assign({ current: undefined, draining: { responseId, sent: turn.request.items } })
    }),
    chainFromDrained: enqueueActions(({ context, event, enqueue }) => {
      const response = terminalResponse(event)
      const drained = context.draining
      if (response === undefined || drained === undefined) return
      const confirmed = response.status !== "failed" && serverEvent(event)?.type !== "response.failed"
      enqueue.assign({
        draining: undefined,
        chain: confirmed
          ? chainAfterResponse(response.id, drained.sent, finishProgress(emptyProgress, response).output)
          : undefined,
      })
    }),
    abandonDrain: enqueueActions(({ enqueue }) => {
      enqueue.emit({
        type: "notice",
        message: "A cancelled response did not end in time; replacing the socket",
      })
      enqueue.assign({ draining: undefined, chain: undefined })
    }),
    clearDrain: assign({ draining: undefined, chain: undefined }),

    sendWarmup: enqueueActions(({ context, enqueue }) => {
      const warmup = context.warmup
      if (warmup === undefined) return
      const sent =
        warmup.instructions === undefined
          ? []
          : [trustedChatItem({ type: "message", role: "system", content: warmup.instructions })]
      const event = ClientEvents.responsesCreate({
        ...warmup.params,
        input: toResponsesInput(sent, { developerRole: warmup.developerRole }),
        generate: false,
      })
      enqueue.sendTo("socket", { type: "SEND", event } satisfies ResponsesSocketCommand)
      enqueue.assign({ warmup: undefined, warming: { sent, responseId: undefined } })
    }),
    recordWarmupId: assign(({ context, event }) => {
      const server = serverEvent(event)
      if (server?.type !== "response.created" || context.warming === undefined) return {}
      return { warming: { ...context.warming, responseId: server.response.id } }
    }),
    finishWarmup: enqueueActions(({ context, event, enqueue }) => {
      const response = terminalResponse(event)
      const warming = context.warming
      if (response === undefined || warming === undefined) return
      if (response.status === "failed" || serverEvent(event)?.type === "response.failed") {
        enqueue.emit({
          type: "prewarm.failed",
          error: serverFailure({
            code: response.error?.code ?? undefined,
            message: response.error?.message ?? "The warmup response failed",
          }),
        })
        enqueue.assign({ warming: undefined })
        return
      }
      enqueue.emit({ type: "prewarm.done", responseId: response.id })
      enqueue.assign({ warming: undefined, chain: chainAfterResponse(response.id, warming.sent, []) })
    }),
    failWarmupFromEvent: enqueueActions(({ event, enqueue }) => {
      enqueue.emit({ type: "prewarm.failed", error: errorFromEvent(event, undefined) })
      enqueue.assign({ warming: undefined })
    }),
    failWarmupConnectionLost: enqueueActions(({ event, enqueue }) => {
      const end = socketEnd(event)
      enqueue.emit({
        type: "prewarm.failed",
        error: {
          reason: { _tag: "ConnectionLost", afterOutput: false },
          message: `The connection was lost during the warmup: ${end?.message ?? "the socket closed"}`,
          retryable: true,
        },
      })
      enqueue.assign({ warming: undefined })
    }),
    finishConnectOnlyWarmup: enqueueActions(({ context, enqueue }) => {
      enqueue.emit({ type: "prewarm.done", responseId: context.chain?.responseId })
      enqueue.assign({ warmup: undefined })
    }),

    noteStrayEvent: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, "SERVER.ERROR")
      enqueue.emit({
        type: "notice",
        message: `Server error while no turn was waiting: ${event.message} (${event.code ?? "no code"})`,
      })
    }),
    noteProtocolError: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, "SOCKET.PROTOCOL_ERROR")
      enqueue.emit({ type: "notice", message: `Skipped an undecodable server frame: ${event.message}` })
    }),
    failEverything: enqueueActions(({ context, enqueue }) => {
      for (const failure of failuresOfPending(context, closedError())) enqueue.emit(failure)
      enqueue.assign(nothingPending)
    }),
  },
}).createMachine({
  id: "responsesChain",
  context: ({ input }) => ({
    store: input.store ?? false,
    whenBusy: input.whenBusy ?? "queue",
    rotateAfterMs: input.rotateAfterMs ?? DEFAULT_ROTATE_AFTER_MS,
    drainTimeoutMs: input.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
    responseCreatedTimeoutMs: input.responseCreatedTimeoutMs ?? DEFAULT_RESPONSE_CREATED_TIMEOUT_MS,
    firstOutputTimeoutMs: input.firstOutputTimeoutMs ?? DEFAULT_FIRST_OUTPUT_TIMEOUT_MS,
    eventGapTimeoutMs: input.eventGapTimeoutMs ?? DEFAULT_EVENT_GAP_TIMEOUT_MS,
    rateLimitMaxWaitMs: input.rateLimitMaxWaitMs ?? DEFAULT_RATE_LIMIT_MAX_WAIT_MS,
    rateLimitWaitMs: input.rateLimitWaitMs ?? DEFAULT_RATE_LIMIT_WAIT_MS,
    backoffMs: 0,
    generation: 0,
    aged: false,
    chain: undefined,
    queue: [],
    current: undefined,
    warmup: undefined,
    warming: undefined,
    draining: undefined,
  }),
  initial: "disconnected",
  on: {
    CHAT: { actions: "enqueueOrReject" },
    CANCEL: { guard: "isQueuedTurn", actions: "cancelQueued" },
    PREWARM: { actions: "setWarmup" },
    CLOSE: { target: ".closed", actions: "failEverything" },
    "SOCKET.PROTOCOL_ERROR": { actions: "noteProtocolError" },
  },
  states: {
    disconnected: {
      description: "No socket. Work (a turn, a retry, a prewarm) opens one.",
      always: { guard: "hasWork", target: "online" },
      on: {
        CANCEL: { guard: "isLiveCurrentTurn", actions: "cancelUnsent" },
      },
    },
    online: {
      description: "One socket: its handshake, then its responses, one at a time.",
      entry: "nextGeneration",
      invoke: {
        id: "socket",
        src: "socket",
        input: ({ context }) => ({ generation: context.generation }),
        // The actor reports a socket's end with SOCKET.FAILED; ending or throwing on its own is a
        // defect: everything pending fails (not retried, which would only meet the defect again).
        onDone: { target: "#responsesChain.disconnected", actions: "failOnSocketActorError" },
        onError: { target: "#responsesChain.disconnected", actions: "failOnSocketActorError" },
      },
      initial: "connecting",
      states: {
        connecting: {
          description: "Waiting for the WebSocket handshake.",
          on: {
            "SOCKET.OPEN": { target: "ready", actions: "announceOpen" },
            "SOCKET.FAILED": { target: "#responsesChain.disconnected", actions: "failOnConnect" },
            CANCEL: { guard: "isLiveCurrentTurn", actions: "cancelUnsent" },
          },
        },
        ready: {
          description: "The socket is open.",
          initial: "dispatching",
          after: {
            // Targetless: the timer runs once per socket, whatever happens inside `ready`.
            rotateAfter: { actions: "markAged" },
          },
          states: {
            dispatching: {
              description:
                "Between responses: resend a recovering turn, warm up, rotate, or start the next turn.",
              always: [
                { guard: "currentAwaitsSend", target: "turn" },
                { guard: "warmupNeedsRequest", target: "warming" },
                {
                  guard: "hasWarmup",
                  actions: "finishConnectOnlyWarmup",
                  target: "dispatching",
                  reenter: true,
                },
                { guard: "isOld", target: "#responsesChain.online", reenter: true },
                { guard: "hasQueued", actions: "startNextTurn", target: "turn" },
                { target: "idle" },
              ],
            },
            idle: {
              description: "Open, nothing in flight.",
              always: [
                { guard: "hasWork", target: "dispatching" },
                { guard: "isOld", target: "#responsesChain.online", reenter: true },
              ],
              on: {
                "SERVER.ERROR": { actions: "noteStrayEvent" },
                "SOCKET.FAILED": { target: "#responsesChain.disconnected" },
              },
            },
            warming: {
              description: "A generate:false request is seeding the chain.",
              entry: "sendWarmup",
              after: {
                responseCreatedTimeout: {
                  actions: "failWarmupTimeout",
                  target: "#responsesChain.disconnected",
                },
              },
              on: {
                "SERVER.RESPONSE_CREATED": { actions: "recordWarmupId" },
                "SERVER.RESPONSE_DONE": {
                  guard: "isWarmupEnd",
                  actions: "finishWarmup",
                  target: "dispatching",
                },
                "SERVER.ERROR": [
                  {
                    // A failure after the warmup response exists: whether it is over is unknown,
                    // so the socket is replaced rather than risk a second response in flight.
                    guard: "warmupCreated",
                    actions: "failWarmupFromEvent",
                    target: "#responsesChain.disconnected",
                  },
                  { actions: "failWarmupFromEvent", target: "dispatching" },
                ],
                "SOCKET.FAILED": {
                  target: "#responsesChain.disconnected",
                  actions: "failWarmupConnectionLost",
                },
              },
            },
            turn: {
              description: "One response of the current turn: sent, then streamed to the caller.",
              initial: "awaitingCreated",
              states: {
                awaitingCreated: {
                  description: "response.create sent; waiting for the response id.",
                  entry: "sendTurn",
                  after: {
                    // Unanswered: whatever comes late must not reach the next turn, so the socket goes.
                    responseCreatedTimeout: {
                      actions: { type: "failTurnTimeout", params: { phase: "response_created" } },
                      target: "#responsesChain.disconnected",
                    },
                  },
                  on: {
                    "SERVER.RESPONSE_CREATED": [
                      {
                        guard: "cancelRequested",
                        actions: "sendCancelAndDrain",
                        target: "#responsesChain.online.ready.draining",
                      },
                      { actions: "recordCreated", target: "streaming" },
                    ],
                    "SERVER.ERROR": [
                      {
                        guard: and(["isPreviousNotFound", "cancelRequested"]),
                        actions: ["resetChain", "dropCurrent"],
                        target: "#responsesChain.online.ready.dispatching",
                      },
                      {
                        guard: and(["isConnectionLimit", "cancelRequested"]),
                        actions: "dropCurrent",
                        target: "#responsesChain.disconnected",
                      },
                      {
                        guard: "cancelRequested",
                        actions: "dropCurrent",
                        target: "#responsesChain.online.ready.dispatching",
                      },
                      {
                        guard: and(["isPreviousNotFound", "canRecover"]),
                        actions: ["resetChain", "markRecovery"],
                        target: "#responsesChain.online.ready.dispatching",
                      },
                      {
                        guard: and(["isConnectionLimit", "canRecover"]),
                        actions: "markRecovery",
                        target: "#responsesChain.online",
                        reenter: true,
                      },
                      {
                        guard: "isPreviousNotFound",
                        actions: ["resetChain", "failTurnFromEvent"],
                        target: "#responsesChain.disconnected",
                      },
                      {
                        guard: "isConnectionLimit",
                        actions: "failTurnFromEvent",
                        target: "#responsesChain.disconnected",
                      },
                      {
                        guard: and(["isRateLimited", "canRecover", "rateLimitRetryAllowed"]),
                        actions: "scheduleRateLimitRetry",
                        target: "#responsesChain.online.ready.backingOff",
                      },
                      {
                        actions: "failTurnFromEvent",
                        target: "#responsesChain.online.ready.dispatching",
                      },
                    ],
                    "SOCKET.FAILED": [
                      {
                        guard: "cancelRequested",
                        actions: "dropCurrent",
                        target: "#responsesChain.disconnected",
                      },
                      {
                        guard: "canRecover",
                        actions: "markRecovery",
                        target: "#responsesChain.online",
                        reenter: true,
                      },
                      { actions: "failTurnConnectionLost", target: "#responsesChain.disconnected" },
                    ],
                    CANCEL: { guard: "isLiveCurrentTurn", actions: "requestCancel" },
                  },
                },
                streaming: {
                  description: "Handing text deltas and tool calls to the caller.",
                  initial: "awaitingOutput",
                  states: {
                    awaitingOutput: {
                      description: "response.created arrived; waiting for the response's first output.",
                      after: {
                        firstOutputTimeout: {
                          actions: { type: "failTurnTimeout", params: { phase: "first_output" } },
                          target: "#responsesChain.disconnected",
                        },
                      },
                    },
                    producing: {
                      description: "Output is flowing; each event of the response restarts the wait.",
                      after: {
                        eventGapTimeout: {
                          actions: { type: "failTurnTimeout", params: { phase: "between_events" } },
                          target: "#responsesChain.disconnected",
                        },
                      },
                    },
                  },
                  on: {
                    "SERVER.RESPONSE_DONE": [
                      { guard: "isForeignResponse", actions: "noteForeignEvent" },
                      {
                        guard: "isOwnFailure",
                        actions: ["failTurnFromResponse", "resetChain"],
                        target: "#responsesChain.online.ready.dispatching",
                      },
                      {
                        guard: "isOwnTerminal",
                        actions: "finishTurn",
                        target: "#responsesChain.online.ready.dispatching",
                      },
                      { actions: "advanceTurn" },
                    ],
                    "SERVER.ERROR": [
                      {
                        guard: and(["isConnectionLimit", "canRecoverBeforeOutput"]),
                        actions: "markRecovery",
                        target: "#responsesChain.online",
                        reenter: true,
                      },
                      {
                        actions: ["failTurnFromEvent", "resetChain"],
                        target: "#responsesChain.disconnected",
                      },
                    ],
                    "SERVER.RESPONSE_CREATED": [
                      { guard: "isForeignResponse", actions: "noteForeignEvent" },
                      {
                        actions: "advanceTurn",
                        target: "#responsesChain.online.ready.turn.streaming.producing",
                        reenter: true,
                      },
                    ],
                    "SERVER.RESPONSE_OUTPUT": [
                      {
                        guard: "isResponseProgress",
                        actions: "advanceTurn",
                        target: "#responsesChain.online.ready.turn.streaming.producing",
                        reenter: true,
                      },
                      // Anything else (an unknown event) is no answer to what is owed: the wait goes on.
                      { actions: "advanceTurn" },
                    ],
                    "SOCKET.FAILED": [
                      {
                        guard: "canRecoverBeforeOutput",
                        actions: "markRecovery",
                        target: "#responsesChain.online",
                        reenter: true,
                      },
                      { actions: "failTurnConnectionLost", target: "#responsesChain.disconnected" },
                    ],
                    CANCEL: {
                      guard: "isLiveCurrentTurn",
                      actions: ["emitCancelledEnd", "sendCancelAndDrain"],
                      target: "#responsesChain.online.ready.draining",
                    },
                  },
                },
              },
            },
            backingOff: {
              description:
                "A request was refused for a rate limit: waiting the delay the service asked for (at most rateLimitMaxWaitMs) before the turn's one retry.",
              after: {
                rateLimitBackoff: { target: "dispatching" },
              },
              on: {
                // Nothing is in flight: a cancel ends the turn without a word to the server.
                CANCEL: { guard: "isLiveCurrentTurn", actions: "cancelUnsent", target: "dispatching" },
                "SERVER.ERROR": { actions: "noteStrayEvent" },
                "SOCKET.FAILED": { target: "#responsesChain.disconnected" },
              },
            },
            draining: {
              description: "A cancelled response is still running: its events are dropped until it ends.",
              after: {
                drainTimeout: { actions: "abandonDrain", target: "#responsesChain.disconnected" },
              },
              on: {
                "SERVER.RESPONSE_DONE": {
                  guard: "isDrainedEnd",
                  actions: "chainFromDrained",
                  target: "dispatching",
                },
                "SOCKET.FAILED": { actions: "clearDrain", target: "#responsesChain.disconnected" },
              },
            },
          },
        },
      },
    },
    closed: {
      type: "final",
      description: "Closed by the user; every pending turn failed with Closed.",
    },
  },
})

/** The type of {@link responsesChainMachine}. */
export type ResponsesChainMachine = typeof responsesChainMachine
