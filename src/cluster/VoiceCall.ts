/**
 * A call as a cluster entity: `VoiceCall`, its id the call id, its messages the control of
 * the call. `Start` is persisted: its handler runs for as long as the call does, so when the
 * runner holding it dies or is drained, the message has no reply yet and the cluster delivers
 * it again on the shard's new owner, where the call resumes from its checkpoint. The other
 * messages are volatile and run beside it (`Rpc.fork`), on whichever runner owns the call.
 * @module
 */
import { Schema } from "effect"
import { ClusterSchema, Entity } from "effect/cluster"
import { Rpc } from "effect/rpc"
import { ClusterError } from "./ClusterError.ts"

/** Where a call lives and how far it has got. */
export const CallStatus = Schema.Struct({
  callId: Schema.String,
  /** The owning runner's cluster address. */
  runner: Schema.String,
  /** Where the owning runner takes the call's media: `ws://host:port/calls/<id>`. */
  mediaUrl: Schema.String,
  /** Completed caller turns. */
  turns: Schema.Number,
  /** Times the call resumed on a new runner. */
  resumes: Schema.Number,
  /** Whether a media connection is attached on the runner. */
  mediaAttached: Schema.Boolean,
  /** The agent's state: `idle`, `thinking`, `runningTools`, `speaking`. */
  agent: Schema.String,
})
/** Where a call lives and how far it has got. */
export type CallStatus = typeof CallStatus.Type

/** Starts the call (idempotent: a second start of one call id is the same message). */
export const Start = Rpc.make("Start", {
  payload: { greeting: Schema.optional(Schema.String) },
  error: ClusterError,
  primaryKey: () => "start",
})
  .annotate(ClusterSchema.Persisted, true)
  // A drained runner interrupts the running call (which then leaves at a quiet moment).
  .annotate(ClusterSchema.InterruptOnTermination, true)

/** The agent says a line (no model turn). */
export const Say = Rpc.make("Say", { payload: { text: Schema.String }, error: ClusterError })
/** The agent stops speaking. */
export const Interrupt = Rpc.make("Interrupt", { error: ClusterError })
/** Another agent takes the call: new instructions, the same conversation. */
export const HandOff = Rpc.make("HandOff", {
  payload: { instructions: Schema.String, greeting: Schema.optional(Schema.String) },
  error: ClusterError,
})
/** Ends the call; its checkpoint is removed. */
export const End = Rpc.make("End", { error: ClusterError })
/** Where the call lives (waits briefly for a call that is resuming). */
export const Status = Rpc.make("Status", { success: CallStatus, error: ClusterError })

/** The `VoiceCall` entity. */
export const VoiceCall = Entity.make("VoiceCall", [Start, Say, Interrupt, HandOff, End, Status])
