/**
 * The TTS StreamAdapter: makes any TTS streamable. Its `stream()` cuts the pushed text into
 * sentences with the streaming tokenizer (or one segment per flush marker) and speaks each
 * through the wrapped TTS's `synthesize`, several in flight, frames in text order.
 * @module
 */
import { createSegmentPipeline, type SegmentOutcome, type SegmentRequest } from "./pipeline.ts"
import type { SynthesizeOptions, SynthesizeStream, TTS } from "./TTS.ts"
import { isTTSError, toTTSError, withTTSFields } from "./TTSError.ts"

/** Options of {@link createTTSStreamAdapter}. */
export interface TTSStreamAdapterOptions {
  /** The TTS whose `synthesize` speaks each segment. */
  readonly tts: TTS
  /** `true` (default): one segment per sentence; `false`: one per flush marker. */
  readonly chunked?: boolean
  /** Sentences shorter than this (characters) are merged with the next. Default 20. */
  readonly minSentenceChars?: number
  /** Segments synthesized at once. Default 2. */
  readonly maxConcurrentSegments?: number
  /** The longest segment, in characters. Default 4096. */
  readonly maxSegmentChars?: number
  /** Default `stream(<label of the TTS>)`. */
  readonly label?: string
}

/** What {@link relaySegment} saw before it returned or threw. */
export interface RelayProgress {
  /** True once a frame of the segment has been handed on. */
  audioEmitted: boolean
}

/**
 * Speaks one pipeline segment through `tts.synthesize`: its frames re-labelled with the
 * segment's id (one frame held back, so that `final` marks the segment's last even when the
 * wrapped TTS split the text), its metrics summed into one. Cancelling the segment cancels
 * the wrapped stream. Throws the wrapped stream's error (as a `TTSError`).
 */
export const relaySegment = async (
  tts: TTS,
  request: SegmentRequest,
  callOptions: SynthesizeOptions,
  progress: RelayProgress = { audioEmitted: false },
): Promise<SegmentOutcome> => {
  const { text, segmentId, signal, emit } = request
  const startedAt = performance.now()
  const inner = tts.synthesize(text, callOptions)
  const onAbort = () => void inner.cancel()
  signal.addEventListener("abort", onAbort, { once: true })
  let held: Parameters<SegmentRequest["emit"]>[0] | undefined
  let ttfbMs: number | undefined
  let ttffMs: number | undefined
  let requestId = ""
  let attempts = 0
  let audioDurationMs = 0
  const release = (final: boolean) => {
    if (held === undefined || signal.aborted) return
    if (ttffMs === undefined) ttffMs = performance.now() - startedAt
    progress.audioEmitted = true
    emit({ ...held, segmentId, final })
    held = undefined
  }
  try {
    for await (const event of inner) {
      if (signal.aborted) break
      if (event.type === "audio") {
        release(false)
        held = event
      } else {
        ttfbMs ??= event.ttfbMs
        if (requestId === "") requestId = event.requestId
        attempts += event.attempts
        audioDurationMs += event.audioDurationMs
      }
    }
    release(true)
  } catch (error) {
    if (signal.aborted) return outcome()
    // The held frame is real audio: hand it on when some already left (the segment fails
    // anyway); before any, drop it, so that a fallback can say the segment whole instead.
    if (progress.audioEmitted) release(false)
    throw withTTSFields(isTTSError(error) ? error : toTTSError(error, attempts, tts.label), { segmentId })
  } finally {
    signal.removeEventListener("abort", onAbort)
    if (signal.aborted) await inner.cancel()
  }
  return outcome()

  function outcome(): SegmentOutcome {
    return {
      requestId,
      characters: text.length,
      ttfbMs: ttfbMs ?? 0,
      ttffMs: ttffMs ?? 0,
      audioDurationMs,
      durationMs: performance.now() - startedAt,
      attempts,
      source: tts.label,
    }
  }
}

/**
 * Creates a TTS whose `stream()` goes through the sentence tokenizer and the wrapped TTS's
 * `synthesize`; `synthesize` is the wrapped one's.
 * @throws {TTSError} `InvalidOptions` for bad pipeline options
 */
export const createTTSStreamAdapter = (options: TTSStreamAdapterOptions): TTS => {
  const { tts } = options
  const label = options.label ?? `stream(${tts.label})`
  const makeStream = (callOptions: SynthesizeOptions): SynthesizeStream =>
    createSegmentPipeline({
      label,
      synthesize: (request) => relaySegment(tts, request, callOptions),
      chunked: options.chunked ?? true,
      ...(options.minSentenceChars === undefined ? {} : { minSentenceChars: options.minSentenceChars }),
      ...(options.maxConcurrentSegments === undefined
        ? {}
        : { maxConcurrentSegments: options.maxConcurrentSegments }),
      ...(options.maxSegmentChars === undefined ? {} : { maxSegmentChars: options.maxSegmentChars }),
    })
  // Validated now so that bad options fail here, not in `stream()`.
  void makeStream({}).cancel()
  return {
    label,
    sampleRateHz: tts.sampleRateHz,
    capabilities: { streaming: true },
    synthesize: (text, callOptions) => tts.synthesize(text, callOptions),
    stream: (callOptions = {}) => makeStream(callOptions),
    close: () => tts.close(),
  }
}
