import type { AudioFrame } from "./AudioFrame.ts"
import { createFormatGuard } from "./AudioFrame.ts"
import type { ResamplerQuality } from "./filterDesign.ts"
import { halfAwayFromZero } from "./mono.ts"
import { createResamplerCore, type ResamplerCore } from "./resampler.ts"

/** Options of {@link createPcmConverter}. */
export interface PcmConverterOptions {
  /** Output sample rate in Hz (24000 for OpenAI realtime sessions). */
  readonly targetRateHz: number
  /** Resampler quality (default `"high"`). */
  readonly quality?: ResamplerQuality
}

/**
 * Turns a stream of frames of one (any) format into mono PCM16 at the target rate.
 */
export interface PcmConverter {
  /** Output sample rate, Hz. */
  readonly targetRateHz: number
  /**
   * Converts the next frame; returns the mono samples ready at the target rate (a fresh array).
   * The first frame fixes the stream's format.
   *
   * @throws {AudioError} `FormatChanged` when the rate or channel count differs from the
   *   stream's first frame; any reason of `validateAudioFrame` for an invalid frame;
   *   `UnsupportedRate` for a rate the resampler does not handle
   */
  push(frame: AudioFrame): Int16Array
  /**
   * As `push`, but returns a view of an array the converter reuses, valid until its next
   * call: for a caller that copies the samples on at once (a session's replay buffer), so
   * that a steady stream allocates no output per frame.
   */
  pushView(frame: AudioFrame): Int16Array
  /**
   * Ends a segment but not the stream: returns the resampler's held-back tail (the input
   * continued with silence, as `flush` does) and restarts the filter, while the stream's
   * format stays fixed. Use it where a caller cuts the audio into segments (a manual
   * commit) so each segment carries its own tail instead of leaking it into the next.
   * The next push starts a fresh filter history: the output equals
   * `createResampler` run separately over each segment, bit for bit.
   * A later push with another rate or channel count still throws `FormatChanged`.
   */
  drain(): Int16Array
  /** Ends the stream: returns the resampler's held-back tail and forgets the format. */
  flush(): Int16Array
  /** Forgets all state and the format, ready for a new stream. */
  reset(): void
}

const empty = new Int16Array(0)

/**
 * Creates a {@link PcmConverter}: format guard, mono mixdown (rounded mean of the
 * channels) and streaming resampling in one pass; the input path of every session
 * (any rate and channel count → 24 kHz mono). The mixdown writes straight into the
 * resampler's input buffer, so a push allocates only its output array (`pushView` not even that).
 *
 * The output equals `createResampler` applied to `toMono` of each frame, bit for bit.
 *
 * @throws {AudioError} `InvalidSampleRate` when `targetRateHz` is not a positive integer
 */
export const createPcmConverter = (options: PcmConverterOptions): PcmConverter => {
  const { targetRateHz, quality = "high" } = options
  // Validate the target up front (a 1:1 core is cheap and also checks the rate).
  createResamplerCore(targetRateHz, targetRateHz, quality)
  const guard = createFormatGuard()
  let core: ResamplerCore | undefined
  let coreRateHz = 0

  const convert = (frame: AudioFrame, reuse: boolean): Int16Array => {
    guard.check(frame)
    const { data, sampleRateHz, channels } = frame
    if (core === undefined || coreRateHz !== sampleRateHz) {
      // Only the first frame of a stream gets here. If its rate is refused, the stream has
      // not started: the next frame may have any format.
      try {
        core = createResamplerCore(sampleRateHz, targetRateHz, quality)
      } catch (error) {
        guard.reset()
        throw error
      }
      coreRateHz = sampleRateHz
    }
    const n = data.length / channels
    const at = core.reserve(n)
    const buf = core.buffer
    if (channels === 1) {
      buf.set(data, at)
    } else if (channels === 2) {
      for (let i = 0, j = 0, w = at; i < n; i++, j += 2, w++)
        buf[w] = halfAwayFromZero(data[j]! + data[j + 1]!)
    } else {
      for (let i = 0, j = 0, w = at; i < n; i++, w++) {
        let s = 0
        for (let c = 0; c < channels; c++, j++) s += data[j]!
        const m = s / channels
        buf[w] = m >= 0 ? Math.floor(m + 0.5) : -Math.floor(0.5 - m)
      }
    }
    return reuse ? core.commitView(n) : core.commit(n)
  }

  return {
    targetRateHz,
    push: (frame) => convert(frame, false),
    pushView: (frame) => convert(frame, true),
    drain() {
      return core === undefined ? empty : core.flush()
    },
    flush() {
      const out = core === undefined ? empty : core.flush()
      guard.reset()
      return out
    },
    reset() {
      core?.reset()
      guard.reset()
    },
  }
}
