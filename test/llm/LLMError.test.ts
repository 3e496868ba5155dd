import { describe, expect, it } from "vitest"
import { headerReader, isRateLimit, rateLimitWaitMs, serverError } from "../../src/llm/LLMError.ts"

const limits = { maxWaitMs: 5_000, defaultWaitMs: 1_000 }

describe("LLMError rate limits", () => {
  it("tells a rate limit from an exhausted quota and from the socket cap", () => {
    expect(isRateLimit("rate_limit_exceeded", undefined)).toBe(true)
    expect(isRateLimit("rate_limit_exceeded", 429)).toBe(true)
    expect(isRateLimit(undefined, 429)).toBe(true)
    expect(isRateLimit("tokens", 429)).toBe(true)
    expect(isRateLimit("insufficient_quota", 429)).toBe(false)
    expect(isRateLimit("websocket_connection_limit_reached", 429)).toBe(false)
    expect(isRateLimit("server_error", 500)).toBe(false)
    expect(isRateLimit(undefined, undefined)).toBe(false)
  })

  it("waits what the service names, the default when it names nothing, and never beyond the cap", () => {
    expect(rateLimitWaitMs(headerReader({ "retry-after-ms": "250" }), limits)).toBe(250)
    expect(rateLimitWaitMs(headerReader({ "Retry-After": "3" }), limits)).toBe(3_000)
    expect(rateLimitWaitMs(headerReader({}), limits)).toBe(1_000)
    expect(rateLimitWaitMs(undefined, limits)).toBe(1_000)
    expect(rateLimitWaitMs(undefined, { maxWaitMs: 400, defaultWaitMs: 1_000 })).toBe(400)
    expect(rateLimitWaitMs(headerReader({ "retry-after-ms": "5001" }), limits)).toBeUndefined()
    expect(
      rateLimitWaitMs(headerReader({ "retry-after-ms": "1" }), { ...limits, maxWaitMs: 0 }),
    ).toBeUndefined()
    expect(rateLimitWaitMs(headerReader({ "x-should-retry": "false" }), limits)).toBeUndefined()
  })

  it("marks an exhausted quota as final even with status 429, and carries retryAfterMs", () => {
    const quota = serverError({ code: "insufficient_quota", message: "No quota", status: 429 })
    expect(quota.retryable).toBe(false)
    const limited = serverError({
      code: "rate_limit_exceeded",
      message: "Slow down",
      status: 429,
      retryAfterMs: 1_200,
    })
    expect(limited).toMatchObject({
      retryable: true,
      reason: { _tag: "Server", code: "rate_limit_exceeded", status: 429, retryAfterMs: 1_200 },
      message: "Slow down (rate_limit_exceeded)",
    })
  })
})
