/**
 * The agent's voice-to-voice latency and CPU, against the simulator in a child process (so
 * this process spends its CPU on the clients alone), in real time: scripted callers speak
 * short lines in the simulator's voice (whose words the simulator's transcription hears), each
 * in reply to the agent's last answer (the simulator's echo, "You said: ..."), N calls at once.
 *
 * Per turn: from the end of the caller's voice to the agent's first audio, minus the one delay
 * the simulator is configured to take (server VAD's silence wait, `SILENCE_MS`): the runtime's
 * own share. p50/p99 over 200 turns (N calls × 200/N turns), and the CPU time this process
 * spent per call-second, at N = 10 and 50.
 *
 * Baseline, in the same run and on the same simulator: the sum of the parts driven directly by
 * hand, doing the same work for the same callers: a transcription session fed the caller's
 * frames, on each final transcript a Responses LLM turn (same socket transport) whose text is
 * pushed into a TTS stream, its frames placed on the same kind of call recorder.
 *
 * `npm run bench agent`; `AGENT_BENCH_CALLS=10,50` and `AGENT_BENCH_TURNS=200` change the sizes.
 */

import { type AudioOutput, CALL_RATE_HZ, createCallRecorder } from "../src/agent/audio.ts"
import { type AgentSession, createAgentSession, defineAgent } from "../src/agent/index.ts"
import type { AudioFrame } from "../src/audio/index.ts"
import type { XStateClock } from "../src/clock/EffectClock.ts"
import { ChatContext, createLLM } from "../src/llm/index.ts"
import { synthesizeSpeech } from "../src/simulator/index.ts"
import { createTranscriptionSession } from "../src/stt/index.ts"
import { type ScriptedCaller, scriptedCaller } from "../src/testing/index.ts"
import { createTTS } from "../src/tts/index.ts"
import { quantile, startChildSimulator } from "./support.ts"

/** The simulator's server VAD waits this long after the voice ends before it ends the turn. */
const SILENCE_MS = 300
/** The caller answers this long after the agent stops. */
const REPLY_GAP_MS = 200
const LINES = ["Hi.", "Is it open?", "Two, please.", "Yes.", "Thanks a lot.", "Sure.", "At six?", "Okay."]
const TURNS = Number(process.env.AGENT_BENCH_TURNS ?? 200)
const CALLS = (process.env.AGENT_BENCH_CALLS ?? "10,50").split(",").map(Number)

const turnDetection = { type: "server_vad" as const, silenceDurationMs: SILENCE_MS }

/** Where a line's voice ends within its audio, in ms (the voice closes with a pause). */
const voicedMs = (text: string): number => {
  const samples = synthesizeSpeech(text, { sampleRateHz: CALL_RATE_HZ })
  let last = samples.length - 1
  while (last > 0 && samples[last] === 0) last -= 1
  return ((last + 1) * 1000) / CALL_RATE_HZ
}
const VOICED_MS = new Map(LINES.map((line) => [line, voicedMs(line)]))

/** One call's caller: `turns` lines, each in reply to the agent. */
const callerFor = (call: number, turns: number): ScriptedCaller =>
  scriptedCaller({
    lines: Array.from({ length: turns }, (_, i) => ({
      text: LINES[(call + i) % LINES.length] ?? "Hi.",
      ...(i === 0 ? { cue: { atMs: 200 + (call % 10) * 37 } } : { cue: { afterAgentMs: REPLY_GAP_MS } }),
    })),
  })

/** Records when the agent's frames reached the call's output (call time, ms). */
const stamping = (output: AudioOutput, stamps: number[]): AudioOutput => ({
  ...output,
  agent(frame, atMs) {
    stamps.push(atMs)
    output.agent(frame, atMs)
  },
})

/** Per turn: first agent audio after the end of the caller's voice, minus that end and the VAD's wait. */
const runtimeShares = (caller: ScriptedCaller, agentStamps: readonly number[]): number[] => {
  const shares: number[] = []
  for (const line of caller.spoken) {
    const voiceEnd = line.startMs + (VOICED_MS.get(line.text) ?? 0)
    const first = agentStamps.find((t) => t >= voiceEnd)
    if (first !== undefined) shares.push(first - voiceEnd - SILENCE_MS)
  }
  return shares
}

/** Resolves once every caller has said its lines and heard the agent's answer, or rejects after `timeoutMs`. */
const waitForCalls = async (done: () => boolean, timeoutMs: number): Promise<void> => {
  const until = performance.now() + timeoutMs
  while (!done()) {
    if (performance.now() > until) throw new Error("calls did not finish in time")
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

interface Run {
  readonly shares: number[]
  /** CPU time of this process per second of each call, in ms. */
  readonly cpuMsPerCallSecond: number
  readonly wallMs: number
}

/** The live clock, for the by-hand baseline's caller. */
const liveClock: XStateClock = {
  setTimeout: (fn: (...args: unknown[]) => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
} as XStateClock

interface Call {
  readonly caller: ScriptedCaller
  readonly stamps: number[]
  readonly answered: () => boolean
  close(): Promise<void>
}

const agentCall = (baseUrl: string, call: number, turns: number): Call => {
  const caller = callerFor(call, turns)
  const stamps: number[] = []
  const session: AgentSession = createAgentSession({
    agent: defineAgent({ instructions: "Be brief." }),
    openai: { apiKey: "sk-simulator", baseUrl },
    env: {},
    input: caller,
    output: caller.listen(stamping(createCallRecorder(), stamps)),
    stt: { turnDetection },
  })
  void (async () => {
    for await (const _ of session) {
      // Draining the events, as an application does.
    }
  })()
  return { caller, stamps, answered: () => answeredAll(caller, stamps, turns), close: () => session.close() }
}

const answeredAll = (caller: ScriptedCaller, stamps: readonly number[], turns: number): boolean => {
  const last = caller.spoken[turns - 1]
  return caller.pending === 0 && last !== undefined && stamps.some((t) => t > last.endMs)
}

/** The same parts driven by hand: transcription session → LLM turn → TTS stream → the call's output. */
const byHandCall = (baseUrl: string, call: number, turns: number): Call => {
  const openai = { apiKey: "sk-simulator", baseUrl }
  const caller = callerFor(call, turns)
  const stamps: number[] = []
  const output = caller.listen(stamping(createCallRecorder(), stamps))
  const stt = createTranscriptionSession({ openai, env: {}, turnDetection })
  const llm = createLLM({ openai, env: {}, transport: "websocket", instructions: "Be brief." })
  const tts = createTTS({ openai, env: {} })
  const startedAt = performance.now()
  const now = () => performance.now() - startedAt
  const chat = new ChatContext()
  caller.start((frame: AudioFrame) => {
    output.caller(frame, now())
    stt.pushFrame(frame)
  }, liveClock)
  const answer = async () => {
    const stream = tts.stream()
    const playing = (async () => {
      for await (const event of stream) if (event.type === "audio") output.agent(event.frame, now())
    })()
    let text = ""
    for await (const chunk of llm.chat(chat)) {
      if (chunk.type === "text") {
        text += chunk.delta
        stream.pushText(chunk.delta)
      }
    }
    stream.endInput()
    chat.addMessage("assistant", text)
    await playing
  }
  let replies = Promise.resolve()
  void (async () => {
    for await (const event of stt) {
      if (event.type !== "final_transcript") continue
      chat.addMessage("user", event.alternatives[0]?.text ?? "")
      replies = replies.then(answer)
    }
  })()
  return {
    caller,
    stamps,
    answered: () => answeredAll(caller, stamps, turns),
    close: async () => {
      caller.stop()
      await replies
      await stt.close()
      await llm.close()
      await tts.close()
    },
  }
}

const runCalls = async (open: (call: number) => Call, calls: number, turns: number): Promise<Run> => {
  globalThis.gc?.()
  const cpu = process.cpuUsage()
  const started = performance.now()
  const running = Array.from({ length: calls }, (_, i) => open(i))
  try {
    await waitForCalls(() => running.every((c) => c.answered()), 60_000 + turns * 10_000)
  } finally {
    await Promise.all(running.map((c) => c.close()))
  }
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  const shares = running.flatMap((c) => runtimeShares(c.caller, c.stamps))
  return { shares, cpuMsPerCallSecond: (used.user + used.system) / 1000 / calls / (wallMs / 1000), wallMs }
}

const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b)
const ms = (v: number) => `${v.toFixed(1).padStart(7)} ms`

export default async (): Promise<void> => {
  const sim = await startChildSimulator()
  try {
    console.log(
      `voice-to-voice: end of the caller's voice to the agent's first audio, minus the simulator's ${SILENCE_MS} ms VAD wait`,
    )
    console.log(
      "CPU: this process's CPU time per second of each call (the simulator runs in a child process)",
    )
    for (const calls of CALLS) {
      const turns = Math.max(1, Math.round(TURNS / calls))
      const base = await runCalls((i) => byHandCall(sim.httpUrl, i, turns), calls, turns)
      const agent = await runCalls((i) => agentCall(sim.httpUrl, i, turns), calls, turns)
      const b = sorted(base.shares)
      const a = sorted(agent.shares)
      const p = (values: number[], q: number) => quantile(values, q)
      console.log(`\nN = ${calls} calls, ${turns} turns each (${a.length} agent turns, ${b.length} by hand)`)
      console.log("                                   p50          p99      CPU ms per call-second")
      console.log(
        `  by hand (STT → LLM → TTS):  ${ms(p(b, 0.5))}   ${ms(p(b, 0.99))}   ${base.cpuMsPerCallSecond.toFixed(2).padStart(8)}`,
      )
      console.log(
        `  agent session:              ${ms(p(a, 0.5))}   ${ms(p(a, 0.99))}   ${agent.cpuMsPerCallSecond.toFixed(2).padStart(8)}`,
      )
      console.log(
        `  ratio (agent / by hand):    ${(p(a, 0.5) / p(b, 0.5)).toFixed(2).padStart(7)}x     ${(p(a, 0.99) / p(b, 0.99)).toFixed(2).padStart(7)}x   ${(agent.cpuMsPerCallSecond / base.cpuMsPerCallSecond).toFixed(2).padStart(7)}x`,
      )
    }
  } finally {
    await sim.stop()
  }
}
