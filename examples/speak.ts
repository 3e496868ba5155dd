/**
 * Speaks a paragraph streamed token by token (as an LLM would stream it) into a WAV file:
 * the stream cuts it into sentences, one request each, pipelined, and writes the 20 ms frames
 * as they come, in order. Prints each segment's time to first frame.
 *
 *   npm run example -- examples/speak.ts [out.wav] [--voice marin] [--model gpt-4o-mini-tts]
 *     [--whole] [--instructions "Speak warmly."] [--simulator]
 *
 * With OPENAI_API_KEY set it talks to OpenAI (at OPENAI_BASE_URL, if set); otherwise, or with
 * `--simulator`, it starts the voxstate simulator in this process, whose voice is a hum that follows the words. `--whole` sends the paragraph
 * as one request (the default of a stream, `chunked: false`) instead of one per sentence.
 */
import { writeFileSync } from "node:fs"
import { parseArgs } from "node:util"
import { concatPcm16, createTTS, encodeWav } from "voxstate"
import { startSimulator } from "voxstate/simulator"

// Bad input (an unknown option, a missing or unreadable file, a file that is not WAV) ends
// with one line on stderr, not a stack trace.
process.on("uncaughtException", (error) => {
  console.error(`speak: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    voice: { type: "string", default: "marin" },
    model: { type: "string", default: "gpt-4o-mini-tts" },
    whole: { type: "boolean", default: false },
    instructions: { type: "string" },
    simulator: { type: "boolean", default: false },
  },
})

const PARAGRAPH =
  "Streaming speech starts talking before the whole reply is written. " +
  "Each sentence becomes one request, and the next one starts while the first is still playing. " +
  "Dr. Smith's numbers, like 3.5 percent, and addresses such as example.com stay in one piece. " +
  "When the listener interrupts, the requests in flight are cancelled at once."

const out = positionals[0] ?? "speech.wav"
// OpenAI when a key is exported (unless --simulator), else the simulator in this process.
const live = !values.simulator && Boolean(process.env.OPENAI_API_KEY)
console.error(
  live
    ? `Using ${`OpenAI at ${process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1"}`} (a key is set; --simulator uses the local simulator instead).`
    : `Using the voxstate simulator in this process (${values.simulator ? "--simulator" : "OPENAI_API_KEY is not set"}).`,
)
const sim = live ? undefined : await startSimulator()
const tts = createTTS({
  model: values.model,
  voice: values.voice,
  chunked: !values.whole,
  ...(values.instructions === undefined ? {} : { instructions: values.instructions }),
  ...(sim === undefined ? {} : { openai: { apiKey: sim.apiKey ?? "", baseUrl: sim.httpUrl }, env: {} }),
})
console.log(`${tts.label} → ${out} (${live ? "OpenAI" : `simulator at ${sim?.httpUrl}`})`)

const stream = tts.stream()
// Feed the paragraph as an LLM would: a few characters at a time, while frames come out.
const feeding = (async () => {
  for (const token of PARAGRAPH.match(/\S+\s*/g) ?? []) {
    stream.pushText(token)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  stream.endInput()
})()

const frames: Int16Array[] = []
try {
  for await (const event of stream) {
    if (event.type === "audio") frames.push(event.frame.data)
    else {
      console.log(
        `${event.segmentId}: ${event.characters} characters, first frame after ${event.ttffMs.toFixed(0)} ms, ` +
          `${(event.audioDurationMs / 1000).toFixed(2)} s of audio${event.attempts > 1 ? `, ${event.attempts} attempts` : ""}`,
      )
    }
  }
  await feeding
  const samples = concatPcm16(frames)
  writeFileSync(out, encodeWav({ data: samples, sampleRateHz: tts.sampleRateHz, channels: 1 }))
  console.log(`wrote ${out}: ${(samples.length / tts.sampleRateHz).toFixed(2)} s in ${frames.length} frames`)
} finally {
  await stream.cancel()
  await tts.close()
  await sim?.close()
}
