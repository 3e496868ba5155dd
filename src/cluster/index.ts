/**
 * Calls placed on runners with Effect's cluster: a call is the `VoiceCall` entity, runners are
 * processes holding calls and their media, storage is SQL (PostgreSQL), and a call whose
 * runner dies or drains resumes on another runner from its last checkpoint.
 * @module
 */
export {
  type CallCheckpoint,
  CallStore,
  type CallStoreShape,
  CHECKPOINT_VERSION,
  layerCallStore,
  makeCallStore,
  type RunnerLoad,
} from "./CallStore.ts"
export { ClusterError, ClusterErrorReason, isClusterError } from "./ClusterError.ts"
export {
  type ClusterClient,
  type ClusterClientOptions,
  connectCluster,
  type PlaceOptions,
} from "./client.ts"
export { type ClusterTimings, DEFAULT_CLUSTER_TIMINGS } from "./config.ts"
export { type FrontDoor, type FrontDoorOptions, type FrontDoorStats, startFrontDoor } from "./frontDoor.ts"
export {
  type LocalCluster,
  type LocalClusterOptions,
  type RunnerProcess,
  startLocalCluster,
} from "./localCluster.ts"
export { type LocalPostgres, type LocalPostgresOptions, startLocalPostgres } from "./localPostgres.ts"
export { createReplayWindow, type KeptFrame, type Replay, type ReplayWindow } from "./replayWindow.ts"
export { type Runner, type RunnerOptions, runnerLayer, startRunner } from "./runner.ts"
export { CallStatus, End, HandOff, Interrupt, Say, Start, Status, VoiceCall } from "./VoiceCall.ts"
