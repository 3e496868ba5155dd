/**
 * `voxstate speak TEXT -o FILE`: synthesizes TEXT into a mono WAV file. With
 * OPENAI_API_KEY set it talks to OpenAI (at OPENAI_BASE_URL, if set); otherwise, or with
 * `--simulator`, it starts the voxstate simulator in this process.
 * @module
 */
import { writeFile } from "node:fs/promises"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { concatPcm16, encodeWav } from "../audio/index.ts"
import { startSimulator } from "../simulator/index.ts"
import { createTTS } from "../tts/index.ts"
import { CliIO, CommandFailed } from "./io.ts"

/** The arguments and flags of `speak`. */
export const speakConfig = {
  text: Argument.String("text").pipe(Argument.withDescription("the text to speak")),
  output: Flag.String("output").pipe(Flag.withAlias("o"), Flag.withDescription("the WAV file to write")),
  voice: Flag.String("voice").pipe(Flag.withDefault("marin"), Flag.withDescription("the voice")),
  model: Flag.String("model").pipe(
    Flag.withDefault("gpt-4o-mini-tts"),
    Flag.withDescription("the TTS model"),
  ),
  instructions: Flag.String("instructions").pipe(Flag.optional, Flag.withDescription("how to speak")),
  simulator: Flag.Boolean("simulator").pipe(
    Flag.withDefault(false),
    Flag.withDescription("use the simulator in this process even when OPENAI_API_KEY is set"),
  ),
} as const

const failure = (error: unknown): CommandFailed =>
  new CommandFailed({ message: `speak: ${error instanceof Error ? error.message : String(error)}` })

/** `voxstate speak`. */
export const speakCommand = Command.make("speak", speakConfig, (config) =>
  Effect.gen(function* () {
    const { output } = yield* CliIO
    if (config.text.trim() === "") {
      return yield* Effect.fail(new CommandFailed({ message: "speak: TEXT is empty", exitCode: 2 }))
    }
    const live = !config.simulator && Boolean(process.env.OPENAI_API_KEY)
    const sim = live
      ? undefined
      : yield* Effect.tryPromise({ try: () => startSimulator({ port: 0 }), catch: failure })
    const tts = createTTS({
      model: config.model,
      voice: config.voice,
      ...(Option.isSome(config.instructions) ? { instructions: config.instructions.value } : {}),
      ...(sim === undefined ? {} : { openai: { apiKey: sim.apiKey ?? "", baseUrl: sim.httpUrl }, env: {} }),
    })
    const run = async () => {
      const frames: Int16Array[] = []
      for await (const event of tts.synthesize(config.text)) {
        if (event.type === "audio") frames.push(event.frame.data)
      }
      const samples = concatPcm16(frames)
      await writeFile(
        config.output,
        encodeWav({ data: samples, sampleRateHz: tts.sampleRateHz, channels: 1 }),
      )
      return samples.length / tts.sampleRateHz
    }
    const seconds = yield* Effect.tryPromise({ try: run, catch: failure }).pipe(
      Effect.ensuring(
        Effect.promise(async () => {
          await tts.close()
          await sim?.close()
        }),
      ),
    )
    output.out(`${tts.label} (${live ? "OpenAI" : "simulator"}) → ${config.output}: ${seconds.toFixed(2)} s`)
  }),
).pipe(
  Command.withDescription(
    "Synthesizes TEXT into a WAV file (OpenAI with OPENAI_API_KEY, else the simulator).",
  ),
)
