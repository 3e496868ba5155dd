/**
 * Test-signal generation and measurement shared by the audio tests and the resampler
 * benchmark: tones, least-squares tone fits, SNR, alias level, gain and delay.
 */

/** A sine tone of `amplitude` (in PCM16 units) rounded to PCM16, phase 0 at sample 0. */
export const tone = (
  frequencyHz: number,
  sampleRateHz: number,
  length: number,
  amplitude: number,
): Int16Array => {
  const out = new Int16Array(length)
  const w = (2 * Math.PI * frequencyHz) / sampleRateHz
  for (let n = 0; n < length; n++) out[n] = Math.round(amplitude * Math.sin(w * n))
  return out
}

/** A tone fitted by least squares: `amplitude·sin(2πf·n/rate + phase)` plus a residual. */
export interface ToneFit {
  readonly amplitude: number
  /** Radians, relative to a sine that is 0 at sample 0. */
  readonly phase: number
  /** Mean square of what remains after removing the fitted tone and DC. */
  readonly residualPower: number
}

/**
 * Fits a sinusoid of known frequency (and a DC term) to `samples[start, end)` by least
 * squares; the span should hold many periods and skip the filter's start-up and tail.
 */
export const fitTone = (
  samples: ArrayLike<number>,
  frequencyHz: number,
  sampleRateHz: number,
  start: number,
  end: number,
): ToneFit => {
  const w = (2 * Math.PI * frequencyHz) / sampleRateHz
  // Normal equations for [sin, cos, 1].
  let ss = 0
  let sc = 0
  let s1 = 0
  let cc = 0
  let c1 = 0
  let n1 = 0
  let ys = 0
  let yc = 0
  let y1 = 0
  for (let n = start; n < end; n++) {
    const s = Math.sin(w * n)
    const c = Math.cos(w * n)
    const y = samples[n]!
    ss += s * s
    sc += s * c
    s1 += s
    cc += c * c
    c1 += c
    n1 += 1
    ys += y * s
    yc += y * c
    y1 += y
  }
  const [a, b, d] = solve3(
    [
      [ss, sc, s1],
      [sc, cc, c1],
      [s1, c1, n1],
    ],
    [ys, yc, y1],
  )
  let residual = 0
  for (let n = start; n < end; n++) {
    const e = samples[n]! - (a * Math.sin(w * n) + b * Math.cos(w * n) + d)
    residual += e * e
  }
  return { amplitude: Math.hypot(a, b), phase: Math.atan2(b, a), residualPower: residual / (end - start) }
}

const solve3 = (m: number[][], v: number[]): [number, number, number] => {
  const a = m.map((row, r) => [...row, v[r]!])
  for (let c = 0; c < 3; c++) {
    let pivot = c
    for (let r = c + 1; r < 3; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[pivot]![c]!)) pivot = r
    ;[a[c], a[pivot]] = [a[pivot]!, a[c]!]
    for (let r = 0; r < 3; r++) {
      if (r === c) continue
      const f = a[r]![c]! / a[c]![c]!
      for (let k = c; k < 4; k++) a[r]![k]! -= f * a[c]![k]!
    }
  }
  return [a[0]![3]! / a[0]![0]!, a[1]![3]! / a[1]![1]!, a[2]![3]! / a[2]![2]!]
}

/** A resampling function under measurement: whole mono input in, whole output out. */
export type ResampleFn = (input: Int16Array) => ArrayLike<number>

const toDb = (ratio: number) => 20 * Math.log10(ratio)

/** The measured figures of a resampler for one rate pair. */
export interface QualityFigures {
  /** SNR (dB) of a -6 dBFS 997 Hz tone: fitted tone power over residual power. */
  readonly snrDb: number
  /**
   * The worst alias (dB relative to the input tone) over 0 dBFS tones from 13/24 of the
   * output rate (the stopband edge) to 23/48 of the input rate: 13–23 kHz for 48 → 24 kHz.
   * `-Infinity` when there is no such tone (upsampling).
   */
  readonly worstAliasDb: number
  /** Frequency of the worst alias's input tone, Hz. */
  readonly worstAliasHz: number
  /** Gain at 10 kHz in dB; NaN when 10 kHz is above 0.45 of the lower rate. */
  readonly gain10kDb: number
  /** Delay of the output relative to the input, from a tone's phase, in milliseconds. */
  readonly groupDelayMs: number
}

/** How much of each edge to ignore when measuring (filter start-up and tail transients). */
const edgeS = 0.05

/**
 * Measures the figures of {@link QualityFigures} for a `fromHz` → `toHz` resampler,
 * from `seconds` of each test tone.
 */
export const measureQuality = (
  resample: ResampleFn,
  fromHz: number,
  toHz: number,
  seconds = 1,
): QualityFigures => {
  const n = Math.round(fromHz * seconds)
  const span = (x: ArrayLike<number>) =>
    [Math.round(edgeS * toHz), x.length - Math.round(edgeS * toHz)] as const

  const amp6 = 32768 / 2
  const out997 = resample(tone(997, fromHz, n, amp6))
  const [a, b] = span(out997)
  const fit997 = fitTone(out997, 997, toHz, a, b)
  const snrDb = 10 * Math.log10((fit997.amplitude * fit997.amplitude) / 2 / fit997.residualPower)

  let gain10kDb = Number.NaN
  if (10_000 <= 0.45 * Math.min(fromHz, toHz)) {
    const out10k = resample(tone(10_000, fromHz, n, amp6))
    const fit10k = fitTone(out10k, 10_000, toHz, ...span(out10k))
    gain10kDb = toDb(fit10k.amplitude / amp6)
  }

  // Phase of a 1 kHz tone at the output relative to the input (which has phase 0 at t = 0).
  const f = 1000
  const out1k = resample(tone(f, fromHz, n, amp6))
  const fit1k = fitTone(out1k, f, toHz, ...span(out1k))
  let dphi = -fit1k.phase
  while (dphi > Math.PI) dphi -= 2 * Math.PI
  while (dphi < -Math.PI) dphi += 2 * Math.PI
  const groupDelayMs = (dphi / (2 * Math.PI * f)) * 1000

  // Tones from 13/24 of the output rate (13 kHz for 24 kHz out: the stopband edge) to 23/48
  // of the input rate (23 kHz for 48 kHz in), read at the frequency they fold to.
  let worstAliasDb = Number.NEGATIVE_INFINITY
  let worstAliasHz = 0
  const full = 32767
  const lo = (13 / 24) * toHz
  const hi = (23 / 48) * fromHz
  for (let step = 0; step <= 20 && lo <= hi; step++) {
    const fa = lo + ((hi - lo) * step) / 20
    const folded = Math.abs(fa - toHz * Math.round(fa / toHz))
    const out = resample(tone(fa, fromHz, n, full))
    const fit = fitTone(out, folded, toHz, ...span(out))
    const db = toDb(Math.max(fit.amplitude, 1e-12) / full)
    if (db > worstAliasDb) {
      worstAliasDb = db
      worstAliasHz = fa
    }
  }
  return { snrDb, worstAliasDb, worstAliasHz, gain10kDb, groupDelayMs }
}

/** A small seeded PRNG (mulberry32) giving floats in [0, 1), so random tests are reproducible. */
export const random = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Uniform white noise in [-amplitude, amplitude], PCM16. */
export const noise = (length: number, amplitude: number, seed: number): Int16Array => {
  const rnd = random(seed)
  const out = new Int16Array(length)
  for (let i = 0; i < length; i++) out[i] = Math.round((rnd() * 2 - 1) * amplitude)
  return out
}

/** Splits `length` into random chunk sizes between 0 and `maxChunk` (empty chunks included). */
export const randomChunks = (length: number, maxChunk: number, seed: number): number[] => {
  const rnd = random(seed)
  const sizes: number[] = []
  let left = length
  while (left > 0) {
    const size = Math.min(left, Math.floor(rnd() * (maxChunk + 1)))
    sizes.push(size)
    left -= size
  }
  return sizes
}

/** Concatenates sample arrays (the audio layer's `concatPcm16`). */
export { concatPcm16 as concat } from "../../src/audio/index.ts"
