/**
 * What every command reaches the outside world through: its output lines and the stop
 * signal. Tests provide their own to capture the output and to stop a running command.
 * @module
 */
import { Context, Data } from "effect"

/** Output of the command line (stdout and stderr by default; tests may capture it). */
export interface CliOutput {
  out(line: string): void
  err(line: string): void
  /** Writes without a line break, for a progress bar redrawn in place (defaults to `out`). */
  progress?(text: string): void
  /** Writes to stderr without a line break (a progress bar on stderr); absent: plain lines on `err`. */
  status?(text: string): void
}

/** The command line's I/O as a service: output, and a promise that settles on SIGINT/SIGTERM. */
export class CliIO extends Context.Service<
  CliIO,
  { readonly output: CliOutput; readonly stopped: () => Promise<NodeJS.Signals> }
>()("voxstate/cli/CliIO") {}

/**
 * A command that ran and failed: `message` (one line, already scrubbed of credentials) is
 * printed on stderr and the process exits with `exitCode` (1 unless said otherwise).
 */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{
  readonly message: string
  readonly exitCode?: number
}> {}

/** The standard output streams. */
export const stdio: CliOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  progress: (text) => process.stdout.write(text),
  status: (text) => process.stderr.write(text),
}

/**
 * Ends the process quietly with exit code 0 when the reader of `stream` goes away
 * (`voxstate ... | head`: the pipe closes, the next write fails with `EPIPE`); any other error of
 * the stream is thrown as before.
 */
export const exitQuietlyOnClosedPipe = (stream: NodeJS.WriteStream = process.stdout): void => {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error
    process.exit(0)
  })
}

/** Resolves with the first of SIGINT and SIGTERM received after the call. */
export const processStopped = (): Promise<NodeJS.Signals> =>
  new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => () => {
      process.off("SIGINT", onInt)
      process.off("SIGTERM", onTerm)
      resolve(signal)
    }
    const onInt = on("SIGINT")
    const onTerm = on("SIGTERM")
    process.once("SIGINT", onInt)
    process.once("SIGTERM", onTerm)
  })
