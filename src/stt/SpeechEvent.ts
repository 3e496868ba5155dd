/**
 * The events every speech-to-text in voxstate emits, and the streaming session API that
 * every streaming STT (the Realtime transcription session, the StreamAdapter, the
 * FallbackAdapter) implements.
 * @module
 */
import type { SpeechEvent } from "../../machines/transcription/speechEvents.ts"
import type { AudioFrame } from "../audio/index.ts"

export type {
  RecognitionUsage,
  SpeechAlternative,
  SpeechErrorInfo,
  SpeechEvent,
} from "../../machines/transcription/speechEvents.ts"

/**
 * A streaming recognition session: push audio, read events.
 *
 * Iteration ends after `endInput()` has drained or after `close()`; it throws only on a
 * fatal error (which is also delivered as an `error` event with `fatal: true` first).
 *
 * Misuse errors are the one STT error, `STTError`, and `isInputEndedError` (from
 * `voxstate/stt`) recognizes them: reason `InputEnded` after `endInput()` (and, for the
 * StreamAdapter and the FallbackAdapter, after `close()`); `Closed` once the Realtime
 * transcription session has ended or was closed. A session that ended on a fatal error
 * fails its iteration with reason `Failed`.
 *
 * Reading (the same rule for every implementation, checked by the conformance suite): reads
 * share one queue. Each event goes to exactly one read, in order; reads made while nothing
 * is queued wait in the order they were made, so two iterators reading at once split the
 * events and neither is left pending; at the end every waiting read completes (the first
 * with the failure, if any, once). Breaking out of a `for await` stops the reading for
 * every iterator (the stream itself keeps running until `endInput()` or `close()`).
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
