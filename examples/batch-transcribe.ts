/**
 * Batch-transcribes a long recording over REST, with a progress bar of the parts done.
 *
 *   npm run example -- examples/batch-transcribe.ts [file.wav] [--model whisper-1] [--max-request-mb 25]
 *     [--concurrency 3] [--simulator]
 *
 * The model defaults to whisper-1 (timed segments) against the live API and to
 * gpt-4o-mini-transcribe against the simulator.
 *
 * With OPENAI_API_KEY set it talks to OpenAI (or Azure, with AZURE_OPENAI_* set); otherwise,
 * or with `--simulator`, it starts the voxstate simulator in this process. Without a file it generates a few
 * minutes of demo speech (the simulator's synthetic voice, with pauses between sentences).
 * Audio longer than one request allows is cut at silences and sent in parts.
 *
 * The simulator does not understand speech: each part's transcript says how much audio it
 * received. Against the simulator the request limit is lowered to 2 MiB (unless given) so
 * that the demo recording is split into several parts.
 */
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import {
  type AudioFrame,
  createBatchSTT,
  decodeWav,
  isSTTError,
  MAX_TRANSCRIPTION_REQUEST_BYTES,
  type RecognitionProgress,
} from "voxstate"
import { startSimulator, synthesizeSpeech } from "voxstate/simulator"

// Bad input (an unknown option, a missing or unreadable file, a file that is not WAV) ends
// with one line on stderr, not a stack trace.
process.on("uncaughtException", (error) => {
  console.error(`batch-transcribe: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: "string" },
    "max-request-mb": { type: "string" },
    concurrency: { type: "string", default: "3" },
    simulator: { type: "boolean", default: false },
  },
})

const SENTENCES = [
  "Voice agents listen, think and answer.",
  "A long recording is cut at its pauses into parts that each fit one request.",
  "Each part is transcribed on its own, several at a time, and the texts are joined in order.",
  "Silence costs nothing: a part without speech is never sent.",
  "Failed requests are retried with jittered delays before the error is reported.",
]

/** About `minutes` of demo speech at 16 kHz: the sentences over and over, 1.2 s apart. */
const demoRecording = (minutes: number): AudioFrame => {
  const rate = 16_000
  const pause = new Int16Array(Math.round(rate * 1.2))
  const chunks: Int16Array[] = []
  let samples = 0
  for (let i = 0; samples < minutes * 60 * rate; i++) {
    const voice = synthesizeSpeech(SENTENCES[i % SENTENCES.length]!, { sampleRateHz: rate, seed: i })
    chunks.push(voice, pause)
    samples += voice.length + pause.length
  }
  const data = new Int16Array(samples)
  let at = 0
  for (const chunk of chunks) {
    data.set(chunk, at)
    at += chunk.length
  }
  return { data, sampleRateHz: rate, channels: 1 }
}

/** Draws `[#####-----] 3/10 parts` on one line (or one line per step when not a terminal). */
const progressBar = (progress: RecognitionProgress): void => {
  const width = 30
  const filled = progress.total === 0 ? width : Math.round((progress.done / progress.total) * width)
  const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${progress.done}/${progress.total} parts`
  if (process.stderr.isTTY) process.stderr.write(`\r${line}${progress.done === progress.total ? "\n" : ""}`)
  else process.stderr.write(`${line}\n`)
}

const formatTime = (ms: number): string => {
  const s = Math.floor(ms / 1000)
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`
}

/** A positive number from the command line, or an error naming the option. */
const positive = (name: string, text: string): number => {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name} must be a positive number, got ${text}`)
  return value
}

// OpenAI when a key is exported (unless --simulator), else the simulator in this process.
const live =
  !values.simulator && (Boolean(process.env.OPENAI_API_KEY) || Boolean(process.env.AZURE_OPENAI_ENDPOINT))
console.error(
  live
    ? `Using ${process.env.AZURE_OPENAI_ENDPOINT ? `Azure OpenAI at ${process.env.AZURE_OPENAI_ENDPOINT}` : `OpenAI at ${process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1"}`} (a key is set; --simulator uses the local simulator instead).`
    : `Using the voxstate simulator in this process (${values.simulator ? "--simulator" : "OPENAI_API_KEY is not set"}).`,
)

const main = async (): Promise<void> => {
  const file = positionals[0]
  let sim: Awaited<ReturnType<typeof startSimulator>> | undefined
  try {
    const concurrency = Math.floor(positive("concurrency", values.concurrency))
    const maxRequestBytes =
      values["max-request-mb"] !== undefined
        ? Math.round(positive("max-request-mb", values["max-request-mb"]) * 1024 * 1024)
        : live
          ? MAX_TRANSCRIPTION_REQUEST_BYTES
          : 2 * 1024 * 1024
    const audio: AudioFrame = file === undefined ? demoRecording(4) : decodeWav(readFileSync(file))
    const seconds = audio.data.length / audio.channels / audio.sampleRateHz
    sim = live ? undefined : await startSimulator()
    const stt = createBatchSTT({
      // whisper-1 times its segments; the simulator's placeholder transcripts read better whole.
      model: values.model ?? (live ? "whisper-1" : "gpt-4o-mini-transcribe"),
      maxRequestBytes,
      splitConcurrency: Math.max(1, concurrency),
      ...(sim === undefined
        ? {}
        : { openai: { apiKey: sim.apiKey ?? "unused", baseUrl: sim.httpUrl }, env: {} }),
    })
    console.error(
      `${file ?? "demo recording"}: ${formatTime(seconds * 1000)} of audio, ${stt.label} on ${
        sim === undefined ? "the live API" : `the simulator at ${sim.httpUrl}`
      }, at most ${(maxRequestBytes / 1024 / 1024).toFixed(1)} MiB per request`,
    )
    const result = await stt.recognize(audio, { onProgress: progressBar })
    if (result.segments !== undefined && result.segments.length > 0) {
      for (const segment of result.segments) {
        console.log(`${formatTime(segment.startMs)}–${formatTime(segment.endMs)}  ${segment.text}`)
      }
    } else {
      console.log(result.text)
    }
    const usage = result.usage
    console.error(
      `${result.requests} request(s), ${(usage.audioDurationMs / 1000).toFixed(1)} s of audio in ${(
        (usage.latencyMs ?? 0) / 1000
      ).toFixed(1)} s` +
        (usage.billedSeconds === undefined ? "" : `, ${usage.billedSeconds} s billed`) +
        (usage.totalTokens === undefined ? "" : `, ${usage.totalTokens} tokens`),
    )
  } catch (error) {
    console.error(
      isSTTError(error)
        ? `transcription failed (${error.reason._tag}): ${error.message}`
        : `batch-transcribe: ${error instanceof Error ? error.message : String(error)}`,
    )
    process.exitCode = 1
  } finally {
    await sim?.close()
  }
}

await main()
