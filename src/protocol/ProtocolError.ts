import { Data, SchemaIssue } from "effect"

/**
 * Why a {@link ProtocolError} was raised.
 *
 * - `MalformedJson`: the frame is not valid JSON text.
 * - `InvalidEvent`: the frame is JSON but not an event: not an object, no string `type`,
 *   or a known `type` whose fields do not match the documented shape.
 */
export type ProtocolErrorReason = "MalformedJson" | "InvalidEvent"

/**
 * A server frame that could not be decoded. Raised (thrown by the `*Sync` decoders,
 * failed with by the Effect decoders) at the edge, before the frame reaches a machine.
 *
 * - `message` names the problem and, for a bad field, its path, e.g.
 *   `Invalid "conversation.item.input_audio_transcription.delta": Expected string at ["delta"]`.
 * - `path` is the location of the first bad field inside the event (`[]` for the whole frame).
 * - `raw` is the frame text, cut to {@link PROTOCOL_ERROR_RAW_LIMIT} characters so a bad
 *   audio frame does not carry megabytes of base64 into logs.
 * - `eventType` is the frame's `type` when it could be read.
 *
 * A malformed frame is a peer bug, not a transient fault, so it is never retryable.
 */
export class ProtocolError extends Data.TaggedError("ProtocolError")<{
  readonly reason: ProtocolErrorReason
  readonly message: string
  readonly path: ReadonlyArray<PropertyKey>
  readonly raw: string
  readonly eventType?: string
}> {}

/** True when `u` is a {@link ProtocolError}. */
export const isProtocolError = (u: unknown): u is ProtocolError => u instanceof ProtocolError

/** The longest `raw` text (in characters) a {@link ProtocolError} keeps. */
export const PROTOCOL_ERROR_RAW_LIMIT = 512

/** Cuts frame text to {@link PROTOCOL_ERROR_RAW_LIMIT} characters, saying how much was dropped. */
export const truncateRaw = (text: string): string =>
  text.length <= PROTOCOL_ERROR_RAW_LIMIT
    ? text
    : `${text.slice(0, PROTOCOL_ERROR_RAW_LIMIT)}…(${text.length - PROTOCOL_ERROR_RAW_LIMIT} more chars)`

/** The longest `message` (in characters) a {@link ProtocolError} carries, whatever the frame. */
export const PROTOCOL_ERROR_MESSAGE_LIMIT = 512

/** Path segments a message names at most (a deeply nested frame has a path as deep). */
const PATH_SEGMENT_LIMIT = 16

/** Cuts a message to {@link PROTOCOL_ERROR_MESSAGE_LIMIT} characters, saying how much was dropped. */
export const boundMessage = (text: string): string =>
  text.length <= PROTOCOL_ERROR_MESSAGE_LIMIT
    ? text
    : `${text.slice(0, PROTOCOL_ERROR_MESSAGE_LIMIT)}…(${text.length - PROTOCOL_ERROR_MESSAGE_LIMIT} more chars)`

/**
 * A short description of a JSON value for a message: a primitive as JSON (a long string cut),
 * a container by its kind only, so a deeply nested or huge value costs nothing to describe.
 */
export const describeValue = (value: unknown): string => {
  if (value === undefined) return "none"
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  if (typeof value === "object") return "an object"
  if (typeof value === "string") return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value)
  return String(value)
}

/** Renders a path the way Effect Schema does: `["item"]["content"][0]` (long paths and keys cut). */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  const shown = path.slice(0, PATH_SEGMENT_LIMIT).map((k) => {
    if (typeof k === "number") return `[${k}]`
    const key = String(k)
    return `[${JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key)}]`
  })
  return path.length > PATH_SEGMENT_LIMIT
    ? `${shown.join("")}…(${path.length - PATH_SEGMENT_LIMIT} more)`
    : shown.join("")
}

interface FirstIssue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly leaf: SchemaIssue.Issue
}

/** Follows the first branch of an issue tree down to a leaf, collecting the path on the way. */
const firstIssue = (issue: SchemaIssue.Issue): FirstIssue => {
  const path: Array<PropertyKey> = []
  let current: SchemaIssue.Issue = issue
  for (;;) {
    switch (current._tag) {
      case "Pointer":
        path.push(...current.path)
        current = current.issue
        continue
      case "Composite":
      case "AnyOf": {
        const next = current.issues[0]
        if (next === undefined) return { path, leaf: current }
        current = next
        continue
      }
      case "Filter":
      case "Encoding":
        current = current.issue
        continue
      default:
        return { path, leaf: current }
    }
  }
}

const formatIssue = SchemaIssue.makeFormatterDefault()

/** The first line of the default Effect Schema rendering of a leaf, e.g. `Expected string`. */
const describeLeaf = (leaf: SchemaIssue.Issue): string => {
  let text: string
  try {
    text = formatIssue(leaf)
  } catch {
    // The formatter renders the actual value; one nested deeper than the stack cannot be.
    return "Invalid value"
  }
  const newline = text.indexOf("\n")
  return boundMessage(newline === -1 ? text : text.slice(0, newline))
}

/**
 * Builds the `InvalidEvent` error for a frame of type `eventType` whose fields failed the
 * schema: the message names the first bad path, e.g. `Expected string at ["delta"]`.
 */
export const protocolErrorFromIssue = (
  eventType: string,
  issue: SchemaIssue.Issue,
  text: string,
): ProtocolError => {
  const { path, leaf } = firstIssue(issue)
  const where = path.length === 0 ? "" : ` at ${formatPath(path)}`
  return new ProtocolError({
    reason: "InvalidEvent",
    message: boundMessage(`Invalid "${boundMessage(eventType)}" event: ${describeLeaf(leaf)}${where}`),
    path: path.slice(0, PATH_SEGMENT_LIMIT),
    raw: truncateRaw(text),
    eventType: boundMessage(eventType),
  })
}
