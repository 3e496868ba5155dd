import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions/completions"
import type { ResponseInputItem } from "openai/resources/responses/responses"
import {
  type ChatConversionOptions,
  type ChatItem,
  type ChatItemInput,
  type ChatMessage,
  type ChatRole,
  type FunctionCallItem,
  type FunctionCallOutputItem,
  toResponsesInput,
  validateChatItem,
  wireRole,
} from "../../machines/responses/chatItems.ts"
import { invalidRequest } from "./LLMError.ts"

/**
 * The conversation an LLM continues: an ordered list of items (system, developer, user and
 * assistant messages, function calls and their outputs), each with an id, and its two wire
 * forms: Responses input items and chat-completions messages.
 *
 * Items are frozen; a {@link ChatContext} only grows, or is edited by replacing or removing
 * whole items, so the chain of a Responses conversation can tell by hashing whether the
 * history it sent is still the history it is given.
 * @module
 */

export type {
  ChatConversionOptions,
  ChatItem,
  ChatItemInput,
  ChatMessage,
  ChatRole,
  FunctionCallItem,
  FunctionCallOutputItem,
} from "../../machines/responses/chatItems.ts"
export {
  chatItemKey,
  newItemId,
  toResponsesInput,
  toResponsesInputItem,
} from "../../machines/responses/chatItems.ts"

/**
 * Validates `input` and returns it as a frozen {@link ChatItem} (an item this function
 * already returned is returned as it is).
 * @throws {LLMError} `InvalidRequest` for an unknown role or type, or a missing field.
 */
export const toChatItem = (input: ChatItemInput | ChatItem): ChatItem => {
  const checked = validateChatItem(input)
  if ("invalid" in checked) throw invalidRequest(checked.invalid)
  return checked.item
}

/**
 * Items as chat-completions messages. Function calls join the assistant message just before
 * them as `tool_calls` (or form an assistant message with `content: null`); outputs become
 * `{role:'tool', tool_call_id, content}`.
 */
export const toChatCompletionMessages = (
  items: readonly ChatItem[],
  options?: ChatConversionOptions,
): ChatCompletionMessageParam[] => {
  const messages: ChatCompletionMessageParam[] = []
  // The assistant message function calls may still join: the last message, when it is one.
  let openAssistant: ChatCompletionAssistantMessageParam | undefined
  for (const item of items) {
    switch (item.type) {
      case "message": {
        const role = wireRole(item.role, options)
        if (role === "assistant") {
          openAssistant = { role: "assistant", content: item.content }
          messages.push(openAssistant)
        } else {
          openAssistant = undefined
          messages.push({ role, content: item.content })
        }
        break
      }
      case "function_call": {
        const call: ChatCompletionMessageFunctionToolCall = {
          id: item.callId,
          type: "function",
          function: { name: item.name, arguments: item.arguments },
        }
        if (openAssistant === undefined) {
          openAssistant = { role: "assistant", content: null, tool_calls: [call] }
          messages.push(openAssistant)
        } else {
          openAssistant.tool_calls = [...(openAssistant.tool_calls ?? []), call]
        }
        break
      }
      case "function_call_output":
        openAssistant = undefined
        messages.push({ role: "tool", tool_call_id: item.callId, content: item.output })
        break
    }
  }
  return messages
}

/**
 * A conversation: an ordered list of frozen {@link ChatItem}s with helpers to add, replace
 * and remove items, and the two wire forms. Pass it (or a plain array of
 * {@link ChatItemInput}s) to `llm.chat(...)`.
 */
export class ChatContext {
  #items: ChatItem[]

  /**
   * @param items initial items, validated with {@link toChatItem}.
   * @throws {LLMError} `InvalidRequest` for a malformed item.
   */
  constructor(items: Iterable<ChatItemInput | ChatItem> = []) {
    this.#items = Array.from(items, toChatItem)
  }

  /** A context from a context (returned as is) or from plain items. */
  static from(source: ChatContext | Iterable<ChatItemInput | ChatItem>): ChatContext {
    return source instanceof ChatContext ? source : new ChatContext(source)
  }

  /** The items, in order. The array is a snapshot: later changes do not affect it. */
  get items(): readonly ChatItem[] {
    return this.#items.slice()
  }

  /** How many items the context holds. */
  get length(): number {
    return this.#items.length
  }

  /** Appends one item and returns it (validated and frozen). */
  add(input: ChatItemInput | ChatItem): ChatItem {
    const item = toChatItem(input)
    this.#items.push(item)
    return item
  }

  /** Appends a message. */
  addMessage(role: ChatRole, content: string): ChatMessage {
    return this.add({ role, content }) as ChatMessage
  }

  /** Appends a system message. */
  addSystem(content: string): ChatMessage {
    return this.addMessage("system", content)
  }

  /** Appends a user message. */
  addUser(content: string): ChatMessage {
    return this.addMessage("user", content)
  }

  /** Appends an assistant message. */
  addAssistant(content: string): ChatMessage {
    return this.addMessage("assistant", content)
  }

  /** Appends a function call (as the model made it). */
  addFunctionCall(call: { callId: string; name: string; arguments: string | object }): FunctionCallItem {
    return this.add({ type: "function_call", ...call }) as FunctionCallItem
  }

  /** Appends the output of the call `callId`; a non-string output is serialized as JSON. */
  addFunctionCallOutput(callId: string, output: unknown): FunctionCallOutputItem {
    return this.add({ type: "function_call_output", callId, output }) as FunctionCallOutputItem
  }

  /**
   * Appends what the model said in a turn (the `output` of its `end` chunk, or of a collected
   * turn): its assistant message and function calls, in the order the model produced them.
   * Appending exactly these items is what lets the next turn continue the Responses chain.
   */
  addOutput(output: readonly ChatItem[]): void {
    for (const item of output) this.#items.push(toChatItem(item))
  }

  /**
   * Replaces the item `id` (the new item keeps that id unless it names another).
   * @throws {LLMError} `InvalidRequest` when no item has that id.
   */
  replace(id: string, input: ChatItemInput): ChatItem {
    const index = this.#items.findIndex((item) => item.id === id)
    if (index < 0) throw invalidRequest(`No item with id ${id}`)
    const item = toChatItem({ ...input, id: input.id ?? id } as ChatItemInput)
    this.#items[index] = item
    return item
  }

  /** Removes the item `id`; returns whether there was one. */
  remove(id: string): boolean {
    const index = this.#items.findIndex((item) => item.id === id)
    if (index < 0) return false
    this.#items.splice(index, 1)
    return true
  }

  /** An independent copy (items are shared: they are frozen). */
  copy(): ChatContext {
    return new ChatContext(this.#items)
  }

  /** The items as Responses input items. */
  toResponsesInput(options?: ChatConversionOptions): ResponseInputItem[] {
    return toResponsesInput(this.#items, options)
  }

  /** The items as chat-completions messages. */
  toChatCompletionMessages(options?: ChatConversionOptions): ChatCompletionMessageParam[] {
    return toChatCompletionMessages(this.#items, options)
  }

  /** The items, for `JSON.stringify`. */
  toJSON(): readonly ChatItem[] {
    return this.#items.slice()
  }
}

/** The items of a context or of a plain array, validated. */
export const chatItemsOf = (source: ChatContext | Iterable<ChatItemInput | ChatItem>): readonly ChatItem[] =>
  source instanceof ChatContext ? source.items : Array.from(source, toChatItem)
