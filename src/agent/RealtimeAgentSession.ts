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
import { Context } from "effect"
import { type Actor, createActor, enqueueActions, fromCallback, fromPromise, sendTo } from "xstate"
import { agentRealtimeMachine } from "../../machines/agent/agentRealtime.ts"
import { heardTranscript } from "../../machines/realtime/conversationMirror.ts"
import type {
  RealtimeSessionContext,
  RealtimeToolDefinition,
} from "../../machines/realtime/realtimeSession.ts"
import { makeAudioFrame } from "../audio/index.ts"
import type { ChatItem, ChatItemInput } from "../llm/ChatContext.ts"
import { ChatContext } from "../llm/ChatContext.ts"
import { RealtimeSession, type RealtimeSessionOptions } from "../realtime/RealtimeSession.ts"
import { createChannel } from "../runtime/channel.ts"
import { relayEmitted } from "../runtime/relayEmitted.ts"
import { makeSessionRuntime, type SessionRuntime } from "../runtime/SessionRuntime.ts"
import type { OpenAIConfigOptions } from "../transport/OpenAIConfig.ts"
import { RealtimeSocket } from "../transport/RealtimeSocket.ts"
import type { AgentEvent, TurnMetrics } from "./AgentSession.ts"
import { type AudioInput, type AudioOutput, CALL_RATE_HZ, createCallRecorder, FRAME_MS } from "./audio.ts"
import type { Agent } from "./define.ts"

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

/** A running agent session in realtime mode. */
export interface RealtimeAgentSession extends AsyncIterable<AgentEvent> {
  readonly mode: "realtime"
  /** The session's actor (for inspection). */
  readonly actor: Actor<typeof agentRealtimeMachine>
  readonly runtime: SessionRuntime<RealtimeSocket>
  readonly output: AudioOutput
  /** The conversation as the server holds it (an interrupted reply cut to the words heard). */
  chat(): readonly (ChatItem | ChatItemInput)[]
  readonly chatContext: ChatContext
  /** Per-turn latencies so far. */
  metrics(): readonly TurnMetrics[]
  /** Starts the caller's audio (when not given in the options). */
  start(io: { readonly input: AudioInput }): void
  /** Has the agent say `text` (a response told to say it word for word). */
  say(text: string): void
  /** Asks for a reply now, with extra instructions for it. */
  generateReply(options?: { readonly instructions?: string }): void
  /** Stops the agent at once: response cancelled, output cleared, the item cut at what was played. */
  interrupt(): void
  /** Hands the call to another agent: its instructions and tools; the conversation stays. */
  updateAgent(agent: Agent): void
  /** Timers and fibers still running (all zero once closed). */
  readonly resources: { readonly fibers: number; readonly timers: number }
  /** Ends the call: stops the input, the Realtime session, every timer and socket. Idempotent. */
  close(): Promise<void>
}

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
 * Creates and starts an agent session in realtime mode (`createAgentSession` with `realtime`).
 * @throws {OpenAIConfigError} when no credential or endpoint is configured
 */
export const createRealtimeAgentSession = (options: RealtimeAgentSessionOptions): RealtimeAgentSession => {
  const runtime = makeSessionRuntime(options.context ?? Context.make(RealtimeSocket, RealtimeSocket.live))
  const output = options.output ?? createCallRecorder()
  const allowInterruptions = options.allowInterruptions ?? true
  const startedAt = runtime.now()
  const now = () => runtime.now() - startedAt
  const events = createChannel<AgentEvent>()

  const { turnDetection, inputTranscription, ...rest } = options.realtime
  const detection = turnDetection === undefined ? { type: "server_vad" as const } : turnDetection
  const parts = RealtimeSession.logic(runtime, {
    ...rest,
    ...(options.openai === undefined ? {} : { openai: options.openai }),
    ...(options.env === undefined ? {} : { env: options.env }),
    instructions: options.agent.instructions,
    tools: options.agent.tools.map((t) => t.tool),
    turnDetection:
      detection === null || allowInterruptions ? detection : { ...detection, interruptResponse: false },
    inputTranscription: inputTranscription === undefined ? DEFAULT_TRANSCRIPTION : inputTranscription,
  })
  let tools = new Map(options.agent.tools.map((t) => [t.tool.name, t]))
  /** Milliseconds of the current reply's audio given to the output. */
  let replyAudioMs = 0
  const realtimeContext = (): RealtimeSessionContext | undefined =>
    actorRef?.system.get("realtime")?.getSnapshot()?.context as RealtimeSessionContext | undefined
  const playedMs = () => output.playedFraction(now()) * replyAudioMs

  const logic = agentRealtimeMachine.provide({
    actors: {
      realtime: parts.logic,
      relayRealtime: relayEmitted("realtime"),
      playback: fromCallback(({ sendBack }) => {
        let timer: number | undefined
        const tick = () => {
          sendBack({ type: "PLAYED", playedMs: playedMs() })
          timer = runtime.clock.setTimeout(tick, FRAME_MS)
        }
        timer = runtime.clock.setTimeout(tick, FRAME_MS)
        return () => {
          if (timer !== undefined) runtime.clock.clearTimeout(timer)
        }
      }),
      playout: fromPromise<void, void>(
        () =>
          new Promise<void>((resolve) => {
            runtime.clock.setTimeout(() => resolve(), Math.max(0, output.agentEndMs() - now()))
          }),
      ),
      measureHeard: fromPromise(async ({ input }) => {
        const mirror = realtimeContext()?.mirror ?? []
        const item = input.itemId === undefined ? undefined : mirror.find((m) => m.id === input.itemId)
        return item === undefined ? "" : heardTranscript(item, input.audioEndMs).trim()
      }),
      runTools: fromPromise(async ({ input }) => {
        const outputs: ChatItemInput[] = []
        for (const call of input.calls) {
          const tool = tools.get(call.name)
          let result: unknown
          try {
            result =
              tool === undefined
                ? { error: `No tool named ${call.name}` }
                : await tool.execute(call.arguments)
          } catch (error) {
            result = { error: error instanceof Error ? error.message : String(error) }
          }
          outputs.push({ type: "function_call_output", callId: call.callId, output: result ?? null })
        }
        return outputs
      }),
    },
    actions: {
      playAudio: (_args, params: { readonly samples: Int16Array }) => {
        const at = now()
        for (let i = 0; i < params.samples.length; i += FRAME_SAMPLES) {
          const data = params.samples.subarray(i, Math.min(params.samples.length, i + FRAME_SAMPLES))
          output.agent(makeAudioFrame(data, CALL_RATE_HZ, 1), at)
        }
        replyAudioMs += (params.samples.length * 1000) / CALL_RATE_HZ
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
        ({ enqueue }, params: { readonly outputs: readonly ChatItemInput[]; readonly respond: boolean }) => {
          for (const item of params.outputs) {
            if (item.type !== "function_call_output") continue
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
          params: { readonly instructions: string | undefined; readonly toolChoice: "none" | undefined },
        ) => ({
          type: "CREATE_RESPONSE" as const,
          requestId: `req_${randomUUID().slice(0, 8)}`,
          request: {
            ...(params.instructions === undefined ? {} : { instructions: params.instructions }),
            ...(params.toolChoice === undefined ? {} : { toolChoice: params.toolChoice }),
          },
          atMs: runtime.now(),
        }),
      ),
      requestSpeech: sendTo("realtime", (_args, params: { readonly text: string }) => ({
        type: "CREATE_RESPONSE" as const,
        requestId: `req_${randomUUID().slice(0, 8)}`,
        request: { instructions: sayInstructions(params.text), toolChoice: "none" as const },
        atMs: runtime.now(),
      })),
      interruptResponse: sendTo("realtime", { type: "INTERRUPT" as const }),
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

  // Turn timing: the facade timestamps what the machine (and the session) report.
  const metrics: TurnMetrics[] = []
  let turn = 0
  let endOfSpeech: number | undefined
  let transcriptAt: number | undefined
  let responseAt: number | undefined
  let firstText: number | undefined
  const actor = createActor(logic, {
    clock: runtime.clock,
    input: {
      maxToolSteps: options.maxToolSteps ?? 3,
      allowInterruptions,
      realtimeInput: parts.input,
    },
  })
  let actorRef: Actor<typeof agentRealtimeMachine> | undefined = actor
  actor.on("*", (event) => {
    const atMs = now()
    if (event.type === "user_transcript") transcriptAt = atMs
    else if (event.type === "agent_thinking") {
      output.beginReply()
      replyAudioMs = 0
      responseAt = atMs
      firstText = undefined
    } else if (event.type === "agent_text" && firstText === undefined) firstText = atMs
    events.push({ ...event, atMs })
    if (event.type === "agent_speech_started") {
      turn += 1
      const m: TurnMetrics = {
        turn,
        transcriptMs:
          endOfSpeech === undefined || transcriptAt === undefined || transcriptAt < endOfSpeech
            ? undefined
            : transcriptAt - endOfSpeech,
        llmFirstTextMs:
          firstText === undefined || responseAt === undefined ? undefined : firstText - responseAt,
        ttsFirstAudioMs: responseAt === undefined ? undefined : atMs - responseAt,
        totalMs: atMs - (endOfSpeech ?? responseAt ?? atMs),
      }
      metrics.push(m)
      events.push({ type: "metrics", metrics: m, atMs })
      endOfSpeech = undefined
      transcriptAt = undefined
    }
  })

  let input: AudioInput | undefined
  let closing: Promise<void> | undefined
  const release = (): Promise<void> => {
    closing ??= (async () => {
      input?.stop()
      if (actor.getSnapshot().status === "active") actor.send({ type: "CLOSE" })
      actor.stop()
      actorRef = undefined
      await runtime.shutdown()
      events.end()
    })()
    return closing
  }
  actor.subscribe({
    complete: () => void release(),
    error: (error) => {
      events.push({ type: "error", error, atMs: now() })
      void release()
    },
  })
  actor.start()
  // The caller's end of speech, as the server's VAD put it, for the turn's latency.
  actor.system.get("realtime")?.on("input_speech_stopped", () => {
    endOfSpeech = now()
  })
  if (options.agent.greeting !== undefined) actor.send({ type: "SAY", text: options.agent.greeting })

  const start = (io: { readonly input: AudioInput }) => {
    if (input !== undefined) throw new TypeError("The session's audio input is already started")
    if (closing !== undefined) throw new TypeError("The session has ended")
    input = io.input
    io.input.start((frame) => {
      output.caller(frame, now())
      parts.audio.push(frame)
    }, runtime.clock)
  }
  if (options.input !== undefined) start({ input: options.input })

  const chat = () => new ChatContext(realtimeContext()?.mirror.map((m) => m.item) ?? []).items
  return {
    mode: "realtime",
    actor,
    runtime,
    output,
    chat,
    get chatContext() {
      return new ChatContext(chat())
    },
    get resources() {
      return { fibers: runtime.activeFibers, timers: runtime.clock.pendingTimers }
    },
    metrics: () => metrics,
    start,
    say: (text) => actor.send({ type: "SAY", text }),
    generateReply: (reply) => actor.send({ type: "GENERATE_REPLY", instructions: reply?.instructions }),
    interrupt: () => actor.send({ type: "INTERRUPT" }),
    updateAgent: (agent) => {
      tools = new Map(agent.tools.map((t) => [t.tool.name, t]))
      actor.send({ type: "UPDATE_AGENT", instructions: agent.instructions, tools: toolDefinitionsOf(agent) })
    },
    close: release,
    [Symbol.asyncIterator]: () => events[Symbol.asyncIterator](),
  }
}
