/**
 * Composition of sessions inside one actor system: a child's emitted events (the speech
 * events of a transcription session, the chunks of an LLM turn) are heard by its listeners,
 * not by its parent; {@link relayEmitted} is the small actor a parent invokes beside the
 * child to hear them as its own events.
 * @module
 */
import { type AnyEventObject, fromCallback } from "xstate"

/** What the parent receives for each event its child `systemId` emitted. */
export interface RelayedEvent<Id extends string = string, E extends AnyEventObject = AnyEventObject> {
  /** `${systemId}.${event.type}`, e.g. `stt.final_transcript`. */
  readonly type: `${Id}.${string}`
  readonly event: E
}

/**
 * Actor logic that forwards every event emitted by the actor registered as `systemId` (an
 * `invoke` with that `systemId`, started before this one) to the invoking parent as a
 * {@link RelayedEvent}. Stops listening when the parent leaves the state that invoked it.
 *
 * @throws {Error} (as the actor's error) when no actor of the system has that id
 */
export const relayEmitted = <Id extends string, E extends AnyEventObject = AnyEventObject>(systemId: Id) =>
  fromCallback<AnyEventObject, void>(({ system, sendBack }) => {
    const child = system.get(systemId)
    if (child === undefined) throw new Error(`No actor with systemId ${systemId} to relay events from`)
    const subscription = child.on("*", (event: E) => {
      const relayed: RelayedEvent<Id, E> = { type: `${systemId}.${event.type}`, event }
      sendBack(relayed)
    })
    return () => subscription.unsubscribe()
  })
