/**
 * The agent's answer latency against the in-process simulator: from the caller's final
 * transcript to the reply's first audio, through the agent session (machine, children on one
 * runtime, relayed events), against a baseline doing the same work by hand in the same run
 * (a Responses LLM turn whose text is pushed into a TTS stream until its first frame).
 */
import { createAgentSession, defineAgent } from "../src/agent/index.ts"
import { createLLM } from "../src/llm/index.ts"
import { startSimulator } from "../src/simulator/index.ts"
import { scriptedCaller } from "../src/testing/index.ts"
import { createTTS } from "../src/tts/index.ts"
import { quantile } from "./support.ts"

const TURNS = 5
const REPLY = "Sunny and warm all day, with a light breeze."

const median = (values: number[]) =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  )

const baseline = async (baseUrl: string, apiKey: string): Promise<number[]> => {
  const openai = { apiKey, baseUrl }
  const llm = createLLM({ openai, env: {}, transport: "websocket" })
  const tts = createTTS({ openai, env: {} })
  const times: number[] = []
  try {
    for (let i = 0; i < TURNS; i++) {
      const started = performance.now()
      const stream = tts.stream()
      let first: number | undefined
      const reading = (async () => {
        for await (const event of stream) {
          if (event.type === "audio" && first === undefined) first = performance.now()
        }
      })()
      for await (const chunk of llm.chat([{ role: "user", content: "weather?" }])) {
        if (chunk.type === "text") stream.pushText(chunk.delta)
      }
      stream.endInput()
      await reading
      times.push((first ?? performance.now()) - started)
    }
  } finally {
    await llm.close()
    await tts.close()
  }
  return times
}

const agent = async (baseUrl: string, apiKey: string): Promise<number[]> => {
  const caller = scriptedCaller()
  const session = createAgentSession({
    agent: defineAgent({ instructions: "Be brief." }),
    openai: { apiKey, baseUrl },
    env: {},
    input: caller,
  })
  const times: number[] = []
  try {
    const iterator = session[Symbol.asyncIterator]()
    caller.say("what is the weather")
    while (times.length < TURNS) {
      const next = await iterator.next()
      if (next.done === true) break
      const event = next.value
      if (event.type === "metrics" && event.metrics.llmFirstTextMs !== undefined)
        times.push(event.metrics.llmFirstTextMs + (event.metrics.ttsFirstAudioMs ?? 0))
      if (event.type === "agent_transcript") caller.say("what is the weather")
    }
  } finally {
    await session.close()
  }
  return times
}

export default async (): Promise<void> => {
  const sim = await startSimulator({
    scenario: { transcripts: () => "what is the weather", replies: () => ({ text: REPLY }) },
  })
  try {
    const apiKey = sim.apiKey ?? ""
    const base = await baseline(sim.httpUrl, apiKey)
    const session = await agent(sim.httpUrl, apiKey)
    const b = median(base)
    const a = median(session)
    console.log(`transcript to first audio, median of ${TURNS} turns`)
    console.log(`  by hand (LLM turn into a TTS stream): ${b.toFixed(1)} ms`)
    console.log(`  agent session:                        ${a.toFixed(1)} ms  (${(a / b).toFixed(2)}x)`)
  } finally {
    await sim.close()
  }
}
