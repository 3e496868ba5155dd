/**
 * The items of a conversation (system, developer, user and assistant messages, function
 * calls and their outputs) as plain frozen data, their validation (a failure is a message,
 * not a throw), their content key for chain hashing, and their Responses input form. The
 * `ChatContext` class of `voxstate/llm` is built on them.
 * @module
 */
import { randomUUID } from "node:crypto"
import type { ResponseInputItem } from "openai/resources/responses/responses"

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
 * Validates `input` as a frozen {@link ChatItem} (an item this function already returned is
 * returned as it is), or says what is wrong with it: a failure is data here; the LLM facade
 * turns it into its typed error (`toChatItem` in `voxstate/llm`).
 */
export const validateChatItem = (
  input: ChatItemInput | ChatItem,
): { readonly item: ChatItem } | { readonly invalid: string } => {
  if (typeof input !== "object" || input === null) {
    return { invalid: `A chat item must be an object, got ${describe(input)}` }
  }
  if (validated.has(input)) return { item: input as ChatItem }
  const item = buildItem(input)
  if (typeof item === "string") return { invalid: item }
  validated.add(item)
  return { item }
}

/**
 * Freezes an item built from a decoded server frame or by the machine itself, whose fields
 * are strings by construction; later validation returns it as it is.
 * @internal
 */
export const trustedChatItem = (item: ChatItemWithoutId): ChatItem => {
  const frozen = Object.freeze({ ...item, id: item.id ?? newItemId() }) as ChatItem
  validated.add(frozen)
  return frozen
}

const validated = new WeakSet<object>()

/** A {@link ChatItem} whose id may be left out (one is made). */
type ChatItemWithoutId = ChatItem extends infer T
  ? T extends ChatItem
    ? Omit<T, "id"> & { readonly id?: string }
    : never
  : never

const buildItem = (input: ChatItemInput | ChatItem): ChatItem | string => {
  const id = input.id ?? newItemId()
  if (typeof id !== "string" || id.length === 0) return `Invalid item id ${describe(input.id)}`
  switch (input.type) {
    case undefined:
    case "message": {
      if (!ROLES.has(input.role)) {
        return `Unknown role ${describe(input.role)}: expected system, developer, user or assistant`
      }
      if (typeof input.content !== "string") {
        return `A ${input.role} message needs string content, got ${describe(input.content)}`
      }
      return Object.freeze({ type: "message", id, role: input.role, content: input.content })
    }
    case "function_call": {
      if (typeof input.callId !== "string" || input.callId.length === 0) {
        return `A function call needs a callId, got ${describe(input)}`
      }
      if (typeof input.name !== "string" || input.name.length === 0) {
        return `A function call needs a name, got ${describe(input)}`
      }
      const args = typeof input.arguments === "string" ? input.arguments : JSON.stringify(input.arguments)
      if (typeof args !== "string") {
        return `Function call arguments must be a string or an object: ${describe(input)}`
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
        return `A function call output needs a callId, got ${describe(input)}`
      }
      const output = typeof input.output === "string" ? input.output : JSON.stringify(input.output)
      if (typeof output !== "string") {
        return `A function call output must be a string or JSON value: ${describe(input)}`
      }
      return Object.freeze({ type: "function_call_output", id, callId: input.callId, output })
    }
    default:
      return `Unknown chat item type ${describe((input as { type?: unknown }).type)}`
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

/** The role sent on the wire: `system` becomes `developer` with `developerRole`. */
export const wireRole = (role: ChatRole, options: ChatConversionOptions | undefined): ChatRole =>
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
