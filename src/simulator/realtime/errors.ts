/**
 * Realtime `error` events, the typed error the Realtime handlers throw while validating
 * a client event, and the object and key checks that raise it. Codes follow the service where known (`missing_required_parameter`,
 * `unknown_parameter`, `invalid_type`, `invalid_value`, `input_audio_buffer_commit_empty`,
 * `conversation_already_has_active_response`, `response_cancel_not_active`,
 * `beta_api_shape_disabled`, `session_expired`). Where the service's code is unknown the
 * simulator's choice is documented at the place it is raised.
 * @module
 */
import { Data } from "effect"

/** The `error` object of a Realtime `error` event. */
export interface RealtimeErrorBody {
  readonly type: string
  readonly code: string | null
  readonly message: string
  readonly param: string | null
  /** The `event_id` of the client event that caused the error, when it had one. */
  readonly event_id: string | null
}

/** Builds a Realtime `error` server event. */
export const realtimeErrorEvent = (eventId: string, error: RealtimeErrorBody) =>
  ({ type: "error", event_id: eventId, error }) as const

/**
 * A client event the simulator refuses, as the service would. `reason` is the error code
 * sent to the client; `param` names the offending field path (e.g. `session.audio.input.format`).
 */
export class RealtimeRequestError extends Data.TaggedError("RealtimeRequestError")<{
  readonly reason: string
  readonly message: string
  readonly param: string | null
  readonly errorType: string
}> {}

/** A `RealtimeRequestError` of type `invalid_request_error`. */
export const requestError = (reason: string, message: string, param: string | null = null) =>
  new RealtimeRequestError({ reason, message, param, errorType: "invalid_request_error" })

/** `missing_required_parameter` for `path`. */
export const missingParameter = (path: string) =>
  requestError("missing_required_parameter", `Missing required parameter: '${path}'.`, path)

/** `unknown_parameter` for `path`. */
export const unknownParameter = (path: string) =>
  requestError("unknown_parameter", `Unknown parameter: '${path}'.`, path)

const describeType = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  switch (typeof value) {
    case "string":
      return "a string"
    case "number":
      return Number.isInteger(value) ? "an integer" : "a decimal"
    case "boolean":
      return "a boolean"
    case "object":
      return "an object"
    default:
      return typeof value
  }
}

/** `invalid_type` for `path`: `expected` names the wanted type ("an object", "a string", ...). */
export const invalidType = (path: string, expected: string, value: unknown) =>
  requestError(
    "invalid_type",
    `Invalid type for '${path}': expected ${expected}, but got ${describeType(value)} instead.`,
    path,
  )

const quote = (value: unknown) => (typeof value === "string" ? `'${value}'` : JSON.stringify(value))

/** `invalid_value` for `path`, listing the supported values when given. */
export const invalidValue = (path: string, value: unknown, supported?: readonly unknown[]) =>
  requestError(
    "invalid_value",
    supported === undefined
      ? `Invalid value for '${path}': ${quote(value)}.`
      : `Invalid value: ${quote(value)}. Supported values are: ${supported.map(quote).join(", ")}.`,
    path,
  )

/** A JSON object as a client event carries it. */
export type Json = Record<string, unknown>

/** Whether `value` is a JSON object (not null, not an array). */
export const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * `value` as an object.
 * @throws {RealtimeRequestError} `invalid_type` for anything else
 */
export const expectObject = (value: unknown, path: string): Json => {
  if (!isRecord(value)) throw invalidType(path, "an object", value)
  return value
}

/**
 * Checks that `value` has no keys but `allowed`.
 * @throws {RealtimeRequestError} `unknown_parameter` naming the first other key
 */
export const checkKeys = (value: Json, path: string, allowed: readonly string[]): void => {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw unknownParameter(`${path}.${key}`)
  }
}
