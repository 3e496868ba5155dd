import { type Context, Effect, type Fiber, ManagedRuntime } from "effect"
import type { ActorOptions, AnyActorLogic } from "xstate"

/** XState's clock interface (`createActor(machine, { clock })`). */
export type XStateClock = NonNullable<ActorOptions<AnyActorLogic>["clock"]>

/**
 * Where the timers of an {@link EffectClock} run: a `ManagedRuntime` (production: the same
 * runtime that runs the sessions' Effect programs), or a `Context` captured inside an Effect
 * with `Effect.context()` (tests: the context of an `it.effect`, which holds its `TestClock`).
 */
export type EffectClockRuntime<R = never> = ManagedRuntime.ManagedRuntime<R, unknown> | Context.Context<R>

/**
 * An XState clock whose timers are Effect sleeps. Pass it to `createActor(machine, { clock })`:
 * machine `after` delays then run on the same clock as every Effect sleep, so one
 * `TestClock.adjust` moves both.
 */
export interface EffectClock extends XStateClock {
  /**
   * Starts a timer that calls `fn` after `timeoutMs` milliseconds of Effect-clock time.
   * An exception thrown by `fn` is reported as a native `setTimeout` reports it: rethrown
   * outside the timer (in a microtask), so it reaches Node's `uncaughtException` (a
   * browser's `error` event) instead of dying silently with the timer's fiber; other
   * timers keep running.
   */
  setTimeout(fn: (...args: ReadonlyArray<unknown>) => void, timeoutMs: number): number
  /** Cancels a pending timer (interrupting its fiber); unknown or fired ids are ignored. */
  clearTimeout(id: number): void
  /** How many timers are pending (started, neither fired nor cleared). */
  readonly pendingTimers: number
  /** Cancels every pending timer, e.g. when the actor that used this clock is stopped. */
  dispose(): void
}

const isManaged = (runtime: EffectClockRuntime): runtime is ManagedRuntime.ManagedRuntime<never, unknown> =>
  ManagedRuntime.isManagedRuntime(runtime)

/**
 * Builds an {@link EffectClock} on `runtime`. Each `setTimeout` forks one fiber that sleeps
 * on the runtime's `Clock` (a `TestClock` under test) and then calls the callback; each
 * `clearTimeout` interrupts that fiber, so cleared timers leave no fiber behind. A callback
 * that throws is reported like a native timer's (see {@link EffectClock.setTimeout}).
 *
 * A `ManagedRuntime` should be built before the clock is used (`await runtime.context()`),
 * so that timers start synchronously, in the order XState sets them.
 */
export const makeEffectClock = <R = never>(runtime: EffectClockRuntime<R>): EffectClock => {
  const fork: <A>(effect: Effect.Effect<A>) => Fiber.Fiber<A, unknown> = isManaged(runtime)
    ? (effect) => runtime.runFork(effect)
    : Effect.runForkWith(runtime)
  const timers = new Map<number, Fiber.Fiber<void, unknown>>()
  let nextId = 1

  return {
    setTimeout(fn, timeoutMs) {
      const id = nextId++
      const delayMs = Number.isNaN(timeoutMs) ? 0 : Math.max(0, timeoutMs)
      const fiber = fork(
        Effect.andThen(
          Effect.sleep(delayMs),
          Effect.sync(() => {
            timers.delete(id)
            try {
              fn()
            } catch (error) {
              // The callback's failure is not the timer's to handle: report it as uncaught,
              // as a native setTimeout would, instead of letting the fiber die unseen.
              queueMicrotask(() => {
                throw error
              })
            }
          }),
        ),
      )
      // A zero delay under some schedulers completes inside `fork`; only track live fibers.
      if (fiber.pollUnsafe() === undefined) timers.set(id, fiber)
      return id
    },
    clearTimeout(id) {
      const fiber = timers.get(id)
      if (fiber === undefined) return
      timers.delete(id)
      fiber.interruptUnsafe()
    },
    get pendingTimers() {
      return timers.size
    },
    dispose() {
      const pending = [...timers.values()]
      timers.clear()
      for (const fiber of pending) fiber.interruptUnsafe()
    },
  }
}

/** Captures the current Effect context and builds an {@link EffectClock} on it (handy in `it.effect`). */
export const effectClock: Effect.Effect<EffectClock> = Effect.map(Effect.context<never>(), (context) =>
  makeEffectClock(context),
)
