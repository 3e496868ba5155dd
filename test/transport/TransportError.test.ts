import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  closeCodeName,
  isRetryableCloseCode,
  isRetryableOpenStatus,
  isTransportError,
  TransportError,
} from "../../src/transport/index.ts"

describe("isRetryableCloseCode", () => {
  const table: ReadonlyArray<[number, boolean]> = [
    [1000, false],
    [1001, true],
    [1002, false],
    [1003, false],
    [1005, true],
    [1006, true],
    [1007, false],
    [1008, false],
    [1009, false],
    [1010, false],
    [1011, true],
    [1012, true],
    [1013, true],
    [1014, false],
    [1015, true],
    [3000, false],
    [4000, false],
    [4999, false],
  ]
  for (const [code, retryable] of table) {
    it(`classifies close code ${code} as ${retryable ? "retryable" : "fatal"}`, () => {
      assert.strictEqual(isRetryableCloseCode(code), retryable)
      assert.strictEqual(TransportError.closed(code, "").retryable, retryable)
    })
  }
})

describe("isRetryableOpenStatus", () => {
  const table: ReadonlyArray<[number, boolean]> = [
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [408, true],
    [409, true],
    [422, false],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
  ]
  for (const [status, retryable] of table) {
    it(`classifies a rejected upgrade with HTTP ${status} as ${retryable ? "retryable" : "fatal"}`, () => {
      assert.strictEqual(isRetryableOpenStatus(status), retryable)
      assert.strictEqual(TransportError.rejected(status, "").retryable, retryable)
    })
  }
})

describe("TransportError", () => {
  it("says to check the API key on 401 and 403 only", () => {
    assert.include(TransportError.rejected(401, "").message, "API key")
    assert.include(TransportError.rejected(403, "").message, "API key")
    assert.notInclude(TransportError.rejected(429, "").message, "API key")
  })

  it("names the close code and keeps the peer's reason", () => {
    const error = TransportError.closed(4000, "beta_api_shape_disabled")
    assert.deepStrictEqual(error.reason, {
      _tag: "Close",
      code: 4000,
      closeReason: "beta_api_shape_disabled",
    })
    assert.include(error.message, "4000")
    assert.include(error.message, "beta_api_shape_disabled")
    assert.strictEqual(closeCodeName(1006), "abnormal closure")
    assert.strictEqual(closeCodeName(4321), "application-defined")
    assert.strictEqual(closeCodeName(2999), "unknown code")
  })

  it("marks timeouts retryable and says which phase timed out", () => {
    const connect = TransportError.timeout("connect", 5000)
    const heartbeat = TransportError.timeout("heartbeat", 2000)
    assert.deepStrictEqual(connect.reason, { _tag: "Timeout", phase: "connect" })
    assert.isTrue(connect.retryable && heartbeat.retryable)
    assert.include(connect.message, "5000 ms")
    assert.include(heartbeat.message, "half-open")
  })

  it("is an Error, recognised by isTransportError and caught by its tag", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const error = TransportError.read("reset", true)
        assert.instanceOf(error, Error)
        assert.isTrue(isTransportError(error))
        assert.isFalse(isTransportError(new Error("other")))
        const caught = yield* Effect.fail(error).pipe(
          Effect.catchTag("TransportError", (e) => Effect.succeed(e.reason._tag)),
        )
        assert.strictEqual(caught, "Read")
      }),
    ))

  it("serialises to JSON with its reason and retryable flag", () => {
    const json = JSON.parse(JSON.stringify(TransportError.rejected(503, "busy")))
    assert.strictEqual(json._tag, "TransportError")
    assert.deepStrictEqual(json.reason, { _tag: "Open", status: 503, body: "busy" })
    assert.strictEqual(json.retryable, true)
    assert.include(inspect(TransportError.rejected(503, "busy")), "503")
  })
})
