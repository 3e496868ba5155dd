/**
 * `voxstate cluster`: a local cluster for development: its storage (`--storage postgres`, the
 * default: a throwaway PostgreSQL; `--storage sqlite`: a SQLite file in a temporary directory;
 * or an existing one by URL, `--database`), `--runners` runner processes, each taking new calls
 * up to `--cpu-budget` cores, and a front door on `--port`. Callers connect
 * their media to `ws://127.0.0.1:PORT/calls/<id>`; runs until SIGINT or SIGTERM, then drains
 * the runners and removes the database.
 *
 * ```sh
 * voxstate cluster [--runners 2] [--storage postgres|sqlite] [--cpu-budget 0.7] [--call-cost 0.016]
 *                  [--budget 1000] [--port 8790] [--database URL] [--agent agent.ts]
 * ```
 * @module
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { startLocalCluster } from "../cluster/localCluster.ts"
import { CliIO, CommandFailed } from "./io.ts"
import { budgetFlags } from "./runner.ts"
import { integerFlag } from "./simulate.ts"

/** The flags of `cluster`. */
export const clusterFlags = {
  runners: integerFlag("runners", 1, 64).pipe(Flag.withDefault(2), Flag.withDescription("runner processes")),
  storage: Flag.Literals("storage", ["postgres", "sqlite"]).pipe(
    Flag.withDefault("postgres"),
    Flag.withDescription("the throwaway storage: a PostgreSQL server, or a SQLite file every runner opens"),
  ),
  ...budgetFlags,
  port: integerFlag("port", 0, 65535).pipe(
    Flag.withDefault(8790),
    Flag.withDescription("the front door's port"),
  ),
  database: Flag.String("database").pipe(
    Flag.optional,
    Flag.withDescription("an existing storage, postgres://... or sqlite:FILE (default: a throwaway one)"),
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
          cpuBudget: flags.cpuBudget,
          callCost: flags.callCost,
          storage: flags.storage,
          frontDoor: { port: flags.port },
          ...(databaseUrl === undefined ? {} : { databaseUrl }),
          ...(agentModule === undefined ? {} : { agentModule }),
        }),
      catch: (error) =>
        new CommandFailed({ message: `cluster: ${error instanceof Error ? error.message : String(error)}` }),
    })
    output.out(`Front door: ${cluster.frontDoor.url}/calls/<id>`)
    output.out(`Storage:    ${cluster.databaseUrl}`)
    for (const r of cluster.runners()) output.out(`Runner ${r.address} (pid ${r.pid}), media ${r.mediaUrl}`)
    const signal = yield* Effect.promise(() => stop).pipe(
      Effect.ensuring(Effect.promise(() => cluster.stop())),
    )
    output.out(`Stopped (${signal}).`)
  }),
).pipe(
  Command.withDescription(
    "Runs a local cluster: its storage (PostgreSQL or SQLite), runner processes and a front door.",
  ),
)
