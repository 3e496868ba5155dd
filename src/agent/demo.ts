/**
 * The demo call: an agent with one tool (the weather), a scripted caller that asks, cuts the
 * agent off once, and asks again; against the in-process simulator unless `OPENAI_API_KEY`
 * is set. Prints the conversation live with each turn's latency and writes the call as a
 * stereo WAV (left: caller, right: agent).
 * @module
 */
import type { InspectionEvent, Observer } from "xstate"
import { startSimulator } from "../simulator/index.ts"
import { scriptedCaller } from "../testing/caller.ts"
import { type AgentEvent, createAgentSession } from "./AgentSession.ts"
import { defineAgent, defineTool } from "./define.ts"

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where the call's WAV goes (default `voxstate-demo.wav`). */
  readonly wavPath?: string
  /** Where lines go (default `console.log`). */
  readonly log?: (line: string) => void
  readonly env?: Record<string, string | undefined>
  /** Longest the call may last before it is ended (default 60 000 ms). */
  readonly timeoutMs?: number
  /** An inspection observer for the call's agent session (a voxstate inspector's `inspect`). */
  readonly inspect?: Observer<InspectionEvent>
}

/** What the demo call did. */
export interface DemoResult {
  readonly events: readonly AgentEvent[]
  readonly wavPath: string
  readonly interrupted: boolean
}

const FIRST = "What is the weather in Paris today?"
const INTERRUPT = "Sorry, stop, what about London?"
const LAST = "Thank you, goodbye."
const LONG_REPLY =
  "In Paris today it is sunny with a high of twenty two degrees and a light breeze from the west, a lovely day for a long walk along the river and lunch outside in the sun."

const weather = defineTool({
  name: "get_weather",
  description: "Today's weather in a city.",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  execute: (args) => {
    const city = (args as { city?: unknown }).city
    return { city: typeof city === "string" ? city : "unknown", sky: "sunny", highC: 22 }
  },
})

const fmt = (ms: number | undefined) => (ms === undefined ? "-" : `${Math.round(ms)} ms`)

/** Runs the demo call to its end. */
export const runDemo = async (options: DemoOptions = {}): Promise<DemoResult> => {
  const log = options.log ?? ((line: string) => console.log(line))
  const env = options.env ?? process.env
  const wavPath = options.wavPath ?? "voxstate-demo.wav"
  const live = env.OPENAI_API_KEY !== undefined && env.OPENAI_API_KEY !== ""
  const sim = live
    ? undefined
    : await startSimulator({
        // No transcripts: the simulator hears the caller's words in its voice.
        scenario: {
          replies: [
            { functionCall: { name: "get_weather", arguments: JSON.stringify({ city: "Paris" }) } },
            { text: LONG_REPLY },
            { text: "London is cloudy at fifteen degrees." },
            { text: "Goodbye!" },
          ],
        },
      })
  log(live ? "Talking to OpenAI (OPENAI_API_KEY is set)." : `Talking to the simulator at ${sim?.httpUrl}.`)
  const caller = scriptedCaller()
  const session = createAgentSession({
    agent: defineAgent({
      instructions: "You are a brief, friendly weather assistant. Use get_weather for the weather.",
      tools: [weather],
    }),
    ...(sim === undefined
      ? { env }
      : { openai: { apiKey: sim.apiKey ?? "", baseUrl: sim.httpUrl }, env: {} }),
    input: caller,
    minInterruptionMs: 300,
    ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
  })
  const events: AgentEvent[] = []
  let interrupted = false
  let spoken = 0
  const stamp = (ms: number) => `[${(ms / 1000).toFixed(2).padStart(6)}s]`
  const deadline = setTimeout(() => void session.close(), options.timeoutMs ?? 60_000)
  caller.say(FIRST)
  try {
    for await (const event of session) {
      events.push(event)
      switch (event.type) {
        case "user_transcript":
          if (event.final) log(`${stamp(event.atMs)} caller: ${event.text}`)
          break
        case "tool_called":
          log(`${stamp(event.atMs)} tool:   ${event.call.name}(${event.call.rawArguments})`)
          break
        case "metrics":
          log(
            `${stamp(event.atMs)} turn ${event.metrics.turn}: transcript ${fmt(event.metrics.transcriptMs)}, ` +
              `first text ${fmt(event.metrics.llmFirstTextMs)}, first audio ${fmt(event.metrics.ttsFirstAudioMs)}, ` +
              `end of speech to voice ${fmt(event.metrics.totalMs)}`,
          )
          if (event.metrics.turn === 1) setTimeout(() => caller.say(INTERRUPT), 1_500)
          break
        case "agent_transcript":
          if (event.interrupted) {
            interrupted = true
            log(`${stamp(event.atMs)} agent (cut off): ${event.text} ...`)
            break
          }
          log(`${stamp(event.atMs)} agent:  ${event.text}`)
          spoken += 1
          if (interrupted && spoken === 1) setTimeout(() => caller.say(LAST), 500)
          else if (interrupted) setTimeout(() => void session.close(), 500)
          break
        case "error":
          log(
            `${stamp(event.atMs)} error: ${event.error instanceof Error ? event.error.message : String(event.error)}`,
          )
          break
        default:
          break
      }
    }
  } finally {
    clearTimeout(deadline)
    await session.close()
    await session.output.save(wavPath)
    await sim?.close()
  }
  log(`Wrote the call to ${wavPath} (stereo: left caller, right agent).`)
  return { events, wavPath, interrupted }
}
