/**
 * `voxstate demo` (and `npm start`): the demo call of src/agent/demo.ts, printed live, the
 * call written as a stereo WAV. With OPENAI_API_KEY set it talks to OpenAI; otherwise the
 * simulator runs in this process.
 * @module
 */
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { runDemo } from "../agent/demo.ts"
import { CliIO, CommandFailed } from "./io.ts"

/** The flags of `demo`. */
export const demoConfig = {
  output: Flag.String("output").pipe(
    Flag.withAlias("o"),
    Flag.withDefault("voxstate-demo.wav"),
    Flag.withDescription("the stereo WAV of the call (left: caller, right: agent)"),
  ),
  simulator: Flag.Boolean("simulator").pipe(
    Flag.withDefault(false),
    Flag.withDescription("use the simulator in this process even when OPENAI_API_KEY is set"),
  ),
} as const

/** `voxstate demo`. */
export const demoCommand = Command.make("demo", demoConfig, (config) =>
  Effect.gen(function* () {
    const { output } = yield* CliIO
    const env = config.simulator ? {} : process.env
    yield* Effect.tryPromise({
      try: () => runDemo({ wavPath: config.output, env, log: (line) => output.out(line) }),
      catch: (error) =>
        new CommandFailed({ message: `demo: ${error instanceof Error ? error.message : String(error)}` }),
    })
  }),
).pipe(
  Command.withDescription(
    "A demo call: an agent with a weather tool, a scripted caller who cuts it off once; prints the turns and their latency, writes the call as a stereo WAV.",
  ),
)
