import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  decodeRealtimeServerEventSync,
  decodeResponsesServerEvent,
  decodeResponsesServerEventSync,
  errorCodeOf,
  ProtocolError,
  type ResponsesServerEvent,
  serverErrorOf,
} from "../../src/protocol/index.ts"
import { responses, transcriptionTurn } from "./fixtures.ts"

const decode = decodeResponsesServerEventSync

const expectType = <T extends ResponsesServerEvent["type"]>(
  event: ResponsesServerEvent,
  type: T,
): Extract<ResponsesServerEvent, { type: T }> => {
  assert.strictEqual(event.type, type)
  return event as Extract<ResponsesServerEvent, { type: T }>
}

const protocolErrorOf = (f: () => unknown): ProtocolError => {
  try {
    f()
  } catch (error) {
    assert.instanceOf(error, ProtocolError)
    return error as ProtocolError
  }
  assert.fail("expected a ProtocolError")
}

describe("decodeResponsesServerEventSync", () => {
  it("decodes every event of a text turn in order", () => {
    const sequence = [
      responses.created,
      responses.inProgress,
      responses.messageAdded,
      responses.partAdded,
      responses.textDelta,
      responses.textDone,
      responses.partDone,
      responses.messageDone,
      responses.completed,
    ]
    assert.deepStrictEqual(
      sequence.map((text) => decode(text).type),
      sequence.map((text) => JSON.parse(text).type),
    )
  })

  it("decodes response.created with the id to chain from", () => {
    const ev = expectType(decode(responses.created), "response.created")
    assert.strictEqual(ev.response.id, "resp_68b1")
    assert.strictEqual(ev.response.status, "in_progress")
    assert.strictEqual(ev.sequence_number, 0)
  })

  it("decodes response.completed with usage details and its output items", () => {
    const ev = expectType(decode(responses.completed), "response.completed")
    assert.deepStrictEqual(ev.response.usage, {
      input_tokens: 1_200,
      input_tokens_details: { cached_tokens: 1_024 },
      output_tokens: 12,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 1_212,
    })
    const [reasoning, message] = ev.response.output ?? []
    assert.strictEqual(reasoning?.type, "unknown")
    if (reasoning?.type === "unknown") assert.strictEqual(reasoning.originalType, "reasoning")
    assert.strictEqual(message?.type, "message")
    if (message?.type === "message") assert.strictEqual(message.content[0]?.text, "Hi there.")
  })

  it("decodes the text deltas and the done text", () => {
    const delta = expectType(decode(responses.textDelta), "response.output_text.delta")
    assert.deepStrictEqual(
      [delta.item_id, delta.output_index, delta.content_index, delta.delta],
      ["msg_68b1", 0, 0, "Hi"],
    )
    assert.strictEqual(expectType(decode(responses.textDone), "response.output_text.done").text, "Hi there.")
    const part = expectType(decode(responses.partDone), "response.content_part.done")
    assert.deepStrictEqual(part.part, { type: "output_text", text: "Hi there." })
  })

  it("decodes a function call turn keyed by item_id", () => {
    const added = expectType(decode(responses.toolAdded), "response.output_item.added")
    assert.strictEqual(added.item.type, "function_call")
    if (added.item.type === "function_call") {
      assert.deepStrictEqual(
        [added.item.id, added.item.call_id, added.item.name],
        ["fc_68b2", "call_Qw", "lookup"],
      )
    }
    const delta = expectType(decode(responses.argsDelta), "response.function_call_arguments.delta")
    assert.deepStrictEqual([delta.item_id, delta.delta], ["fc_68b2", '{"q":'])
    const done = expectType(decode(responses.argsDone), "response.function_call_arguments.done")
    assert.strictEqual(done.arguments, '{"q":"x"}')
  })

  it("decodes the terminal failed and incomplete events and queued", () => {
    const failed = expectType(decode(responses.failed), "response.failed")
    assert.deepStrictEqual(failed.response.error, {
      code: "server_error",
      message: "The server had an error.",
    })
    const incomplete = expectType(decode(responses.incomplete), "response.incomplete")
    assert.strictEqual(incomplete.response.incomplete_details?.reason, "max_output_tokens")
    assert.strictEqual(expectType(decode(responses.queued), "response.queued").response.status, "queued")
  })

  it("passes events it does not model through as unknown", () => {
    const ev = decode(responses.reasoningDelta)
    assert.strictEqual(ev.type, "unknown")
    if (ev.type === "unknown") {
      assert.strictEqual(ev.originalType, "response.reasoning_summary_text.delta")
      assert.strictEqual(ev.raw.delta, "Thinking")
    }
  })

  it("fails a known type with a bad field, naming its path", () => {
    const error = protocolErrorOf(() =>
      decode(
        '{"type":"response.output_text.delta","item_id":"m","output_index":0,"content_index":0,"delta":5}',
      ),
    )
    assert.deepStrictEqual(error.path, ["delta"])
    assert.include(error.message, '["delta"]')
    const usage = protocolErrorOf(() =>
      decode(
        JSON.stringify({
          type: "response.completed",
          response: {
            id: "r",
            status: "completed",
            usage: { input_tokens: "many", output_tokens: 1, total_tokens: 1 },
          },
        }),
      ),
    )
    assert.deepStrictEqual(usage.path, ["response", "usage", "input_tokens"])
  })

  it("fails malformed JSON", () => {
    assert.strictEqual(protocolErrorOf(() => decode('{"type":"response.created",')).reason, "MalformedJson")
  })
})

describe("error events in both shapes", () => {
  it("decodes the nested shape with status and headers", () => {
    const ev = expectType(decode(responses.rateLimitError), "error")
    assert.isTrue("error" in ev)
    if ("error" in ev) {
      assert.strictEqual(ev.status, 429)
      assert.strictEqual(ev.error.headers?.["retry-after-ms"], "1200")
    }
  })

  it("decodes the flat shape", () => {
    const ev = expectType(decode(responses.flatError), "error")
    assert.isTrue("code" in ev)
    if ("code" in ev) assert.strictEqual(ev.sequence_number, 1)
  })

  it("gives the same code for the nested and the flat shape", () => {
    const nested = decode(responses.nestedError)
    const flat = decode(responses.flatError)
    assert.strictEqual(errorCodeOf(nested), "previous_response_not_found")
    assert.strictEqual(errorCodeOf(flat), errorCodeOf(nested))
  })

  it("normalizes both shapes and the Realtime shape to one ServerErrorInfo", () => {
    assert.deepStrictEqual(serverErrorOf(decode(responses.nestedError)), {
      code: "previous_response_not_found",
      type: "invalid_request_error",
      message: "Previous response with id 'resp_abc' not found.",
      param: "previous_response_id",
      status: 400,
      clientEventId: undefined,
      headers: undefined,
    })
    assert.deepStrictEqual(serverErrorOf(decode(responses.flatError)), {
      code: "previous_response_not_found",
      type: undefined,
      message: "Previous response with id 'resp_abc' not found.",
      param: "previous_response_id",
      status: undefined,
      clientEventId: undefined,
      headers: undefined,
    })
    assert.deepStrictEqual(serverErrorOf(decodeRealtimeServerEventSync(transcriptionTurn.sessionExpired)), {
      code: "session_expired",
      type: "invalid_request_error",
      message: "Your session hit the maximum duration of 60 minutes.",
      param: undefined,
      status: undefined,
      clientEventId: undefined,
      headers: undefined,
    })
  })

  it("carries the headers of a nested error, as sent", () => {
    const info = serverErrorOf(decode(responses.rateLimitError))
    assert.deepStrictEqual(info, {
      code: "rate_limit_exceeded",
      type: "rate_limit_error",
      message: "Rate limit reached.",
      param: undefined,
      status: 429,
      clientEventId: undefined,
      headers: { "retry-after-ms": "1200", "x-ratelimit-remaining-tokens": "0" },
    })
  })

  it("decodes error headers leniently: numbers and booleans become strings, other values and non-objects are dropped", () => {
    const withHeaders = (headers: unknown) =>
      serverErrorOf(
        decode(
          JSON.stringify({
            type: "error",
            status: 429,
            error: { code: "rate_limit_exceeded", message: "slow down", headers },
          }),
        ),
      )?.headers
    assert.deepStrictEqual(
      withHeaders({ "retry-after-ms": 250, "x-should-retry": true, nested: { a: 1 }, nothing: null }),
      { "retry-after-ms": "250", "x-should-retry": "true" },
    )
    assert.deepStrictEqual(withHeaders(null), {})
    assert.deepStrictEqual(withHeaders(["retry-after", "1"]), {})
    assert.deepStrictEqual(withHeaders("retry-after: 1"), {})
  })

  it("returns no code for events that are not errors and for errors without one", () => {
    assert.strictEqual(errorCodeOf(decode(responses.completed)), undefined)
    assert.strictEqual(
      errorCodeOf(decode('{"type":"error","code":null,"message":"boom","param":null}')),
      undefined,
    )
    assert.strictEqual(errorCodeOf(decode('{"type":"response.unknown_thing"}')), undefined)
  })

  it("fails an error event that matches neither shape", () => {
    const error = protocolErrorOf(() => decode('{"type":"error","status":500}'))
    assert.strictEqual(error.reason, "InvalidEvent")
    assert.strictEqual(error.eventType, "error")
  })
})

describe("decodeResponsesServerEvent (Effect)", () => {
  it.effect("succeeds with the decoded event and fails with ProtocolError", () =>
    Effect.gen(function* () {
      const ev = yield* decodeResponsesServerEvent(responses.flatError)
      assert.strictEqual(errorCodeOf(ev), "previous_response_not_found")
      const error = yield* Effect.flip(
        decodeResponsesServerEvent('{"type":"response.created","response":{}}'),
      )
      assert.deepStrictEqual(error.path, ["response", "id"])
    }),
  )
})
