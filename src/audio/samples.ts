/**
 * Plain arrays of mono PCM16 samples.
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
