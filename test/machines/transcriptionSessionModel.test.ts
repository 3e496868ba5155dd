/**
 * Model-based tests: the machine's graph is traversed with `xstate/graph` (shortest paths
 * over an abstraction of the context), and every path is replayed on a running actor with
 * fake I/O actors and a SimulatedClock, which must reach the same states. Together the
 * paths must visit every state node and take every event transition of the machine.
 */
import { describe, expect, it } from "vitest"
import { type AnyStateNode, createActor, type SnapshotFrom } from "xstate"
import {
  type AdjacencyMap,
  getAdjacencyMap,
  getShortestPaths,
  getStateNodes,
  type StatePath,
} from "xstate/graph"
import type {
  TranscriptionSessionEvent,
  TranscriptionSessionInput,
} from "../../machines/transcriptionSession.ts"
import { fakeMachine } from "./transcriptionSessionHarness.ts"

const TIMEOUTS = {
  sessionCreatedMs: 1_000,
  sessionUpdatedMs: 2_000,
  inactivityMs: 3_000,
  drainMs: 4_000,
  rotateAfterMs: 100_000,
} as const

const lifecycle = { timeouts: TIMEOUTS, reconnect: { maxAttempts: 1, baseDelayMs: 500, jitter: 0 }, seed: 1 }

const modes: Record<string, TranscriptionSessionInput> = {
  manual: { settings: { turnDetection: null }, lifecycle },
  local: { settings: { turnDetection: "local" }, lifecycle },
  server: { settings: { turnDetection: { type: "server_vad" } }, lifecycle },
}

type Machine = ReturnType<typeof fakeMachine>
type Snapshot = SnapshotFrom<Machine>

const makeMachine = () => fakeMachine({ connections: [], audioCommands: [], audioInputs: [] })

/**
 * The delayed event that fires next in `snapshot`: of the active `after` timers, the one with
 * the shortest delay (every timer here restarts on entry, and the only long one, the
 * connection age, is far longer than any path).
 */
const delayedEvents = (snapshot: Snapshot): TranscriptionSessionEvent[] => {
  const types = new Set(
    (snapshot._nodes as AnyStateNode[]).flatMap((node) => node.after.map((t) => t.eventType)),
  )
  let next: string | undefined
  for (const type of types)
    if (next === undefined || delayOf(type, snapshot) < delayOf(next, snapshot)) next = type
  return next === undefined ? [] : [{ type: next } as unknown as TranscriptionSessionEvent]
}

const failure = (retryable: boolean) => ({
  code: retryable ? "close_1006" : "http_401",
  message: "x",
  retryable,
})

const serverError = (code: string, errorType: string): TranscriptionSessionEvent => ({
  type: "SERVER.ERROR",
  code,
  errorType,
  message: code,
  param: undefined,
  atMs: 0,
})

/** Every event the model may send; item ids are fixed so the abstraction stays finite. */
const eventsFor = (snapshot: Snapshot): TranscriptionSessionEvent[] =>
  all(snapshot).filter((e) => relevant(snapshot, e))

/** Events of another turn mode are left out: they change nothing there and only widen the search. */
const relevant = (snapshot: Snapshot, event: TranscriptionSessionEvent): boolean => {
  const td = snapshot.context.settings.turnDetection
  const mode = td === null ? "manual" : td === "local" ? "local" : "server"
  if (event.type === "FLUSH") return mode !== "local"
  if (event.type.startsWith("AUDIO.")) return mode !== "manual"
  if (event.type === "SERVER.SPEECH_STARTED" || event.type === "SERVER.SPEECH_STOPPED")
    return mode === "server"
  if (event.type === "SERVER.BUFFER_CLEARED") return mode === "server"
  return true
}

const all = (snapshot: Snapshot): TranscriptionSessionEvent[] => {
  const head = snapshot.context.tailStartSample + 4_800
  // At most one turn at a time keeps the abstraction finite.
  const mayOpenTurn = snapshot.context.ledger.turns.length === 0
  const opening: TranscriptionSessionEvent[] = mayOpenTurn
    ? [
        { type: "FLUSH", atSample: head, atMs: 0 },
        { type: "AUDIO.SPEECH_STOPPED", speechEndSample: head, atSample: head, atMs: 0 },
        { type: "SERVER.COMMITTED", itemId: "v", previousItemId: null, atMs: 0 },
      ]
    : [{ type: "SERVER.COMMITTED", itemId: "v", previousItemId: null, atMs: 0 }]
  return [
    ...opening,
    { type: "SOCKET.OPEN", atMs: 0 },
    { type: "SERVER.SESSION_CREATED", atMs: 0 },
    { type: "SERVER.SESSION_UPDATED", atMs: 0 },
    { type: "SOCKET.FAILED", failure: failure(true), atMs: 0 },
    { type: "SOCKET.FAILED", failure: failure(false), atMs: 0 },
    serverError("invalid_api_key", "invalid_request_error"),
    serverError("server_error", "server_error"),
    serverError("invalid_value", "invalid_request_error"),
    serverError("input_audio_buffer_commit_empty", "invalid_request_error"),
    {
      type: "AUDIO.SPEECH_STARTED",
      speechStartSample: snapshot.context.tailStartSample,
      atSample: head,
      atMs: 0,
    },
    { type: "SERVER.SPEECH_STARTED", itemId: "v", audioStartMs: 0, atMs: 0 },
    { type: "SERVER.SPEECH_STOPPED", itemId: "v", audioEndMs: 200, atMs: 0 },
    { type: "SERVER.TRANSCRIPT_DELTA", itemId: "v", delta: "hi", logprobs: undefined, atMs: 0 },
    {
      type: "SERVER.TRANSCRIPT_COMPLETED",
      itemId: "v",
      transcript: "hi",
      logprobs: undefined,
      languages: undefined,
      usage: undefined,
      atMs: 0,
    },
    { type: "SERVER.TRANSCRIPT_FAILED", itemId: "v", code: "x", message: "x", atMs: 0 },
    { type: "SERVER.BUFFER_CLEARED", atMs: 0 },
    { type: "SERVER.OTHER", eventType: "conversation.item.added", atMs: 0 },
    { type: "SOCKET.RESUMED", replayedSamples: 0, committedSamples: 0, liveFromSample: undefined, atMs: 0 },
    { type: "SOCKET.BACKLOG", backlogMs: 3_000, atMs: 0 },
    { type: "SOCKET.BACKLOG_CLEARED", atMs: 0 },
    { type: "SOCKET.PROTOCOL_ERROR", message: "bad frame", atMs: 0 },
    { type: "AUDIO.OVERFLOW", droppedSamples: 24, retainedFromSample: 0, atMs: 0 },
    {
      type: "xstate.error.actor.socket",
      error: new Error("socket actor crashed"),
    } as unknown as TranscriptionSessionEvent,
    { type: "UPDATE_SETTINGS", settings: { language: "en" } },
    { type: "END_INPUT", atSample: head, atMs: 0 },
    { type: "CLOSE" },
    ...delayedEvents(snapshot),
  ]
}

/**
 * The abstraction of a snapshot the traversal distinguishes states by: coarse on purpose
 * (the replay below checks that the real actor agrees step by step).
 */
const serializeState = (snapshot: Snapshot): string => {
  const c = snapshot.context
  return JSON.stringify([
    snapshot.value,
    c.inputEnded,
    c.ledger.turns.length,
    c.speechAnnounced,
    c.lifecycle.attempt,
    c.lifecycle.rotationDue,
  ])
}

const serializeEvent = (event: TranscriptionSessionEvent): string => JSON.stringify(event)

const traversal = (input: TranscriptionSessionInput) => ({
  input,
  events: eventsFor,
  serializeState,
  serializeEvent,
  limit: 50_000,
})

/**
 * An XState clock whose timers fire one at a time, in due order, on demand: a delayed
 * event of a path is replayed by firing the next timer, exactly as the real clock would.
 */
class StepClock {
  private now = 0
  private nextId = 1
  private readonly timers = new Map<number, { readonly due: number; readonly fn: () => void }>()
  setTimeout(fn: (...args: unknown[]) => void, timeoutMs: number): number {
    const id = this.nextId++
    this.timers.set(id, { due: this.now + timeoutMs, fn })
    return id
  }
  clearTimeout(id: number): void {
    this.timers.delete(id)
  }
  fireNext(): void {
    let nextId: number | undefined
    let due = Number.POSITIVE_INFINITY
    for (const [id, timer] of this.timers) if (timer.due < due) [nextId, due] = [id, timer.due]
    const timer = nextId === undefined ? undefined : this.timers.get(nextId)
    if (nextId === undefined || timer === undefined) throw new Error("no timer pending")
    this.timers.delete(nextId)
    this.now = due
    timer.fn()
  }
}

/** Replays `steps` on a running actor; returns the first step whose state differs, if any. */
const replay = (
  input: TranscriptionSessionInput,
  steps: StatePath<Snapshot, TranscriptionSessionEvent>["steps"],
) => {
  const clock = new StepClock()
  const actor = createActor(makeMachine(), { input, clock }).start()
  try {
    for (const [index, step] of steps.entries()) {
      if (index === 0 && (step.event.type as string) === "xstate.init") continue
      if ((step.event.type as string).startsWith("xstate.after.")) clock.fireNext()
      else actor.send(step.event)
      const actual = JSON.stringify(actor.getSnapshot().value)
      if (actual !== JSON.stringify(step.state.value)) {
        return `after ${steps
          .map((s) => s.event.type)
          .slice(0, index + 1)
          .join(" → ")}: ${actual} ≠ ${JSON.stringify(step.state.value)}`
      }
    }
    return undefined
  } finally {
    actor.stop()
  }
}

/** The delay in ms of a delayed event `xstate.after.<name>.<state id>` for `snapshot`. */
const delayOf = (type: string, snapshot: Snapshot): number => {
  const name = type.split(".")[2]
  const t = snapshot.context.lifecycle.timeouts
  switch (name) {
    case "sessionCreatedTimeout":
      return t.sessionCreatedMs
    case "sessionUpdatedTimeout":
      return t.sessionUpdatedMs
    case "inactivityTimeout":
      return t.inactivityMs
    case "drainTimeout":
      return t.drainMs
    case "connectionMaxAge":
      return t.rotateAfterMs
    case "reconnectDelay":
      return snapshot.context.lifecycle.reconnectDelayMs
    default:
      throw new Error(`unknown delay ${type}`)
  }
}

/** The (state node, event) pairs of the machine that handle `event` in `snapshot`. */
const handlersOf = (snapshot: Snapshot, type: string): string[] =>
  (snapshot._nodes as AnyStateNode[]).flatMap((node) => {
    const on = node.on[type]
    const after = node.after.some((t) => t.eventType === type)
    return (on !== undefined && on.length > 0) || after ? [`${node.id} ${type}`] : []
  })

describe("transcriptionSessionMachine model", () => {
  const visitedStates = new Set<string>()
  /** One witness (a path to a state, then the event) per transition of the machine. */
  const witnesses = new Map<
    string,
    { readonly mode: string; readonly steps: StatePath<Snapshot, TranscriptionSessionEvent>["steps"] }
  >()

  for (const [mode, input] of Object.entries(modes)) {
    const options = traversal(input)
    const machine = makeMachine()
    const shortest = new Map<string, StatePath<Snapshot, TranscriptionSessionEvent>>()
    for (const path of getShortestPaths(machine, options)) shortest.set(serializeState(path.state), path)
    const adjacency: AdjacencyMap<Snapshot, TranscriptionSessionEvent> = getAdjacencyMap(
      machine as unknown as Parameters<typeof getAdjacencyMap>[0],
      options as unknown as Parameters<typeof getAdjacencyMap>[1],
    ) as unknown as AdjacencyMap<Snapshot, TranscriptionSessionEvent>
    for (const [key, vertex] of Object.entries(adjacency)) {
      for (const node of vertex.state._nodes as AnyStateNode[]) visitedStates.add(node.id)
      const path = shortest.get(key)
      if (path === undefined) continue
      const edges = Object.values(vertex.transitions) as {
        event: TranscriptionSessionEvent
        state: Snapshot
      }[]
      for (const { event, state } of edges) {
        for (const handler of handlersOf(vertex.state, event.type)) {
          if (!witnesses.has(handler))
            witnesses.set(handler, { mode, steps: [...path.steps, { event, state }] })
        }
      }
    }
  }

  it("visits every state node of the machine", () => {
    const all = getStateNodes(makeMachine().root).map((n) => n.id)
    expect(all.filter((id) => !visitedStates.has(id))).toEqual([])
  })

  /** Every (state node, event) pair the machine declares a transition for. */
  const declared = new Set<string>()
  for (const node of getStateNodes(makeMachine().root)) {
    for (const type of Object.keys(node.on)) declared.add(`${node.id} ${type}`)
    for (const t of node.after) declared.add(`${node.id} ${t.eventType}`)
  }
  // Raised by the machine itself after each server event; exercised through those events.
  declared.delete("transcriptionSession.online.streaming.liveness.owed LIVENESS.SERVER_EVENT")

  it("exercises every event and delayed transition of the machine", () => {
    expect([...declared].filter((d) => !witnesses.has(d))).toEqual([])
  })

  it("reaches the same states on a running actor along a path through every transition", () => {
    const mismatches: string[] = []
    for (const [handler, { mode, steps }] of witnesses) {
      const mismatch = replay(modes[mode] ?? {}, steps)
      if (mismatch !== undefined) mismatches.push(`${handler} (${mode}): ${mismatch}`)
    }
    expect(mismatches).toEqual([])
    expect(witnesses.size).toBeGreaterThanOrEqual(declared.size)
  })
})
