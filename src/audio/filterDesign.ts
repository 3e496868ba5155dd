/**
 * Kaiser-windowed sinc filter design for the resampler: coefficient tables computed once
 * per (rate ratio, quality) and cached for the life of the process.
 * @module
 */

/** Filter length/quality trade-off of the resampler. */
export type ResamplerQuality = "high" | "medium" | "low"

/**
 * A quality preset. Edges are fractions of the lower of the two sample rates: `passband`
 * is where the response is still flat, `stopband` where the attenuation reaches
 * `attenuationDb`. They are symmetric around one half (the lower rate's Nyquist), which
 * is what makes the 2:1 filter a half-band filter.
 */
interface QualityPreset {
  readonly passband: number
  readonly stopband: number
  readonly attenuationDb: number
}

// "high": for 48 kHz ↔ 24 kHz the transition band is 11–13 kHz, so a 13 kHz tone (alias at
// 11 kHz) is already in the stopband and 10 kHz is in the flat part; 100 dB keeps aliasing
// and coefficient-truncation noise under the PCM16 floor.
const presets: Record<ResamplerQuality, QualityPreset> = {
  high: { passband: 11 / 24, stopband: 13 / 24, attenuationDb: 100 },
  medium: { passband: 0.42, stopband: 0.58, attenuationDb: 80 },
  low: { passband: 0.38, stopband: 0.62, attenuationDb: 60 },
}

/** Zeroth-order modified Bessel function of the first kind (power series). */
const besselI0 = (x: number): number => {
  const q = (x * x) / 4
  let term = 1
  let sum = 1
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k)
    sum += term
    if (term < sum * 1e-17) break
  }
  return sum
}

/** Kaiser's β for a stopband attenuation in dB. */
const kaiserBeta = (attenuationDb: number): number =>
  attenuationDb > 50
    ? 0.1102 * (attenuationDb - 8.7)
    : attenuationDb >= 21
      ? 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21)
      : 0

/** Kaiser's estimate of the window span (in samples) for an attenuation and a transition width in cycles/sample. */
const kaiserSpan = (attenuationDb: number, transition: number): number =>
  (attenuationDb - 7.95) / (14.36 * transition)

const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x))

/**
 * A polyphase table for a rational ratio L/M (L output samples per M input samples).
 * Output k sits at input time k·M/L = i + p/L; it is the dot product of
 * `taps` input samples starting at `i - reach + 1` with row `p` of `table`.
 */
export interface PolyphaseTable {
  /** Phases (= L). */
  readonly phases: number
  /** Taps per phase (= 2·reach). */
  readonly taps: number
  /** Input samples looked at after the output instant (and reach - 1 before it). */
  readonly reach: number
  /** `phases × taps` coefficients, row-major. */
  readonly table: Float64Array
}

/**
 * A symmetric half-band filter at the higher of two rates in a 2:1 ratio, kept as its
 * nonzero odd taps only: h[0] = 1/2, h[±(2j+1)] = `odd[j]`, every other even tap is zero.
 */
export interface HalfBand {
  /** h[2j+1] for j = 0 … odd.length - 1 (the mirror taps are equal). */
  readonly odd: Float64Array
  /** The largest tap index, 2·odd.length - 1, in samples of the higher rate. */
  readonly lastTap: number
}

const polyphaseCache = new Map<string, PolyphaseTable>()
const halfBandCache = new Map<ResamplerQuality, HalfBand>()

/** The reach (see {@link PolyphaseTable}) of the L/M filter at a quality, without building it. */
export const polyphaseReach = (L: number, M: number, quality: ResamplerQuality): number => {
  const { passband, stopband, attenuationDb } = presets[quality]
  const r = Math.min(1, L / M)
  return Math.ceil(kaiserSpan(attenuationDb, (stopband - passband) * r) / 2)
}

/**
 * The polyphase table for L/M at a quality, built on first use and cached.
 * Each phase is normalised to unit DC gain so a constant input stays constant.
 */
export const polyphaseTable = (L: number, M: number, quality: ResamplerQuality): PolyphaseTable => {
  const key = `${L}/${M}/${quality}`
  const cached = polyphaseCache.get(key)
  if (cached !== undefined) return cached
  const { passband, stopband, attenuationDb } = presets[quality]
  // All frequencies in cycles per input sample: the lower rate relative to the input rate.
  const r = Math.min(1, L / M)
  const cutoff = ((passband + stopband) / 2) * r
  const halfSpan = kaiserSpan(attenuationDb, (stopband - passband) * r) / 2
  const beta = kaiserBeta(attenuationDb)
  const i0Beta = besselI0(beta)
  const reach = polyphaseReach(L, M, quality)
  const taps = 2 * reach
  const table = new Float64Array(L * taps)
  for (let p = 0; p < L; p++) {
    let sum = 0
    for (let t = 0; t < taps; t++) {
      // tap t reads input i - reach + 1 + t; its distance from the output instant i + p/L:
      const tau = p / L - (t - reach + 1)
      const u = tau / halfSpan
      const w = u * u < 1 ? besselI0(beta * Math.sqrt(1 - u * u)) / i0Beta : 0
      const c = 2 * cutoff * sinc(2 * cutoff * tau) * w
      table[p * taps + t] = c
      sum += c
    }
    for (let t = 0; t < taps; t++) table[p * taps + t]! /= sum
  }
  const built = { phases: L, taps, reach, table }
  polyphaseCache.set(key, built)
  return built
}

/** The half-band filter for 2:1 conversion at a quality, built on first use and cached. */
export const halfBandFilter = (quality: ResamplerQuality): HalfBand => {
  const cached = halfBandCache.get(quality)
  if (cached !== undefined) return cached
  const { passband, stopband, attenuationDb } = presets[quality]
  // At the higher rate the lower rate is 1/2, so the edges halve.
  const span = kaiserSpan(attenuationDb, (stopband - passband) / 2)
  // The window reaches one sample past the last tap, so the outermost taps are not zero;
  // the last tap index is odd (even taps other than the centre are zero anyway).
  let lastTap = Math.ceil(span / 2 - 1)
  if (lastTap % 2 === 0) lastTap++
  const halfSpan = lastTap + 1
  const beta = kaiserBeta(attenuationDb)
  const i0Beta = besselI0(beta)
  const count = (lastTap + 1) / 2
  const odd = new Float64Array(count)
  let sum = 0
  for (let j = 0; j < count; j++) {
    const k = 2 * j + 1
    const u = k / halfSpan
    const c = 0.5 * sinc(k / 2) * (besselI0(beta * Math.sqrt(1 - u * u)) / i0Beta)
    odd[j] = c
    sum += 2 * c
  }
  // The odd taps together must pass half of DC (the centre tap passes the other half):
  // then both polyphase branches of the interpolator have unit gain.
  for (let j = 0; j < count; j++) odd[j]! *= 0.5 / sum
  const built = { odd, lastTap }
  halfBandCache.set(quality, built)
  return built
}
