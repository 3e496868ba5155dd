/**
 * The machines of `voxstate/machines` by name, for `voxstate diagram` and the inspector.
 * @module
 */
import type { AnyStateMachine } from "xstate"
import { agentSessionMachine } from "../../machines/agent/agentSession.ts"
import {
  realtimeSessionMachine,
  responsesChainMachine,
  synthesisStreamMachine,
  transcriptionSessionMachine,
} from "../../machines/index.ts"

/** The shipped machines, by the name the CLI takes. */
export const KNOWN_MACHINES: Readonly<Record<string, AnyStateMachine>> = {
  transcription: transcriptionSessionMachine as unknown as AnyStateMachine,
  responses: responsesChainMachine as unknown as AnyStateMachine,
  synthesis: synthesisStreamMachine as unknown as AnyStateMachine,
  realtime: realtimeSessionMachine as unknown as AnyStateMachine,
  agent: agentSessionMachine as unknown as AnyStateMachine,
}

/** The shipped machine whose definition has the id `machineId` (a saved log names machines by id). */
export const knownMachineById = (machineId: string): AnyStateMachine | undefined =>
  Object.values(KNOWN_MACHINES).find((m) => m.id === machineId)
