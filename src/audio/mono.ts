import type { AudioFrame } from "./AudioFrame.ts"
import { validateAudioFrame } from "./AudioFrame.ts"

/**
 * Half of an integer sum, rounded half away from zero: (a + b) / 2 for two PCM16 samples,
 * which is always in range. Branch-free, because the sign of a stereo sum changes at
 * audio rate and a mispredicted branch per sample costs more than the arithmetic.
 * @internal
 */
export const halfAwayFromZero = (s: number): number => {
  const x = s + 1 + 2 * (s >> 31) // s + 1, or s - 1 when negative
  return (x + (x >>> 31)) >> 1 // x / 2 truncated toward zero
}

/**
 * Mixes an interleaved frame down to mono: the mean of the channels, rounded to the
 * nearest integer (halves away from zero) and clipped to the PCM16 range.
 * A mono frame's samples are returned as a copy.
 *
 * @returns one sample per frame (`frame.data.length / frame.channels` samples)
 * @throws {AudioError} as {@link validateAudioFrame}
 */
export const toMono = (frame: AudioFrame): Int16Array => {
  validateAudioFrame(frame)
  const { data, channels } = frame
  if (channels === 1) return data.slice()
  const n = data.length / channels
  const out = new Int16Array(n)
  if (channels === 2) {
    for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = halfAwayFromZero(data[j]! + data[j + 1]!)
    return out
  }
  for (let i = 0, j = 0; i < n; i++) {
    let s = 0
    for (let c = 0; c < channels; c++, j++) s += data[j]!
    const m = s / channels
    const r = m >= 0 ? Math.floor(m + 0.5) : -Math.floor(0.5 - m)
    out[i] = r > 32767 ? 32767 : r < -32768 ? -32768 : r
  }
  return out
}
