/**
 * The bridge between a session's XState actor and Effect: the services the session's
 * programs run with (a captured `Context`), the one clock (machine delays are Effect sleeps
 * on it), and a registry of every fiber the session forked, so that teardown can interrupt
 * them all and wait until their finalizers (closing sockets) have run.
 * @module
 */
import { Clock, type Context, Effect, Fiber } from "effect"
import type { ActorRefLike, AnyEventObject, InspectionEvent, Observer } from "xstate"
import { type EffectClock, makeEffectClock } from "../clock/index.ts"
import { defaultInspect } from "../inspect/processInspector.ts"

/** The Effect side of one running session. */
export interface SessionRuntime<R> {
  /** The services the session's programs run with. */
  readonly context: Context.Context<R>
  /** The XState clock of the session's actor: its timers are Effect sleeps on `context`'s clock. */
  readonly clock: EffectClock
  /**
   * The inspection observer of the session's root actor (the `inspect` option, or the
   * process-wide inspector under `VOXSTATE_INSPECT=1`); children are seen through it.
   */
  readonly inspect: Observer<InspectionEvent> | undefined
  /**
   * Tells the inspector what the facade measured of its root actor (an agent turn's
   * latencies): an `@xstate.event` with no source, typed `voxstate.<name>`. Nothing without
   * an inspector.
   */
  report(actor: ActorRefLike & { readonly sessionId: string }, event: AnyEventObject): void
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

/** Options of {@link makeSessionRuntime}. */
export interface SessionRuntimeOptions {
  /**
   * The session's inspection observer (a voxstate inspector's `inspect`, `@statelyai/inspect`'s);
   * `false`: none even under `VOXSTATE_INSPECT=1`.
   */
  readonly inspect?: Observer<InspectionEvent> | false | undefined
}

/**
 * Creates the {@link SessionRuntime} of a session on `context` (for example
 * `Context.make(RealtimeSocket, RealtimeSocket.live)`, or `yield* Effect.context()` inside
 * an Effect, which carries a `TestClock` under `it.effect`).
 */
export const makeSessionRuntime = <R>(
  context: Context.Context<R>,
  options: SessionRuntimeOptions = {},
): SessionRuntime<R> => {
  const fibers = new Set<Fiber.Fiber<unknown, unknown>>()
  const clock = makeEffectClock(context as Context.Context<never>)
  const runFork = Effect.runForkWith(context)
  const runSync = Effect.runSyncWith(context)
  // The context's clock service, read once (a TestClock under test): `now()` runs no Effect.
  const clockService = runSync(Clock.clockWith(Effect.succeed))
  let closing: Promise<void> | undefined
  const inspect = defaultInspect(options.inspect)

  return {
    context,
    clock,
    inspect,
    report(actor, event) {
      inspect?.next?.({
        type: "@xstate.event",
        rootId: actor.sessionId,
        actorRef: actor,
        sourceRef: undefined,
        event: { ...event, type: event.type.startsWith("voxstate.") ? event.type : `voxstate.${event.type}` },
      })
    },
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
      return clockService.currentTimeMillisUnsafe()
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

/**
 * The options a facade starts its root actor with on `runtime`: the runtime's clock, and its
 * inspection observer when there is one. @internal
 */
export const rootActorOptions = <R>(
  runtime: SessionRuntime<R>,
): { readonly clock: EffectClock; readonly inspect?: Observer<InspectionEvent> } =>
  runtime.inspect === undefined
    ? { clock: runtime.clock }
    : { clock: runtime.clock, inspect: runtime.inspect }
