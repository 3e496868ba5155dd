/**
 * OpenAI REST error bodies and the typed error the simulator's REST routes raise when a
 * request is invalid. A route throws a {@link RestError}; the route wrapper turns it into
 * the HTTP status and `{ error: { message, type, param, code } }` body the service sends.
 * @module
 */
import type { ServerResponse } from "node:http"
import { Data } from "effect"

/** The JSON body of every OpenAI REST error (`{ error: { message, type, param, code } }`). */
export interface OpenAIErrorBody {
  readonly error: {
    readonly message: string
    readonly type: string
    readonly param: string | null
    readonly code: string | null
  }
}

/**
 * Why a REST request was refused:
 * - `InvalidRequest`: a parameter is missing, malformed or not allowed (400).
 * - `PayloadTooLarge`: the body is over the 25 MiB limit (413).
 * - `UnsupportedMedia`: a body that is not of the content type the endpoint reads (400).
 * - `ScriptedFailure`: the scenario asked for this request to fail.
 */
export type RestErrorReason = "InvalidRequest" | "PayloadTooLarge" | "UnsupportedMedia" | "ScriptedFailure"

/**
 * A REST request the simulator refuses, carrying the HTTP status and the OpenAI error body
 * to answer with. `retryable` follows the SDK's rule (408, 409, 429 and ≥ 500 are retried).
 */
export class RestError extends Data.TaggedError("RestError")<{
  readonly reason: RestErrorReason
  readonly status: number
  readonly body: OpenAIErrorBody
  readonly message: string
  readonly retryable: boolean
}> {}

/** Options of {@link restError}: the OpenAI error fields besides the message. */
export interface RestErrorFields {
  readonly type?: string
  readonly param?: string | null
  readonly code?: string | null
  readonly reason?: RestErrorReason
}

/** True for the statuses the `openai` SDK retries (408, 409, 429, ≥ 500). */
export const isRetryableStatus = (status: number): boolean =>
  status === 408 || status === 409 || status === 429 || status >= 500

/** Builds the OpenAI error body. */
export const openAIErrorBody = (
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
): OpenAIErrorBody => ({ error: { message, type, param, code } })

/** Builds a {@link RestError} for `status` (default type `invalid_request_error`, reason `InvalidRequest`). */
export const restError = (status: number, message: string, fields: RestErrorFields = {}): RestError =>
  new RestError({
    reason: fields.reason ?? (status === 413 ? "PayloadTooLarge" : "InvalidRequest"),
    status,
    body: openAIErrorBody(
      message,
      fields.type ?? (status >= 500 ? "server_error" : "invalid_request_error"),
      fields.param ?? null,
      fields.code ?? null,
    ),
    message,
    retryable: isRetryableStatus(status),
  })

/** A 400 `invalid_request_error` about one parameter. */
export const invalidParam = (
  param: string,
  message: string,
  code: string | null = "invalid_value",
): RestError => restError(400, message, { param, code })

/** A 400 for a required parameter that is absent. */
export const missingParam = (param: string): RestError =>
  restError(400, `Missing required parameter: '${param}'.`, { param, code: "missing_required_parameter" })

/** True when `u` is a {@link RestError}. */
export const isRestError = (u: unknown): u is RestError => u instanceof RestError

/** Writes a JSON body with a status; adds `content-length`. Does nothing if headers are already sent. */
export const sendJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void => {
  if (res.headersSent) {
    res.end()
    return
  }
  const text = JSON.stringify(body)
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  })
  res.end(text)
}

/** Answers with a {@link RestError}'s status and body. */
export const sendRestError = (res: ServerResponse, error: RestError): void =>
  sendJson(res, error.status, error.body)
