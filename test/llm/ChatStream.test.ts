import { describe, expect, it } from "vitest"
import type { ChatChunk } from "../../machines/responses/chunks.ts"
import { createChatStream } from "../../src/llm/ChatStream.ts"
import { isLLMError, LLMError } from "../../src/llm/LLMError.ts"

const end: ChatChunk = { type: "end", responseId: "r", status: "completed", output: [] }

describe("chat stream", () => {
  it("delivers chunks pushed before and after the reader starts, then ends after the end chunk", async () => {
    const { stream, sink } = createChatStream("t", { cancel: () => undefined })
    sink.push({ type: "text", delta: "a" })
    const reading = (async () => {
      const seen: ChatChunk[] = []
      for await (const chunk of stream) seen.push(chunk)
      return seen
    })()
    await Promise.resolve()
    sink.push({ type: "text", delta: "b" })
    sink.push(end)
    sink.push({ type: "text", delta: "late" })
    expect(await reading).toEqual([{ type: "text", delta: "a" }, { type: "text", delta: "b" }, end])
  })

  it("throws the failure after the chunks buffered before it", async () => {
    const { stream, sink } = createChatStream("t", { cancel: () => undefined })
    sink.push({ type: "text", delta: "a" })
    sink.fail(new LLMError({ reason: { _tag: "Closed" }, message: "closed", retryable: false }))
    const seen: ChatChunk[] = []
    let caught: unknown
    try {
      for await (const chunk of stream) seen.push(chunk)
    } catch (error) {
      caught = error
    }
    expect(seen).toEqual([{ type: "text", delta: "a" }])
    expect(isLLMError(caught) && caught.reason._tag).toBe("Closed")
  })

  it("cancels when the reader breaks out early, and detaches once finished", async () => {
    let cancels = 0
    let detaches = 0
    const { stream, sink } = createChatStream("t", {
      cancel: () => {
        cancels++
      },
      detach: () => {
        detaches++
      },
    })
    sink.push({ type: "text", delta: "a" })
    for await (const _ of stream) break
    expect(cancels).toBe(1)
    sink.push({ type: "end", responseId: undefined, status: "cancelled", output: [] })
    expect(detaches).toBe(1)
  })

  it("drops unread chunks on cancel and keeps the end", async () => {
    const { stream, sink } = createChatStream("t", {
      cancel: () => sink.push({ type: "end", responseId: undefined, status: "cancelled", output: [] }),
    })
    sink.push({ type: "text", delta: "a" })
    sink.push({ type: "text", delta: "b" })
    stream.cancel()
    sink.push({ type: "text", delta: "c" })
    const turn = await stream.collect()
    expect(turn).toMatchObject({ text: "", status: "cancelled" })
  })

  it("refuses a second iteration", () => {
    const { stream } = createChatStream("t", { cancel: () => undefined })
    stream[Symbol.asyncIterator]()
    expect(() => stream[Symbol.asyncIterator]()).toThrow(/only once/)
  })
})
