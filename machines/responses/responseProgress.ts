import type {
  ResponsesOutputItem,
  ResponsesResponse,
  ResponsesServerEvent,
  ResponsesUsage,
} from "../../src/protocol/index.ts"
import { type ChatItem, trustedChatItem } from "./chatItems.ts"
import { type ChatChunk, type TokenUsage, toolCallChunk } from "./chunks.ts"

/**
 * The progress of one Responses response, as a pure fold over its server events: which text
 * and tool calls have reached the caller, the function calls being assembled (their argument
 * deltas are keyed by `item_id`, mapped to `call_id` by `output_item.added`), and the output
 * items that go into the history. Each step returns the chunks to hand to the caller.
 * @module
 */

/** One output item being streamed, by `output_index`. */
export type OutputEntry =
  | {
      readonly kind: "message"
      readonly outputIndex: number
      readonly itemId: string | undefined
      /** Text delivered so far. */
      readonly text: string
    }
  | {
      readonly kind: "call"
      readonly outputIndex: number
      readonly itemId: string | undefined
      readonly callId: string
      readonly name: string
      readonly arguments: string
      /** The `tool_call` (or `error`) chunk was handed out. */
      readonly dispatched: boolean
    }

/** The progress of a response. */
export interface ResponseProgress {
  /** The id from `response.created`, once it arrived. */
  readonly responseId: string | undefined
  /** Output items in `output_index` order. */
  readonly entries: readonly OutputEntry[]
  /** True once a text delta or a tool call reached the caller: from then on it is never replayed. */
  readonly delivered: boolean
}

/** The progress of a response nothing has been heard of yet. */
export const emptyProgress: ResponseProgress = { responseId: undefined, entries: [], delivered: false }

/** The result of one step. */
export interface ProgressStep {
  readonly progress: ResponseProgress
  readonly chunks: readonly ChatChunk[]
}

const upsert = (entries: readonly OutputEntry[], entry: OutputEntry): OutputEntry[] => {
  // The common step (a delta of an item already listed): entries are kept in order with one
  // per output index, so that one is replaced in a copy, which is what the general case gives.
  const at = entries.findIndex((e) => e.outputIndex === entry.outputIndex)
  if (at >= 0 && !entries.some((e, i) => i > at && e.outputIndex === entry.outputIndex)) {
    const replaced = entries.slice()
    replaced[at] = entry
    return replaced
  }
  const next = entries.filter((e) => e.outputIndex !== entry.outputIndex)
  next.push(entry)
  next.sort((a, b) => a.outputIndex - b.outputIndex)
  return next
}

const findByItem = (
  entries: readonly OutputEntry[],
  itemId: string,
  outputIndex: number,
): OutputEntry | undefined =>
  entries.find((e) => e.itemId === itemId) ?? entries.find((e) => e.outputIndex === outputIndex)

const messageText = (item: ResponsesOutputItem): string =>
  item.type === "message" ? item.content.map((part) => part.text ?? "").join("") : ""

const noStep = (progress: ResponseProgress): ProgressStep => ({ progress, chunks: [] })

const dispatch = (
  progress: ResponseProgress,
  entry: Extract<OutputEntry, { kind: "call" }>,
): ProgressStep => {
  if (entry.dispatched)
    return { progress: { ...progress, entries: upsert(progress.entries, entry) }, chunks: [] }
  return {
    progress: {
      ...progress,
      delivered: true,
      entries: upsert(progress.entries, { ...entry, dispatched: true }),
    },
    chunks: [toolCallChunk(entry)],
  }
}

/**
 * Folds one non-terminal server event into `progress`: `response.created` sets the id;
 * text deltas become `text` chunks; function calls are assembled and handed out as one
 * `tool_call` chunk when `output_item.done` brings the authoritative item. Other events
 * leave the progress as it is.
 */
export const advanceProgress = (progress: ResponseProgress, event: ResponsesServerEvent): ProgressStep => {
  switch (event.type) {
    case "response.created":
      return noStep({ ...progress, responseId: event.response.id })
    case "response.output_item.added": {
      const item = event.item
      if (item.type === "function_call") {
        return noStep({
          ...progress,
          entries: upsert(progress.entries, {
            kind: "call",
            outputIndex: event.output_index,
            itemId: item.id,
            callId: item.call_id,
            name: item.name,
            arguments: item.arguments,
            dispatched: false,
          }),
        })
      }
      if (item.type === "message") {
        return noStep({
          ...progress,
          entries: upsert(progress.entries, {
            kind: "message",
            outputIndex: event.output_index,
            itemId: item.id,
            text: "",
          }),
        })
      }
      return noStep(progress)
    }
    case "response.output_text.delta": {
      if (event.delta.length === 0) return noStep(progress)
      const found = findByItem(progress.entries, event.item_id, event.output_index)
      const base: OutputEntry =
        found?.kind === "message"
          ? found
          : { kind: "message", outputIndex: event.output_index, itemId: event.item_id, text: "" }
      return {
        progress: {
          ...progress,
          delivered: true,
          entries: upsert(progress.entries, { ...base, text: base.text + event.delta }),
        },
        chunks: [{ type: "text", delta: event.delta }],
      }
    }
    case "response.function_call_arguments.delta": {
      const found = findByItem(progress.entries, event.item_id, event.output_index)
      if (found?.kind !== "call" || found.dispatched) return noStep(progress)
      return noStep({
        ...progress,
        entries: upsert(progress.entries, { ...found, arguments: found.arguments + event.delta }),
      })
    }
    case "response.function_call_arguments.done": {
      const found = findByItem(progress.entries, event.item_id, event.output_index)
      if (found?.kind !== "call" || found.dispatched) return noStep(progress)
      return noStep({
        ...progress,
        entries: upsert(progress.entries, {
          ...found,
          arguments: event.arguments,
          name: event.name ?? found.name,
        }),
      })
    }
    case "response.output_item.done": {
      const item = event.item
      if (item.type === "function_call") {
        const found =
          item.id === undefined ? undefined : findByItem(progress.entries, item.id, event.output_index)
        const previous = found?.kind === "call" ? found : undefined
        return dispatch(progress, {
          kind: "call",
          outputIndex: event.output_index,
          itemId: item.id,
          callId: item.call_id || previous?.callId || "",
          name: item.name || previous?.name || "",
          arguments: item.arguments || previous?.arguments || "",
          dispatched: previous?.dispatched ?? false,
        })
      }
      if (item.type === "message") {
        const found =
          item.id === undefined ? undefined : findByItem(progress.entries, item.id, event.output_index)
        const text = messageText(item)
        // Text that only came in the final item (no deltas) still reaches the caller once.
        const delivered = found?.kind === "message" ? found.text : ""
        const missing = text.startsWith(delivered) ? text.slice(delivered.length) : ""
        return {
          progress: {
            ...progress,
            delivered: progress.delivered || missing.length > 0,
            entries: upsert(progress.entries, {
              kind: "message",
              outputIndex: event.output_index,
              itemId: item.id,
              text: delivered + missing,
            }),
          },
          chunks: missing.length > 0 ? [{ type: "text", delta: missing }] : [],
        }
      }
      return noStep(progress)
    }
    default:
      return noStep(progress)
  }
}

/** The service's usage in the chunk API's terms. */
export const tokenUsageOf = (usage: ResponsesUsage): TokenUsage => ({
  promptTokens: usage.input_tokens,
  completionTokens: usage.output_tokens,
  totalTokens: usage.total_tokens,
  cachedTokens: usage.input_tokens_details?.cached_tokens ?? 0,
  reasoningTokens: usage.output_tokens_details?.reasoning_tokens ?? 0,
})

const entryItem = (entry: OutputEntry): ChatItem =>
  entry.kind === "message"
    ? trustedChatItem({ type: "message", role: "assistant", content: entry.text, ...idOf(entry.itemId) })
    : trustedChatItem({
        type: "function_call",
        callId: entry.callId,
        name: entry.name,
        arguments: entry.arguments,
        ...idOf(entry.itemId),
      })

const idOf = (id: string | undefined): { readonly id?: string } => (id === undefined ? {} : { id })

/**
 * The output the caller has seen so far, as history items: the delivered text of each
 * message and each dispatched function call. This is the `output` of a cancelled turn.
 */
export const deliveredOutput = (progress: ResponseProgress): ChatItem[] =>
  progress.entries.filter((e) => (e.kind === "message" ? e.text.length > 0 : e.dispatched)).map(entryItem)

/**
 * The output items of a finished response as history items (assistant messages with their
 * text, function calls); reasoning and other items the caller cannot hold are left out.
 */
export const outputItemsOf = (output: ResponsesResponse["output"]): ChatItem[] => {
  const items: ChatItem[] = []
  for (const item of output ?? []) {
    if (item.type === "message") {
      items.push(
        trustedChatItem({ type: "message", role: "assistant", content: messageText(item), ...idOf(item.id) }),
      )
    } else if (item.type === "function_call") {
      items.push(
        trustedChatItem({
          type: "function_call",
          callId: item.call_id,
          name: item.name,
          arguments: item.arguments,
          ...idOf(item.id),
        }),
      )
    }
  }
  return items
}

/** The end of a response: the last chunks for the caller and the output for the history. */
export interface ProgressEnd {
  readonly progress: ResponseProgress
  /** Tool calls not yet dispatched, then `usage` when the response has one (not `end`). */
  readonly chunks: readonly ChatChunk[]
  /** The response's output as history items. */
  readonly output: readonly ChatItem[]
}

/**
 * Ends a response with its terminal `response` object (`completed`, `incomplete`, or a
 * cancelled one): function calls that never got their `output_item.done` are dispatched now,
 * usage follows. The output is the response's own `output` when it lists items, else what
 * was streamed.
 */
export const finishProgress = (progress: ResponseProgress, response: ResponsesResponse): ProgressEnd => {
  let current = progress
  const chunks: ChatChunk[] = []
  for (const entry of progress.entries) {
    if (entry.kind === "call" && !entry.dispatched && entry.name.length > 0) {
      const step = dispatch(current, entry)
      current = step.progress
      chunks.push(...step.chunks)
    }
  }
  if (response.usage !== undefined && response.usage !== null) {
    chunks.push({ type: "usage", usage: tokenUsageOf(response.usage) })
  }
  const fromResponse = outputItemsOf(response.output)
  const output =
    response.output !== undefined && response.output.length > 0
      ? fromResponse
      : current.entries.map(entryItem)
  return { progress: { ...current, responseId: response.id }, chunks, output }
}
