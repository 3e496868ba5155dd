#!/usr/bin/env node
/**
 * The `voxstate` command line. One command for now:
 *
 * ```sh
 * voxstate simulate [--port 8787] [--host 127.0.0.1] [--api-key KEY | --no-auth] [--beta] [--seed N]
 *                   [--log] [--scenario FILE] [--tls]
 * ```
 *
 * starts the OpenAI simulator, prints its URLs and the key to use, and runs until SIGINT or
 * SIGTERM, then closes every socket and exits with code 0. Runs from source with Node 24
 * (`node src/cli.ts simulate`) and as the package's `voxstate` bin.
 * @module
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { parseArgs } from "node:util"
import {
  parseScenarioFile,
  ScenarioFileError,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "./simulator/index.ts"

/** The help text. */
export const USAGE = `Usage: voxstate simulate [options]
       voxstate --version

Starts the local OpenAI simulator (Realtime, Responses WebSocket, REST audio and chat).

Options:
  --port <n>       port to listen on (default 8787; 0 picks a free port)
  --host <addr>    address to bind (default 127.0.0.1)
  --api-key <key>  key clients must present (default sk-simulator)
  --no-auth        accept any key, or none
  --beta           serve the legacy beta Realtime transcription shapes
  --seed <n>       seed of the deterministic ids (default 1)
  --log            print one line per request, connection and error event sent
  --scenario <f>   JSON file: transcripts, replies (tool calls too), connection scripts
                   and REST answers, as startSimulator({ scenario }) takes them
  --tls            serve https/wss with a self-signed certificate made at start; its file
                   is printed, for NODE_EXTRA_CA_CERTS
  -h, --help       show this help
`

/** The package's version, from its package.json (beside src/ from source, two up from dist/src/). */
export const packageVersion = (): string => {
  for (const relative of ["../package.json", "../../package.json"]) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(relative, import.meta.url), "utf8")) as {
        name?: string
        version?: string
      }
      if (manifest.name === "voxstate" && typeof manifest.version === "string") return manifest.version
    } catch {
      // Not at this depth: try the next.
    }
  }
  return "unknown"
}

/** A command-line mistake: the message to print and exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

const parseInteger = (value: string, name: string, min: number, max: number): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} expects an integer from ${min} to ${max}, got '${value}'`)
  }
  return n
}

/**
 * Parses the arguments of `voxstate simulate` into simulator options.
 * @throws {UsageError} on an unknown option or a bad value
 */
export const parseSimulateArgs = (
  args: readonly string[],
): Omit<SimulatorOptions, "log"> & {
  readonly help: boolean
  readonly log: boolean
  readonly scenarioFile?: string
} => {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; args: string[]; strict: true }>>
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: false })
  } catch (cause) {
    throw new UsageError(cause instanceof Error ? cause.message : String(cause))
  }
  const { values } = parsed
  if (values["no-auth"] === true && values["api-key"] !== undefined) {
    throw new UsageError("--api-key and --no-auth cannot be used together")
  }
  return {
    help: values.help === true,
    port: values.port === undefined ? 8787 : parseInteger(values.port, "port", 0, 65_535),
    host: values.host ?? "127.0.0.1",
    apiKey: values["no-auth"] === true ? null : (values["api-key"] ?? "sk-simulator"),
    beta: values.beta === true,
    seed: values.seed === undefined ? 1 : parseInteger(values.seed, "seed", 0, 2 ** 32 - 1),
    log: values.log === true,
    tls: values.tls === true,
    ...(values.scenario === undefined ? {} : { scenarioFile: values.scenario }),
  }
}

/**
 * Reads and checks a `--scenario` file.
 * @throws {UsageError} naming the file and what is wrong with it
 */
export const readScenarioFile = (path: string): NonNullable<SimulatorOptions["scenario"]> => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (cause) {
    throw new UsageError(`--scenario ${path}: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
  try {
    return parseScenarioFile(text)
  } catch (error) {
    if (error instanceof ScenarioFileError) throw new UsageError(`--scenario ${path}: ${error.message}`)
    throw error
  }
}

const OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  "api-key": { type: "string" },
  "no-auth": { type: "boolean" },
  beta: { type: "boolean" },
  seed: { type: "string" },
  log: { type: "boolean" },
  scenario: { type: "string" },
  tls: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const

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

/** Output of the command (stdout and stderr by default; tests may capture it). */
export interface CliOutput {
  out(line: string): void
  err(line: string): void
}

const stdio: CliOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}

/**
 * Runs the command line with `argv` (without the node and script paths) and resolves with
 * the exit code: 0 after a clean stop or `--help`, 1 when the simulator cannot start (port
 * taken), 2 for a usage mistake.
 */
export const main = async (argv: readonly string[], output: CliOutput = stdio): Promise<number> => {
  const [command, ...rest] = argv
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    output.out(USAGE)
    return command === undefined ? 2 : 0
  }
  if (command === "--version" || command === "-v" || command === "version") {
    output.out(packageVersion())
    return 0
  }
  if (command !== "simulate") {
    output.err(`Unknown command '${command}'.\n\n${USAGE}`)
    return 2
  }
  let options: ReturnType<typeof parseSimulateArgs>
  try {
    options = parseSimulateArgs(rest)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    output.err(`${error.message}\n\n${USAGE}`)
    return 2
  }
  if (options.help) {
    output.out(USAGE)
    return 0
  }
  let scenario: SimulatorOptions["scenario"]
  try {
    scenario = options.scenarioFile === undefined ? undefined : readScenarioFile(options.scenarioFile)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    output.err(error.message)
    return 2
  }
  const { log, scenarioFile: _file, help: _help, ...simulatorOptions } = options
  let sim: Simulator
  try {
    sim = await startSimulator({
      ...simulatorOptions,
      ...(scenario === undefined ? {} : { scenario }),
      ...(log ? { log: (line: string) => output.out(line) } : {}),
    })
  } catch (error) {
    output.err(`Could not start the simulator: ${error instanceof Error ? error.message : String(error)}`)
    return 1
  }
  // The certificate as a file, for NODE_EXTRA_CA_CERTS; removed when the simulator stops.
  const certificateDir =
    sim.certificate === undefined ? undefined : mkdtempSync(join(tmpdir(), "voxstate-simulator-"))
  const certificatePath = certificateDir === undefined ? undefined : join(certificateDir, "certificate.pem")
  if (certificatePath !== undefined) writeFileSync(certificatePath, sim.certificate ?? "")
  for (const line of describeSimulator(sim, certificatePath)) output.out(line)
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"))
    process.once("SIGTERM", () => resolve("SIGTERM"))
  })
  await sim.close()
  if (certificateDir !== undefined) rmSync(certificateDir, { recursive: true, force: true })
  output.out(`Stopped (${signal}).`)
  return 0
}

const invokedDirectly = (): boolean => {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href
  } catch {
    return false
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
      process.exitCode = 1
    },
  )
}
