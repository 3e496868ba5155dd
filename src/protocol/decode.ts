import { Effect, Exit, type Schema, type SchemaIssue, SchemaParser } from "effect"
import {
  boundMessage,
  describeValue,
  ProtocolError,
  protocolErrorFromIssue,
  truncateRaw,
} from "./ProtocolError.ts"

/**
 * The event a decoder returns for a frame whose `type` it does not model. It never fails:
 * new server events reach the caller untouched, to log or ignore.
 */
export interface UnknownServerEvent {
  readonly type: "unknown"
  /** The frame's own `type`. */
  readonly originalType: string
  /** The whole parsed frame. */
  readonly raw: { readonly [key: string]: unknown }
}

type AnySchema = Schema.Top & { readonly DecodingServices: never }

/** The decoder of one event family: a table from `type` to a precompiled per-type decoder. */
export type FrameDecoder<E> = (text: string) => E | UnknownServerEvent

const hasOwn = Object.prototype.hasOwnProperty

/**
 * Compiles a frame decoder for a family of events from its `type → schema` table. The
 * frame is parsed once with `JSON.parse`; its `type` picks one precompiled decoder, so an
 * audio delta never tries the other forty shapes. Fields the schemas do not name are
 * dropped; base64 payloads stay strings.
 *
 * The returned function throws {@link ProtocolError} on malformed JSON, a frame that is not
 * an object with a string `type`, or a known `type` with bad fields.
 */
export const makeFrameDecoder = <const Table extends Record<string, AnySchema>>(
  table: Table,
  /**
   * Hand-written decoders of hot types, tried first: each returns what the type's schema
   * would, or `undefined` for a shape it does not vouch for (then the schema decides).
   */
  fast: Readonly<Record<string, (frame: { readonly [key: string]: unknown }) => unknown>> = {},
): FrameDecoder<{ readonly [K in keyof Table]: Table[K]["Type"] }[keyof Table]> => {
  type Known = { readonly [K in keyof Table]: Table[K]["Type"] }[keyof Table]
  const decoders = new Map<string, (input: unknown) => Exit.Exit<unknown, SchemaIssue.Issue>>()
  for (const type of Object.keys(table)) {
    const schema = table[type]
    if (schema !== undefined) decoders.set(type, SchemaParser.decodeUnknownExit(schema))
  }
  const decodeFrame = (text: string): Known | UnknownServerEvent => {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (cause) {
      throw new ProtocolError({
        reason: "MalformedJson",
        message: boundMessage(
          `Malformed JSON frame: ${cause instanceof Error ? cause.message : String(cause)}`,
        ),
        path: [],
        raw: truncateRaw(text),
      })
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new ProtocolError({
        reason: "InvalidEvent",
        message: `Invalid event: expected a JSON object, got ${parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed}`,
        path: [],
        raw: truncateRaw(text),
      })
    }
    const frame = parsed as { readonly [key: string]: unknown }
    const type = hasOwn.call(frame, "type") ? frame.type : undefined
    if (typeof type !== "string") {
      throw new ProtocolError({
        reason: "InvalidEvent",
        message: `Invalid event: expected a string "type" at ["type"], got ${describeValue(type)}`,
        path: ["type"],
        raw: truncateRaw(text),
      })
    }
    const quick = hasOwn.call(fast, type) ? fast[type] : undefined
    if (quick !== undefined) {
      const event = quick(frame)
      if (event !== undefined) return event as Known
    }
    const decode = decoders.get(type)
    if (decode === undefined) return { type: "unknown", originalType: type, raw: frame }
    const exit = decode(frame)
    if (Exit.isSuccess(exit)) return exit.value as Known
    const issue = exit.cause.reasons.find((r) => r._tag === "Fail")
    if (issue !== undefined && issue._tag === "Fail") throw protocolErrorFromIssue(type, issue.error, text)
    throw new ProtocolError({
      reason: "InvalidEvent",
      message: boundMessage(`Invalid "${type}" event: the decoder stopped without an issue`),
      path: [],
      raw: truncateRaw(text),
      eventType: type,
    })
  }
  // Whatever the frame (nesting deep enough to exhaust the stack, a huge string), a failure
  // is a ProtocolError with a bounded message: nothing else may escape into a socket's handler.
  return (text: string): Known | UnknownServerEvent => {
    try {
      return decodeFrame(text)
    } catch (error) {
      if (error instanceof ProtocolError) return rethrowBounded(error)
      throw new ProtocolError({
        reason: "InvalidEvent",
        message: boundMessage(
          `Invalid event: the frame could not be decoded (${error instanceof Error ? `${error.name}: ${error.message}` : "non-error thrown"})`,
        ),
        path: [],
        raw: truncateRaw(typeof text === "string" ? text : String(text)),
      })
    }
  }
}

/** Rethrows `error` with its message (and event type) cut to the bound, when they exceed it. */
const rethrowBounded = (error: ProtocolError): never => {
  const message = boundMessage(error.message)
  const eventType = error.eventType === undefined ? undefined : boundMessage(error.eventType)
  if (message === error.message && eventType === error.eventType) throw error
  throw new ProtocolError({
    reason: error.reason,
    message,
    path: error.path.slice(0, 32),
    raw: error.raw,
    ...(eventType === undefined ? {} : { eventType }),
  })
}

/**
 * Lifts a throwing frame decoder into an Effect that fails with {@link ProtocolError}
 * (any other exception would be a defect of this library and stays a defect).
 */
export const effectFromFrameDecoder =
  <E>(decode: FrameDecoder<E>) =>
  (text: string): Effect.Effect<E | UnknownServerEvent, ProtocolError> =>
    Effect.suspend(() => {
      try {
        return Effect.succeed(decode(text))
      } catch (error) {
        if (error instanceof ProtocolError) return Effect.fail(error)
        throw error
      }
    })
