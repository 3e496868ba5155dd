/**
 * The segment pipeline behind every `SynthesizeStream`: text in, segments out (sentences from
 * the streaming tokenizer, or one per flush marker), one synthesis per segment, several in
 * flight at once, frames out in text order.
 *
 * Plain code, not a machine: a segment is a promise with a frame buffer, and the stream's only
 * modes (open, input ended, cancelled, failed) are a flag each; the hot path (every frame)
 * is one array push or one channel push.
 * @module
 */
import { createChannel } from "../runtime/channel.ts"
import { createSentenceTokenizer, MAX_SPEECH_INPUT_CHARS, splitText } from "./sentences.ts"
import type { SegmentMetrics, SynthesisEvent, SynthesizedAudio, SynthesizeStream } from "./TTS.ts"
import { isTTSError, TTSError, ttsInvalid } from "./TTSError.ts"

/** What a segment synthesizer is asked to speak. */
export interface SegmentRequest {
  readonly text: string
  readonly segmentId: string
  /** Aborted when the stream is cancelled (or fails): stop at once, emit nothing more. */
  readonly signal: AbortSignal
  /** Hands one frame of the segment to the pipeline, in order; the last one with `final: true`. */
  emit(audio: SynthesizedAudio): void
}

/** What a finished segment reports (the pipeline adds `type` and `segmentId`). */
export type SegmentOutcome = Omit<SegmentMetrics, "type" | "segmentId">

/**
 * Speaks one segment: calls `emit` for each frame and resolves with the segment's metrics,
 * or rejects with a `TTSError`. After `signal` aborts, what it does is ignored.
 */
export type SegmentSynthesizer = (request: SegmentRequest) => Promise<SegmentOutcome>

/** Options of {@link createSegmentPipeline}. */
export interface SegmentPipelineOptions {
  /** Names the stream's errors. */
  readonly label: string
  readonly synthesize: SegmentSynthesizer
  /**
   * `true`: one segment per sentence (the streaming tokenizer); `false`: one per flush marker
   * (all text between two flushes, or up to `endInput`, is one segment).
   */
  readonly chunked: boolean
  /** Sentences shorter than this (characters) are merged with the next (chunked). Default 20. */
  readonly minSentenceChars?: number
  /** The longest segment, in characters: longer text is split at sentence ends. Default 4096. */
  readonly maxSegmentChars?: number
  /** Segments synthesized at once: the one playing and those after it. Default 2. */
  readonly maxConcurrentSegments?: number
}

interface Segment {
  readonly id: string
  readonly text: string
  readonly controller: AbortController
  /** Frames (and the metrics event) waiting for the segments before this one. */
  readonly buffer: SynthesisEvent[]
  started: boolean
  outcome:
    | { readonly ok: true; readonly metrics: SegmentMetrics }
    | { readonly ok: false; readonly error: TTSError }
    | undefined
  settled: Promise<void> | undefined
}

/**
 * Creates a {@link SynthesizeStream} over a segment synthesizer.
 * @throws {TTSError} `InvalidOptions` for a non-positive concurrency or segment length
 */
export const createSegmentPipeline = (options: SegmentPipelineOptions): SynthesizeStream => {
  const { label, synthesize, chunked } = options
  const maxChars = options.maxSegmentChars ?? MAX_SPEECH_INPUT_CHARS
  const concurrency = options.maxConcurrentSegments ?? 2
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw ttsInvalid(
      "InvalidOptions",
      `maxConcurrentSegments must be a positive integer, got ${concurrency}`,
      label,
    )
  }
  if (!Number.isInteger(maxChars) || maxChars < 1) {
    throw ttsInvalid("InvalidOptions", `maxSegmentChars must be a positive integer, got ${maxChars}`, label)
  }
  const tokenizer = chunked
    ? createSentenceTokenizer({ minChars: options.minSentenceChars ?? 20, maxChars })
    : undefined
  let gathered = ""
  const channel = createChannel<SynthesisEvent>()
  const segments: Segment[] = []
  let head = 0
  let nextId = 0
  let inputEnded = false
  let stopped = false

  const add = (text: string) => {
    segments.push({
      id: `seg_${nextId++}`,
      text,
      controller: new AbortController(),
      buffer: [],
      started: false,
      outcome: undefined,
      settled: undefined,
    })
  }

  const stopAll = () => {
    stopped = true
    for (const segment of segments) segment.controller.abort()
  }

  /** Moves the head past finished segments, releasing their buffers in order; starts more. */
  const advance = () => {
    while (!stopped && head < segments.length) {
      const segment = segments[head]!
      for (const event of segment.buffer) channel.push(event)
      segment.buffer.length = 0
      if (segment.outcome === undefined) break
      if (!segment.outcome.ok) {
        stopAll()
        channel.fail(segment.outcome.error)
        return
      }
      channel.push(segment.outcome.metrics)
      head++
    }
    if (stopped) return
    for (let i = head; i < Math.min(segments.length, head + concurrency); i++) start(segments[i]!)
    if (inputEnded && head === segments.length) {
      stopped = true
      channel.end()
    }
  }

  const start = (segment: Segment) => {
    if (segment.started) return
    segment.started = true
    const { signal } = segment.controller
    const emit = (audio: SynthesizedAudio) => {
      if (signal.aborted) return
      if (segments[head] === segment) channel.push(audio)
      else segment.buffer.push(audio)
    }
    const run = new Promise<SegmentOutcome>((resolve) =>
      resolve(synthesize({ text: segment.text, segmentId: segment.id, signal, emit })),
    )
    segment.settled = run
      .then(
        (outcome) => {
          segment.outcome = { ok: true, metrics: { type: "metrics", segmentId: segment.id, ...outcome } }
        },
        (error: unknown) => {
          segment.outcome = {
            ok: false,
            error: isTTSError(error)
              ? error
              : new TTSError({
                  reason: { _tag: "InvalidResponse" },
                  message: `${label}: ${error instanceof Error ? error.message : String(error)}`,
                  retryable: false,
                  attempts: 0,
                  source: label,
                  segmentId: segment.id,
                  cause: error,
                }),
          }
        },
      )
      .then(() => {
        if (!signal.aborted) advance()
      })
  }

  const checkOpen = (what: string) => {
    if (inputEnded || stopped) throw ttsInvalid("InputEnded", `${what} after endInput() or cancel()`, label)
  }

  const cutGathered = () => {
    for (const piece of splitText(gathered, maxChars)) add(piece)
    gathered = ""
  }

  const cancel = async (): Promise<void> => {
    inputEnded = true
    if (!stopped) {
      stopAll()
      channel.retain(() => false)
      channel.end()
    }
    await Promise.all(segments.map((s) => s.settled))
  }

  const iterator = channel[Symbol.asyncIterator]()
  return {
    pushText(delta) {
      if (typeof delta !== "string") {
        throw ttsInvalid(
          "InvalidInput",
          `pushText takes a string, got ${delta === null ? "null" : typeof delta}`,
          label,
        )
      }
      checkOpen("pushText")
      if (tokenizer === undefined) gathered += delta
      else for (const sentence of tokenizer.push(delta)) add(sentence)
      advance()
    },
    flush() {
      checkOpen("flush")
      if (tokenizer === undefined) cutGathered()
      else for (const sentence of tokenizer.flush()) add(sentence)
      advance()
    },
    endInput() {
      if (inputEnded) return
      if (tokenizer === undefined) cutGathered()
      else for (const sentence of tokenizer.flush()) add(sentence)
      inputEnded = true
      advance()
    },
    cancel,
    [Symbol.asyncIterator]() {
      return {
        next: () => iterator.next(),
        return: async () => {
          await cancel()
          return { value: undefined, done: true }
        },
      }
    },
  }
}
