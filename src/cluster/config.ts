/**
 * The cluster's waits, one place: how fast runners see each other come and go, how often
 * they look for messages, how long a shard lock lives. Defaults suit calls on a busy
 * machine:
 * - A dead runner's calls move within seconds without waiting for any lease: its sockets
 *   close with it, so its PostgreSQL advisory locks end at once and the others' health
 *   check (a ping every `runnerHealthCheckMs`, refused at once by a dead process) marks it
 *   unhealthy after a few failed pings.
 * - A live runner keeps its shards while its event loop is starved: a lock refresh (every
 *   `shardLockRefreshMs`, at most a third of the expiry) may take up to its own interval
 *   before the runner gives its shards up and interrupts their calls, and the others drop
 *   a runner from the assignments only when its heartbeat is older than
 *   `shardLockExpirationMs`. Short values here move calls that nothing was wrong with;
 *   the expiry only bounds how long a frozen (not dead) runner holds its calls.
 *
 * On SQLite (one machine, `sqlite:FILE`) a shard lock is a leased row, not a lock held by a
 * connection: nothing ends it when its runner dies, and the cluster's other runners may take a
 * dead runner's shards only once its lease has expired (their health check marks it unhealthy
 * within seconds, but no runner releases another's locks). So there the expiry is how long a
 * killed runner's calls wait to move, and the defaults trade freezes for that gap:
 * {@link DEFAULT_SQLITE_CLUSTER_TIMINGS}, a 12 s lease refreshed every 3 s (a call of a killed
 * runner resumes within about 12 to 15 s; a runner frozen for longer than 12 s loses its calls).
 * @module
 */
import { Duration } from "effect"
import type { ShardingConfig } from "effect/cluster"

/** The cluster's waits, in ms. */
export interface ClusterTimings {
  readonly shardsPerGroup: number
  readonly shardLockRefreshMs: number
  readonly shardLockExpirationMs: number
  readonly refreshAssignmentsMs: number
  readonly messagePollMs: number
  readonly runnerHealthCheckMs: number
  readonly entityTerminationMs: number
}

/** The defaults of {@link ClusterTimings}. */
export const DEFAULT_CLUSTER_TIMINGS: ClusterTimings = {
  shardsPerGroup: 60,
  shardLockRefreshMs: 5000,
  shardLockExpirationMs: 30_000,
  refreshAssignmentsMs: 500,
  messagePollMs: 500,
  runnerHealthCheckMs: 1000,
  entityTerminationMs: 10_000,
}

/** The defaults of {@link ClusterTimings} on SQLite, whose shard locks are leases only. */
export const DEFAULT_SQLITE_CLUSTER_TIMINGS: ClusterTimings = {
  ...DEFAULT_CLUSTER_TIMINGS,
  shardLockRefreshMs: 3000,
  shardLockExpirationMs: 12_000,
}

/** The defaults of {@link ClusterTimings} for a storage kind. */
export const defaultTimingsOf = (kind: "postgres" | "sqlite"): ClusterTimings =>
  kind === "sqlite" ? DEFAULT_SQLITE_CLUSTER_TIMINGS : DEFAULT_CLUSTER_TIMINGS

/** The sharding configuration of {@link ClusterTimings}. @internal */
export const shardingConfigOf = (
  timings: Partial<ClusterTimings> = {},
  kind: "postgres" | "sqlite" = "postgres",
) => {
  const t = { ...defaultTimingsOf(kind), ...timings }
  return {
    shardsPerGroup: t.shardsPerGroup,
    shardLockRefreshInterval: Duration.millis(t.shardLockRefreshMs),
    shardLockExpiration: Duration.millis(t.shardLockExpirationMs),
    refreshAssignmentsInterval: Duration.millis(t.refreshAssignmentsMs),
    entityMessagePollInterval: Duration.millis(t.messagePollMs),
    runnerHealthCheckInterval: Duration.millis(t.runnerHealthCheckMs),
    entityTerminationTimeout: Duration.millis(t.entityTerminationMs),
    entityMaxIdleTime: Duration.minutes(10),
  } satisfies Partial<ShardingConfig.ShardingConfig["Service"]>
}
