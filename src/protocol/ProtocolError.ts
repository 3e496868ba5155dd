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

/** Renders a path the way Effect Schema does: `["item"]["content"][0]`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((k) => (typeof k === "number" ? `[${k}]` : `[${JSON.stringify(String(k))}]`)).join("")

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
  const text = formatIssue(leaf)
  const newline = text.indexOf("\n")
  return newline === -1 ? text : text.slice(0, newline)
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
    message: `Invalid "${eventType}" event: ${describeLeaf(leaf)}${where}`,
    path,
    raw: truncateRaw(text),
    eventType,
  })
}
