/**
 * The clock's timer wheel under virtual time: many timers, clears and sets from callbacks, zero
 * delays, dispose, and how often the wheel asks the Effect clock to sleep.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect } from "effect"
import { TestClock } from "effect/testing"
import { type EffectClock, effectClock, makeEffectClock } from "../../src/clock/index.ts"

/** A seeded generator (xorshift32), so a failing case can be replayed. */
const random = (seed: number) => {
  let x = seed >>> 0 || 1
  return (): number => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 0x1_0000_0000
  }
}

/** The clock of the current context, with every `sleep` it is asked for counted. */
const countingClock = Effect.gen(function* () {
  const inner = yield* Clock.clockWith(Effect.succeed)
  const sleeps: number[] = []
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: () => inner.currentTimeMillisUnsafe(),
    currentTimeNanosUnsafe: () => inner.currentTimeNanosUnsafe(),
    monotonicTimeNanosUnsafe: () => inner.monotonicTimeNanosUnsafe(),
    currentTimeMillis: inner.currentTimeMillis,
    currentTimeNanos: inner.currentTimeNanos,
    monotonicTimeNanos: inner.monotonicTimeNanos,
    sleep: (duration) => {
      sleeps.push(Duration.toMillis(duration))
      return inner.sleep(duration)
    },
  }
  const context = yield* Effect.provideService(Effect.context<never>(), Clock.Clock, clock)
  return { clock: makeEffectClock(context), sleeps, now: () => inner.currentTimeMillisUnsafe() }
})

const nowOf = Effect.map(Clock.clockWith(Effect.succeed), (clock) => () => clock.currentTimeMillisUnsafe())

describe("the timer wheel", () => {
  it.effect("fires thousands of timers at their virtual deadlines, by deadline then by setTimeout", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      const now = yield* nowOf
      const next = random(12)
      const fired: Array<{ readonly key: number; readonly at: number }> = []
      const expected: Array<{ readonly key: number; readonly deadline: number }> = []
      const ids = new Map<number, number>()
      for (let key = 0; key < 5000; key++) {
        // Few distinct deadlines, so many timers share one and insertion order matters (zero
        // delays are tested on their own: under a TestClock they may fire inside setTimeout).
        const delay = 5 + Math.floor(next() * 200) * 5
        ids.set(
          key,
          clock.setTimeout(() => fired.push({ key, at: now() }), delay),
        )
        expected.push({ key, deadline: delay })
      }
      // Clear a random third, some twice.
      const cleared = new Set<number>()
      for (let key = 0; key < 5000; key++) {
        if (next() < 0.33) {
          clock.clearTimeout(ids.get(key) as number)
          if (next() < 0.2) clock.clearTimeout(ids.get(key) as number)
          cleared.add(key)
        }
      }
      assert.strictEqual(clock.pendingTimers, 5000 - cleared.size)
      // Move the clock in uneven steps (some of zero) past the last deadline.
      while (now() < 1005) yield* TestClock.adjust(`${Math.floor(next() * 37)} millis`)

      const want = expected
        .filter((e) => !cleared.has(e.key))
        .sort((a, b) => a.deadline - b.deadline || a.key - b.key)
      assert.deepStrictEqual(
        fired.map((f) => f.key),
        want.map((w) => w.key),
      )
      // Each callback ran with the clock at its own deadline.
      for (let i = 0; i < fired.length; i++) assert.strictEqual(fired[i]?.at, want[i]?.deadline)
      assert.strictEqual(clock.pendingTimers, 0)
    }),
  )

  it.effect("sleeps once for timers set in deadline order, and again only for an earlier one", () =>
    Effect.gen(function* () {
      const { clock, sleeps } = yield* countingClock
      let fired = 0
      for (let i = 1; i <= 1000; i++) clock.setTimeout(() => fired++, 10_000 + i)
      assert.strictEqual(sleeps.length, 1)
      // A later timer, or the clearing of the earliest, does not wake or replace the sleeper.
      const first = clock.setTimeout(() => fired++, 20_000)
      clock.clearTimeout(first)
      assert.strictEqual(sleeps.length, 1)
      clock.setTimeout(() => fired++, 5)
      assert.strictEqual(sleeps.length, 2)

      yield* TestClock.adjust("5 millis")
      assert.strictEqual(fired, 1)
      // Woken at 5 ms, the wheel sleeps until the next deadline (10 001 ms) in one sleep.
      assert.strictEqual(sleeps.length, 3)
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual(fired, 1001)
      // Every timer of 10 001..11 000 ms is one wake each (distinct deadlines), no more.
      assert.isAtMost(sleeps.length, 3 + 1000)
      assert.strictEqual(clock.pendingTimers, 0)
    }),
  )

  it.effect("a timer re-armed on every event costs no sleep until one is due (a moving deadline)", () =>
    Effect.gen(function* () {
      const { clock, sleeps } = yield* countingClock
      let stalled = 0
      let id = clock.setTimeout(() => stalled++, 1000)
      for (let i = 0; i < 500; i++) {
        yield* TestClock.adjust("10 millis")
        clock.clearTimeout(id)
        id = clock.setTimeout(() => stalled++, 1000)
      }
      assert.strictEqual(stalled, 0)
      // One sleep at the start, then one each time the (cleared) earliest deadline came due.
      assert.isAtMost(sleeps.length, 1 + Math.ceil((500 * 10) / 1000) + 1)
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(stalled, 0)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(stalled, 1)
      assert.strictEqual(clock.pendingTimers, 0)
    }),
  )

  it.effect("clears timers from inside a callback, its own and others due at the same time", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      const fired: string[] = []
      let self = 0
      let sameTime = 0
      let later = 0
      self = clock.setTimeout(() => {
        fired.push("a")
        clock.clearTimeout(self)
        clock.clearTimeout(sameTime)
        clock.clearTimeout(later)
      }, 100)
      sameTime = clock.setTimeout(() => fired.push("b"), 100)
      later = clock.setTimeout(() => fired.push("c"), 200)
      clock.setTimeout(() => fired.push("d"), 100)

      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(fired, ["a", "d"])
      assert.strictEqual(clock.pendingTimers, 0)
    }),
  )

  it.effect(
    "sets timers from inside a callback: a zero delay fires in the same adjust, after those already due",
    () =>
      Effect.gen(function* () {
        const clock = yield* effectClock
        const now = yield* nowOf
        const fired: Array<string> = []
        clock.setTimeout(() => {
          fired.push(`a@${now()}`)
          clock.setTimeout(() => fired.push(`zero@${now()}`), 0)
          clock.setTimeout(() => fired.push(`earlier-than-b@${now()}`), 10)
          clock.setTimeout(() => fired.push(`later@${now()}`), 500)
        }, 100)
        clock.setTimeout(() => fired.push(`b@${now()}`), 100)
        clock.setTimeout(() => fired.push(`c@${now()}`), 200)

        yield* TestClock.adjust("150 millis")
        assert.deepStrictEqual(fired, ["a@100", "b@100", "zero@100", "earlier-than-b@110"])
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(fired.slice(4), ["c@200", "later@600"])
        assert.strictEqual(clock.pendingTimers, 0)
      }),
  )

  it.effect("fires zero, negative and NaN delays in the order they were set", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      const fired: number[] = []
      // A pending later timer first, so the zero delays replace a sleeping fiber.
      clock.setTimeout(() => fired.push(99), 1000)
      for (let i = 0; i < 20; i++)
        clock.setTimeout(() => fired.push(i), i % 3 === 0 ? 0 : i % 3 === 1 ? -1 : Number.NaN)
      yield* TestClock.adjust("0 millis")
      assert.deepStrictEqual(
        fired,
        Array.from({ length: 20 }, (_, i) => i),
      )
      yield* TestClock.adjust("1 second")
      assert.strictEqual(fired.at(-1), 99)
    }),
  )

  it.effect("never fires an infinite delay, but counts it as pending", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      let fired = false
      const id = clock.setTimeout(() => {
        fired = true
      }, Number.POSITIVE_INFINITY)
      yield* TestClock.adjust("1000 days")
      assert.isFalse(fired)
      assert.strictEqual(clock.pendingTimers, 1)
      clock.clearTimeout(id)
      assert.strictEqual(clock.pendingTimers, 0)
    }),
  )

  it.effect("dispose from inside a callback stops the rest; timers set afterwards still fire", () =>
    Effect.gen(function* () {
      const clock: EffectClock = yield* effectClock
      const fired: string[] = []
      clock.setTimeout(() => {
        fired.push("a")
        clock.dispose()
        clock.setTimeout(() => fired.push("after-dispose"), 50)
      }, 100)
      clock.setTimeout(() => fired.push("b"), 100)
      clock.setTimeout(() => fired.push("c"), 300)

      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(fired, ["a", "after-dispose"])
      assert.strictEqual(clock.pendingTimers, 0)
    }),
  )

  it.effect("a disposed clock can be used again", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      const fired: string[] = []
      clock.setTimeout(() => fired.push("gone"), 100)
      clock.dispose()
      clock.setTimeout(() => fired.push("new"), 200)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(fired, ["new"])
    }),
  )

  it.effect("keeps its order across many set and clear rounds (cleared timers do not pile up)", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      const now = yield* nowOf
      const next = random(99)
      const live = new Map<number, { readonly deadline: number; readonly id: number }>()
      const fired: number[] = []
      let order = 0
      for (let round = 0; round < 200; round++) {
        for (let i = 0; i < 100; i++) {
          const deadline = now() + 1 + Math.floor(next() * 3000)
          const key = order++
          const id = clock.setTimeout(() => {
            fired.push(key)
            live.delete(key)
          }, deadline - now())
          live.set(key, { deadline, id })
        }
        // Clear most of what is pending, as a session re-arming its waits does.
        for (const [key, timer] of live) {
          if (next() < 0.9) {
            clock.clearTimeout(timer.id)
            live.delete(key)
          }
        }
        const before = [...live].sort((a, b) => a[1].deadline - b[1].deadline || a[0] - b[0])
        const step = Math.floor(next() * 40)
        const due = before.filter(([, t]) => t.deadline <= now() + step).map(([key]) => key)
        const from = fired.length
        yield* TestClock.adjust(`${step} millis`)
        assert.deepStrictEqual(fired.slice(from), due)
        assert.strictEqual(clock.pendingTimers, live.size)
      }
    }),
  )
})
