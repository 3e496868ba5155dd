import { Schema } from "effect"
import { HeaderRecord, OpenRecord, opt, optNull, unknownPayloadExcept } from "./schemaKit.ts"

/**
 * Effect Schemas of the Responses API WebSocket server events (the HTTP streaming events
 * sent as bare JSON frames). Shapes follow `openai/resources/responses/responses.d.ts`
 * and the protocol reference §7. Only what a voice agent's LLM chain reads is modelled;
 * reasoning, refusal, tool-progress and other events pass through as unknown.
 *
 * `sequence_number` and `stream_id` are optional on every event.
 * @module
 */

const str = Schema.String
const num = Schema.Number

const responsesEvent = <const T extends string, const F extends Schema.Struct.Fields>(type: T, fields: F) =>
  Schema.Struct({ type: Schema.Literal(type), sequence_number: opt(num), stream_id: opt(str), ...fields })

/** Token usage of a Responses response. */
export const ResponsesUsage = Schema.Struct({
  input_tokens: num,
  output_tokens: num,
  total_tokens: num,
  input_tokens_details: optNull(Schema.Struct({ cached_tokens: opt(num), cache_write_tokens: opt(num) })),
  output_tokens_details: optNull(Schema.Struct({ reasoning_tokens: opt(num) })),
})
/** Token usage of a Responses response. */
export type ResponsesUsage = typeof ResponsesUsage.Type

/** A content part of an assistant message: `output_text` (with `text`) or `refusal` (with `refusal`). */
export const ResponsesContentPart = Schema.Struct({
  type: str,
  text: opt(str),
  refusal: opt(str),
})
/** A content part of an assistant message. */
export type ResponsesContentPart = typeof ResponsesContentPart.Type

/** An assistant `message` output item. */
export const ResponsesMessageItem = Schema.Struct({
  type: Schema.Literal("message"),
  id: opt(str),
  role: opt(str),
  status: opt(str),
  content: Schema.Array(ResponsesContentPart),
})
/** An assistant `message` output item. */
export type ResponsesMessageItem = typeof ResponsesMessageItem.Type

/** A `function_call` output item; `arguments` is JSON text (`""` in `output_item.added`). */
export const ResponsesFunctionCallItem = Schema.Struct({
  type: Schema.Literal("function_call"),
  id: opt(str),
  call_id: str,
  name: str,
  arguments: str,
  status: opt(str),
})
/** A `function_call` output item. */
export type ResponsesFunctionCallItem = typeof ResponsesFunctionCallItem.Type

/** An output item: message or function call; other kinds (reasoning, …) decode as `type: "unknown"`. */
export const ResponsesOutputItem = Schema.Union([
  ResponsesMessageItem,
  ResponsesFunctionCallItem,
  unknownPayloadExcept(["message", "function_call"]),
])
/** An output item of a Responses response. */
export type ResponsesOutputItem = typeof ResponsesOutputItem.Type

/** The error of a failed response (`response.error`). */
export const ResponsesResponseError = Schema.Struct({ code: optNull(str), message: str })
/** The error of a failed response. */
export type ResponsesResponseError = typeof ResponsesResponseError.Type

/** The response object carried by the lifecycle events. */
export const ResponsesResponse = Schema.Struct({
  id: str,
  object: opt(str),
  status: opt(Schema.Literals(["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"])),
  model: opt(str),
  previous_response_id: optNull(str),
  output: opt(Schema.Array(ResponsesOutputItem)),
  usage: optNull(ResponsesUsage),
  incomplete_details: optNull(Schema.Struct({ reason: optNull(str) })),
  error: optNull(ResponsesResponseError),
  metadata: optNull(OpenRecord),
})
/** The response object carried by the lifecycle events. */
export type ResponsesResponse = typeof ResponsesResponse.Type

/** `response.created`: keep `response.id` as the next `previous_response_id`. */
export const ResponsesCreatedEvent = responsesEvent("response.created", { response: ResponsesResponse })
/** `response.created`. */
export type ResponsesCreatedEvent = typeof ResponsesCreatedEvent.Type

/** `response.in_progress`. */
export const ResponsesInProgressEvent = responsesEvent("response.in_progress", {
  response: ResponsesResponse,
})
/** `response.in_progress`. */
export type ResponsesInProgressEvent = typeof ResponsesInProgressEvent.Type

/** `response.queued`. */
export const ResponsesQueuedEvent = responsesEvent("response.queued", { response: ResponsesResponse })
/** `response.queued`. */
export type ResponsesQueuedEvent = typeof ResponsesQueuedEvent.Type

/** `response.completed`: terminal; `response.usage` is set. */
export const ResponsesCompletedEvent = responsesEvent("response.completed", { response: ResponsesResponse })
/** `response.completed`. */
export type ResponsesCompletedEvent = typeof ResponsesCompletedEvent.Type

/** `response.failed`: terminal; `response.error` says why. */
export const ResponsesFailedEvent = responsesEvent("response.failed", { response: ResponsesResponse })
/** `response.failed`. */
export type ResponsesFailedEvent = typeof ResponsesFailedEvent.Type

/** `response.incomplete`: terminal; `response.incomplete_details.reason` says why. */
export const ResponsesIncompleteEvent = responsesEvent("response.incomplete", { response: ResponsesResponse })
/** `response.incomplete`. */
export type ResponsesIncompleteEvent = typeof ResponsesIncompleteEvent.Type

/** `response.output_item.added`: for a function call, map `item.id` to `item.call_id` here. */
export const ResponsesOutputItemAddedEvent = responsesEvent("response.output_item.added", {
  output_index: num,
  item: ResponsesOutputItem,
})
/** `response.output_item.added`. */
export type ResponsesOutputItemAddedEvent = typeof ResponsesOutputItemAddedEvent.Type

/** `response.output_item.done`: the authoritative item. */
export const ResponsesOutputItemDoneEvent = responsesEvent("response.output_item.done", {
  output_index: num,
  item: ResponsesOutputItem,
})
/** `response.output_item.done`. */
export type ResponsesOutputItemDoneEvent = typeof ResponsesOutputItemDoneEvent.Type

const partIds = { item_id: str, output_index: num, content_index: num } as const

/** `response.content_part.added`. */
export const ResponsesContentPartAddedEvent = responsesEvent("response.content_part.added", {
  ...partIds,
  part: ResponsesContentPart,
})
/** `response.content_part.added`. */
export type ResponsesContentPartAddedEvent = typeof ResponsesContentPartAddedEvent.Type

/** `response.content_part.done`. */
export const ResponsesContentPartDoneEvent = responsesEvent("response.content_part.done", {
  ...partIds,
  part: ResponsesContentPart,
})
/** `response.content_part.done`. */
export type ResponsesContentPartDoneEvent = typeof ResponsesContentPartDoneEvent.Type

/** `response.output_text.delta`: a piece of the reply text. */
export const ResponsesOutputTextDeltaEvent = responsesEvent("response.output_text.delta", {
  ...partIds,
  delta: str,
})
/** `response.output_text.delta`. */
export type ResponsesOutputTextDeltaEvent = typeof ResponsesOutputTextDeltaEvent.Type

/** `response.output_text.done`: the whole text of one content part. */
export const ResponsesOutputTextDoneEvent = responsesEvent("response.output_text.done", {
  ...partIds,
  text: str,
})
/** `response.output_text.done`. */
export type ResponsesOutputTextDoneEvent = typeof ResponsesOutputTextDoneEvent.Type

/** `response.function_call_arguments.delta`: keyed by `item_id` (map to `call_id` via `output_item.added`). */
export const ResponsesFunctionCallArgumentsDeltaEvent = responsesEvent(
  "response.function_call_arguments.delta",
  {
    item_id: str,
    output_index: num,
    delta: str,
  },
)
/** `response.function_call_arguments.delta`. */
export type ResponsesFunctionCallArgumentsDeltaEvent = typeof ResponsesFunctionCallArgumentsDeltaEvent.Type

/** `response.function_call_arguments.done`: the complete JSON `arguments` of item `item_id`. */
export const ResponsesFunctionCallArgumentsDoneEvent = responsesEvent(
  "response.function_call_arguments.done",
  {
    item_id: str,
    output_index: num,
    arguments: str,
    name: opt(str),
  },
)
/** `response.function_call_arguments.done`. */
export type ResponsesFunctionCallArgumentsDoneEvent = typeof ResponsesFunctionCallArgumentsDoneEvent.Type

/**
 * `error`, shape (a): the request was rejected before a response existed, e.g.
 * `previous_response_not_found`. `status` is an HTTP-like status; `error.headers` may
 * carry rate-limit headers (decoded leniently to strings, see `HeaderRecord`).
 */
export const ResponsesNestedErrorEvent = responsesEvent("error", {
  status: opt(num),
  error: Schema.Struct({
    type: optNull(str),
    code: optNull(str),
    message: str,
    param: optNull(str),
    headers: opt(HeaderRecord),
  }),
})
/** `error` with a nested `error` body. */
export type ResponsesNestedErrorEvent = typeof ResponsesNestedErrorEvent.Type

/** `error`, shape (b): a failure during streaming, with `code`/`message`/`param` at the top. */
export const ResponsesFlatErrorEvent = responsesEvent("error", {
  code: optNull(str),
  message: str,
  param: optNull(str),
})
/** `error` with flat fields. */
export type ResponsesFlatErrorEvent = typeof ResponsesFlatErrorEvent.Type

/** `error` in either shape; read it through `errorCodeOf` / `serverErrorOf`. */
export const ResponsesErrorEvent = Schema.Union([ResponsesNestedErrorEvent, ResponsesFlatErrorEvent])
/** `error` in either shape. */
export type ResponsesErrorEvent = ResponsesNestedErrorEvent | ResponsesFlatErrorEvent

/** Every Responses WebSocket server event this library decodes, keyed by its `type`. */
export const responsesServerEventSchemas = {
  "response.created": ResponsesCreatedEvent,
  "response.in_progress": ResponsesInProgressEvent,
  "response.queued": ResponsesQueuedEvent,
  "response.completed": ResponsesCompletedEvent,
  "response.failed": ResponsesFailedEvent,
  "response.incomplete": ResponsesIncompleteEvent,
  "response.output_item.added": ResponsesOutputItemAddedEvent,
  "response.output_item.done": ResponsesOutputItemDoneEvent,
  "response.content_part.added": ResponsesContentPartAddedEvent,
  "response.content_part.done": ResponsesContentPartDoneEvent,
  "response.output_text.delta": ResponsesOutputTextDeltaEvent,
  "response.output_text.done": ResponsesOutputTextDoneEvent,
  "response.function_call_arguments.delta": ResponsesFunctionCallArgumentsDeltaEvent,
  "response.function_call_arguments.done": ResponsesFunctionCallArgumentsDoneEvent,
  error: ResponsesErrorEvent,
} as const

/** A Responses WebSocket server event this library models. */
export type KnownResponsesServerEvent = {
  readonly [K in keyof typeof responsesServerEventSchemas]: (typeof responsesServerEventSchemas)[K]["Type"]
}[keyof typeof responsesServerEventSchemas]
