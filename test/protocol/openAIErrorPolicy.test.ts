import { describe, expect, it } from "vitest"
import { classifyOpenAIError, type OpenAIErrorSignal } from "../../src/protocol/index.ts"

const headers =
  (record: Readonly<Record<string, string>>) =>
  (name: string): string | undefined =>
    record[name.toLowerCase()]

describe("classifyOpenAIError", () => {
  const table: ReadonlyArray<readonly [string, OpenAIErrorSignal, string]> = [
    // close codes
    ["close 1000", { source: "close", code: 1000 }, "fatal"],
    ["close 1001", { source: "close", code: 1001 }, "retryable"],
    ["close 1002", { source: "close", code: 1002 }, "fatal"],
    ["close 1005", { source: "close", code: 1005 }, "retryable"],
    ["close 1006", { source: "close", code: 1006 }, "retryable"],
    ["close 1008", { source: "close", code: 1008 }, "fatal"],
    ["close 1011", { source: "close", code: 1011 }, "retryable"],
    ["close 1012", { source: "close", code: 1012 }, "retryable"],
    ["close 1013", { source: "close", code: 1013 }, "retryable"],
    ["close 1015", { source: "close", code: 1015 }, "retryable"],
    ["close 4000", { source: "close", code: 4000 }, "fatal"],
    // HTTP statuses (REST answers and rejected upgrades alike)
    ["HTTP 400", { source: "http", status: 400 }, "rejected"],
    ["HTTP 401", { source: "http", status: 401 }, "fatal"],
    ["HTTP 403", { source: "http", status: 403 }, "fatal"],
    ["HTTP 404", { source: "http", status: 404 }, "rejected"],
    ["HTTP 408", { source: "http", status: 408 }, "retryable"],
    ["HTTP 409", { source: "http", status: 409 }, "retryable"],
    ["HTTP 422", { source: "http", status: 422 }, "rejected"],
    ["HTTP 429", { source: "http", status: 429 }, "rateLimited"],
    ["HTTP 429 insufficient_quota", { source: "http", status: 429, code: "insufficient_quota" }, "fatal"],
    ["HTTP 500", { source: "http", status: 500 }, "retryable"],
    ["HTTP 503", { source: "http", status: 503 }, "retryable"],
    [
      "HTTP 503 with x-should-retry: false",
      { source: "http", status: 503, headers: headers({ "x-should-retry": "false" }) },
      "rejected",
    ],
    [
      "HTTP 400 with x-should-retry: true",
      { source: "http", status: 400, headers: headers({ "x-should-retry": "true" }) },
      "retryable",
    ],
    [
      "HTTP 401 with x-should-retry: true",
      { source: "http", status: 401, headers: headers({ "x-should-retry": "true" }) },
      "fatal",
    ],
    // error events (Realtime: code and type; Responses: also a status)
    ["event invalid_api_key", { source: "event", code: "invalid_api_key" }, "fatal"],
    ["event insufficient_quota", { source: "event", code: "insufficient_quota", status: 429 }, "fatal"],
    ["event model_not_found", { source: "event", code: "model_not_found" }, "fatal"],
    ["event beta_api_shape_disabled", { source: "event", code: "beta_api_shape_disabled" }, "fatal"],
    ["event authentication_error", { source: "event", errorType: "authentication_error" }, "fatal"],
    ["event permission_error", { source: "event", errorType: "permission_error" }, "fatal"],
    ["event rate_limit_exceeded", { source: "event", code: "rate_limit_exceeded" }, "rateLimited"],
    ["event 429 tokens", { source: "event", code: "tokens", status: 429 }, "rateLimited"],
    [
      "event 429 websocket_connection_limit_reached",
      { source: "event", code: "websocket_connection_limit_reached", status: 429 },
      "retryable",
    ],
    ["event server_error", { source: "event", code: "server_error" }, "retryable"],
    ["event server_is_overloaded", { source: "event", code: "server_is_overloaded" }, "retryable"],
    ["event slow_down", { source: "event", code: "slow_down" }, "retryable"],
    ["event session_expired", { source: "event", code: "session_expired" }, "retryable"],
    [
      "event previous_response_not_found",
      { source: "event", code: "previous_response_not_found" },
      "retryable",
    ],
    ["event type server_error", { source: "event", errorType: "server_error" }, "retryable"],
    ["event status 409", { source: "event", status: 409 }, "retryable"],
    ["event status 502", { source: "event", status: 502 }, "retryable"],
    [
      "event input_audio_buffer_commit_empty",
      { source: "event", code: "input_audio_buffer_commit_empty", errorType: "invalid_request_error" },
      "rejected",
    ],
    ["event unknown_parameter 400", { source: "event", code: "unknown_parameter", status: 400 }, "rejected"],
    ["event with nothing known", { source: "event" }, "rejected"],
  ]
  for (const [name, signal, kind] of table) {
    it(`classifies ${name} as ${kind}`, () => {
      const verdict = classifyOpenAIError(signal)
      expect(verdict.kind).toBe(kind)
      expect(verdict.retryable).toBe(kind === "retryable" || kind === "rateLimited")
    })
  }

  it("reads the delay a rate limit asks for from retry-after-ms or retry-after", () => {
    expect(
      classifyOpenAIError({ source: "http", status: 429, headers: headers({ "retry-after-ms": "250" }) })
        .retryAfterMs,
    ).toBe(250)
    expect(
      classifyOpenAIError({
        source: "event",
        code: "rate_limit_exceeded",
        headers: headers({ "retry-after": "2" }),
      }).retryAfterMs,
    ).toBe(2000)
    expect(
      classifyOpenAIError(
        { source: "http", status: 503, headers: headers({ "retry-after": "Thu, 01 Jan 1970 00:00:03 GMT" }) },
        1000,
      ).retryAfterMs,
    ).toBe(2000)
    expect(classifyOpenAIError({ source: "http", status: 429 }).retryAfterMs).toBeUndefined()
  })
})
