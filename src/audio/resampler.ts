import { audioError } from "./AudioError.ts"
import { halfBandFilter, polyphaseReach, polyphaseTable, type ResamplerQuality } from "./filterDesign.ts"
import { halfBandDecimateSimd, halfBandInterpolateSimd, simdAvailable } from "./halfBandSimd.ts"
import { toPcm16 } from "./rounding.ts"

export type { ResamplerQuality } from "./filterDesign.ts"

/** Options of {@link createResampler}. */
export interface ResamplerOptions {
  /** Input sample rate in Hz (a positive integer). */
  readonly fromHz: number
  /** Output sample rate in Hz (a positive integer). */
  readonly toHz: number
  /**
   * Filter length trade-off (default `"high"`). `"high"` reaches the PCM16 floor
   * (for 48 → 24 kHz: alias ≤ -90 dB above 13 kHz, flat to 10 kHz); `"medium"` (80 dB)
   * and `"low"` (60 dB, wider transition band) are shorter and cheaper.
   */
  readonly quality?: ResamplerQuality
}

/**
 * A streaming mono PCM16 sample-rate converter. Output sample k is the input signal
 * at time k·fromHz/toHz (no delay: the filter delay is compensated), so for any
 * chunking of the same input the concatenated outputs of `push` and `flush` are
 * bit-identical, and their total length is ⌈inputLength · toHz / fromHz⌉.
 */
export interface Resampler {
  /** Input sample rate, Hz. */
  readonly fromHz: number
  /** Output sample rate, Hz. */
  readonly toHz: number
  /** The filter preset in use. */
  readonly quality: ResamplerQuality
  /**
   * Latency in input samples: `push` holds back the last `delaySamples` input samples
   * (the filter's look-ahead) until more input or `flush` arrives. 0 for a pass-through.
   */
  readonly delaySamples: number
  /** Converts the next chunk of mono samples; returns every output sample that is ready (a fresh array). */
  push(samples: Int16Array): Int16Array
  /** Ends the stream: returns the held-back tail (input continued with silence) and resets. */
  flush(): Int16Array
  /** Forgets all state, ready for a new stream. */
  reset(): void
}

/**
 * The engine shared by {@link createResampler} and the PCM converter: a float input
 * buffer that callers write into directly (so mixdown needs no intermediate array),
 * and a kernel that turns it into output samples.
 * @internal
 */
export interface ResamplerCore {
  /** The input buffer; valid until the next `reserve`. */
  buffer: Float64Array
  /** Makes room for `n` more input samples and returns the buffer index to write them at. */
  reserve(n: number): number
  /** Declares `n` samples written at the index `reserve` returned, and returns the ready output. */
  commit(n: number): Int16Array
  /**
   * As `commit`, but the output is a view of an array the core reuses: valid until the next
   * call of the core. The steady path of a session allocates no output array this way.
   */
  commitView(n: number): Int16Array
  /** As `Resampler.flush`. */
  flush(): Int16Array
  /** As `Resampler.reset`. */
  reset(): void
  /** As `Resampler.delaySamples`. */
  readonly delaySamples: number
}

const gcd = (a: number, b: number): number => {
  while (b !== 0) {
    const t = a % b
    a = b
    b = t
  }
  return a
}

// The largest polyphase table built (phases × taps, 2 MiB of coefficients); rate pairs
// whose reduced ratio needs more (e.g. 44100 ↔ 44101) are refused rather than allowed to
// allocate without bound. The common rates from 8 to 96 kHz need at most about 100 000 (11025 → 32000).
const maxTableSize = 1 << 18

/** Writes `n` outputs starting at the current position, then advances the position. */
type Kernel = (buf: Float64Array, base: number, out: Int16Array, n: number) => void

const emptyOutput = new Int16Array(0)

/**
 * 2:1 half-band decimation: out[o] = ½·x[s+2o] + Σ c_j·(x[s+2o-2j-1] + x[s+2o+2j+1]).
 * Four outputs at a time: their taps overlap, so each step over j loads one new sample on
 * each side and rotates the rest through locals (a third of the loads of the plain loop).
 */
const halfBandDecimate = (buf: Float64Array, s: number, out: Int16Array, n: number, odd: Float64Array) => {
  const count = odd.length
  let o = 0
  for (; o + 3 < n; o += 4, s += 8) {
    let a0 = 0.5 * buf[s]!
    let a1 = 0.5 * buf[s + 2]!
    let a2 = 0.5 * buf[s + 4]!
    let a3 = 0.5 * buf[s + 6]!
    // At step j output q reads x[s+2q-2j-1] (low side) and x[s+2q+2j+1] (high side).
    let l1 = buf[s + 1]!
    let l2 = buf[s + 3]!
    let l3 = buf[s + 5]!
    let h0 = l1
    let h1 = l2
    let h2 = l3
    let lo = s - 1
    let hi = s + 7
    for (let j = 0; j < count; j++, lo -= 2, hi += 2) {
      const c = odd[j]!
      const l0 = buf[lo]!
      const h3 = buf[hi]!
      a0 += c * (l0 + h0)
      a1 += c * (l1 + h1)
      a2 += c * (l2 + h2)
      a3 += c * (l3 + h3)
      l3 = l2
      l2 = l1
      l1 = l0
      h0 = h1
      h1 = h2
      h2 = h3
    }
    out[o] = toPcm16(a0)
    out[o + 1] = toPcm16(a1)
    out[o + 2] = toPcm16(a2)
    out[o + 3] = toPcm16(a3)
  }
  for (; o < n; o++, s += 2) {
    let acc = 0.5 * buf[s]!
    let lo = s - 1
    let hi = s + 1
    for (let j = 0; j < count; j++, lo -= 2, hi += 2) acc += odd[j]! * (buf[lo]! + buf[hi]!)
    out[o] = toPcm16(acc)
  }
}

/** The 1:2 half-band interpolator's value halfway between x[s] and x[s+1]. */
const halfBandMidpoint = (buf: Float64Array, s: number, twice: Float64Array): number => {
  let acc = 0
  let lo = s
  let hi = s + 1
  for (let j = 0; j < twice.length; j++, lo--, hi++) acc += twice[j]! * (buf[lo]! + buf[hi]!)
  return toPcm16(acc)
}

/**
 * 1:2 half-band interpolation of `pairs` input samples from x[s]: out[o+2q] = x[s+q] and
 * out[o+2q+1] = Σ t_j·(x[s+q-j] + x[s+q+1+j]); four midpoints at a time as in the decimator.
 */
const halfBandInterpolate = (
  buf: Float64Array,
  s: number,
  out: Int16Array,
  o: number,
  pairs: number,
  twice: Float64Array,
) => {
  const count = twice.length
  let q = 0
  for (; q + 3 < pairs; q += 4, s += 4, o += 8) {
    // At step j midpoint r reads x[s+r-j] (low side) and x[s+r+1+j] (high side).
    let l1 = buf[s + 1]!
    let l2 = buf[s + 2]!
    let l3 = buf[s + 3]!
    let h0 = l1
    let h1 = l2
    let h2 = l3
    let a0 = 0
    let a1 = 0
    let a2 = 0
    let a3 = 0
    let lo = s
    let hi = s + 4
    for (let j = 0; j < count; j++, lo--, hi++) {
      const c = twice[j]!
      const l0 = buf[lo]!
      const h3 = buf[hi]!
      a0 += c * (l0 + h0)
      a1 += c * (l1 + h1)
      a2 += c * (l2 + h2)
      a3 += c * (l3 + h3)
      l3 = l2
      l2 = l1
      l1 = l0
      h0 = h1
      h1 = h2
      h2 = h3
    }
    out[o] = buf[s]!
    out[o + 1] = toPcm16(a0)
    out[o + 2] = buf[s + 1]!
    out[o + 3] = toPcm16(a1)
    out[o + 4] = buf[s + 2]!
    out[o + 5] = toPcm16(a2)
    out[o + 6] = buf[s + 3]!
    out[o + 7] = toPcm16(a3)
  }
  for (; q < pairs; q++, s++, o += 2) {
    out[o] = buf[s]!
    out[o + 1] = halfBandMidpoint(buf, s, twice)
  }
}

const checkRate = (name: string, hz: number) => {
  if (!Number.isInteger(hz) || hz <= 0) {
    throw audioError("InvalidSampleRate", `${name} must be a positive integer in Hz, got ${hz}`)
  }
}

/**
 * Builds the resampling engine for a rate pair. `simd: false` forces the scalar kernels
 * of the 2:1 paths (they give the same output; tests compare the two).
 * @internal
 * @throws {AudioError} `InvalidSampleRate`, `UnsupportedRate`
 */
export const createResamplerCore = (
  fromHz: number,
  toHz: number,
  quality: ResamplerQuality,
  simd = true,
): ResamplerCore => {
  checkRate("fromHz", fromHz)
  checkRate("toHz", toHz)
  const g = gcd(fromHz, toHz)
  const L = toHz / g
  const M = fromHz / g
  // Position of the next output k: i = ⌊k·M/L⌋ (an input index), p = k·M mod L (its phase).
  let i = 0
  let p = 0
  // Output k needs input samples [i - back, i + look].
  let back: number
  let look: number
  let kernel: Kernel
  if (L === M) {
    back = 0
    look = 0
    kernel = (buf, base, out, n) => {
      const s = i - base
      for (let o = 0; o < n; o++) out[o] = buf[s + o]!
      i += n
    }
  } else if (L === 1 && M === 2) {
    const { odd, lastTap } = halfBandFilter(quality)
    const decimate = simd && simdAvailable ? halfBandDecimateSimd : halfBandDecimate
    back = lastTap
    look = lastTap
    kernel = (buf, base, out, n) => {
      decimate(buf, i - base, out, n, odd)
      i += 2 * n
    }
  } else if (L === 2 && M === 1) {
    const { odd } = halfBandFilter(quality)
    // Interpolation gain 2: the even outputs are the input samples themselves.
    const twice = odd.map((c) => 2 * c)
    const interpolate = simd && simdAvailable ? halfBandInterpolateSimd : halfBandInterpolate
    back = odd.length - 1
    look = odd.length
    kernel = (buf, base, out, n) => {
      const s = i - base
      let o = 0
      if (p === 1 && n > 0) {
        out[o++] = halfBandMidpoint(buf, s, twice)
      }
      // Outputs o, o+2, … sit on input samples s', s'+1, …; o+1, o+3, … halfway after them.
      const first = p === 1 ? s + 1 : s
      const pairs = (n - o) >> 1
      interpolate(buf, first, out, o, pairs, twice)
      o += 2 * pairs
      if (o < n) out[o] = buf[first + pairs]!
      i += (p + n) >> 1
      p = (p + n) & 1
    }
  } else {
    const size = L * 2 * polyphaseReach(L, M, quality)
    if (size > maxTableSize) {
      throw audioError(
        "UnsupportedRate",
        `${fromHz} Hz → ${toHz} Hz reduces to ${L}/${M}, which needs ${size} filter coefficients (limit ${maxTableSize})`,
      )
    }
    const { table, taps, reach } = polyphaseTable(L, M, quality)
    back = reach - 1
    look = reach
    const di = Math.floor(M / L)
    const dp = M % L
    kernel = (buf, base, out, n) => {
      let s = i - reach + 1 - base
      let phase = p
      for (let o = 0; o < n; o++) {
        const r = phase * taps
        let acc = 0
        for (let t = 0; t < taps; t++) acc += buf[s + t]! * table[r + t]!
        out[o] = toPcm16(acc)
        phase += dp
        s += di
        if (phase >= L) {
          phase -= L
          s++
        }
      }
      i = s + reach - 1 + base
      p = phase
    }
  }

  // buffer[0] holds input sample `base` (negative indices are the silence before the start).
  let buffer = new Float64Array(Math.max(1024, 4 * (back + look + 1)))
  let base = -back
  let total = 0 // input samples committed
  let k = 0 // next output index
  let reserved = 0

  /** Outputs k with ⌊k·M/L⌋ < limit, i.e. k < ⌈limit·L/M⌉. */
  const outputsBefore = (limit: number) => (limit <= 0 ? 0 : Math.floor((limit * L + M - 1) / M))

  const ensure = (end: number) => {
    if (end - base <= buffer.length) return
    const grown = new Float64Array(Math.max(2 * buffer.length, end - base))
    grown.set(buffer.subarray(0, total - base))
    buffer = grown
    core.buffer = grown
  }

  // The reused output of `commitView`, and its last view (a steady frame size reuses it too).
  let scratch = new Int16Array(0)
  let scratchView = scratch

  const outputOf = (n: number, reuse: boolean): Int16Array => {
    if (!reuse) return new Int16Array(n)
    if (scratchView.length === n) return scratchView
    if (scratch.length < n) scratch = new Int16Array(Math.max(n, 2 * scratch.length))
    scratchView = scratch.subarray(0, n)
    return scratchView
  }

  const run = (kEnd: number, reuse = false): Int16Array => {
    const n = kEnd - k
    if (n <= 0) return emptyOutput
    const out = outputOf(n, reuse)
    kernel(buffer, base, out, n)
    k = kEnd
    // Drop input no later output can reach.
    const shift = i - back - base
    if (shift > 0) {
      buffer.copyWithin(0, shift, total - base)
      base += shift
    }
    return out
  }

  const reset = () => {
    // Only buffer[0, back) is ever read before being written: it is the silence before the start.
    buffer.fill(0, 0, back)
    base = -back
    total = 0
    k = 0
    i = 0
    p = 0
    reserved = 0
  }

  const core: ResamplerCore = {
    buffer,
    delaySamples: look,
    reserve(n) {
      ensure(total + n)
      reserved = n
      return total - base
    },
    commit(n) {
      if (n > reserved) throw new RangeError(`committed ${n} samples, reserved ${reserved}`)
      total += n
      reserved = 0
      return run(outputsBefore(total - look))
    },
    commitView(n) {
      if (n > reserved) throw new RangeError(`committed ${n} samples, reserved ${reserved}`)
      total += n
      reserved = 0
      return run(outputsBefore(total - look), true)
    },
    flush() {
      const kEnd = outputsBefore(total)
      if (kEnd <= k) {
        reset()
        return emptyOutput
      }
      // The last output reads up to input ⌊(kEnd-1)·M/L⌋ + look: continue the input with silence.
      const end = Math.floor(((kEnd - 1) * M) / L) + look + 1
      ensure(end)
      buffer.fill(0, total - base, end - base)
      const out = run(kEnd)
      reset()
      return out
    },
    reset,
  }
  return core
}

/**
 * Creates a streaming mono {@link Resampler}: polyphase Kaiser-windowed sinc for any
 * rational ratio (44100 → 24000 is 160/147), a half-band fast path for 2:1 and 1:2
 * (WebAssembly SIMD where available, else scalar code with identical output), and a copy
 * when `fromHz === toHz`. Output is rounded to the nearest integer and
 * clipped to PCM16 (no dither). Coefficient tables are cached per (ratio, quality).
 *
 * @throws {AudioError} `InvalidSampleRate` for a rate that is not a positive integer;
 *   `UnsupportedRate` when the reduced ratio needs an unreasonably large table
 */
export const createResampler = (options: ResamplerOptions): Resampler => {
  const { fromHz, toHz, quality = "high" } = options
  const core = createResamplerCore(fromHz, toHz, quality)
  return {
    fromHz,
    toHz,
    quality,
    delaySamples: core.delaySamples,
    push(samples) {
      const at = core.reserve(samples.length)
      core.buffer.set(samples, at)
      return core.commit(samples.length)
    },
    flush: () => core.flush(),
    reset: () => core.reset(),
  }
}
