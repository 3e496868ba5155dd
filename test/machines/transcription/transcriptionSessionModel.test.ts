/**
 * Model-based tests: the machine's graph is traversed with `xstate/graph` (shortest paths
 * over an abstraction of the context), and every path is replayed on a running actor with
 * fake I/O actors and a stepping clock, which must reach the same states. Together the
 * paths must visit every state node and take every transition definition of the machine:
 * each guarded branch of an event, each delayed transition, each eventless (`always`)
 * transition and each transition of an internally raised event. Which transitions a step
 * takes is read from XState's microstep inspection events, both while the graph is explored
 * and again on the running actor.
 */
import { describe, expect, it } from "vitest"
import {
  type AnyActorScope,
  type AnyStateNode,
  type AnyTransitionDefinition,
  createActor,
  type InspectionEvent,
  type SnapshotFrom,
} from "xstate"
import { getAdjacencyMap, getShortestPaths, getStateNodes, type StatePath } from "xstate/graph"
import type {
  TranscriptionSessionEvent,
  TranscriptionSessionInput,
} from "../../../machines/transcription/transcriptionSession.ts"
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
  semantic: { settings: { turnDetection: { type: "semantic_vad" } }, lifecycle },
  // Attempts start over once a connection is configured, so only a policy without retries
  // reaches the branches where a stall or a lost connection ends the session from streaming.
  noRetry: {
    settings: { turnDetection: null },
    lifecycle: { ...lifecycle, reconnect: { ...lifecycle.reconnect, maxAttempts: 0 } },
  },
  // While draining, the drain timeout ends the wait only when it is shorter than the stall wait.
  shortDrain: {
    settings: { turnDetection: null },
    lifecycle: { ...lifecycle, timeouts: { ...TIMEOUTS, drainMs: TIMEOUTS.inactivityMs - 500 } },
  },
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
    serverError("conversation_notice", "notice"),
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
    { type: "xstate.done.actor.socket", output: undefined } as unknown as TranscriptionSessionEvent,
    {
      type: "xstate.error.actor.audioInput",
      error: new Error("audio input crashed"),
    } as unknown as TranscriptionSessionEvent,
    { type: "xstate.done.actor.audioInput", output: undefined } as unknown as TranscriptionSessionEvent,
    { type: "UPDATE_SETTINGS", settings: { language: "en" } },
    // Switching turn detection at run time: into local VAD, and out of it into manual turns.
    { type: "UPDATE_SETTINGS", settings: { turnDetection: "local" } },
    { type: "UPDATE_SETTINGS", settings: { turnDetection: null } },
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
    c.settings.turnDetection,
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

/**
 * A stable name for one transition definition: its source node, its event (`always` for an
 * eventless transition) and its index among the source's branches for that event.
 */
const transitionKey = (t: AnyTransitionDefinition): string => {
  const source = t.source as AnyStateNode
  const eventless = (t.eventType as string) === ""
  const branches = eventless ? (source.always ?? []) : (source.transitions.get(t.eventType) ?? [])
  return `${source.id} ${eventless ? "always" : t.eventType} #${branches.indexOf(t)}`
}

/** Every transition definition the machine declares, by {@link transitionKey}. */
const declaredTransitions = (): Set<string> => {
  const declared = new Set<string>()
  for (const node of [makeMachine().root, ...getStateNodes(makeMachine().root)]) {
    for (const branches of node.transitions.values()) for (const t of branches) declared.add(transitionKey(t))
    for (const t of node.always ?? []) declared.add(transitionKey(t))
  }
  return declared
}

/**
 * Collects the transitions of XState's microstep inspection events, and (into `entered`) the
 * state nodes of each microstep, so that a state left within the same macrostep counts as visited.
 */
const recordTransitions =
  (into: Set<string>, entered?: Set<string>) =>
  (event: InspectionEvent): void => {
    if (event.type !== "@xstate.microstep") return
    for (const t of event._transitions) into.add(transitionKey(t))
    if (entered !== undefined)
      for (const node of (event.snapshot as Snapshot)._nodes as AnyStateNode[]) entered.add(node.id)
  }

/** One call of the machine's `transition` during the graph traversal, with the transitions it took. */
interface ObservedStep {
  readonly from: Snapshot
  readonly event: TranscriptionSessionEvent
  readonly to: Snapshot
  readonly taken: ReadonlySet<string>
}

/**
 * The machine with its `transition` wrapped so that every step of a graph traversal is
 * logged (into `log`) with the transitions it took, read from the microstep inspection events.
 */
const observedMachine = (machine: Machine, log: ObservedStep[], entered: Set<string>): Machine => {
  const observed = Object.create(machine) as Machine
  Object.defineProperty(observed, "transition", {
    value: (from: Snapshot, event: TranscriptionSessionEvent, scope: AnyActorScope) => {
      const taken = new Set<string>()
      const to = machine.transition(from, event, {
        ...scope,
        system: Object.create(scope.system, {
          _sendInspectionEvent: { value: recordTransitions(taken, entered) },
        }),
      })
      log.push({ from, event, to, taken })
      return to
    },
  })
  return observed
}

/**
 * Replays `steps` on a running actor. Returns the first step whose state differs, or the
 * transitions the last step took on the actor.
 */
const replay = (
  input: TranscriptionSessionInput,
  steps: StatePath<Snapshot, TranscriptionSessionEvent>["steps"],
): { readonly mismatch: string | undefined; readonly lastStep: ReadonlySet<string> } => {
  const clock = new StepClock()
  const taken = new Set<string>()
  const actor = createActor(makeMachine(), { input, clock, inspect: recordTransitions(taken) }).start()
  try {
    for (const [index, step] of steps.entries()) {
      if (index === 0 && (step.event.type as string) === "xstate.init") continue
      taken.clear()
      if ((step.event.type as string).startsWith("xstate.after.")) clock.fireNext()
      else actor.send(step.event)
      const actual = JSON.stringify(actor.getSnapshot().value)
      if (actual !== JSON.stringify(step.state.value)) {
        const mismatch = `after ${steps
          .map((s) => s.event.type)
          .slice(0, index + 1)
          .join(" → ")}: ${actual} ≠ ${JSON.stringify(step.state.value)}`
        return { mismatch, lastStep: taken }
      }
    }
    return { mismatch: undefined, lastStep: taken }
  } finally {
    actor.stop()
  }
}

describe("transcriptionSessionMachine model", () => {
  const visitedStates = new Set<string>()
  /** One witness (a path to a state, then the event) per transition definition of the machine. */
  const witnesses = new Map<
    string,
    { readonly mode: string; readonly steps: StatePath<Snapshot, TranscriptionSessionEvent>["steps"] }
  >()

  for (const [mode, input] of Object.entries(modes)) {
    const options = traversal(input)
    const machine = makeMachine()
    const shortest = new Map<string, StatePath<Snapshot, TranscriptionSessionEvent>>()
    for (const path of getShortestPaths(machine, options)) shortest.set(serializeState(path.state), path)
    const log: ObservedStep[] = []
    getAdjacencyMap(
      observedMachine(machine, log, visitedStates) as unknown as Parameters<typeof getAdjacencyMap>[0],
      options as unknown as Parameters<typeof getAdjacencyMap>[1],
    )
    for (const { from, event, to, taken } of log) {
      for (const node of from._nodes as AnyStateNode[]) visitedStates.add(node.id)
      for (const node of to._nodes as AnyStateNode[]) visitedStates.add(node.id)
      const path = shortest.get(serializeState(from))
      if (path === undefined) continue
      for (const transition of taken) {
        if (!witnesses.has(transition))
          witnesses.set(transition, { mode, steps: [...path.steps, { event, state: to }] })
      }
    }
  }

  it("visits every state node of the machine", () => {
    const all = getStateNodes(makeMachine().root).map((n) => n.id)
    expect(all.filter((id) => !visitedStates.has(id))).toEqual([])
  })

  const declared = declaredTransitions()

  it("takes every transition of the machine: each guarded branch, delay, eventless and raised transition", () => {
    expect([...declared].filter((d) => !witnesses.has(d))).toEqual([])
    expect(declared.size).toBeGreaterThan(60)
  })

  it("reaches the same states, taking the same transition, on a running actor along each witness path", () => {
    const mismatches: string[] = []
    for (const [transition, { mode, steps }] of witnesses) {
      const { mismatch, lastStep } = replay(modes[mode] ?? {}, steps)
      if (mismatch !== undefined) mismatches.push(`${transition} (${mode}): ${mismatch}`)
      else if (!lastStep.has(transition)) mismatches.push(`${transition} (${mode}): not taken by the actor`)
    }
    expect(mismatches).toEqual([])
  })
})
