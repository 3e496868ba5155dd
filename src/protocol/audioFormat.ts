/**
 * The audio format of OpenAI's Realtime sessions: PCM16 mono at 24 kHz, in and out (the
 * `audio/pcm` format of `session.update`, whose `rate` must be 24000).
 * @module
 */

/** The sample rate of Realtime `audio/pcm`, in Hz. The one definition every layer uses. */
export const REALTIME_SAMPLE_RATE_HZ = 24_000

/** Samples per millisecond at {@link REALTIME_SAMPLE_RATE_HZ}. */
export const REALTIME_SAMPLES_PER_MS = REALTIME_SAMPLE_RATE_HZ / 1000
