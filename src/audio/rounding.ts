/**
 * Rounds a filter output to PCM16: clipped to [-32768, 32767], then rounded half up
 * (⌊x + ½⌋) by truncating the value biased to be positive. That compiles to fewer and more
 * predictable instructions than `Math.round` plus clipping. Every resampler kernel uses
 * it, so all paths (scalar and SIMD, any chunking) round alike.
 * @internal
 */
export const toPcm16 = (x: number): number =>
  (((x < -32768 ? -32768 : x > 32767 ? 32767 : x) + 32768.5) | 0) - 32768
