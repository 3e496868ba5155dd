/**
 * The text-to-speech contract every TTS in voxstate meets, the sibling of `STT`:
 * `synthesize(text)` for a whole text, `stream()` for text that arrives token by token.
 * Both give a stream of 20 ms frames of 24 kHz mono PCM16 (the last frame of a segment may
 * be shorter), in text order, with one `metrics` event after each segment.
 * @module
 */
import type { Tracer } from "effect"
import type { AudioFrame } from "../audio/index.ts"
import type { APIConnectOptions } from "../stt/retry.ts"

/** What a TTS can do natively. */
export interface TTSCapabilities {
  /**
   * The service takes text incrementally itself (true), or the TTS segments a text stream
   * into sentences and makes one request per segment (false: the StreamAdapter's way).
   */
  readonly streaming: boolean
}

/** One frame of synthesized speech. */
export interface SynthesizedAudio {
  readonly type: "audio"
  /** 24 kHz mono PCM16 (the TTS's `sampleRateHz`); exactly 20 ms, except the last frame of a segment. */
  readonly frame: AudioFrame
  /** The service's request id (`x-request-id`) of the request that produced it; "" when unknown. */
  readonly requestId: string
  /** The segment (one request) the frame belongs to, e.g. `seg_3`; unique within the stream. */
  readonly segmentId: string
  /** True on the last frame of its segment. */
  readonly final: boolean
}

/** What one segment cost and how fast it came, emitted once after its last frame. Times in ms. */
export interface SegmentMetrics {
  readonly type: "metrics"
  readonly segmentId: string
  /** The request id of the attempt that produced the audio; "" when unknown. */
  readonly requestId: string
  /** Characters of text in the segment. */
  readonly characters: number
  /** From the start of the segment's first request to the first byte of audio. */
  readonly ttfbMs: number
  /** From the start of the segment's first request to its first frame leaving. */
  readonly ttffMs: number
  /** Audio produced, in milliseconds. */
  readonly audioDurationMs: number
  /** From the start of the first request to the end of the audio. */
  readonly durationMs: number
  /** Requests made for the segment (more than 1 after retries). */
  readonly attempts: number
  /** Label of the TTS that produced the segment. */
  readonly source: string
}

/** What a synthesis stream yields: frames, and one metrics event per segment. */
export type SynthesisEvent = SynthesizedAudio | SegmentMetrics

/**
 * The speech of one text (`TTS.synthesize`): iterate it for the frames, in order. Iteration
 * throws a `TTSError` when a segment fails (after the frames of the segments before it).
 */
export interface SynthesisStream extends AsyncIterable<SynthesisEvent> {
  /**
   * Stops at once: aborts every request in flight, emits no further frame and ends the
   * iteration. Resolves when every request has been torn down (no socket, no timer left).
   * Frames already emitted are the caller's to drop. Idempotent.
   */
  cancel(): Promise<void>
}

/**
 * A stream of text in, speech out (`TTS.stream`): text pushed token by token is cut into
 * segments (sentences, or one per flush marker), each synthesized by one request; requests
 * are pipelined, frames come out in text order.
 */
export interface SynthesizeStream extends SynthesisStream {
  /** Appends text (any piece: a token, a word, a sentence). @throws TTSError `InputEnded` after `endInput()`/`cancel()` */
  pushText(delta: string): void
  /** A flush marker: the text pushed so far is one segment, cut now. @throws TTSError `InputEnded` after `endInput()`/`cancel()` */
  flush(): void
  /** No more text: the rest is synthesized, then the iteration ends. Idempotent. */
  endInput(): void
}

/** Per-call options of `synthesize` and `stream`. */
export interface SynthesizeOptions {
  /** The voice for this call: a built-in name or a custom voice `{ id }`; overrides the TTS's. */
  readonly voice?: TTSVoice
  /** Overrides of the retry and timeout options for this call's requests. */
  readonly connectOptions?: Partial<APIConnectOptions>
  /** The span the segments' `tts.segment` spans nest under (e.g. the agent's turn). */
  readonly parentSpan?: Tracer.AnySpan
}

/** A voice: a built-in name (`ash`, `marin`, ...) or a custom voice `{ id: "voice_…" }`. */
export type TTSVoice = string | { readonly id: string }

/**
 * A text-to-speech: whole texts with `synthesize`, text streams with `stream`.
 *
 * `synthesize` throws a `TTSError` (`InvalidInput`) for empty text; failures after that are
 * thrown by the stream's iteration.
 */
export interface TTS {
  /** A name for logs, metrics, traces and `SegmentMetrics.source`, e.g. `openai/gpt-4o-mini-tts`. */
  readonly label: string
  /** Rate of the frames, in Hz (24 000 for OpenAI). */
  readonly sampleRateHz: number
  readonly capabilities: TTSCapabilities
  /** Speaks a whole text (longer texts are split at sentence ends into several requests). */
  synthesize(text: string, options?: SynthesizeOptions): SynthesisStream
  /** Opens a stream fed with `pushText`/`flush`/`endInput`. */
  stream(options?: SynthesizeOptions): SynthesizeStream
  /** Releases what the TTS holds (clients, background probes). Streams are cancelled by their owners. */
  close(): Promise<void>
}
