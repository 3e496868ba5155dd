/**
 * The one typed error of the Realtime session.
 * @module
 */
import { Data } from "effect"
import type { LifecycleFailure } from "../../machines/lifecycle/sessionLifecycle.ts"

/** Why a Realtime session call failed. */
export type RealtimeErrorReason =
  /** `sendToolOutput` named a call id the session is not waiting for. */
  | { readonly _tag: "UnknownToolCall"; readonly callId: string }
  /** A call after `close()` or after the session ended. */
  | { readonly _tag: "Closed" }
  /** An argument that is not what the call takes (empty text, a non-finite position, ...). */
  | { readonly _tag: "InvalidInput" }
  /** The session ended on a fatal error (bad key, no quota) or after its last reconnect. */
  | { readonly _tag: "Failed"; readonly error: LifecycleFailure }

/** The error every Realtime session call throws, and its iteration fails with. */
export class RealtimeError extends Data.TaggedError("RealtimeError")<{
  readonly reason: RealtimeErrorReason
  readonly message: string
  readonly retryable: boolean
}> {}

/** True for a {@link RealtimeError}. */
export const isRealtimeError = (value: unknown): value is RealtimeError => value instanceof RealtimeError

/** @internal */
export const realtimeError = (
  reason: RealtimeErrorReason,
  message: string,
  retryable = false,
): RealtimeError => new RealtimeError({ reason, message, retryable })
