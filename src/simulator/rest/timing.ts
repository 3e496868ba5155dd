/**
 * Timestamps for `verbose_json` transcriptions, derived from the audio itself: voiced
 * regions are found by the energy VAD of the audio layer (20 ms windows over -45 dBFS RMS,
 * silences under 300 ms bridged, voiced runs under 60 ms ignored); the words of the transcript are spread over the regions in
 * proportion to their durations (one segment per region that receives words), and inside a
 * segment each word gets a share of its span proportional to its length in characters.
 * Audio with no voiced region spreads the text over the whole file. Audio in the simulated
 * voice whose words are the transcript has them timed where they were spoken instead
 * ({@link timeHeardWords}).
 * @module
 */
import { createEnergyVad } from "../../audio/index.ts"

/** A span of audio, in seconds from the start of the file. */
export interface TimeSpan {
  readonly start: number
  readonly end: number
}

/** A segment of a timed transcript: its span and the words it holds, each with its span. */
export interface TimedSegment extends TimeSpan {
  readonly text: string
  readonly words: readonly (TimeSpan & { readonly word: string })[]
}

/** Options of {@link voicedRegions}. */
export interface VoicedRegionOptions {
  readonly sampleRateHz: number
  /** RMS level over which a window is voiced, in dBFS (default -45). */
  readonly thresholdDbfs?: number
  /** Silences shorter than this are bridged, in milliseconds (default 300). */
  readonly minGapMs?: number
  /** Voiced runs shorter than this are ignored, in milliseconds (default 60). */
  readonly minRegionMs?: number
}

/**
 * The voiced regions of mono PCM16 `samples`, in seconds, in order: the speech segments
 * the audio layer's energy VAD finds (20 ms windows, no prefix padding).
 */
export const voicedRegions = (samples: Int16Array, options: VoicedRegionOptions): TimeSpan[] => {
  const rate = options.sampleRateHz
  const vad = createEnergyVad({
    sampleRateHz: rate,
    thresholdDbfs: options.thresholdDbfs ?? -45,
    minSpeechMs: options.minRegionMs ?? 60,
    minSilenceMs: options.minGapMs ?? 300,
    prefixPaddingMs: 0,
    windowMs: 20,
  })
  const events = [...vad.push(samples), ...vad.flush()]
  const regions: TimeSpan[] = []
  let start: number | undefined
  for (const event of events) {
    if (event.type === "speech_start") start = event.sampleOffset
    else if (start !== undefined) {
      regions.push({
        start: round3(start / rate),
        end: round3(Math.min(event.sampleOffset, samples.length) / rate),
      })
      start = undefined
    }
  }
  if (start !== undefined) regions.push({ start: round3(start / rate), end: round3(samples.length / rate) })
  return regions
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000

/**
 * Spreads the words of `text` over `regions` (see the module description). `durationS` is
 * the length of the audio in seconds, used when there is no region.
 */
export const timeTranscript = (
  text: string,
  durationS: number,
  regions: readonly TimeSpan[],
): TimedSegment[] => {
  const words = text.split(/\s+/).filter((w) => w.length > 0)
  if (words.length === 0) return []
  const spans: readonly TimeSpan[] = regions.length > 0 ? regions : [{ start: 0, end: round3(durationS) }]
  const totalVoiced = spans.reduce((acc, r) => acc + (r.end - r.start), 0)
  const totalChars = words.reduce((acc, w) => acc + w.length, 0)
  // Each word goes to the region that covers the midpoint of its share of the characters.
  const groups: string[][] = spans.map(() => [])
  let charsBefore = 0
  for (const word of words) {
    const mid = totalVoiced * ((charsBefore + word.length / 2) / totalChars)
    let acc = 0
    let target = spans.length - 1
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!
      acc += span.end - span.start
      if (mid <= acc) {
        target = i
        break
      }
    }
    groups[target]!.push(word)
    charsBefore += word.length
  }
  const segments: TimedSegment[] = []
  spans.forEach((span, i) => {
    const group = groups[i]!
    if (group.length === 0) return
    const chars = group.reduce((acc, w) => acc + w.length, 0)
    let t = span.start
    const timed = group.map((word) => {
      const start = t
      t += (span.end - span.start) * (word.length / chars)
      return { word, start: round3(start), end: round3(t) }
    })
    segments.push({ start: span.start, end: span.end, text: ` ${group.join(" ")}`, words: timed })
  })
  return segments
}

/**
 * Times words read from the simulated voice where they were spoken (`start`/`end` in seconds):
 * one segment per voiced region that holds a word's midpoint (the last region for a word past
 * them all), each word with its own span.
 */
export const timeHeardWords = (
  words: readonly (TimeSpan & { readonly text: string })[],
  regions: readonly TimeSpan[],
): TimedSegment[] => {
  const first = words[0]
  const last = words[words.length - 1]
  if (first === undefined || last === undefined) return []
  const spans: readonly TimeSpan[] = regions.length > 0 ? regions : [{ start: first.start, end: last.end }]
  const groups: (TimeSpan & { readonly word: string })[][] = spans.map(() => [])
  for (const w of words) {
    const mid = (w.start + w.end) / 2
    let target = spans.findIndex((span) => mid <= span.end)
    if (target < 0) target = spans.length - 1
    groups[target]?.push({ word: w.text, start: round3(w.start), end: round3(w.end) })
  }
  const segments: TimedSegment[] = []
  spans.forEach((span, i) => {
    const group = groups[i] ?? []
    if (group.length === 0) return
    segments.push({
      start: span.start,
      end: span.end,
      text: ` ${group.map((w) => w.word).join(" ")}`,
      words: group,
    })
  })
  return segments
}

/** Formats seconds as an SRT (`00:00:01,250`) or WebVTT (`00:00:01.250`) timestamp. */
export const formatTimestamp = (seconds: number, separator: "," | "."): string => {
  const ms = Math.max(0, Math.round(seconds * 1000))
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms % 3_600_000) / 60_000)
  const s = Math.floor((ms % 60_000) / 1000)
  const pad = (n: number, w = 2) => String(n).padStart(w, "0")
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`
}

/** Renders timed segments as SubRip subtitles. */
export const toSrt = (segments: readonly TimedSegment[]): string =>
  segments
    .map(
      (s, i) =>
        `${i + 1}\n${formatTimestamp(s.start, ",")} --> ${formatTimestamp(s.end, ",")}\n${s.text.trim()}\n`,
    )
    .join("\n")

/** Renders timed segments as WebVTT subtitles. */
export const toVtt = (segments: readonly TimedSegment[]): string =>
  `WEBVTT\n\n${segments
    .map((s) => `${formatTimestamp(s.start, ".")} --> ${formatTimestamp(s.end, ".")}\n${s.text.trim()}\n`)
    .join("\n")}`
