/**
 * A voice agent on a call, pipeline mode: `createAgentSession({ agent, stt, llm, tts, openai,
 * env })` runs {@link agentSessionMachine} with the three parts as its children, all on one
 * runtime and one clock: the speech-to-text hears the caller, the language model answers
 * (running the agent's tools), each reply is spoken by a synthesis session whose frames go to
 * the output on the call's timeline. `start({ input, output })` connects the call's audio.
 * What happens comes out as {@link AgentEvent}s through one channel, each with its call
 * time; every reply to the caller carries its turn's latencies.
 * @module
 */
import { type Context, Redacted } from "effect"
import {
  type Actor,
  type AnyEventObject,
  createActor,
  fromCallback,
  fromPromise,
  type InspectionEvent,
  type Observer,
  sendTo,
} from "xstate"
import {
  type AgentRestore,
  type AgentSessionEmitted,
  type AgentState,
  agentRestoreOf,
  agentSessionMachine,
  agentStateOf,
  type LlmTurnInput,
  type ToolOutput,
  type TurnSettings,
  type UserState,
  userStateOf,
} from "../../machines/agent/agentSession.ts"
import { heardText, type TimelineSegment } from "../../machines/agent/turnRules.ts"
import type { ChatItem, ChatItemInput } from "../../machines/responses/chatItems.ts"
import type { ChatChunk, ToolCall } from "../../machines/responses/chunks.ts"
import { decodeSnapshot, makeSnapshot, type SessionSnapshot, SnapshotError } from "../persist/snapshot.ts"
import { createChannel } from "../runtime/channel.ts"
import { relayEmitted } from "../runtime/relayEmitted.ts"
import { makeSessionRuntime, rootActorOptions, type SessionRuntime } from "../runtime/SessionRuntime.ts"
import { type OpenAIConfigOptions, resolveOpenAIConfig, secretOf } from "../transport/OpenAIConfig.ts"
import type { RealtimeSocket } from "../transport/RealtimeSocket.ts"
import { liveSocketContext } from "../transport/recording.ts"
import { createTTS } from "../tts/OpenAITTS.ts"
import { SynthesisSession, type SynthesisSessionOptions } from "../tts/SynthesisSession.ts"
import type { SegmentMetrics, SynthesisEvent, SynthesizeStream, TTS } from "../tts/TTS.ts"
import { type AudioInput, type AudioOutput, createCallRecorder, FRAME_MS } from "./audio.ts"
import {
  type Agent,
  type AgentControls,
  enterAgent as enterAgentWith,
  type ReplyOptions,
  runToolCalls,
  type SpokenReply,
} from "./define.ts"
import {
  type AgentEndpoint,
  type AgentLLM,
  type AgentSTT,
  isPart,
  type OpenAILLMOptions,
  type OpenAISTTOptions,
  openaiLLM,
  openaiSTT,
} from "./pipeline.ts"

/** Latencies of one turn, in ms of call time (times between the machine's states). */
export interface TurnMetrics {
  readonly turn: number
  /** End of the caller's speech to its (last) final transcript. */
  readonly transcriptMs: number | undefined
  /** End of the caller's speech to the end of its turn (endpointing). */
  readonly endpointingMs: number | undefined
  /** The model request to its first text (time to first token). */
  readonly llmFirstTextMs: number | undefined
  /** The model's first text to the reply's first audio (TTS time to first frame). */
  readonly ttsFirstAudioMs: number | undefined
  /** End of the caller's speech to the reply's first audio: the latency callers judge. */
  readonly totalMs: number | undefined
}

/** What the session reports, each with its call time (`atMs`, ms since the session was created). */
export type AgentEvent =
  | (AgentSessionEmitted & { readonly atMs: number })
  | { readonly type: "user_state"; readonly state: UserState; readonly atMs: number }
  | { readonly type: "agent_state"; readonly state: AgentState; readonly atMs: number }
  | { readonly type: "metrics"; readonly metrics: TurnMetrics; readonly atMs: number }
  | { readonly type: "closed"; readonly atMs: number }

/** Turn-taking options; times in ms. */
export interface TurnOptions {
  /** Least wait after the end of speech and the last final transcript (default 500). */
  readonly minEndpointingMs?: number
  /** Longest wait after the end of speech before the turn ends (default 6 000). */
  readonly maxEndpointingMs?: number
  /** Speech over the agent at least this long interrupts it (default 500). */
  readonly minInterruptionMs?: number
  /** Transcribed words over the agent that interrupt it at once (default 0: words alone never do). */
  readonly minInterruptionWords?: number
  /** The agent resumes when speech that paused it brings no transcript within this (default 2 000). */
  readonly falseInterruptionMs?: number
  /** Whether the caller can cut replies off unless a reply says otherwise (default true). */
  readonly allowInterruptions?: boolean
  /** Model rounds with tools per turn (default 3). */
  readonly maxToolSteps?: number
  /** Tools running this long let the agent say `toolFiller` (default 2 000). */
  readonly toolFillerMs?: number
  /** The line said while tools run long (default none). */
  readonly toolFiller?: string
}

/** Options of {@link createAgentSession}. */
export interface AgentSessionOptions extends TurnOptions {
  readonly agent: Agent
  readonly openai?: OpenAIConfigOptions
  readonly env?: Record<string, string | undefined>
  /** The speech-to-text: a part (`voxstate/testing`'s scripted one), or the OpenAI session's options. */
  readonly stt?: AgentSTT | OpenAISTTOptions
  /** The language model: a part, or the Responses chain's options. */
  readonly llm?: AgentLLM | OpenAILLMOptions
  /** The text-to-speech: a `TTS` (a fake, a fallback chain), or synthesis options (voice, `speech`...). */
  readonly tts?: TTS | Omit<SynthesisSessionOptions, "openai" | "env" | "onAudio">
  /** The caller's audio; given here, the session starts at once (as `start({ input, output })`). */
  readonly input?: AudioInput
  /** The call's audio out; default a {@link createCallRecorder}. */
  readonly output?: AudioOutput
  /** The services and clock the session runs on (a `TestClock` in tests); default the live ones. */
  readonly context?: Context.Context<RealtimeSocket>
  /**
   * A folder to record every frame this session's sockets send and receive into, as one JSONL
   * file (credentials stripped); `false` records nothing. Default: `VOXSTATE_RECORD` (from `env`, else the process environment).
   * Ignored when `context` is given (record with `recordingSocket` there).
   */
  readonly record?: string | false
  /**
   * An XState inspection observer (a voxstate inspector's `inspect`); the children (STT, LLM,
   * replies) are seen through it. `false`: none even under `VOXSTATE_INSPECT=1`.
   */
  readonly inspect?: Observer<InspectionEvent> | false
}

/** A running agent session. */
export interface AgentSession extends AgentControls, AsyncIterable<AgentEvent> {
  /** The session's actor (for inspection). */
  readonly actor: Actor<typeof agentSessionMachine>
  readonly runtime: SessionRuntime<RealtimeSocket>
  /** The call's audio out (the given one, or the call recorder). */
  readonly output: AudioOutput
  /** The conversation (same as {@link chatContext}). */
  chat(): readonly (ChatItem | ChatItemInput)[]
  /** Per-turn latencies so far. */
  metrics(): readonly TurnMetrics[]
  /**
   * Connects the call's audio and starts the conversation (the agent's `onEnter`, its
   * greeting). Called once; a second call throws `Error`.
   */
  start(audio?: { readonly input?: AudioInput; readonly output?: AudioOutput }): void
  /** Has the agent say `text` (no model turn), after what it is saying; resolves once it played (or was cut). */
  say(text: string, options?: ReplyOptions): Promise<SpokenReply>
  /** Has the model reply now, with `instructions` added for this reply; resolves once it played (or was cut). */
  generateReply(options?: ReplyOptions & { readonly instructions?: string }): Promise<SpokenReply>
  /**
   * Ends the caller's turn now (manual turns, push-to-talk; with the STT's own turn detection
   * off, e.g. `stt: { turnDetection: null }`): the STT transcribes what it has, the agent answers.
   */
  commitUserTurn(): void
  /** Ends the call: stops the input, every child, every timer and socket. Idempotent. */
  close(): Promise<void>
  /**
   * The call as a JSON value for {@link resumeAgentSession}: the chat so far, the caller's
   * words not answered yet (a reply in progress is dropped and its turn answered again), the
   * instructions and the metrics so far. Never a credential.
   */
  persist(): AgentSnapshot
}

/** What an agent snapshot keeps beside the machine's persisted snapshot. */
export interface AgentSnapshotData {
  readonly restore: AgentRestore
  /** The caller's audio the STT had not transcribed yet (as its part keeps it), or none. */
  readonly speech?: unknown
  readonly instructions: string
  readonly metrics: readonly TurnMetrics[]
}

/** A snapshot of an agent session (see {@link AgentSession.persist}). */
export type AgentSnapshot = SessionSnapshot<"agent", AgentSnapshotData>

const DEFAULTS = {
  minEndpointingMs: 500,
  maxEndpointingMs: 6_000,
  minInterruptionMs: 500,
  minInterruptionWords: 0,
  falseInterruptionMs: 2_000,
  allowInterruptions: true,
  maxToolSteps: 3,
  toolFillerMs: 2_000,
} as const

/** The turn settings of `options`, checked. @throws {RangeError} for a negative time or count */
const settingsOf = (options: TurnOptions): TurnSettings => {
  const settings: TurnSettings = {
    minEndpointingMs: options.minEndpointingMs ?? DEFAULTS.minEndpointingMs,
    maxEndpointingMs: options.maxEndpointingMs ?? DEFAULTS.maxEndpointingMs,
    minInterruptionMs: options.minInterruptionMs ?? DEFAULTS.minInterruptionMs,
    minInterruptionWords: options.minInterruptionWords ?? DEFAULTS.minInterruptionWords,
    falseInterruptionMs: options.falseInterruptionMs ?? DEFAULTS.falseInterruptionMs,
    allowInterruptions: options.allowInterruptions ?? DEFAULTS.allowInterruptions,
    maxToolSteps: options.maxToolSteps ?? DEFAULTS.maxToolSteps,
    toolFillerMs: options.toolFillerMs ?? DEFAULTS.toolFillerMs,
    toolFiller: options.toolFiller,
  }
  for (const key of [
    "minEndpointingMs",
    "maxEndpointingMs",
    "minInterruptionMs",
    "minInterruptionWords",
    "falseInterruptionMs",
    "maxToolSteps",
    "toolFillerMs",
  ] as const) {
    const value = settings[key]
    if (!Number.isFinite(value) || value < 0)
      throw new RangeError(`${key} must be a number >= 0, got ${value}`)
  }
  if (settings.maxEndpointingMs < settings.minEndpointingMs)
    throw new RangeError("maxEndpointingMs must be at least minEndpointingMs")
  return settings
}

const isTTS = (value: unknown): value is TTS =>
  typeof (value as { stream?: unknown } | undefined)?.stream === "function" &&
  typeof (value as { synthesize?: unknown }).synthesize === "function"

/** `tts` with every stream's segment metrics reported to `onSegment` (the reply's timeline). */
const withSegmentReports = (tts: TTS, onSegment: (metrics: SegmentMetrics) => void): TTS => ({
  label: tts.label,
  sampleRateHz: tts.sampleRateHz,
  capabilities: tts.capabilities,
  synthesize: (text, options) => tts.synthesize(text, options),
  close: () => tts.close(),
  stream: (options) => {
    const stream = tts.stream(options)
    const tapped: SynthesizeStream = {
      pushText: (delta) => stream.pushText(delta),
      flush: () => stream.flush(),
      endInput: () => stream.endInput(),
      cancel: () => stream.cancel(),
      [Symbol.asyncIterator]: () => {
        const inner = stream[Symbol.asyncIterator]()
        return {
          next: async (): Promise<IteratorResult<SynthesisEvent>> => {
            const next = await inner.next()
            if (next.done !== true && next.value.type === "metrics") onSegment(next.value)
            return next
          },
          return: async (): Promise<IteratorResult<SynthesisEvent>> =>
            (await inner.return?.()) ?? { done: true, value: undefined },
        }
      },
    }
    return tapped
  },
})

/** The credentials a snapshot must not hold: the endpoint's key, when one is configured. */
const secretsOf = (options: AgentSessionOptions): string[] => {
  try {
    return [Redacted.value(secretOf(resolveOpenAIConfig(options.openai, options.env)))]
  } catch {
    return []
  }
}

/**
 * Continues a persisted call in this or another process on new connections: the chat is the
 * snapshot's, and the caller's words it had not answered are answered first. The agent (its
 * tools), the parts and the credential come from `options` as for {@link createAgentSession}.
 * @throws {SnapshotError} for a snapshot of another version or kind, or a malformed one
 */
export const resumeAgentSession = (snapshot: unknown, options: AgentSessionOptions): AgentSession => {
  const decoded = decodeSnapshot(snapshot, "agent") as AgentSnapshot
  if ((decoded.data as { mode?: unknown } | null)?.mode !== undefined)
    throw new SnapshotError({
      reason: { _tag: "Malformed", path: "data.mode" },
      message:
        "malformed snapshot at data.mode: a realtime agent's snapshot; resume it with `realtime` options",
    })
  return startAgentSession(options, decoded.data)
}

/**
 * Creates an agent session (its children connect at once); `start` connects the call's audio
 * (done here when `input` is given).
 * @throws {OpenAIConfigError} when an OpenAI part has no credential or endpoint configured
 * @throws {RangeError} for a negative time or count in the turn options
 */
export const createAgentSession = (options: AgentSessionOptions): AgentSession => startAgentSession(options)

/** Creates an agent session, resumed from `resume` when given. */
const startAgentSession = (options: AgentSessionOptions, resume?: AgentSnapshotData): AgentSession => {
  const settings = settingsOf(options)
  const runtime = makeSessionRuntime(options.context ?? liveSocketContext("agent", options), {
    inspect: options.inspect,
  })
  const endpoint: AgentEndpoint = {
    ...(options.openai === undefined ? {} : { openai: options.openai }),
    ...(options.env === undefined ? {} : { env: options.env }),
  }
  const startedAt = runtime.now()
  const now = () => runtime.now() - startedAt
  const events = createChannel<AgentEvent>()
  const push = (event: AgentEvent) => events.push(event)
  let output: AudioOutput = options.output ?? createCallRecorder()
  let input: AudioInput | undefined
  let agent = options.agent

  const stt = (isPart<AgentSTT>(options.stt) ? options.stt : openaiSTT(options.stt ?? {})).parts(
    runtime,
    endpoint,
  )
  const llm = (isPart<AgentLLM>(options.llm) ? options.llm : openaiLLM(options.llm ?? {})).parts(
    runtime,
    endpoint,
  )

  // The reply being played: its segment timeline, whether its audio has started, its latencies.
  let segments: { id: string; characters: number | undefined; audioMs: number }[] = []
  let replyOpen = false
  let audible = false
  let paused = false
  let actorRef: Actor<typeof agentSessionMachine> | undefined
  const ttsOptions = isTTS(options.tts) ? { tts: options.tts } : (options.tts ?? {})
  // A TTS the session made is the session's to close; a given one stays its owner's.
  const ownsTTS = ttsOptions.tts === undefined
  const baseTTS: TTS =
    ttsOptions.tts ??
    createTTS({
      ...ttsOptions.speech,
      ...(endpoint.openai === undefined ? {} : { openai: endpoint.openai }),
      ...(endpoint.env === undefined ? {} : { env: endpoint.env }),
    })
  const tts = SynthesisSession.logic(runtime, {
    ...ttsOptions,
    tts: withSegmentReports(baseTTS, (m) => {
      const segment = segments.find((s) => s.id === m.segmentId)
      if (segment !== undefined) segment.characters = m.characters
    }),
    onAudio: (audio) => {
      if (!replyOpen) return
      const at = now()
      output.agent(audio.frame, at)
      const ms = (audio.frame.data.length / audio.frame.channels / audio.frame.sampleRateHz) * 1000
      const last = segments[segments.length - 1]
      if (last?.id === audio.segmentId) last.audioMs += ms
      else segments.push({ id: audio.segmentId, characters: undefined, audioMs: ms })
      if (!audible) {
        audible = true
        turn.firstAudioAt = at
        reportMetrics(at)
        actorRef?.send({ type: "OUTPUT.STARTED" })
      }
    },
  })

  // Turn timing: the facade timestamps the states the machine goes through.
  const metrics: TurnMetrics[] = [...(resume?.metrics ?? [])]
  let turnCount = resume?.restore.turnCount ?? 0
  const turn: {
    endOfSpeechAt: number | undefined
    finalAt: number | undefined
    endedAt: number | undefined
    requestAt: number | undefined
    firstTextAt: number | undefined
    firstAudioAt: number | undefined
    fromCaller: boolean
  } = {
    endOfSpeechAt: undefined,
    finalAt: undefined,
    endedAt: undefined,
    requestAt: undefined,
    firstTextAt: undefined,
    firstAudioAt: undefined,
    fromCaller: false,
  }
  const since = (from: number | undefined, to: number | undefined) =>
    from === undefined || to === undefined ? undefined : to - from
  const reportMetrics = (at: number) => {
    if (!turn.fromCaller) return
    const m: TurnMetrics = {
      turn: turnCount,
      transcriptMs: since(turn.endOfSpeechAt, turn.finalAt),
      endpointingMs: since(turn.endOfSpeechAt, turn.endedAt),
      llmFirstTextMs: since(turn.requestAt, turn.firstTextAt),
      ttsFirstAudioMs: since(turn.firstTextAt, turn.firstAudioAt),
      totalMs: since(turn.endOfSpeechAt ?? turn.endedAt, turn.firstAudioAt),
    }
    metrics.push(m)
    push({ type: "metrics", metrics: m, atMs: at })
    runtime.report(actor, { type: "voxstate.metrics", metrics: m, atMs: at })
  }

  // The application's replies waiting to be played, by their id.
  const replies = new Map<string, (reply: SpokenReply) => void>()
  let replyCount = 0
  const awaitReply = (send: (replyId: string) => void): Promise<SpokenReply> => {
    if (closing !== undefined) return Promise.resolve({ text: "", interrupted: true })
    const replyId = `reply_${++replyCount}`
    const done = new Promise<SpokenReply>((resolve) => replies.set(replyId, resolve))
    send(replyId)
    return done
  }

  const toolsFor = (a: Agent) => new Map(a.tools.map((t) => [t.tool.name, t]))
  let toolsByName = toolsFor(agent)

  const session: AgentSession = {
    get actor() {
      return actor
    },
    runtime,
    get output() {
      return output
    },
    get chatContext() {
      return actor.getSnapshot().context.items
    },
    get agent() {
      return agent
    },
    chat: () => actor.getSnapshot().context.items,
    metrics: () => metrics,
    start: (audio = {}) => {
      if (started) throw new Error("The agent session is already started")
      started = true
      if (audio.output !== undefined) output = audio.output
      input = audio.input
      enterAgent(agent)
      input?.start((frame) => {
        output.caller(frame, now())
        stt.push(frame)
      }, runtime.clock)
    },
    say: (text, replyOptions = {}) =>
      awaitReply((replyId) =>
        actor.send({
          type: "SAY",
          text,
          replyId,
          ...(replyOptions.allowInterruptions === undefined
            ? {}
            : { allowInterruptions: replyOptions.allowInterruptions }),
        }),
      ),
    generateReply: (replyOptions = {}) =>
      awaitReply((replyId) =>
        actor.send({
          type: "GENERATE_REPLY",
          replyId,
          ...(replyOptions.instructions === undefined ? {} : { instructions: replyOptions.instructions }),
          ...(replyOptions.allowInterruptions === undefined
            ? {}
            : { allowInterruptions: replyOptions.allowInterruptions }),
        }),
      ),
    interrupt: () => actor.send({ type: "INTERRUPT" }),
    commitUserTurn: () => actor.send({ type: "USER.COMMIT" }),
    updateAgent: (next) => {
      agent = next
      toolsByName = toolsFor(next)
      actor.send({ type: "AGENT.UPDATED", instructions: next.instructions })
      enterAgent(next)
    },
    persist: () => {
      const snapshot = actor.getSnapshot()
      const speechOf = (): { readonly speech?: unknown } => {
        const child = actor.system.get("stt")
        const pending = child === undefined ? undefined : stt.pendingSpeech?.(child.getSnapshot().context)
        return pending === undefined ? {} : { speech: pending }
      }
      return makeSnapshot(
        "agent",
        {
          savedAtMs: runtime.now(),
          machine: actor.getPersistedSnapshot(),
          data: {
            restore: agentRestoreOf(snapshot.context, agentStateOf(snapshot) !== "idle"),
            ...speechOf(),
            instructions: snapshot.context.instructions,
            metrics,
          },
        },
        secretsOf(options),
      )
    },
    close: () => {
      closing ??= (async () => {
        input?.stop()
        actor.send({ type: "CLOSE" })
        actor.stop()
        await runtime.shutdown()
        for (const resolve of replies.values()) resolve({ text: "", interrupted: true })
        replies.clear()
        if (ownsTTS) await baseTTS.close()
        push({ type: "closed", atMs: now() })
        events.end()
      })()
      return closing
    },
    [Symbol.asyncIterator]: () => events[Symbol.asyncIterator](),
  }
  let started = false
  let closing: Promise<void> | undefined

  const enterAgent = (entering: Agent) =>
    enterAgentWith(entering, session, (error) => push({ type: "error", error, atMs: now() }))

  const logic = agentSessionMachine.provide({
    actors: {
      stt: stt.logic,
      llm: llm.logic,
      tts: tts.logic,
      relayStt: relayEmitted("stt"),
      llmTurn: fromCallback<AnyEventObject, LlmTurnInput>(({ input: round, system, sendBack }) => {
        const chain = system.get("llm")
        let ended = false
        const subscription = chain.on("*", (event: AnyEventObject) => {
          if (event.turnId !== round.turnId) return
          if (event.type === "turn.chunk") {
            const chunk = event.chunk as ChatChunk
            if (chunk.type === "text" && turn.firstTextAt === undefined) turn.firstTextAt = now()
            if (chunk.type === "end") ended = true
            sendBack({ type: "LLM.CHUNK", turnId: round.turnId, chunk })
          } else if (event.type === "turn.failed") {
            ended = true
            sendBack({ type: "LLM.FAILED", turnId: round.turnId, error: event.error })
          }
        })
        turn.requestAt ??= now()
        chain.send(
          llm.chat({
            turnId: round.turnId,
            items: round.items,
            instructions: round.instructions,
            tools: round.toolsAllowed ? agent.tools.map((t) => t.tool) : [],
          }),
        )
        return () => {
          subscription.unsubscribe()
          // Leaving the round before its end (an interruption) cancels the model's response.
          if (!ended) chain.send(llm.cancel(round.turnId))
        }
      }),
      runTools: fromPromise<readonly ToolOutput[], { readonly calls: readonly ToolCall[] }>(
        ({ input: { calls }, signal }) => runToolCalls(calls, toolsByName, { signal, session }),
      ),
      playout: fromPromise<void, void>(
        ({ signal }) =>
          new Promise<void>((resolve, reject) => {
            let timer: number | undefined
            const check = () => {
              timer = undefined
              const left = output.agentEndMs() - now()
              if (left <= 0 && !paused) resolve()
              else timer = runtime.clock.setTimeout(check, Math.max(FRAME_MS, left))
            }
            signal.addEventListener("abort", () => {
              if (timer !== undefined) runtime.clock.clearTimeout(timer)
              reject(signal.reason)
            })
            check()
          }),
      ),
      measurePlayed: fromPromise<string, { readonly reply: string }>(async ({ input: { reply } }) =>
        heardText(reply, segments as readonly TimelineSegment[], output.playedMs(now())),
      ),
    },
    actions: {
      sendText: sendTo("tts", (_args, params: { readonly delta: string }) => ({
        type: "TTS.TEXT" as const,
        delta: params.delta,
      })),
      flushText: sendTo("tts", { type: "TTS.FLUSH" as const }),
      endText: sendTo("tts", { type: "TTS.END" as const }),
      beginReply: (_args, params: { readonly source: "caller" | "say" | "generate" }) => {
        turn.fromCaller = params.source === "caller"
        if (turn.fromCaller) turnCount += 1
        output.beginReply()
        segments = []
        replyOpen = true
        audible = false
        turn.requestAt = undefined
        turn.firstTextAt = undefined
        turn.firstAudioAt = undefined
      },
      pauseOutput: () => {
        paused = true
        output.pause?.(now())
      },
      resumeOutput: () => {
        paused = false
        output.resume?.(now())
      },
      clearOutput: () => {
        replyOpen = false
        output.clear(now())
      },
      commitSpeech: sendTo("stt", () => stt.commit()),
    },
  })

  const actor = createActor(logic, {
    ...rootActorOptions(runtime),
    input: {
      settings,
      instructions: agent.instructions,
      sttInput: stt.input,
      llmInput: llm.input,
      ...(resume === undefined ? {} : { restore: resume.restore }),
    },
  })
  actorRef = actor
  actor.on("*", (event) => {
    const atMs = now()
    if (event.type === "user_transcript" && event.final) turn.finalAt = atMs
    if (event.type === "agent_transcript" && event.replyId !== undefined) {
      replies.get(event.replyId)?.({ text: event.text, interrupted: event.interrupted })
      replies.delete(event.replyId)
    }
    push({ ...event, atMs })
  })
  // States as events: the caller's and the agent's, on every change.
  let userState: UserState = "silent"
  let agentState: AgentState = "idle"
  actor.subscribe({
    next: (snapshot) => {
      const atMs = now()
      const nextUser = userStateOf(snapshot)
      if (nextUser !== userState) {
        // Endpointing over: the caller's turn ended (or had no words).
        if (userState === "endOfTurnPending" && nextUser === "silent") turn.endedAt = atMs
        userState = nextUser
        push({ type: "user_state", state: nextUser, atMs })
      }
      const nextAgent = agentStateOf(snapshot)
      if (nextAgent !== agentState) {
        agentState = nextAgent
        push({ type: "agent_state", state: nextAgent, atMs })
      }
    },
    error: (error) => {
      push({ type: "error", error, atMs: now() })
    },
  })
  actor.start()
  const sttChild = actor.system.get("stt")
  // The caller's audio that was not transcribed when the snapshot was taken is heard again.
  if (resume?.speech !== undefined && sttChild !== undefined) {
    stt.replaySpeech?.(resume.speech, (event) => sttChild.send(event))
  }
  sttChild?.on("end_of_speech", () => {
    turn.endOfSpeechAt = now()
  })
  if (options.input !== undefined || options.output !== undefined)
    session.start({
      ...(options.input === undefined ? {} : { input: options.input }),
      ...(options.output === undefined ? {} : { output: options.output }),
    })
  return session
}
