/**
 * `voxstate diagram MACHINE --format svg|mermaid|json [-o FILE]`: the chart of one of the
 * shipped machines, read from its definition, as SVG (laid out with ELK), Mermaid or a JSON
 * machine config Stately Studio imports. Without -o it prints to stdout.
 * @module
 */
import { writeFile } from "node:fs/promises"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { DIAGRAM_FORMATS, diagramOf, KNOWN_MACHINES } from "../inspect/index.ts"
import { CliIO, CommandFailed } from "./io.ts"

/** The arguments and flags of `diagram`. */
export const diagramConfig = {
  machine: Argument.String("machine").pipe(
    Argument.withDescription(`the machine: ${Object.keys(KNOWN_MACHINES).join(", ")}`),
  ),
  format: Flag.Literals("format", DIAGRAM_FORMATS).pipe(
    Flag.withDefault("svg" as const),
    Flag.withDescription("svg, mermaid or json"),
  ),
  output: Flag.String("output").pipe(
    Flag.withAlias("o"),
    Flag.optional,
    Flag.withDescription("the file to write (default: stdout)"),
  ),
} as const

/** `voxstate diagram`. */
export const diagramCommand = Command.make("diagram", diagramConfig, (config) =>
  Effect.gen(function* () {
    const { output } = yield* CliIO
    const machine = KNOWN_MACHINES[config.machine]
    if (machine === undefined) {
      return yield* Effect.fail(
        new CommandFailed({
          message: `diagram: unknown machine '${config.machine}' (known: ${Object.keys(KNOWN_MACHINES).join(", ")})`,
          exitCode: 2,
        }),
      )
    }
    const text = yield* Effect.promise(() => diagramOf(machine, config.format))
    if (Option.isSome(config.output)) {
      const file = config.output.value
      yield* Effect.tryPromise({
        try: () => writeFile(file, text),
        catch: (error) =>
          new CommandFailed({
            message: `diagram: ${error instanceof Error ? error.message : String(error)}`,
          }),
      })
      output.out(`${config.machine} (${config.format}) → ${file}`)
    } else {
      output.out(text.trimEnd())
    }
  }),
).pipe(Command.withDescription("Prints the statechart of a shipped machine as SVG, Mermaid or JSON."))
