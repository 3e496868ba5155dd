/**
 * The bridge between a session's XState actor and Effect: the services the session's
 * programs run with (a captured `Context`), the one clock (machine delays are Effect sleeps
 * on it), and a registry of every fiber the session forked, so that teardown can interrupt
 * them all and wait until their finalizers (closing sockets) have run.
 * @module
 */
import { Clock, type Context, Effect, Fiber } from "effect"
import { type EffectClock, makeEffectClock } from "../clock/index.ts"

/** The Effect side of one running session. */
export interface SessionRuntime<R> {
  /** The services the session's programs run with. */
  readonly context: Context.Context<R>
  /** The XState clock of the session's actor: its timers are Effect sleeps on `context`'s clock. */
  readonly clock: EffectClock
  /** Forks `effect` on the session's services and tracks the fiber until it ends. */
  fork<A, E>(effect: Effect.Effect<A, E, R>): Fiber.Fiber<A, E>
  /** Runs a synchronous effect on the session's services (throws if it is not synchronous). */
  runSync<A, E>(effect: Effect.Effect<A, E, R>): A
  /** The current time of the session's clock, in milliseconds since the epoch (virtual under a TestClock). */
  now(): number
  /** Fibers forked and still running. */
  readonly activeFibers: number
  /** Cancels the clock's timers, interrupts every tracked fiber and waits for them to end. Idempotent. */
  shutdown(): Promise<void>
}

/**
 * Creates the {@link SessionRuntime} of a session on `context` (for example
 * `Context.make(RealtimeSocket, RealtimeSocket.live)`, or `yield* Effect.context()` inside
 * an Effect, which carries a `TestClock` under `it.effect`).
 */
export const makeSessionRuntime = <R>(context: Context.Context<R>): SessionRuntime<R> => {
  const fibers = new Set<Fiber.Fiber<unknown, unknown>>()
  const clock = makeEffectClock(context as Context.Context<never>)
  const runFork = Effect.runForkWith(context)
  const runSync = Effect.runSyncWith(context)
  const currentTime = Clock.currentTimeMillis
  let closing: Promise<void> | undefined

  return {
    context,
    clock,
    fork(effect) {
      const fiber = runFork(effect)
      if (fiber.pollUnsafe() === undefined) {
        fibers.add(fiber)
        fiber.addObserver(() => {
          fibers.delete(fiber)
        })
      }
      return fiber
    },
    runSync(effect) {
      return runSync(effect)
    },
    now() {
      return runSync(currentTime)
    },
    get activeFibers() {
      return fibers.size
    },
    shutdown() {
      closing ??= (async () => {
        clock.dispose()
        // Fibers forked while others shut down (none are expected) are caught by the loop.
        while (fibers.size > 0) {
          const running = [...fibers]
          await Effect.runPromise(Fiber.interruptAll(running))
          for (const fiber of running) fibers.delete(fiber)
        }
      })()
      return closing
    },
  }
}
