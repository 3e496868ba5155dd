import { createTTS } from "../src/index.ts"
import { startChildSimulator } from "./support.ts"

const sim = await startChildSimulator()
const tts = createTTS({ openai: { apiKey: "sk-simulator", baseUrl: sim.httpUrl }, env: {} })
const text = Array.from(
  { length: 6 },
  () => "The quick brown fox jumps over the lazy dog near the quiet river bank.",
).join(" ")
for (let i = 0; i < 5; i++)
  for await (const _ of tts.synthesize(text)) {
  }
const cpu = process.cpuUsage()
let frames = 0
for (let i = 0; i < 40; i++) for await (const e of tts.synthesize(text)) if (e.type === "audio") frames++
const u = process.cpuUsage(cpu)
console.log("µs/frame", ((u.user + u.system) / frames).toFixed(2))
await sim.stop()
