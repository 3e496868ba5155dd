import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, ManagedRuntime, type Scope } from "effect"
import { TestClock } from "effect/testing"
import { createActor, createMachine } from "xstate"
import { effectClock, makeEffectClock } from "../../src/clock/index.ts"

const timeoutMachine = createMachine({
  id: "timeout",
  initial: "waiting",
  states: {
    waiting: { after: { 5000: "done" } },
    done: { type: "final" },
  },
})

describe("makeEffectClock", () => {
  it.effect("fires a machine `after` delay and an Effect sleep with one TestClock.adjust", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      const actor = createActor(timeoutMachine, { clock }).start()
      let slept = false
      const sleeper = yield* Effect.forkChild(
        Effect.andThen(
          Effect.sleep("5 seconds"),
          Effect.sync(() => {
            slept = true
          }),
        ),
      )

      yield* TestClock.adjust("4999 millis")
      assert.strictEqual(actor.getSnapshot().value, "waiting")
      assert.isFalse(slept)

      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(sleeper)
      assert.strictEqual(actor.getSnapshot().value, "done")
      assert.isTrue(slept)
      assert.strictEqual(clock.pendingTimers, 0)
    }),
  )

  it.effect("interrupts the timer fiber when XState clears the timer", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      const actor = createActor(timeoutMachine, { clock }).start()
      assert.strictEqual(clock.pendingTimers, 1)

      actor.stop()
      assert.strictEqual(clock.pendingTimers, 0)

      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(actor.getSnapshot().value, "waiting")
    }),
  )

  it.effect("never calls a cleared callback and keeps other timers running", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      const fired: Array<string> = []
      const first = clock.setTimeout(() => fired.push("first"), 1000)
      clock.setTimeout(() => fired.push("second"), 2000)
      clock.clearTimeout(first)
      clock.clearTimeout(first)
      clock.clearTimeout(9999)

      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(fired, ["second"])
      assert.strictEqual(clock.pendingTimers, 0)
    }),
  )

  it.effect("fires timers in order of their deadlines, not of their creation", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      const fired: Array<number> = []
      clock.setTimeout(() => fired.push(300), 300)
      clock.setTimeout(() => fired.push(100), 100)
      clock.setTimeout(() => fired.push(200), 200)

      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(fired, [100, 200, 300])
    }),
  )

  it.effect("treats negative and NaN delays as zero", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      const fired: Array<string> = []
      clock.setTimeout(() => fired.push("negative"), -5)
      clock.setTimeout(() => fired.push("nan"), Number.NaN)

      yield* TestClock.adjust("0 millis")
      assert.sameMembers(fired, ["negative", "nan"])
    }),
  )

  it.effect("accepts a context that carries other services", () =>
    Effect.gen(function* () {
      const context = yield* Effect.context<Scope.Scope>()
      const clock = makeEffectClock(context)
      let fired = false
      clock.setTimeout(() => {
        fired = true
      }, 10)
      yield* TestClock.adjust("10 millis")
      assert.isTrue(fired)
    }),
  )

  it.effect("dispose interrupts every pending timer", () =>
    Effect.gen(function* () {
      const clock = yield* effectClock
      let fired = 0
      for (let i = 1; i <= 5; i++) clock.setTimeout(() => fired++, i * 1000)
      assert.strictEqual(clock.pendingTimers, 5)

      clock.dispose()
      assert.strictEqual(clock.pendingTimers, 0)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(fired, 0)
    }),
  )

  it.effect(
    "reports a throwing callback as an uncaught exception, like setTimeout, and keeps other timers running",
    () =>
      Effect.gen(function* () {
        // Take the process's uncaughtException listeners (the test runner's) aside for the
        // test, so the exception is seen here and does not fail the run.
        const saved = process.listeners("uncaughtException")
        const uncaught: unknown[] = []
        const listener = (error: unknown) => uncaught.push(error)
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            process.removeAllListeners("uncaughtException")
            process.on("uncaughtException", listener)
          }),
          () =>
            Effect.sync(() => {
              process.removeListener("uncaughtException", listener)
              for (const l of saved) process.on("uncaughtException", l)
            }),
        )
        const clock = yield* effectClock
        const boom = new Error("boom")
        const fired: Array<string> = []
        clock.setTimeout(() => {
          fired.push("thrower")
          throw boom
        }, 100)
        clock.setTimeout(() => fired.push("after"), 200)

        yield* TestClock.adjust("100 millis")
        // The exception leaves the timer asynchronously, as from a native timer.
        yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
        assert.deepStrictEqual(uncaught, [boom])

        yield* TestClock.adjust("100 millis")
        assert.deepStrictEqual(fired, ["thrower", "after"])
        assert.strictEqual(clock.pendingTimers, 0)
      }).pipe(Effect.scoped),
  )

  it("runs timers on a ManagedRuntime's clock", async () => {
    const runtime = ManagedRuntime.make(TestClock.layer())
    try {
      await runtime.context()
      const clock = makeEffectClock(runtime)
      const actor = createActor(timeoutMachine, { clock }).start()
      await runtime.runPromise(TestClock.adjust("5 seconds"))
      assert.strictEqual(actor.getSnapshot().value, "done")
    } finally {
      await runtime.dispose()
    }
  })

  it("fires on real time under a ManagedRuntime without a TestClock", async () => {
    const runtime = ManagedRuntime.make(Layer.empty)
    try {
      await runtime.context()
      const clock = makeEffectClock(runtime)
      const fired = await new Promise<boolean>((resolve) => {
        clock.setTimeout(() => resolve(true), 5)
      })
      assert.isTrue(fired)
      assert.strictEqual(clock.pendingTimers, 0)
    } finally {
      await runtime.dispose()
    }
  })
})
