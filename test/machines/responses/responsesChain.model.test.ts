/**
 * Model-based tests of the Responses chain machine: xstate/graph explores the machine's
 * state graph under a model of the server (it answers only what the machine can be waiting
 * for), then every transition of that graph is replayed on a real actor with fake sockets,
 * and the protocol's invariants are checked on what the actor sent and emitted.
 */

import { describe, expect, it } from "vitest"
import { type AnyStateMachine, type EventObject, fromCallback } from "xstate"
import { getAdjacencyMap, getShortestPaths, getStateNodes } from "xstate/graph"
import {
  type ResponsesChainEvent,
  type ResponsesSocketCommand,
  type ResponsesSocketInput,
  responsesChainMachine,
} from "../../../machines/responses/responsesChain.ts"
import { toChatItem } from "../../../src/llm/ChatContext.ts"
import type { ResponsesServerEvent } from "../../../src/protocol/index.ts"
import { PARAMS, server, startChain } from "../../llm/chainHarness.ts"
import { GRAPH_TEST_TIMEOUT_MS } from "../../support/graphTests.ts"

// A short socket age and a long drain timeout: moving the clock by ROTATE_MS never fires the
// drain timeout, and moving it by DRAIN_MS (which may also age the socket) leaves the machine
// where the graph says, since the drain timeout drops the socket anyway. The rate-limit
// backoff is 1 ms (the refusal asks for it), far from both; the socket is not aged while the
// machine backs off, so that moving the clock by ROTATE_MS does not also end the backoff.
const ROTATE_MS = 1_000
const DRAIN_MS = 60_000
const BACKOFF_MS = 1
const INPUT = { drainTimeoutMs: DRAIN_MS, rotateAfterMs: ROTATE_MS }

const HELLO = toChatItem({ role: "user", content: "hello" })
const OK = toChatItem({ role: "assistant", content: "ok" })
const NEXT = toChatItem({ role: "user", content: "next" })

/** Graph events carry an abstract turn id ("a" or "b"); the replay gives each CHAT a fresh one. */
type GraphEvent = ResponsesChainEvent | { readonly type: `xstate.after.${string}` }

const machine = responsesChainMachine.provide({
  actors: { socket: fromCallback<ResponsesSocketCommand, ResponsesSocketInput>(() => undefined) },
})
type Snapshot = ReturnType<typeof machine.transition>
// xstate/graph's signatures do not carry the machine's emitted-event type; the graph only
// calls `transition` and `getInitialSnapshot`, so the machine is handed over as any machine.
const graphLogic = machine as unknown as AnyStateMachine

const afterEvent = (stateId: string): string => {
  const node = machine.getStateNodeById(stateId)
  const type = node.after[0]?.eventType
  if (type === undefined) throw new Error(`no delay on ${stateId}`)
  return type
}
const DRAIN_TIMEOUT = afterEvent("responsesChain.online.ready.draining")
const ROTATE = afterEvent("responsesChain.online.ready")
const BACKOFF = afterEvent("responsesChain.online.ready.backingOff")

const inState = (snapshot: Snapshot, id: string): boolean =>
  snapshot._nodes.some((node) => node.id === `responsesChain.${id}`)

const chat = (turnId: string, continued: boolean): ResponsesChainEvent => ({
  type: "CHAT",
  request: { turnId, items: continued ? [HELLO, OK, NEXT] : [HELLO], params: PARAMS, developerRole: false },
})

const closed1006 = { code: "close_1006", message: "1006", retryable: true, opened: true, closeCode: 1006 }

/** What the model of the server and the user can do in `snapshot`. */
const eventsFor = (snapshot: Snapshot): GraphEvent[] => {
  const { context } = snapshot
  if (snapshot.status !== "active") return []
  const live = [
    ...(context.current === undefined || context.current.cancelRequested
      ? []
      : [context.current.request.turnId]),
    ...context.queue.map((r) => r.turnId),
  ]
  const events: GraphEvent[] = []
  if (live.length < 2) {
    // A turn continues the history when there is a chain to continue (chained or, after a
    // longer exchange, a full resend); otherwise it starts over.
    const id = live.includes("a") ? "b" : "a"
    events.push(chat(id, context.chain !== undefined))
  }
  for (const id of live) events.push({ type: "CANCEL", turnId: id })
  events.push({ type: "CLOSE" })
  if (context.warmup === undefined && context.warming === undefined && context.chain === undefined) {
    events.push({ type: "PREWARM", request: { params: PARAMS, instructions: "hello", developerRole: false } })
  }
  if (inState(snapshot, "online.connecting")) {
    events.push(
      { type: "SOCKET.OPEN" },
      {
        type: "SOCKET.FAILED",
        failure: { code: "connect_failed", message: "refused", retryable: true, opened: false },
      },
    )
  } else if (inState(snapshot, "online")) {
    events.push({ type: "SOCKET.FAILED", failure: closed1006 })
  }
  if (inState(snapshot, "online.ready") && !context.aged && !inState(snapshot, "online.ready.backingOff")) {
    events.push({ type: ROTATE } as GraphEvent)
  }
  const responseId = context.current?.progress.responseId
  if (inState(snapshot, "online.ready.turn.awaitingCreated")) {
    const id = `resp_${context.current?.request.turnId}${context.current?.attempts}`
    events.push(
      server.created(id),
      server.nestedError("previous_response_not_found"),
      server.nestedError("websocket_connection_limit_reached", 429),
      server.nestedError("invalid_value"),
    )
    // A rate limit after the turn's one recovery fails it like any other refusal (invalid_value
    // above): offered only before it, which keeps the graph small.
    if (context.current?.recovered === false) {
      events.push(server.rateLimited({ "retry-after-ms": String(BACKOFF_MS) }))
    }
  }
  if (inState(snapshot, "online.ready.backingOff")) events.push({ type: BACKOFF } as GraphEvent)
  if (inState(snapshot, "online.ready.turn.streaming") && responseId !== undefined) {
    events.push(
      server.delta("msg_1", "ok"),
      server.completed(responseId, [server.messageItem("msg_1", "ok")]),
      server.failed(responseId, "server_error"),
      server.flatError("websocket_connection_limit_reached"),
    )
  }
  if (inState(snapshot, "online.ready.warming")) {
    const id = context.warming?.responseId
    events.push(
      id === undefined ? server.created("resp_warm") : server.completed(id),
      server.nestedError("invalid_value"),
    )
  }
  if (inState(snapshot, "online.ready.draining") && context.draining !== undefined) {
    events.push(server.delta("msg_1", "stale"), server.cancelledEnd(context.draining.responseId), {
      type: DRAIN_TIMEOUT,
    } as GraphEvent)
  }
  return events
}

/** The state as the graph sees it: enough to tell apart what behaves differently. */
const serializeState = (snapshot: Snapshot): string => {
  const { context } = snapshot
  const current = context.current
  return JSON.stringify({
    value: snapshot.value,
    status: snapshot.status,
    queue: context.queue.map((r) => [r.turnId, r.items.length]),
    current:
      current === undefined
        ? null
        : [
            current.request.turnId,
            current.request.items.length,
            current.attempts,
            current.recovered,
            // Read only by the next send: once sent, a full and a chained retry behave alike.
            current.awaitingSend ? current.forceFull : null,
            current.awaitingSend,
            current.cancelRequested,
            current.progress.delivered,
            current.progress.responseId !== undefined,
          ],
    chain: context.chain?.length ?? null,
    draining: context.draining !== undefined,
    aged: context.aged,
    warming: context.warming === undefined ? null : context.warming.responseId !== undefined,
    warmup: context.warmup !== undefined,
  })
}

const serializeEvent = (event: EventObject): string => JSON.stringify(event)

const traversal = {
  input: INPUT,
  events: eventsFor as (snapshot: Snapshot) => never[],
  serializeState: serializeState as (snapshot: Snapshot) => string,
  serializeEvent,
  limit: 200_000,
}

interface TurnRecord {
  readonly id: string
  sends: number
  retries: number
  delivered: boolean
  terminal: number
  cancelled: boolean
  afterTerminal: number
  sentAfterOutput: boolean
  textAfterCancel: boolean
}

/** Replays `events` on a real actor; returns the problems found (empty when every invariant holds). */
const replay = (events: readonly GraphEvent[], expectedValues: readonly unknown[]): string[] => {
  const h = startChain(INPUT)
  const problems: string[] = []
  const ids = new Map<string, string>()
  const turns = new Map<string, TurnRecord>()
  let counter = 0
  // Per socket: whether a response.create is waiting for its end.
  const inFlight = new Map<number, boolean>()

  const record = (id: string): TurnRecord => {
    let turn = turns.get(id)
    if (turn === undefined) {
      turn = {
        id,
        sends: 0,
        retries: 0,
        delivered: false,
        terminal: 0,
        cancelled: false,
        afterTerminal: 0,
        sentAfterOutput: false,
        textAfterCancel: false,
      }
      turns.set(id, turn)
    }
    return turn
  }
  h.actor.on("*", (event) => {
    if (!("turnId" in event)) return
    const turn = record(event.turnId)
    if (turn.terminal > 0) turn.afterTerminal++
    switch (event.type) {
      case "turn.sent":
        turn.sends++
        if (turn.delivered) turn.sentAfterOutput = true
        break
      case "turn.retrying":
        turn.retries++
        break
      case "turn.failed":
        turn.terminal++
        break
      case "turn.chunk":
        if (event.chunk.type === "end") {
          turn.terminal++
          if (event.chunk.status === "cancelled") turn.cancelled = true
        } else if (event.chunk.type === "text" || event.chunk.type === "tool_call") {
          turn.delivered = true
          if (turn.cancelled) turn.textAfterCancel = true
        }
        break
    }
  })
  const sentCounts = new Map<number, number>()
  const checkSockets = (): void => {
    for (const socket of h.sockets) {
      const seen = sentCounts.get(socket.generation) ?? 0
      for (const event of socket.sent.slice(seen)) {
        if (event.type !== "response.create") continue
        if (inFlight.get(socket.generation) === true) {
          problems.push(`socket ${socket.generation}: a second response.create while one was in flight`)
        }
        inFlight.set(socket.generation, true)
      }
      sentCounts.set(socket.generation, socket.sent.length)
    }
  }

  events.forEach((event, index) => {
    switch (event.type) {
      case "CHAT": {
        const id = `r${++counter}`
        ids.set(event.request.turnId, id)
        record(id)
        h.actor.send({ ...event, request: { ...event.request, turnId: id } })
        break
      }
      case "CANCEL":
        h.actor.send({ type: "CANCEL", turnId: ids.get(event.turnId) ?? event.turnId })
        break
      case DRAIN_TIMEOUT:
        h.clock.increment(DRAIN_MS)
        break
      case ROTATE:
        h.clock.increment(ROTATE_MS)
        break
      case BACKOFF:
        h.clock.increment(BACKOFF_MS)
        break
      case "SOCKET.OPEN":
      case "SOCKET.FAILED":
      case "SERVER.RESPONSE_CREATED":
      case "SERVER.RESPONSE_DONE":
      case "SERVER.ERROR":
      case "SERVER.RESPONSE_OUTPUT": {
        const socket = h.socket()
        if (socket.stopped) problems.push(`step ${index}: ${event.type} on a stopped socket`)
        if ("event" in event) {
          const type = event.event.type
          const before = h.actor.getSnapshot() as Snapshot
          // An error before response.created is a refused request: nothing is left in flight.
          const refused =
            type === "error" &&
            (inState(before, "online.ready.turn.awaitingCreated") ||
              (inState(before, "online.ready.warming") && before.context.warming?.responseId === undefined))
          const ends =
            type === "response.completed" ||
            type === "response.incomplete" ||
            type === "response.failed" ||
            refused
          if (ends) inFlight.set(socket.generation, false)
        }
        socket.reply(event as ResponsesChainEvent & { type: "SOCKET.OPEN" })
        break
      }
      default:
        h.actor.send(event as ResponsesChainEvent)
    }
    checkSockets()
    const expected = JSON.stringify(expectedValues[index])
    const actual = JSON.stringify(h.actor.getSnapshot().value)
    if (expected !== actual)
      problems.push(`step ${index} (${event.type}): state ${actual}, graph said ${expected}`)
  })

  const closed = events.at(-1)?.type === "CLOSE"
  for (const turn of turns.values()) {
    if (closed && turn.terminal === 0) problems.push(`${turn.id}: left without an end after CLOSE`)
    if (turn.terminal > 1) problems.push(`${turn.id}: ended ${turn.terminal} times`)
    if (turn.afterTerminal > 0) problems.push(`${turn.id}: ${turn.afterTerminal} events after its end`)
    if (turn.sends > 2) problems.push(`${turn.id}: sent ${turn.sends} times`)
    if (turn.sends === 2 && turn.retries !== 1) problems.push(`${turn.id}: resent without a retry event`)
    if (turn.sentAfterOutput) problems.push(`${turn.id}: replayed after output reached the caller`)
    if (turn.textAfterCancel) problems.push(`${turn.id}: output after its cancel`)
  }
  const snapshot = h.actor.getSnapshot()
  if (snapshot.matches({ online: { ready: "idle" } })) {
    const { context } = snapshot
    if (context.current !== undefined || context.queue.length > 0 || context.draining !== undefined) {
      problems.push("idle with work pending")
    }
  }
  h.actor.stop()
  return problems
}

// Exploring and replaying the graph is pure CPU: a few seconds on a quiet machine, many times
// that on a loaded one, so these tests wait longer than the suite's default before timing out.
describe("responsesChainMachine: model-based", { timeout: GRAPH_TEST_TIMEOUT_MS }, () => {
  const adjacency = getAdjacencyMap(graphLogic, traversal)
  const states = Object.keys(adjacency)
  const shortest = getShortestPaths(graphLogic, traversal)
  const pathTo = new Map(shortest.map((path) => [serializeState(path.state), path]))

  it("explores a graph that reaches every state of the machine", () => {
    const reached = new Set<string>()
    for (const key of states) {
      for (const node of adjacency[key as keyof typeof adjacency]?.state._nodes ?? []) reached.add(node.id)
    }
    // `dispatching` states are transient: their eventless transitions always leave them at once.
    const all = getStateNodes(graphLogic)
      .map((node) => node.id)
      .filter((id) => !id.endsWith(".dispatching"))
    expect(all).toEqual(
      expect.arrayContaining([
        "responsesChain.online.ready.warming",
        "responsesChain.online.ready.turn.streaming",
        "responsesChain.online.ready.draining",
        "responsesChain.online.ready.backingOff",
        "responsesChain.closed",
      ]),
    )
    expect(all.filter((id) => !reached.has(id))).toEqual([])
    expect(states.length).toBeGreaterThan(100)
  })

  // The replays are split in parts (states by index) so that no single test runs long.
  const PARTS = 4
  const transitionCount = states.reduce(
    (n, key) => n + Object.keys(adjacency[key as keyof typeof adjacency]?.transitions ?? {}).length,
    0,
  )

  it("has a replayable path to every state and enough transitions to be worth replaying", () => {
    expect(states.filter((key) => !pathTo.has(key))).toEqual([])
    expect(transitionCount).toBeGreaterThan(500)
  })

  for (let part = 0; part < PARTS; part++) {
    it(`keeps every invariant along every transition of the graph (part ${part + 1} of ${PARTS})`, () => {
      let transitions = 0
      const failures: string[] = []
      states.forEach((key, index) => {
        if (index % PARTS !== part) return
        const entry = adjacency[key as keyof typeof adjacency]
        const head = pathTo.get(key)
        if (entry === undefined || head === undefined) throw new Error(`no path to ${key}`)
        for (const { event, state } of Object.values(entry.transitions)) {
          transitions++
          const steps = [...head.steps.slice(1), { event, state }]
          const problems = replay(
            steps.map((s) => s.event as GraphEvent),
            steps.map((s) => s.state.value),
          )
          if (problems.length > 0 && failures.length < 5) {
            failures.push(
              `${steps.map((s) => describeEvent(s.event as GraphEvent)).join(" → ")}\n  ${problems.join("\n  ")}`,
            )
          }
        }
      })
      expect(failures).toEqual([])
      expect(transitions).toBeGreaterThan(transitionCount / PARTS / 2)
    })
  }
})

const describeEvent = (event: GraphEvent): string => {
  if ("event" in event && event.type.startsWith("SERVER.")) {
    const server = (event as { readonly event: ResponsesServerEvent }).event
    return server.type === "error" ? `error(${JSON.stringify(server).slice(0, 80)})` : server.type
  }
  if (event.type === "CHAT" || event.type === "CANCEL") {
    const id = event.type === "CHAT" ? event.request.turnId : event.turnId
    return `${event.type}(${id})`
  }
  return event.type
}
