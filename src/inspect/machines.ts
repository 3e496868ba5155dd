/**
 * The machines of `voxstate/machines` by name, for `voxstate diagram` and the inspector.
 * @module
 */
import type { AnyStateMachine } from "xstate"
import {
  responsesChainMachine,
  synthesisStreamMachine,
  transcriptionSessionMachine,
} from "../../machines/index.ts"

/** The shipped machines, by the name the CLI takes. */
export const KNOWN_MACHINES: Readonly<Record<string, AnyStateMachine>> = {
  transcription: transcriptionSessionMachine as unknown as AnyStateMachine,
  responses: responsesChainMachine as unknown as AnyStateMachine,
  synthesis: synthesisStreamMachine as unknown as AnyStateMachine,
}
