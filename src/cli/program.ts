/**
 * The `voxstate` command line on Effect's CLI module (`effect/cli`): the registered
 * commands as subcommands of `voxstate`, `--help` for each, `--version`, usage mistakes as
 * one line on stderr with exit code 2, a failed command as one line with exit code 1.
 *
 * Adding a command is one line in {@link COMMANDS}: a module under src/cli/ exports a
 * `Command` whose handler reaches the output through {@link CliIO} and fails with
 * {@link CommandFailed} for an error the user should read.
 * @module
 */
import { readFileSync } from "node:fs"
import { Cause, Effect, Exit, FileSystem, Layer, Path, Stdio, Terminal } from "effect"
import { CliError, Command, CliOutput as EffectCliOutput, type HelpDoc } from "effect/cli"
import { ChildProcessSpawner } from "effect/process"
import { makeScrubber } from "../transport/scrub.ts"
import { CliIO, type CliOutput, CommandFailed, processStopped, stdio } from "./io.ts"

/** The package's version, from its package.json (beside src/ from source, two up from dist/src/). */
export const packageVersion = (): string => {
  for (const relative of ["../../package.json", "../../../package.json"]) {
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

/** Any command `voxstate` can register. */
// biome-ignore lint/suspicious/noExplicitAny: a registry of commands with different inputs
export type AnyCommand = Command.Command<any, any, any, any, any>

const formatter = EffectCliOutput.defaultFormatter({ colors: false, globalFlags: "summary" })

/** The help text of `doc`, as `--help` prints it. */
export const formatHelp = (doc: HelpDoc.HelpDoc): string => formatter.formatHelpDoc(doc)

const errorLine = (error: CliError.NonShowHelpErrors): string => {
  const message = error.message.replace(/\s*\n\s*/g, " ").trim()
  return message
}

/**
 * The services `effect/cli` requires. The commands read files and spawn nothing through
 * them (they use node:fs directly), so the file system and the process spawner are
 * Effect's no-op ones; the terminal reports a fixed width so help text is stable.
 */
const environment = (argv: readonly string[]) =>
  Layer.mergeAll(
    FileSystem.layerNoop({}),
    Path.layer,
    Stdio.layerTest({ args: Effect.succeed(argv) }),
    Layer.succeed(
      Terminal.Terminal,
      Terminal.make({
        columns: Effect.succeed(100),
        rows: Effect.succeed(40),
        size: Effect.die("voxstate does not follow terminal resizes"),
        readInput: Effect.die("voxstate does not read the terminal"),
        readLine: Effect.die("voxstate does not read the terminal"),
        display: () => Effect.void,
      }),
    ),
    Layer.succeed(
      ChildProcessSpawner.ChildProcessSpawner,
      ChildProcessSpawner.make(() => Effect.die("voxstate spawns no process")),
    ),
  )

/** Options of {@link runCli}. */
export interface RunCliOptions {
  readonly output?: CliOutput
  /** Settles when the command should stop (SIGINT or SIGTERM by default). */
  readonly stopped?: () => Promise<NodeJS.Signals>
}

/**
 * Runs `root` (a command with subcommands) on `argv` (without the node and script paths)
 * and resolves with the exit code: 0 after a command ran, `--help` or `--version`; 2 for a
 * usage mistake (or no command at all, after printing the usage); the command's own code
 * (1 by default) when it failed.
 */
export const runCli = async (
  root: AnyCommand,
  argv: readonly string[],
  options: RunCliOptions = {},
): Promise<number> => {
  const output = options.output ?? stdio
  const commandPathOf = (path: ReadonlyArray<string>) => path.join(" ")
  // effect/cli presents the usage implicitly beside a usage mistake too; it is printed only
  // when no mistake is reported (a bare `voxstate`), so a mistake stays one line.
  let implicitHelp: string | undefined
  const presenter: EffectCliOutput.Presenter = {
    present: (event) =>
      Effect.sync(() => {
        switch (event._tag) {
          case "Help":
            if (event.reason === "Requested") output.out(formatHelp(event.helpDoc))
            else implicitHelp = formatHelp(event.helpDoc)
            return
          case "Version":
            output.out(event.version)
            return
          case "InvalidInvocation": {
            implicitHelp = undefined
            const first = event.errors[0]
            const line = first === undefined ? "invalid arguments" : errorLine(first)
            output.err(`${line} (see '${commandPathOf(event.commandPath)} --help')`)
            return
          }
        }
      }),
  }
  const program = Command.runWith(root, { version: packageVersion() })(argv).pipe(
    Effect.provide(environment(argv)),
    Effect.provide(EffectCliOutput.layerPresenter(presenter)),
    Effect.provideService(CliIO, { output, stopped: options.stopped ?? processStopped }),
  )
  const scrub = makeScrubber([process.env.OPENAI_API_KEY ?? ""].filter((key) => key.length > 0))
  const exit = await Effect.runPromiseExit(program as Effect.Effect<void, unknown>)
  if (implicitHelp !== undefined) output.err(implicitHelp)
  if (Exit.isSuccess(exit)) return 0
  const failure = exit.cause.reasons.find(Cause.isFailReason)
  const error: unknown = failure?.error
  if (error instanceof CommandFailed) {
    output.err(scrub(error.message))
    return error.exitCode ?? 1
  }
  if (CliError.isCliError(error)) return 2
  const defect = Cause.squash(exit.cause)
  output.err(scrub(defect instanceof Error ? defect.message : String(defect)))
  return 1
}

/** A command line `parseCommandLine` refused: the one line `voxstate` would print. */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

/**
 * Parses `argv` (the arguments after the command's name) with `command`'s flags and
 * arguments without running it, and resolves with what its handler would receive.
 * @throws {UsageError} for an unknown flag, a bad value or `--help`
 */
export const parseCommandLine = async <Name extends string, Input, E, R>(
  command: Command.Command<Name, Input, {}, E, R>,
  argv: readonly string[],
): Promise<Input> => {
  let parsed: { readonly input: Input } | undefined
  const errors: string[] = []
  const capture = Command.withHandler(command, (input: Input) =>
    Effect.sync(() => {
      parsed = { input }
    }),
  ) as AnyCommand
  await runCli(capture, argv, { output: { out: () => {}, err: (line) => errors.push(line) } })
  if (parsed === undefined) throw new UsageError(errors[0] ?? "no input parsed")
  return parsed.input
}
