/**
 * Persist and resume of the Responses LLM against the simulator: the resumed LLM holds the
 * conversation, sends its whole context once on a new socket, then chains again; a snapshot
 * taken mid-turn keeps what the caller said and marks the turn as unanswered.
 */
import { afterEach, describe, expect, it } from "vitest"
import type { ChatChunk } from "../../machines/responses/chunks.ts"
import { ChatContext } from "../../src/llm/ChatContext.ts"
import { createResponsesLLM, type ResponsesLLM, resumeLLM } from "../../src/llm/ResponsesLLM.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"

let sim: Simulator | undefined
const llms: ResponsesLLM[] = []

afterEach(async () => {
  for (const llm of llms.splice(0)) await llm.close()
  await sim?.close()
  sim = undefined
})

const endpoint = (s: Simulator) => ({
  openai: { apiKey: s.apiKey ?? "sk-simulator", baseUrl: s.httpUrl },
  env: {},
  onWarning: () => undefined,
})

const turn = async (llm: ResponsesLLM, context: ChatContext): Promise<void> => {
  let end: Extract<ChatChunk, { type: "end" }> | undefined
  for await (const chunk of llm.chat(context)) if (chunk.type === "end") end = chunk
  if (end === undefined) throw new Error("no end")
  context.addOutput(end.output)
}

const creates = (s: Simulator) =>
  s.connections
    .filter((c) => c.kind === "responses")
    .flatMap((c) =>
      c.received.filter((e) => e.type === "response.create").map((e) => e.payload as Record<string, unknown>),
    )

describe("LLM persist and resume", () => {
  it("starts a fresh chain from the context: the whole input once, then chained again", async () => {
    sim = await startSimulator({
      scenario: { replies: [{ text: "One." }, { text: "Two." }, { text: "Three." }, { text: "Four." }] },
    })
    const first = createResponsesLLM(endpoint(sim))
    llms.push(first)
    const context = new ChatContext()
    context.addUser("First?")
    await turn(first, context)
    context.addUser("Second?")
    await turn(first, context)
    const snapshot = JSON.parse(JSON.stringify(first.persist()))
    expect(JSON.stringify(snapshot)).not.toContain(sim.apiKey ?? "sk-simulator")
    expect(snapshot.data).toMatchObject({ turns: 2, turnInFlight: false })
    await first.close()

    const second = resumeLLM(snapshot, endpoint(sim))
    llms.push(second)
    const resumed = second.context.copy()
    expect(resumed.items.map((i) => (i.type === "message" ? i.content : i.type))).toEqual([
      "First?",
      "One.",
      "Second?",
      "Two.",
    ])
    resumed.addUser("Third?")
    await turn(second, resumed)
    resumed.addUser("Fourth?")
    await turn(second, resumed)
    const [third, fourth] = creates(sim).slice(2)
    expect(third?.previous_response_id).toBeUndefined()
    expect((third?.input as unknown[] | undefined)?.length).toBe(5)
    expect(fourth?.previous_response_id).toMatch(/^resp_/)
    expect((fourth?.input as unknown[] | undefined)?.length).toBe(1)
    expect(second.persist().data.turns).toBe(4)
  })

  it("keeps the context of a turn in flight and marks it unanswered", async () => {
    sim = await startSimulator({ scenario: { replies: [{ text: "A long answer that is still coming." }] } })
    const llm = createResponsesLLM(endpoint(sim))
    llms.push(llm)
    const context = new ChatContext()
    context.addUser("Tell me.")
    const stream = llm.chat(context)
    const snapshot = llm.persist()
    expect(snapshot.data.turnInFlight).toBe(true)
    expect(snapshot.data.context.map((i) => (i.type === "message" ? i.content : i.type))).toEqual([
      "Tell me.",
    ])
    stream.cancel()
  })
})
