import { Clock, type Context, Effect, type Fiber, ManagedRuntime } from "effect"
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
  /** Cancels a pending timer; unknown or fired ids are ignored. */
  clearTimeout(id: number): void
  /** How many timers are pending (started, neither fired nor cleared). */
  readonly pendingTimers: number
  /** Cancels every pending timer, e.g. when the actor that used this clock is stopped. */
  dispose(): void
}

const isManaged = (runtime: EffectClockRuntime): runtime is ManagedRuntime.ManagedRuntime<never, unknown> =>
  ManagedRuntime.isManagedRuntime(runtime)

/** One pending timer of the wheel; `fn` is dropped when it fires or is cleared. */
interface Timer {
  readonly id: number
  readonly deadline: number
  fn: (() => void) | undefined
}

/** Heap order: earlier deadline first, then the earlier `setTimeout` (ids only grow). */
const before = (a: Timer, b: Timer): boolean =>
  a.deadline < b.deadline || (a.deadline === b.deadline && a.id < b.id)

const siftUp = (heap: Timer[], index: number): void => {
  const timer = heap[index] as Timer
  let i = index
  while (i > 0) {
    const parent = (i - 1) >> 1
    const p = heap[parent] as Timer
    if (!before(timer, p)) break
    heap[i] = p
    i = parent
  }
  heap[i] = timer
}

const siftDown = (heap: Timer[], index: number): void => {
  const n = heap.length
  const timer = heap[index] as Timer
  let i = index
  for (;;) {
    const left = 2 * i + 1
    if (left >= n) break
    const right = left + 1
    const child = right < n && before(heap[right] as Timer, heap[left] as Timer) ? right : left
    const c = heap[child] as Timer
    if (!before(c, timer)) break
    heap[i] = c
    i = child
  }
  heap[i] = timer
}

const popTop = (heap: Timer[]): void => {
  const last = heap.pop() as Timer
  if (heap.length > 0) {
    heap[0] = last
    siftDown(heap, 0)
  }
}

/**
 * Builds an {@link EffectClock} on `runtime`: one timer wheel. Pending timers are a heap of
 * deadlines read from the runtime's `Clock` (a `TestClock` under test, so virtual time drives
 * them), and one fiber sleeps on that `Clock` until the earliest deadline, then calls every
 * callback that is due, in order of deadline and then of `setTimeout`. The sleeping fiber is
 * replaced only when a timer earlier than its deadline is set; `clearTimeout` only marks the
 * timer (O(1)), and cleared timers are dropped when they reach the top of the heap (or when
 * they outnumber the live ones). A callback that throws is reported like a native timer's
 * (see {@link EffectClock.setTimeout}).
 *
 * A `ManagedRuntime` should be built before the clock is used (`await runtime.context()`),
 * so that timers start synchronously, in the order XState sets them.
 */
export const makeEffectClock = <R = never>(runtime: EffectClockRuntime<R>): EffectClock => {
  const managed = isManaged(runtime)
  const fork: <A>(effect: Effect.Effect<A>) => Fiber.Fiber<A, unknown> = managed
    ? (effect) => runtime.runFork(effect)
    : Effect.runForkWith(runtime)
  const runSync: <A>(effect: Effect.Effect<A>) => A = managed
    ? (effect) => runtime.runSync(effect)
    : Effect.runSyncWith(runtime)
  // The runtime's clock service, read on first use (a ManagedRuntime may still be building).
  let clockService: Clock.Clock | undefined
  const now = (): number => {
    clockService ??= runSync(Clock.clockWith(Effect.succeed))
    return clockService.currentTimeMillisUnsafe()
  }

  const heap: Timer[] = []
  const timers = new Map<number, Timer>()
  let cleared = 0
  let nextId = 1
  // The fiber sleeping until `armedAt` (the earliest deadline when it was armed), if any;
  // `generation` tells a replaced or disposed sleeper to stop.
  let sleeper: Fiber.Fiber<void, unknown> | undefined
  let armedAt = Number.POSITIVE_INFINITY
  let generation = 0
  let firing = false

  /** Drops cleared timers from the top, and rebuilds the heap when they outnumber the live ones. */
  const liveTop = (): Timer | undefined => {
    if (cleared > 64 && cleared > timers.size) {
      let j = 0
      for (const timer of heap) if (timer.fn !== undefined) heap[j++] = timer
      heap.length = j
      cleared = 0
      for (let i = (j >> 1) - 1; i >= 0; i--) siftDown(heap, i)
    }
    while (heap.length > 0) {
      const top = heap[0] as Timer
      if (top.fn !== undefined) return top
      popTop(heap)
      cleared--
    }
    return undefined
  }

  /** Calls every due callback, in heap order; callbacks may set and clear timers meanwhile. */
  const fire = (): void => {
    firing = true
    try {
      for (;;) {
        const top = liveTop()
        if (top === undefined || top.deadline > now()) return
        popTop(heap)
        timers.delete(top.id)
        const fn = top.fn as () => void
        top.fn = undefined
        try {
          fn()
        } catch (error) {
          // The callback's failure is not the timer's to handle: report it as uncaught, as a
          // native setTimeout would, instead of losing it (other timers keep running).
          queueMicrotask(() => {
            throw error
          })
        }
      }
    } finally {
      firing = false
    }
  }

  /** Sleeps until `armedAt`, fires what is due, and goes on while timers are pending. */
  const loop = (gen: number): Effect.Effect<void> =>
    Effect.suspend(() =>
      Effect.flatMap(Effect.sleep(Math.max(0, armedAt - now())), () => {
        if (gen !== generation) return Effect.void
        fire()
        if (gen !== generation) {
          // Disposed by a callback: timers set after that (while firing) still need a sleeper.
          const pending = liveTop()
          if (pending !== undefined && sleeper === undefined) arm(pending.deadline)
          return Effect.void
        }
        const next = liveTop()
        if (next === undefined) {
          sleeper = undefined
          armedAt = Number.POSITIVE_INFINITY
          return Effect.void
        }
        armedAt = next.deadline
        return loop(gen)
      }),
    )

  /** Replaces the sleeping fiber with one that wakes at `deadline`. */
  const arm = (deadline: number): void => {
    const previous = sleeper
    sleeper = undefined
    previous?.interruptUnsafe()
    armedAt = deadline
    const gen = ++generation
    const fiber = fork(loop(gen))
    // A due deadline under some schedulers fires inside `fork`; only keep a sleeping fiber.
    if (gen === generation && fiber.pollUnsafe() === undefined) sleeper = fiber
  }

  return {
    setTimeout(fn, timeoutMs) {
      const id = nextId++
      const delayMs = Number.isNaN(timeoutMs) ? 0 : Math.max(0, timeoutMs)
      const timer: Timer = { id, deadline: now() + delayMs, fn }
      heap.push(timer)
      siftUp(heap, heap.length - 1)
      timers.set(id, timer)
      // While firing, the loop itself sees the new timer before it sleeps again.
      if (!firing && timer.deadline < armedAt) arm(timer.deadline)
      return id
    },
    clearTimeout(id) {
      const timer = timers.get(id)
      if (timer === undefined) return
      timers.delete(id)
      timer.fn = undefined
      cleared++
    },
    get pendingTimers() {
      return timers.size
    },
    dispose() {
      for (const timer of timers.values()) timer.fn = undefined
      timers.clear()
      heap.length = 0
      cleared = 0
      generation++
      armedAt = Number.POSITIVE_INFINITY
      const previous = sleeper
      sleeper = undefined
      // Disposed from a callback, the sleeper is the running fiber: it stops by itself.
      if (!firing) previous?.interruptUnsafe()
    },
  }
}

/** Captures the current Effect context and builds an {@link EffectClock} on it (handy in `it.effect`). */
export const effectClock: Effect.Effect<EffectClock> = Effect.map(Effect.context<never>(), (context) =>
  makeEffectClock(context),
)
