/**
 * The events every speech-to-text in voxstate emits: what the transcription machine
 * produces and what every STT stream yields (re-exported by `voxstate/stt`).
 * @module
 */

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
