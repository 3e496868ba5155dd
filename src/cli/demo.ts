/**
 * `voxstate demo` (and `npm start`): the demo call of src/agent/demo.ts, printed live, the
 * call written as a stereo WAV. With OPENAI_API_KEY set it talks to OpenAI; otherwise the
 * simulator runs in this process. It serves the live inspector on 127.0.0.1 and prints its
 * address first, so the call can be watched as it happens (`--no-inspector`: none); when a page
 * is still watching at the end, the page stays served until Ctrl+C. With `--inspect` (or
 * `VOXSTATE_INSPECT=1`) the call also waits for a page to open (at most
 * {@link VIEWER_WAIT_MS}) and the page is kept after the call until Ctrl+C.
 * @module
 */
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { runDemo } from "../agent/demo.ts"
import { createInspector, type Inspector } from "../inspect/inspector.ts"
import { inspectRequested } from "../inspect/processInspector.ts"
import { CliIO, CommandFailed } from "./io.ts"

/** How long the call waits for a page to open the inspector before it starts anyway. */
export const VIEWER_WAIT_MS = 15_000

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
  inspect: Flag.Boolean("inspect").pipe(
    Flag.withDefault(false),
    Flag.withDescription(
      "wait for the inspector's page before the call and keep it after (also VOXSTATE_INSPECT=1)",
    ),
  ),
  noInspector: Flag.Boolean("no-inspector").pipe(
    Flag.withDefault(false),
    Flag.withDescription("do not serve the live inspector"),
  ),
  inspectText: Flag.Boolean("inspect-text").pipe(
    Flag.withDefault(false),
    Flag.withDescription("show the call's texts in the inspector (redacted otherwise)"),
  ),
} as const

const failed = (error: unknown) =>
  new CommandFailed({ message: `demo: ${error instanceof Error ? error.message : String(error)}` })

const waitForViewer = async (inspector: Inspector, ms: number): Promise<void> => {
  const deadline = Date.now() + ms
  while (inspector.viewers === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
}

/** `voxstate demo`. */
export const demoCommand = Command.make("demo", demoConfig, (config) =>
  Effect.gen(function* () {
    const { output, stopped } = yield* CliIO
    const env = config.simulator ? {} : process.env
    const watched = config.inspect || inspectRequested(process.env)
    const inspector =
      config.noInspector && !watched
        ? undefined
        : yield* Effect.tryPromise({
            try: () => createInspector({ includeText: config.inspectText }),
            catch: failed,
          })
    const run = Effect.gen(function* () {
      if (inspector !== undefined) {
        output.out(`Inspector: ${inspector.url} (open it to watch the call live)`)
        if (watched) {
          output.out(`The call starts when the page is open (at most ${VIEWER_WAIT_MS / 1000} s).`)
          yield* Effect.promise(() => waitForViewer(inspector, VIEWER_WAIT_MS))
        }
      }
      yield* Effect.tryPromise({
        try: () =>
          runDemo({
            wavPath: config.output,
            env,
            log: (line) => output.out(line),
            ...(inspector === undefined ? {} : { inspect: inspector.inspect }),
          }),
        catch: failed,
      })
      if (inspector !== undefined && (watched || inspector.viewers > 0)) {
        output.out(`The call is over; the inspector stays at ${inspector.url} until Ctrl+C.`)
        yield* Effect.promise(() => stopped())
      }
    })
    yield* inspector === undefined ? run : run.pipe(Effect.ensuring(Effect.promise(() => inspector.close())))
  }),
).pipe(
  Command.withDescription(
    "A demo call: an agent with a weather tool, a scripted caller who cuts it off once; prints the turns and their latency, writes the call as a stereo WAV.",
  ),
)
