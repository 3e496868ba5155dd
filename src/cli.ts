#!/usr/bin/env node
/**
 * The `voxstate` command line. Each command lives in its own module under src/cli/ and is
 * registered by one line in {@link COMMANDS}; src/cli/program.ts runs them on Effect's CLI
 * module (`--help` for each, `--version`, one-line errors with a non-zero exit code).
 * Runs from source with Node 24 (`node src/cli.ts simulate`) and as the package's `voxstate` bin.
 * @module
 */
import { realpathSync } from "node:fs"
import { pathToFileURL } from "node:url"
import { Command } from "effect/cli"
import { clusterCommand } from "./cli/cluster.ts"
import { demoCommand } from "./cli/demo.ts"
import { diagramCommand } from "./cli/diagram.ts"
import { inspectCommand } from "./cli/inspect.ts"
import { type CliOutput, exitQuietlyOnClosedPipe } from "./cli/io.ts"
import { type AnyCommand, runCli } from "./cli/program.ts"
import { replayCommand } from "./cli/replay.ts"
import { runnerCommand } from "./cli/runner.ts"
import { simulateCommand } from "./cli/simulate.ts"
import { speakCommand } from "./cli/speak.ts"
import { transcribeCommand } from "./cli/transcribe.ts"

export type { CliOutput } from "./cli/io.ts"

/** Every `voxstate` command; adding one is one line here. */
export const COMMANDS: ReadonlyArray<AnyCommand> = [
  simulateCommand,
  speakCommand,
  demoCommand,
  diagramCommand,
  inspectCommand,
  replayCommand,
  transcribeCommand,
  runnerCommand,
  clusterCommand,
]

/** `voxstate` with its commands. */
export const rootCommand = Command.make("voxstate").pipe(
  Command.withDescription("A runtime for voice agents on OpenAI's speech stack, and its offline simulator."),
  Command.withSubcommands(COMMANDS),
)

/**
 * Runs the command line with `argv` (without the node and script paths) and resolves with
 * the exit code: 0 after a clean stop, `--help` or `--version`; 1 when a command fails (the
 * simulator cannot start: port taken); 2 for a usage mistake.
 */
export const main = (argv: readonly string[], output?: CliOutput): Promise<number> =>
  runCli(rootCommand, argv, output === undefined ? {} : { output })

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
  exitQuietlyOnClosedPipe()
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
