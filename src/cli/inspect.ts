/**
 * `voxstate inspect FILE`: a session's log saved from the inspector's page (JSONL, one record
 * a line) opened again in the page, served locally until Ctrl+C: the chart, the transcripts,
 * the latency plot and time travel as they were.
 * @module
 */
import { readFileSync } from "node:fs"
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { createInspector } from "../inspect/inspector.ts"
import { KNOWN_MACHINES } from "../inspect/machines.ts"
import { parseInspectorLog } from "../inspect/savedLog.ts"
import { CliIO, CommandFailed } from "./io.ts"

/** The arguments and flags of `inspect`. */
export const inspectConfig = {
  file: Argument.String("file").pipe(Argument.withDescription("a session's log saved from the page (JSONL)")),
  port: Flag.Int("port").pipe(
    Flag.withDefault(0),
    Flag.withDescription("the port to serve the page on (default: a free one)"),
  ),
} as const

/** `voxstate inspect`. */
export const inspectCommand = Command.make("inspect", inspectConfig, (config) =>
  Effect.gen(function* () {
    const { output, stopped } = yield* CliIO
    const records = yield* Effect.try({
      try: () => parseInspectorLog(readFileSync(config.file, "utf8")),
      catch: (error) =>
        new CommandFailed({ message: `inspect: ${error instanceof Error ? error.message : String(error)}` }),
    })
    const inspector = yield* Effect.tryPromise({
      try: () => createInspector({ port: config.port, records, machines: Object.values(KNOWN_MACHINES) }),
      catch: (error) =>
        new CommandFailed({ message: `inspect: ${error instanceof Error ? error.message : String(error)}` }),
    })
    const sessions = new Set(records.map((r) => r.session)).size
    output.out(
      `Inspector: ${inspector.url} (${records.length} records, ${sessions} session(s) from ${config.file})`,
    )
    output.out("Press Ctrl+C to stop.")
    yield* Effect.promise(() => stopped()).pipe(Effect.ensuring(Effect.promise(() => inspector.close())))
  }),
).pipe(
  Command.withDescription("Opens a session's log saved from the inspector (JSONL) in the inspector's page."),
)
