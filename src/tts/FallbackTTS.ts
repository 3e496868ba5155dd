/**
 * The TTS fallback chain: several TTSs in order of preference behind one. Each segment is
 * spoken by the first available TTS; when it fails before the segment's first audio, the
 * next one speaks the same segment (so nothing is lost and nothing is said twice), and the
 * failed one is marked unavailable. An unavailable TTS is probed in the background (a real
 * synthesis of the current segment's text, its audio discarded) at most once per
 * `recoveryIntervalMs`, and used again once a probe succeeds. A failure after first audio
 * fails the segment: switching then would repeat what was already said.
 * @module
 */
import { createSegmentPipeline, type SegmentOutcome, type SegmentRequest } from "./pipeline.ts"
import { type RelayProgress, relaySegment } from "./StreamAdapter.ts"
import type { SynthesisStream, SynthesizeOptions, TTS } from "./TTS.ts"
import { isTTSError, TTSError, type TTSErrorReason, ttsInvalid } from "./TTSError.ts"

/** Options of {@link createFallbackTTS}. Durations in milliseconds. */
export interface FallbackTTSOptions {
  /** Least time between two background probes of one unavailable TTS. Default 10 000. */
  readonly recoveryIntervalMs?: number
  /** `stream()`: `true` one segment per sentence, `false` (default) one per flush marker. */
  readonly chunked?: boolean
  /** Sentences shorter than this (characters) are merged with the next (chunked). Default 20. */
  readonly minSentenceChars?: number
  /** Segments synthesized at once. Default 2. */
  readonly maxConcurrentSegments?: number
  /** Default `fallback(<labels>)`. */
  readonly label?: string
  /** The clock of the probe interval, in milliseconds. Default `performance.now`. */
  readonly now?: () => number
  /** Called when a TTS becomes unavailable or recovers. */
  readonly onAvailabilityChanged?: (change: { readonly label: string; readonly available: boolean }) => void
}

/** Availability of one TTS of the chain. */
export interface FallbackTTSStatus {
  readonly label: string
  readonly available: boolean
}

/** A fallback chain: the {@link TTS} contract plus the availability of each member. */
export interface FallbackTTS extends TTS {
  /** Availability of each TTS, in order of preference. */
  status(): readonly FallbackTTSStatus[]
}

const reasonOf = (error: unknown): TTSErrorReason =>
  isTTSError(error) ? error.reason : { _tag: "InvalidResponse" }

/**
 * Creates a {@link FallbackTTS} over `ttss` (most preferred first).
 * @throws {TTSError} `InvalidOptions` for an empty list, members of different sample rates, or a bad interval
 */
export const createFallbackTTS = (ttss: readonly TTS[], options: FallbackTTSOptions = {}): FallbackTTS => {
  if (ttss.length === 0) throw ttsInvalid("InvalidOptions", "a fallback chain needs at least one TTS")
  const label = options.label ?? `fallback(${ttss.map((t) => t.label).join(",")})`
  const sampleRateHz = ttss[0]!.sampleRateHz
  if (ttss.some((t) => t.sampleRateHz !== sampleRateHz)) {
    throw ttsInvalid("InvalidOptions", "every TTS of a fallback chain must have the same sample rate", label)
  }
  const recoveryIntervalMs = options.recoveryIntervalMs ?? 10_000
  if (!(recoveryIntervalMs >= 0) || !Number.isFinite(recoveryIntervalMs)) {
    throw ttsInvalid("InvalidOptions", `recoveryIntervalMs must be >= 0, got ${recoveryIntervalMs}`, label)
  }
  const now = options.now ?? (() => performance.now())
  const available = ttss.map(() => true)
  const lastProbeAt = ttss.map(() => Number.NEGATIVE_INFINITY)
  const probing = ttss.map(() => false)
  const probes = new Set<Promise<void>>()
  const probeStreams = new Set<SynthesisStream>()
  let closed = false

  const setAvailable = (index: number, value: boolean) => {
    if (available[index] === value) return
    available[index] = value
    options.onAvailabilityChanged?.({ label: ttss[index]!.label, available: value })
  }

  /** Probes the unavailable TTSs preferred over `upTo` with `text`, when their interval has passed. */
  const probePreferred = (upTo: number, text: string, callOptions: SynthesizeOptions) => {
    for (let index = 0; index < upTo; index++) {
      if (closed || available[index] || probing[index]) continue
      if (now() - lastProbeAt[index]! < recoveryIntervalMs) continue
      lastProbeAt[index] = now()
      probing[index] = true
      const probe = (async () => {
        const stream = ttss[index]!.synthesize(text, callOptions)
        probeStreams.add(stream)
        try {
          for await (const _ of stream) {
            // The probe's audio is discarded: only its success matters.
          }
          if (!closed) setAvailable(index, true)
        } catch {
          // Still down; the next probe waits another interval.
        } finally {
          probeStreams.delete(stream)
          probing[index] = false
        }
      })()
      probes.add(probe)
      void probe.finally(() => probes.delete(probe))
    }
  }

  const speak =
    (callOptions: SynthesizeOptions) =>
    async (request: SegmentRequest): Promise<SegmentOutcome> => {
      const order = ttss.map((_, i) => i)
      const candidates = order.some((i) => available[i]) ? order.filter((i) => available[i]) : order
      const failures: { source: string; reason: TTSErrorReason }[] = []
      for (const index of candidates) {
        const progress: RelayProgress = { audioEmitted: false }
        try {
          const outcome = await relaySegment(ttss[index]!, request, callOptions, progress)
          if (!request.signal.aborted) {
            setAvailable(index, true)
            probePreferred(index, request.text, callOptions)
          }
          return outcome
        } catch (error) {
          // Audio already out: another TTS would say it again. Bad input fails everywhere alike.
          if (progress.audioEmitted || (isTTSError(error) && error.reason._tag === "InvalidInput"))
            throw error
          setAvailable(index, false)
          lastProbeAt[index] = now()
          failures.push({ source: ttss[index]!.label, reason: reasonOf(error) })
        }
      }
      throw new TTSError({
        reason: { _tag: "AllFailed", failures },
        message: `${label}: every TTS failed: ${failures.map((f) => f.source).join(", ")}`,
        retryable: true,
        attempts: failures.length,
        source: label,
        segmentId: request.segmentId,
      })
    }

  const pipeline = (callOptions: SynthesizeOptions, chunked: boolean) =>
    createSegmentPipeline({
      label,
      synthesize: speak(callOptions),
      chunked,
      ...(options.minSentenceChars === undefined ? {} : { minSentenceChars: options.minSentenceChars }),
      ...(options.maxConcurrentSegments === undefined
        ? {}
        : { maxConcurrentSegments: options.maxConcurrentSegments }),
    })

  return {
    label,
    sampleRateHz,
    capabilities: { streaming: ttss.every((t) => t.capabilities.streaming) },
    synthesize: (text, callOptions = {}) => {
      if (typeof text !== "string" || text.trim() === "") {
        throw ttsInvalid("InvalidInput", "synthesize needs a non-empty text", label)
      }
      const stream = pipeline(callOptions, false)
      stream.pushText(text)
      stream.endInput()
      return stream
    },
    stream: (callOptions = {}) => pipeline(callOptions, options.chunked === true),
    status: () => ttss.map((t, i) => ({ label: t.label, available: available[i]! })),
    close: async () => {
      closed = true
      await Promise.all([...probeStreams].map((s) => s.cancel()))
      await Promise.allSettled([...probes])
    },
  }
}
