/**
 * Retries for speech-to-text requests: the connection options (attempts, interval, jitter,
 * per-attempt timeout), the Effect `Schedule` built from them, the classification of
 * failures as retryable or not, and `STTError`, the one error of the STT layer.
 * @module
 */
import { Data, Duration, Effect, Schedule } from "effect"
import type { SpeechErrorInfo } from "../../machines/transcription/speechEvents.ts"
import { classifyOpenAIError } from "../protocol/openAIErrorPolicy.ts"

/**
 * Why an {@link STTError} was raised.
 *
 * - `Http`: the service answered with a non-2xx status (`code` is the service's error code).
 * - `Connection`: no answer: refused, reset, or destroyed connection.
 * - `Timeout`: one attempt took longer than `timeoutMs`, or the whole request (its retries and
 *   their waits, a server's `retry-after` included) longer than `totalTimeoutMs`.
 * - `RetriesExhausted`: every attempt failed with a retryable error; `last` is the last one.
 * - `AudioTooLong`: the audio exceeds the request size limit and has no silence to cut at.
 * - `InvalidAudio`: the audio could not be converted (see the `AudioError` in `cause`).
 * - `InvalidResponse`: a 2xx answer that is not a transcription.
 * - `InvalidOptions`: a configuration value out of range.
 * - `Recognition`: a streaming STT reported that it could not transcribe a turn.
 * - `AllFailed`: every STT of a fallback chain failed; `failures` names each one.
 * - `Aborted`: the caller aborted (an `AbortSignal`) or closed the stream.
 * - `InputEnded`: audio was pushed (or `flush()` called) after `endInput()` or `close()` of a stream.
 * - `Closed`: audio was pushed (or `flush()` called) on a streaming session that has ended.
 * - `Failed`: a streaming session ended on a fatal error event (`error` says which).
 */
export type STTErrorReason =
  | {
      readonly _tag: "Http"
      readonly status: number
      readonly code?: string
      readonly requestId?: string
      /** Server-requested delay before retrying (`retry-after-ms` / `retry-after`), in milliseconds. */
      readonly retryAfterMs?: number
    }
  | { readonly _tag: "Connection"; readonly detail: string }
  | { readonly _tag: "Timeout"; readonly timeoutMs: number }
  | { readonly _tag: "RetriesExhausted"; readonly attempts: number; readonly last: STTErrorReason }
  | {
      readonly _tag: "AudioTooLong"
      /** Size of the request the audio would need, in bytes. */
      readonly bytes: number
      /** The request size limit, in bytes. */
      readonly limitBytes: number
    }
  | { readonly _tag: "InvalidAudio" }
  | { readonly _tag: "InvalidResponse" }
  | { readonly _tag: "InvalidOptions" }
  | { readonly _tag: "Recognition"; readonly code: string }
  | {
      readonly _tag: "AllFailed"
      readonly failures: ReadonlyArray<{ readonly source: string; readonly reason: STTErrorReason }>
    }
  | { readonly _tag: "Aborted" }
  | { readonly _tag: "InputEnded" }
  | { readonly _tag: "Closed" }
  | { readonly _tag: "Failed"; readonly error: SpeechErrorInfo }

/**
 * The error of every speech-to-text operation in voxstate.
 *
 * `retryable` says whether the same request could succeed later (connection failures,
 * timeouts, 408/409/429/5xx, and exhausted retries of those); `attempts` counts the
 * requests made before giving up (0 when none was made). `source` names the STT.
 */
export class STTError extends Data.TaggedError("STTError")<{
  readonly reason: STTErrorReason
  readonly message: string
  readonly retryable: boolean
  readonly attempts: number
  readonly source?: string
  readonly cause?: unknown
}> {}

/** True when `u` is an {@link STTError}. */
export const isSTTError = (u: unknown): u is STTError => u instanceof STTError

/** A stable code for an error, used in `SpeechErrorInfo.code`: the service code, else the reason tag. */
export const sttErrorCode = (error: STTError): string => {
  const reason = error.reason._tag === "RetriesExhausted" ? error.reason.last : error.reason
  if (reason._tag === "Http") return reason.code ?? `http_${reason.status}`
  if (reason._tag === "Recognition") return reason.code
  if (reason._tag === "Failed") return reason.error.code
  return error.reason._tag
}

/**
 * How one STT request is attempted, like LiveKit's `APIConnectOptions`. Durations in milliseconds.
 */
export interface APIConnectOptions {
  /** Retries after the first attempt; 0 makes a single attempt. */
  readonly maxRetry: number
  /** Delay before the first retry, in milliseconds. */
  readonly retryIntervalMs: number
  /** `fixed` waits `retryIntervalMs` each time; `exponential` doubles it after each retry. */
  readonly backoff: "fixed" | "exponential"
  /** Upper bound of one delay, in milliseconds (a server `retry-after` may exceed it, up to 60 s). */
  readonly maxRetryIntervalMs: number
  /** Scale each delay by a random factor in [0.8, 1.2] so that clients do not retry in lockstep. */
  readonly jitter: boolean
  /** Time limit of one attempt, in milliseconds; a timed-out attempt is retryable. */
  readonly timeoutMs: number
  /**
   * Time limit of the whole request, every attempt and every wait between them included (a
   * server's `retry-after` cannot stretch it), in milliseconds; default
   * `(maxRetry + 1) × timeoutMs + maxRetry × maxRetryIntervalMs` (the longest the configured
   * attempts and waits can take; only a server's longer `retry-after` meets this bound).
   */
  readonly totalTimeoutMs: number
}

/** The defaults: 3 retries, 2 s apart with jitter, 30 s per attempt, 210 s in all. */
export const DEFAULT_API_CONNECT_OPTIONS: APIConnectOptions = {
  maxRetry: 3,
  retryIntervalMs: 2_000,
  backoff: "fixed",
  maxRetryIntervalMs: 30_000,
  jitter: true,
  timeoutMs: 30_000,
  totalTimeoutMs: 210_000,
}

/** The longest server-requested delay honoured, in milliseconds (as the openai SDK does). */
export const MAX_RETRY_AFTER_MS = 60_000

const invalidOptions = (message: string): STTError =>
  new STTError({ reason: { _tag: "InvalidOptions" }, message, retryable: false, attempts: 0 })

const defaultTotalMs = (
  o: Pick<APIConnectOptions, "maxRetry" | "timeoutMs" | "maxRetryIntervalMs">,
): number => (o.maxRetry + 1) * o.timeoutMs + o.maxRetry * o.maxRetryIntervalMs

/**
 * Fills in {@link DEFAULT_API_CONNECT_OPTIONS} and validates the result.
 * @throws STTError (`InvalidOptions`) for a negative or non-integer retry count, or a
 *   negative or non-finite duration (the timeout must be positive).
 */
export const resolveConnectOptions = (options?: Partial<APIConnectOptions>): APIConnectOptions => {
  const merged = { ...DEFAULT_API_CONNECT_OPTIONS, ...options }
  const resolved: APIConnectOptions = {
    ...merged,
    totalTimeoutMs: options?.totalTimeoutMs ?? defaultTotalMs(merged),
  }
  if (!Number.isInteger(resolved.maxRetry) || resolved.maxRetry < 0) {
    throw invalidOptions(`maxRetry must be a non-negative integer, got ${resolved.maxRetry}`)
  }
  for (const key of ["retryIntervalMs", "maxRetryIntervalMs"] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] < 0) {
      throw invalidOptions(`${key} must be a non-negative number of milliseconds, got ${resolved[key]}`)
    }
  }
  for (const key of ["timeoutMs", "totalTimeoutMs"] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] <= 0) {
      throw invalidOptions(`${key} must be a positive number of milliseconds, got ${resolved[key]}`)
    }
  }
  return resolved
}

/** True for the HTTP statuses worth retrying: 408, 409, 429 and every 5xx (see `classifyOpenAIError`). */
export const isRetryableStatus = (status: number): boolean =>
  classifyOpenAIError({ source: "http", status }).retryable

/**
 * Whether an HTTP failure is retryable, by `classifyOpenAIError`: never for a fatal code
 * (`insufficient_quota`, even on a 429) or 401/403; else the `x-should-retry` header decides
 * when present; otherwise {@link isRetryableStatus}.
 */
export const isRetryableHttp = (status: number, code?: string, shouldRetryHeader?: string | null): boolean =>
  classifyOpenAIError({
    source: "http",
    status,
    code,
    headers: (name) => (name === "x-should-retry" ? shouldRetryHeader : undefined),
  }).retryable

/**
 * A failure {@link retrySchedule} can be driven by: any tagged error whose `Http` reason may
 * carry the server's `retryAfterMs` (the STT's and the TTS's errors alike).
 */
export interface RetryableFailure {
  readonly reason: { readonly _tag: string; readonly retryAfterMs?: number }
}

const serverDelayMs = (error: RetryableFailure): number | undefined =>
  error.reason._tag === "Http" && error.reason.retryAfterMs !== undefined
    ? Math.min(error.reason.retryAfterMs, MAX_RETRY_AFTER_MS)
    : undefined

/**
 * The retry `Schedule` of a request: fixed or exponential delays from `retryIntervalMs`,
 * jittered when asked, capped at `maxRetryIntervalMs` (after the jitter), at least the server's `retry-after`
 * (up to {@link MAX_RETRY_AFTER_MS}), and at most `maxRetry` recurrences. Its input is the
 * failure being retried (an {@link STTError}, or any {@link RetryableFailure}).
 */
export const retrySchedule = <E extends RetryableFailure = STTError>(
  options: APIConnectOptions,
): Schedule.Schedule<unknown, E> => {
  const base: Schedule.Schedule<unknown> =
    options.backoff === "exponential"
      ? Schedule.exponential(Duration.millis(options.retryIntervalMs))
      : Schedule.spaced(Duration.millis(options.retryIntervalMs))
  const maxDelay = Duration.millis(options.maxRetryIntervalMs)
  const typed = Schedule.setInputType<E>()(base)
  // Jitter first, then the cap, so that no delay exceeds maxRetryIntervalMs.
  const jittered = options.jitter ? Schedule.jittered(typed) : typed
  const capped: Schedule.Schedule<unknown, E> = Schedule.modifyDelay(jittered, ({ duration }) =>
    Effect.succeed(Duration.min(duration, maxDelay)),
  )
  const withServerDelay: Schedule.Schedule<unknown, E> = Schedule.modifyDelay(
    capped,
    ({ duration, input }) => {
      const serverMs = serverDelayMs(input)
      return Effect.succeed(
        serverMs === undefined ? duration : Duration.max(duration, Duration.millis(serverMs)),
      )
    },
  )
  return Schedule.upTo(withServerDelay, { times: options.maxRetry })
}

/**
 * Describes a failure reason in a few words, for messages.
 * @internal
 */
export const describeReason = (reason: STTErrorReason): string => {
  switch (reason._tag) {
    case "Http":
      return `HTTP ${reason.status}${reason.code ? ` (${reason.code})` : ""}`
    case "Connection":
      return `connection error: ${reason.detail}`
    case "Timeout":
      return `no answer within ${reason.timeoutMs} ms`
    case "RetriesExhausted":
      return `${reason.attempts} attempts failed, last: ${describeReason(reason.last)}`
    case "AudioTooLong":
      return `audio needs ${reason.bytes} bytes, over the ${reason.limitBytes}-byte limit`
    case "Recognition":
      return `recognition failed (${reason.code})`
    case "AllFailed":
      return reason.failures.map((f) => `${f.source}: ${describeReason(f.reason)}`).join("; ")
    default:
      return reason._tag
  }
}

/**
 * Runs `attempt` (given the 1-based attempt number) under the connection options: each
 * attempt limited to `timeoutMs` (a `Timeout` failure, which interrupts the attempt), retryable
 * failures retried on {@link retrySchedule}, others returned at once with `attempts` set.
 * When the retries run out, fails with `RetriesExhausted` naming the attempts, e.g.
 * "failed to recognize speech after 4 attempts: HTTP 503".
 */
export const withRetries = <A, R>(
  attempt: (attemptNumber: number) => Effect.Effect<A, STTError, R>,
  options: APIConnectOptions,
  label = "stt",
): Effect.Effect<A, STTError, R> =>
  Effect.suspend(() => {
    let attempts = 0
    const once = Effect.suspend(() => {
      attempts += 1
      const current = attempts
      return attempt(current).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(options.timeoutMs),
          orElse: () =>
            Effect.fail(
              new STTError({
                reason: { _tag: "Timeout", timeoutMs: options.timeoutMs },
                message: `${label}: attempt ${current} got no answer within ${options.timeoutMs} ms`,
                retryable: true,
                attempts: current,
              }),
            ),
        }),
        Effect.tapError((error) =>
          error.retryable && current <= options.maxRetry
            ? Effect.logDebug(
                `${label}: attempt ${current} failed (${describeReason(error.reason)}), retrying`,
              )
            : Effect.void,
        ),
      )
    })
    const total = options.totalTimeoutMs ?? defaultTotalMs(options)
    return once.pipe(
      Effect.retry({ schedule: retrySchedule(options), while: (error: STTError) => error.retryable }),
      // The request as a whole is bounded: a long `retry-after` cannot keep recognize() waiting.
      Effect.timeoutOrElse({
        duration: Duration.millis(total),
        orElse: () =>
          Effect.fail(
            new STTError({
              reason: { _tag: "Timeout", timeoutMs: total },
              message: `${label}: no result within ${total} ms in all (${attempts} attempt${attempts === 1 ? "" : "s"}, waits included)`,
              retryable: false,
              attempts,
            }),
          ),
      }),
      Effect.mapError((error) => {
        if (!error.retryable) {
          return new STTError({
            reason: error.reason,
            message: error.message,
            retryable: false,
            attempts,
            ...(error.source === undefined ? {} : { source: error.source }),
            ...(error.cause === undefined ? {} : { cause: error.cause }),
          })
        }
        return new STTError({
          reason: { _tag: "RetriesExhausted", attempts, last: error.reason },
          message: `${label}: failed to recognize speech after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${describeReason(error.reason)}`,
          retryable: true,
          attempts,
          ...(error.source === undefined ? {} : { source: error.source }),
          cause: error,
        })
      }),
    )
  })
