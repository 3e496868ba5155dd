/**
 * The events every speech-to-text in voxstate emits, and the streaming session API that
 * every streaming STT (the Realtime transcription session, the StreamAdapter, the
 * FallbackAdapter) implements.
 * @module
 */
import type { AudioFrame } from "../audio/index.ts"

/** One hypothesis of what was said. Times are offsets into the session's audio, in milliseconds. */
export interface SpeechAlternative {
  readonly text: string
  /** ISO-639-1 code, when known. */
  readonly language?: string
  /** 0..1, from logprobs (mean of exp(logprob)); absent when the service gave none. */
  readonly confidence?: number
  readonly startMs: number
  readonly endMs: number
}

/** What one recognition (a streamed turn or a batch request) cost and how long it took. */
export interface RecognitionUsage {
  /** Duration of the recognized audio, in milliseconds. */
  readonly audioDurationMs: number
  /** Batch: request duration; streaming: end of speech (or commit) to final transcript. In milliseconds. */
  readonly latencyMs?: number
  readonly inputTokens?: number
  readonly outputTokens?: number
  readonly totalTokens?: number
  /** Billed seconds, for duration-billed models. */
  readonly billedSeconds?: number
  /** Whether the result was streamed (interim results) or returned whole. */
  readonly streamed: boolean
}

/** A non-fatal or fatal error surfaced as an event. */
export interface SpeechErrorInfo {
  /** A stable code: the service's error code, or the tag of a voxstate error. */
  readonly code: string
  readonly message: string
  readonly retryable: boolean
}

/** The events of a speech-to-text stream, in the order they happen. */
export type SpeechEvent =
  | { readonly type: "start_of_speech"; readonly itemId?: string; readonly atMs: number }
  | {
      readonly type: "interim_transcript"
      readonly itemId: string
      readonly alternatives: readonly SpeechAlternative[]
      /** Which STT produced it (set by adapters that combine several). */
      readonly source?: string
    }
  | {
      readonly type: "final_transcript"
      readonly itemId: string
      readonly alternatives: readonly SpeechAlternative[]
      readonly source?: string
    }
  | { readonly type: "end_of_speech"; readonly itemId?: string; readonly atMs: number }
  | {
      readonly type: "recognition_usage"
      readonly itemId?: string
      readonly usage: RecognitionUsage
      readonly source?: string
    }
  | {
      readonly type: "transcription_failed"
      readonly itemId: string
      /** The last interim text of the turn, if any. */
      readonly partial: string
      readonly error: SpeechErrorInfo
      readonly source?: string
    }
  | {
      readonly type: "reconnected"
      /** 1-based attempt that succeeded. */
      readonly attempt: number
      /** Milliseconds of audio replayed after the reconnect. */
      readonly replayedMs: number
    }
  | { readonly type: "error"; readonly error: SpeechErrorInfo; readonly fatal: boolean }

/**
 * A streaming recognition session: push audio, read events.
 *
 * Iteration ends after `endInput()` has drained or after `close()`; it throws only on a
 * fatal error (which is also delivered as an `error` event with `fatal: true` first).
 *
 * Misuse errors are each implementation's own typed error, and `isInputEndedError` (from
 * `voxstate/stt`) recognizes all of them:
 * - the Realtime transcription session (`createTranscriptionSession`) throws a
 *   `TranscriptionSessionError` with reason `InputEnded` after `endInput()`, `Closed` once
 *   the session has ended or was closed;
 * - the StreamAdapter and the FallbackAdapter throw an `STTError` with reason `InputEnded`
 *   after `endInput()` or `close()`.
 */
export interface SpeechStream extends AsyncIterable<SpeechEvent> {
  /**
   * Pushes audio of any sample rate and channel count.
   * @throws {AudioError} on an invalid frame or a format (rate, channels) that changes mid-stream,
   *   with every implementation
   * @throws the implementation's input-ended error (see above) after `endInput()` or `close()`
   */
  pushFrame(frame: AudioFrame): void
  /**
   * Ends the current segment (commits, when the client owns turns).
   * @throws the implementation's input-ended error (see above) after `endInput()` or `close()`
   */
  flush(): void
  /** No more audio: drain outstanding transcripts, then finish. Idempotent; never throws. */
  endInput(): void
  /** Stops now, releasing every socket, timer and fiber. */
  close(): Promise<void>
}
