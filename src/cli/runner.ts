/**
 * `voxstate runner`: one runner process of a cluster. It registers with the cluster whose
 * storage is `--storage` (`postgres://...` or `sqlite:FILE`; `--database` and
 * `VOXSTATE_DATABASE_URL` name it too), takes new calls while its measured CPU plus one
 * call's cost (`--call-cost`) fits its `--cpu-budget` (and under `--budget` calls), prints
 * one JSON line `{"type":"ready","runner":"host:port","media":"ws://host:port"}` once it is
 * registered, and drains on SIGINT or SIGTERM (each call leaves at a quiet moment with its
 * checkpoint, the shards move to the other runners), then exits 0.
 *
 * ```sh
 * voxstate runner --storage postgres://user@host:5432/db | sqlite:/path/cluster.db
 *                 [--host 127.0.0.1] [--port N] [--media-port N] [--cpu-budget 0.7]
 *                 [--call-cost 0.016] [--budget 1000] [--agent agent.ts]
 * ```
 * @module
 */

import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { type Agent, defineAgent } from "../agent/define.ts"
import type { ClusterTimings } from "../cluster/config.ts"
import { DEFAULT_CALL_COST, DEFAULT_CPU_BUDGET, DEFAULT_MAX_CALLS } from "../cluster/placement.ts"
import { startRunner } from "../cluster/runner.ts"
import { CliIO, CommandFailed } from "./io.ts"
import { integerFlag } from "./simulate.ts"

/** The agent a runner runs when no `--agent` module is given. */
export const DEFAULT_RUNNER_AGENT: Agent = defineAgent({
  instructions: "You are a helpful phone agent. Keep every reply to one or two short sentences.",
})

/** Loads `agent` (or the default export) of a module. */
export const loadAgentModule = async (path: string): Promise<Agent> => {
  const module = (await import(pathToFileURL(resolve(path)).href)) as { agent?: Agent; default?: Agent }
  const agent = module.agent ?? module.default
  if (agent === undefined || typeof agent.instructions !== "string")
    throw new Error(`${path} exports no agent (export const agent = defineAgent({...}))`)
  return agent
}

/** A flag of a number from `min` to `max` (a fraction of a core...). */
export const numberFlag = (name: string, min: number, max: number): Flag.Flag<number> =>
  Flag.String(name).pipe(
    Flag.filterMap(
      (value) => {
        const n = Number(value)
        return value.trim() !== "" && Number.isFinite(n) && n >= min && n <= max
          ? Option.some(n)
          : Option.none()
      },
      (value) => `--${name} expects a number from ${min} to ${max}, got '${value}'`,
    ),
  )

/** The flags of a runner's budget, shared by `runner` and `cluster`. */
export const budgetFlags = {
  cpuBudget: numberFlag("cpu-budget", 0.001, 1024).pipe(
    Flag.withDefault(DEFAULT_CPU_BUDGET),
    Flag.withDescription("CPU (in cores, 0.7 = 70% of one) up to which a runner takes new calls"),
  ),
  callCost: numberFlag("call-cost", 0, 1024).pipe(
    Flag.withDefault(DEFAULT_CALL_COST),
    Flag.withDescription("CPU (in cores) counted for each call (default: the agent benchmark's figure)"),
  ),
  budget: integerFlag("budget", 1, 100_000).pipe(
    Flag.withDefault(DEFAULT_MAX_CALLS),
    Flag.withDescription("calls a runner takes at most, whatever its CPU"),
  ),
} as const

/** The flags of `runner`. */
export const runnerFlags = {
  storage: Flag.String("storage").pipe(
    Flag.optional,
    Flag.withDescription("the cluster's storage: postgres://user@host:port/db or sqlite:FILE"),
  ),
  database: Flag.String("database").pipe(
    Flag.optional,
    Flag.withDescription("the cluster's PostgreSQL URL, as --storage (default VOXSTATE_DATABASE_URL)"),
  ),
  host: Flag.String("host").pipe(
    Flag.withDefault("127.0.0.1"),
    Flag.withDescription("address to bind and be reached at"),
  ),
  port: integerFlag("port", 0, 65535).pipe(
    Flag.withDefault(0),
    Flag.withDescription("cluster port (0: a free port)"),
  ),
  mediaPort: integerFlag("media-port", 0, 65535).pipe(
    Flag.withDefault(0),
    Flag.withDescription("port of the media endpoint (0: a free port)"),
  ),
  ...budgetFlags,
  agent: Flag.String("agent").pipe(
    Flag.optional,
    Flag.withDescription("a module exporting `agent` (defineAgent) to run on each call"),
  ),
} as const

const failed = (what: string) => (error: unknown) =>
  new CommandFailed({ message: `${what}: ${error instanceof Error ? error.message : String(error)}` })

/** `voxstate runner`. */
export const runnerCommand = Command.make("runner", runnerFlags, (flags) =>
  Effect.gen(function* () {
    const { output, stopped } = yield* CliIO
    const databaseUrl =
      Option.getOrUndefined(flags.storage) ??
      Option.getOrUndefined(flags.database) ??
      process.env.VOXSTATE_DATABASE_URL
    if (databaseUrl === undefined || databaseUrl === "")
      return yield* new CommandFailed({ message: "runner: --database or VOXSTATE_DATABASE_URL is required" })
    const agentPath = Option.getOrUndefined(flags.agent)
    const agent = yield* Effect.tryPromise({
      try: () =>
        agentPath === undefined ? Promise.resolve(DEFAULT_RUNNER_AGENT) : loadAgentModule(agentPath),
      catch: failed("runner"),
    })
    const timingsText = process.env.VOXSTATE_CLUSTER_TIMINGS
    const timings = yield* Effect.try({
      try: () => (timingsText === undefined ? {} : (JSON.parse(timingsText) as Partial<ClusterTimings>)),
      catch: failed("runner: VOXSTATE_CLUSTER_TIMINGS"),
    })
    // Listening for the stop signal from here: one that comes while starting stops what started.
    const stop = stopped()
    const runner = yield* Effect.tryPromise({
      try: () =>
        startRunner({
          databaseUrl,
          host: flags.host,
          ...(flags.port === 0 ? {} : { port: flags.port }),
          mediaPort: flags.mediaPort,
          budget: flags.budget,
          cpuBudget: flags.cpuBudget,
          callCost: flags.callCost,
          agent,
          timings,
        }),
      catch: failed("runner"),
    })
    output.out(JSON.stringify({ type: "ready", runner: runner.address, media: runner.mediaUrl }))
    const signal = yield* Effect.promise(() => stop).pipe(
      Effect.ensuring(Effect.promise(() => runner.stop())),
    )
    output.err(`Runner ${runner.address} drained (${signal}).`)
  }),
).pipe(Command.withDescription("Runs one runner of a voxstate cluster: it holds calls and their media."))
