import { describe, expect, it } from "vitest"
import {
  ChatContext,
  chatItemKey,
  chatItemsOf,
  toChatCompletionMessages,
  toChatItem,
  toResponsesInput,
} from "../../src/llm/ChatContext.ts"
import { isLLMError } from "../../src/llm/LLMError.ts"

const conversation = () => {
  const ctx = new ChatContext([{ role: "system", content: "Be brief." }])
  ctx.addUser("Weather in Paris and Rome?")
  ctx.addAssistant("Let me check.")
  ctx.addFunctionCall({ callId: "c1", name: "weather", arguments: { city: "Paris" } })
  ctx.addFunctionCall({ callId: "c2", name: "weather", arguments: '{"city":"Rome"}' })
  ctx.addFunctionCallOutput("c1", { celsius: 18 })
  ctx.addFunctionCallOutput("c2", "21°C")
  ctx.addAssistant("18 and 21.")
  return ctx
}

describe("ChatContext", () => {
  it("gives every item an id and freezes it", () => {
    const ctx = conversation()
    const ids = ctx.items.map((i) => i.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const item of ctx.items) expect(Object.isFrozen(item)).toBe(true)
  })

  it("serializes object arguments and outputs as JSON text", () => {
    const items = conversation().items
    expect(items[3]).toMatchObject({ type: "function_call", arguments: '{"city":"Paris"}' })
    expect(items[5]).toMatchObject({ type: "function_call_output", output: '{"celsius":18}' })
  })

  it("converts to Responses input items, with developer for system on reasoning models", () => {
    const ctx = conversation()
    expect(ctx.toResponsesInput()).toEqual([
      { type: "message", role: "system", content: "Be brief." },
      { type: "message", role: "user", content: "Weather in Paris and Rome?" },
      { type: "message", role: "assistant", content: "Let me check." },
      { type: "function_call", call_id: "c1", name: "weather", arguments: '{"city":"Paris"}' },
      { type: "function_call", call_id: "c2", name: "weather", arguments: '{"city":"Rome"}' },
      { type: "function_call_output", call_id: "c1", output: '{"celsius":18}' },
      { type: "function_call_output", call_id: "c2", output: "21°C" },
      { type: "message", role: "assistant", content: "18 and 21." },
    ])
    expect(ctx.toResponsesInput({ developerRole: true })[0]).toEqual({
      type: "message",
      role: "developer",
      content: "Be brief.",
    })
  })

  it("converts to chat-completions messages, joining function calls to the assistant message before them", () => {
    expect(conversation().toChatCompletionMessages({ developerRole: true })).toEqual([
      { role: "developer", content: "Be brief." },
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: "Let me check.",
        tool_calls: [
          { id: "c1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
          { id: "c2", type: "function", function: { name: "weather", arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "c1", content: '{"celsius":18}' },
      { role: "tool", tool_call_id: "c2", content: "21°C" },
      { role: "assistant", content: "18 and 21." },
    ])
  })

  it("makes an assistant message with null content for function calls that follow no assistant text", () => {
    const items = chatItemsOf([
      { role: "user", content: "x" },
      { type: "function_call", callId: "c", name: "f", arguments: "{}" },
    ])
    expect(toChatCompletionMessages(items)[1]).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }],
    })
  })

  it("replaces and removes items by id", () => {
    const ctx = conversation()
    const user = ctx.items[1]
    if (user === undefined) throw new Error("missing item")
    const replaced = ctx.replace(user.id, { role: "user", content: "Weather in Oslo?" })
    expect(replaced.id).toBe(user.id)
    expect(ctx.items[1]).toMatchObject({ content: "Weather in Oslo?" })
    expect(ctx.remove(user.id)).toBe(true)
    expect(ctx.remove(user.id)).toBe(false)
    expect(ctx.length).toBe(7)
  })

  it("keeps snapshots and copies independent of later changes", () => {
    const ctx = conversation()
    const snapshot = ctx.items
    const copy = ctx.copy()
    ctx.addUser("more")
    expect(snapshot).toHaveLength(8)
    expect(copy.length).toBe(8)
    expect(ctx.length).toBe(9)
  })

  it("rejects malformed items with InvalidRequest", () => {
    const bad: unknown[] = [
      { role: "robot", content: "x" },
      { role: "user", content: 3 },
      { type: "function_call", callId: "", name: "f", arguments: "{}" },
      { type: "function_call", callId: "c", name: "", arguments: "{}" },
      { type: "function_call_output", output: "x" },
      { type: "image", url: "x" },
      null,
    ]
    for (const item of bad) {
      let caught: unknown
      try {
        toChatItem(item as never)
      } catch (error) {
        caught = error
      }
      expect(isLLMError(caught) && caught.reason._tag).toBe("InvalidRequest")
    }
  })

  it("keys items by content, not by id", () => {
    const a = toChatItem({ role: "user", content: "same", id: "a" })
    const b = toChatItem({ role: "user", content: "same", id: "b" })
    const c = toChatItem({ role: "assistant", content: "same" })
    expect(chatItemKey(a)).toBe(chatItemKey(b))
    expect(chatItemKey(a)).not.toBe(chatItemKey(c))
  })

  it("accepts the items it made without copying them", () => {
    const item = toChatItem({ role: "user", content: "x" })
    expect(toChatItem(item)).toBe(item)
    expect(toResponsesInput([item])).toEqual([{ type: "message", role: "user", content: "x" }])
  })
})
