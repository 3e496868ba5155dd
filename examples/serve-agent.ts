/**
 * A voice agent behind a WebSocket, as a browser or a telephony bridge reaches it: `serveAgent`
 * runs one realtime agent session per connection. Without `--serve` the example calls itself
 * once: a client connects, declares 16 kHz, speaks a line as binary PCM16 frames, prints the
 * agent's events and the bytes of its voice, and hangs up.
 *
 *   npm run example -- examples/serve-agent.ts [--simulator] [--serve] [--port 8080]
 *
 * With OPENAI_API_KEY set it talks to OpenAI (at OPENAI_BASE_URL, if set); otherwise, or with
 * `--simulator`, it starts the voxstate simulator in this process. With `--serve` it keeps
 * serving until Ctrl+C (connect with any WebSocket client; see the README for the messages).
 */
import { parseArgs } from "node:util"
import { defineAgent, defineTool, serveAgent } from "voxstate/agent"
import { concatPcm, startSimulator, synthesizeSpeech } from "voxstate/simulator"
import { WebSocket } from "ws"

process.on("uncaughtException", (error) => {
  console.error(`serve-agent: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})

const { values } = parseArgs({
  options: {
    simulator: { type: "boolean", default: false },
    serve: { type: "boolean", default: false },
    port: { type: "string", default: "0" },
  },
})
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
        transcripts: ["what is the weather in Paris"],
        replies: [
          { functionCall: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { text: "It is sunny in Paris today." },
        ],
      },
    })

const weather = defineTool({
  name: "get_weather",
  description: "Today's weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  execute: (args) => ({ city: (args as { city: string }).city, sky: "sunny", celsius: 22 }),
})
const server = await serveAgent({
  port: Number(values.port),
  agent: defineAgent({ instructions: "You are a weather line. Be brief.", tools: [weather] }),
  realtime: { turnDetection: { type: "server_vad", silenceDurationMs: 400 } },
  ...(sim === undefined ? {} : { openai: { apiKey: sim.apiKey ?? "", baseUrl: sim.httpUrl }, env: {} }),
})
console.log(`Agent endpoint: ${server.url}`)

if (values.serve) {
  console.log("Press Ctrl+C to stop.")
  const stop = async () => {
    await server.close()
    await sim?.close()
    process.exit(0)
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
} else {
  // One call: 16 kHz both ways, one spoken question, hang up once the agent has answered.
  const ws = new WebSocket(server.url)
  let voiceBytes = 0
  const answered = new Promise<void>((resolve, reject) => {
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        voiceBytes += (data as Buffer).length
        return
      }
      const message = JSON.parse(String(data)) as { type: string; [key: string]: unknown }
      if (message.type === "started") {
        const question = concatPcm(
          synthesizeSpeech("what is the weather in Paris", { sampleRateHz: 16_000 }),
          new Int16Array(16_000 * 0.8),
        )
        for (let at = 0; at < question.length; at += 320) ws.send(question.slice(at, at + 320))
      }
      if (message.type === "user_transcript" && message.final === true) console.log(`caller: ${message.text}`)
      if (message.type === "tool_called") console.log(`tool:   ${JSON.stringify(message.call)}`)
      if (message.type === "agent_transcript") {
        console.log(`agent:  ${message.text} (${((voiceBytes / 2 / 16_000) * 1000).toFixed(0)} ms of voice)`)
        ws.send(JSON.stringify({ type: "end" }))
      }
      if (message.type === "error") reject(new Error(JSON.stringify(message.error)))
    })
    ws.on("close", () => resolve())
  })
  ws.on("open", () => ws.send(JSON.stringify({ type: "start", sampleRateHz: 16_000 })))
  await answered
  await server.close()
  await sim?.close()
}
