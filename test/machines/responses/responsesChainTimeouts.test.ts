import { describe, expect, it } from "vitest"
import type { ChainFailure } from "../../../machines/responses/chainFailure.ts"
import type { ResponsesChainEmitted } from "../../../machines/responses/responsesChain.ts"
import { namedResponsesEvent } from "../../../machines/responses/responsesServerEvents.ts"
import { server, startChain, turn } from "../../llm/chainHarness.ts"

const user = (content: string) => ({ role: "user", content }) as const

const failureOf = (events: readonly ResponsesChainEmitted[]): ChainFailure | undefined => {
  const failed = events.find((e) => e.type === "turn.failed")
  return failed?.type === "turn.failed" ? failed.error : undefined
}

/** An unknown frame, named at the edge as the socket actor names it. */
const unknownFrame = namedResponsesEvent({
  type: "unknown",
  originalType: "keepalive",
  raw: { type: "keepalive" },
})

describe("responsesChainMachine: a turn the service owes an event never hangs", () => {
  it("fails a response.create never answered with Timeout (response_created) and runs the next turn", () => {
    const h = startChain({ responseCreatedTimeoutMs: 5_000 })
    const first = turn([user("one")])
    const second = turn([user("two")])
    h.actor.send({ type: "CHAT", request: first })
    h.actor.send({ type: "CHAT", request: second })
    h.open()
    h.clock.increment(4_999)
    expect(failureOf(h.events(first.turnId))).toBeUndefined()
    h.clock.increment(1)
    const error = failureOf(h.events(first.turnId))
    expect(error?.reason).toEqual({ _tag: "Timeout", phase: "response_created", timeoutMs: 5_000 })
    expect(error?.retryable).toBe(true)
    // The silent socket is replaced; the queued turn goes out on the new one.
    expect(h.sockets).toHaveLength(2)
    expect(h.sockets[0]?.stopped).toBe(true)
    h.open()
    expect(h.creates()).toHaveLength(2)
    h.reply(server.created("resp_2"), server.completed("resp_2", [server.messageItem("m2", "two")]))
    expect(h.chunks(second.turnId).at(-1)?.type).toBe("end")
  })

  it("fails a response.created followed by silence with Timeout (first_output)", () => {
    const h = startChain({ firstOutputTimeoutMs: 8_000 })
    const first = turn([user("one")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    h.reply(server.created("resp_1"))
    h.clock.increment(8_000)
    expect(failureOf(h.events(first.turnId))?.reason).toEqual({
      _tag: "Timeout",
      phase: "first_output",
      timeoutMs: 8_000,
    })
    expect(failureOf(h.events(first.turnId))?.responseId).toBe("resp_1")
  })

  it("restarts the wait on every event of the response and fails a silence between them (between_events)", () => {
    const h = startChain({ eventGapTimeoutMs: 3_000 })
    const first = turn([user("one")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    h.reply(server.created("resp_1"), server.messageAdded("m1"))
    for (let i = 0; i < 5; i++) {
      h.clock.increment(2_500)
      h.reply(server.delta("m1", `w${i} `))
    }
    expect(failureOf(h.events(first.turnId))).toBeUndefined()
    // Frames that answer nothing owed do not keep the turn alive.
    h.clock.increment(2_000)
    h.reply(unknownFrame)
    h.clock.increment(1_000)
    const error = failureOf(h.events(first.turnId))
    expect(error?.reason).toEqual({ _tag: "Timeout", phase: "between_events", timeoutMs: 3_000 })
    expect(h.chunks(first.turnId).filter((c) => c.type === "text")).toHaveLength(5)
  })

  it("does not end a turn on a completed that came without its created", () => {
    const h = startChain({ responseCreatedTimeoutMs: 5_000 })
    const first = turn([user("one")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    h.reply(server.completed("resp_other", [server.messageItem("m1", "stray")]))
    expect(h.chunks(first.turnId)).toEqual([])
    h.clock.increment(5_000)
    expect(failureOf(h.events(first.turnId))?.reason).toMatchObject({ phase: "response_created" })
  })

  it("skips a created or completed of another response id: they are not the turn's", () => {
    const h = startChain({ eventGapTimeoutMs: 4_000 })
    const first = turn([user("one")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    h.reply(server.created("resp_1"), server.messageAdded("m1"), server.delta("m1", "hello"))
    h.reply(server.created("resp_intruder"))
    h.reply(server.completed("resp_intruder", [server.messageItem("mx", "not yours")]))
    expect(h.chunks(first.turnId).some((c) => c.type === "end")).toBe(false)
    expect(h.emitted.filter((e) => e.type === "notice")).toHaveLength(2)
    h.reply(server.completed("resp_1", [server.messageItem("m1", "hello")]))
    const end = h.chunks(first.turnId).at(-1)
    expect(end?.type === "end" ? end.responseId : undefined).toBe("resp_1")
  })

  it("fails a warmup never answered and lets the next turn through", () => {
    const h = startChain({ responseCreatedTimeoutMs: 2_000 })
    const failures: ResponsesChainEmitted[] = []
    h.actor.on("prewarm.failed", (e) => {
      failures.push(e)
    })
    h.actor.send({
      type: "PREWARM",
      request: {
        params: { model: "gpt-4.1-mini", store: false },
        instructions: "terse",
        developerRole: false,
      },
    })
    h.open()
    const first = turn([user("one")])
    h.actor.send({ type: "CHAT", request: first })
    h.clock.increment(2_000)
    expect(failures).toHaveLength(1)
    h.open()
    expect(h.creates().at(-1)?.input).toBeDefined()
    h.reply(server.created("resp_1"), server.completed("resp_1", [server.messageItem("m1", "ok")]))
    expect(h.chunks(first.turnId).at(-1)?.type).toBe("end")
  })
})
