/**
 * The bounded store of a session's 24 kHz mono input audio, addressed by absolute sample
 * offsets on the session's timeline (sample 0 is the first sample ever pushed). It is the
 * replay buffer (audio a reconnect must send again) and the send queue (audio not yet on
 * the wire) in one: a single copy of each sample, kept until the session says it is no
 * longer needed.
 *
 * Storage is a ring of fixed-size chunks: sample `s` lives in chunk `⌊s / chunk⌋` at
 * `s mod chunk`. A chunk is taken when the head enters it and given back to the buffer's
 * free list when the tail leaves it, so the steady state allocates nothing and memory never
 * exceeds the capacity plus two chunks; nothing is ever copied to grow.
 * @module
 */
import { Buffer } from "node:buffer"

/** Options of {@link createReplayBuffer}. */
export interface ReplayBufferOptions {
  /** Most samples retained; older samples are dropped first when a push exceeds it. */
  readonly capacitySamples: number
  /** Samples per storage chunk (default 200 ms at 24 kHz, or the capacity if smaller). */
  readonly chunkSamples?: number
  /** @deprecated Storage is chunked: read as `chunkSamples` when that is not given. */
  readonly initialSamples?: number
}

/** What a push did to the retained window. */
export interface ReplayPushResult {
  /** Samples dropped from the front because the capacity was exceeded (0 normally). */
  readonly droppedSamples: number
}

/**
 * A chunked ring of PCM16 samples over an absolute sample timeline.
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
   * The samples `[from, to)`. Returns a view into the ring when the range lies in one chunk,
   * otherwise a copy in a scratch array reused by the next call: consume it before the next
   * `view` or `push`.
   *
   * @throws {RangeError} when `[from, to)` is not inside `[startSample, endSample]`
   */
  view(from: number, to: number): Int16Array
  /**
   * A copy of the samples `[from, to)` that stays valid (for keeping, e.g. audio not yet
   * acknowledged by the server, saved with a session).
   *
   * @throws {RangeError} when `[from, to)` is not inside `[startSample, endSample]`
   */
  copy(from: number, to: number): Int16Array
  /** Drops every retained sample before `sample` (clamped to the window); never moves backwards. */
  release(sample: number): void
  /** Drops everything retained; `endSample` stays, so offsets remain comparable. */
  clear(): void
}

const DEFAULT_CHUNK_SAMPLES = 4_800

/**
 * A chunk's memory, not zero-filled: a chunk is only ever read inside the retained window,
 * every sample of which was written by a push first, so the fill would be wasted work (and
 * every session allocates a chunk each 200 ms while its window grows).
 */
const newChunk = (samples: number): Int16Array => {
  const bytes = Buffer.allocUnsafeSlow(samples * 2)
  return new Int16Array(bytes.buffer, bytes.byteOffset, samples)
}

/**
 * Creates a {@link ReplayBuffer}. Memory grows with use, one chunk at a time, up to about
 * `capacitySamples × 2` bytes.
 *
 * @throws {RangeError} when `capacitySamples` or `chunkSamples` is not a positive integer
 */
export const createReplayBuffer = (options: ReplayBufferOptions): ReplayBuffer => {
  const capacity = options.capacitySamples
  if (!Number.isInteger(capacity) || capacity <= 0) {
    throw new RangeError(`capacitySamples must be a positive integer, got ${capacity}`)
  }
  const chunk = options.chunkSamples ?? Math.min(capacity, options.initialSamples ?? DEFAULT_CHUNK_SAMPLES)
  if (!Number.isInteger(chunk) || chunk <= 0) {
    throw new RangeError(`chunkSamples must be a positive integer, got ${chunk}`)
  }
  // chunks[j] holds chunk number firstChunk + j; it covers [start, end) and nothing else.
  const chunks: Int16Array[] = []
  const free: Int16Array[] = []
  let firstChunk = 0
  let start = 0
  let end = 0
  let scratch = new Int16Array(0)

  const take = (): Int16Array => free.pop() ?? newChunk(chunk)

  /** Gives back the chunks wholly before `start`. */
  const trim = (): void => {
    const keepFrom = Math.floor(start / chunk)
    while (firstChunk < keepFrom && chunks.length > 0) {
      free.push(chunks.shift() as Int16Array)
      firstChunk++
    }
    if (chunks.length === 0) firstChunk = Math.floor(end / chunk)
  }

  /** Copies `[from, to)` into `target` from index 0. */
  const copyInto = (from: number, to: number, target: Int16Array): void => {
    let s = from
    let o = 0
    while (s < to) {
      const c = Math.floor(s / chunk)
      const at = s - c * chunk
      const n = Math.min(to - s, chunk - at)
      const data = chunks[c - firstChunk] as Int16Array
      target.set(n === chunk ? data : data.subarray(at, at + n), o)
      s += n
      o += n
    }
  }

  const check = (from: number, to: number): void => {
    if (!(from >= start && to <= end && from <= to)) {
      throw new RangeError(`samples [${from}, ${to}) are outside the retained window [${start}, ${end})`)
    }
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
      let skip = 0
      // More than the whole capacity in one push: only its tail can be kept.
      if (n > capacity) {
        skip = n - capacity
        dropped += end - start + skip
        end += skip
        start = end
        trim()
      }
      const length = n - skip
      const overflow = end - start + length - capacity
      if (overflow > 0) {
        start += overflow
        dropped += overflow
        trim()
      }
      let s = end
      let i = skip
      while (i < n) {
        const c = Math.floor(s / chunk)
        const at = s - c * chunk
        if (c - firstChunk === chunks.length) chunks.push(take())
        const m = Math.min(n - i, chunk - at)
        ;(chunks[c - firstChunk] as Int16Array).set(
          i === 0 && m === n ? samples : samples.subarray(i, i + m),
          at,
        )
        s += m
        i += m
      }
      end = s
      return { droppedSamples: dropped }
    },
    view(from, to) {
      check(from, to)
      const count = to - from
      const c = Math.floor(from / chunk)
      const at = from - c * chunk
      if (at + count <= chunk) {
        const data = chunks[c - firstChunk]
        if (data === undefined) return scratch.subarray(0, 0)
        return data.subarray(at, at + count)
      }
      if (scratch.length < count) scratch = new Int16Array(count)
      const out = scratch.subarray(0, count)
      copyInto(from, to, out)
      return out
    },
    copy(from, to) {
      check(from, to)
      const out = new Int16Array(to - from)
      copyInto(from, to, out)
      return out
    },
    release(sample) {
      if (sample <= start) return
      start = Math.min(sample, end)
      trim()
    },
    clear() {
      start = end
      trim()
    },
  }
}
