import type { Effect } from "effect"
import { effectFromFrameDecoder, makeFrameDecoder, type UnknownServerEvent } from "./decode.ts"
import { realtimeFastDecoders, responsesFastDecoders } from "./fastDecoders.ts"
import type { ProtocolError } from "./ProtocolError.ts"
import { type KnownRealtimeServerEvent, realtimeServerEventSchemas } from "./realtimeEvents.ts"
import { type KnownResponsesServerEvent, responsesServerEventSchemas } from "./responsesEvents.ts"

/** A decoded Realtime server frame: a modelled event, or {@link UnknownServerEvent}. Narrow on `type`. */
export type RealtimeServerEvent = KnownRealtimeServerEvent | UnknownServerEvent

/** A decoded Responses WebSocket server frame: a modelled event, or {@link UnknownServerEvent}. */
export type ResponsesServerEvent = KnownResponsesServerEvent | UnknownServerEvent

/**
 * Decodes one Realtime WebSocket text frame (GA transcription and conversation events,
 * beta `transcription_session.*` and beta response event names, `error`).
 *
 * For the hot path: one `JSON.parse`, one per-type decoder (hand-written for the deltas,
 * held equal to their schemas by tests); base64 stays a string.
 * An unknown `type` returns `{ type: "unknown", originalType, raw }`.
 * @throws {ProtocolError} `MalformedJson` for text that is not JSON; `InvalidEvent` for a
 * frame without a string `type` or a known `type` with bad fields (the message and `path`
 * name the first bad field, e.g. `["delta"]`).
 */
export const decodeRealtimeServerEventSync: (text: string) => RealtimeServerEvent = makeFrameDecoder(
  realtimeServerEventSchemas,
  realtimeFastDecoders,
)

/**
 * Decodes one Responses WebSocket text frame (lifecycle, output item, text, function call
 * arguments and both shapes of `error`). An unknown `type` returns an {@link UnknownServerEvent}.
 * @throws {ProtocolError} as {@link decodeRealtimeServerEventSync}.
 */
export const decodeResponsesServerEventSync: (text: string) => ResponsesServerEvent = makeFrameDecoder(
  responsesServerEventSchemas,
  responsesFastDecoders,
)

/**
 * The Effect form of {@link decodeRealtimeServerEventSync}: fails with {@link ProtocolError},
 * never with a defect for bad input.
 */
export const decodeRealtimeServerEvent: (text: string) => Effect.Effect<RealtimeServerEvent, ProtocolError> =
  effectFromFrameDecoder(decodeRealtimeServerEventSync)

/** The Effect form of {@link decodeResponsesServerEventSync}: fails with {@link ProtocolError}. */
export const decodeResponsesServerEvent: (
  text: string,
) => Effect.Effect<ResponsesServerEvent, ProtocolError> = effectFromFrameDecoder(
  decodeResponsesServerEventSync,
)

/**
 * A server error, whatever its wire shape: Realtime `{error:{…}}`, Responses nested
 * `{status?, error:{…}}` or Responses flat `{code, message, param}`. Absent or `null`
 * fields are `undefined`.
 */
export interface ServerErrorInfo {
  /** Machine-readable code, e.g. `session_expired`, `previous_response_not_found`. */
  readonly code: string | undefined
  /** Error class, e.g. `invalid_request_error`, `server_error`. */
  readonly type: string | undefined
  /** Human-readable message. */
  readonly message: string
  /** The request parameter at fault, e.g. `previous_response_id`. */
  readonly param: string | undefined
  /** HTTP-like status of a rejected Responses request (nested shape only). */
  readonly status: number | undefined
  /** The client `event_id` that caused a Realtime error, when the server names it. */
  readonly clientEventId: string | undefined
  /**
   * Headers the error carries (Responses nested shape only), e.g. `retry-after-ms`,
   * `retry-after`, `x-should-retry`, with the keys as sent; values are strings.
   */
  readonly headers: Readonly<Record<string, string>> | undefined
}

type AnyServerEvent = RealtimeServerEvent | ResponsesServerEvent

const orUndefined = <A>(value: A | null | undefined): A | undefined => (value === null ? undefined : value)

/**
 * The error carried by an `error` event, normalized across the Realtime and both Responses
 * shapes; `undefined` for any other event.
 */
export const serverErrorOf = (event: AnyServerEvent): ServerErrorInfo | undefined => {
  if (event.type !== "error") return undefined
  if ("error" in event) {
    const body = event.error
    return {
      code: orUndefined(body.code),
      type: orUndefined(body.type),
      message: body.message,
      param: orUndefined(body.param),
      status: "status" in event ? event.status : undefined,
      clientEventId: "event_id" in body ? orUndefined(body.event_id) : undefined,
      headers: "headers" in body ? body.headers : undefined,
    }
  }
  return {
    code: orUndefined(event.code),
    type: undefined,
    message: event.message,
    param: orUndefined(event.param),
    status: undefined,
    clientEventId: undefined,
    headers: undefined,
  }
}

/**
 * The code of an `error` event, flat (`ev.code`) or nested (`ev.error.code`); `undefined`
 * when the event is not an error or the error has no code.
 */
export const errorCodeOf = (event: AnyServerEvent): string | undefined => serverErrorOf(event)?.code
