/**
 * Timestamps for `verbose_json` transcriptions, derived from the audio itself: voiced
 * regions are found by energy (20 ms windows over -45 dBFS RMS, gaps under 300 ms merged,
 * regions under 60 ms dropped); the words of the transcript are spread over the regions in
 * proportion to their durations (one segment per region that receives words), and inside a
 * segment each word gets a share of its span proportional to its length in characters.
 * Audio with no voiced region spreads the text over the whole file.
 * @module
 */

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
  /** RMS level over which a 20 ms window is voiced, in dBFS (default -45). */
  readonly thresholdDbfs?: number
  /** Gaps shorter than this are bridged, in milliseconds (default 300). */
  readonly minGapMs?: number
  /** Regions shorter than this are dropped, in milliseconds (default 60). */
  readonly minRegionMs?: number
}

/** The voiced regions of mono PCM16 `samples`, in seconds, in order. */
export const voicedRegions = (samples: Int16Array, options: VoicedRegionOptions): TimeSpan[] => {
  const rate = options.sampleRateHz
  const window = Math.max(1, Math.round(rate * 0.02))
  const threshold = 32768 * 10 ** ((options.thresholdDbfs ?? -45) / 20)
  const minGap = ((options.minGapMs ?? 300) / 1000) * rate
  const minRegion = ((options.minRegionMs ?? 60) / 1000) * rate
  const raw: { start: number; end: number }[] = []
  for (let start = 0; start < samples.length; start += window) {
    const end = Math.min(samples.length, start + window)
    let sum = 0
    for (let i = start; i < end; i++) {
      const s = samples[i] ?? 0
      sum += s * s
    }
    if (Math.sqrt(sum / (end - start)) < threshold) continue
    const last = raw[raw.length - 1]
    if (last !== undefined && start - last.end < minGap) last.end = end
    else raw.push({ start, end })
  }
  return raw
    .filter((r) => r.end - r.start >= minRegion)
    .map((r) => ({ start: round3(r.start / rate), end: round3(r.end / rate) }))
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
