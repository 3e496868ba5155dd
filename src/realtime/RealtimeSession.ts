/**
 * The Realtime speech-to-speech session: a spoken conversation with a model over the GA
 * Realtime WebSocket (`/v1/realtime?model=...`). Push audio of any rate and channel count,
 * send text, ask for responses, answer tool calls, interrupt at what was heard; read
 * {@link RealtimeSessionEvent}s. Runs `realtimeSessionMachine` with its live `socket` actor;
 * reconnects and re-creates the conversation from its mirror.
 *
 * ```ts
 * const session = createRealtimeSession({ instructions: "Be brief.", tools: [weather] })
 * session.sendText("What is the weather in Paris?")
 * session.createResponse()
 * for await (const event of session) if (event.type === "audio") play(event.frame)
 * ```
 * @module
 */
import { randomUUID } from "node:crypto"
import { type Context, Effect, Option, Redacted, type Scope, type Tracer } from "effect"
import { type Actor, createActor, type InspectionEvent, type Observer } from "xstate"
import type { LifecycleTimeouts, ReconnectPolicy } from "../../machines/lifecycle/sessionLifecycle.ts"
import { planChatContext } from "../../machines/realtime/chatContextPlan.ts"
import { mirrorChatItems } from "../../machines/realtime/conversationMirror.ts"
import {
  type DuplicateCreatePolicy,
  type RealtimeEvent,
  type RealtimeRestore,
  type RealtimeSessionContext,
  type RealtimeSessionInput,
  type RealtimeSettings,
  type RealtimeTurnDetection,
  type ResponseRequest,
  type ResponseTimeouts,
  realtimeSessionMachine,
  restoreOf,
} from "../../machines/realtime/realtimeSession.ts"
import { type AudioFrame, base64ToPcm16, makeAudioFrame, pcm16ToBase64 } from "../audio/index.ts"
import { ChatContext, type ChatItem, type ChatItemInput } from "../llm/ChatContext.ts"
import type { FunctionTool, ToolChoice } from "../llm/tools.ts"
import { decodeSnapshot, makeSnapshot, type SessionSnapshot } from "../persist/snapshot.ts"
import { REALTIME_SAMPLE_RATE_HZ, REALTIME_SAMPLES_PER_MS } from "../protocol/index.ts"
import { createChannel } from "../runtime/channel.ts"
import { makeSessionRuntime, rootActorOptions, type SessionRuntime } from "../runtime/SessionRuntime.ts"
import { type AudioInput, createAudioInput } from "../stt/audioInput.ts"
import { type ResponseTrace, traceResponse } from "../telemetry/realtimeSpans.ts"
import {
  loadOpenAIConfig,
  type OpenAIConfig,
  type OpenAIConfigError,
  type OpenAIConfigOptions,
  type RealtimeSocket,
  resolveOpenAIConfig,
  secretOf,
} from "../transport/index.ts"
import { liveSocketContext } from "../transport/recording.ts"
import { RealtimeError, realtimeError } from "./RealtimeError.ts"
import { type InputProgress, makeRealtimeSocketActor } from "./realtimeActors.ts"

export type {
  DuplicateCreatePolicy,
  RealtimeSettings,
  RealtimeTurnDetection,
  ResponseMetrics,
  ResponseRequest,
  ResponseTimeouts,
} from "../../machines/realtime/realtimeSession.ts"

/** What a session tells its user: the machine's events, with audio as 20 ms 24 kHz mono frames. */
export type RealtimeSessionEvent =
  | Exclude<RealtimeEvent, { readonly type: "audio" | "function_call" }>
  | {
      readonly type: "audio"
      readonly responseId: string
      readonly itemId: string
      readonly frame: AudioFrame
    }
  | {
      readonly type: "function_call"
      readonly responseId: string
      readonly itemId: string
      readonly callId: string
      readonly name: string
      /** The parsed arguments, or why they do not parse (or do not match the tool). */
      readonly arguments:
        | { readonly ok: true; readonly value: unknown }
        | { readonly ok: false; readonly message: string }
      readonly rawArguments: string
    }

/** Options of {@link createRealtimeSession}. Durations in milliseconds. */
export interface RealtimeSessionOptions {
  /** Default `gpt-realtime`. */
  readonly model?: string
  /**
   * An XState inspection observer (a voxstate inspector's `inspect`); `false`: none even
   * under `VOXSTATE_INSPECT=1`.
   */
  readonly inspect?: Observer<InspectionEvent> | false
  readonly openai?: OpenAIConfigOptions
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly instructions?: string
  readonly voice?: string
  readonly tools?: readonly FunctionTool[]
  readonly toolChoice?: ToolChoice
  /** Default `server_vad` (the server commits turns and starts responses); `null`: manual turns. */
  readonly turnDetection?: RealtimeTurnDetection
  readonly inputTranscription?: RealtimeSettings["inputTranscription"]
  readonly noiseReduction?: RealtimeSettings["noiseReduction"]
  readonly outputModalities?: RealtimeSettings["outputModalities"]
  /**
   * Not sent: the GA Realtime session has no `temperature` (the service refuses it); kept so
   * options written for the beta API still type-check.
   */
  readonly temperature?: number
  readonly maxOutputTokens?: RealtimeSettings["maxOutputTokens"]
  /** What a `createResponse` while one is in flight does (default `cancel_existing`). */
  readonly onDuplicate?: DuplicateCreatePolicy
  readonly reconnect?: Partial<ReconnectPolicy>
  readonly timeouts?: Partial<LifecycleTimeouts> &
    Partial<ResponseTimeouts> & {
      readonly connectMs?: number
      readonly heartbeatIntervalMs?: number
      readonly heartbeatTimeoutMs?: number
    }
  /** Least audio per append (default 40). */
  readonly appendMs?: number
  /** Input audio kept (default 10 000). */
  readonly inputBufferMs?: number
  readonly seed?: number
  /** The tracer `realtime.response` spans are recorded on; default: Effect's native tracer. */
  readonly tracer?: Tracer.Tracer
  /** The span the response spans are children of. */
  readonly traceParent?: Tracer.AnySpan
  /** Puts each response's output transcript on its span (off by default: it is the conversation). */
  readonly traceIncludeSensitiveText?: boolean
  /** The Effect services to run on (default: the live `RealtimeSocket`); tests pass a `TestClock`. */
  readonly context?: Context.Context<RealtimeSocket>
  /**
   * A folder to record every frame this session's sockets send and receive into, as one JSONL
   * file (credentials stripped); `false` records nothing. Default: `VOXSTATE_RECORD` (from `env`, else the process environment).
   * Ignored when `context` is given (record with `recordingSocket` there).
   */
  readonly record?: string | false
}

/** A running Realtime session (see the module documentation). */
export interface RealtimeSession extends AsyncIterable<RealtimeSessionEvent> {
  readonly actor: Actor<RealtimeSessionLogic>
  /**
   * Pushes input audio of any rate and channel count (resampled to 24 kHz mono).
   * @throws {AudioError} for an invalid frame; {@link RealtimeError} `Closed` after the end
   */
  pushFrame(frame: AudioFrame): void
  /** Commits the input audio as a user turn (manual turns). */
  commitAudio(): void
  /** Drops the input audio not committed yet. */
  clearAudio(): void
  /** Adds a user text message to the conversation; returns its item id. */
  sendText(text: string): string
  /** Asks for a response; returns the request's id (the `requestId` of its events). */
  createResponse(options?: ResponseRequest): string
  /** Cancels the response if still generating and truncates the assistant audio at what was heard. */
  interrupt(): void
  /**
   * Answers a function call (a string, or any JSON value, serialized). When the last call of
   * a response is answered, one response follows unless `respond: false`.
   * @throws {RealtimeError} `UnknownToolCall` for a call id the session is not waiting for
   */
  sendToolOutput(callId: string, output: unknown, options?: { readonly respond?: boolean }): void
  /** Changes settings at run time. */
  updateSession(settings: Partial<Omit<RealtimeSessionOptions, "openai" | "env" | "context" | "model">>): void
  /** How many ms of assistant audio item `itemId` the listener has heard. */
  reportPlayback(itemId: string, playedMs: number): void
  /** The mirror of the server's conversation, in server order. */
  readonly chatContext: ChatContext
  /** Makes the server's conversation equal to `context` with the fewest deletes and creates; resolves once acknowledged. */
  setChatContext(context: ChatContext | Iterable<ChatItemInput | ChatItem>): Promise<void>
  close(): Promise<void>
  /**
   * The session as a JSON value to continue from with {@link resumeRealtimeSession}, in this
   * or another process: the conversation mirror, calls waiting for their output, responses
   * asked for and not yet created, the input audio the server has not committed, and the
   * settings. Never the credential.
   */
  persist(): RealtimeSnapshot
  readonly done: Promise<void>
  readonly resources: { readonly fibers: number; readonly timers: number }
}

/** What a Realtime snapshot keeps beside the machine's persisted snapshot. */
export interface RealtimeSnapshotData {
  readonly settings: RealtimeSettings
  readonly onDuplicate: DuplicateCreatePolicy
  readonly restore: RealtimeRestore
  /** Input audio the server had not committed, 24 kHz mono PCM16 as base64. */
  readonly pendingAudio: string
}

/** A snapshot of a Realtime session (see {@link RealtimeSession.persist}). */
export type RealtimeSnapshot = SessionSnapshot<"realtime", RealtimeSnapshotData>

/** The machine with its live socket actor. */
export type RealtimeSessionLogic = ReturnType<typeof realtimeSessionMachine.provide>

/** A Realtime session as parts a parent machine invokes on its runtime. */
export interface RealtimeSessionParts {
  readonly logic: RealtimeSessionLogic
  readonly input: RealtimeSessionInput
  /** The input path: push frames here (never through the actor). */
  readonly audio: AudioInput
  readonly config: OpenAIConfig
  /** The tools offered, by name (to parse a call's arguments). */
  readonly tools: ReadonlyMap<string, FunctionTool>
  /**
   * Where the input audio the server has not committed begins (a sample of `audio.buffer`).
   * @internal
   */
  readonly uncommittedFrom: () => number
}

const DEFAULT_MODEL = "gpt-realtime"

const toolDefinitions = (tools: readonly FunctionTool[] | undefined) =>
  (tools ?? []).map((t) => ({
    name: t.name,
    ...(t.description === undefined ? {} : { description: t.description }),
    parameters: t.parameters,
  }))

const settingsOf = (options: Partial<RealtimeSessionOptions>): Partial<RealtimeSettings> => ({
  ...(options.instructions === undefined ? {} : { instructions: options.instructions }),
  ...(options.voice === undefined ? {} : { voice: options.voice }),
  ...(options.tools === undefined ? {} : { tools: toolDefinitions(options.tools) }),
  ...(options.toolChoice === undefined ? {} : { toolChoice: options.toolChoice }),
  ...(options.turnDetection === undefined ? {} : { turnDetection: options.turnDetection }),
  ...(options.inputTranscription === undefined ? {} : { inputTranscription: options.inputTranscription }),
  ...(options.noiseReduction === undefined ? {} : { noiseReduction: options.noiseReduction }),
  ...(options.outputModalities === undefined ? {} : { outputModalities: options.outputModalities }),
  ...(options.maxOutputTokens === undefined ? {} : { maxOutputTokens: options.maxOutputTokens }),
})

/** A client item id the service accepts (at most 32 characters). */
const newClientItemId = (): string => `item_${randomUUID().replaceAll("-", "").slice(0, 24)}`

const partsOf = (
  options: Omit<RealtimeSessionOptions, "context">,
  runtime: SessionRuntime<RealtimeSocket>,
  resume?: RealtimeSnapshotData,
): RealtimeSessionParts => {
  const config = resolveOpenAIConfig(options.openai ?? {}, options.env ?? process.env)
  const model = options.model ?? resume?.settings.model ?? DEFAULT_MODEL
  const audio = createAudioInput({ replayBufferMs: options.inputBufferMs ?? 10_000, vad: null })
  // Audio the server had not committed when the snapshot was taken goes out on the first connection.
  if (resume !== undefined && resume.pendingAudio.length > 0)
    audio.buffer.push(base64ToPcm16(resume.pendingAudio))
  const progress: InputProgress = { resumeFrom: 0 }
  const {
    connectMs,
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    createdMs,
    firstDeltaMs,
    cancelAckMs,
    ...lifecycleTimeouts
  } = options.timeouts ?? {}
  const logic = realtimeSessionMachine.provide({
    actors: {
      socket: makeRealtimeSocketActor(
        runtime,
        audio,
        {
          config,
          model,
          appendMs: options.appendMs ?? 40,
          socket: {
            ...(connectMs === undefined ? {} : { connectTimeoutMs: connectMs }),
            ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
            ...(heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs }),
          },
        },
        progress,
      ),
    },
  })
  const input: RealtimeSessionInput = {
    settings: {
      tools: [],
      turnDetection: { type: "server_vad" },
      ...resume?.settings,
      ...settingsOf(options),
      model,
    },
    ...(options.onDuplicate === undefined
      ? resume === undefined
        ? {}
        : { onDuplicate: resume.onDuplicate }
      : { onDuplicate: options.onDuplicate }),
    ...(resume === undefined ? {} : { restore: resume.restore }),
    responseTimeouts: {
      ...(createdMs === undefined ? {} : { createdMs }),
      ...(firstDeltaMs === undefined ? {} : { firstDeltaMs }),
      ...(cancelAckMs === undefined ? {} : { cancelAckMs }),
    },
    lifecycle: {
      ...(options.reconnect === undefined ? {} : { reconnect: options.reconnect }),
      timeouts: lifecycleTimeouts,
      seed: options.seed ?? Math.floor(Math.random() * 0x1_0000_0000),
    },
  }
  return {
    logic,
    input,
    audio,
    config,
    tools: new Map((options.tools ?? []).map((t) => [t.name, t])),
    uncommittedFrom: () => progress.resumeFrom,
  }
}

/**
 * What a snapshot of the session keeps, read from a running session's parts and its machine's
 * context (the session's own `persist`, and a parent that invokes the session as a child).
 * @internal
 */
export const realtimeSnapshotDataOf = (
  parts: RealtimeSessionParts,
  context: RealtimeSessionContext,
): RealtimeSnapshotData => {
  const { buffer } = parts.audio
  const from = Math.min(buffer.endSample, Math.max(buffer.startSample, parts.uncommittedFrom()))
  return {
    settings: context.settings,
    onDuplicate: context.onDuplicate,
    restore: restoreOf(context),
    pendingAudio: from < buffer.endSample ? pcm16ToBase64(buffer.view(from, buffer.endSample)) : "",
  }
}

const FRAME_SAMPLES = 20 * REALTIME_SAMPLES_PER_MS

const parseArguments = (tool: FunctionTool | undefined, text: string) => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return { ok: false as const, message: `The arguments are not JSON: ${(error as Error).message}` }
  }
  if (tool === undefined) return { ok: true as const, value: parsed }
  const decoded = tool.decode(parsed)
  return decoded.ok
    ? { ok: true as const, value: decoded.value }
    : { ok: false as const, message: decoded.message }
}

const startSession = (
  options: Omit<RealtimeSessionOptions, "context">,
  runtime: SessionRuntime<RealtimeSocket>,
  resume?: RealtimeSnapshotData,
): RealtimeSession => {
  const parts = partsOf(options, runtime, resume)
  const actor = createActor(parts.logic, { ...rootActorOptions(runtime), input: parts.input })
  const queue = createChannel<RealtimeSessionEvent>()
  const contextWaiters = new Map<string, () => void>()
  let finished = false
  let releasing: Promise<void> | undefined
  let resolveDone: () => void = () => undefined
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve
  })

  const release = (): Promise<void> => {
    releasing ??= (async () => {
      finished = true
      off.unsubscribe()
      subscription.unsubscribe()
      actor.stop()
      for (const { trace, transcript } of traces.values()) trace.end({ status: "closed", transcript })
      traces.clear()
      await runtime.shutdown()
      for (const resolve of contextWaiters.values()) resolve()
      contextWaiters.clear()
      resolveDone()
    })()
    return releasing
  }

  const traces = new Map<string, { readonly trace: ResponseTrace; transcript: string }>()
  const traceEvent = (e: RealtimeEvent): void => {
    if (e.type === "response_started") {
      traces.set(e.responseId, {
        trace: traceResponse({
          model:
            (parts.config.provider === "azure" ? parts.config.deployment : undefined) ??
            parts.input.settings.model,
          provider: parts.config.provider,
          responseId: e.responseId,
          ...(e.requestId === undefined ? {} : { requestId: e.requestId }),
          ...(options.tracer === undefined ? {} : { tracer: options.tracer }),
          ...(options.traceParent === undefined ? {} : { parent: options.traceParent }),
          ...(options.traceIncludeSensitiveText === undefined
            ? {}
            : { traceIncludeSensitiveText: options.traceIncludeSensitiveText }),
        }),
        transcript: "",
      })
    } else if (e.type === "output_transcript") {
      const open = traces.get(e.responseId)
      if (open !== undefined)
        open.transcript = e.done ? (e.transcript ?? open.transcript) : open.transcript + e.delta
    } else if (e.type === "interrupted" && e.responseId !== undefined) {
      traces.get(e.responseId)?.trace.event("interrupted", { "realtime.audio_end_ms": e.audioEndMs })
    } else if (e.type === "response_done") {
      const open = traces.get(e.responseId)
      if (open === undefined) return
      traces.delete(e.responseId)
      open.trace.end({ status: e.status, usage: e.usage, transcript: open.transcript, ...e.metrics })
    }
  }

  const off = actor.on("*", (event) => {
    const e = event as RealtimeEvent
    traceEvent(e)
    if (e.type === "audio") {
      for (let at = 0; at < e.samples.length; at += FRAME_SAMPLES) {
        const data = e.samples.subarray(at, Math.min(e.samples.length, at + FRAME_SAMPLES))
        queue.push({
          type: "audio",
          responseId: e.responseId,
          itemId: e.itemId,
          frame: makeAudioFrame(data, REALTIME_SAMPLE_RATE_HZ, 1),
        })
      }
      return
    }
    if (e.type === "function_call") {
      queue.push({
        ...e,
        arguments: parseArguments(parts.tools.get(e.name), e.arguments),
        rawArguments: e.arguments,
      })
      return
    }
    queue.push(e)
  })
  const subscription = actor.subscribe({
    next: (snapshot) => {
      // setChatContext resolves once the mirror holds what was asked for.
      for (const [key, resolve] of contextWaiters) {
        const [wanted] = key.split("\u0000")
        if (
          wanted ===
          mirrorChatItems(snapshot.context.mirror)
            .map((i) => i.id)
            .join(",")
        ) {
          contextWaiters.delete(key)
          resolve()
        }
      }
      if (snapshot.status !== "done") return
      const fatal = snapshot.context.fatalError
      if (snapshot.value === "failed" && fatal !== undefined) {
        queue.fail(realtimeError({ _tag: "Failed", error: fatal }, fatal.message, fatal.retryable))
      } else {
        queue.end()
      }
      void release()
    },
    error: (error) => {
      queue.fail(error)
      void release()
    },
  })

  const ensureOpen = (): void => {
    if (finished || actor.getSnapshot().status !== "active") {
      throw realtimeError({ _tag: "Closed" }, "The Realtime session has ended")
    }
  }

  actor.start()

  const session: RealtimeSession = {
    actor,
    done,
    get resources() {
      return { fibers: runtime.activeFibers, timers: runtime.clock.pendingTimers }
    },
    pushFrame(frame) {
      ensureOpen()
      parts.audio.push(frame)
    },
    commitAudio() {
      ensureOpen()
      parts.audio.drain()
      actor.send({ type: "COMMIT_AUDIO" })
    },
    clearAudio() {
      ensureOpen()
      actor.send({ type: "CLEAR_AUDIO" })
    },
    sendText(text) {
      ensureOpen()
      if (typeof text !== "string" || text.length === 0) {
        throw realtimeError({ _tag: "InvalidInput" }, "sendText needs a non-empty string")
      }
      const itemId = newClientItemId()
      actor.send({ type: "SEND_TEXT", text, itemId })
      return itemId
    },
    createResponse(request = {}) {
      ensureOpen()
      const requestId = `req_${randomUUID().slice(0, 8)}`
      actor.send({ type: "CREATE_RESPONSE", requestId, request, atMs: runtime.now() })
      return requestId
    },
    interrupt() {
      ensureOpen()
      actor.send({ type: "INTERRUPT" })
    },
    sendToolOutput(callId, output, options) {
      ensureOpen()
      const pending = actor.getSnapshot().context.calls.some((c) => c.callId === callId && !c.answered)
      if (!pending) {
        throw realtimeError(
          { _tag: "UnknownToolCall", callId },
          `No function call with call id ${JSON.stringify(callId)} is waiting for its output`,
        )
      }
      const text = typeof output === "string" ? output : JSON.stringify(output ?? null)
      actor.send({
        type: "TOOL_OUTPUT",
        callId,
        output: text,
        itemId: newClientItemId(),
        respond: options?.respond !== false,
        atMs: runtime.now(),
      })
    },
    updateSession(update) {
      ensureOpen()
      actor.send({ type: "UPDATE_SESSION", settings: settingsOf(update) })
    },
    reportPlayback(itemId, playedMs) {
      if (finished) return
      if (!Number.isFinite(playedMs) || playedMs < 0) {
        throw realtimeError(
          { _tag: "InvalidInput" },
          `playedMs must be a finite number >= 0, got ${playedMs}`,
        )
      }
      actor.send({ type: "REPORT_PLAYBACK", itemId, playedMs })
    },
    get chatContext() {
      return new ChatContext(mirrorChatItems(actor.getSnapshot().context.mirror))
    },
    setChatContext(target) {
      ensureOpen()
      const wanted = ChatContext.from(target).items
      const current = mirrorChatItems(actor.getSnapshot().context.mirror)
      const plan = planChatContext(current, wanted)
      if (plan.deletes.length === 0 && plan.creates.length === 0) return Promise.resolve()
      const requestId = randomUUID()
      const key = `${wanted.map((i) => i.id).join(",")}\u0000${requestId}`
      const applied = new Promise<void>((resolve) => contextWaiters.set(key, resolve))
      actor.send({ type: "SET_CHAT_CONTEXT", requestId, plan })
      return applied
    },
    persist() {
      return makeSnapshot(
        "realtime",
        {
          savedAtMs: runtime.now(),
          machine: actor.getPersistedSnapshot(),
          data: realtimeSnapshotDataOf(parts, actor.getSnapshot().context),
        },
        [Redacted.value(secretOf(parts.config))],
      )
    },
    async close() {
      if (!finished && actor.getSnapshot().status === "active") actor.send({ type: "CLOSE" })
      queue.end()
      await release()
    },
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  }
  return session
}

/**
 * Creates and starts a Realtime session; it connects at once.
 * @throws {OpenAIConfigError} when no API key or a malformed base URL is configured
 */
export const createRealtimeSession = (options: RealtimeSessionOptions = {}): RealtimeSession => {
  const context = options.context ?? liveSocketContext("realtime", options)
  return startSession(options, makeSessionRuntime(context, { inspect: options.inspect }))
}

/**
 * Continues a persisted Realtime session on a new connection (in this or another process):
 * the conversation is re-created on the server from the snapshot's mirror, responses asked
 * for and not yet created are asked for again, calls waiting for their output still take
 * `sendToolOutput`, and the input audio the server had not committed is sent again. The
 * credential comes from `options` or the environment; other options override the
 * snapshot's settings (give `tools` again to parse call arguments with their schemas).
 * @throws {SnapshotError} for a snapshot of another version or kind, or a malformed one
 * @throws {OpenAIConfigError} when no API key is configured
 */
export const resumeRealtimeSession = (
  snapshot: unknown,
  options: RealtimeSessionOptions = {},
): RealtimeSession => {
  const decoded = decodeSnapshot(snapshot, "realtime") as RealtimeSnapshot
  const context = options.context ?? liveSocketContext("realtime", options)
  return startSession(options, makeSessionRuntime(context, { inspect: options.inspect }), decoded.data)
}

/** The Effect form of the Realtime session, and the session as actor logic. */
export const RealtimeSession = {
  /**
   * The session as parts a parent machine invokes as a child on `runtime` (its services and
   * clock); with `resume` (a snapshot's data, see {@link realtimeSnapshotDataOf}) the child
   * continues that session as {@link resumeRealtimeSession} does.
   */
  logic: (
    runtime: SessionRuntime<RealtimeSocket>,
    options: Omit<RealtimeSessionOptions, "context"> = {},
    resume?: RealtimeSnapshotData,
  ): RealtimeSessionParts => partsOf(options, runtime, resume),
  /** Creates a session on the current services and closes it when the scope closes. */
  make: (
    options: Omit<RealtimeSessionOptions, "context"> = {},
  ): Effect.Effect<RealtimeSession, OpenAIConfigError, Scope.Scope | RealtimeSocket> =>
    Effect.acquireRelease(
      Effect.gen(function* () {
        const context = yield* Effect.context<RealtimeSocket>()
        yield* loadOpenAIConfig(options.openai ?? {}, options.env ?? process.env)
        const tracer = options.tracer ?? (yield* Effect.tracer)
        const parent =
          options.traceParent ?? Option.getOrUndefined(yield* Effect.option(Effect.currentParentSpan))
        return createRealtimeSession({
          ...options,
          context,
          tracer,
          ...(parent === undefined ? {} : { traceParent: parent }),
        })
      }),
      (session) => Effect.promise(() => session.close()),
    ),
} as const

export { RealtimeError }
