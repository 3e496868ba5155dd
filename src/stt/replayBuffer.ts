/**
 * The bounded store of a session's 24 kHz mono input audio, addressed by absolute sample
 * offsets on the session's timeline (sample 0 is the first sample ever pushed). It is the
 * replay buffer (audio a reconnect must send again) and the send queue (audio not yet on
 * the wire) in one: a single copy of each sample, kept until the session says it is no
 * longer needed.
 * @module
 */

/** Options of {@link createReplayBuffer}. */
export interface ReplayBufferOptions {
  /** Most samples retained; older samples are dropped first when a push exceeds it. */
  readonly capacitySamples: number
  /** Samples allocated up front (default 1 s at 24 kHz, or the capacity if smaller); grows by doubling. */
  readonly initialSamples?: number
}

/** What a push did to the retained window. */
export interface ReplayPushResult {
  /** Samples dropped from the front because the capacity was exceeded (0 normally). */
  readonly droppedSamples: number
}

/**
 * A growable ring of PCM16 samples over an absolute sample timeline.
 *
 * `startSample ≤ endSample`; `endSample − startSample ≤ capacitySamples`. Offsets are plain
 * numbers (exact up to 2^53 samples, about 12 000 years at 24 kHz).
 */
export interface ReplayBuffer {
  /** The bound given at creation, in samples. */
  readonly capacitySamples: number
  /** The oldest retained sample. */
  readonly startSample: number
  /** One past the newest sample: the total number of samples ever pushed. */
  readonly endSample: number
  /**
   * Appends samples at `endSample`. When the retained window would exceed the capacity the
   * oldest samples are dropped, and the count is returned so the caller can report it.
   */
  push(samples: Int16Array): ReplayPushResult
  /**
   * The samples `[from, to)`. Returns a view into the ring when the range is contiguous,
   * otherwise a copy in a scratch array reused by the next call: consume it before the next
   * `view` or `push`.
   *
   * @throws {RangeError} when `[from, to)` is not inside `[startSample, endSample]`
   */
  view(from: number, to: number): Int16Array
  /** Drops every retained sample before `sample` (clamped to the window); never moves backwards. */
  release(sample: number): void
  /** Drops everything retained; `endSample` stays, so offsets remain comparable. */
  clear(): void
}

const DEFAULT_INITIAL_SAMPLES = 24_000

/**
 * Creates a {@link ReplayBuffer}. Memory grows with use, up to `capacitySamples × 2` bytes.
 *
 * @throws {RangeError} when `capacitySamples` is not a positive integer
 */
export const createReplayBuffer = (options: ReplayBufferOptions): ReplayBuffer => {
  const capacity = options.capacitySamples
  if (!Number.isInteger(capacity) || capacity <= 0) {
    throw new RangeError(`capacitySamples must be a positive integer, got ${capacity}`)
  }
  let ring = new Int16Array(
    Math.max(1, Math.min(capacity, options.initialSamples ?? DEFAULT_INITIAL_SAMPLES)),
  )
  let scratch = new Int16Array(0)
  let start = 0
  let end = 0

  const indexOf = (sample: number): number => sample % ring.length

  const grow = (needed: number): void => {
    let size = ring.length
    while (size < needed) size *= 2
    size = Math.min(size, capacity)
    if (size === ring.length) return
    const count = end - start
    const window = new Int16Array(count)
    copyOut(start, end, window)
    ring = new Int16Array(size)
    // Sample `s` lives at index `s % size`, so the window is re-homed, not copied to 0.
    const at = start % size
    const first = Math.min(count, size - at)
    ring.set(window.subarray(0, first), at)
    if (first < count) ring.set(window.subarray(first), 0)
  }

  /** Copies `[from, to)` out of the ring into `target` (from index 0). */
  const copyOut = (from: number, to: number, target: Int16Array): void => {
    const count = to - from
    if (count <= 0) return
    const at = indexOf(from)
    const first = Math.min(count, ring.length - at)
    target.set(ring.subarray(at, at + first), 0)
    if (first < count) target.set(ring.subarray(0, count - first), first)
  }

  return {
    capacitySamples: capacity,
    get startSample() {
      return start
    },
    get endSample() {
      return end
    },
    push(samples) {
      const n = samples.length
      if (n === 0) return { droppedSamples: 0 }
      let dropped = 0
      // More than the whole capacity in one push: only its tail can be kept.
      let input = samples
      if (n > capacity) {
        const skip = n - capacity
        dropped += end - start + skip
        end += skip
        start = end
        input = samples.subarray(skip)
      }
      const retained = end - start
      if (retained + input.length > ring.length) grow(retained + input.length)
      const overflow = end - start + input.length - capacity
      if (overflow > 0) {
        start += overflow
        dropped += overflow
      }
      const at = indexOf(end)
      const first = Math.min(input.length, ring.length - at)
      ring.set(input.subarray(0, first), at)
      if (first < input.length) ring.set(input.subarray(first), 0)
      end += input.length
      return { droppedSamples: dropped }
    },
    view(from, to) {
      if (!(from >= start && to <= end && from <= to)) {
        throw new RangeError(`samples [${from}, ${to}) are outside the retained window [${start}, ${end})`)
      }
      const count = to - from
      const at = indexOf(from)
      if (at + count <= ring.length) return ring.subarray(at, at + count)
      if (scratch.length < count) scratch = new Int16Array(count)
      const out = scratch.subarray(0, count)
      copyOut(from, to, out)
      return out
    },
    release(sample) {
      if (sample > start) start = Math.min(sample, end)
    },
    clear() {
      start = end
    },
  }
}
