/**
 * The agent's voice-to-voice latency and CPU, against the simulator in a child process (so
 * this process spends its CPU on the clients alone), in real time: scripted callers speak
 * short lines in the simulator's voice (whose words the simulator's transcription hears), each
 * in reply to the agent's last answer (the simulator's echo, "You said: ..."), N calls at once.
 *
 * Per turn: from the end of the caller's voice to the agent's first audio, minus the one delay
 * the simulator is configured to take (server VAD's silence wait, `SILENCE_MS`): the runtime's
 * own share. The agent's own endpointing wait (`minEndpointingMs`) is set to 0, so that both
 * sides answer on the final transcript. p50/p99 over 200 turns a side, with N calls at once
 * (half agent sessions, half by hand, so that the machine's load falls on both alike; each
 * call's first turn, which also opens its connections, is shown apart), and the CPU time this
 * process spends per second of a call with N calls of one side at once, at N = 10 and 50.
 *
 * Baseline, in the same run and on the same simulator: the sum of the parts driven directly by
 * hand, doing the same work for the same callers: a transcription session fed the caller's
 * frames, on each final transcript a Responses LLM turn (same socket transport) whose text is
 * pushed into a TTS stream, its frames placed on the same kind of call recorder.
 *
 * `npm run bench agent`; `AGENT_BENCH_CALLS=10,50`, `AGENT_BENCH_TURNS=200` (a side) and
 * `AGENT_BENCH_CPU_TURNS=4` (a call of the CPU runs) change the sizes.
 */

import { type AudioOutput, createCallRecorder, FRAME_MS } from "../src/agent/audio.ts"
import { type AgentSession, createAgentSession, defineAgent } from "../src/agent/index.ts"
import type { AudioFrame } from "../src/audio/index.ts"
import type { XStateClock } from "../src/clock/EffectClock.ts"
import { ChatContext, createLLM } from "../src/llm/index.ts"
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

/** One call's caller: `turns` lines, each in reply to the agent. */
const callerFor = (call: number, turns: number): ScriptedCaller =>
  scriptedCaller({
    lines: Array.from({ length: turns }, (_, i) => ({
      text: LINES[(call + i) % LINES.length] ?? "Hi.",
      ...(i === 0 ? { cue: { atMs: 200 + (call % 10) * 37 } } : { cue: { afterAgentMs: REPLY_GAP_MS } }),
    })),
  })

/** Records when the agent's frames reached the call's output (call time, ms). */
/** Caller frames that reached an output, over every call (50 a second per call keeps real time). */
let callerFrames = 0

const stamping = (output: AudioOutput, stamps: number[]): AudioOutput => ({
  ...output,
  caller(frame, atMs) {
    callerFrames += 1
    output.caller(frame, atMs)
  },
  agent(frame, atMs) {
    stamps.push(atMs)
    output.agent(frame, atMs)
  },
})

/** One turn's times, in ms: the runtime's share, and its part up to the final transcript. */
interface TurnTimes {
  /** End of the caller's voice to the agent's first audio, minus the VAD's wait. */
  readonly share: number
  /** End of the caller's voice to the final transcript, minus the VAD's wait. */
  readonly transcript: number
}

/** Per turn: first agent audio (and final transcript) after the end of the caller's voice, minus that end and the VAD's wait. */
const turnTimes = (call: Call): TurnTimes[] => {
  const times: TurnTimes[] = []
  for (const line of call.caller.spoken) {
    const voiceEnd = line.voiceEndMs
    const first = call.stamps.find((t) => t >= voiceEnd)
    const transcript = call.transcripts.find((t) => t >= voiceEnd)
    if (first !== undefined && transcript !== undefined)
      times.push({ share: first - voiceEnd - SILENCE_MS, transcript: transcript - voiceEnd - SILENCE_MS })
  }
  return times
}

/** Resolves once `done`, or rejects when `progress` has not changed for `stallMs` (naming what is unfinished). */
const waitForCalls = async (
  done: () => boolean,
  progress: () => number,
  stallMs: number,
  unfinished: () => string,
): Promise<void> => {
  let last = progress()
  let since = performance.now()
  while (!done()) {
    const now = progress()
    if (now !== last) {
      last = now
      since = performance.now()
    } else if (performance.now() - since > stallMs) throw new Error(`calls stalled: ${unfinished()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

interface Run {
  /** Each call's turns after its first (which also opens its connections), and its first. */
  readonly perCall: {
    readonly side: Call["side"]
    readonly turns: TurnTimes[]
    readonly first: TurnTimes[]
  }[]
  /** CPU time of this process per second of a call's audio (caller frames sent), in ms. */
  readonly cpuMsPerCallSecond: number
  /** Caller frames per second of each call: 50 when the process keeps real time. */
  readonly framesPerCallSecond: number
}

/** The live clock, for the by-hand baseline's caller. */
const liveClock: XStateClock = {
  setTimeout: (fn: (...args: unknown[]) => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
} as XStateClock

interface Call {
  readonly side: "agent" | "by hand"
  readonly caller: ScriptedCaller
  /** When the agent's frames reached the output (call time, ms). */
  readonly stamps: number[]
  /** When final transcripts came (call time, ms). */
  readonly transcripts: number[]
  /** Errors the call reported. */
  readonly errors: string[]
  /** Where the agent's audio ends on the call's timeline, in ms. */
  agentEndMs(): number
  readonly answered: () => boolean
  close(): Promise<void>
}

const agentCall = (baseUrl: string, call: number, turns: number): Call => {
  const caller = callerFor(call, turns)
  const stamps: number[] = []
  const transcripts: number[] = []
  const errors: string[] = []
  const recorder = createCallRecorder()
  const session: AgentSession = createAgentSession({
    agent: defineAgent({ instructions: "Be brief." }),
    openai: { apiKey: "sk-simulator", baseUrl },
    env: {},
    input: caller,
    output: caller.listen(stamping(recorder, stamps)),
    stt: { turnDetection },
    // The turn ends as soon as the transcript is final, as the by-hand pipeline does (the
    // default waits 500 ms more by design: a configured delay, not the runtime's work).
    minEndpointingMs: 0,
  })
  void (async () => {
    for await (const event of session) {
      const seen = event as { readonly type: string; readonly atMs: number; readonly final?: boolean }
      if (seen.type === "user_transcript" && seen.final !== false) transcripts.push(seen.atMs)
      if (event.type === "error") errors.push(String(event.error))
    }
  })()
  return {
    side: "agent",
    caller,
    stamps,
    transcripts,
    errors,
    answered: () => answeredAll(caller, stamps, turns),
    agentEndMs: () => recorder.agentEndMs(),
    close: () => session.close(),
  }
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
  const transcripts: number[] = []
  const errors: string[] = []
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
      transcripts.push(now())
      chat.addMessage("user", event.alternatives[0]?.text ?? "")
      replies = replies.then(answer).catch((error: unknown) => {
        errors.push(String(error))
      })
    }
  })()
  return {
    side: "by hand",
    caller,
    stamps,
    transcripts,
    errors,
    answered: () => answeredAll(caller, stamps, turns),
    agentEndMs: () => output.agentEndMs(),
    close: async () => {
      caller.stop()
      await replies
      await stt.close()
      await llm.close()
      await tts.close()
    },
  }
}

const runCalls = async (open: (call: number) => Call, calls: number): Promise<Run> => {
  globalThis.gc?.()
  const cpu = process.cpuUsage()
  const frames = callerFrames
  const started = performance.now()
  const running = Array.from({ length: calls }, (_, i) => open(i))
  try {
    await waitForCalls(
      () => running.every((c) => c.answered()),
      () => running.reduce((n, c) => n + c.caller.spoken.length + c.stamps.length, 0),
      30_000,
      () =>
        running
          .filter((c) => !c.answered())
          .map(
            (c) =>
              `${c.side} call: ${c.caller.spoken.length} lines said, ${c.caller.pending} to say, ${c.stamps.length} agent frames, ${c.transcripts.length} transcripts, last line ended ${c.caller.spoken.at(-1)?.endMs.toFixed(0)} ms, last agent frame came ${c.stamps.at(-1)?.toFixed(0)} ms, agent audio ends ${c.agentEndMs().toFixed(0)} ms, last transcript ${c.transcripts.at(-1)?.toFixed(0)} ms, errors: ${c.errors.join(" | ") || "none"}`,
          )
          .join("; "),
    )
  } finally {
    await Promise.all(running.map((c) => c.close()))
  }
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  return {
    perCall: running.map((c) => {
      const times = turnTimes(c)
      return { side: c.side, turns: times.slice(1), first: times.slice(0, 1) }
    }),
    // Per second of the callers' audio: a process that falls behind real time sends less.
    cpuMsPerCallSecond:
      (used.user + used.system) / 1000 / Math.max(1, ((callerFrames - frames) * FRAME_MS) / 1000),
    framesPerCallSecond: (callerFrames - frames) / calls / (wallMs / 1000),
  }
}

const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b)
const q = (values: readonly number[], at: number) => quantile(sorted(values), at)
const ms = (v: number) => `${v.toFixed(1)} ms`
const times = (v: number) => `${v.toFixed(2)}x`

/** Turns a call of the CPU runs (each side alone, N calls at once). */
const CPU_TURNS = Number(process.env.AGENT_BENCH_CPU_TURNS ?? 4)

/** One side's figures: share p50 and p99, its parts before and after the final transcript (p50), first turns (p50), CPU. */
const figures = (run: Run, side: Call["side"], cpu: Run): number[] => {
  const calls = run.perCall.filter((c) => c.side === side)
  const turns = calls.flatMap((c) => c.turns)
  const shares = turns.map((t) => t.share)
  return [
    q(shares, 0.5),
    q(shares, 0.99),
    q(
      turns.map((t) => t.transcript),
      0.5,
    ),
    q(
      turns.map((t) => t.share - t.transcript),
      0.5,
    ),
    q(
      calls.flatMap((c) => c.first.map((t) => t.share)),
      0.5,
    ),
    cpu.cpuMsPerCallSecond,
  ]
}
const turnCount = (run: Run, side: Call["side"]) =>
  run.perCall.filter((c) => c.side === side).reduce((n, c) => n + c.turns.length, 0)
const HEADER = ["share p50", "share p99", "to final", "final→audio", "first turn", "CPU ms/audio-s"]
const line = (label: string, cells: readonly string[]) =>
  `  ${label.padEnd(22)}${cells.map((c) => c.padStart(12)).join(" ")}`

export default async (): Promise<void> => {
  const sim = await startChildSimulator()
  try {
    console.log(
      `The runtime's share of voice-to-voice latency: end of the caller's voice to the agent's first audio, minus the simulator's ${SILENCE_MS} ms VAD wait.`,
    )
    console.log(
      "Split at the final transcript; first turns (connections opening) apart; CPU: this process's CPU ms per second of a call's audio (the simulator runs in a child process).",
    )
    for (const calls of CALLS) {
      // Latency: both sides at once, every other call, so the machine's load falls on both alike.
      const turnsPerCall = Math.max(1, Math.round((2 * TURNS) / calls)) + 1
      const mixed = await runCalls(
        (i) =>
          i % 2 === 0 ? agentCall(sim.httpUrl, i, turnsPerCall) : byHandCall(sim.httpUrl, i, turnsPerCall),
        calls,
      )
      // CPU: each side alone, N calls of it at once.
      const baseCpu = await runCalls((i) => byHandCall(sim.httpUrl, i, CPU_TURNS), calls)
      const agentCpu = await runCalls((i) => agentCall(sim.httpUrl, i, CPU_TURNS), calls)
      const a = figures(mixed, "agent", agentCpu)
      const b = figures(mixed, "by hand", baseCpu)
      console.log(
        `\nN = ${calls} concurrent calls. Latency: ${calls / 2} agent and ${calls / 2} by-hand calls at once, ${turnCount(mixed, "agent")} and ${turnCount(mixed, "by hand")} turns (each call's first apart); CPU: ${calls} calls of one side at once`,
      )
      console.log(line("", HEADER))
      console.log(line("by hand (STT→LLM→TTS)", [...b.slice(0, 5).map(ms), b[5]?.toFixed(2) ?? "-"]))
      console.log(line("agent session", [...a.slice(0, 5).map(ms), a[5]?.toFixed(2) ?? "-"]))
      console.log(
        line(
          "agent / by hand",
          a.map((v, i) => times(v / (b[i] ?? Number.NaN))),
        ),
      )
      console.log(
        `  caller frames per call-second (50 keeps real time): ${mixed.framesPerCallSecond.toFixed(1)} at once, ${baseCpu.framesPerCallSecond.toFixed(1)} by hand alone, ${agentCpu.framesPerCallSecond.toFixed(1)} agent alone`,
      )
    }
  } finally {
    await sim.stop()
  }
}
