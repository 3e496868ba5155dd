/**
 * A voice agent on a call, realtime mode: `createAgentSession({ agent, realtime })` runs
 * {@link agentRealtimeMachine} with the Realtime session's own logic as its child, on one
 * runtime and one clock. The model hears the caller (the server's VAD takes the turns),
 * answers with audio that goes to the output on the call's timeline, and calls the agent's
 * tools (their results go back and the session asks for the next response). The caller
 * cuts the agent off through the server's VAD; the assistant item is truncated at what the
 * output played. What happens comes out as the same {@link AgentEvent}s as the pipeline's.
 * @module
 */
import { randomUUID } from "node:crypto"
import { Context, Redacted } from "effect"
import { type Actor, createActor, enqueueActions, fromCallback, fromPromise, sendTo } from "xstate"
import {
  type AgentRealtimeRestore,
  agentRealtimeMachine,
  agentRealtimeRestoreOf,
  realtimeAgentStateOf,
  realtimeUserStateOf,
} from "../../machines/agent/agentRealtime.ts"
import type { AgentState, ToolOutput, UserState } from "../../machines/agent/agentSession.ts"
import { heardTranscript } from "../../machines/realtime/conversationMirror.ts"
import type {
  RealtimeSessionContext,
  RealtimeToolDefinition,
} from "../../machines/realtime/realtimeSession.ts"
import type { ToolCall } from "../../machines/responses/chunks.ts"
import { makeAudioFrame } from "../audio/index.ts"
import type { ChatItem } from "../llm/ChatContext.ts"
import { decodeSnapshot, makeSnapshot, type SessionSnapshot, SnapshotError } from "../persist/snapshot.ts"
import {
  RealtimeSession,
  type RealtimeSessionOptions,
  type RealtimeSnapshotData,
  realtimeSnapshotDataOf,
} from "../realtime/RealtimeSession.ts"
import { createChannel } from "../runtime/channel.ts"
import { relayEmitted } from "../runtime/relayEmitted.ts"
import { makeSessionRuntime, type SessionRuntime } from "../runtime/SessionRuntime.ts"
import { type OpenAIConfigOptions, secretOf } from "../transport/OpenAIConfig.ts"
import { RealtimeSocket } from "../transport/RealtimeSocket.ts"
import type { AgentEvent, TurnMetrics } from "./AgentSession.ts"
import { type AudioInput, type AudioOutput, CALL_RATE_HZ, createCallRecorder, FRAME_MS } from "./audio.ts"
import { type Agent, enterAgent as enterAgentWith, type ReplyOptions, runToolCalls } from "./define.ts"

/** Realtime session options the agent mode takes (instructions and tools come from the agent). */
export type AgentRealtimeOptions = Omit<
  RealtimeSessionOptions,
  "openai" | "env" | "context" | "instructions" | "tools"
>

/** Options of the realtime mode of `createAgentSession`. */
export interface RealtimeAgentSessionOptions {
  readonly agent: Agent
  /** The Realtime session (default model `gpt-realtime`, server VAD, input transcription on). */
  readonly realtime: AgentRealtimeOptions
  readonly openai?: OpenAIConfigOptions
  readonly env?: Record<string, string | undefined>
  /** The caller's audio (or later, with `start`). */
  readonly input?: AudioInput
  /** The call's audio out; default a {@link createCallRecorder}. */
  readonly output?: AudioOutput
  /** Whether the caller can cut the agent off (default true: the server's `interrupt_response`). */
  readonly allowInterruptions?: boolean
  /** Tool rounds per turn before the model must answer without tools (default 3). */
  readonly maxToolSteps?: number
  /** The services and clock the session runs on; default the live ones. */
  readonly context?: Context.Context<RealtimeSocket>
}

/** A running agent session in realtime mode (the pipeline's surface, where it applies). */
export interface RealtimeAgentSession extends AsyncIterable<AgentEvent> {
  readonly mode: "realtime"
  /** The session's actor (for inspection). */
  readonly actor: Actor<typeof agentRealtimeMachine>
  readonly runtime: SessionRuntime<RealtimeSocket>
  /** The call's audio out (the given one, or the call recorder). */
  readonly output: AudioOutput
  /** The conversation as the server holds it (an interrupted reply cut to the words heard). */
  readonly chatContext: readonly ChatItem[]
  /** The agent in charge now. */
  readonly agent: Agent
  /** The conversation (same as {@link chatContext}). */
  chat(): readonly ChatItem[]
  /** Per-turn latencies so far. */
  metrics(): readonly TurnMetrics[]
  /**
   * Connects the call's audio and starts the conversation (the agent's `onEnter`, its
   * greeting). Called once; a second call throws `Error`.
   */
  start(audio?: { readonly input?: AudioInput; readonly output?: AudioOutput }): void
  /**
   * Has the agent say `text` (a response told to say it word for word); `allowInterruptions:
   * false` holds the floor for it (the server does not cut it on the caller's speech).
   */
  say(text: string, options?: ReplyOptions): void
  /** Asks for a reply now, with `instructions` added for it. */
  generateReply(options?: ReplyOptions & { readonly instructions?: string }): void
  /** Stops the agent at once: response cancelled, output cleared, the item cut at what was played. */
  interrupt(): void
  /** Hands the call to another agent: its instructions and tools; the conversation stays; runs its `onEnter`. */
  updateAgent(agent: Agent): void
  /** Timers and fibers still running (all zero once closed). */
  readonly resources: { readonly fibers: number; readonly timers: number }
  /** Ends the call: stops the input, the Realtime session, every timer and socket. Idempotent. */
  close(): Promise<void>
  /**
   * The call as a JSON value for `resumeAgentSession(snapshot, { agent, realtime, ... })`: the
   * Realtime session's own snapshot (the conversation mirror, its settings, calls waiting for
   * their output, input audio the server had not committed), the calls the agent had not
   * answered, the instructions in charge and the metrics so far. Never a credential.
   */
  persist(): RealtimeAgentSnapshot
}

/** What a realtime-mode agent snapshot keeps beside the machine's persisted snapshot. */
export interface RealtimeAgentSnapshotData {
  readonly mode: "realtime"
  /** The Realtime session's snapshot data (the conversation is the session's). */
  readonly realtime: RealtimeSnapshotData
  readonly restore: AgentRealtimeRestore
  /** The instructions of the agent in charge when it was taken. */
  readonly instructions: string
  readonly metrics: readonly TurnMetrics[]
}

/** A snapshot of an agent session in realtime mode (see {@link RealtimeAgentSession.persist}). */
export type RealtimeAgentSnapshot = SessionSnapshot<"agent", RealtimeAgentSnapshotData>

const DEFAULT_TRANSCRIPTION = { model: "gpt-4o-mini-transcribe" } as const
const FRAME_SAMPLES = (CALL_RATE_HZ * FRAME_MS) / 1000

const toolDefinitionsOf = (agent: Agent): RealtimeToolDefinition[] =>
  agent.tools.map((t) => ({
    name: t.tool.name,
    ...(t.tool.description === undefined ? {} : { description: t.tool.description }),
    parameters: t.tool.parameters,
  }))

/** A client item id the service accepts (at most 32 characters). */
const newItemId = (): string => `item_${randomUUID().replaceAll("-", "").slice(0, 24)}`

/** The instructions of a response that says `text` and nothing else. */
export const sayInstructions = (text: string): string =>
  `Say exactly the following, word for word, and nothing else: ${JSON.stringify(text)}`

/**
 * Creates an agent session in realtime mode (`createAgentSession` with `realtime`); the
 * Realtime session connects at once, `start` connects the call's audio (done here when
 * `input` or `output` is given).
 * @throws {OpenAIConfigError} when no credential or endpoint is configured
 */
export const createRealtimeAgentSession = (options: RealtimeAgentSessionOptions): RealtimeAgentSession =>
  startRealtimeAgentSession(options)

/**
 * Continues a persisted realtime-mode call on a new connection: the Realtime session resumes
 * from its part of the snapshot (the conversation re-created on the server, uncommitted input
 * audio sent again), calls the agent had not answered run and their outputs go back, and the
 * metrics go on. No greeting and no `onEnter` at `start`: the agent is already on the call.
 * The agent (its tools) and the credential come from `options`, as for `createAgentSession`.
 * @throws {SnapshotError} for a snapshot of another version or kind, a pipeline-mode one, or a malformed one
 * @throws {OpenAIConfigError} when no credential or endpoint is configured
 */
export const resumeRealtimeAgentSession = (
  snapshot: unknown,
  options: RealtimeAgentSessionOptions,
): RealtimeAgentSession => {
  const decoded = decodeSnapshot(snapshot, "agent") as RealtimeAgentSnapshot
  if ((decoded.data as { mode?: unknown } | null)?.mode !== "realtime")
    throw new SnapshotError({
      reason: { _tag: "Malformed", path: "data.mode" },
      message: "malformed snapshot at data.mode: a pipeline agent's snapshot, not a realtime one",
    })
  return startRealtimeAgentSession(options, decoded.data)
}

const startRealtimeAgentSession = (
  options: RealtimeAgentSessionOptions,
  resume?: RealtimeAgentSnapshotData,
): RealtimeAgentSession => {
  const runtime = makeSessionRuntime(options.context ?? Context.make(RealtimeSocket, RealtimeSocket.live))
  let output: AudioOutput = options.output ?? createCallRecorder()
  let input: AudioInput | undefined
  let agent = options.agent
  const allowInterruptions = options.allowInterruptions ?? true
  const startedAt = runtime.now()
  const now = () => runtime.now() - startedAt
  const events = createChannel<AgentEvent>()
  const push = (event: AgentEvent) => events.push(event)

  const { turnDetection, inputTranscription, ...rest } = options.realtime
  const detection = turnDetection === undefined ? { type: "server_vad" as const } : turnDetection
  const sessionDetection = detection
  /** Whether the server cancels a reply on the caller's speech now (off while a reply holds the floor). */
  let interruptResponse = allowInterruptions && detection !== null && detection.interruptResponse !== false
  const parts = RealtimeSession.logic(
    runtime,
    {
      ...rest,
      ...(options.openai === undefined ? {} : { openai: options.openai }),
      ...(options.env === undefined ? {} : { env: options.env }),
      instructions: agent.instructions,
      tools: agent.tools.map((t) => t.tool),
      turnDetection:
        detection === null || allowInterruptions ? detection : { ...detection, interruptResponse: false },
      inputTranscription: inputTranscription === undefined ? DEFAULT_TRANSCRIPTION : inputTranscription,
    },
    resume?.realtime,
  )
  const toolsFor = (a: Agent) => new Map(a.tools.map((t) => [t.tool.name, t]))
  let toolsByName = toolsFor(agent)
  let actorRef: Actor<typeof agentRealtimeMachine> | undefined
  const realtimeContext = (): RealtimeSessionContext | undefined =>
    actorRef?.system.get("realtime")?.getSnapshot()?.context as RealtimeSessionContext | undefined

  // Turn timing: times between what the session and the machine go through.
  const metrics: TurnMetrics[] = [...(resume?.metrics ?? [])]
  let turnCount = metrics.length
  const turn = {
    endOfSpeechAt: undefined as number | undefined,
    finalAt: undefined as number | undefined,
    requestAt: undefined as number | undefined,
    firstTextAt: undefined as number | undefined,
    audible: false,
  }
  const since = (from: number | undefined, to: number | undefined) =>
    from === undefined || to === undefined ? undefined : to - from
  const firstAudio = (at: number) => {
    turnCount += 1
    const m: TurnMetrics = {
      turn: turnCount,
      transcriptMs: since(turn.endOfSpeechAt, turn.finalAt),
      // The server's VAD ends the turn: its `speech_stopped` comes after its silence wait.
      endpointingMs: turn.endOfSpeechAt === undefined ? undefined : 0,
      llmFirstTextMs: since(turn.requestAt, turn.firstTextAt),
      ttsFirstAudioMs: since(turn.firstTextAt, at),
      totalMs: since(turn.endOfSpeechAt ?? turn.requestAt, at),
    }
    metrics.push(m)
    push({ type: "metrics", metrics: m, atMs: at })
    turn.endOfSpeechAt = undefined
    turn.finalAt = undefined
  }

  const logic = agentRealtimeMachine.provide({
    actors: {
      realtime: parts.logic,
      relayRealtime: relayEmitted("realtime"),
      playback: fromCallback(({ sendBack }) => {
        let timer: number | undefined
        const tick = () => {
          sendBack({ type: "PLAYED", playedMs: output.playedMs(now()) })
          timer = runtime.clock.setTimeout(tick, FRAME_MS)
        }
        timer = runtime.clock.setTimeout(tick, FRAME_MS)
        return () => {
          if (timer !== undefined) runtime.clock.clearTimeout(timer)
        }
      }),
      playout: fromPromise<void, void>(
        ({ signal }) =>
          new Promise<void>((resolve, reject) => {
            const timer = runtime.clock.setTimeout(() => resolve(), Math.max(0, output.agentEndMs() - now()))
            signal.addEventListener("abort", () => {
              runtime.clock.clearTimeout(timer)
              reject(signal.reason)
            })
          }),
      ),
      measureHeard: fromPromise(async ({ input: cut }) => {
        const mirror = realtimeContext()?.mirror ?? []
        const item = cut.itemId === undefined ? undefined : mirror.find((m) => m.id === cut.itemId)
        return item === undefined ? "" : heardTranscript(item, cut.audioEndMs).trim()
      }),
      runTools: fromPromise<readonly ToolOutput[], { readonly calls: readonly ToolCall[] }>(
        ({ input: { calls }, signal }) => runToolCalls(calls, toolsByName, { signal, session }),
      ),
    },
    actions: {
      playAudio: (_args, params: { readonly samples: Int16Array }) => {
        const at = now()
        for (let i = 0; i < params.samples.length; i += FRAME_SAMPLES) {
          const data = params.samples.subarray(i, Math.min(params.samples.length, i + FRAME_SAMPLES))
          output.agent(makeAudioFrame(data, CALL_RATE_HZ, 1), at)
        }
        if (!turn.audible) {
          turn.audible = true
          firstAudio(at)
        }
      },
      clearOutput: () => output.clear(now()),
      reportPlayback: sendTo(
        "realtime",
        (_args, params: { readonly itemId: string; readonly playedMs: number }) => ({
          type: "REPORT_PLAYBACK" as const,
          itemId: params.itemId,
          playedMs: params.playedMs,
        }),
      ),
      sendToolOutputs: enqueueActions(
        ({ enqueue }, params: { readonly outputs: readonly ToolOutput[]; readonly respond: boolean }) => {
          for (const item of params.outputs) {
            enqueue.sendTo("realtime", {
              type: "TOOL_OUTPUT",
              callId: item.callId,
              output: typeof item.output === "string" ? item.output : JSON.stringify(item.output ?? null),
              itemId: newItemId(),
              respond: params.respond,
              atMs: runtime.now(),
            })
          }
        },
      ),
      requestReply: sendTo(
        "realtime",
        (
          _args,
          params: {
            readonly requestId: string
            readonly instructions: string | undefined
            readonly toolChoice: "none" | undefined
          },
        ) => ({
          type: "CREATE_RESPONSE" as const,
          requestId: params.requestId,
          request: {
            ...(params.instructions === undefined ? {} : { instructions: params.instructions }),
            ...(params.toolChoice === undefined ? {} : { toolChoice: params.toolChoice }),
          },
          atMs: runtime.now(),
        }),
      ),
      requestSpeech: sendTo(
        "realtime",
        (_args, params: { readonly requestId: string; readonly text: string }) => ({
          type: "CREATE_RESPONSE" as const,
          requestId: params.requestId,
          request: { instructions: sayInstructions(params.text), toolChoice: "none" as const },
          atMs: runtime.now(),
        }),
      ),
      interruptResponse: sendTo("realtime", { type: "INTERRUPT" as const }),
      setInterruptResponse: enqueueActions(({ enqueue }, params: { readonly enabled: boolean }) => {
        // Only a session that lets the caller interrupt toggles it, and only on a change.
        if (!allowInterruptions || sessionDetection === null || params.enabled === interruptResponse) return
        interruptResponse = params.enabled
        enqueue.sendTo("realtime", {
          type: "UPDATE_SESSION",
          settings: {
            turnDetection: params.enabled
              ? sessionDetection
              : { ...sessionDetection, interruptResponse: false },
          },
        })
      }),
      updateSession: sendTo(
        "realtime",
        (
          _args,
          params: { readonly instructions: string; readonly tools: readonly RealtimeToolDefinition[] },
        ) => ({
          type: "UPDATE_SESSION" as const,
          settings: { instructions: params.instructions, tools: params.tools },
        }),
      ),
    },
  })

  const actor = createActor(logic, {
    clock: runtime.clock,
    input: {
      maxToolSteps: options.maxToolSteps ?? 3,
      allowInterruptions,
      realtimeInput: parts.input,
      ...(resume === undefined ? {} : { restore: resume.restore }),
    },
  })
  actorRef = actor
  actor.on("*", (event) => {
    const atMs = now()
    if (event.type === "user_transcript" && event.final) turn.finalAt = atMs
    push({ ...event, atMs })
  })
  let started = false
  let closing: Promise<void> | undefined
  const release = (): Promise<void> => {
    closing ??= (async () => {
      input?.stop()
      if (actor.getSnapshot().status === "active") actor.send({ type: "CLOSE" })
      actor.stop()
      actorRef = undefined
      await runtime.shutdown()
      push({ type: "closed", atMs: now() })
      events.end()
    })()
    return closing
  }
  // States as events: the caller's and the agent's, on every change.
  let userState: UserState = "silent"
  let agentState: AgentState = "idle"
  actor.subscribe({
    next: (snapshot) => {
      const atMs = now()
      const nextUser = realtimeUserStateOf(snapshot)
      if (nextUser !== userState) {
        userState = nextUser
        push({ type: "user_state", state: nextUser, atMs })
      }
      const nextAgent = realtimeAgentStateOf(snapshot)
      if (nextAgent !== agentState) {
        agentState = nextAgent
        push({ type: "agent_state", state: nextAgent, atMs })
      }
    },
    complete: () => void release(),
    error: (error) => {
      push({ type: "error", error, atMs: now() })
      void release()
    },
  })
  const chat = (): readonly ChatItem[] => realtimeContext()?.mirror.map((m) => m.item) ?? []
  const session: RealtimeAgentSession = {
    mode: "realtime",
    actor,
    runtime,
    get output() {
      return output
    },
    get chatContext() {
      return chat()
    },
    get agent() {
      return agent
    },
    get resources() {
      return { fibers: runtime.activeFibers, timers: runtime.clock.pendingTimers }
    },
    chat,
    metrics: () => metrics,
    start: (audio = {}) => {
      if (started) throw new Error("The agent session is already started")
      if (closing !== undefined) throw new Error("The agent session has ended")
      started = true
      if (audio.output !== undefined) output = audio.output
      input = audio.input
      // A resumed call's agent is already on it: no second greeting.
      if (resume === undefined) enterAgent(agent)
      input?.start((frame) => {
        output.caller(frame, now())
        parts.audio.push(frame)
      }, runtime.clock)
    },
    say: (text, reply = {}) =>
      actor.send({
        type: "SAY",
        text,
        ...(reply.allowInterruptions === undefined ? {} : { allowInterruptions: reply.allowInterruptions }),
      }),
    generateReply: (reply = {}) =>
      actor.send({
        type: "GENERATE_REPLY",
        instructions: reply.instructions,
        ...(reply.allowInterruptions === undefined ? {} : { allowInterruptions: reply.allowInterruptions }),
      }),
    interrupt: () => actor.send({ type: "INTERRUPT" }),
    updateAgent: (next) => {
      agent = next
      toolsByName = toolsFor(next)
      actor.send({ type: "UPDATE_AGENT", instructions: next.instructions, tools: toolDefinitionsOf(next) })
      enterAgent(next)
    },
    close: release,
    persist: () => {
      const child = realtimeContext()
      if (child === undefined) throw new Error("The agent session has ended")
      return makeSnapshot(
        "agent",
        {
          savedAtMs: runtime.now(),
          machine: actor.getPersistedSnapshot(),
          data: {
            mode: "realtime",
            realtime: realtimeSnapshotDataOf(parts, child),
            restore: agentRealtimeRestoreOf(actor.getSnapshot()),
            instructions: agent.instructions,
            metrics,
          },
        },
        [Redacted.value(secretOf(parts.config))],
      )
    },
    [Symbol.asyncIterator]: () => events[Symbol.asyncIterator](),
  }
  const enterAgent = (entering: Agent) =>
    enterAgentWith(entering, session, (error) => push({ type: "error", error, atMs: now() }))
  // Started once `session` exists: a resumed call runs its unanswered tools at once, with it.
  actor.start()
  // What the session reports that the turn's timing needs (before the machine hears of it).
  const realtime = actor.system.get("realtime")
  realtime?.on("input_speech_stopped", () => {
    turn.endOfSpeechAt = now()
  })
  realtime?.on("response_started", () => {
    output.beginReply()
    turn.requestAt = now()
    turn.firstTextAt = undefined
    turn.audible = false
  })
  realtime?.on("output_transcript", () => {
    turn.firstTextAt ??= now()
  })

  if (options.input !== undefined || options.output !== undefined)
    session.start({
      ...(options.input === undefined ? {} : { input: options.input }),
      ...(options.output === undefined ? {} : { output: options.output }),
    })
  return session
}
