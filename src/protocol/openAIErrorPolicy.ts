/**
 * The one error policy of every OpenAI client in voxstate: given what the service said (an
 * `error` event on a Realtime or Responses socket, a WebSocket close code, an HTTP status of a
 * REST answer or of a rejected upgrade), whether a new attempt can succeed, whether it is a
 * rate limit to wait out, and how long the service asked to wait.
 *
 * Pure: machines use it to choose their transitions, transports and facades to set the
 * `retryable` flag of their typed errors, so the STT, the LLM and every Realtime session
 * agree on every code and status.
 * @module
 */
import { retryAfterMsFromHeaders } from "./retryAfter.ts"

/** Looks a response header up by name (case-insensitively, as `Headers.get` does). */
export type HeaderLookup = (name: string) => string | null | undefined

/** What the service said, by where it said it. */
export type OpenAIErrorSignal =
  | {
      /** An `error` event on a socket (Realtime, or Responses with its optional status and headers). */
      readonly source: "event"
      readonly code?: string | undefined
      readonly errorType?: string | undefined
      readonly status?: number | undefined
      readonly headers?: HeaderLookup | undefined
    }
  | {
      /** An HTTP error status: a REST answer, or a rejected WebSocket upgrade. */
      readonly source: "http"
      readonly status: number
      readonly code?: string | undefined
      readonly errorType?: string | undefined
      readonly headers?: HeaderLookup | undefined
    }
  | {
      /** A WebSocket close code (1000 is a normal end, not an error: it classifies as `fatal`). */
      readonly source: "close"
      readonly code: number
    }

/**
 * The verdict.
 * - `fatal`: no attempt can succeed until the credentials, the quota, the model or the
 *   account change (bad key, no quota, unknown model, permission).
 * - `rateLimited`: the same request succeeds after a wait (`retryAfterMs` when the service
 *   named one).
 * - `retryable`: a new attempt (a new request, a new connection) can succeed now.
 * - `rejected`: this request was refused for what it is (a 400 invalid request, an empty
 *   commit); sending it again fails again, but a session that sent it can carry on.
 */
export type OpenAIErrorKind = "fatal" | "rateLimited" | "retryable" | "rejected"

/** The class of an OpenAI error; `retryable` is true for `rateLimited` and `retryable`. */
export interface OpenAIErrorClass {
  readonly kind: OpenAIErrorKind
  readonly retryable: boolean
  /** The delay the service asked for (`retry-after-ms` / `retry-after`), in milliseconds. */
  readonly retryAfterMs: number | undefined
}

/** Codes after which nothing but a change of key, quota, model or account helps. */
const FATAL_CODES: ReadonlySet<string> = new Set([
  "beta_api_shape_disabled",
  "insufficient_quota",
  "invalid_api_key",
  "model_not_found",
])

/** Error types of the same kind. */
const FATAL_TYPES: ReadonlySet<string> = new Set(["authentication_error", "permission_error"])

/** Codes a new attempt can get past now: server faults, a lost session or chain, a socket cap. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  "server_error",
  "server_is_overloaded",
  "slow_down",
  "session_expired",
  "websocket_connection_limit_reached",
  // The server no longer holds the chain: a request that resends the full context succeeds.
  "previous_response_not_found",
])

/** Close codes after which reconnecting can succeed (going away, no status, abnormal, server error, restart, try later, TLS). */
const RETRYABLE_CLOSE_CODES: ReadonlySet<number> = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1015])

/** HTTP statuses worth a new attempt: request timeout, conflict (a lock timeout), rate limit, every 5xx. */
const isRetryableStatusCode = (status: number): boolean =>
  status === 408 || status === 409 || status === 429 || status >= 500

const verdict = (kind: OpenAIErrorKind, retryAfterMs?: number): OpenAIErrorClass => ({
  kind,
  retryable: kind === "rateLimited" || kind === "retryable",
  retryAfterMs,
})

/**
 * Classifies what the service said (see {@link OpenAIErrorSignal}):
 * - close codes: 1001, 1005, 1006, 1011, 1012, 1013, 1015 are `retryable`, every other
 *   code (1000 included, 4000 the Realtime rejection, unknown codes) is `fatal`;
 * - `insufficient_quota`, `invalid_api_key`, `model_not_found`, `beta_api_shape_disabled`,
 *   and the `authentication_error` / `permission_error` types, are `fatal` whatever the
 *   status (a 429 for an exhausted quota is not a rate limit); so are HTTP 401 and 403;
 * - an HTTP answer's `x-should-retry: true | false` then decides, as the `openai` SDK does;
 * - `rate_limit_exceeded`, or status 429, is `rateLimited` (but a 429 for
 *   `websocket_connection_limit_reached` is `retryable`: it needs a new socket, not a wait);
 * - the server-fault and lost-session codes, the `server_error` type, and the statuses 408,
 *   409 and 5xx are `retryable`;
 * - anything else is `rejected`.
 *
 * @param nowMs the current time in epoch milliseconds, for an HTTP-date `retry-after`
 */
export const classifyOpenAIError = (signal: OpenAIErrorSignal, nowMs?: number): OpenAIErrorClass => {
  if (signal.source === "close")
    return verdict(RETRYABLE_CLOSE_CODES.has(signal.code) ? "retryable" : "fatal")
  const { code, errorType, status, headers } = signal
  const retryAfterMs = headers === undefined ? undefined : retryAfterMsFromHeaders(headers, nowMs)
  if (code !== undefined && FATAL_CODES.has(code)) return verdict("fatal")
  if (errorType !== undefined && FATAL_TYPES.has(errorType)) return verdict("fatal")
  if (status === 401 || status === 403) return verdict("fatal")
  if (signal.source === "http") {
    const shouldRetry = headers?.("x-should-retry")
    if (shouldRetry === "false") return verdict("rejected")
    if (shouldRetry === "true") return verdict(status === 429 ? "rateLimited" : "retryable", retryAfterMs)
  }
  if (code === "rate_limit_exceeded") return verdict("rateLimited", retryAfterMs)
  if (code !== undefined && RETRYABLE_CODES.has(code)) return verdict("retryable", retryAfterMs)
  if (status === 429) return verdict("rateLimited", retryAfterMs)
  if (errorType === "server_error") return verdict("retryable", retryAfterMs)
  if (status !== undefined && isRetryableStatusCode(status)) return verdict("retryable", retryAfterMs)
  return verdict("rejected", retryAfterMs)
}
