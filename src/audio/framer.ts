import { audioError } from "./AudioError.ts"

/** Options of {@link createFramer}. */
export interface FramerOptions {
  /** Frames per second of the incoming PCM16. */
  readonly sampleRateHz: number
  /** Interleaved channels (default 1). */
  readonly channels?: number
  /** Duration of each emitted frame in milliseconds (default 20). */
  readonly frameMs?: number
}

/** Cuts a PCM16 byte stream of any chunking into frames of a fixed duration. */
export interface Framer {
  /** Samples (interleaved) in each emitted frame. */
  readonly samplesPerFrame: number
  /**
   * Appends little-endian PCM16 bytes (any length, odd splits included) and returns the
   * frames completed by them, each a fresh Int16Array of `samplesPerFrame` samples.
   */
  push(bytes: Uint8Array): Int16Array[]
  /**
   * Ends the stream and returns the incomplete tail, or `undefined` when nothing is pending.
   * `"pad"` zero-pads the tail to a full frame; `"short"` returns only the samples received.
   * The framer is empty afterwards, even when it throws.
   *
   * @throws {AudioError} `OddByteLength` when the stream ended inside a sample;
   *   `ChannelMismatch` in `"short"` mode when it ended inside a multi-channel frame
   */
  flush(mode: "pad" | "short"): Int16Array | undefined
  /** Drops pending bytes. */
  reset(): void
}

/**
 * Creates a {@link Framer} (20 ms mono frames unless told otherwise); the input path of
 * text-to-speech output and of any byte-oriented audio source.
 *
 * @throws {AudioError} `InvalidSampleRate`/`InvalidChannels` for non-positive-integer values;
 *   `InvalidSampleRate` when `frameMs` at `sampleRateHz` is not a whole number of samples
 */
export const createFramer = (options: FramerOptions): Framer => {
  const { sampleRateHz, channels = 1, frameMs = 20 } = options
  if (!Number.isInteger(sampleRateHz) || sampleRateHz <= 0) {
    throw audioError("InvalidSampleRate", `sample rate must be a positive integer in Hz, got ${sampleRateHz}`)
  }
  if (!Number.isInteger(channels) || channels <= 0) {
    throw audioError("InvalidChannels", `channel count must be a positive integer, got ${channels}`)
  }
  const framesPer = (sampleRateHz * frameMs) / 1000
  if (!(frameMs > 0) || !Number.isInteger(framesPer)) {
    throw audioError(
      "InvalidSampleRate",
      `${frameMs} ms at ${sampleRateHz} Hz is not a whole number of samples (${framesPer})`,
    )
  }
  const samplesPerFrame = framesPer * channels
  const frameBytes = samplesPerFrame * 2
  // The frame being filled is allocated up front and written byte by byte through a
  // Uint8Array view, so splits inside a sample need no special case.
  let current = new Int16Array(samplesPerFrame)
  let currentBytes = new Uint8Array(current.buffer)
  let filled = 0

  const reset = () => {
    if (filled > 0) {
      current = new Int16Array(samplesPerFrame)
      currentBytes = new Uint8Array(current.buffer)
    }
    filled = 0
  }

  return {
    samplesPerFrame,
    push(bytes) {
      const out: Int16Array[] = []
      let pos = 0
      const n = bytes.byteLength
      while (pos < n) {
        const take = Math.min(frameBytes - filled, n - pos)
        currentBytes.set(bytes.subarray(pos, pos + take), filled)
        filled += take
        pos += take
        if (filled === frameBytes) {
          out.push(current)
          current = new Int16Array(samplesPerFrame)
          currentBytes = new Uint8Array(current.buffer)
          filled = 0
        }
      }
      return out
    },
    flush(mode) {
      const tail = current
      const tailBytes = filled
      reset()
      if (tailBytes === 0) return undefined
      if (tailBytes % 2 !== 0) {
        throw audioError("OddByteLength", `the stream ended inside a sample (${tailBytes} bytes pending)`)
      }
      if (mode === "pad") return tail
      const samples = tailBytes / 2
      if (samples % channels !== 0) {
        throw audioError(
          "ChannelMismatch",
          `the stream ended inside a ${channels}-channel frame (${samples} samples pending)`,
        )
      }
      return tail.subarray(0, samples)
    },
    reset,
  }
}
