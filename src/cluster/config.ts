/**
 * The cluster's waits, one place: how fast runners see each other come and go, how often
 * they look for messages, how long a shard lock lives. Defaults suit calls: a dead runner's
 * calls move within seconds (PostgreSQL advisory locks end with the dead runner's session;
 * the lock expiry is the bound where they do not).
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
  shardLockRefreshMs: 1000,
  shardLockExpirationMs: 5000,
  refreshAssignmentsMs: 500,
  messagePollMs: 500,
  runnerHealthCheckMs: 1000,
  entityTerminationMs: 10_000,
}

/** The sharding configuration of {@link ClusterTimings}. @internal */
export const shardingConfigOf = (timings: Partial<ClusterTimings> = {}) => {
  const t = { ...DEFAULT_CLUSTER_TIMINGS, ...timings }
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
