/**
 * `TTSError`, the one error of the text-to-speech layer, and the translation of a failed
 * request into it. The HTTP failure is the transport's `OpenAIHttpError` (`openAIHttpErrorOf`),
 * classified by the one error policy (`classifyOpenAIError`: statuses, `x-should-retry`,
 * `retry-after`, `insufficient_quota`), so every capability classifies a failure the same way.
 * @module
 */
import { Data } from "effect"
import { noScrubbing, openAIHttpErrorOf, type Scrubber } from "../transport/index.ts"

/**
 * Why a {@link TTSError} was raised.
 *
 * - `Http`: the service answered with a non-2xx status (`code` is the service's error code).
 * - `Connection`: no answer, or the answer broke off (refused, reset, dropped mid-body).
 * - `Timeout`: `firstAudio`: no audio within the attempt's `timeoutMs`; `read`: the audio
 *   stopped for longer than `readTimeoutMs` after it had started.
 * - `RetriesExhausted`: every attempt failed with a retryable error; `last` is the last one.
 * - `InvalidInput`: text the service cannot speak (empty, or not a string).
 * - `InvalidOptions`: a configuration value out of range (an unknown voice, a bad speed).
 * - `InvalidResponse`: a 2xx answer that is not the audio asked for (e.g. it ends inside a sample).
 * - `AllFailed`: every TTS of a fallback chain failed before its first audio.
 * - `InputEnded`: text was pushed (or `flush()` called) after `endInput()` or `cancel()`.
 */
export type TTSErrorReason =
  | {
      readonly _tag: "Http"
      readonly status: number
      readonly code?: string
      readonly requestId?: string
      /** Server-requested delay before retrying (`retry-after-ms` / `retry-after`), in milliseconds. */
      readonly retryAfterMs?: number
    }
  | { readonly _tag: "Connection"; readonly detail: string }
  | { readonly _tag: "Timeout"; readonly phase: "firstAudio" | "read"; readonly timeoutMs: number }
  | { readonly _tag: "RetriesExhausted"; readonly attempts: number; readonly last: TTSErrorReason }
  | { readonly _tag: "InvalidInput" }
  | { readonly _tag: "InvalidOptions" }
  | { readonly _tag: "InvalidResponse" }
  | {
      readonly _tag: "AllFailed"
      readonly failures: ReadonlyArray<{ readonly source: string; readonly reason: TTSErrorReason }>
    }
  | { readonly _tag: "InputEnded" }

/**
 * The error of every text-to-speech operation in voxstate: thrown by bad calls, and the
 * failure a `SynthesisStream`'s iteration throws.
 *
 * `retryable` says whether the same request could succeed later (connection failures,
 * timeouts, 408/409/429/5xx); `attempts` counts the requests made for the failed segment
 * (0 when none was made); `source` names the TTS; `segmentId` the segment that failed.
 */
export class TTSError extends Data.TaggedError("TTSError")<{
  readonly reason: TTSErrorReason
  readonly message: string
  readonly retryable: boolean
  readonly attempts: number
  readonly source?: string
  readonly segmentId?: string
  readonly cause?: unknown
}> {}

/** True when `u` is a {@link TTSError}. */
export const isTTSError = (u: unknown): u is TTSError => u instanceof TTSError

/** A copy of `error` with some fields replaced (e.g. the attempts count, the segment). */
export const withTTSFields = (
  error: TTSError,
  patch: { readonly attempts?: number; readonly segmentId?: string; readonly message?: string },
): TTSError =>
  new TTSError({
    reason: error.reason,
    message: patch.message ?? error.message,
    retryable: error.retryable,
    attempts: patch.attempts ?? error.attempts,
    ...(error.source === undefined ? {} : { source: error.source }),
    ...((patch.segmentId ?? error.segmentId) === undefined
      ? {}
      : { segmentId: (patch.segmentId ?? error.segmentId) as string }),
    ...(error.cause === undefined ? {} : { cause: error.cause }),
  })

/** A {@link TTSError} for a bad call or option, never retryable. */
export const ttsInvalid = (
  reason: "InvalidInput" | "InvalidOptions" | "InputEnded",
  message: string,
  source?: string,
): TTSError =>
  new TTSError({
    reason: { _tag: reason },
    message: source === undefined ? message : `${source}: ${message}`,
    retryable: false,
    attempts: 0,
    ...(source === undefined ? {} : { source }),
  })

/**
 * Translates a failure of one speech request (an `openai` client error, a fetch
 * `TypeError`, or anything else) into a {@link TTSError}, with the STT's HTTP policy; the
 * server's text (message, connection detail, kept cause) goes through `scrub`.
 * Returns a `TTSError` unchanged.
 */
export const toTTSError = (
  error: unknown,
  attempt: number,
  source: string,
  timeoutMs = 0,
  scrub: Scrubber = noScrubbing,
): TTSError => {
  if (isTTSError(error)) return error
  const http = openAIHttpErrorOf(error, scrub)
  const reason = http.reason
  const base = { retryable: http.retryable, attempts: attempt, source }
  const cause = http.cause === undefined ? {} : { cause: http.cause }
  switch (reason._tag) {
    case "Timeout":
      return new TTSError({
        ...base,
        reason: { _tag: "Timeout", phase: "firstAudio", timeoutMs },
        message: `${source}: request timed out`,
        ...cause,
      })
    case "Connection":
      return new TTSError({
        ...base,
        reason: { _tag: "Connection", detail: reason.detail },
        message: `${source}: ${http.message}`,
        ...cause,
      })
    case "Status":
      return new TTSError({
        ...base,
        reason: {
          _tag: "Http",
          status: reason.status,
          ...(reason.code === undefined ? {} : { code: reason.code }),
          ...(reason.requestId === undefined ? {} : { requestId: reason.requestId }),
          ...(reason.retryAfterMs === undefined ? {} : { retryAfterMs: reason.retryAfterMs }),
        },
        message: `${source}: HTTP ${reason.status}${reason.code ? ` ${reason.code}` : ""}: ${http.message}`,
        ...cause,
      })
    case "Aborted":
    case "Unreadable":
      return new TTSError({
        ...base,
        reason: { _tag: "InvalidResponse" },
        message: `${source}: ${http.message}`,
        ...cause,
      })
  }
}

/** Describes a failure reason in a few words, for messages. */
export const describeTTSReason = (reason: TTSErrorReason): string => {
  switch (reason._tag) {
    case "Http":
      return `HTTP ${reason.status}${reason.code ? ` (${reason.code})` : ""}`
    case "Connection":
      return `connection error: ${reason.detail}`
    case "Timeout":
      return reason.phase === "firstAudio"
        ? `no audio within ${reason.timeoutMs} ms`
        : `the audio stopped for ${reason.timeoutMs} ms`
    case "RetriesExhausted":
      return `${reason.attempts} attempts failed, last: ${describeTTSReason(reason.last)}`
    case "AllFailed":
      return reason.failures.map((f) => `${f.source}: ${describeTTSReason(f.reason)}`).join("; ")
    default:
      return reason._tag
  }
}
