/**
 * Hand-written decoders of the hottest server events (text, audio and transcript deltas,
 * one per token or audio chunk): plain type checks of the fields the event's schema names,
 * returning exactly what the schema would (unnamed fields dropped, optional keys only when
 * present), or `undefined` for any other shape, which then goes to the schema decoder and
 * fails there with its usual {@link ProtocolError}. Tests hold each one equal to its schema.
 * @internal
 * @module
 */

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

/** The fast decoders of the Responses socket: the text delta (one per token). */
export const responsesFastDecoders: Readonly<Record<string, FastDecoder>> = {
  "response.output_text.delta": partDelta("response.output_text.delta", RESPONSES_OPTIONAL, false),
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
