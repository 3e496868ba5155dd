/**
 * `voxstate cluster`: a local cluster for development: a throwaway PostgreSQL (or
 * `--database`), `--runners` runner processes and a front door on `--port`. Callers connect
 * their media to `ws://127.0.0.1:PORT/calls/<id>`; runs until SIGINT or SIGTERM, then drains
 * the runners and removes the database.
 *
 * ```sh
 * voxstate cluster [--runners 2] [--budget 20] [--port 8790] [--database URL] [--agent agent.ts]
 * ```
 * @module
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { startLocalCluster } from "../cluster/localCluster.ts"
import { CliIO, CommandFailed } from "./io.ts"
import { integerFlag } from "./simulate.ts"

/** The flags of `cluster`. */
export const clusterFlags = {
  runners: integerFlag("runners", 1, 64).pipe(Flag.withDefault(2), Flag.withDescription("runner processes")),
  budget: integerFlag("budget", 1, 100_000).pipe(
    Flag.withDefault(20),
    Flag.withDescription("calls per runner at most"),
  ),
  port: integerFlag("port", 0, 65535).pipe(
    Flag.withDefault(8790),
    Flag.withDescription("the front door's port"),
  ),
  database: Flag.String("database").pipe(
    Flag.optional,
    Flag.withDescription("an existing PostgreSQL URL (default: a throwaway one)"),
  ),
  agent: Flag.String("agent").pipe(
    Flag.optional,
    Flag.withDescription("a module exporting `agent` for the runners"),
  ),
} as const

/** `voxstate cluster`. */
export const clusterCommand = Command.make("cluster", clusterFlags, (flags) =>
  Effect.gen(function* () {
    const { output, stopped } = yield* CliIO
    const databaseUrl = Option.getOrUndefined(flags.database)
    const agentModule = Option.getOrUndefined(flags.agent)
    // Listening for the stop signal from here: one that comes while starting stops what started.
    const stop = stopped()
    const cluster = yield* Effect.tryPromise({
      try: () =>
        startLocalCluster({
          runners: flags.runners,
          budget: flags.budget,
          frontDoor: { port: flags.port },
          ...(databaseUrl === undefined ? {} : { databaseUrl }),
          ...(agentModule === undefined ? {} : { agentModule }),
        }),
      catch: (error) =>
        new CommandFailed({ message: `cluster: ${error instanceof Error ? error.message : String(error)}` }),
    })
    output.out(`Front door: ${cluster.frontDoor.url}/calls/<id>`)
    output.out(`Database:   ${cluster.databaseUrl}`)
    for (const r of cluster.runners()) output.out(`Runner ${r.address} (pid ${r.pid}), media ${r.mediaUrl}`)
    const signal = yield* Effect.promise(() => stop).pipe(
      Effect.ensuring(Effect.promise(() => cluster.stop())),
    )
    output.out(`Stopped (${signal}).`)
  }),
).pipe(Command.withDescription("Runs a local cluster: PostgreSQL, runner processes and a front door."))
