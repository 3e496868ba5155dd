import { audioError } from "./AudioError.ts"

/**
 * A block of interleaved signed 16-bit PCM audio.
 *
 * `data` holds `channels` samples per frame (L R L R … for stereo); its length is a
 * multiple of `channels`. `sampleRateHz` is frames per second.
 */
export interface AudioFrame {
  readonly data: Int16Array
  readonly sampleRateHz: number
  readonly channels: number
}

/**
 * Checks a frame's invariants and returns it unchanged.
 *
 * @throws {AudioError} `InvalidSampleRate` when the rate is not a positive integer,
 *   `InvalidChannels` when the channel count is not a positive integer,
 *   `ChannelMismatch` when `data.length` is not a multiple of `channels`.
 */
export const validateAudioFrame = (frame: AudioFrame): AudioFrame => {
  const { data, sampleRateHz, channels } = frame
  if (!Number.isInteger(sampleRateHz) || sampleRateHz <= 0) {
    throw audioError("InvalidSampleRate", `sample rate must be a positive integer in Hz, got ${sampleRateHz}`)
  }
  if (!Number.isInteger(channels) || channels <= 0) {
    throw audioError("InvalidChannels", `channel count must be a positive integer, got ${channels}`)
  }
  if (data.length % channels !== 0) {
    throw audioError(
      "ChannelMismatch",
      `${data.length} samples is not a whole number of ${channels}-channel frames`,
    )
  }
  return frame
}

/**
 * Builds a validated {@link AudioFrame} (the samples are not copied).
 *
 * @param data interleaved PCM16 samples
 * @param sampleRateHz frames per second
 * @param channels samples per frame
 * @throws {AudioError} as {@link validateAudioFrame}
 */
export const makeAudioFrame = (data: Int16Array, sampleRateHz: number, channels: number): AudioFrame =>
  validateAudioFrame({ data, sampleRateHz, channels })

/** Validates each frame of a stream and rejects a change of format mid-stream. */
export interface FormatGuard {
  /**
   * Validates `frame` and, after the first frame, checks it has the same rate and channel count.
   * @throws {AudioError} `FormatChanged`, or any reason of {@link validateAudioFrame}
   */
  check(frame: AudioFrame): void
  /** Forgets the remembered format: the next frame may have any format. */
  reset(): void
}

/**
 * Creates a {@link FormatGuard}: the first frame checked fixes the stream's format.
 */
export const createFormatGuard = (): FormatGuard => {
  let rateHz = 0
  let channels = 0
  return {
    check(frame) {
      validateAudioFrame(frame)
      if (rateHz === 0) {
        rateHz = frame.sampleRateHz
        channels = frame.channels
        return
      }
      if (frame.sampleRateHz !== rateHz || frame.channels !== channels) {
        throw audioError(
          "FormatChanged",
          `stream format changed from ${rateHz} Hz × ${channels} ch to ${frame.sampleRateHz} Hz × ${frame.channels} ch`,
        )
      }
    },
    reset() {
      rateHz = 0
      channels = 0
    },
  }
}
