/**
 * The one error of `voxstate/cluster`: a schema-backed tagged error, so it crosses the wire
 * between runners and clients as itself.
 * @module
 */
import { Schema } from "effect"

/** Why a cluster operation failed. */
export const ClusterErrorReason = Schema.Literals([
  /** The database could not be reached, started or migrated. */
  "Storage",
  /** No runner is registered, or none has room under its call budget. */
  "NoCapacity",
  /** The call is not running (never started, or already ended). */
  "CallNotFound",
  /** The call has ended. */
  "CallEnded",
  /** A runner process failed to start or stopped unexpectedly. */
  "Runner",
  /** The call's media connection could not be handed to its runner. */
  "Media",
  /** Input the cluster refuses (an empty text, a bad call id). */
  "InvalidInput",
])
/** Why a cluster operation failed. */
export type ClusterErrorReason = typeof ClusterErrorReason.Type

/** The one error of `voxstate/cluster`. */
export class ClusterError extends Schema.TaggedError<ClusterError>()("ClusterError", {
  reason: ClusterErrorReason,
  message: Schema.String,
}) {
  /** Whether trying again later may succeed. */
  get retryable(): boolean {
    return this.reason === "NoCapacity" || this.reason === "Runner" || this.reason === "Media"
  }
}

/** Whether `u` is a {@link ClusterError}. */
export const isClusterError = (u: unknown): u is ClusterError => u instanceof ClusterError
