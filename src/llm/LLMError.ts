import { Data } from "effect"
import {
  type ChainFailure,
  type ChainFailureReason,
  closedFailure,
  serverFailure,
} from "../../machines/responses/chainFailure.ts"

export {
  type ChainFailure,
  type ChainFailureReason,
  DEFAULT_RATE_LIMIT_MAX_WAIT_MS,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  headerReader,
  isRateLimit,
  rateLimitWaitMs,
  serverFailure,
  serverRetryAfterMs,
} from "../../machines/responses/chainFailure.ts"

/**
 * Why an {@link LLMError} was raised: a {@link ChainFailureReason} (see there: `Server`,
 * `ConnectionLost`, `Connect`, `Busy`, `Closed`), or
 * - `InvalidRequest`: the chat context or an option is malformed (a message without content,
 *   a function call without a name, an unknown role).
 * - `Timeout`: the service owed the turn an event and sent none in time: `phase`
 *   `response_created` (no `response.created` after the request), `first_output` (nothing
 *   after `response.created`), `between_events` (silence in the middle of a response);
 *   `timeoutMs` is the wait that ran out. The socket is replaced, so a late reply cannot
 *   reach the next turn.
 */
export type LLMErrorReason = ChainFailureReason | { readonly _tag: "InvalidRequest" }

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

/** Builds the `Server` error of an `error` event, a failed response or an HTTP error status (see {@link serverFailure}). */
export const serverError = (info: Parameters<typeof serverFailure>[0]): LLMError =>
  new LLMError(serverFailure(info))

/**
 * The typed error of a chain failure the machine reported as data.
 * @internal
 */
export const fromChainFailure = (failure: ChainFailure): LLMError =>
  failure instanceof LLMError ? failure : new LLMError(failure)

/** An `InvalidRequest` error: bad chat items or options. Never retryable. */
export const invalidRequest = (message: string): LLMError =>
  new LLMError({ reason: { _tag: "InvalidRequest" }, message, retryable: false })

/** The `Closed` error of a chat or prewarm on an LLM that `close()` has closed. Never retryable. */
export const closedError = (): LLMError => new LLMError(closedFailure())
