import { type Context, Redacted } from "effect"
import { type Actor, createActor } from "xstate"
import {
  type ChainTurnRequest,
  DEFAULT_EVENT_GAP_TIMEOUT_MS,
  type PrewarmRequest,
  type ResponsesChainEmitted,
  type ResponsesChainInput,
  type ResponsesChainMachine,
  responsesChainMachine,
} from "../../machines/responses/responsesChain.ts"
import { decodeSnapshot, makeSnapshot, type SessionSnapshot } from "../persist/snapshot.ts"
import { makeSessionRuntime, rootActorOptions, type SessionRuntime } from "../runtime/SessionRuntime.ts"
import {
  authHeaders,
  type OpenAIConfig,
  type RealtimeSocket,
  type RealtimeSocketConnectOptions,
  resolveOpenAIConfig,
  responsesUrl,
  secretOf,
} from "../transport/index.ts"
import { liveSocketContext } from "../transport/recording.ts"
import { ChatContext, type ChatItem, type ChatItemInput, chatItemsOf } from "./ChatContext.ts"
import { createChatStream, failedChatStream } from "./ChatStream.ts"
import type { ChatStream, LLM, PrewarmOptions } from "./contract.ts"
import { closedError, fromChainFailure, isLLMError, LLMError } from "./LLMError.ts"
import {
  type ChatOptions,
  type LLMOptions,
  resolveTransportLLMOptions,
  responsesParams,
  toolNamesOf,
} from "./options.ts"
import { createTurnLanes, makeResponsesSocketActor, type TurnLanes } from "./responsesSocket.ts"

/**
 * The Responses API over a WebSocket: the chain machine run with a real socket actor on an
 * Effect runtime, behind the plain `LLM` API.
 * @module
 */

/** Options of the WebSocket transport. Times in milliseconds. */
export interface ResponsesLLMOptions extends LLMOptions {
  /** What `chat()` does while a turn is in flight: queue behind it (default) or fail with `Busy`. */
  readonly whenBusy?: "queue" | "reject"
  /** Socket age after which it is replaced at an idle moment; default 55 minutes. */
  readonly rotateAfterMs?: number
  /** Longest wait for a cancelled response to end; default 5 000. */
  readonly drainTimeoutMs?: number
  /** WebSocket handshake deadline; default 10 000. */
  readonly connectTimeoutMs?: number
  /** Longest wait from `response.create` to `response.created`; default 15 000 (`Timeout`, `response_created`). */
  readonly responseCreatedTimeoutMs?: number
  /** Time between heartbeat pings; default 15 000; 0 turns the heartbeat off. */
  readonly heartbeatIntervalMs?: number
  /**
   * Wait for a pong (or any frame) after a ping; default 10 000. A half-open socket is found
   * within `heartbeatIntervalMs + heartbeatTimeoutMs`.
   */
  readonly heartbeatTimeoutMs?: number
  /**
   * The Effect services the socket runs with (default: the live `RealtimeSocket`). Tests pass
   * a context holding a `TestClock` to move the machine's delays with `TestClock.adjust`.
   */
  readonly context?: Context.Context<RealtimeSocket>
  /**
   * A folder to record every frame this session's sockets send and receive into, as one JSONL
   * file (credentials stripped); `false` records nothing. Default: `VOXSTATE_RECORD` (from `env`, else the process environment).
   * Ignored when `context` is given (record with `recordingSocket` there).
   */
  readonly record?: string | false
}

const withQuery = (url: string, query: Readonly<Record<string, string>> | undefined): string => {
  if (query === undefined || Object.keys(query).length === 0) return url
  const parsed = new URL(url)
  for (const [key, value] of Object.entries(query)) parsed.searchParams.set(key, value)
  return parsed.toString()
}

const stoppedError = (): LLMError =>
  new LLMError({
    reason: { _tag: "Closed" },
    message: "The chain actor has stopped (see the error its open streams failed with)",
    retryable: false,
  })

let turnCounter = 0

/** The chain machine with its live `socket` actor, as actor logic to run as a root or a child. */
export type ResponsesChainLogic = ReturnType<typeof responsesChainMachine.provide>

/**
 * The chain machine of an LLM, ready to be invoked or spawned by a parent machine (or started
 * as a root actor, which is what `createLLM` does): the logic, the input to give it, and the
 * builders of the events it takes. Its `socket` actor runs on `runtime`, so a parent whose
 * actor uses `runtime.clock` runs every child on one clock.
 */
export interface ResponsesChainParts {
  /** The provided machine (`invoke: { src: parts.logic, input: parts.input }`). */
  readonly logic: ResponsesChainLogic
  readonly input: ResponsesChainInput
  /** The model (or Azure deployment) the requests name. */
  readonly model: string
  /**
   * Where the socket hands a turn's text straight to its stream (the facade's; a parent reads
   * `turn.chunk` events and opens none).
   * @internal
   */
  readonly lanes: TurnLanes
  /**
   * The request of one turn over `context`, for a `CHAT` event (`{ type: "CHAT", request }`).
   * @throws {LLMError} `InvalidRequest` for a malformed item.
   */
  request(
    context: ChatContext | readonly (ChatItemInput | ChatItem)[],
    options?: ChatOptions,
    turnId?: string,
  ): ChainTurnRequest
  /** The request of a prewarm, for a `PREWARM` event. */
  prewarmRequest(options?: PrewarmOptions): PrewarmRequest
}

/** The Responses chain as actor logic (see {@link ResponsesChainParts}). */
export const ResponsesChain = {
  /**
   * The provided chain machine on `runtime` (its services: `RealtimeSocket`, the clock).
   * @throws {OpenAIConfigError} when no credentials can be found.
   */
  logic: (
    runtime: SessionRuntime<RealtimeSocket>,
    options: ResponsesLLMOptions = {},
  ): ResponsesChainParts => {
    const config: OpenAIConfig = resolveOpenAIConfig(options.openai, options.env)
    const resolved = resolveTransportLLMOptions(options, "websocket", config)
    const connectOptions = (): RealtimeSocketConnectOptions => ({
      url: withQuery(responsesUrl(config), options.extraQuery),
      headers: { ...authHeaders(config), ...(options.extraHeaders ?? {}) },
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
      ...(options.heartbeatIntervalMs === undefined
        ? {}
        : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
      ...(options.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: options.heartbeatTimeoutMs }),
    })
    const lanes = createTurnLanes(options.eventGapTimeoutMs ?? DEFAULT_EVENT_GAP_TIMEOUT_MS)
    const logic = responsesChainMachine.provide({
      actors: { socket: makeResponsesSocketActor(runtime, connectOptions, lanes) },
    })
    const input: ResponsesChainInput = {
      store: resolved.store ?? false,
      ...(options.whenBusy === undefined ? {} : { whenBusy: options.whenBusy }),
      ...(options.rotateAfterMs === undefined ? {} : { rotateAfterMs: options.rotateAfterMs }),
      ...(options.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: options.drainTimeoutMs }),
      ...(options.responseCreatedTimeoutMs === undefined
        ? {}
        : { responseCreatedTimeoutMs: options.responseCreatedTimeoutMs }),
      ...(options.firstOutputTimeoutMs === undefined
        ? {}
        : { firstOutputTimeoutMs: options.firstOutputTimeoutMs }),
      ...(options.eventGapTimeoutMs === undefined ? {} : { eventGapTimeoutMs: options.eventGapTimeoutMs }),
      ...(options.rateLimitMaxWaitMs === undefined ? {} : { rateLimitMaxWaitMs: options.rateLimitMaxWaitMs }),
      ...(options.rateLimitWaitMs === undefined ? {} : { rateLimitWaitMs: options.rateLimitWaitMs }),
    }
    return {
      logic,
      input,
      model: resolved.model,
      lanes,
      request: (context, chatOptions = {}, turnId = `turn_${++turnCounter}`) => ({
        turnId,
        items: chatItemsOf(context),
        params: responsesParams(resolved, chatOptions),
        developerRole: resolved.reasoningModel,
      }),
      prewarmRequest: (prewarmOptions = {}) => ({
        params: responsesParams(
          resolved,
          prewarmOptions.tools === undefined ? {} : { tools: prewarmOptions.tools },
        ),
        ...(prewarmOptions.instructions === undefined ? {} : { instructions: prewarmOptions.instructions }),
        developerRole: resolved.reasoningModel,
      }),
    }
  },
} as const

/** What an LLM snapshot keeps beside the chain machine's persisted snapshot. */
export interface LLMSnapshotData {
  readonly model: string
  /**
   * The conversation as the chain last held it: the last finished turn's context and its
   * output, or the context of the turn in flight (what the caller said is never dropped).
   */
  readonly context: readonly ChatItem[]
  /** A turn was in flight: its answer did not arrive and is asked for again by the next `chat`. */
  readonly turnInFlight: boolean
  /** Turns finished so far. */
  readonly turns: number
}

/** A snapshot of the WebSocket-transport LLM (see {@link ResponsesLLM.persist}). */
export type LLMSnapshot = SessionSnapshot<"llm", LLMSnapshotData>

/** The WebSocket-transport LLM: the `LLM` contract, its conversation so far, and `persist`. */
export interface ResponsesLLM extends LLM {
  readonly transport: "websocket"
  /** The conversation the chain holds (see {@link LLMSnapshotData.context}). */
  readonly context: ChatContext
  /** The LLM as a JSON value for {@link resumeLLM}; never the credential. */
  persist(): LLMSnapshot
}

/**
 * Creates the WebSocket-transport LLM (see `createLLM`): {@link ResponsesChain.logic} started
 * as a root actor on its own runtime. Nothing connects until the first `chat()` or `prewarm()`.
 * @throws {OpenAIConfigError} when no credentials can be found.
 */
export const createResponsesLLM = (
  options: ResponsesLLMOptions = {},
  resume?: LLMSnapshotData,
): ResponsesLLM => {
  const runtime: SessionRuntime<RealtimeSocket> = makeSessionRuntime(
    options.context ?? liveSocketContext("llm", options),
    { inspect: options.inspect },
  )
  const chain = ResponsesChain.logic(runtime, options)
  const actor: Actor<ResponsesChainMachine> = createActor(chain.logic, {
    ...rootActorOptions(runtime),
    input: chain.input,
  })

  // Streams still open, failed together if the actor itself fails (a bug, never a server error).
  const open = new Map<string, (error: LLMError) => void>()
  actor.subscribe({
    error: (error) => {
      const failure = isLLMError(error)
        ? error
        : new LLMError({
            reason: { _tag: "Closed" },
            message: `The chain actor stopped: ${error instanceof Error ? error.message : String(error)}`,
            retryable: false,
          })
      for (const fail of [...open.values()]) fail(failure)
    },
  })
  actor.start()
  let closing: Promise<void> | undefined
  let held: readonly ChatItem[] = resume?.context ?? []
  let inFlight = 0
  let turns = resume?.turns ?? 0

  const chat = (
    context: ChatContext | readonly (ChatItemInput | ChatItem)[],
    chatOptions: ChatOptions = {},
  ): ChatStream => {
    const turnId = `turn_${++turnCounter}`
    if (closing !== undefined) return failedChatStream(turnId, closedError())
    // A stopped actor takes no events: a turn sent to it would wait forever.
    if (actor.getSnapshot().status !== "active") return failedChatStream(turnId, stoppedError())
    let request: ChainTurnRequest
    try {
      request = chain.request(context, chatOptions, turnId)
    } catch (error) {
      if (isLLMError(error)) return failedChatStream(turnId, error)
      throw error
    }
    const signal = chatOptions.signal
    const onAbort = (): void => stream.cancel()
    held = request.items
    inFlight++
    let settled = false
    const settle = (): void => {
      if (settled) return
      settled = true
      inFlight--
    }
    const subscription = actor.on("*", (event: ResponsesChainEmitted) => {
      if (!("turnId" in event) || event.turnId !== turnId) return
      if (event.type === "turn.chunk") {
        if (event.chunk.type === "end") {
          settle()
          turns++
          held = [...request.items, ...event.chunk.output]
        }
        sink.push(event.chunk)
      } else if (event.type === "turn.failed") {
        settle()
        sink.fail(fromChainFailure(event.error))
      }
    })
    // Once the turn streams, its text comes from the socket's edge straight to the sink.
    const closeLane = chain.lanes.open(turnId, (chunk) => sink.push(chunk))
    const { stream, sink } = createChatStream(
      turnId,
      {
        cancel: () => {
          // The machine must know the text handed out so far: the cancelled end carries it.
          chain.lanes.flush()
          actor.send({ type: "CANCEL", turnId })
        },
        detach: () => {
          closeLane()
          settle()
          subscription.unsubscribe()
          signal?.removeEventListener("abort", onAbort)
          open.delete(turnId)
        },
      },
      { toolNames: toolNamesOf(chatOptions.tools ?? options.tools) },
    )
    open.set(turnId, (error) => sink.fail(error))
    actor.send({ type: "CHAT", request })
    if (signal?.aborted === true) stream.cancel()
    else signal?.addEventListener("abort", onAbort, { once: true })
    return stream
  }

  const prewarm = (prewarmOptions: PrewarmOptions = {}): Promise<string | undefined> => {
    if (closing !== undefined) return Promise.reject(closedError())
    if (actor.getSnapshot().status !== "active") return Promise.reject(stoppedError())
    return new Promise<string | undefined>((resolve, reject) => {
      const done = actor.on("prewarm.done", (event) => {
        done.unsubscribe()
        failed.unsubscribe()
        resolve(event.responseId)
      })
      const failed = actor.on("prewarm.failed", (event) => {
        done.unsubscribe()
        failed.unsubscribe()
        reject(fromChainFailure(event.error))
      })
      actor.send({ type: "PREWARM", request: chain.prewarmRequest(prewarmOptions) })
    })
  }

  const close = (): Promise<void> => {
    closing ??= (async () => {
      actor.send({ type: "CLOSE" })
      actor.stop()
      await runtime.shutdown()
    })()
    return closing
  }

  const secrets = [Redacted.value(secretOf(resolveOpenAIConfig(options.openai, options.env)))]
  const persist = (): LLMSnapshot =>
    makeSnapshot(
      "llm",
      {
        savedAtMs: runtime.now(),
        machine: actor.getPersistedSnapshot(),
        data: { model: chain.model, context: held, turnInFlight: inFlight > 0, turns },
      },
      secrets,
    )

  return {
    transport: "websocket",
    model: chain.model,
    chat,
    prewarm,
    close,
    actor,
    persist,
    get context() {
      return new ChatContext(held)
    },
  }
}

/**
 * Continues a persisted LLM in this or another process: a new socket and a fresh chain, so
 * the next `chat` sends its whole context once and the turns after it are chained again.
 * `context` holds the conversation the snapshot kept (give it, plus what is new, to `chat`).
 * The model comes from the snapshot unless `options.model` is given; the credential from
 * `options` or the environment.
 * @throws {SnapshotError} for a snapshot of another version or kind, or a malformed one
 * @throws {OpenAIConfigError} when no credentials can be found
 */
export const resumeLLM = (snapshot: unknown, options: ResponsesLLMOptions = {}): ResponsesLLM => {
  const decoded = decodeSnapshot(snapshot, "llm") as LLMSnapshot
  return createResponsesLLM({ ...options, model: options.model ?? decoded.data.model }, decoded.data)
}
