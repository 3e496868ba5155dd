import { Data } from "effect"

/**
 * Why an {@link AudioError} was raised.
 *
 * - `ChannelMismatch`: the sample count is not a multiple of the channel count.
 * - `InvalidSampleRate`: a sample rate that is not a positive integer (Hz).
 * - `InvalidChannels`: a channel count that is not a positive integer.
 * - `FormatChanged`: the rate or channel count changed in the middle of a stream.
 * - `OddByteLength`: PCM16 bytes whose length is not a multiple of 2.
 * - `UnsupportedWav`: a well-formed WAV file in a format other than PCM16 (float, 8/24-bit, compressed).
 * - `MalformedWav`: bytes that are not a readable RIFF/WAVE file (bad magic, truncation, missing chunks).
 * - `UnsupportedRate`: a resampling rate pair this library does not handle.
 * - `InvalidOption`: an option that is not a finite number or is out of range (e.g. a VAD
 *   threshold of NaN, a negative duration, a window of 0 ms).
 * - `InvalidInput`: a value of the wrong kind where audio was expected: a frame that is not an
 *   object, frame `data` that is not an `Int16Array` (use `fromFloat32` for float audio),
 *   a float sample that is not finite, WAV input that is not a `Uint8Array`.
 */
export type AudioErrorReason =
  | "ChannelMismatch"
  | "InvalidSampleRate"
  | "InvalidChannels"
  | "FormatChanged"
  | "OddByteLength"
  | "UnsupportedWav"
  | "MalformedWav"
  | "UnsupportedRate"
  | "InvalidOption"
  | "InvalidInput"

/**
 * The one error of the audio layer. Plain functions throw it; as an `Error` subclass
 * (and a yieldable Effect error) it is also used directly as an Effect failure.
 * Audio errors describe bad input, so they are never retryable.
 */
export class AudioError extends Data.TaggedError("AudioError")<{
  readonly reason: AudioErrorReason
  readonly message: string
}> {}

/** True when `u` is an {@link AudioError}. */
export const isAudioError = (u: unknown): u is AudioError => u instanceof AudioError

/** Builds an {@link AudioError}; a shorthand used across the audio modules. */
export const audioError = (reason: AudioErrorReason, message: string): AudioError =>
  new AudioError({ reason, message })
