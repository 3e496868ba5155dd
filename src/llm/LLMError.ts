import { Data } from "effect"

/**
 * Why an {@link LLMError} was raised.
 *
 * - `Server`: the service refused the request or failed the response: an `error` event (flat or
 *   nested), `response.failed`, or an HTTP error status. `code` is the service's code
 *   (`previous_response_not_found`, `rate_limit_exceeded`, ...), `status` its HTTP-like status.
 * - `ConnectionLost`: the socket (or the HTTP stream) ended before the response did.
 *   `afterOutput` is true when text or a tool call had already reached the caller, which is
 *   why the turn was not replayed.
 * - `Connect`: the WebSocket (or HTTP connection) could not be opened; `status` is the HTTP
 *   status of a rejected upgrade.
 * - `Busy`: a turn is already in flight and the LLM was created with `whenBusy: "reject"`.
 * - `Closed`: the LLM was closed while the turn waited or ran.
 * - `InvalidRequest`: the chat context or an option is malformed (a message without content,
 *   a function call without a name, an unknown role).
 */
export type LLMErrorReason =
  | {
      readonly _tag: "Server"
      readonly code: string | undefined
      readonly status?: number
      readonly errorType?: string
    }
  | { readonly _tag: "ConnectionLost"; readonly afterOutput: boolean }
  | { readonly _tag: "Connect"; readonly status?: number }
  | { readonly _tag: "Busy" }
  | { readonly _tag: "Closed" }
  | { readonly _tag: "InvalidRequest" }

/**
 * The one error of the LLM layer. `retryable` says whether asking again (a new `chat()` with
 * the same context) can succeed; `attempts` counts the requests this turn sent (2 after a
 * recovery); `responseId` is the service's id of the failed response, when one was created.
 */
export class LLMError extends Data.TaggedError("LLMError")<{
  readonly reason: LLMErrorReason
  readonly message: string
  readonly retryable: boolean
  readonly attempts?: number
  readonly responseId?: string
}> {}

/** True when `u` is an {@link LLMError}. */
export const isLLMError = (u: unknown): u is LLMError => u instanceof LLMError

/** Server error codes a later request can get past (rate limits, transient server faults). */
const retryableServerCodes: ReadonlySet<string> = new Set([
  "rate_limit_exceeded",
  "server_error",
  "server_is_overloaded",
  "slow_down",
  "websocket_connection_limit_reached",
  "previous_response_not_found",
])

/**
 * Builds the `Server` error of an `error` event or a failed response. `retryable` follows the
 * code (rate limits, server faults and the two chain-recovery codes are) and, failing that,
 * the status (429 and 5xx are).
 */
export const serverError = (info: {
  readonly code: string | undefined
  readonly message: string
  readonly status?: number | undefined
  readonly errorType?: string | undefined
  readonly attempts?: number
  readonly responseId?: string | undefined
}): LLMError =>
  new LLMError({
    reason: {
      _tag: "Server",
      code: info.code,
      ...(info.status === undefined ? {} : { status: info.status }),
      ...(info.errorType === undefined ? {} : { errorType: info.errorType }),
    },
    message: info.code === undefined ? info.message : `${info.message} (${info.code})`,
    retryable:
      (info.code !== undefined && retryableServerCodes.has(info.code)) ||
      info.errorType === "server_error" ||
      (info.status !== undefined && (info.status === 429 || info.status >= 500)),
    ...(info.attempts === undefined ? {} : { attempts: info.attempts }),
    ...(info.responseId === undefined ? {} : { responseId: info.responseId }),
  })

/** An `InvalidRequest` error: bad chat items or options. Never retryable. */
export const invalidRequest = (message: string): LLMError =>
  new LLMError({ reason: { _tag: "InvalidRequest" }, message, retryable: false })
