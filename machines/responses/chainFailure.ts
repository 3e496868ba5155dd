/**
 * How a Responses chain fails, as data: the reason, a message, whether asking again can
 * succeed, and the rate-limit rules of the one retry a refused turn gets. The machine emits
 * these; `voxstate/llm` turns them into `LLMError`.
 * @module
 */
import { classifyOpenAIError, type HeaderLookup, retryAfterMsFromHeaders } from "../../src/protocol/index.ts"

/**
 * Why a chain turn, a prewarm or a chat failed (the reason of `LLMError`).
 *
 * - `Server`: the service refused the request or failed the response: an `error` event (flat or
 *   nested), `response.failed`, or an HTTP error status. `code` is the service's code
 *   (`previous_response_not_found`, `rate_limit_exceeded`, ...), `status` its HTTP-like status,
 *   `retryAfterMs` the delay the service asked for before a new attempt (`retry-after-ms` /
 *   `retry-after`), in milliseconds.
 * - `ConnectionLost`: the socket (or the HTTP stream) ended before the response did.
 *   `afterOutput` is true when text or a tool call had already reached the caller, which is
 *   why the turn was not replayed.
 * - `Connect`: the WebSocket (or HTTP connection) could not be opened; `status` is the HTTP
 *   status of a rejected upgrade.
 * - `Busy`: a turn is already in flight and the LLM was created with `whenBusy: "reject"`.
 * - `Closed`: the LLM was closed while the turn waited or ran.
 */
export type ChainFailureReason =
  | {
      readonly _tag: "Server"
      readonly code: string | undefined
      readonly status?: number
      readonly errorType?: string
      readonly retryAfterMs?: number
    }
  | { readonly _tag: "ConnectionLost"; readonly afterOutput: boolean }
  | { readonly _tag: "Connect"; readonly status?: number }
  | { readonly _tag: "Busy" }
  | {
      readonly _tag: "Timeout"
      readonly phase: "response_created" | "first_output" | "between_events"
      readonly timeoutMs: number
    }
  | { readonly _tag: "Closed" }

/**
 * A failure of the chain, as data. `retryable` says whether asking again (a new `chat()` with
 * the same context) can succeed; `attempts` counts the requests this turn sent (2 after a
 * recovery); `responseId` is the service's id of the failed response, when one was created.
 */
export interface ChainFailure {
  readonly reason: ChainFailureReason
  readonly message: string
  readonly retryable: boolean
  readonly attempts?: number
  readonly responseId?: string
}

/**
 * Builds the `Server` failure of an `error` event or a failed response. `retryable` is what
 * `classifyOpenAIError` says of its code, type and status (rate limits, server faults, the
 * chain-recovery codes, 408/409/429/5xx are; `insufficient_quota` and bad credentials never are).
 */
export const serverFailure = (info: {
  readonly code: string | undefined
  readonly message: string
  readonly status?: number | undefined
  readonly errorType?: string | undefined
  readonly retryAfterMs?: number | undefined
  readonly attempts?: number
  readonly responseId?: string | undefined
}): ChainFailure => ({
  reason: {
    _tag: "Server",
    code: info.code,
    ...(info.status === undefined ? {} : { status: info.status }),
    ...(info.errorType === undefined ? {} : { errorType: info.errorType }),
    ...(info.retryAfterMs === undefined ? {} : { retryAfterMs: info.retryAfterMs }),
  },
  message: info.code === undefined ? info.message : `${info.message} (${info.code})`,
  retryable: classifyOpenAIError({
    source: "event",
    code: info.code,
    errorType: info.errorType,
    status: info.status,
  }).retryable,
  ...(info.attempts === undefined ? {} : { attempts: info.attempts }),
  ...(info.responseId === undefined ? {} : { responseId: info.responseId }),
})

/** Default longest rate-limit delay waited out before a turn's one retry: 5 seconds. */
export const DEFAULT_RATE_LIMIT_MAX_WAIT_MS = 5_000
/** Default wait before retrying a rate-limited request that named no delay: 1 second. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 1_000

/**
 * Whether a refused request hit a rate limit (worth one more attempt after a wait): code
 * `rate_limit_exceeded`, or status 429 with any code but `insufficient_quota` (an exhausted
 * quota stays exhausted) and `websocket_connection_limit_reached` (which needs a new socket,
 * not a wait).
 */
export const isRateLimit = (code: string | undefined, status: number | undefined): boolean =>
  classifyOpenAIError({ source: "event", code, status }).kind === "rateLimited"

/**
 * How long to wait before the one retry of a rate-limited request, in milliseconds, or
 * `undefined` when it is not to be retried: the service's `retry-after-ms` / `retry-after`
 * (seconds or an HTTP date) when it names one, else `defaultWaitMs`; no retry when that is
 * longer than `maxWaitMs` (the caller is better served by the error, which carries
 * `retryAfterMs`), when `maxWaitMs` is 0, or when `x-should-retry: false` says so.
 * Header names are matched case-insensitively.
 */
export const rateLimitWaitMs = (
  headers: HeaderLookup | undefined,
  limits: { readonly maxWaitMs: number; readonly defaultWaitMs: number },
): number | undefined => {
  if (limits.maxWaitMs <= 0) return undefined
  if (headers?.("x-should-retry") === "false") return undefined
  const asked = serverRetryAfterMs(headers)
  const wait = asked ?? Math.min(limits.defaultWaitMs, limits.maxWaitMs)
  return wait <= limits.maxWaitMs ? wait : undefined
}

/** A case-insensitive reader of a plain header record (as `error.headers` on the Responses socket). */
export const headerReader =
  (record: Readonly<Record<string, string>> | undefined) =>
  (name: string): string | undefined => {
    if (record === undefined) return undefined
    const wanted = name.toLowerCase()
    for (const [key, value] of Object.entries(record)) if (key.toLowerCase() === wanted) return value
    return undefined
  }

/**
 * The delay a service asked for in `retry-after-ms` / `retry-after` (seconds or an HTTP date),
 * in milliseconds; undefined when it named none.
 */
export const serverRetryAfterMs = (headers: HeaderLookup | undefined): number | undefined =>
  headers === undefined ? undefined : retryAfterMsFromHeaders(headers)

/** The `Closed` failure of a turn or a prewarm on a chain (an LLM) that was closed. Never retryable. */
export const closedFailure = (): ChainFailure => ({
  reason: { _tag: "Closed" },
  message: "The LLM is closed",
  retryable: false,
})
