/**
 * Persist and resume of the Realtime session against the simulator on real sockets: the
 * conversation re-created on a new connection from the mirror, a call waiting for its output
 * answered after the resume, uncommitted input audio sent again, a snapshot of another version
 * refused; and a round trip at every step of a scripted conversation reaching the same end.
 */
import { afterEach, describe, expect, it } from "vitest"
import { functionTool } from "../../src/llm/index.ts"
import { isSnapshotError, type SnapshotError } from "../../src/persist/index.ts"
import {
  createRealtimeSession,
  type RealtimeSession,
  type RealtimeSessionEvent,
  type RealtimeSessionOptions,
  resumeRealtimeSession,
} from "../../src/realtime/index.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"

let sim: Simulator | undefined
const sessions: RealtimeSession[] = []

afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close()
  await sim?.close()
  sim = undefined
})

const weather = functionTool({
  name: "get_weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
})

const optionsOn = (s: Simulator): RealtimeSessionOptions => ({
  openai: { apiKey: s.apiKey ?? "sk-simulator", baseUrl: s.httpUrl },
  env: {},
  turnDetection: null,
  seed: 1,
  tools: [weather],
})

const track = (s: RealtimeSession): RealtimeSession => {
  sessions.push(s)
  return s
}

const readUntil = async (
  session: RealtimeSession,
  until: (e: RealtimeSessionEvent) => boolean,
): Promise<RealtimeSessionEvent[]> => {
  const seen: RealtimeSessionEvent[] = []
  const iterator = session[Symbol.asyncIterator]()
  for (;;) {
    const next = await iterator.next()
    if (next.done) return seen
    seen.push(next.value)
    if (until(next.value)) return seen
  }
}

const transcriptOf = (s: RealtimeSession) =>
  s.chatContext.items.map((i) =>
    i.type === "message"
      ? `${i.role}:${i.content}`
      : i.type === "function_call"
        ? `call:${i.name}`
        : `output:${i.output}`,
  )

/** A conversation as steps; each ends where the session is quiet again. */
const steps: ReadonlyArray<(s: RealtimeSession) => Promise<void>> = [
  async (s) => {
    s.sendText("Hello?")
    s.createResponse()
    await readUntil(s, (e) => e.type === "response_done")
  },
  async (s) => {
    s.sendText("Weather in Paris?")
    s.createResponse()
    // The call's response ends; the call waits for its output.
    await readUntil(s, (e) => e.type === "response_done")
  },
  async (s) => {
    const call = s.chatContext.items.find((i) => i.type === "function_call")
    if (call?.type !== "function_call") throw new Error("no call waiting")
    s.sendToolOutput(call.callId, { forecast: "sunny" })
    await readUntil(s, (e) => e.type === "response_done")
  },
  async (s) => {
    s.sendText("Thanks.")
    s.createResponse()
    await readUntil(s, (e) => e.type === "response_done")
  },
]

const replies = () => [
  { text: "Hi, how can I help?" },
  { functionCall: { name: "get_weather", arguments: '{"city":"Paris"}' } },
  { text: "Sunny in Paris." },
  { text: "You are welcome." },
]

describe("Realtime persist and resume", () => {
  it("reaches the same conversation when moved to a new session after any step", async () => {
    sim = await startSimulator({ scenario: { replies: replies() } })
    const whole = track(createRealtimeSession(optionsOn(sim)))
    for (const step of steps) await step(whole)
    const expected = transcriptOf(whole)
    await whole.close()
    await sim.close()

    for (let cut = 0; cut <= steps.length; cut++) {
      sim = await startSimulator({ scenario: { replies: replies() } })
      const first = track(createRealtimeSession(optionsOn(sim)))
      await readUntil(first, (e) => e.type === "session_ready")
      for (const step of steps.slice(0, cut)) await step(first)
      const snapshot = JSON.parse(JSON.stringify(first.persist()))
      expect(JSON.stringify(snapshot)).not.toContain(sim.apiKey ?? "sk-simulator")
      await first.close()
      const second = track(resumeRealtimeSession(snapshot, optionsOn(sim)))
      await readUntil(second, (e) => e.type === "session_ready")
      // The server acknowledges the re-created items; the mirror fills from its answers.
      const restored = snapshot.data.restore.mirror.filter(
        (m: { item: { type: string; content?: string } }) =>
          m.item.type !== "message" || m.item.content !== "",
      ).length
      for (let i = 0; i < 400 && second.chatContext.items.length < restored; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      for (const step of steps.slice(cut)) await step(second)
      expect(transcriptOf(second), `moved after step ${cut}`).toEqual(expected)
      // Re-created once on the new connection, nothing twice.
      const creates = (sim.connections[1]?.received ?? []).filter(
        (e) => (e.payload as { type?: string }).type === "conversation.item.create",
      )
      const recreated = creates.filter(
        (e) => (e.payload as { previous_item_id?: string }).previous_item_id !== undefined,
      )
      expect(new Set(recreated.map((e) => JSON.stringify((e.payload as { item: unknown }).item))).size).toBe(
        recreated.length,
      )
      await second.close()
      await sim.close()
    }
    sim = undefined
  }, 60_000)

  it("answers a waiting call given its output before the new connection is ready: the response follows", async () => {
    sim = await startSimulator({ scenario: { replies: replies().slice(1) } })
    const first = track(createRealtimeSession(optionsOn(sim)))
    await readUntil(first, (e) => e.type === "session_ready")
    await steps[1]?.(first)
    const call = first.chatContext.items.find((i) => i.type === "function_call")
    if (call?.type !== "function_call") throw new Error("no call waiting")
    const snapshot = JSON.parse(JSON.stringify(first.persist()))
    await first.close()
    const second = track(resumeRealtimeSession(snapshot, optionsOn(sim)))
    // Given at once: the output waits in the outbox, and its response is asked for once configured.
    second.sendToolOutput(call.callId, { forecast: "sunny" })
    const seen = await readUntil(second, (e) => e.type === "response_done")
    expect(seen.some((e) => e.type === "session_ready")).toBe(true)
    const sent = (sim.connections[1]?.received ?? []).map((e) => (e.payload as { type?: string }).type)
    expect(sent.filter((t) => t === "response.create")).toHaveLength(1)
    expect(sent.lastIndexOf("conversation.item.create")).toBeLessThan(sent.indexOf("response.create"))
    expect(transcriptOf(second).at(-1)).toBe("assistant:Sunny in Paris.")
  }, 30_000)

  it("sends the input audio the server had not committed again on the new connection", async () => {
    sim = await startSimulator({})
    const first = track(createRealtimeSession(optionsOn(sim)))
    await readUntil(first, (e) => e.type === "session_ready")
    first.pushFrame({ data: new Int16Array(4800).fill(1000), sampleRateHz: 24_000, channels: 1 })
    const snapshot = first.persist()
    await first.close()
    expect(snapshot.data.pendingAudio.length).toBeGreaterThan(0)
    const second = track(resumeRealtimeSession(JSON.stringify(snapshot), optionsOn(sim)))
    await readUntil(second, (e) => e.type === "session_ready")
    second.commitAudio()
    const received = () => sim?.connections[1]?.received ?? []
    for (
      let i = 0;
      i < 400 &&
      !received().some((e) => (e.payload as { type?: string }).type === "input_audio_buffer.commit");
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const appended = received()
      .filter((e) => (e.payload as { type?: string }).type === "input_audio_buffer.append")
      .reduce((n, e) => n + Buffer.from((e.payload as { audio: string }).audio, "base64").length, 0)
    expect(appended).toBe(4800 * 2)
  })

  it("refuses a snapshot of another version with a typed error", async () => {
    sim = await startSimulator({})
    const first = track(createRealtimeSession(optionsOn(sim)))
    const snapshot = { ...first.persist(), version: 99 }
    let error: unknown
    try {
      resumeRealtimeSession(snapshot, optionsOn(sim))
    } catch (e) {
      error = e
    }
    expect(isSnapshotError(error)).toBe(true)
    expect((error as SnapshotError).reason).toEqual({ _tag: "UnknownVersion", version: 99 })
  })
})
