import { afterEach, describe, expect, it } from "vitest"
import type { ChatChunk } from "../../machines/responses/chunks.ts"
import { type CreateLLMOptions, createLLM, type LLM } from "../../src/llm/LLM.ts"
import { isLLMError, type LLMError } from "../../src/llm/LLMError.ts"
import { functionTool } from "../../src/llm/tools.ts"
import { type HostileConnection, type HostileServer, startHostileServer } from "../support/hostileServer.ts"

/**
 * The Responses WebSocket against servers that misbehave on purpose (raw `ws` on 127.0.0.1):
 * no turn hangs, no frame kills the socket.
 */

let server: HostileServer | undefined
let llms: LLM[] = []

afterEach(async () => {
  await Promise.all(llms.map((llm) => llm.close()))
  llms = []
  await server?.close()
  server = undefined
})

const llmOn = (s: HostileServer, options: CreateLLMOptions = {}): LLM => {
  const llm = createLLM({
    openai: { apiKey: "sk-hostile-test-key", baseUrl: s.httpUrl },
    env: {},
    onWarning: () => undefined,
    ...options,
  })
  llms.push(llm)
  return llm
}

const responseObject = (id: string, status: string, output: unknown[] = []) => ({
  id,
  object: "response",
  status,
  output,
})

/** Plays one complete text reply `text` as response `id`. */
const reply = (c: HostileConnection, id: string, text: string): void => {
  c.send({ type: "response.created", response: responseObject(id, "in_progress") })
  c.send({
    type: "response.output_item.added",
    output_index: 0,
    item: { type: "message", id: `m_${id}`, role: "assistant", status: "in_progress", content: [] },
  })
  c.send({
    type: "response.output_text.delta",
    item_id: `m_${id}`,
    output_index: 0,
    content_index: 0,
    delta: text,
  })
  c.send({
    type: "response.completed",
    response: responseObject(id, "completed", [
      {
        type: "message",
        id: `m_${id}`,
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text }],
      },
    ]),
  })
}

const collect = async (
  chunks: AsyncIterable<ChatChunk>,
): Promise<{ chunks: ChatChunk[]; error?: LLMError }> => {
  const seen: ChatChunk[] = []
  try {
    for await (const chunk of chunks) seen.push(chunk)
  } catch (error) {
    if (isLLMError(error)) return { chunks: seen, error }
    throw error
  }
  return { chunks: seen }
}

const textOf = (chunks: readonly ChatChunk[]): string =>
  chunks.map((c) => (c.type === "text" ? c.delta : "")).join("")

describe("createLLM (websocket) against a hostile server", () => {
  it("fails a response.create that is never answered with a Timeout and serves the next chat", async () => {
    server = await startHostileServer({
      onConnection: (c) =>
        c.onFrame((frame) => {
          // The first socket swallows every request; later sockets answer.
          if (frame.type === "response.create" && c.index > 0) reply(c, `resp_${c.index}`, "second")
        }),
    })
    const llm = llmOn(server, { responseCreatedTimeoutMs: 1_000 })
    const first = collect(llm.chat([{ role: "user", content: "one" }]))
    const second = collect(llm.chat([{ role: "user", content: "two" }]))
    const a = await first
    expect(a.error?.reason).toEqual({ _tag: "Timeout", phase: "response_created", timeoutMs: 1_000 })
    const b = await second
    expect(b.error).toBeUndefined()
    expect(textOf(b.chunks)).toBe("second")
  })

  it("fails a response.created followed by silence, and a completed of another id does not end it", async () => {
    server = await startHostileServer({
      onConnection: (c) =>
        c.onFrame((frame) => {
          if (frame.type !== "response.create") return
          c.send({ type: "response.created", response: responseObject("resp_mine", "in_progress") })
          c.send({ type: "response.completed", response: responseObject("resp_other", "completed") })
        }),
    })
    const llm = llmOn(server, { firstOutputTimeoutMs: 1_000 })
    const result = await collect(llm.chat([{ role: "user", content: "one" }]))
    expect(result.chunks.some((c) => c.type === "end")).toBe(false)
    expect(result.error?.reason).toMatchObject({ _tag: "Timeout", phase: "first_output" })
    expect(result.error?.responseId).toBe("resp_mine")
  })

  it("does not end a turn on a completed that came without its created", async () => {
    server = await startHostileServer({
      onConnection: (c) =>
        c.onFrame((frame) => {
          if (frame.type === "response.create") {
            c.send({ type: "response.completed", response: responseObject("resp_orphan", "completed") })
          }
        }),
    })
    const llm = llmOn(server, { responseCreatedTimeoutMs: 800 })
    const result = await collect(llm.chat([{ role: "user", content: "one" }]))
    expect(result.chunks).toEqual([])
    expect(result.error?.reason).toMatchObject({ _tag: "Timeout", phase: "response_created" })
  })

  it("keeps the socket through a frame nested 10 000 levels deep and answers the turn", async () => {
    const notices: string[] = []
    server = await startHostileServer({
      onConnection: (c) =>
        c.onFrame((frame) => {
          if (frame.type !== "response.create") return
          c.send(`{"type":${"[".repeat(10_000)}${"]".repeat(10_000)}}`)
          c.send(`{"type":"response.output_text.delta","delta":${"{".repeat(0)}"${"x".repeat(2_000_000)}`)
          reply(c, "resp_1", "fine")
        }),
    })
    const llm = llmOn(server)
    llm.actor?.on("notice", (e) => {
      notices.push(e.message)
    })
    const result = await collect(llm.chat([{ role: "user", content: "one" }]))
    expect(result.error).toBeUndefined()
    expect(textOf(result.chunks)).toBe("fine")
    expect(server.connections).toHaveLength(1)
    expect(notices).toHaveLength(2)
    for (const notice of notices) expect(notice.length).toBeLessThan(1_200)
  })

  it("flags a call of a tool that was not offered, and gives a repeated call_id once", async () => {
    const call = (index: number, callId: string, name: string) => ({
      type: "function_call",
      id: `fc_${index}`,
      call_id: callId,
      name,
      arguments: '{"city":"Oslo"}',
      status: "completed",
    })
    server = await startHostileServer({
      onConnection: (c) =>
        c.onFrame((frame) => {
          if (frame.type !== "response.create") return
          const output = [
            call(0, "call_1", "weather"),
            call(1, "call_1", "weather"),
            call(2, "call_2", "rm_rf"),
          ]
          c.send({ type: "response.created", response: responseObject("resp_1", "in_progress") })
          output.forEach((item, index) => {
            c.send({ type: "response.output_item.done", output_index: index, item })
          })
          c.send({ type: "response.completed", response: responseObject("resp_1", "completed", output) })
        }),
    })
    const weather = functionTool({
      name: "weather",
      description: "Weather of a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    })
    const llm = llmOn(server, { tools: [weather] })
    const result = await collect(llm.chat([{ role: "user", content: "weather?" }]))
    expect(result.error).toBeUndefined()
    const calls = result.chunks.filter((c) => c.type === "tool_call")
    expect(calls).toHaveLength(1)
    const errors = result.chunks.flatMap((c) => (c.type === "error" ? [c] : []))
    expect(errors.map((e) => [e.reason, e.name, e.callId])).toEqual([["UnknownTool", "rm_rf", "call_2"]])
    const end = result.chunks.at(-1)
    const outputCalls = end?.type === "end" ? end.output.filter((i) => i.type === "function_call") : []
    expect(outputCalls.map((i) => (i.type === "function_call" ? i.callId : ""))).toEqual(["call_1", "call_2"])
  })
})

describe("createLLM (http) against a hostile server", () => {
  const chunk = (content: string) =>
    `data: ${JSON.stringify({
      id: "chatcmpl_1",
      object: "chat.completion.chunk",
      created: 0,
      model: "gpt-4.1-mini",
      choices: [{ index: 0, delta: { content }, finish_reason: null }],
    })}\n\n`

  it("fails a stream that falls silent with Timeout (first_output, then between_events)", async () => {
    server = await startHostileServer({
      onHttp: ({ index }, response) => {
        response.writeHead(200, { "content-type": "text/event-stream" })
        // The first request: headers, then nothing. The second: one chunk, then nothing.
        if (index > 0) response.write(chunk("partial"))
      },
    })
    const llm = llmOn(server, { transport: "http", firstOutputTimeoutMs: 1_500, eventGapTimeoutMs: 1_000 })
    const first = await collect(llm.chat([{ role: "user", content: "one" }]))
    expect(first.error?.reason).toEqual({ _tag: "Timeout", phase: "first_output", timeoutMs: 1_500 })
    const second = await collect(llm.chat([{ role: "user", content: "two" }]))
    expect(textOf(second.chunks)).toBe("partial")
    expect(second.error?.reason).toEqual({ _tag: "Timeout", phase: "between_events", timeoutMs: 1_000 })
  })
})
