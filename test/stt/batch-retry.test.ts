/**
 * The retry policy of STT requests, on virtual time: attempts, intervals, jitter, the
 * server's retry-after, per-attempt timeouts, and which failures are retried.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import {
  type APIConnectOptions,
  DEFAULT_API_CONNECT_OPTIONS,
  isRetryableHttp,
  resolveConnectOptions,
  STTError,
  type STTErrorReason,
  withRetries,
} from "../../src/stt/index.ts"

const failure = (reason: STTErrorReason, retryable: boolean) =>
  new STTError({ reason, message: `failed: ${reason._tag}`, retryable, attempts: 1 })

const http = (status: number, extra: { retryAfterMs?: number; code?: string } = {}) =>
  failure({ _tag: "Http", status, ...extra }, isRetryableHttp(status, extra.code))

const options = (overrides: Partial<APIConnectOptions> = {}): APIConnectOptions =>
  resolveConnectOptions({
    maxRetry: 3,
    retryIntervalMs: 1_000,
    jitter: false,
    timeoutMs: 10_000,
    ...overrides,
  })

/** Runs `withRetries` over a script of outcomes (failures, or "ok"), recording when each attempt starts. */
const scripted = (outcomes: ReadonlyArray<STTError | "ok" | "hang">, connect: APIConnectOptions) => {
  const startedAt: number[] = []
  const effect = withRetries(
    (attempt) =>
      Effect.gen(function* () {
        startedAt.push(yield* Effect.clockWith((clock) => Effect.succeed(clock.currentTimeMillisUnsafe())))
        const outcome = outcomes[attempt - 1] ?? "ok"
        if (outcome === "ok") return attempt
        if (outcome === "hang") return yield* Effect.never
        return yield* Effect.fail(outcome)
      }),
    connect,
    "test",
  )
  return { effect, startedAt }
}

describe("withRetries", () => {
  it.effect("retries a 503 after the interval and succeeds on the next attempt", () =>
    Effect.gen(function* () {
      const { effect, startedAt } = scripted([http(503), "ok"], options())
      const fiber = yield* Effect.forkChild(effect)
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(startedAt.length, 1)
      yield* TestClock.adjust("1 millis")
      const attempt = yield* Fiber.join(fiber)
      assert.strictEqual(attempt, 2)
      assert.deepStrictEqual(startedAt, [0, 1000])
    }),
  )

  it.effect("gives up after maxRetry retries with RetriesExhausted naming the attempts", () =>
    Effect.gen(function* () {
      const { effect, startedAt } = scripted([http(503), http(502), http(500), http(503)], options())
      const fiber = yield* Effect.forkChild(Effect.flip(effect))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(startedAt.length, 4)
      assert.strictEqual(error.attempts, 4)
      assert.isTrue(error.retryable)
      assert.strictEqual(error.reason._tag, "RetriesExhausted")
      if (error.reason._tag === "RetriesExhausted") {
        assert.strictEqual(error.reason.attempts, 4)
        assert.deepStrictEqual(error.reason.last, { _tag: "Http", status: 503 })
      }
      assert.match(error.message, /after 4 attempts: HTTP 503/)
    }),
  )

  it.effect("does not retry a 400, and reports the one attempt", () =>
    Effect.gen(function* () {
      const { effect, startedAt } = scripted([http(400), "ok"], options())
      const error = yield* Effect.flip(effect)
      assert.strictEqual(startedAt.length, 1)
      assert.strictEqual(error.reason._tag, "Http")
      assert.strictEqual(error.attempts, 1)
      assert.isFalse(error.retryable)
    }),
  )

  it.effect("stops retrying when a non-retryable failure follows retryable ones", () =>
    Effect.gen(function* () {
      const { effect, startedAt } = scripted([http(503), http(401)], options())
      const fiber = yield* Effect.forkChild(Effect.flip(effect))
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(startedAt.length, 2)
      assert.deepStrictEqual(error.reason, { _tag: "Http", status: 401 })
      assert.strictEqual(error.attempts, 2)
    }),
  )

  it.effect("makes a single attempt when maxRetry is 0, and still names it", () =>
    Effect.gen(function* () {
      const { effect, startedAt } = scripted([http(503)], options({ maxRetry: 0 }))
      const error = yield* Effect.flip(effect)
      assert.strictEqual(startedAt.length, 1)
      assert.strictEqual(error.reason._tag, "RetriesExhausted")
      assert.match(error.message, /after 1 attempt:/)
    }),
  )

  it.effect("doubles the delay with exponential backoff, up to maxRetryIntervalMs", () =>
    Effect.gen(function* () {
      const { effect, startedAt } = scripted(
        [http(503), http(503), http(503), http(503), "ok"],
        options({ maxRetry: 4, backoff: "exponential", maxRetryIntervalMs: 3_000 }),
      )
      const fiber = yield* Effect.forkChild(effect)
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(startedAt, [0, 1000, 3000, 6000, 9000])
    }),
  )

  it.effect("waits at least the server's retry-after", () =>
    Effect.gen(function* () {
      const { effect, startedAt } = scripted([http(429, { retryAfterMs: 4_000 }), "ok"], options())
      const fiber = yield* Effect.forkChild(effect)
      yield* TestClock.adjust("3999 millis")
      assert.strictEqual(startedAt.length, 1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(startedAt, [0, 4000])
    }),
  )

  it.effect("keeps jittered delays within 0.8 to 1.2 times the interval", () =>
    Effect.gen(function* () {
      const { effect, startedAt } = scripted(
        [http(503), http(503), http(503), "ok"],
        options({ jitter: true, retryIntervalMs: 1_000 }),
      )
      const fiber = yield* Effect.forkChild(effect)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      assert.strictEqual(startedAt.length, 4)
      for (let i = 1; i < startedAt.length; i++) {
        const delay = startedAt[i]! - startedAt[i - 1]!
        assert.isAtLeast(delay, 800)
        assert.isAtMost(delay, 1200)
      }
    }),
  )

  it.effect("never lets the jitter push a delay past maxRetryIntervalMs", () =>
    Effect.gen(function* () {
      const { effect, startedAt } = scripted(
        [http(503), http(503), http(503), http(503), "ok"],
        options({ maxRetry: 4, jitter: true, backoff: "exponential", maxRetryIntervalMs: 1_500 }),
      )
      const fiber = yield* Effect.forkChild(effect)
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(fiber)
      const delays = startedAt.slice(1).map((at, i) => at - startedAt[i]!)
      assert.strictEqual(delays.length, 4)
      assert.isAtLeast(delays[0]!, 800)
      assert.isAtMost(delays[0]!, 1200)
      // 2 s, 4 s and 8 s, jittered to at least 1.6 s, are all cut to the cap.
      // (The clock holds the first, fractional jittered delay, hence the tolerance.)
      for (const delay of delays.slice(1)) assert.approximately(delay, 1500, 1e-6)
    }),
  )

  it.effect("times out a hung attempt after timeoutMs and retries it", () =>
    Effect.gen(function* () {
      const { effect, startedAt } = scripted(["hang", "ok"], options({ timeoutMs: 5_000 }))
      const fiber = yield* Effect.forkChild(effect)
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(startedAt.length, 1)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), 2)
      assert.deepStrictEqual(startedAt, [0, 6000])
    }),
  )

  it.effect("names a timeout as the last failure when every attempt hangs", () =>
    Effect.gen(function* () {
      const { effect } = scripted(["hang", "hang"], options({ maxRetry: 1, timeoutMs: 2_000 }))
      const fiber = yield* Effect.forkChild(Effect.flip(effect))
      yield* TestClock.adjust("1 minute")
      const error = yield* Fiber.join(fiber)
      assert.deepStrictEqual(error.reason, {
        _tag: "RetriesExhausted",
        attempts: 2,
        last: { _tag: "Timeout", timeoutMs: 2_000 },
      })
    }),
  )

  it.effect("retries connection errors", () =>
    Effect.gen(function* () {
      const reset = failure({ _tag: "Connection", detail: "ECONNRESET" }, true)
      const { effect, startedAt } = scripted([reset, reset, "ok"], options({ retryIntervalMs: 10 }))
      const fiber = yield* Effect.forkChild(effect)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), 3)
      assert.strictEqual(startedAt.length, 3)
    }),
  )
})

describe("retry classification", () => {
  it("retries 408, 409, 429 and 5xx, and no other 4xx", () => {
    for (const status of [408, 409, 429, 500, 502, 503, 504])
      assert.isTrue(isRetryableHttp(status), `${status}`)
    for (const status of [400, 401, 403, 404, 413, 422]) assert.isFalse(isRetryableHttp(status), `${status}`)
  })

  it("lets x-should-retry decide and never retries insufficient_quota", () => {
    assert.isFalse(isRetryableHttp(503, undefined, "false"))
    assert.isTrue(isRetryableHttp(400, undefined, "true"))
    assert.isFalse(isRetryableHttp(429, "insufficient_quota"))
    assert.isTrue(isRetryableHttp(429, "rate_limit_exceeded"))
  })

  it("validates connect options", () => {
    assert.deepStrictEqual(resolveConnectOptions(), DEFAULT_API_CONNECT_OPTIONS)
    assert.throws(() => resolveConnectOptions({ maxRetry: -1 }), /maxRetry/)
    assert.throws(() => resolveConnectOptions({ maxRetry: 1.5 }), /maxRetry/)
    assert.throws(() => resolveConnectOptions({ timeoutMs: 0 }), /timeoutMs/)
    assert.throws(() => resolveConnectOptions({ retryIntervalMs: Number.NaN }), /retryIntervalMs/)
  })
})
