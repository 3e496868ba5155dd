/**
 * `voxstate simulate`: starts the OpenAI simulator, prints its URLs and the key to use, and
 * runs until SIGINT or SIGTERM, then closes every socket and exits with code 0.
 *
 * ```sh
 * voxstate simulate [--port 8787] [--host 127.0.0.1] [--api-key KEY | --no-auth] [--beta] [--seed N]
 * ```
 * @module
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { type Simulator, type SimulatorOptions, startSimulator } from "../simulator/index.ts"
import { CliIO, CommandFailed } from "./io.ts"

/** An integer flag in [min, max], with a message that names the flag and the bounds. */
export const integerFlag = (name: string, min: number, max: number): Flag.Flag<number> =>
  Flag.String(name).pipe(
    Flag.filterMap(
      (value) => {
        const n = Number(value)
        return value.trim() !== "" && Number.isInteger(n) && n >= min && n <= max
          ? Option.some(n)
          : Option.none()
      },
      (value) => `--${name} expects an integer from ${min} to ${max}, got '${value}'`,
    ),
  )

/** The flags of `simulate`. */
export const simulateFlags = {
  port: integerFlag("port", 0, 65_535).pipe(
    Flag.withDefault(8787),
    Flag.withDescription("port to listen on (0 picks a free port)"),
  ),
  host: Flag.String("host").pipe(Flag.withDefault("127.0.0.1"), Flag.withDescription("address to bind")),
  apiKey: Flag.String("api-key").pipe(
    Flag.optional,
    Flag.withDescription("key clients must present (default sk-simulator)"),
  ),
  noAuth: Flag.Boolean("no-auth").pipe(
    Flag.withDefault(false),
    Flag.withDescription("accept any key, or none"),
  ),
  beta: Flag.Boolean("beta").pipe(
    Flag.withDefault(false),
    Flag.withDescription("serve the legacy beta Realtime transcription shapes"),
  ),
  seed: integerFlag("seed", 0, 2 ** 32 - 1).pipe(
    Flag.withDefault(1),
    Flag.withDescription("seed of the deterministic ids"),
  ),
} as const

/** The parsed flags of `simulate`. */
export type SimulateFlags = Command.Command.Config.Infer<typeof simulateFlags>

/**
 * The simulator options the flags ask for.
 * @throws {CommandFailed} (exit code 2) when `--api-key` and `--no-auth` are both given
 */
export const simulatorOptionsOf = (flags: SimulateFlags): SimulatorOptions => {
  if (flags.noAuth && Option.isSome(flags.apiKey)) {
    throw new CommandFailed({ message: "--api-key and --no-auth cannot be used together", exitCode: 2 })
  }
  return {
    port: flags.port,
    host: flags.host,
    apiKey: flags.noAuth ? null : Option.getOrElse(flags.apiKey, () => "sk-simulator"),
    beta: flags.beta,
    seed: flags.seed,
  }
}

/** The lines `simulate` prints once the simulator listens. */
export const describeSimulator = (sim: Simulator): string[] => {
  const pad = (label: string) => label.padEnd(26)
  return [
    `voxstate simulator listening on ${sim.httpUrl.replace(/^http:\/\//, "").replace(/\/v1$/, "")}`,
    `  ${pad("Realtime (conversation):")}${sim.url}/realtime?model=gpt-realtime`,
    `  ${pad("Realtime (transcription):")}${sim.url}/realtime?intent=transcription`,
    `  ${pad("Responses WebSocket:")}${sim.url}/responses`,
    `  ${pad("REST base URL:")}${sim.httpUrl}`,
    sim.apiKey === null
      ? `  ${pad("API key:")}any (authentication off)`
      : `  ${pad("API key:")}${sim.apiKey}  (Authorization: Bearer <key>, or api-key on Azure paths)`,
    "Press Ctrl+C to stop.",
  ]
}

/** `voxstate simulate`. */
export const simulateCommand = Command.make("simulate", simulateFlags, (flags) =>
  Effect.gen(function* () {
    const { output, stopped } = yield* CliIO
    const options = yield* Effect.try({
      try: () => simulatorOptionsOf(flags),
      catch: (error) =>
        error instanceof CommandFailed ? error : new CommandFailed({ message: String(error) }),
    })
    const sim = yield* Effect.tryPromise({
      try: () => startSimulator(options),
      catch: (error) =>
        new CommandFailed({
          message: `Could not start the simulator: ${error instanceof Error ? error.message : String(error)}`,
        }),
    })
    for (const line of describeSimulator(sim)) output.out(line)
    const signal = yield* Effect.promise(() => stopped()).pipe(
      Effect.ensuring(Effect.promise(() => sim.close())),
    )
    output.out(`Stopped (${signal}).`)
  }),
).pipe(
  Command.withDescription(
    "Starts the local OpenAI simulator (Realtime, Responses WebSocket, REST audio and chat).",
  ),
)
