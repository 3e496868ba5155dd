/**
 * The reframing of a speech body: PCM16 bytes in chunks of any size (odd ones included) in,
 * exact 20 ms frames out, the segment's last one flagged `final`. Pure: no I/O, no timers.
 * @module
 */
import { createFramer } from "../audio/index.ts"

/** Cuts one segment's PCM16 byte stream into 20 ms frames. */
export interface SpeechReframer {
  /** Appends bytes; hands on every frame they complete that cannot be the segment's last. */
  push(bytes: Uint8Array): void
  /**
   * Ends the segment: hands on what is left, the last frame (shorter than 20 ms, or the last
   * whole one) with `final: true`. Nothing when the segment had no audio.
   * @throws {AudioError} `OddByteLength` when the bytes ended inside a sample
   */
  end(): void
}

/**
 * Creates a {@link SpeechReframer} for mono PCM16 at `sampleRateHz` that calls `out` with each
 * frame (a fresh `Int16Array` the receiver may keep). A frame is held back only while the bytes
 * so far end exactly on a frame boundary, since it may then be the last one, which `final`
 * must mark; otherwise every complete frame leaves as soon as its last byte has arrived.
 */
export const createSpeechReframer = (
  sampleRateHz: number,
  out: (data: Int16Array, final: boolean) => void,
): SpeechReframer => {
  const framer = createFramer({ sampleRateHz })
  const frameBytes = framer.samplesPerFrame * 2
  let held: Int16Array | undefined
  let total = 0
  return {
    push(bytes) {
      total += bytes.byteLength
      const frames = framer.push(bytes)
      if (frames.length === 0) return
      if (held !== undefined) out(held, false)
      held = undefined
      const last = total % frameBytes === 0 ? frames.length - 1 : frames.length
      for (let i = 0; i < last; i++) out(frames[i]!, false)
      if (last < frames.length) held = frames[last]
    },
    end() {
      const tail = framer.flush("short")
      if (held !== undefined) out(held, tail === undefined)
      held = undefined
      if (tail !== undefined) out(tail, true)
    },
  }
}
