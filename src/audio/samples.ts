/**
 * Plain arrays of mono PCM16 samples: concatenation, and a store of recent audio addressed
 * by absolute sample offsets (the StreamAdapter's segment audio, the simulator's input
 * audio buffer).
 * @module
 */

/** The samples of `parts` one after the other, in a new array (also for a single part). */
export const concatPcm16 = (parts: readonly Int16Array[]): Int16Array => {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Int16Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/**
 * Recent mono audio of a stream, addressed by absolute sample offsets (sample 0 is the first
 * sample ever pushed). Pushed arrays are kept as they are, not copied: the caller must not
 * change them afterwards. Unbounded: the owner trims what it no longer needs.
 * @internal
 */
export interface SampleStore {
  /** Appends `samples` at `end` (kept by reference). */
  push(samples: Int16Array): void
  /** Samples `[from, to)`, clamped to `[start, end)`, as a fresh array. */
  slice(from: number, to: number): Int16Array
  /** Forgets the samples before `offset` (never moves backwards, never past `end`). */
  trimBefore(offset: number): void
  /** The oldest sample kept. */
  readonly start: number
  /** One past the newest sample: the number of samples ever pushed. */
  readonly end: number
}

/**
 * Creates an empty {@link SampleStore}.
 * @internal
 */
export const createSampleStore = (): SampleStore => {
  const chunks: { readonly at: number; readonly data: Int16Array }[] = []
  let start = 0
  let end = 0
  return {
    push(samples) {
      if (samples.length === 0) return
      chunks.push({ at: end, data: samples })
      end += samples.length
    },
    slice(from, to) {
      const lo = Math.max(from, start)
      const hi = Math.min(to, end)
      const out = new Int16Array(Math.max(0, hi - lo))
      for (const chunk of chunks) {
        if (chunk.at >= hi) break
        const chunkEnd = chunk.at + chunk.data.length
        if (chunkEnd <= lo) continue
        const a = Math.max(lo, chunk.at)
        const b = Math.min(hi, chunkEnd)
        out.set(chunk.data.subarray(a - chunk.at, b - chunk.at), a - lo)
      }
      return out
    },
    trimBefore(offset) {
      while (chunks.length > 0) {
        const first = chunks[0]!
        if (first.at + first.data.length > offset) break
        chunks.shift()
      }
      start = Math.max(start, Math.min(offset, end))
    },
    get start() {
      return start
    },
    get end() {
      return end
    },
  }
}
