/**
 * A spoken conversation with a tool over the Realtime speech-to-speech session: a WAV of the
 * user's speech goes in (any rate and channel count, streamed in real time in 20 ms frames),
 * the model's spoken replies come out into a WAV, and a weather tool answers its call.
 *
 *   npm run example -- examples/realtime-agent.ts [in.wav] [out.wav] [--simulator]
 *
 * With OPENAI_API_KEY set it talks to OpenAI (at OPENAI_BASE_URL, if set); otherwise, or with
 * `--simulator`, it starts the voxstate simulator in this process (whose voice is a hum that
 * follows the words, and whose model is scripted to call the tool, then answer). Without an
 * input WAV it speaks a tone "question" of its own.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { parseArgs } from "node:util"
import {
  type AudioFrame,
  concatPcm16,
  createRealtimeSession,
  decodeWav,
  encodeWav,
  functionTool,
} from "voxstate"
import { concatPcm, silence, startSimulator, tone } from "voxstate/simulator"

process.on("uncaughtException", (error) => {
  console.error(`realtime-agent: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { simulator: { type: "boolean", default: false } },
})
const out = positionals[1] ?? "replies.wav"
const live = !values.simulator && Boolean(process.env.OPENAI_API_KEY)
console.error(
  live
    ? `Using OpenAI at ${process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1"} (a key is set; --simulator uses the local simulator instead).`
    : `Using the voxstate simulator in this process (${values.simulator ? "--simulator" : "OPENAI_API_KEY is not set"}).`,
)
const sim = live
  ? undefined
  : await startSimulator({
      scenario: {
        replies: [
          { functionCall: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { text: "It is sunny in Paris today, twenty two degrees." },
        ],
      },
    })

const input: AudioFrame =
  positionals[0] === undefined
    ? { data: concatPcm(tone(1200), silence(900)), sampleRateHz: 24_000, channels: 1 }
    : decodeWav(new Uint8Array(readFileSync(positionals[0])))

const weather = functionTool({
  name: "get_weather",
  description: "Today's weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
})

const session = createRealtimeSession({
  instructions: "You are a brief, friendly assistant. Use the weather tool for weather questions.",
  tools: [weather],
  turnDetection: { type: "server_vad", silenceDurationMs: 500 },
  ...(sim === undefined ? {} : { openai: { apiKey: sim.apiKey ?? "", baseUrl: sim.httpUrl }, env: {} }),
})

const replies: Int16Array[] = []
let answered = 0
let stopped = false
const feed = async () => {
  // Real time: one 20 ms frame every 20 ms, as a microphone would deliver it.
  const step = Math.round(input.sampleRateHz / 50) * input.channels
  for (let at = 0; at < input.data.length && !stopped; at += step) {
    session.pushFrame({ ...input, data: input.data.subarray(at, at + step) })
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  // Trailing silence lets the server's VAD end the turn.
  for (let i = 0; i < 50 && !stopped; i++) {
    session.pushFrame({ data: new Int16Array(480), sampleRateHz: 24_000, channels: 1 })
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

for await (const event of session) {
  switch (event.type) {
    case "session_ready":
      console.log("session ready; speaking the question")
      void feed()
      break
    case "input_speech_started":
      console.log("user speaking…")
      break
    case "function_call":
      console.log(`tool call ${event.name}(${event.rawArguments})`)
      session.sendToolOutput(event.callId, { city: "Paris", forecast: "sunny", celsius: 22 })
      break
    case "audio":
      replies.push(event.frame.data)
      break
    case "output_transcript":
      if (event.done) console.log(`assistant: ${event.transcript}`)
      break
    case "response_done":
      console.log(
        `response ${event.status} (first audio after ${event.metrics.timeToFirstAudioMs ?? "-"} ms)`,
      )
      if (event.status === "completed" && event.metrics.audioMs > 0) answered += 1
      break
    case "error":
      console.error(`error: ${event.error.code}: ${event.error.message}`)
      break
  }
  if (answered > 0) break
}
stopped = true
await session.close()
writeFileSync(out, encodeWav({ data: concatPcm16(replies), sampleRateHz: 24_000, channels: 1 }))
console.log(`wrote ${out} (${(concatPcm16(replies).length / 24_000).toFixed(2)} s of replies)`)
await sim?.close()
