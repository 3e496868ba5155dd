/**
 * Hand-written decoders of the hot server events (text, audio and transcript deltas, one per
 * token or audio chunk, and every event of a Responses turn): plain type checks of the fields the event's schema names,
 * returning exactly what the schema would (unnamed fields dropped, optional keys only when
 * present), or `undefined` for any other shape, which then goes to the schema decoder and
 * fails there with its usual {@link ProtocolError}. Tests hold each one equal to its schema.
 * @internal
 * @module
 */
import { headerRecordOf } from "./schemaKit.ts"

type Frame = { readonly [key: string]: unknown }

/** A decoder that takes a parsed frame of its type and returns the event, or `undefined` to defer to the schema. */
export type FastDecoder = (frame: Frame) => unknown

const isStr = (v: unknown): v is string => typeof v === "string"
const isNum = (v: unknown): v is number => typeof v === "number"
const hasOwn = Object.prototype.hasOwnProperty

/** An optional key of type `check`: absent, or present and of that type (then copied). */
const optionalOk = (frame: Frame, key: string, check: (v: unknown) => boolean): boolean =>
  !hasOwn.call(frame, key) || check(frame[key])

const copyOptional = (frame: Frame, out: Record<string, unknown>, key: string): void => {
  if (hasOwn.call(frame, key)) out[key] = frame[key]
}

/** `{ item_id, output_index, content_index, delta }` plus the family's optional keys. */
const partDelta =
  (
    type: string,
    optionalKeys: readonly (readonly [string, (v: unknown) => boolean])[],
    responseId: boolean,
  ) =>
  (frame: Frame): unknown => {
    const { item_id, output_index, content_index, delta } = frame
    if (!isStr(item_id) || !isNum(output_index) || !isNum(content_index) || !isStr(delta)) return undefined
    if (responseId && !isStr(frame.response_id)) return undefined
    for (const [key, check] of optionalKeys) if (!optionalOk(frame, key, check)) return undefined
    const out: Record<string, unknown> = { type }
    for (const [key] of optionalKeys) copyOptional(frame, out, key)
    if (responseId) out.response_id = frame.response_id
    out.item_id = item_id
    out.output_index = output_index
    out.content_index = content_index
    out.delta = delta
    return out
  }

const RESPONSES_OPTIONAL = [
  ["sequence_number", isNum],
  ["stream_id", isStr],
] as const
const REALTIME_OPTIONAL = [["event_id", isStr]] as const

// ---------------------------------------------------------------------------------------
// Structs: the schemas' building blocks (`Schema.Struct`, `optionalKey`, `NullOr`, `Array`,
// `Literals`, the unknown-payload fallback) as plain checks. A field decoder returns the
// decoded value or `DEFER` (the schema decides that value, and fails it with its message).

const DEFER: unique symbol = Symbol("defer")
type FieldDecoder = (value: unknown) => unknown

const isObject = (v: unknown): v is Frame => typeof v === "object" && v !== null && !Array.isArray(v)
const str: FieldDecoder = (v) => (typeof v === "string" ? v : DEFER)
const num: FieldDecoder = (v) => (typeof v === "number" ? v : DEFER)
const nullOr =
  (decode: FieldDecoder): FieldDecoder =>
  (v) =>
    v === null ? null : decode(v)
const literals = (values: readonly string[]): FieldDecoder => {
  const set = new Set(values)
  return (v) => (typeof v === "string" && set.has(v) ? v : DEFER)
}
const arrayOf =
  (decode: FieldDecoder): FieldDecoder =>
  (v) => {
    if (!Array.isArray(v)) return DEFER
    const out: unknown[] = new Array(v.length)
    for (let i = 0; i < v.length; i++) {
      const element = decode(v[i])
      if (element === DEFER) return DEFER
      out[i] = element
    }
    return out
  }
/** `Schema.Record(String, Unknown)`: the object's own keys, values as they are. */
const openRecord: FieldDecoder = (v) => (isObject(v) && !hasOwn.call(v, "__proto__") ? { ...v } : DEFER)

/** `required` keys must be present, `optional` ones (`optionalKey`) may be absent; both decode. */
type Field = readonly [key: string, decode: FieldDecoder, optional?: "optional"]

/** `Schema.Struct(fields)`: named keys decoded, other keys dropped, absent optional keys absent. */
const struct = (fields: readonly Field[]): FieldDecoder => {
  const count = fields.length
  return (v) => {
    if (!isObject(v)) return DEFER
    const out: Record<string, unknown> = {}
    for (let i = 0; i < count; i++) {
      const [key, decode, optional] = fields[i] as Field
      if (!hasOwn.call(v, key)) {
        if (optional === undefined) return DEFER
        continue
      }
      const value = decode(v[key])
      if (value === DEFER) return DEFER
      out[key] = value
    }
    return out
  }
}
const opt = (key: string, decode: FieldDecoder): Field => [key, decode, "optional"]
const optNull = (key: string, decode: FieldDecoder): Field => [key, nullOr(decode), "optional"]

/** An event of the Responses socket: its literal `type`, `sequence_number?`, `stream_id?` and `fields`. */
const responsesEvent = (type: string, fields: readonly Field[]): FastDecoder => {
  const body = struct([opt("sequence_number", num), opt("stream_id", str), ...fields])
  return (frame) => {
    const out = body(frame)
    if (out === DEFER) return undefined
    ;(out as Record<string, unknown>).type = type
    return out
  }
}

// The Responses shapes (`responsesEvents.ts`), field for field.
const usage = struct([
  ["input_tokens", num],
  ["output_tokens", num],
  ["total_tokens", num],
  optNull("input_tokens_details", struct([opt("cached_tokens", num), opt("cache_write_tokens", num)])),
  optNull("output_tokens_details", struct([opt("reasoning_tokens", num)])),
])
const contentPart = struct([["type", str], opt("text", str), opt("refusal", str)])
const messageItem = struct([
  ["type", str],
  opt("id", str),
  opt("role", str),
  opt("status", str),
  ["content", arrayOf(contentPart)],
])
const functionCallItem = struct([
  ["type", str],
  opt("id", str),
  ["call_id", str],
  ["name", str],
  ["arguments", str],
  opt("status", str),
])
/** A message, a function call, or any other `type` kept whole as an unknown payload. */
const outputItem: FieldDecoder = (v) => {
  if (!isObject(v)) return DEFER
  const type = v.type
  if (type === "message") return messageItem(v)
  if (type === "function_call") return functionCallItem(v)
  if (typeof type !== "string") return DEFER
  const raw = openRecord(v)
  return raw === DEFER ? DEFER : { type: "unknown", originalType: type, raw }
}
const response = struct([
  ["id", str],
  opt("object", str),
  opt("status", literals(["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"])),
  opt("model", str),
  optNull("previous_response_id", str),
  opt("output", arrayOf(outputItem)),
  optNull("usage", usage),
  optNull("incomplete_details", struct([optNull("reason", str)])),
  optNull("error", struct([optNull("code", str), ["message", str]])),
  optNull("metadata", openRecord),
])
const PART_IDS: readonly Field[] = [
  ["item_id", str],
  ["output_index", num],
  ["content_index", num],
]
/** `HeaderRecord`: never fails; string values kept, finite numbers and booleans as strings. */
const headerRecord: FieldDecoder = headerRecordOf
const nestedError = responsesEvent("error", [
  opt("status", num),
  [
    "error",
    struct([
      optNull("type", str),
      optNull("code", str),
      ["message", str],
      optNull("param", str),
      opt("headers", headerRecord),
    ]),
  ],
])
const flatError = responsesEvent("error", [optNull("code", str), ["message", str], optNull("param", str)])
const lifecycle = (type: string): FastDecoder => responsesEvent(type, [["response", response]])
const itemEvent = (type: string): FastDecoder =>
  responsesEvent(type, [
    ["output_index", num],
    ["item", outputItem],
  ])
const partEvent = (type: string): FastDecoder => responsesEvent(type, [...PART_IDS, ["part", contentPart]])

/** The fast decoders of the Responses socket: every event a turn sees. */
export const responsesFastDecoders: Readonly<Record<string, FastDecoder>> = {
  "response.created": lifecycle("response.created"),
  "response.in_progress": lifecycle("response.in_progress"),
  "response.queued": lifecycle("response.queued"),
  "response.completed": lifecycle("response.completed"),
  "response.failed": lifecycle("response.failed"),
  "response.incomplete": lifecycle("response.incomplete"),
  "response.output_item.added": itemEvent("response.output_item.added"),
  "response.output_item.done": itemEvent("response.output_item.done"),
  "response.content_part.added": partEvent("response.content_part.added"),
  "response.content_part.done": partEvent("response.content_part.done"),
  "response.output_text.delta": partDelta("response.output_text.delta", RESPONSES_OPTIONAL, false),
  "response.output_text.done": responsesEvent("response.output_text.done", [...PART_IDS, ["text", str]]),
  "response.function_call_arguments.delta": responsesEvent("response.function_call_arguments.delta", [
    ["item_id", str],
    ["output_index", num],
    ["delta", str],
  ]),
  "response.function_call_arguments.done": responsesEvent("response.function_call_arguments.done", [
    ["item_id", str],
    ["output_index", num],
    ["arguments", str],
    opt("name", str),
  ]),
  // The schema's union, in its order: the nested shape first, else the flat one.
  error: (frame) => nestedError(frame) ?? flatError(frame),
}

/**
 * The fast decoders of the Realtime socket: audio and transcript deltas, and the input
 * transcription delta without log probabilities (with them, the schema decodes).
 */
export const realtimeFastDecoders: Readonly<Record<string, FastDecoder>> = {
  "response.output_audio.delta": partDelta("response.output_audio.delta", REALTIME_OPTIONAL, true),
  "response.output_audio_transcript.delta": partDelta(
    "response.output_audio_transcript.delta",
    REALTIME_OPTIONAL,
    true,
  ),
  "conversation.item.input_audio_transcription.delta": (frame) => {
    const { item_id } = frame
    if (!isStr(item_id) || hasOwn.call(frame, "logprobs")) return undefined
    if (!optionalOk(frame, "event_id", isStr)) return undefined
    if (!optionalOk(frame, "content_index", isNum) || !optionalOk(frame, "delta", isStr)) return undefined
    const out: Record<string, unknown> = { type: "conversation.item.input_audio_transcription.delta" }
    copyOptional(frame, out, "event_id")
    out.item_id = item_id
    copyOptional(frame, out, "content_index")
    copyOptional(frame, out, "delta")
    return out
  },
}
