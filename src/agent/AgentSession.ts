/**
 * A voice agent on a call, pipeline mode: `createAgentSession({ agent, openai, env, input,
 * output })` runs {@link agentSessionMachine} with the facades' own logic as its children, all
 * on one runtime and one clock: the streaming transcription session hears the caller, the
 * Responses chain answers (running the agent's tools), each reply is spoken by a synthesis
 * session whose frames go to the output on the call's timeline. What happens comes out as
 * {@link AgentEvent}s through one channel, each with its call time; every reply carries its
 * turn's latencies.
 * @module
 */
import { Context } from "effect"
import { type Actor, createActor, fromPromise, sendTo } from "xstate"
import { type AgentSessionEmitted, agentSessionMachine } from "../../machines/agent/agentSession.ts"
import type { ChatItem, ChatItemInput } from "../../machines/responses/chatItems.ts"
import { ResponsesChain, type ResponsesLLMOptions } from "../llm/ResponsesLLM.ts"
import { createChannel } from "../runtime/channel.ts"
import { relayEmitted } from "../runtime/relayEmitted.ts"
import { makeSessionRuntime, type SessionRuntime } from "../runtime/SessionRuntime.ts"
import { TranscriptionSession, type TranscriptionSessionOptions } from "../stt/TranscriptionSession.ts"
import type { OpenAIConfigOptions } from "../transport/OpenAIConfig.ts"
import { RealtimeSocket } from "../transport/RealtimeSocket.ts"
import { SynthesisSession, type SynthesisSessionOptions } from "../tts/SynthesisSession.ts"
import { type AudioInput, type AudioOutput, createCallRecorder } from "./audio.ts"
import type { Agent } from "./define.ts"

/** Latencies of one turn, in ms of call time. */
export interface TurnMetrics {
  readonly turn: number
  /** End of the caller's speech to its final transcript. */
  readonly transcriptMs: number | undefined
  /** Transcript to the model's first text. */
  readonly llmFirstTextMs: number | undefined
  /** The model's first text to the reply's first audio. */
  readonly ttsFirstAudioMs: number | undefined
  /** End of the caller's speech (or the transcript) to the reply's first audio. */
  readonly totalMs: number | undefined
}

/** What the session reports, each with its call time (`atMs`). */
export type AgentEvent =
  | (AgentSessionEmitted & { readonly atMs: number })
  | { readonly type: "metrics"; readonly metrics: TurnMetrics; readonly atMs: number }

/** Options of {@link createAgentSession}. */
export interface AgentSessionOptions {
  readonly agent: Agent
  readonly openai?: OpenAIConfigOptions
  readonly env?: Record<string, string | undefined>
  /** The caller's audio; none: push frames with `session.pushAudio`. */
  readonly input?: AudioInput
  /** The call's audio out; default a {@link createCallRecorder}. */
  readonly output?: AudioOutput
  /** How long the caller must speak before the agent stops (default 400 ms). */
  readonly minInterruptionMs?: number
  /** Whether the caller can cut the agent off (default true). */
  readonly allowInterruptions?: boolean
  /** Tool rounds per turn (default 3). */
  readonly maxToolRounds?: number
  /** Transcription options besides the endpoint. */
  readonly stt?: Omit<TranscriptionSessionOptions, "openai" | "env" | "context">
  /** Responses options besides the endpoint, instructions and tools. */
  readonly llm?: Omit<ResponsesLLMOptions, "openai" | "env" | "instructions" | "tools" | "context">
  /** Synthesis options besides the endpoint and the sink (voice, a ready `tts`...). */
  readonly tts?: Omit<SynthesisSessionOptions, "openai" | "env" | "onAudio">
  /** The conversation so far, for a call resumed from a checkpoint (default none). */
  readonly history?: readonly (ChatItem | ChatItemInput)[]
  /** The services and clock the session runs on (a `TestClock` in tests); default the live ones. */
  readonly context?: Context.Context<RealtimeSocket>
}

/** A running agent session. */
export interface AgentSession extends AsyncIterable<AgentEvent> {
  /** The session's actor (for inspection). */
  readonly actor: Actor<typeof agentSessionMachine>
  readonly runtime: SessionRuntime<RealtimeSocket>
  readonly output: AudioOutput
  /** The conversation as the model sees it (an interrupted reply cut to the words heard). */
  chat(): readonly (ChatItem | ChatItemInput)[]
  /** Per-turn latencies so far. */
  metrics(): readonly TurnMetrics[]
  /** Has the agent say `text` (no model turn). */
  say(text: string): void
  /** Ends the call: stops the input, every child, every timer and socket. Idempotent. */
  close(): Promise<void>
}

const callRecorderOf = (options: AgentSessionOptions) => options.output ?? createCallRecorder()

/**
 * Creates and starts an agent session.
 * @throws {OpenAIConfigError} when no credential or endpoint is configured
 */
export const createAgentSession = (options: AgentSessionOptions): AgentSession => {
  const runtime = makeSessionRuntime(options.context ?? Context.make(RealtimeSocket, RealtimeSocket.live))
  const output = callRecorderOf(options)
  const endpoint = {
    ...(options.openai === undefined ? {} : { openai: options.openai }),
    ...(options.env === undefined ? {} : { env: options.env }),
  }
  const startedAt = runtime.now()
  const now = () => runtime.now() - startedAt
  const events = createChannel<AgentEvent>()
  const push = (event: AgentEvent) => events.push(event)

  const stt = TranscriptionSession.logic(runtime, { ...options.stt, ...endpoint })
  const llm = ResponsesChain.logic(runtime, {
    ...options.llm,
    ...endpoint,
    instructions: options.agent.instructions,
    tools: options.agent.tools.map((t) => t.tool),
  })
  let actorRef: Actor<typeof agentSessionMachine> | undefined
  let replyAudible = false
  const tts = SynthesisSession.logic(runtime, {
    ...options.tts,
    ...endpoint,
    onAudio: (audio) => {
      output.agent(audio.frame, now())
      if (!replyAudible) {
        replyAudible = true
        actorRef?.send({ type: "OUTPUT.STARTED" })
      }
    },
  })
  const toolsByName = new Map(options.agent.tools.map((t) => [t.tool.name, t]))

  const logic = agentSessionMachine.provide({
    actors: {
      stt: stt.logic,
      llm: llm.logic,
      tts: tts.logic,
      relayStt: relayEmitted("stt"),
      relayLlm: relayEmitted("llm"),
      playout: fromPromise<void, void>(
        () =>
          new Promise<void>((resolve) => {
            runtime.clock.setTimeout(() => resolve(), Math.max(0, output.agentEndMs() - now()))
          }),
      ),
      measureHeard: fromPromise(async () => output.playedFraction(now())),
      runTools: fromPromise(async ({ input }) => {
        const outputs: ChatItemInput[] = []
        for (const call of input.calls) {
          const tool = toolsByName.get(call.name)
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
      sendChat: sendTo("llm", ({ context }, params: { readonly turnId: string }) => ({
        type: "CHAT" as const,
        request: llm.request(context.items, {}, params.turnId),
      })),
      sendText: sendTo("tts", (_args, params: { readonly delta: string }) => ({
        type: "TTS.TEXT" as const,
        delta: params.delta,
      })),
      endText: sendTo("tts", { type: "TTS.END" as const }),
      clearOutput: () => {
        output.clear(now())
      },
    },
  })

  // Turn timing: the facade timestamps what the machine emits.
  const metrics: TurnMetrics[] = []
  let turn = 0
  let endOfSpeech: number | undefined
  let transcriptAt: number | undefined
  let firstText: number | undefined
  const actor = createActor(logic, {
    clock: runtime.clock,
    input: {
      minInterruptionMs: options.minInterruptionMs ?? 400,
      allowInterruptions: options.allowInterruptions ?? true,
      maxToolRounds: options.maxToolRounds ?? 3,
      sttInput: stt.input,
      llmInput: llm.input,
      ...(options.history === undefined ? {} : { history: options.history }),
    },
  })
  actorRef = actor
  actor.on("*", (event) => {
    const atMs = now()
    if (event.type === "user_transcript") {
      turn += 1
      transcriptAt = atMs
      firstText = undefined
    } else if (event.type === "agent_thinking") {
      output.beginReply()
      replyAudible = false
    } else if (event.type === "agent_text" && firstText === undefined) firstText = atMs
    push({ ...event, atMs })
    if (event.type === "agent_speech_started" && transcriptAt !== undefined) {
      const base = endOfSpeech ?? transcriptAt
      const m: TurnMetrics = {
        turn,
        transcriptMs: endOfSpeech === undefined ? undefined : transcriptAt - endOfSpeech,
        llmFirstTextMs: firstText === undefined ? undefined : firstText - transcriptAt,
        ttsFirstAudioMs: firstText === undefined ? undefined : atMs - firstText,
        totalMs: atMs - base,
      }
      metrics.push(m)
      push({ type: "metrics", metrics: m, atMs })
      transcriptAt = undefined
      endOfSpeech = undefined
    }
  })
  actor.subscribe({
    error: (error) => {
      push({ type: "error", error, atMs: now() })
    },
  })
  actor.start()
  if (options.agent.greeting !== undefined) actor.send({ type: "SAY", text: options.agent.greeting })
  // The caller's end of speech, for the turn's latency (the machine's region sees it too).
  const sttChild = actor.system.get("stt")
  sttChild?.on("end_of_speech", () => {
    endOfSpeech = now()
  })

  const input = options.input
  input?.start((frame) => {
    output.caller(frame, now())
    stt.audio.push(frame)
  }, runtime.clock)

  let closing: Promise<void> | undefined
  return {
    actor,
    runtime,
    output,
    chat: () => actor.getSnapshot().context.items,
    metrics: () => metrics,
    say: (text) => actor.send({ type: "SAY", text }),
    close: () => {
      closing ??= (async () => {
        input?.stop()
        actor.send({ type: "CLOSE" })
        actor.stop()
        await runtime.shutdown()
        events.end()
      })()
      return closing
    },
    [Symbol.asyncIterator]: () => events[Symbol.asyncIterator](),
  }
}
