import type { ChatCompletionChunk } from "openai/resources/chat/completions/completions"
import { describe, expect, it } from "vitest"
import type { ChatChunk } from "../../machines/responses/chunks.ts"
import { pumpChatCompletion } from "../../src/llm/ChatCompletionsLLM.ts"
import { createChatStream } from "../../src/llm/ChatStream.ts"
import { isLLMError } from "../../src/llm/LLMError.ts"

type Delta = ChatCompletionChunk["choices"][number]["delta"]

const chunk = (
  delta: Delta,
  finish: ChatCompletionChunk["choices"][number]["finish_reason"] = null,
): ChatCompletionChunk => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 0,
  model: "gpt-4.1-mini",
  choices: [{ index: 0, delta, finish_reason: finish }],
  usage: null,
})

const usageChunk: ChatCompletionChunk = {
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 0,
  model: "gpt-4.1-mini",
  choices: [],
  usage: {
    prompt_tokens: 30,
    completion_tokens: 12,
    total_tokens: 42,
    prompt_tokens_details: { cached_tokens: 16 },
    completion_tokens_details: { reasoning_tokens: 0 },
  },
}

const call = (index: number, fields: { id?: string; name?: string; arguments?: string }) => ({
  tool_calls: [
    {
      index,
      ...(fields.id === undefined ? {} : { id: fields.id, type: "function" as const }),
      function: {
        ...(fields.name === undefined ? {} : { name: fields.name }),
        ...(fields.arguments === undefined ? {} : { arguments: fields.arguments }),
      },
    },
  ],
})

async function* from(chunks: readonly ChatCompletionChunk[], failure?: Error) {
  for (const c of chunks) yield c
  if (failure !== undefined) throw failure
}

/** Pumps `chunks` into a fresh stream and reads it: the chunks, or the error it failed with. */
const pump = async (chunks: readonly ChatCompletionChunk[], failure?: Error) => {
  const { stream, sink } = createChatStream("t", { cancel: () => undefined })
  await pumpChatCompletion(from(chunks, failure), sink, () => false)
  const seen: ChatChunk[] = []
  try {
    for await (const c of stream) seen.push(c)
    return { seen, error: undefined }
  } catch (error) {
    if (!isLLMError(error)) throw error
    return { seen, error }
  }
}

describe("pumpChatCompletion", () => {
  it("assembles interleaved tool-call fragments by index and dispatches each once, in index order", async () => {
    const { seen } = await pump([
      chunk(call(1, { id: "call_b", name: "second", arguments: "" })),
      chunk(call(0, { id: "call_a", name: "first", arguments: '{"x"' })),
      chunk(call(1, { arguments: '{"y":2}' })),
      chunk(call(0, { arguments: ":1}" })),
      chunk({}, "tool_calls"),
      usageChunk,
    ])
    expect(seen.map((c) => c.type)).toEqual(["tool_call", "tool_call", "usage", "end"])
    expect(seen.slice(0, 2)).toEqual([
      {
        type: "tool_call",
        call: { callId: "call_a", name: "first", arguments: { x: 1 }, rawArguments: '{"x":1}' },
      },
      {
        type: "tool_call",
        call: { callId: "call_b", name: "second", arguments: { y: 2 }, rawArguments: '{"y":2}' },
      },
    ])
    expect(seen[2]).toEqual({
      type: "usage",
      usage: {
        promptTokens: 30,
        completionTokens: 12,
        totalTokens: 42,
        cachedTokens: 16,
        reasoningTokens: 0,
      },
    })
    expect(seen[3]).toMatchObject({
      type: "end",
      status: "completed",
      responseId: "chatcmpl-1",
      output: [
        { type: "function_call", callId: "call_a", name: "first", arguments: '{"x":1}' },
        { type: "function_call", callId: "call_b", name: "second", arguments: '{"y":2}' },
      ],
    })
  })

  it("dispatches the calls at the end of a stream that never says tool_calls", async () => {
    const { seen } = await pump([
      chunk({ content: "Checking." }),
      chunk(call(0, { id: "call_a", name: "lookup", arguments: '{"q":"a"}' })),
      chunk({}, "stop"),
    ])
    expect(seen.map((c) => c.type)).toEqual(["text", "tool_call", "end"])
    expect(seen[2]).toMatchObject({
      output: [
        { type: "message", role: "assistant", content: "Checking." },
        { type: "function_call", callId: "call_a" },
      ],
    })
  })

  it("reports a length cut as incomplete and a broken stream after text as ConnectionLost after output", async () => {
    const cut = await pump([chunk({ content: "one two" }), chunk({}, "length")])
    expect(cut.seen.at(-1)).toMatchObject({ type: "end", status: "incomplete", reason: "max_output_tokens" })

    const broken = await pump([chunk({ content: "Hel" })], new Error("socket hang up"))
    expect(broken.seen).toEqual([{ type: "text", delta: "Hel" }])
    expect(broken.error?.reason).toEqual({ _tag: "ConnectionLost", afterOutput: true })
  })
})
