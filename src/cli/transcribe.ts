/**
 * `voxstate transcribe FILE [--batch] [--model] [--language] [-o FILE]`: the text of a WAV
 * file, streamed through a Realtime transcription session (one line per turn, the default)
 * or sent to the batch endpoint (`--batch`). Progress goes to stderr: a bar redrawn in place
 * on a terminal, a plain line per step otherwise. With OPENAI_API_KEY set it talks to OpenAI
 * (at OPENAI_BASE_URL, if set); otherwise, or with `--simulator`, it starts the voxstate
 * simulator in this process.
 * @module
 */
import { readFile, writeFile } from "node:fs/promises"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { type AudioFrame, decodeWav, makeAudioFrame } from "../audio/index.ts"
import { startSimulator } from "../simulator/index.ts"
import { createBatchSTT, createTranscriptionSession } from "../stt/index.ts"
import { CliIO, type CliOutput, CommandFailed } from "./io.ts"

const DEFAULT_MODEL = "gpt-4o-mini-transcribe"
const BAR_WIDTH = 30

/** The arguments and flags of `transcribe`. */
export const transcribeConfig = {
  file: Argument.String("file").pipe(Argument.withDescription("the WAV file (PCM16, any rate and channels)")),
  batch: Flag.Boolean("batch").pipe(
    Flag.withDefault(false),
    Flag.withDescription("send the file to the batch endpoint instead of streaming it"),
  ),
  model: Flag.String("model").pipe(
    Flag.withDefault(DEFAULT_MODEL),
    Flag.withDescription("the transcription model"),
  ),
  language: Flag.String("language").pipe(
    Flag.optional,
    Flag.withDescription("the ISO-639-1 language of the speech (e.g. en)"),
  ),
  output: Flag.String("output").pipe(
    Flag.withAlias("o"),
    Flag.optional,
    Flag.withDescription("write the transcript to this file instead of stdout"),
  ),
  simulator: Flag.Boolean("simulator").pipe(
    Flag.withAlias("simulate"),
    Flag.withDefault(false),
    Flag.withDescription("use the simulator in this process even when OPENAI_API_KEY is set"),
  ),
} as const

/** Where the work stands: `done` of `total` (seconds of audio, or parts of a batch). */
interface Progress {
  readonly done: number
  readonly total: number
  readonly unit: "s" | "parts"
}

const describeProgress = (p: Progress): string =>
  p.unit === "s" ? `${p.done.toFixed(1)} s of ${p.total.toFixed(1)} s` : `${p.done} of ${p.total} parts`

/** The bar a terminal shows (redrawn in place): `[#####-----]  50%  3.0 s of 6.0 s`. @internal */
export const progressBar = (p: Progress): string => {
  const fraction = p.total <= 0 ? 1 : Math.min(1, Math.max(0, p.done / p.total))
  const filled = Math.round(fraction * BAR_WIDTH)
  const percent = `${Math.round(fraction * 100)}%`.padStart(4)
  return `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${percent}  ${describeProgress(p)}`
}

/**
 * Reports progress on stderr: a bar redrawn in place when `tty` (and the output can write
 * without a line break), else one plain line each time the percentage moves.
 */
const progressReporter = (output: CliOutput, tty: boolean) => {
  let lastPercent = -1
  let drawn = false
  return {
    update(p: Progress) {
      const percent = p.total <= 0 ? 100 : Math.round((Math.min(p.done, p.total) / p.total) * 100)
      if (percent === lastPercent) return
      lastPercent = percent
      if (tty && output.status !== undefined) {
        output.status(`\r${progressBar(p)}`)
        drawn = true
      } else {
        output.err(`transcribe: ${percent}% (${describeProgress(p)})`)
      }
    },
    finish() {
      if (drawn) output.status?.("\n")
      drawn = false
    },
  }
}

const failure = (error: unknown): CommandFailed =>
  new CommandFailed({
    message: `transcribe: ${(error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, " ")}`,
  })

/** Cuts a decoded file into frames of 100 ms (any rate and channel count). */
const framesOf = (audio: AudioFrame): AudioFrame[] => {
  const step = Math.max(1, Math.round(audio.sampleRateHz / 10)) * audio.channels
  const frames: AudioFrame[] = []
  for (let at = 0; at < audio.data.length; at += step) {
    frames.push(makeAudioFrame(audio.data.slice(at, at + step), audio.sampleRateHz, audio.channels))
  }
  return frames
}

interface Endpoint {
  readonly openai?: { readonly apiKey: string; readonly baseUrl: string }
  readonly env?: Record<string, string | undefined>
}

/** Streams the audio through a transcription session; resolves with one line per turn. */
const streamFile = async (
  audio: AudioFrame,
  options: { readonly model: string; readonly language: string | undefined },
  endpoint: Endpoint,
  report: (p: Progress) => void,
): Promise<string[]> => {
  const totalS = audio.data.length / audio.channels / audio.sampleRateHz
  const keepMs = Math.ceil(totalS * 1000) + 1_000
  const session = createTranscriptionSession({
    model: options.model,
    ...(options.language === undefined ? {} : { language: options.language }),
    turnDetection: { type: "server_vad" },
    // The whole file is pushed at once: keep all of it for a replay, warn of no backlog.
    replayBufferMs: keepMs,
    maxBufferedMs: keepMs,
    ...endpoint,
  })
  const lines: string[] = []
  let heardS = 0
  let failed: string | undefined
  try {
    report({ done: 0, total: totalS, unit: "s" })
    for (const frame of framesOf(audio)) session.pushFrame(frame)
    session.endInput()
    for await (const event of session) {
      if (event.type === "final_transcript") {
        const best = event.alternatives[0]
        const text = best?.text.trim() ?? ""
        if (text !== "") lines.push(text)
        if (best !== undefined) heardS = Math.max(heardS, best.endMs / 1000)
      } else if (event.type === "end_of_speech") {
        heardS = Math.max(heardS, event.atMs / 1000)
      } else if (event.type === "transcription_failed") {
        failed ??= event.error.message
      } else {
        continue
      }
      report({ done: Math.min(heardS, totalS), total: totalS, unit: "s" })
    }
  } finally {
    await session.close()
  }
  if (failed !== undefined && lines.length === 0) throw new Error(failed)
  report({ done: totalS, total: totalS, unit: "s" })
  return lines
}

/** Sends the audio to the batch endpoint (split into parts when large); resolves with its text. */
const batchFile = async (
  audio: AudioFrame,
  options: { readonly model: string; readonly language: string | undefined },
  endpoint: Endpoint,
  report: (p: Progress) => void,
): Promise<string[]> => {
  const stt = createBatchSTT({
    model: options.model,
    ...(options.language === undefined ? {} : { language: options.language }),
    ...endpoint,
  })
  try {
    report({ done: 0, total: 1, unit: "parts" })
    const result = await stt.recognize(audio, {
      onProgress: (p) => report({ done: p.done, total: p.total, unit: "parts" }),
    })
    report({ done: 1, total: 1, unit: "parts" })
    const text = result.text.trim()
    return text === "" ? [] : [text]
  } finally {
    await stt.close()
  }
}

/** `voxstate transcribe`. */
export const transcribeCommand = Command.make("transcribe", transcribeConfig, (config) =>
  Effect.gen(function* () {
    const { output } = yield* CliIO
    const bytes = yield* Effect.tryPromise({
      try: () => readFile(config.file),
      catch: (error) =>
        new CommandFailed({
          message: `transcribe: cannot read ${config.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        }),
    })
    const audio = yield* Effect.try({
      try: () => decodeWav(new Uint8Array(bytes)),
      catch: (error) =>
        new CommandFailed({
          message: `transcribe: ${config.file} is not a PCM16 WAV file: ${error instanceof Error ? error.message : String(error)}`,
        }),
    })
    const live = !config.simulator && Boolean(process.env.OPENAI_API_KEY)
    const sim = live
      ? undefined
      : yield* Effect.tryPromise({ try: () => startSimulator({ port: 0 }), catch: failure })
    const endpoint: Endpoint =
      sim === undefined ? {} : { openai: { apiKey: sim.apiKey ?? "", baseUrl: sim.httpUrl }, env: {} }
    const options = {
      model: config.model,
      language: Option.getOrUndefined(config.language),
    }
    const progress = progressReporter(output, process.stderr.isTTY === true)
    const lines = yield* Effect.tryPromise({
      try: () => (config.batch ? batchFile : streamFile)(audio, options, endpoint, progress.update),
      catch: failure,
    }).pipe(
      Effect.ensuring(
        Effect.promise(async () => {
          progress.finish()
          await sim?.close()
        }),
      ),
    )
    const text = lines.map((line) => `${line}\n`).join("")
    if (Option.isSome(config.output)) {
      const path = config.output.value
      yield* Effect.tryPromise({ try: () => writeFile(path, text), catch: failure })
      output.out(
        `${config.model} (${live ? "OpenAI" : "simulator"}, ${config.batch ? "batch" : "streaming"}) → ${path}: ${lines.length} ${lines.length === 1 ? "line" : "lines"}`,
      )
    } else {
      for (const line of lines) output.out(line)
    }
  }),
).pipe(
  Command.withDescription(
    "Transcribes a WAV file, streaming (default) or in one batch request (OpenAI with OPENAI_API_KEY, else the simulator).",
  ),
)
