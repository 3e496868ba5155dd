/**
 * The one push-to-async-iterable channel behind every stream voxstate returns (speech
 * events of every `SpeechStream`, the chunks of a `ChatStream`): producers push, then end
 * or fail; consumers read with `for await`.
 *
 * The consumer rule, the same for every stream: reads share one queue. Each item goes to
 * exactly one read, in push order; reads that arrive while the queue is empty wait in the
 * order they were made (two iterators reading at once split the items, neither is left
 * pending). When the channel ends, every waiting read completes: after `fail`, the first
 * waiting (or the next) read rejects with the error, once; every other read is done.
 * Breaking out of a `for await` (the iterator's `return`) ends the channel for every reader.
 * @module
 */

/** A push-to-async-iterable channel (see the module's consumer rule). */
export interface Channel<T> extends AsyncIterable<T> {
  /** Adds an item. Ignored once the channel is done. */
  push(item: T): void
  /** No more items: reads end once the buffer is drained. Idempotent. */
  end(): void
  /** A read throws `error` (once) when the buffer is drained. Ignored once the channel is done. */
  fail(error: unknown): void
  /** Drops the buffered items `keep` rejects (a cancelled stream keeps only its end). */
  retain(keep: (item: T) => boolean): void
  /** True after `end`, `fail` or a reader's `return`. */
  readonly done: boolean
  /** Items pushed and not read yet. */
  readonly buffered: number
}

/** Hooks of {@link createChannel}. */
export interface ChannelHooks {
  /** A reader stopped early (`break` in a `for await`): the producer may stop. Called once. */
  readonly onReturn?: () => void
}

interface Waiter<T> {
  readonly resolve: (result: IteratorResult<T>) => void
  readonly reject: (error: unknown) => void
}

const DONE: IteratorResult<never> = { value: undefined, done: true }

/** Creates a {@link Channel}. */
export const createChannel = <T>(hooks: ChannelHooks = {}): Channel<T> => {
  let buffer: T[] = []
  let head = 0
  let finished = false
  let failure: { readonly error: unknown } | undefined
  let returned = false
  const waiters: Waiter<T>[] = []

  const take = (): T | undefined => {
    if (head >= buffer.length) return undefined
    const item = buffer[head] as T
    buffer[head++] = undefined as T
    // Compact now and then so a long stream does not keep what it delivered.
    if (head > 1024 && head * 2 > buffer.length) {
      buffer = buffer.slice(head)
      head = 0
    }
    return item
  }

  const settle = (): void => {
    while (waiters.length > 0) {
      if (head < buffer.length) {
        const waiter = waiters.shift() as Waiter<T>
        waiter.resolve({ value: take() as T, done: false })
        continue
      }
      if (!finished) return
      const waiter = waiters.shift() as Waiter<T>
      if (failure !== undefined) {
        const { error } = failure
        failure = undefined
        waiter.reject(error)
      } else {
        waiter.resolve(DONE)
      }
    }
  }

  const next = (): Promise<IteratorResult<T>> => {
    if (waiters.length === 0) {
      if (head < buffer.length) return Promise.resolve({ value: take() as T, done: false })
      if (finished && failure === undefined) return Promise.resolve(DONE)
    }
    return new Promise((resolve, reject) => {
      waiters.push({ resolve, reject })
      settle()
    })
  }

  const iterator: AsyncIterator<T> = {
    next,
    return: () => {
      const first = !returned
      returned = true
      finished = true
      failure = undefined
      buffer = []
      head = 0
      settle()
      if (first) hooks.onReturn?.()
      return Promise.resolve(DONE)
    },
  }

  return {
    push(item) {
      if (finished) return
      buffer.push(item)
      settle()
    },
    end() {
      if (finished) return
      finished = true
      settle()
    },
    fail(error) {
      if (finished) return
      finished = true
      failure = { error }
      settle()
    },
    retain(keep) {
      const kept = buffer.slice(head).filter(keep)
      buffer = kept
      head = 0
    },
    get done() {
      return finished
    },
    get buffered() {
      return buffer.length - head
    },
    [Symbol.asyncIterator]: () => iterator,
  }
}
