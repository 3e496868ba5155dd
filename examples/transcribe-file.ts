/**
 * Streams a WAV file through a Realtime transcription session and prints the transcript as
 * it comes: interim text as it grows, then each turn's final text with its timing.
 *
 *   npm run example -- examples/transcribe-file.ts [file.wav] [--model gpt-4o-transcribe]
 *     [--turn-detection server_vad|semantic_vad|local|manual] [--realtime] [--logprobs] [--simulator]
 *
 * With OPENAI_API_KEY set it talks to OpenAI (at OPENAI_BASE_URL, if set); otherwise, or with
 * `--simulator`, it starts the voxstate simulator in this process. Without a file it generates a demo recording: a few sentences of the
 * simulator's synthetic voice at 48 kHz stereo, which the session resamples to 24 kHz mono.
 * The simulator does not understand speech: it answers each turn with the demo sentence of
 * the same number (for a file of your own, with how much audio the turn had).
 *
 * `--realtime` paces the audio as a microphone would (20 ms frames, in real time); by default
 * the file is written as fast as the session accepts it (`await session.write(frame)`), so it
 * streams as fast as the socket allows and nothing is dropped. A lost turn or dropped audio
 * makes the exit code 1.
 */
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import {
  type AudioFrame,
  createTranscriptionSession,
  decodeWav,
  encodeWav,
  type SpeechEvent,
  type TurnDetectionSetting,
} from "voxstate"
import { startSimulator, synthesizeSpeech } from "voxstate/simulator"

// Bad input (an unknown option, a missing or unreadable file, a file that is not WAV) ends
// with one line on stderr, not a stack trace.
process.on("uncaughtException", (error) => {
  console.error(`transcribe-file: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: "string" },
    "turn-detection": { type: "string", default: "server_vad" },
    realtime: { type: "boolean", default: false },
    logprobs: { type: "boolean", default: false },
    simulator: { type: "boolean", default: false },
  },
})

const SENTENCES = [
  "Streaming transcription turns speech into text while you talk.",
  "Each turn ends when the speaker pauses, and its final text follows.",
  "If the connection drops, the audio of unfinished turns is sent again.",
]

/** The demo recording as WAV bytes: the sentences with pauses, 48 kHz stereo. */
const demoWav = (): Uint8Array => {
  const rate = 48_000
  const pause = new Int16Array(Math.round(rate * 1.0))
  const parts = SENTENCES.flatMap((text, i) => [
    pause,
    synthesizeSpeech(text, { sampleRateHz: rate, seed: i }),
  ])
  parts.push(pause)
  const mono = new Int16Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    mono.set(part, at)
    at += part.length
  }
  const stereo = new Int16Array(mono.length * 2)
  for (let i = 0; i < mono.length; i++) {
    stereo[2 * i] = mono[i] ?? 0
    stereo[2 * i + 1] = mono[i] ?? 0
  }
  return encodeWav({ data: stereo, sampleRateHz: rate, channels: 2 })
}

const turnDetectionOf = (name: string): TurnDetectionSetting => {
  switch (name) {
    case "server_vad":
      return { type: "server_vad" }
    case "semantic_vad":
      return { type: "semantic_vad", eagerness: "high" }
    case "local":
      return "local"
    case "manual":
      return null
    default:
      throw new Error(`unknown --turn-detection ${name} (server_vad, semantic_vad, local or manual)`)
  }
}

const clock = (ms: number): string => {
  const s = ms / 1000
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${(s % 60).toFixed(1).padStart(4, "0")}`
}

const file = positionals[0]
const wav: AudioFrame = decodeWav(file === undefined ? demoWav() : new Uint8Array(readFileSync(file)))
// OpenAI when a key is exported (unless --simulator), else the simulator in this process.
const live = !values.simulator && Boolean(process.env.OPENAI_API_KEY)
console.error(
  live
    ? `Using ${`OpenAI at ${process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1"}`} (a key is set; --simulator uses the local simulator instead).`
    : `Using the voxstate simulator in this process (${values.simulator ? "--simulator" : "OPENAI_API_KEY is not set"}).`,
)
const simulator = live
  ? undefined
  : await startSimulator({
      scenario: {
        transcripts: (request) =>
          file === undefined
            ? (SENTENCES[request.index] ?? "")
            : `[turn ${request.index + 1}: ${Math.round(request.audio.length / 24)} ms of audio]`,
      },
    })

console.error(
  `${file ?? "demo recording"}: ${(wav.data.length / wav.channels / wav.sampleRateHz).toFixed(1)} s, ` +
    `${wav.sampleRateHz} Hz, ${wav.channels} ch → ${live ? "OpenAI" : `the simulator at ${simulator?.url}`}`,
)

const session = createTranscriptionSession({
  ...(simulator === undefined
    ? {}
    : { openai: { apiKey: simulator.apiKey ?? "sk-simulator", baseUrl: simulator.url } }),
  model: values.model ?? "gpt-4o-transcribe",
  turnDetection: turnDetectionOf(values["turn-detection"] ?? "server_vad"),
  includeLogprobs: values.logprobs ?? false,
})

const printEvents = (async () => {
  let interim = ""
  for await (const event of session as AsyncIterable<SpeechEvent>) {
    switch (event.type) {
      case "interim_transcript":
        interim = event.alternatives[0]?.text ?? ""
        if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K… ${interim}`)
        break
      case "final_transcript": {
        const best = event.alternatives[0]
        if (process.stderr.isTTY && interim !== "") process.stderr.write("\r\x1b[2K")
        interim = ""
        const confidence = best?.confidence === undefined ? "" : ` (confidence ${best.confidence.toFixed(2)})`
        console.log(
          `[${clock(best?.startMs ?? 0)}–${clock(best?.endMs ?? 0)}] ${best?.text ?? ""}${confidence}`,
        )
        break
      }
      case "transcription_failed":
        console.log(`[turn failed: ${event.error.code}] ${event.partial}`)
        process.exitCode = 1
        break
      case "reconnected":
        console.error(`(reconnected on attempt ${event.attempt}, ${event.replayedMs} ms of audio sent again)`)
        break
      case "error":
        console.error(`(${event.fatal ? "fatal " : ""}error ${event.error.code}: ${event.error.message})`)
        if (event.error.code === "replay_buffer_overflow") process.exitCode = 1
        break
    }
  }
})()

// 20 ms frames, the way a microphone delivers them; each write resolves once the session has
// accepted the frame (back-pressure), so a file faster than real time loses nothing.
const frameSamples = Math.round(wav.sampleRateHz / 50) * wav.channels
for (let i = 0; i < wav.data.length; i += frameSamples) {
  await session.write({
    data: wav.data.subarray(i, i + frameSamples),
    sampleRateHz: wav.sampleRateHz,
    channels: wav.channels,
  })
  if (values.realtime) await new Promise((resolve) => setTimeout(resolve, 20))
}
// A manual session ends its one segment here; endInput() commits whatever is left anyway.
session.endInput()

try {
  await printEvents
  const m = session.actor.getSnapshot().context.metrics
  const latencies = [...m.latenciesMs].sort((a, b) => a - b)
  const median = latencies[Math.floor(latencies.length / 2)]
  console.error(
    `${m.finalTurns} turns, ${(m.audioMs / 1000).toFixed(1)} s of speech, ${m.totalTokens} tokens` +
      (median === undefined ? "" : `, median end-of-speech → final ${median} ms`),
  )
} catch (error) {
  console.error(`transcription failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
} finally {
  await session.close()
  await simulator?.close()
}
