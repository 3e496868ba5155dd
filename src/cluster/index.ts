/**
 * Calls placed on runners with Effect's cluster: a call is the `VoiceCall` entity, runners are
 * processes holding calls and their media, storage is SQL (PostgreSQL, or SQLite on one
 * machine), placement follows each runner's CPU budget, and a call whose runner dies or drains
 * resumes on another runner from its last checkpoint.
 * @module
 */
export {
  CALL_STORE_MIGRATIONS,
  type CallCheckpoint,
  CallStore,
  type CallStoreShape,
  CHECKPOINT_VERSION,
  layerCallStore,
  makeCallStore,
  migrateCallStore,
  type RunnerLoad,
} from "./CallStore.ts"
export { ClusterError, ClusterErrorReason, isClusterError } from "./ClusterError.ts"
export {
  type ClusterClient,
  type ClusterClientOptions,
  connectCluster,
  type PlaceOptions,
} from "./client.ts"
export {
  type ClusterTimings,
  DEFAULT_CLUSTER_TIMINGS,
  DEFAULT_SQLITE_CLUSTER_TIMINGS,
  defaultTimingsOf,
} from "./config.ts"
export { type FrontDoor, type FrontDoorOptions, type FrontDoorStats, startFrontDoor } from "./frontDoor.ts"
export {
  type LocalCluster,
  type LocalClusterOptions,
  type RunnerProcess,
  startLocalCluster,
} from "./localCluster.ts"
export { type LocalPostgres, type LocalPostgresOptions, startLocalPostgres } from "./localPostgres.ts"
export {
  cpuLoadOf,
  DEFAULT_CALL_COST,
  DEFAULT_CPU_BUDGET,
  DEFAULT_MAX_CALLS,
  isOverBudget,
  pickRunner,
} from "./placement.ts"
export { createReplayWindow, type KeptFrame, type Replay, type ReplayWindow } from "./replayWindow.ts"
export { type Runner, type RunnerOptions, runnerLayer, startRunner } from "./runner.ts"
export { layerSqliteClient, makeSqliteClient, type SqliteOptions } from "./sqlite.ts"
export { type StorageKind, sqliteFileOf, sqliteUrl, storageKindOf, storageLayer } from "./storage.ts"
export { CallStatus, End, HandOff, Interrupt, Say, Start, Status, VoiceCall } from "./VoiceCall.ts"
