/**
 * The text of a streaming turn goes from the socket's edge straight to the turn's stream;
 * the chain machine sees it coalesced (progress only). Against the simulator on real sockets.
 */
import { afterEach, describe, expect, it } from "vitest"
import type { ChatChunk } from "../../machines/responses/chunks.ts"
import { type CreateLLMOptions, createLLM, type LLM } from "../../src/llm/LLM.ts"
import { functionTool } from "../../src/llm/tools.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"

let sim: Simulator | undefined
let llm: LLM | undefined

afterEach(async () => {
  await llm?.close()
  await sim?.close()
  llm = undefined
  sim = undefined
})

const REPLY = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ")

const start = async (options: CreateLLMOptions = {}): Promise<{ sim: Simulator; llm: LLM }> => {
  sim = await startSimulator()
  sim.scenario.replies = [{ text: REPLY }, { text: "second answer" }]
  llm = createLLM({
    openai: { apiKey: sim.apiKey ?? "sk-simulator", baseUrl: sim.httpUrl },
    env: {},
    onWarning: () => undefined,
    ...options,
  })
  return { sim, llm }
}

/** Text chunks the machine itself emitted (as `turn.chunk` events) while `work` ran. */
const machineTextChunks = async (target: LLM, work: () => Promise<void>): Promise<number> => {
  let count = 0
  const actor = (
    target as { readonly actor?: { on: (t: string, f: (e: unknown) => void) => { unsubscribe(): void } } }
  ).actor
  const sub = actor?.on("turn.chunk", (event) => {
    if ((event as { chunk: ChatChunk }).chunk.type === "text") count++
  })
  await work()
  sub?.unsubscribe()
  return count
}

describe("the turn's text lane", () => {
  it("hands the whole text to the stream while the machine emits only the first delta of the part", async () => {
    const { llm } = await start()
    let result: { text: string; output: readonly unknown[] } | undefined
    let streamed = 0
    const emitted = await machineTextChunks(llm, async () => {
      const stream = llm.chat([{ role: "user", content: "count" }])
      const chunks: ChatChunk[] = []
      for await (const chunk of stream) chunks.push(chunk)
      streamed = chunks.filter((c) => c.type === "text").length
      const end = chunks.at(-1)
      if (end?.type !== "end") throw new Error("no end chunk")
      result = {
        text: chunks.flatMap((c) => (c.type === "text" ? [c.delta] : [])).join(""),
        output: end.output,
      }
    })
    expect(result?.text).toBe(REPLY)
    expect(result?.output).toMatchObject([{ type: "message", role: "assistant", content: REPLY }])
    expect(streamed).toBeGreaterThan(10)
    expect(emitted).toBeLessThan(streamed / 2)
    // The next turn chains on the first one's output as the machine recorded it.
    const second = await llm.chat([{ role: "user", content: "again" }]).collect()
    expect(second.text).toBe("second answer")
  })

  it("a cancel mid-stream ends with exactly the text handed out so far", async () => {
    const { sim, llm } = await start()
    sim.scenario.nextConnection("responses", { latency: { betweenDeltasMs: 2 } })
    const stream = llm.chat([{ role: "user", content: "count" }])
    const chunks: ChatChunk[] = []
    for await (const chunk of stream) {
      chunks.push(chunk)
      if (chunks.filter((c) => c.type === "text").length === 8) stream.cancel()
    }
    const end = chunks.at(-1)
    expect(end).toMatchObject({ type: "end", status: "cancelled" })
    const text = chunks.flatMap((c) => (c.type === "text" ? [c.delta] : [])).join("")
    expect(text.length).toBeGreaterThan(0)
    expect(REPLY.startsWith(text)).toBe(true)
    if (end?.type === "end") expect(end.output).toMatchObject([{ type: "message", content: text }])
  })
})

describe("what the chain machine hears of a streamed turn", () => {
  it("its start, its response's creation, its first output and its end, however long the reply, tool calls included", async () => {
    const events: string[] = []
    const { sim, llm } = await start({
      inspect: {
        next: (event) => {
          if (event.type !== "@xstate.event") return
          if ((event.actorRef as { readonly sessionId?: string }).sessionId !== event.rootId) return
          events.push(event.event.type)
        },
      },
    })
    sim.scenario.replies = [
      { text: REPLY },
      { functionCalls: [{ name: "lookup", arguments: '{"q":"a"}', callId: "call_1" }] },
    ]
    await llm.prewarm()
    events.length = 0
    const first = await llm.chat([{ role: "user", content: "count" }]).collect()
    expect(first.text).toBe(REPLY)
    const textTurn = events.splice(0)
    const second = await llm
      .chat([{ role: "user", content: "count" }, ...first.output, { role: "user", content: "look it up" }], {
        tools: [functionTool({ name: "lookup" })],
      })
      .collect()
    expect(second.toolCalls).toMatchObject([{ callId: "call_1", name: "lookup", arguments: { q: "a" } }])
    expect(second.output).toMatchObject([{ type: "function_call", callId: "call_1", name: "lookup" }])
    for (const turn of [textTurn, events]) {
      expect(turn[0]).toBe("CHAT")
      expect(turn).toContain("SERVER.RESPONSE_CREATED")
      expect(turn.at(-1)).toBe("SERVER.RESPONSE_DONE")
      // At most one output event in between (the first output, when it came apart from the end).
      expect(turn.filter((type) => type === "SERVER.RESPONSE_OUTPUT").length).toBeLessThanOrEqual(1)
      expect(turn.length).toBeLessThanOrEqual(4)
    }
  })
})
