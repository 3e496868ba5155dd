/**
 * Planning the requests of a long recording: the size limit of one transcription request,
 * the speech regions a VAD finds, and the cutting of the audio at silences into parts that
 * each fit one request. Pure functions over mono PCM16 sample indices.
 * @module
 */
import type { Vad } from "../audio/index.ts"

/** The size limit of one `POST /v1/audio/transcriptions` request body: 25 MiB, in bytes. */
export const MAX_TRANSCRIPTION_REQUEST_BYTES = 25 * 1024 * 1024

/** Size of the canonical PCM16 WAV header, in bytes. */
export const WAV_HEADER_BYTES = 44

/**
 * Bytes kept free in a request for the multipart framing and the text fields (model,
 * language, prompt, ...); a prompt is at most a few hundred tokens, so 16 KiB is ample.
 */
export const MULTIPART_OVERHEAD_BYTES = 16 * 1024

/**
 * The most mono PCM16 samples one request can carry as a WAV file under `limitBytes`.
 * With the defaults: (26 214 400 − 16 384 − 44) / 2 = 13 098 986 samples, which is
 * 818.7 s (13 min 38 s) at 16 kHz or 545.8 s at 24 kHz.
 */
export const maxSamplesPerRequest = (
  limitBytes: number = MAX_TRANSCRIPTION_REQUEST_BYTES,
  overheadBytes: number = MULTIPART_OVERHEAD_BYTES,
): number => Math.max(0, Math.floor((limitBytes - overheadBytes - WAV_HEADER_BYTES) / 2))

/** The request size (WAV plus multipart overhead) of `samples` mono PCM16 samples, in bytes. */
export const requestBytesFor = (samples: number, overheadBytes: number = MULTIPART_OVERHEAD_BYTES): number =>
  samples * 2 + WAV_HEADER_BYTES + overheadBytes

/** A half-open range `[startSample, endSample)` of a mono recording. */
export interface SampleRange {
  readonly startSample: number
  readonly endSample: number
}

/** How many samples the VAD is fed at a time when scanning a recording (100 ms at 16 kHz). */
const SCAN_CHUNK_SAMPLES = 1600

/**
 * Runs `vad` over a whole recording and returns its speech regions, in order. A region still
 * open at the end closes at the VAD's flush, or at the end of the audio. The VAD is reset
 * before and after.
 */
export const findSpeechRegions = (samples: Int16Array, vad: Vad): SampleRange[] => {
  vad.reset()
  const regions: SampleRange[] = []
  let openStart: number | undefined
  const apply = (events: ReturnType<Vad["push"]>) => {
    for (const event of events) {
      if (event.type === "speech_start") {
        if (openStart === undefined) openStart = Math.max(0, event.sampleOffset)
      } else if (openStart !== undefined) {
        const end = Math.min(samples.length, event.sampleOffset)
        if (end > openStart) regions.push({ startSample: openStart, endSample: end })
        openStart = undefined
      }
    }
  }
  for (let offset = 0; offset < samples.length; offset += SCAN_CHUNK_SAMPLES) {
    apply(vad.push(samples.subarray(offset, Math.min(samples.length, offset + SCAN_CHUNK_SAMPLES))))
  }
  apply(vad.flush())
  if (openStart !== undefined && samples.length > openStart) {
    regions.push({ startSample: openStart, endSample: samples.length })
  }
  vad.reset()
  return regions
}

/** The outcome of {@link planParts}. */
export type PartPlan =
  | { readonly _tag: "Parts"; readonly parts: readonly SampleRange[] }
  /** A stretch of speech with no silence to cut at is longer than one request allows. */
  | { readonly _tag: "Unsplittable"; readonly region: SampleRange }

/**
 * Cuts a recording of `totalSamples` into parts of at most `maxSamples`, only at silences.
 *
 * - No speech region: no part (nothing to send).
 * - Audio that fits one request: one part, the whole audio (times stay those of the file).
 * - Otherwise each part is a run of consecutive speech regions (each widened by
 *   `paddingSamples` into the silence around it, never past the middle of a gap) and the
 *   silence between them; the silence between parts is not sent. A single region longer than
 *   `maxSamples` makes the plan `Unsplittable`.
 */
export const planParts = (
  totalSamples: number,
  regions: readonly SampleRange[],
  maxSamples: number,
  paddingSamples = 0,
): PartPlan => {
  if (regions.length === 0) return { _tag: "Parts", parts: [] }
  if (totalSamples <= maxSamples)
    return { _tag: "Parts", parts: [{ startSample: 0, endSample: totalSamples }] }
  const padded = regions.map((region, i) => {
    const previous = regions[i - 1]
    const next = regions[i + 1]
    const lowest = previous === undefined ? 0 : Math.ceil((previous.endSample + region.startSample) / 2)
    const highest = next === undefined ? totalSamples : Math.floor((region.endSample + next.startSample) / 2)
    const start = Math.max(lowest, region.startSample - paddingSamples)
    const end = Math.min(highest, region.endSample + paddingSamples)
    // Padding must never be what makes a region too long for one request.
    return end - start <= maxSamples ? { startSample: start, endSample: end } : region
  })
  const parts: SampleRange[] = []
  let current: { startSample: number; endSample: number } | undefined
  for (const region of padded) {
    if (region.endSample - region.startSample > maxSamples) return { _tag: "Unsplittable", region }
    if (current !== undefined && region.endSample - current.startSample <= maxSamples) {
      current.endSample = region.endSample
    } else {
      if (current !== undefined) parts.push(current)
      current = { startSample: region.startSample, endSample: region.endSample }
    }
  }
  if (current !== undefined) parts.push(current)
  return { _tag: "Parts", parts }
}
