import { describe, expect, it } from "vitest"
import { createActor, fromCallback, SimulatedClock } from "xstate"
import type { ChatChunk } from "../../../machines/responses/chunks.ts"
import {
  type ResponsesChainEmitted,
  type ResponsesSocketCommand,
  type ResponsesSocketInput,
  responsesChainMachine,
} from "../../../machines/responses/responsesChain.ts"
import type { ChatItem } from "../../../src/llm/ChatContext.ts"
import { PARAMS, server, startChain, turn } from "../../llm/chainHarness.ts"

const SYSTEM = { role: "system", content: "You are terse." } as const
const user = (content: string) => ({ role: "user", content }) as const

const endOf = (chunks: readonly ChatChunk[]) => {
  const last = chunks.at(-1)
  if (last?.type !== "end") throw new Error(`no end chunk: ${JSON.stringify(chunks)}`)
  return last
}

/** Plays one text response `text` with id `id` on the newest socket. */
const answer = (h: ReturnType<typeof startChain>, id: string, text: string, itemId = `msg_${id}`) => {
  h.reply(
    server.created(id),
    server.messageAdded(itemId),
    server.delta(itemId, text),
    server.messageDone(itemId, text),
  )
  h.reply(
    server.completed(id, [server.messageItem(itemId, text)], {
      input_tokens: 10,
      output_tokens: 3,
      total_tokens: 13,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens_details: { reasoning_tokens: 0 },
    }),
  )
}

describe("responsesChainMachine: connection", () => {
  it("stays disconnected until the first turn, then connects and sends on open", () => {
    const h = startChain()
    expect(h.state()).toBe("disconnected")
    expect(h.sockets).toHaveLength(0)
    h.actor.send({ type: "CHAT", request: turn([SYSTEM, user("hi")]) })
    expect(h.sockets).toHaveLength(1)
    expect(h.socket().sent).toHaveLength(0)
    h.open()
    expect(h.creates()).toHaveLength(1)
    expect(h.state()).toContain("awaitingCreated")
  })

  it("reuses one socket across turns", () => {
    const h = startChain()
    const first = turn([SYSTEM, user("one")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    answer(h, "resp_1", "Hi.")
    const output = endOf(h.chunks(first.turnId)).output
    h.actor.send({ type: "CHAT", request: turn([...first.items, ...output, user("two")]) })
    expect(h.sockets).toHaveLength(1)
    expect(h.creates()).toHaveLength(2)
  })

  it("fails every waiting turn with a Connect error when the socket cannot open", () => {
    const h = startChain()
    const a = turn([user("a")])
    const b = turn([user("b")])
    h.actor.send({ type: "CHAT", request: a })
    h.actor.send({ type: "CHAT", request: b })
    h.reply({
      type: "SOCKET.FAILED",
      failure: { code: "http_401", message: "HTTP 401", retryable: false, opened: false, status: 401 },
    })
    for (const id of [a.turnId, b.turnId]) {
      const failed = h.events(id).find((e) => e.type === "turn.failed")
      expect(failed?.type === "turn.failed" && failed.error.reason).toEqual({ _tag: "Connect", status: 401 })
    }
    expect(h.state()).toBe("disconnected")
  })

  it("fails every pending turn, without retrying, when the socket actor itself throws", () => {
    let started = 0
    let open = (): void => undefined
    const throwing = fromCallback<ResponsesSocketCommand, ResponsesSocketInput>(({ sendBack, receive }) => {
      started++
      open = () => sendBack({ type: "SOCKET.OPEN" })
      receive(() => {
        throw new Error("encoder bug")
      })
    })
    const actor = createActor(responsesChainMachine.provide({ actors: { socket: throwing } }), {
      input: {},
      clock: new SimulatedClock(),
    })
    const emitted: ResponsesChainEmitted[] = []
    actor.on("*", (event) => {
      emitted.push(event)
    })
    actor.start()
    const a = turn([user("a")])
    const b = turn([user("b")])
    actor.send({ type: "CHAT", request: a })
    actor.send({ type: "CHAT", request: b })
    open()
    const failures = emitted.flatMap((e) => (e.type === "turn.failed" ? [[e.turnId, e.error]] : []))
    expect(failures.map(([id]) => id)).toEqual([a.turnId, b.turnId])
    expect(failures[0]?.[1]).toMatchObject({
      reason: { _tag: "ConnectionLost", afterOutput: false },
      retryable: false,
      message: expect.stringContaining("encoder bug"),
    })
    expect(actor.getSnapshot().value).toBe("disconnected")
    expect(actor.getSnapshot().status).toBe("active")
    expect(started).toBe(1)
    actor.stop()
  })

  it("rotates the socket at an idle moment once it is older than rotateAfterMs", () => {
    // The first-output wait is longer than the silence here, so only the rotation is tested.
    const h = startChain({ rotateAfterMs: 60_000, firstOutputTimeoutMs: 120_000 })
    const first = turn([user("one")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    h.reply(server.created("resp_1"))
    h.clock.increment(61_000)
    // Mid-turn: the socket stays.
    expect(h.sockets).toHaveLength(1)
    h.reply(server.completed("resp_1", [server.messageItem("m1", "ok")]))
    expect(h.sockets).toHaveLength(2)
    expect(h.sockets[0]?.stopped).toBe(true)
    h.open()
    h.clock.increment(30_000)
    expect(h.sockets).toHaveLength(2)
    h.clock.increment(31_000)
    expect(h.sockets).toHaveLength(3)
  })

  it("keeps the chain across a new socket only when responses are stored", () => {
    for (const store of [false, true]) {
      const h = startChain({ store, rotateAfterMs: 1_000 })
      const first = turn([user("one")])
      h.actor.send({ type: "CHAT", request: first })
      h.open()
      answer(h, "resp_1", "ok")
      h.clock.increment(1_001)
      h.open()
      expect(h.sockets).toHaveLength(2)
      h.actor.send({
        type: "CHAT",
        request: turn([...first.items, ...endOf(h.chunks(first.turnId)).output, user("two")]),
      })
      const second = h.creates()[1]
      expect(second?.previous_response_id).toBe(store ? "resp_1" : undefined)
    }
  })
})

describe("responsesChainMachine: chaining", () => {
  it("sends only the new items with previous_response_id when the history is what the server holds", () => {
    const h = startChain()
    const first = turn([SYSTEM, user("What is 2+2?")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    answer(h, "resp_1", "4")
    const end = endOf(h.chunks(first.turnId))
    expect(end).toMatchObject({ responseId: "resp_1", status: "completed" })
    const second = turn([...first.items, ...end.output, user("And 3+3?")])
    h.actor.send({ type: "CHAT", request: second })
    const create = h.creates()[1]
    expect(create?.previous_response_id).toBe("resp_1")
    expect(create?.input).toEqual([{ type: "message", role: "user", content: "And 3+3?" }])
    expect(h.events(second.turnId).find((e) => e.type === "turn.sent")).toMatchObject({ mode: "chained" })
  })

  it("sends the full context without previous_response_id when a message in the middle was edited", () => {
    const h = startChain()
    const first = turn([SYSTEM, user("What is 2+2?")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    answer(h, "resp_1", "4")
    const output = endOf(h.chunks(first.turnId)).output
    // Same length, same roles: only the text of the first user message changed.
    const edited = turn([SYSTEM, user("What is 2+3?"), ...output, user("Sure?")])
    h.actor.send({ type: "CHAT", request: edited })
    const create = h.creates()[1]
    expect(create?.previous_response_id).toBeUndefined()
    expect(create?.input).toHaveLength(4)
    expect(h.events(edited.turnId).find((e) => e.type === "turn.sent")).toMatchObject({
      mode: "full",
      fullReason: "prefixMismatch",
    })
  })

  it("does not send the model's own function call back, only its output", () => {
    const h = startChain()
    const first = turn([user("Weather in Paris?")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    h.reply(
      server.created("resp_1"),
      server.callAdded("fc_1", "call_1", "weather"),
      server.argsDelta("fc_1", '{"city":'),
      server.argsDelta("fc_1", '"Paris"}'),
      server.callDone("fc_1", "call_1", "weather", '{"city":"Paris"}'),
      server.completed("resp_1", [server.callItem("fc_1", "call_1", "weather", '{"city":"Paris"}')]),
    )
    const chunks = h.chunks(first.turnId)
    expect(chunks.filter((c) => c.type === "tool_call")).toEqual([
      {
        type: "tool_call",
        call: {
          callId: "call_1",
          name: "weather",
          arguments: { city: "Paris" },
          rawArguments: '{"city":"Paris"}',
        },
      },
    ])
    const output = endOf(chunks).output
    const result: ChatItem[] = [...first.items, ...output]
    h.actor.send({
      type: "CHAT",
      request: turn([...result, { type: "function_call_output", callId: "call_1", output: "18°C" }]),
    })
    expect(h.creates()[1]).toMatchObject({
      previous_response_id: "resp_1",
      input: [{ type: "function_call_output", call_id: "call_1", output: "18°C" }],
    })
  })

  it("sends the full context when the caller dropped the model's reply from the history", () => {
    const h = startChain()
    const first = turn([user("one")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    answer(h, "resp_1", "reply")
    h.actor.send({ type: "CHAT", request: turn([...first.items, user("two")]) })
    expect(h.creates()[1]?.previous_response_id).toBeUndefined()
  })

  it("queues a second turn until the first ends: one response in flight per socket", () => {
    const h = startChain()
    const a = turn([user("a")])
    const b = turn([user("b")])
    h.actor.send({ type: "CHAT", request: a })
    h.open()
    h.actor.send({ type: "CHAT", request: b })
    expect(h.creates()).toHaveLength(1)
    answer(h, "resp_a", "A")
    expect(h.creates()).toHaveLength(2)
  })

  it("rejects a second turn with Busy when whenBusy is reject", () => {
    const h = startChain({ whenBusy: "reject" })
    const a = turn([user("a")])
    const b = turn([user("b")])
    h.actor.send({ type: "CHAT", request: a })
    h.actor.send({ type: "CHAT", request: b })
    const failed = h.events(b.turnId).find((e) => e.type === "turn.failed")
    expect(failed?.type === "turn.failed" && failed.error.reason._tag).toBe("Busy")
    h.open()
    expect(h.creates()).toHaveLength(1)
  })
})

describe("responsesChainMachine: recoverable errors", () => {
  const chainedSecondTurn = () => {
    const h = startChain()
    const first = turn([user("one")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    answer(h, "resp_1", "ok")
    const second = turn([...first.items, ...endOf(h.chunks(first.turnId)).output, user("two")])
    h.actor.send({ type: "CHAT", request: second })
    return { h, second }
  }

  it("resends the full context once on the same socket after previous_response_not_found", () => {
    const { h, second } = chainedSecondTurn()
    expect(h.creates()[1]?.previous_response_id).toBe("resp_1")
    h.reply(server.nestedError("previous_response_not_found"))
    expect(h.sockets).toHaveLength(1)
    const resend = h.creates()[2]
    expect(resend?.previous_response_id).toBeUndefined()
    expect(resend?.input).toHaveLength(3)
    answer(h, "resp_2", "done")
    expect(endOf(h.chunks(second.turnId))).toMatchObject({ status: "completed", responseId: "resp_2" })
    expect(h.events(second.turnId).filter((e) => e.type === "turn.retrying")).toHaveLength(1)
  })

  it("handles the flat error shape like the nested one", () => {
    const { h } = chainedSecondTurn()
    h.reply(server.flatError("previous_response_not_found"))
    expect(h.creates()).toHaveLength(3)
    expect(h.creates()[2]?.previous_response_id).toBeUndefined()
  })

  it("fails the turn on a second recoverable error and drops the socket", () => {
    const { h, second } = chainedSecondTurn()
    h.reply(server.nestedError("previous_response_not_found"))
    h.reply(server.nestedError("previous_response_not_found"))
    expect(h.creates()).toHaveLength(3)
    const failed = h.events(second.turnId).find((e) => e.type === "turn.failed")
    expect(failed?.type === "turn.failed" && failed.error).toMatchObject({
      reason: { _tag: "Server", code: "previous_response_not_found" },
      attempts: 2,
    })
    expect(h.socket().stopped).toBe(true)
    expect(h.state()).toBe("disconnected")
  })

  it("opens a new socket and resends the full context after websocket_connection_limit_reached", () => {
    const { h, second } = chainedSecondTurn()
    h.reply(server.nestedError("websocket_connection_limit_reached", 429))
    expect(h.sockets).toHaveLength(2)
    expect(h.sockets[0]?.stopped).toBe(true)
    h.open()
    const resend = h.creates()[2]
    expect(resend?.previous_response_id).toBeUndefined()
    expect(resend?.input).toHaveLength(3)
    answer(h, "resp_2", "done")
    expect(endOf(h.chunks(second.turnId)).status).toBe("completed")
  })

  it("replays a turn whose socket closed before response.created", () => {
    const { h, second } = chainedSecondTurn()
    h.reply({
      type: "SOCKET.FAILED",
      failure: { code: "close_1006", message: "1006", retryable: true, opened: true, closeCode: 1006 },
    })
    expect(h.sockets).toHaveLength(2)
    h.open()
    expect(h.creates()[2]?.previous_response_id).toBeUndefined()
    answer(h, "resp_2", "done")
    expect(endOf(h.chunks(second.turnId)).status).toBe("completed")
  })

  it("replays a turn whose socket closed after response.created but before any output", () => {
    const { h, second } = chainedSecondTurn()
    h.reply(server.created("resp_2"), server.messageAdded("m2"))
    h.reply({
      type: "SOCKET.FAILED",
      failure: { code: "close_1006", message: "1006", retryable: true, opened: true, closeCode: 1006 },
    })
    h.open()
    expect(h.creates()).toHaveLength(3)
    answer(h, "resp_3", "done")
    expect(endOf(h.chunks(second.turnId))).toMatchObject({ status: "completed", responseId: "resp_3" })
  })

  it("never replays a turn after output reached the caller: it fails with ConnectionLost", () => {
    const { h, second } = chainedSecondTurn()
    h.reply(server.created("resp_2"), server.messageAdded("m2"), server.delta("m2", "Hel"))
    h.reply({
      type: "SOCKET.FAILED",
      failure: { code: "close_1006", message: "1006", retryable: true, opened: true, closeCode: 1006 },
    })
    expect(h.creates()).toHaveLength(2)
    const failed = h.events(second.turnId).find((e) => e.type === "turn.failed")
    expect(failed?.type === "turn.failed" && failed.error.reason).toEqual({
      _tag: "ConnectionLost",
      afterOutput: true,
    })
    expect(h.chunks(second.turnId)).toEqual([{ type: "text", delta: "Hel" }])
  })

  it("fails a turn whose socket closes a second time before output", () => {
    const { h, second } = chainedSecondTurn()
    h.reply({
      type: "SOCKET.FAILED",
      failure: { code: "close_1006", message: "1006", retryable: true, opened: true, closeCode: 1006 },
    })
    h.open()
    h.reply({
      type: "SOCKET.FAILED",
      failure: { code: "close_1006", message: "1006", retryable: true, opened: true, closeCode: 1006 },
    })
    const failed = h.events(second.turnId).find((e) => e.type === "turn.failed")
    expect(failed?.type === "turn.failed" && failed.error.reason).toEqual({
      _tag: "ConnectionLost",
      afterOutput: false,
    })
    expect(h.creates()).toHaveLength(3)
  })

  it("does not retry other errors", () => {
    const { h, second } = chainedSecondTurn()
    h.reply(server.nestedError("invalid_value"))
    expect(h.creates()).toHaveLength(2)
    const failed = h.events(second.turnId).find((e) => e.type === "turn.failed")
    expect(failed?.type === "turn.failed" && !failed.error.retryable && failed.error.reason).toMatchObject({
      _tag: "Server",
      code: "invalid_value",
    })
    // The socket stays: the request was refused, nothing is in flight.
    expect(h.socket().stopped).toBe(false)
  })

  it("fails a turn on response.failed and resets the chain", () => {
    const { h, second } = chainedSecondTurn()
    h.reply(server.created("resp_2"), server.failed("resp_2", "server_error"))
    const failed = h.events(second.turnId).find((e) => e.type === "turn.failed")
    expect(failed?.type === "turn.failed" && failed.error).toMatchObject({
      reason: { _tag: "Server", code: "server_error" },
      retryable: true,
      responseId: "resp_2",
    })
    h.actor.send({ type: "CHAT", request: turn([...second.items, user("three")]) })
    expect(h.creates()[2]?.previous_response_id).toBeUndefined()
  })
})

describe("responsesChainMachine: rate limits", () => {
  const secondTurn = (input: Parameters<typeof startChain>[0] = {}) => {
    const h = startChain(input)
    const first = turn([user("one")])
    h.actor.send({ type: "CHAT", request: first })
    h.open()
    answer(h, "resp_1", "ok")
    const second = turn([...first.items, ...endOf(h.chunks(first.turnId)).output, user("two")])
    h.actor.send({ type: "CHAT", request: second })
    return { h, second }
  }
  const failureOf = (h: ReturnType<typeof startChain>, turnId: string) => {
    const failed = h.events(turnId).find((e) => e.type === "turn.failed")
    return failed?.type === "turn.failed" ? failed.error : undefined
  }

  it("waits the retry-after the refusal names, then sends the same chained request once more", () => {
    const { h, second } = secondTurn()
    h.reply(server.rateLimited({ "Retry-After-Ms": "1500" }))
    expect(h.state()).toContain("backingOff")
    expect(h.events(second.turnId)).toContainEqual({
      type: "turn.retrying",
      turnId: second.turnId,
      cause: "rate_limit_exceeded",
      afterMs: 1_500,
    })
    h.clock.increment(1_499)
    expect(h.creates()).toHaveLength(2)
    h.clock.increment(1)
    expect(h.creates()).toHaveLength(3)
    // Nothing was lost: the chain still holds, so the retry carries only the new item.
    expect(h.creates()[2]).toEqual(h.creates()[1])
    expect(h.creates()[2]?.previous_response_id).toBe("resp_1")
    answer(h, "resp_2", "done")
    expect(endOf(h.chunks(second.turnId))).toMatchObject({ status: "completed", responseId: "resp_2" })
    expect(h.sockets).toHaveLength(1)
  })

  it("waits rateLimitWaitMs when the refusal names no delay (retry-after in seconds is read too)", () => {
    const { h } = secondTurn({ rateLimitWaitMs: 250 })
    h.reply(server.rateLimited())
    h.clock.increment(249)
    expect(h.creates()).toHaveLength(2)
    h.clock.increment(1)
    expect(h.creates()).toHaveLength(3)

    const seconds = secondTurn()
    seconds.h.reply(server.rateLimited({ "retry-after": "2" }))
    seconds.h.clock.increment(1_999)
    expect(seconds.h.creates()).toHaveLength(2)
    seconds.h.clock.increment(1)
    expect(seconds.h.creates()).toHaveLength(3)
  })

  it("reads a retry-after-ms sent as a number, as the protocol layer decodes it", () => {
    const { h } = secondTurn()
    h.reply(server.rateLimited({ "retry-after-ms": 700 }))
    h.clock.increment(699)
    expect(h.creates()).toHaveLength(2)
    h.clock.increment(1)
    expect(h.creates()).toHaveLength(3)
  })

  it("fails the turn when the retry is rate limited as well", () => {
    const { h, second } = secondTurn()
    h.reply(server.rateLimited({ "retry-after-ms": "10" }))
    h.clock.increment(10)
    h.reply(server.rateLimited({ "retry-after-ms": "3000" }))
    expect(h.creates()).toHaveLength(3)
    expect(failureOf(h, second.turnId)).toMatchObject({
      reason: { _tag: "Server", code: "rate_limit_exceeded", status: 429, retryAfterMs: 3_000 },
      retryable: true,
      attempts: 2,
    })
    // The refusal left nothing in flight: the socket stays for the next turn.
    expect(h.socket().stopped).toBe(false)
    expect(h.state()).toContain("idle")
  })

  it("fails at once, with retryAfterMs, when the service asks for more than rateLimitMaxWaitMs", () => {
    const { h, second } = secondTurn({ rateLimitMaxWaitMs: 2_000 })
    h.reply(server.rateLimited({ "retry-after-ms": "20000" }))
    expect(failureOf(h, second.turnId)).toMatchObject({
      reason: { _tag: "Server", code: "rate_limit_exceeded", retryAfterMs: 20_000 },
      retryable: true,
      attempts: 1,
    })
    h.clock.increment(60_000)
    expect(h.creates()).toHaveLength(2)
  })

  it("never retries with rateLimitMaxWaitMs 0, nor an exhausted quota", () => {
    const off = secondTurn({ rateLimitMaxWaitMs: 0 })
    off.h.reply(server.rateLimited({ "retry-after-ms": "1" }))
    expect(failureOf(off.h, off.second.turnId)?.reason).toMatchObject({ code: "rate_limit_exceeded" })

    const quota = secondTurn()
    quota.h.reply(server.rateLimited(undefined, "insufficient_quota"))
    quota.h.clock.increment(10_000)
    expect(quota.h.creates()).toHaveLength(2)
    expect(failureOf(quota.h, quota.second.turnId)).toMatchObject({
      reason: { _tag: "Server", code: "insufficient_quota", status: 429 },
      retryable: false,
    })
  })

  it("counts the rate-limit retry as the turn's one recovery", () => {
    const { h, second } = secondTurn()
    h.reply(server.rateLimited({ "retry-after-ms": "5" }))
    h.clock.increment(5)
    h.reply(server.nestedError("previous_response_not_found"))
    expect(h.creates()).toHaveLength(3)
    expect(failureOf(h, second.turnId)?.reason).toMatchObject({ code: "previous_response_not_found" })
  })

  it("ends a turn cancelled while backing off without sending anything", () => {
    const { h, second } = secondTurn()
    h.reply(server.rateLimited({ "retry-after-ms": "1000" }))
    h.actor.send({ type: "CANCEL", turnId: second.turnId })
    expect(endOf(h.chunks(second.turnId))).toMatchObject({ status: "cancelled", responseId: undefined })
    h.clock.increment(5_000)
    expect(h.socket().sent.map((e) => e.type)).toEqual(["response.create", "response.create"])
    expect(h.state()).toContain("idle")
  })

  it("holds the next turn until the backed-off turn ends", () => {
    const { h, second } = secondTurn()
    h.reply(server.rateLimited({ "retry-after-ms": "100" }))
    const third = turn([...second.items, user("three")])
    h.actor.send({ type: "CHAT", request: third })
    expect(h.creates()).toHaveLength(2)
    h.clock.increment(100)
    expect(h.creates()).toHaveLength(3)
    answer(h, "resp_2", "two")
    expect(h.creates()).toHaveLength(4)
  })
})

describe("responsesChainMachine: cancel and drain", () => {
  it("sends nothing for a turn cancelled before it was sent", () => {
    const h = startChain()
    const a = turn([user("a")])
    h.actor.send({ type: "CHAT", request: a })
    h.actor.send({ type: "CANCEL", turnId: a.turnId })
    h.open()
    expect(h.socket().sent).toEqual([])
    expect(h.chunks(a.turnId)).toEqual([
      { type: "end", responseId: undefined, status: "cancelled", output: [] },
    ])
    expect(h.state()).toContain("idle")
  })

  it("waits for response.created before sending response.cancel for that id", () => {
    const h = startChain()
    const a = turn([user("a")])
    h.actor.send({ type: "CHAT", request: a })
    h.open()
    h.actor.send({ type: "CANCEL", turnId: a.turnId })
    expect(endOf(h.chunks(a.turnId)).status).toBe("cancelled")
    expect(h.socket().sent.filter((e) => e.type === "response.cancel")).toHaveLength(0)
    h.reply(server.created("resp_a"))
    expect(h.socket().sent.at(-1)).toEqual({ type: "response.cancel", response_id: "resp_a" })
    expect(h.state()).toContain("draining")
  })

  it("drops the cancelled response's events so the next turn's stream is clean", () => {
    const h = startChain()
    const a = turn([user("a")])
    h.actor.send({ type: "CHAT", request: a })
    h.open()
    h.reply(server.created("resp_a"), server.messageAdded("ma"), server.delta("ma", "stale "))
    h.actor.send({ type: "CANCEL", turnId: a.turnId })
    const b = turn([user("b")])
    h.actor.send({ type: "CHAT", request: b })
    // While draining, the next turn waits: still one create on the wire.
    expect(h.creates()).toHaveLength(1)
    h.reply(
      server.delta("ma", "more stale"),
      server.cancelledEnd("resp_a", [server.messageItem("ma", "stale more stale")]),
    )
    expect(h.creates()).toHaveLength(2)
    answer(h, "resp_b", "fresh")
    expect(h.chunks(b.turnId).filter((c) => c.type === "text")).toEqual([{ type: "text", delta: "fresh" }])
    expect(h.chunks(a.turnId).filter((c) => c.type === "text")).toEqual([{ type: "text", delta: "stale " }])
    expect(endOf(h.chunks(a.turnId)).output).toMatchObject([{ role: "assistant", content: "stale " }])
  })

  it("keeps the chain valid after the server confirms the cancelled response", () => {
    const h = startChain()
    const a = turn([user("a")])
    h.actor.send({ type: "CHAT", request: a })
    h.open()
    h.actor.send({ type: "CANCEL", turnId: a.turnId })
    h.reply(server.created("resp_a"), server.cancelledEnd("resp_a"))
    h.actor.send({ type: "CHAT", request: turn([...a.items, user("b")]) })
    expect(h.creates()[1]).toMatchObject({
      previous_response_id: "resp_a",
      input: [{ type: "message", role: "user", content: "b" }],
    })
  })

  it("drops the socket and the chain when the cancelled response does not end within drainTimeoutMs", () => {
    const h = startChain({ drainTimeoutMs: 2_000 })
    const a = turn([user("a")])
    h.actor.send({ type: "CHAT", request: a })
    h.open()
    h.reply(server.created("resp_a"), server.messageAdded("ma"), server.delta("ma", "x"))
    h.actor.send({ type: "CANCEL", turnId: a.turnId })
    const b = turn([...a.items, user("b")])
    h.actor.send({ type: "CHAT", request: b })
    h.clock.increment(1_999)
    expect(h.sockets).toHaveLength(1)
    h.clock.increment(1)
    expect(h.sockets[0]?.stopped).toBe(true)
    expect(h.sockets).toHaveLength(2)
    h.open()
    expect(h.creates()[1]?.previous_response_id).toBeUndefined()
    expect(h.emitted.some((e) => e.type === "notice")).toBe(true)
  })

  it("cancels a queued turn without sending it", () => {
    const h = startChain()
    const a = turn([user("a")])
    const b = turn([user("b")])
    h.actor.send({ type: "CHAT", request: a })
    h.open()
    h.actor.send({ type: "CHAT", request: b })
    h.actor.send({ type: "CANCEL", turnId: b.turnId })
    answer(h, "resp_a", "A")
    expect(h.creates()).toHaveLength(1)
    expect(endOf(h.chunks(b.turnId)).status).toBe("cancelled")
  })

  it("ends a cancelled turn whose request the server refused without waiting", () => {
    const h = startChain()
    const a = turn([user("a")])
    h.actor.send({ type: "CHAT", request: a })
    h.open()
    h.actor.send({ type: "CANCEL", turnId: a.turnId })
    h.reply(server.nestedError("previous_response_not_found"))
    expect(h.creates()).toHaveLength(1)
    expect(h.state()).toContain("idle")
  })
})

describe("responsesChainMachine: prewarm", () => {
  it("sends a generate:false request whose id seeds the first turn's chain", () => {
    const h = startChain()
    const tools = [{ type: "function" as const, name: "weather", parameters: {}, strict: false }]
    h.actor.send({
      type: "PREWARM",
      request: { params: { ...PARAMS, tools }, instructions: SYSTEM.content, developerRole: false },
    })
    h.open()
    const warmup = h.creates()[0]
    expect(warmup).toMatchObject({
      generate: false,
      tools,
      input: [{ type: "message", role: "system", content: SYSTEM.content }],
    })
    h.reply(server.created("resp_warm"), server.completed("resp_warm"))
    expect(h.emitted).toContainEqual({ type: "prewarm.done", responseId: "resp_warm" })
    h.actor.send({ type: "CHAT", request: turn([SYSTEM, user("hi")]) })
    expect(h.creates()[1]).toMatchObject({
      previous_response_id: "resp_warm",
      input: [{ type: "message", role: "user", content: "hi" }],
    })
  })

  it("only connects when given neither instructions nor tools", () => {
    const h = startChain()
    h.actor.send({ type: "PREWARM", request: { params: PARAMS, developerRole: false } })
    expect(h.sockets).toHaveLength(1)
    h.open()
    expect(h.socket().sent).toEqual([])
    expect(h.emitted).toContainEqual({ type: "prewarm.done", responseId: undefined })
  })

  it("holds a turn sent during the warmup until the warmup ends", () => {
    const h = startChain()
    h.actor.send({ type: "PREWARM", request: { params: PARAMS, instructions: "sys", developerRole: false } })
    h.open()
    h.actor.send({ type: "CHAT", request: turn([{ role: "system", content: "sys" }, user("hi")]) })
    expect(h.creates()).toHaveLength(1)
    h.reply(server.created("resp_w"), server.completed("resp_w"))
    expect(h.creates()[1]?.previous_response_id).toBe("resp_w")
  })
})

describe("responsesChainMachine: output", () => {
  it("dispatches each tool call once, reports invalid JSON as an error chunk, and reports usage", () => {
    const h = startChain()
    const a = turn([user("go")])
    h.actor.send({ type: "CHAT", request: a })
    h.open()
    h.reply(
      server.created("resp_a"),
      server.callAdded("fc_1", "call_1", "good", 0),
      server.argsDelta("fc_1", '{"n":1}', 0),
      server.callDone("fc_1", "call_1", "good", '{"n":1}', 0),
      server.callAdded("fc_2", "call_2", "bad", 1),
      server.argsDelta("fc_2", "{oops", 1),
      server.completed(
        "resp_a",
        [
          server.callItem("fc_1", "call_1", "good", '{"n":1}'),
          server.callItem("fc_2", "call_2", "bad", "{oops"),
        ],
        {
          input_tokens: 100,
          output_tokens: 20,
          total_tokens: 120,
          input_tokens_details: { cached_tokens: 64 },
          output_tokens_details: { reasoning_tokens: 8 },
        },
      ),
    )
    const chunks = h.chunks(a.turnId)
    expect(chunks.map((c) => c.type)).toEqual(["tool_call", "error", "usage", "end"])
    expect(chunks[1]).toMatchObject({
      reason: "InvalidToolArguments",
      callId: "call_2",
      rawArguments: "{oops",
    })
    expect(chunks[2]).toEqual({
      type: "usage",
      usage: {
        promptTokens: 100,
        completionTokens: 20,
        totalTokens: 120,
        cachedTokens: 64,
        reasoningTokens: 8,
      },
    })
    expect(endOf(chunks).output.map((i) => i.type)).toEqual(["function_call", "function_call"])
  })

  it("reports an incomplete response with its reason", () => {
    const h = startChain()
    const a = turn([user("go")])
    h.actor.send({ type: "CHAT", request: a })
    h.open()
    h.reply(server.created("resp_a"), server.incomplete("resp_a", "max_output_tokens"))
    expect(endOf(h.chunks(a.turnId))).toMatchObject({ status: "incomplete", reason: "max_output_tokens" })
  })

  it("fails a streaming turn on a mid-stream error without retrying it", () => {
    const h = startChain()
    const a = turn([user("go")])
    h.actor.send({ type: "CHAT", request: a })
    h.open()
    h.reply(server.created("resp_a"), server.flatError("server_error"))
    expect(h.creates()).toHaveLength(1)
    const failed = h.events(a.turnId).find((e) => e.type === "turn.failed")
    expect(failed?.type === "turn.failed" && failed.error.reason).toMatchObject({
      _tag: "Server",
      code: "server_error",
    })
  })

  it("fails pending turns with Closed on CLOSE", () => {
    const h = startChain()
    const a = turn([user("a")])
    const b = turn([user("b")])
    h.actor.send({ type: "CHAT", request: a })
    h.open()
    h.actor.send({ type: "CHAT", request: b })
    h.actor.send({ type: "CLOSE" })
    for (const id of [a.turnId, b.turnId]) {
      const failed = h.events(id).find((e) => e.type === "turn.failed")
      expect(failed?.type === "turn.failed" && failed.error.reason._tag).toBe("Closed")
    }
    expect(h.actor.getSnapshot().status).toBe("done")
    expect(h.socket().stopped).toBe(true)
  })
})
