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

const kindOf = (value: unknown): string =>
  value === null
    ? "null"
    : typeof value === "object"
      ? (((value as { constructor?: { name?: unknown } }).constructor?.name as string | undefined) ??
        "an object")
      : typeof value

/**
 * Checks a frame's invariants and returns it unchanged.
 *
 * @throws {AudioError} `InvalidInput` when the frame is not an object or its `data` is not an
 *   `Int16Array` (a `Float32Array` would reach the server as silence: convert it with
 *   {@link fromFloat32}), `InvalidSampleRate` when the rate is not a positive integer,
 *   `InvalidChannels` when the channel count is not a positive integer,
 *   `ChannelMismatch` when `data.length` is not a multiple of `channels`.
 */
export const validateAudioFrame = (frame: AudioFrame): AudioFrame => {
  if (typeof frame !== "object" || frame === null) {
    throw audioError("InvalidInput", `an audio frame must be an object, got ${kindOf(frame)}`)
  }
  const { data, sampleRateHz, channels } = frame
  if (!(data instanceof Int16Array)) {
    throw audioError(
      "InvalidInput",
      `frame data must be an Int16Array of PCM16 samples, got ${kindOf(data)}${(data as unknown) instanceof Float32Array ? " (convert float audio with fromFloat32)" : ""}`,
    )
  }
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

/**
 * Builds a PCM16 {@link AudioFrame} from float samples in [-1, 1] (Web Audio, most decoders):
 * each sample is scaled by 32 767, rounded half away from zero and clipped to the PCM16 range.
 *
 * @param samples interleaved float samples, nominally in [-1, 1]
 * @param sampleRateHz frames per second
 * @param channels samples per frame (default 1)
 * @throws {AudioError} `InvalidInput` when `samples` is not a `Float32Array`/`Float64Array` or
 *   holds a NaN or infinite sample; otherwise as {@link validateAudioFrame}
 */
export const fromFloat32 = (
  samples: Float32Array | Float64Array,
  sampleRateHz: number,
  channels = 1,
): AudioFrame => {
  if (!(samples instanceof Float32Array || samples instanceof Float64Array)) {
    throw audioError("InvalidInput", `fromFloat32 takes a Float32Array, got ${kindOf(samples)}`)
  }
  const data = new Int16Array(samples.length)
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i] as number
    if (!Number.isFinite(x)) throw audioError("InvalidInput", `sample ${i} is ${x}, not a finite number`)
    const scaled = Math.round(Math.abs(x) * 32767) * Math.sign(x)
    data[i] = scaled > 32767 ? 32767 : scaled < -32768 ? -32768 : scaled
  }
  return validateAudioFrame({ data, sampleRateHz, channels })
}

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
