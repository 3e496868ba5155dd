import { describe, expect, it } from "vitest"
import { namedResponsesEvent } from "../../../machines/responses/responsesServerEvents.ts"
import { decodeResponsesServerEventSync } from "../../../src/protocol/index.ts"

const named = (payload: Record<string, unknown>) =>
  namedResponsesEvent(decodeResponsesServerEventSync(JSON.stringify(payload)))

const response = (id: string, status: string) => ({ id, object: "response", status, output: [] })

describe("namedResponsesEvent", () => {
  it("names response.created with the response id", () => {
    expect(named({ type: "response.created", response: response("resp_1", "in_progress") })).toMatchObject({
      type: "SERVER.RESPONSE_CREATED",
      responseId: "resp_1",
    })
  })

  it("names the three endings SERVER.RESPONSE_DONE with their status", () => {
    expect(named({ type: "response.completed", response: response("r", "completed") })).toMatchObject({
      type: "SERVER.RESPONSE_DONE",
      responseId: "r",
      status: "completed",
    })
    expect(named({ type: "response.incomplete", response: response("r", "incomplete") })).toMatchObject({
      status: "incomplete",
    })
    expect(named({ type: "response.failed", response: response("r", "in_progress") })).toMatchObject({
      status: "failed",
    })
    expect(named({ type: "response.completed", response: response("r", "cancelled") })).toMatchObject({
      status: "cancelled",
    })
  })

  it("names error events SERVER.ERROR with code, status, type and the delay asked for", () => {
    const event = named({
      type: "error",
      status: 429,
      error: {
        type: "tokens",
        code: "rate_limit_exceeded",
        message: "slow down",
        headers: { "Retry-After-Ms": "1500" },
      },
    })
    expect(event).toMatchObject({
      type: "SERVER.ERROR",
      code: "rate_limit_exceeded",
      message: "slow down",
      status: 429,
      errorType: "tokens",
      retryAfterMs: 1500,
    })
    expect(event.type === "SERVER.ERROR" && event.headers?.("retry-after-ms")).toBe("1500")
    expect(named({ type: "error", code: "server_error", message: "oops" })).toMatchObject({
      type: "SERVER.ERROR",
      code: "server_error",
      status: undefined,
      retryAfterMs: undefined,
    })
  })

  it("passes everything else on as SERVER.RESPONSE_OUTPUT with the frame", () => {
    const event = named({
      type: "response.output_text.delta",
      item_id: "m",
      output_index: 0,
      content_index: 0,
      delta: "Hi",
    })
    expect(event.type).toBe("SERVER.RESPONSE_OUTPUT")
    expect(event.event.type).toBe("response.output_text.delta")
    expect(named({ type: "response.something_new" }).type).toBe("SERVER.RESPONSE_OUTPUT")
  })
})
