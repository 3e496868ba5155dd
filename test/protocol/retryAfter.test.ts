/**
 * The server's retry-after, read from headers (shared by the STT and LLM layers).
 */
import { assert, describe, it } from "@effect/vitest"
import { retryAfterMsFromHeaders } from "../../src/transport/index.ts"

const headers = (h: Record<string, string>) => (name: string) => h[name]

describe("retryAfterMsFromHeaders", () => {
  it("reads retry-after-ms, retry-after seconds and retry-after dates", () => {
    assert.strictEqual(retryAfterMsFromHeaders(headers({ "retry-after-ms": "250" })), 250)
    assert.strictEqual(retryAfterMsFromHeaders(headers({ "retry-after": "2" })), 2000)
    assert.strictEqual(retryAfterMsFromHeaders(headers({ "retry-after": "0.5" })), 500)
    assert.strictEqual(
      retryAfterMsFromHeaders(headers({ "retry-after": new Date(61_000).toUTCString() }), 1_000),
      60_000,
    )
  })

  it("prefers retry-after-ms and falls back to retry-after when it is unreadable", () => {
    assert.strictEqual(retryAfterMsFromHeaders(headers({ "retry-after-ms": "40", "retry-after": "9" })), 40)
    assert.strictEqual(
      retryAfterMsFromHeaders(headers({ "retry-after-ms": "soon", "retry-after": "3" })),
      3000,
    )
    assert.strictEqual(retryAfterMsFromHeaders(headers({ "retry-after-ms": "-1", "retry-after": "3" })), 3000)
  })

  it("gives undefined for absent, empty, unreadable or negative values, and 0 for a past date", () => {
    assert.isUndefined(retryAfterMsFromHeaders(headers({})))
    assert.isUndefined(retryAfterMsFromHeaders(headers({ "retry-after": "" })))
    assert.isUndefined(retryAfterMsFromHeaders(headers({ "retry-after": "soon" })))
    assert.isUndefined(retryAfterMsFromHeaders(headers({ "retry-after": "-2" })))
    assert.strictEqual(
      retryAfterMsFromHeaders(headers({ "retry-after": new Date(1_000).toUTCString() }), 61_000),
      0,
    )
  })

  it("takes a Fetch Headers lookup as it is", () => {
    const fetchHeaders = new Headers({ "Retry-After-Ms": "125" })
    assert.strictEqual(
      retryAfterMsFromHeaders((name) => fetchHeaders.get(name)),
      125,
    )
  })
})
