/**
 * What the cluster keeps beside the engine's own tables, on the same SQL database: each
 * call's checkpoint (the conversation at its last turn end, so a call resumes on another
 * runner with what was said) and each runner's load (calls, budget, the shards it owns, its
 * media address, its measured CPU and budget), which placement reads. Plain SQL through
 * `effect/sql`, on PostgreSQL or SQLite (the cluster's storage).
 *
 * The tables are made by versioned migrations (`effect/sql`'s migrator, recorded in
 * `voxstate_migrations`): each runs once per database, in a transaction that holds the
 * migrations table (PostgreSQL locks it, SQLite's `BEGIN IMMEDIATE` takes the write lock), so
 * runners starting together migrate once. The first migration adopts tables made before
 * migrations existed (`IF NOT EXISTS`).
 * @module
 */
import { Context, Effect, Layer } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { ClusterError } from "./ClusterError.ts"

/** The version of {@link CallCheckpoint}'s shape. */
export const CHECKPOINT_VERSION = 1

/** A call at its last turn end: enough to resume it elsewhere. Never holds a credential. */
export interface CallCheckpoint {
  readonly version: typeof CHECKPOINT_VERSION
  readonly callId: string
  /**
   * The agent session's snapshot (`session.persist()`: the chat, the caller's words not yet
   * answered, the metrics); undefined before the call's first turn.
   */
  readonly session?: unknown
  /** Completed caller turns. */
  readonly turns: number
  /** The agent's instructions (changed by a hand-off). */
  readonly instructions: string
  /** How many times the call has been resumed on a new runner. */
  readonly resumes: number
  /**
   * The caller's binary frames on the media socket the session had taken in when the
   * snapshot was made (transcribed, or kept as its pending speech): frames from this index
   * on are replayed to the runner that resumes the call. Absent: 0.
   */
  readonly audioFrames?: number
}

/** A runner as placement sees it. */
export interface RunnerLoad {
  /** The runner's cluster address, `host:port`. */
  readonly address: string
  /** Where the runner accepts calls' media, `ws://host:port`. */
  readonly mediaUrl: string
  readonly calls: number
  /** The ids of those calls. */
  readonly callIds: readonly string[]
  /** Calls the runner takes at most (a cap beside the CPU budget). */
  readonly budget: number
  /**
   * The runner's measured CPU use, in cores (user + system time over wall time, over its last
   * few report intervals). Absent from runners that report no CPU budget.
   */
  readonly cpu?: number
  /** The CPU the runner takes calls up to, in cores (0.7: 70 % of one core). */
  readonly cpuBudget?: number
  /** The CPU one call is counted for, in cores. */
  readonly callCost?: number
  /** Whether the runner holds more than its budgets allow (after taking over moved calls). */
  readonly overBudget?: boolean
  /** The shards the runner owns. */
  readonly shards: readonly number[]
  readonly draining: boolean
  /** The runner's event-loop utilization (0..1) over its last report interval. */
  readonly elu: number
  /** When the runner last reported, in ms since the epoch. */
  readonly seenAtMs: number
}

/** The store's operations. */
export interface CallStoreShape {
  readonly load: (callId: string) => Effect.Effect<CallCheckpoint | undefined, ClusterError>
  readonly save: (checkpoint: CallCheckpoint, runner: string) => Effect.Effect<void, ClusterError>
  readonly remove: (callId: string) => Effect.Effect<void, ClusterError>
  /** Every call with a checkpoint (running or waiting to resume). */
  readonly calls: Effect.Effect<readonly { readonly callId: string; readonly runner: string }[], ClusterError>
  readonly report: (load: RunnerLoad) => Effect.Effect<void, ClusterError>
  readonly unregister: (address: string) => Effect.Effect<void, ClusterError>
  /**
   * Removes the rows of runners that have not reported for `staleMs` (killed ones), and the
   * cluster's own registration of runners its health check found dead (pings refused) that
   * have not beaten for `staleMs`: the cluster itself drops those only after the shard lock
   * expiry, long after their calls moved. A runner that was only frozen registers again.
   */
  readonly forgetRunners: (staleMs: number) => Effect.Effect<void, ClusterError>
  /** Runners that reported within `freshMs`. */
  readonly runners: (freshMs: number) => Effect.Effect<readonly RunnerLoad[], ClusterError>
}

/** The store of checkpoints and runner loads. */
export class CallStore extends Context.Service<CallStore, CallStoreShape>()("voxstate/cluster/CallStore") {}

const storageError = (what: string) => (cause: unknown) =>
  new ClusterError({
    reason: "Storage",
    message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
  })

const decodeCheckpoint = (callId: string, text: string): CallCheckpoint => {
  const value = JSON.parse(text) as Partial<CallCheckpoint>
  if (value.version !== CHECKPOINT_VERSION)
    throw new ClusterError({
      reason: "Storage",
      message: `The checkpoint of ${callId} has version ${String(value.version)}, this runner reads ${CHECKPOINT_VERSION}`,
    })
  return value as CallCheckpoint
}

/** The voxstate tables' migrations, by id: never edit one that has shipped, add the next. */
export const CALL_STORE_MIGRATIONS = {
  "1_calls_and_runners": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE IF NOT EXISTS voxstate_calls (
      call_id TEXT PRIMARY KEY,
      runner TEXT NOT NULL,
      checkpoint TEXT NOT NULL,
      updated_at BIGINT NOT NULL
    )`
    yield* sql`CREATE TABLE IF NOT EXISTS voxstate_runners (
      address TEXT PRIMARY KEY,
      media_url TEXT NOT NULL,
      calls INTEGER NOT NULL,
      call_ids TEXT NOT NULL,
      budget INTEGER NOT NULL,
      shards TEXT NOT NULL,
      draining BOOLEAN NOT NULL,
      elu DOUBLE PRECISION NOT NULL,
      seen_at BIGINT NOT NULL
    )`
  }),
  "2_cpu_budget": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // One column a statement: SQLite adds one at a time.
    yield* sql`ALTER TABLE voxstate_runners ADD COLUMN cpu DOUBLE PRECISION NOT NULL DEFAULT 0`
    yield* sql`ALTER TABLE voxstate_runners ADD COLUMN cpu_budget DOUBLE PRECISION`
    yield* sql`ALTER TABLE voxstate_runners ADD COLUMN call_cost DOUBLE PRECISION`
    yield* sql`ALTER TABLE voxstate_runners ADD COLUMN over_budget BOOLEAN NOT NULL DEFAULT FALSE`
  }),
} as const

/** Runs the voxstate migrations not yet run on the current database; returns those it ran. */
export const migrateCallStore = Migrator.make({})({
  loader: Migrator.fromRecord(CALL_STORE_MIGRATIONS),
  table: "voxstate_migrations",
}).pipe(
  Effect.map((ran) => ran.map(([id, name]) => `${id}_${name}`)),
  Effect.mapError(storageError("migrating the voxstate tables")),
)

/** Makes the store on the current `SqlClient`, migrating its tables first. */
export const makeCallStore = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* migrateCallStore
  const sqlite = sql.onDialectOrElse({ sqlite: () => true, orElse: () => false })

  const store: CallStoreShape = {
    load: (callId) =>
      sql<{ checkpoint: string }>`SELECT checkpoint FROM voxstate_calls WHERE call_id = ${callId}`.pipe(
        Effect.mapError(storageError(`loading ${callId}`)),
        Effect.flatMap((rows) =>
          rows[0] === undefined
            ? Effect.succeed(undefined)
            : Effect.try({
                try: () => decodeCheckpoint(callId, rows[0]?.checkpoint ?? ""),
                catch: (e) => (e instanceof ClusterError ? e : storageError(`decoding ${callId}`)(e)),
              }),
        ),
      ),
    save: (checkpoint, runner) => {
      const text = JSON.stringify(checkpoint)
      const now = Date.now()
      return sql`INSERT INTO voxstate_calls (call_id, runner, checkpoint, updated_at)
        VALUES (${checkpoint.callId}, ${runner}, ${text}, ${now})
        ON CONFLICT (call_id) DO UPDATE SET runner = ${runner}, checkpoint = ${text}, updated_at = ${now}`.pipe(
        Effect.asVoid,
        Effect.mapError(storageError(`saving ${checkpoint.callId}`)),
      )
    },
    remove: (callId) =>
      sql`DELETE FROM voxstate_calls WHERE call_id = ${callId}`.pipe(
        Effect.asVoid,
        Effect.mapError(storageError(`removing ${callId}`)),
      ),
    calls: sql<{
      call_id: string
      runner: string
    }>`SELECT call_id, runner FROM voxstate_calls ORDER BY call_id`.pipe(
      Effect.map((rows) => rows.map((r) => ({ callId: r.call_id, runner: r.runner }))),
      Effect.mapError(storageError("listing calls")),
    ),
    report: (load) => {
      const shards = JSON.stringify(load.shards)
      const callIds = JSON.stringify(load.callIds)
      const cpu = load.cpu ?? 0
      const cpuBudget = load.cpuBudget ?? null
      const callCost = load.callCost ?? null
      const overBudget = load.overBudget ?? false
      return sql`INSERT INTO voxstate_runners (address, media_url, calls, call_ids, budget, shards, draining, elu, seen_at,
          cpu, cpu_budget, call_cost, over_budget)
        VALUES (${load.address}, ${load.mediaUrl}, ${load.calls}, ${callIds}, ${load.budget}, ${shards}, ${load.draining}, ${load.elu}, ${load.seenAtMs},
          ${cpu}, ${cpuBudget}, ${callCost}, ${overBudget})
        ON CONFLICT (address) DO UPDATE SET media_url = ${load.mediaUrl}, calls = ${load.calls}, call_ids = ${callIds},
          budget = ${load.budget}, shards = ${shards}, draining = ${load.draining}, elu = ${load.elu}, seen_at = ${load.seenAtMs},
          cpu = ${cpu}, cpu_budget = ${cpuBudget}, call_cost = ${callCost}, over_budget = ${overBudget}`.pipe(
        Effect.asVoid,
        Effect.mapError(storageError(`reporting ${load.address}`)),
      )
    },
    unregister: (address) =>
      sql`DELETE FROM voxstate_runners WHERE address = ${address}`.pipe(
        Effect.asVoid,
        Effect.mapError(storageError(`unregistering ${address}`)),
      ),
    // The cut-offs are read when the statement runs (a repeated effect runs it again).
    forgetRunners: (staleMs) =>
      Effect.suspend(() =>
        sql`DELETE FROM voxstate_runners WHERE seen_at < ${Date.now() - staleMs}`.pipe(
          Effect.andThen(
            sqlite
              ? sql`DELETE FROM cluster_runners WHERE healthy = 0
                  AND last_heartbeat < datetime('now', ${`-${Math.ceil(staleMs / 1000)} seconds`})`
              : sql`DELETE FROM cluster_runners WHERE healthy = FALSE
                  AND last_heartbeat < NOW() - make_interval(secs => ${staleMs / 1000})`,
          ),
          Effect.asVoid,
          Effect.mapError(storageError("forgetting stale runners")),
        ),
      ),
    runners: (freshMs) =>
      Effect.suspend(() => {
        const since = Date.now() - freshMs
        return sql<{
          address: string
          media_url: string
          calls: number
          call_ids: string
          budget: number
          shards: string
          draining: boolean
          elu: number | string
          seen_at: string | number
          cpu: number | string
          cpu_budget: number | string | null
          call_cost: number | string | null
          over_budget: boolean | number
        }>`SELECT address, media_url, calls, call_ids, budget, shards, draining, elu, seen_at,
          cpu, cpu_budget, call_cost, over_budget FROM voxstate_runners
        WHERE seen_at >= ${since} ORDER BY address`.pipe(
          Effect.map((rows) =>
            rows.map(
              (r): RunnerLoad => ({
                address: r.address,
                mediaUrl: r.media_url,
                calls: Number(r.calls),
                callIds: JSON.parse(r.call_ids) as string[],
                budget: Number(r.budget),
                shards: JSON.parse(r.shards) as number[],
                draining: Boolean(r.draining),
                elu: Number(r.elu),
                seenAtMs: Number(r.seen_at),
                cpu: Number(r.cpu),
                ...(r.cpu_budget === null ? {} : { cpuBudget: Number(r.cpu_budget) }),
                ...(r.call_cost === null ? {} : { callCost: Number(r.call_cost) }),
                overBudget: Boolean(r.over_budget),
              }),
            ),
          ),
          Effect.mapError(storageError("listing runners")),
        )
      }),
  }
  return store
})

/** The store as a layer on the current `SqlClient`. */
export const layerCallStore: Layer.Layer<CallStore, ClusterError, SqlClient.SqlClient> = Layer.effect(
  CallStore,
  makeCallStore,
)
