/**
 * A harness for pure tests of the transcription session machine: fake `socket` and
 * `audioInput` actors that record the commands they receive, a SimulatedClock, and the
 * emitted SpeechEvents.
 */
import { type Actor, createActor, fromCallback, SimulatedClock } from "xstate"
import type { SessionSocketInput } from "../../../machines/lifecycle/sessionLifecycle.ts"
import {
  type AudioInputActorInput,
  type AudioInputCommand,
  type TranscriptionSessionEvent,
  type TranscriptionSessionInput,
  type TranscriptionSocketCommand,
  transcriptionSessionMachine,
} from "../../../machines/transcription/transcriptionSession.ts"
import type { SpeechEvent } from "../../../src/stt/SpeechEvent.ts"

/** One fake connection: what the machine told it. */
export interface FakeConnection {
  readonly input: SessionSocketInput
  readonly commands: TranscriptionSocketCommand[]
  stopped: boolean
}

/** A running machine with fake actors. */
export interface Harness {
  readonly actor: Actor<typeof transcriptionSessionMachine>
  readonly clock: SimulatedClock
  readonly connections: FakeConnection[]
  readonly audioCommands: AudioInputCommand[]
  readonly audioInputs: AudioInputActorInput[]
  readonly events: SpeechEvent[]
  /** The last connection. */
  readonly socket: FakeConnection
  send(event: TranscriptionSessionEvent): void
  /** Opens the current connection and configures it. */
  connect(): void
  /** The state value as a dotted list of leaves, e.g. `online.streaming.turn.listening`. */
  states(): string[]
  /** Commands of the current connection of a type. */
  sent<T extends TranscriptionSocketCommand["type"]>(
    type: T,
  ): Extract<TranscriptionSocketCommand, { type: T }>[]
}

/** The machine with recording fake actors, for pure tests and model-based tests. */
export const fakeMachine = (record: {
  connections: FakeConnection[]
  audioCommands: AudioInputCommand[]
  audioInputs: AudioInputActorInput[]
}) =>
  transcriptionSessionMachine.provide({
    actors: {
      socket: fromCallback<TranscriptionSocketCommand, SessionSocketInput>(({ input, receive }) => {
        const connection: FakeConnection = { input, commands: [], stopped: false }
        record.connections.push(connection)
        receive((command) => connection.commands.push(command))
        return () => {
          connection.stopped = true
        }
      }),
      audioInput: fromCallback<AudioInputCommand, AudioInputActorInput>(({ input, receive }) => {
        record.audioInputs.push(input)
        receive((command) => record.audioCommands.push(command))
      }),
    },
  })

const leaves = (value: unknown, prefix = ""): string[] => {
  if (typeof value === "string") return [prefix === "" ? value : `${prefix}.${value}`]
  if (value === null || typeof value !== "object") return []
  return Object.entries(value).flatMap(([k, v]) => leaves(v, prefix === "" ? k : `${prefix}.${k}`))
}

/** Starts the machine with fake actors. */
export const startHarness = (input: TranscriptionSessionInput = {}): Harness => {
  const connections: FakeConnection[] = []
  const audioCommands: AudioInputCommand[] = []
  const audioInputs: AudioInputActorInput[] = []
  const events: SpeechEvent[] = []
  const clock = new SimulatedClock()
  const actor = createActor(fakeMachine({ connections, audioCommands, audioInputs }), {
    input: { lifecycle: { seed: 7, ...input.lifecycle }, ...input },
    clock,
  })
  actor.on("*", (event) => {
    events.push(event as SpeechEvent)
  })
  actor.start()
  const harness: Harness = {
    actor,
    clock,
    connections,
    audioCommands,
    audioInputs,
    events,
    get socket() {
      const last = connections[connections.length - 1]
      if (last === undefined) throw new Error("no connection yet")
      return last
    },
    send(event) {
      actor.send(event)
    },
    connect() {
      actor.send({ type: "SOCKET.OPEN", atMs: 0 })
      actor.send({ type: "SERVER.SESSION_CREATED", atMs: 0 })
      actor.send({ type: "SERVER.SESSION_UPDATED", atMs: 0 })
    },
    states() {
      return leaves(actor.getSnapshot().value)
    },
    sent(type) {
      return harness.socket.commands.filter((c) => c.type === type) as never
    },
  }
  return harness
}
