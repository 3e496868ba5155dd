import { describe, expect, it } from "vitest"
import type { ChatChunk } from "../../../machines/responses/chunks.ts"
import {
  advanceProgress,
  deliveredOutput,
  emptyProgress,
  finishProgress,
  type ResponseProgress,
} from "../../../machines/responses/responseProgress.ts"
import { decodeResponsesServerEventSync, type ResponsesServerEvent } from "../../../src/protocol/index.ts"

const ev = (payload: Record<string, unknown>): ResponsesServerEvent =>
  decodeResponsesServerEventSync(JSON.stringify(payload))

const fold = (events: ResponsesServerEvent[], from: ResponseProgress = emptyProgress) => {
  let progress = from
  const chunks: ChatChunk[] = []
  for (const event of events) {
    const step = advanceProgress(progress, event)
    progress = step.progress
    chunks.push(...step.chunks)
  }
  return { progress, chunks }
}

const response = (output: unknown[], extra: Record<string, unknown> = {}) => ({
  id: "resp_1",
  status: "completed",
  output,
  ...extra,
})

describe("response progress", () => {
  it("maps argument deltas to the call by item_id and dispatches the call once on output_item.done", () => {
    const { progress, chunks } = fold([
      ev({ type: "response.created", response: response([], { status: "in_progress" }) }),
      ev({
        type: "response.output_item.added",
        output_index: 0,
        item: { type: "function_call", id: "fc_1", call_id: "call_1", name: "f", arguments: "" },
      }),
      ev({
        type: "response.function_call_arguments.delta",
        item_id: "fc_1",
        output_index: 0,
        delta: '{"a":',
      }),
      ev({ type: "response.function_call_arguments.delta", item_id: "fc_1", output_index: 0, delta: "1}" }),
      ev({
        type: "response.output_item.done",
        output_index: 0,
        item: { type: "function_call", id: "fc_1", call_id: "call_1", name: "f", arguments: '{"a":1}' },
      }),
    ])
    expect(progress.responseId).toBe("resp_1")
    expect(chunks).toEqual([
      {
        type: "tool_call",
        call: { callId: "call_1", name: "f", arguments: { a: 1 }, rawArguments: '{"a":1}' },
      },
    ])
    const terminal = ev({ type: "response.completed", response: response([]) })
    if (terminal.type !== "response.completed") throw new Error("decode")
    const end = finishProgress(progress, terminal.response)
    expect(end.chunks).toEqual([])
    expect(end.output).toMatchObject([{ type: "function_call", callId: "call_1", arguments: '{"a":1}' }])
  })

  it("dispatches at the end a call whose output_item.done never came", () => {
    const { progress } = fold([
      ev({
        type: "response.output_item.added",
        output_index: 0,
        item: { type: "function_call", id: "fc_1", call_id: "call_1", name: "f", arguments: "" },
      }),
      ev({
        type: "response.function_call_arguments.done",
        item_id: "fc_1",
        output_index: 0,
        arguments: "{}",
      }),
    ])
    const terminal = ev({
      type: "response.completed",
      response: response([], { usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 } }),
    })
    if (terminal.type !== "response.completed") throw new Error("decode")
    const end = finishProgress(progress, terminal.response)
    expect(end.chunks.map((c) => c.type)).toEqual(["tool_call", "usage"])
    expect(end.chunks[1]).toEqual({
      type: "usage",
      usage: { promptTokens: 5, completionTokens: 2, totalTokens: 7, cachedTokens: 0, reasoningTokens: 0 },
    })
  })

  it("hands out text that only arrived in the final item, once", () => {
    const { chunks, progress } = fold([
      ev({
        type: "response.output_item.added",
        output_index: 0,
        item: { type: "message", id: "m1", role: "assistant", content: [] },
      }),
      ev({
        type: "response.output_text.delta",
        item_id: "m1",
        output_index: 0,
        content_index: 0,
        delta: "Hel",
      }),
      ev({
        type: "response.output_item.done",
        output_index: 0,
        item: {
          type: "message",
          id: "m1",
          role: "assistant",
          content: [{ type: "output_text", text: "Hello" }],
        },
      }),
    ])
    expect(chunks).toEqual([
      { type: "text", delta: "Hel" },
      { type: "text", delta: "lo" },
    ])
    expect(deliveredOutput(progress)).toMatchObject([{ role: "assistant", content: "Hello" }])
  })

  it("marks output as delivered only once text or a tool call went out", () => {
    const created = fold([
      ev({ type: "response.created", response: response([], { status: "in_progress" }) }),
      ev({
        type: "response.output_item.added",
        output_index: 0,
        item: { type: "message", id: "m1", role: "assistant", content: [] },
      }),
    ])
    expect(created.progress.delivered).toBe(false)
    const after = fold(
      [
        ev({
          type: "response.output_text.delta",
          item_id: "m1",
          output_index: 0,
          content_index: 0,
          delta: "x",
        }),
      ],
      created.progress,
    )
    expect(after.progress.delivered).toBe(true)
  })

  it("leaves reasoning items out of the history output", () => {
    const terminal = ev({
      type: "response.completed",
      response: response([
        { type: "reasoning", id: "rs_1", summary: [] },
        { type: "message", id: "m1", role: "assistant", content: [{ type: "output_text", text: "Hi" }] },
      ]),
    })
    if (terminal.type !== "response.completed") throw new Error("decode")
    expect(finishProgress(emptyProgress, terminal.response).output).toMatchObject([
      { type: "message", role: "assistant", content: "Hi", id: "m1" },
    ])
  })
})
