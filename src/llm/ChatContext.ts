import { randomUUID } from "node:crypto"
import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions/completions"
import type { ResponseInputItem } from "openai/resources/responses/responses"
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

/** Who wrote a message. `developer` is the reasoning models' name for `system`. */
export type ChatRole = "system" | "developer" | "user" | "assistant"

/** A text message. */
export interface ChatMessage {
  readonly type: "message"
  readonly id: string
  readonly role: ChatRole
  readonly content: string
}

/** A call of a function tool by the model; `arguments` is the JSON text the model wrote. */
export interface FunctionCallItem {
  readonly type: "function_call"
  readonly id: string
  /** The id that pairs the call with its output (`call_id` on the wire). */
  readonly callId: string
  readonly name: string
  readonly arguments: string
}

/** The result of a function call, sent back to the model as text. */
export interface FunctionCallOutputItem {
  readonly type: "function_call_output"
  readonly id: string
  readonly callId: string
  readonly output: string
}

/** One item of a {@link ChatContext}. */
export type ChatItem = ChatMessage | FunctionCallItem | FunctionCallOutputItem

/**
 * What callers may write instead of a full {@link ChatItem}: the `id` is optional (one is
 * made), a message may leave out `type`, function-call `arguments` may be an object (it is
 * serialized) and a function output any JSON value (a non-string is serialized).
 */
export type ChatItemInput =
  | {
      readonly type?: "message"
      readonly id?: string
      readonly role: ChatRole
      readonly content: string
    }
  | {
      readonly type: "function_call"
      readonly id?: string
      readonly callId: string
      readonly name: string
      readonly arguments: string | object
    }
  | {
      readonly type: "function_call_output"
      readonly id?: string
      readonly callId: string
      readonly output: unknown
    }

/** Options of the wire conversions. */
export interface ChatConversionOptions {
  /**
   * Send `system` messages with the `developer` role, as reasoning models (o1, o3, o4,
   * gpt-5) expect. Default false.
   */
  readonly developerRole?: boolean
}

const ROLES: ReadonlySet<string> = new Set(["system", "developer", "user", "assistant"])

/** A fresh item id (`item_` + 32 hex digits). */
export const newItemId = (): string => `item_${randomUUID().replaceAll("-", "")}`

const describe = (value: unknown): string => {
  try {
    return JSON.stringify(value)?.slice(0, 120) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * Validates `input` and returns it as a frozen {@link ChatItem} (an item this function
 * already returned is returned as it is).
 * @throws {LLMError} `InvalidRequest` for an unknown role or type, or a missing field.
 */
export const toChatItem = (input: ChatItemInput | ChatItem): ChatItem => {
  if (typeof input !== "object" || input === null) {
    throw invalidRequest(`A chat item must be an object, got ${describe(input)}`)
  }
  if (validated.has(input)) return input as ChatItem
  const item = buildItem(input)
  validated.add(item)
  return item
}

const validated = new WeakSet<object>()

const buildItem = (input: ChatItemInput | ChatItem): ChatItem => {
  const id = input.id ?? newItemId()
  if (typeof id !== "string" || id.length === 0) throw invalidRequest(`Invalid item id ${describe(input.id)}`)
  switch (input.type) {
    case undefined:
    case "message": {
      if (!ROLES.has(input.role)) {
        throw invalidRequest(
          `Unknown role ${describe(input.role)}: expected system, developer, user or assistant`,
        )
      }
      if (typeof input.content !== "string") {
        throw invalidRequest(`A ${input.role} message needs string content, got ${describe(input.content)}`)
      }
      return Object.freeze({ type: "message", id, role: input.role, content: input.content })
    }
    case "function_call": {
      if (typeof input.callId !== "string" || input.callId.length === 0) {
        throw invalidRequest(`A function call needs a callId, got ${describe(input)}`)
      }
      if (typeof input.name !== "string" || input.name.length === 0) {
        throw invalidRequest(`A function call needs a name, got ${describe(input)}`)
      }
      const args = typeof input.arguments === "string" ? input.arguments : JSON.stringify(input.arguments)
      if (typeof args !== "string") {
        throw invalidRequest(`Function call arguments must be a string or an object: ${describe(input)}`)
      }
      return Object.freeze({
        type: "function_call",
        id,
        callId: input.callId,
        name: input.name,
        arguments: args,
      })
    }
    case "function_call_output": {
      if (typeof input.callId !== "string" || input.callId.length === 0) {
        throw invalidRequest(`A function call output needs a callId, got ${describe(input)}`)
      }
      const output = typeof input.output === "string" ? input.output : JSON.stringify(input.output)
      if (typeof output !== "string") {
        throw invalidRequest(`A function call output must be a string or JSON value: ${describe(input)}`)
      }
      return Object.freeze({ type: "function_call_output", id, callId: input.callId, output })
    }
    default:
      throw invalidRequest(`Unknown chat item type ${describe((input as { type?: unknown }).type)}`)
  }
}

const itemKeys = new WeakMap<ChatItem, string>()

/**
 * The canonical text of an item's content, without its id: two items with the same key say
 * the same thing to the model. Used to hash the history a Responses chain holds.
 */
export const chatItemKey = (item: ChatItem): string => {
  const cached = itemKeys.get(item)
  if (cached !== undefined) return cached
  const key =
    item.type === "message"
      ? JSON.stringify(["m", item.role, item.content])
      : item.type === "function_call"
        ? JSON.stringify(["c", item.callId, item.name, item.arguments])
        : JSON.stringify(["o", item.callId, item.output])
  itemKeys.set(item, key)
  return key
}

const wireRole = (role: ChatRole, options: ChatConversionOptions | undefined): ChatRole =>
  role === "system" && options?.developerRole === true ? "developer" : role

/**
 * One item as a Responses input item: `{type:'message', role, content}`,
 * `{type:'function_call', call_id, name, arguments}` or `{type:'function_call_output', call_id, output}`.
 * Item ids stay on this side (the service has its own).
 */
export const toResponsesInputItem = (item: ChatItem, options?: ChatConversionOptions): ResponseInputItem => {
  switch (item.type) {
    case "message":
      return { type: "message", role: wireRole(item.role, options), content: item.content }
    case "function_call":
      return { type: "function_call", call_id: item.callId, name: item.name, arguments: item.arguments }
    case "function_call_output":
      return { type: "function_call_output", call_id: item.callId, output: item.output }
  }
}

/** Items as Responses input (see {@link toResponsesInputItem}). */
export const toResponsesInput = (
  items: readonly ChatItem[],
  options?: ChatConversionOptions,
): ResponseInputItem[] => items.map((item) => toResponsesInputItem(item, options))

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
