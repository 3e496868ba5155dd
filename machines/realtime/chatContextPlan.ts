/**
 * The `setChatContext` planner: the fewest `conversation.item.delete` and
 * `conversation.item.create` events that turn the server's conversation (as mirrored) into a
 * wanted list of items, and the Realtime wire form of a chat item. Pure.
 *
 * Items that are in both lists (same id, same content) and in the same relative order are
 * kept: they are the longest common subsequence of the two lists. Every other current item is
 * deleted; every other wanted item is created right after the wanted item before it
 * (`previous_item_id`, `null` for the first), in order, so each create names an item the
 * server already holds.
 * @module
 */
import type { ChatItem } from "../responses/chatItems.ts"

/** One create of a plan: the item and the id of the item it goes after (`null`: first). */
export interface PlannedCreate {
  readonly item: ChatItem
  readonly previousItemId: string | null
}

/** What `setChatContext` sends: deletes first, then creates in order. */
export interface ChatContextPlan {
  readonly deletes: readonly string[]
  readonly creates: readonly PlannedCreate[]
}

const sameItem = (a: ChatItem, b: ChatItem): boolean => {
  if (a.id !== b.id || a.type !== b.type) return false
  switch (a.type) {
    case "message":
      return b.type === "message" && a.role === b.role && a.content === b.content
    case "function_call":
      return (
        b.type === "function_call" &&
        a.callId === b.callId &&
        a.name === b.name &&
        a.arguments === b.arguments
      )
    case "function_call_output":
      return b.type === "function_call_output" && a.callId === b.callId && a.output === b.output
  }
}

/** Plans the edits from `current` to `wanted` (see the module documentation). */
export const planChatContext = (
  current: readonly ChatItem[],
  wanted: readonly ChatItem[],
): ChatContextPlan => {
  const n = current.length
  const m = wanted.length
  // lengths[i][j]: the longest common subsequence of current[i..] and wanted[j..].
  const lengths: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const row = lengths[i] as number[]
      row[j] = sameItem(current[i] as ChatItem, wanted[j] as ChatItem)
        ? ((lengths[i + 1] as number[])[j + 1] as number) + 1
        : Math.max((lengths[i + 1] as number[])[j] as number, row[j + 1] as number)
    }
  }
  const keptCurrent = new Set<number>()
  const keptWanted = new Set<number>()
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (sameItem(current[i] as ChatItem, wanted[j] as ChatItem)) {
      keptCurrent.add(i)
      keptWanted.add(j)
      i += 1
      j += 1
    } else if (((lengths[i + 1] as number[])[j] as number) >= ((lengths[i] as number[])[j + 1] as number))
      i += 1
    else j += 1
  }
  const deletes = current.flatMap((item, i) => (keptCurrent.has(i) ? [] : [item.id]))
  const creates: PlannedCreate[] = []
  wanted.forEach((item, j) => {
    if (keptWanted.has(j)) return
    creates.push({ item, previousItemId: j === 0 ? null : (wanted[j - 1] as ChatItem).id })
  })
  return { deletes, creates }
}

/** The `item` of a `conversation.item.create` for a chat item (assistant text as `output_text`). */
export const realtimeItemOf = (item: ChatItem): Record<string, unknown> => {
  switch (item.type) {
    case "message": {
      const role = item.role === "developer" ? "system" : item.role
      return {
        id: item.id,
        type: "message",
        role,
        content: [{ type: role === "assistant" ? "output_text" : "input_text", text: item.content }],
      }
    }
    case "function_call":
      return {
        id: item.id,
        type: "function_call",
        call_id: item.callId,
        name: item.name,
        arguments: item.arguments,
      }
    case "function_call_output":
      return { id: item.id, type: "function_call_output", call_id: item.callId, output: item.output }
  }
}
