/**
 * `voxstate simulate`: starts the OpenAI simulator, prints its URLs and the key to use, and
 * runs until SIGINT or SIGTERM, then closes every socket and exits with code 0.
 *
 * ```sh
 * voxstate simulate [--port 8787] [--host 127.0.0.1] [--api-key KEY | --no-auth] [--beta] [--seed N]
 *                   [--log] [--scenario FILE] [--tls]
 * ```
 * @module
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import {
  parseScenarioFile,
  ScenarioFileError,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "../simulator/index.ts"
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
  log: Flag.Boolean("log").pipe(
    Flag.withDefault(false),
    Flag.withDescription("print one line per request, connection and error event sent"),
  ),
  scenario: Flag.String("scenario").pipe(
    Flag.optional,
    Flag.withDescription(
      "JSON file: transcripts, replies (tool calls too), connection scripts and REST answers, as startSimulator({ scenario }) takes them",
    ),
  ),
  tls: Flag.Boolean("tls").pipe(
    Flag.withDefault(false),
    Flag.withDescription(
      "serve https/wss with a self-signed certificate made at start; its file is printed, for NODE_EXTRA_CA_CERTS",
    ),
  ),
} as const

/** The parsed flags of `simulate`. */
export type SimulateFlags = Command.Command.Config.Infer<typeof simulateFlags>

/** What the flags of `simulate` ask for: the simulator's options, `--log` and `--scenario`'s file. */
export type SimulateSettings = Omit<SimulatorOptions, "log" | "scenario"> & {
  readonly log: boolean
  readonly scenarioFile?: string
}

/**
 * The simulator settings the flags ask for.
 * @throws {CommandFailed} (exit code 2) when `--api-key` and `--no-auth` are both given
 */
export const simulatorOptionsOf = (flags: SimulateFlags): SimulateSettings => {
  if (flags.noAuth && Option.isSome(flags.apiKey)) {
    throw new CommandFailed({ message: "--api-key and --no-auth cannot be used together", exitCode: 2 })
  }
  return {
    port: flags.port,
    host: flags.host,
    apiKey: flags.noAuth ? null : Option.getOrElse(flags.apiKey, () => "sk-simulator"),
    beta: flags.beta,
    seed: flags.seed,
    log: flags.log,
    tls: flags.tls,
    ...(Option.isSome(flags.scenario) ? { scenarioFile: flags.scenario.value } : {}),
  }
}

/**
 * Reads and checks a `--scenario` file.
 * @throws {CommandFailed} (exit code 2) naming the file and what is wrong with it
 */
export const readScenarioFile = (path: string): NonNullable<SimulatorOptions["scenario"]> => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (cause) {
    throw new CommandFailed({
      message: `--scenario ${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
      exitCode: 2,
    })
  }
  try {
    return parseScenarioFile(text)
  } catch (error) {
    if (error instanceof ScenarioFileError) {
      throw new CommandFailed({ message: `--scenario ${path}: ${error.message}`, exitCode: 2 })
    }
    throw error
  }
}

const asCommandFailed = (error: unknown): CommandFailed =>
  error instanceof CommandFailed ? error : new CommandFailed({ message: String(error) })

/** The lines `simulate` prints once the simulator listens. */
export const describeSimulator = (sim: Simulator, certificatePath?: string): string[] => {
  const pad = (label: string) => label.padEnd(26)
  return [
    `voxstate simulator listening on ${sim.httpUrl.replace(/^https?:\/\//, "").replace(/\/v1$/, "")}`,
    `  ${pad("Realtime (conversation):")}${sim.url}/realtime?model=gpt-realtime`,
    `  ${pad("Realtime (transcription):")}${sim.url}/realtime?intent=transcription`,
    `  ${pad("Responses WebSocket:")}${sim.url}/responses`,
    `  ${pad("REST base URL:")}${sim.httpUrl}`,
    sim.apiKey === null
      ? `  ${pad("API key:")}any (authentication off)`
      : `  ${pad("API key:")}${sim.apiKey}  (Authorization: Bearer <key>, or api-key on Azure paths)`,
    `  ${pad("Environment:")}OPENAI_BASE_URL=${sim.httpUrl} OPENAI_API_KEY=${sim.apiKey ?? "any"}`,
    ...(certificatePath === undefined
      ? []
      : [
          `  ${pad("TLS certificate:")}${certificatePath}  (trust it: NODE_EXTRA_CA_CERTS=${certificatePath})`,
        ]),
    "Press Ctrl+C to stop.",
  ]
}

/** `voxstate simulate`. */
export const simulateCommand = Command.make("simulate", simulateFlags, (flags) =>
  Effect.gen(function* () {
    const { output, stopped } = yield* CliIO
    const { log, scenarioFile, ...options } = yield* Effect.try({
      try: () => simulatorOptionsOf(flags),
      catch: asCommandFailed,
    })
    const scenario = yield* Effect.try({
      try: () => (scenarioFile === undefined ? undefined : readScenarioFile(scenarioFile)),
      catch: asCommandFailed,
    })
    const sim = yield* Effect.tryPromise({
      try: () =>
        startSimulator({
          ...options,
          ...(scenario === undefined ? {} : { scenario }),
          ...(log ? { log: (line: string) => output.out(line) } : {}),
        }),
      catch: (error) =>
        new CommandFailed({
          message: `Could not start the simulator: ${error instanceof Error ? error.message : String(error)}`,
        }),
    })
    // The certificate as a file, for NODE_EXTRA_CA_CERTS; removed when the simulator stops.
    const certificateDir =
      sim.certificate === undefined ? undefined : mkdtempSync(join(tmpdir(), "voxstate-simulator-"))
    const certificatePath = certificateDir === undefined ? undefined : join(certificateDir, "certificate.pem")
    if (certificatePath !== undefined) writeFileSync(certificatePath, sim.certificate ?? "")
    for (const line of describeSimulator(sim, certificatePath)) output.out(line)
    const signal = yield* Effect.promise(() => stopped()).pipe(
      Effect.ensuring(
        Effect.promise(async () => {
          await sim.close()
          if (certificateDir !== undefined) rmSync(certificateDir, { recursive: true, force: true })
        }),
      ),
    )
    output.out(`Stopped (${signal}).`)
  }),
).pipe(
  Command.withDescription(
    "Starts the local OpenAI simulator (Realtime, Responses WebSocket, REST audio and chat).",
  ),
)
