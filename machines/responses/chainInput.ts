import { createHash } from "node:crypto"
import { type ChatItem, chatItemKey } from "./chatItems.ts"

/**
 * The chain-input slicer: decides whether a Responses turn can continue the server's cached
 * response (`previous_response_id` plus only the new items) or must send the whole context.
 *
 * The server's view after a turn is the context that turn was given, followed by the model's
 * own output (its assistant message and function calls). A new context continues that chain
 * exactly when it starts with those same items: the check compares the prefix item by item
 * (by reference, then by content key), so an edited message in the middle of the history
 * (same length, different text) is caught, not only a shorter history. Everything after the prefix is new to the server and is sent;
 * the model's own items are inside the prefix, so they are never sent back.
 * @module
 */

/** What the server holds on a connection: a response and the history it ends. */
export interface ChainState {
  /** The response to continue (`previous_response_id`). */
  readonly responseId: string
  /** How many items of the caller's context the server's history covers. */
  readonly length: number
  /** Digest of those items ({@link digestItems}); computed when first read. */
  readonly digest: string
  /**
   * Those items, as the turn had them: a new context is compared with them by reference and,
   * where an object differs, by its key, so no history is hashed on a turn's path. Absent in
   * a state restored from its digest alone, which is then compared by digest.
   */
  readonly history?: readonly ChatItem[]
}

/** Why a turn sends its whole context. */
export type FullReason =
  /** No response to continue (first turn, new socket with `store: false`, after a reset). */
  | "noChain"
  /** The context is shorter than the history the server holds. */
  | "shorterContext"
  /** The first items differ from the history the server holds (edited or reordered). */
  | "prefixMismatch"
  /** Forced: a retry after a recoverable error always sends everything. */
  | "forced"

/** The input of one turn. */
export type ChainPlan =
  | {
      readonly mode: "chained"
      readonly previousResponseId: string
      /** The items after the prefix: all of them new to the server. */
      readonly items: readonly ChatItem[]
      /** Items the server already has. */
      readonly prefixLength: number
    }
  | { readonly mode: "full"; readonly items: readonly ChatItem[]; readonly reason: FullReason }

const itemDigests = new WeakMap<ChatItem, string>()

const itemDigest = (item: ChatItem): string => {
  let digest = itemDigests.get(item)
  if (digest === undefined) {
    digest = createHash("sha256").update(chatItemKey(item)).digest("base64")
    itemDigests.set(item, digest)
  }
  return digest
}

/**
 * A digest of the content of the first `count` items (default: all), ids left out: two
 * histories with the same digest say the same things in the same order. SHA-256 over the
 * items' own digests, which are cached per item. The planner compares histories by item
 * instead; the digest is what a saved chain state carries.
 */
export const digestItems = (items: readonly ChatItem[], count: number = items.length): string => {
  const hash = createHash("sha256")
  const n = Math.min(count, items.length)
  for (let i = 0; i < n; i++) hash.update(itemDigest(items[i] as ChatItem))
  hash.update(`#${n}`)
  return hash.digest("base64")
}

/**
 * The output items of a response that count in the caller's history: assistant messages
 * with text and function calls. Empty assistant messages (a response cancelled before its
 * first delta) say nothing and are left out, as a caller would leave them out.
 */
export const visibleOutput = (output: readonly ChatItem[]): readonly ChatItem[] =>
  output.filter((item) => !(item.type === "message" && item.content.length === 0))

/**
 * The chain after a response: the server holds the context the turn sent (`sent`, the whole
 * context, whether the turn was chained or not) followed by the response's output.
 */
export const chainAfterResponse = (
  responseId: string,
  sent: readonly ChatItem[],
  output: readonly ChatItem[],
): ChainState => {
  const history = [...sent, ...visibleOutput(output)]
  let digest: string | undefined
  return {
    responseId,
    length: history.length,
    history,
    get digest() {
      digest ??= digestItems(history)
      return digest
    },
  }
}

/** Whether `items` starts with `history`: the same objects, or items with the same key (content, ids left out). */
const startsWith = (items: readonly ChatItem[], history: readonly ChatItem[]): boolean => {
  for (let i = 0; i < history.length; i++) {
    const a = items[i] as ChatItem
    const b = history[i] as ChatItem
    if (a !== b && chatItemKey(a) !== chatItemKey(b)) return false
  }
  return true
}

/**
 * Plans the input of a turn: chained when `chain` is set and `items` starts with exactly the
 * history the chain covers (compared by digest), otherwise full. `forceFull` makes it full
 * (a retry after a recoverable error).
 */
export const planChainInput = (
  chain: ChainState | undefined,
  items: readonly ChatItem[],
  forceFull = false,
): ChainPlan => {
  if (forceFull) return { mode: "full", items, reason: "forced" }
  if (chain === undefined) return { mode: "full", items, reason: "noChain" }
  if (items.length < chain.length) return { mode: "full", items, reason: "shorterContext" }
  const same =
    chain.history !== undefined && chain.history.length === chain.length
      ? startsWith(items, chain.history)
      : digestItems(items, chain.length) === chain.digest
  if (!same) return { mode: "full", items, reason: "prefixMismatch" }
  return {
    mode: "chained",
    previousResponseId: chain.responseId,
    items: items.slice(chain.length),
    prefixLength: chain.length,
  }
}
