/**
 * Model-based round trips of the Responses chain's persisted LLM: at every state reached by
 * the shortest paths of the chain's graph (`xstate/graph`), the conversation the LLM facade
 * keeps (`context`, `turnInFlight`: the last finished turn's items and output, or the items of
 * the turn in flight) is taken through JSON and given to a fresh chain, as `resumeLLM` does.
 * What the resumed chain sends and emits must equal what the original sends and emits when
 * its connection is lost there and made again: the same whole-context `response.create` on
 * the new socket (the turn in flight asked again), the same end, and the next turn chained
 * to it in both.
 */
import { describe, expect, it } from "vitest"
import { type AnyStateMachine, type EventObject, fromCallback } from "xstate"
import { getShortestPaths } from "xstate/graph"
import {
  type ResponsesChainEvent,
  type ResponsesSocketCommand,
  type ResponsesSocketInput,
  responsesChainMachine,
} from "../../../machines/responses/responsesChain.ts"
import { type ChatItem, toChatItem } from "../../../src/llm/ChatContext.ts"
import type { ResponsesCreateClientEvent } from "../../../src/protocol/index.ts"
import { type ChainHarness, PARAMS, server, startChain } from "../../llm/chainHarness.ts"

const INPUT = { drainTimeoutMs: 60_000, rotateAfterMs: 3_600_000 }
const HELLO = toChatItem({ role: "user", content: "hello" })
const OK = toChatItem({ role: "assistant", content: "ok" })
const NEXT = toChatItem({ role: "user", content: "next" })
const LATER = toChatItem({ role: "user", content: "later" })

const machine = responsesChainMachine.provide({
  actors: { socket: fromCallback<ResponsesSocketCommand, ResponsesSocketInput>(() => undefined) },
})
type Snapshot = ReturnType<typeof machine.transition>
const graphLogic = machine as unknown as AnyStateMachine

const inState = (snapshot: Snapshot, id: string): boolean =>
  snapshot._nodes.some((node) => node.id === `responsesChain.${id}`)

const chat = (turnId: string, items: readonly ChatItem[]): ResponsesChainEvent => ({
  type: "CHAT",
  request: { turnId, items: [...items], params: PARAMS, developerRole: false },
})
const closed1006 = { code: "close_1006", message: "1006", retryable: true, opened: true, closeCode: 1006 }

/** A small fixed event set: a first turn, a continued one, the socket's life, the server's answers. */
const eventsFor = (snapshot: Snapshot): ResponsesChainEvent[] => {
  const { context } = snapshot
  if (snapshot.status !== "active") return []
  const events: ResponsesChainEvent[] = []
  if (context.current === undefined && context.queue.length === 0) {
    events.push(context.chain === undefined ? chat("a", [HELLO]) : chat("b", [HELLO, OK, NEXT]))
  }
  if (inState(snapshot, "online.connecting")) events.push({ type: "SOCKET.OPEN" })
  else if (inState(snapshot, "online")) events.push({ type: "SOCKET.FAILED", failure: closed1006 })
  const current = context.current
  if (current !== undefined && inState(snapshot, "online.ready.turn.awaitingCreated")) {
    events.push(server.created(`resp_${current.request.turnId}${current.attempts}`))
  }
  const responseId = current?.progress.responseId
  if (responseId !== undefined && inState(snapshot, "online.ready.turn.streaming")) {
    events.push(
      server.delta("msg_1", "ok"),
      server.completed(responseId, [server.messageItem("msg_1", "ok")]),
    )
  }
  return events
}

const serializeState = (snapshot: Snapshot): string => {
  const { context } = snapshot
  const current = context.current
  return JSON.stringify([
    snapshot.value,
    context.queue.map((r) => r.items.length),
    current === undefined
      ? null
      : [
          current.request.items.length,
          current.attempts,
          current.recovered,
          current.awaitingSend,
          current.progress.delivered,
          current.progress.responseId !== undefined,
        ],
    context.chain?.length ?? null,
  ])
}

/** The conversation as the LLM facade holds it, followed from what the chain is told and emits. */
const follow = (h: ChainHarness) => {
  const held = { items: [] as ChatItem[], inFlight: 0 }
  h.actor.on("*", (event) => {
    if (event.type === "turn.failed") held.inFlight--
    if (event.type === "turn.chunk" && event.chunk.type === "end") {
      held.inFlight--
      held.items = [...held.items, ...event.chunk.output]
    }
  })
  return {
    held,
    chat: (turnId: string, items: readonly ChatItem[]) => {
      held.items = [...items]
      held.inFlight++
      h.actor.send(chat(turnId, items))
    },
  }
}

const withoutId = (event: ResponsesCreateClientEvent) => {
  const { event_id: _, ...rest } = event as ResponsesCreateClientEvent & { event_id?: string }
  return rest
}

/** Opens the newest socket when it waits to be opened. */
const openIfConnecting = (h: ChainHarness): void => {
  if (h.sockets.length > 0 && h.actor.getSnapshot().matches({ online: "connecting" })) h.open()
}

/**
 * Finishes the conversation on `h`: the turn asked on the newest socket is answered, then a
 * later turn is asked and answered. Returns what was sent on that socket and the turn ends.
 */
const finish = (h: ChainHarness, f: ReturnType<typeof follow>, from: number) => {
  openIfConnecting(h)
  const first = h.sockets.at(-1)?.sent.filter((e) => e.type === "response.create") ?? []
  if (first.length > 0) {
    h.reply(server.created("resp_again"))
    h.reply(
      server.delta("msg_2", "again"),
      server.completed("resp_again", [server.messageItem("msg_2", "again")]),
    )
  }
  f.chat("later", [...f.held.items, LATER])
  openIfConnecting(h)
  h.reply(server.created("resp_later"))
  h.reply(server.completed("resp_later", [server.messageItem("msg_3", "done")]))
  const creates = h.sockets
    .slice(from)
    .flatMap((s) => s.sent.filter((e): e is ResponsesCreateClientEvent => e.type === "response.create"))
  const ends = h.emitted.flatMap((e) =>
    e.type === "turn.chunk" && e.chunk.type === "end" && e.turnId === "later" ? [e.chunk.output] : [],
  )
  return { creates: creates.map(withoutId), ends, held: f.held.items }
}

describe("responsesChainMachine persist round trips", () => {
  const paths = getShortestPaths(graphLogic, {
    input: INPUT,
    events: eventsFor as (snapshot: Snapshot) => never[],
    serializeState: serializeState as (snapshot: Snapshot) => string,
    serializeEvent: (event: EventObject) => JSON.stringify(event),
    limit: 50_000,
  })

  it("resumes at every reachable state as a lost connection would recover there", () => {
    let compared = 0
    let chained = 0
    for (const path of paths) {
      const state = path.state as Snapshot
      if (state.status !== "active" || !inState(state, "online.ready")) continue
      // The original: the path on a chain with fake sockets, followed as the facade does.
      const original = startChain(INPUT)
      const f = follow(original)
      for (const step of path.steps) {
        const event = step.event as ResponsesChainEvent
        if ((event.type as string) === "xstate.init") continue
        if (event.type === "CHAT") f.chat(event.request.turnId, event.request.items)
        else if (
          event.type === "SOCKET.OPEN" ||
          event.type.startsWith("SERVER.") ||
          event.type === "SOCKET.FAILED"
        )
          original.socket().reply(event as ResponsesChainEvent & { type: "SOCKET.OPEN" })
        else original.actor.send(event)
      }
      expect(JSON.stringify(original.actor.getSnapshot().value)).toBe(JSON.stringify(state.value))
      const persisted = JSON.parse(
        JSON.stringify({ context: f.held.items, turnInFlight: f.held.inFlight > 0 }),
      )
      const inFlightId = state.context.current?.request.turnId

      // The original loses its connection; a turn the chain cannot replay fails, and is asked again.
      const lostAt = original.sockets.length
      original.socket().reply({ type: "SOCKET.FAILED", failure: closed1006 })
      original.clock.increment(60_000)
      const failed = original.emitted.some((e) => e.type === "turn.failed" && e.turnId === inFlightId)
      if (failed) f.chat("again", f.held.items)
      const lost = finish(original, f, lostAt)

      // The resumed one: a fresh chain given the persisted conversation.
      const resumed = startChain(INPUT)
      const g = follow(resumed)
      g.held.items = persisted.context
      if (persisted.turnInFlight) g.chat("again", persisted.context)
      const again = finish(resumed, g, 0)

      const where = JSON.stringify(state.value)
      expect(again.creates, where).toEqual(lost.creates)
      expect(again.ends, where).toEqual(lost.ends)
      expect(again.held, where).toEqual(lost.held)
      // The first request on the new socket carries the whole context; a later one is chained.
      expect(again.creates[0]?.previous_response_id, where).toBeUndefined()
      expect(again.creates[0]?.input, where).toHaveLength(
        persisted.context.length + (persisted.turnInFlight ? 0 : 1),
      )
      if (again.creates.length > 1) {
        expect(again.creates.at(-1)?.previous_response_id, where).toBe("resp_again")
        chained++
      }
      original.actor.stop()
      resumed.actor.stop()
      compared++
    }
    expect(compared).toBeGreaterThan(15)
    expect(chained).toBeGreaterThan(0)
  })
})
