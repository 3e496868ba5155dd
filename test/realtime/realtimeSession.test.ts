/**
 * The Realtime session against the simulator on real sockets: text in and audio out, a tool
 * round trip (and two parallel calls answered in the opposite order), the duplicate-create
 * policies, barge-in at what was heard, setChatContext, a 1006 close mid-response, bad input,
 * teardown.
 */
import { afterEach, describe, expect, it } from "vitest"
import { functionTool } from "../../src/llm/index.ts"
import {
  createRealtimeSession,
  isRealtimeError,
  type RealtimeSession,
  type RealtimeSessionEvent,
} from "../../src/realtime/index.ts"
import { type Simulator, type SimulatorOptions, startSimulator } from "../../src/simulator/index.ts"

let sim: Simulator | undefined
const sessions: RealtimeSession[] = []

afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close()
  await sim?.close()
  sim = undefined
})

const LONG =
  "This answer goes on and on so that there is plenty of time to cut it short somewhere in the middle of it."

const weather = functionTool({
  name: "get_weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
})

const open = async (
  options: SimulatorOptions = {},
  session: Parameters<typeof createRealtimeSession>[0] = {},
) => {
  sim ??= await startSimulator(options)
  const s = createRealtimeSession({
    openai: { apiKey: sim.apiKey ?? "sk-simulator", baseUrl: sim.httpUrl },
    env: {},
    turnDetection: null,
    seed: 1,
    ...session,
  })
  sessions.push(s)
  return s
}

/** Reads events until `until` matches (inclusive). */
const readUntil = async (
  session: RealtimeSession,
  until: (e: RealtimeSessionEvent) => boolean,
  seen: RealtimeSessionEvent[] = [],
): Promise<RealtimeSessionEvent[]> => {
  const iterator = session[Symbol.asyncIterator]()
  for (;;) {
    const next = await iterator.next()
    if (next.done) return seen
    seen.push(next.value)
    if (until(next.value)) return seen
  }
}

const clientEvents = (type: string) =>
  (sim?.connections ?? []).flatMap((c) =>
    c.received.filter((e) => (e.payload as { type?: string })?.type === type),
  )

describe("RealtimeSession against the simulator", () => {
  it("answers text with audio frames of 20 ms and a transcript, and mirrors the conversation", async () => {
    const session = await open({ scenario: { replies: [{ text: "Hello there, friend." }] } })
    await readUntil(session, (e) => e.type === "session_ready")
    session.sendText("Hi!")
    const requestId = session.createResponse()
    const events = await readUntil(session, (e) => e.type === "response_done")
    const audio = events.flatMap((e) => (e.type === "audio" ? [e.frame] : []))
    expect(audio.length).toBeGreaterThan(10)
    expect(audio.every((f) => f.sampleRateHz === 24_000 && f.channels === 1 && f.data.length <= 480)).toBe(
      true,
    )
    const done = events.find((e) => e.type === "response_done")
    expect(done).toMatchObject({ status: "completed", requestId })
    expect(done?.type === "response_done" && done.metrics.timeToFirstAudioMs).toBeGreaterThanOrEqual(0)
    const transcript = events.find((e) => e.type === "output_transcript" && e.done)
    expect(transcript).toMatchObject({ transcript: "Hello there, friend." })
    const items = session.chatContext.items
    expect(items.map((i) => (i.type === "message" ? [i.role, i.content] : [i.type]))).toEqual([
      ["user", "Hi!"],
      ["assistant", "Hello there, friend."],
    ])
  })

  it("round-trips a tool call and responds once the output is in", async () => {
    const session = await open(
      {
        scenario: {
          replies: [
            { functionCall: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { text: "Sunny in Paris." },
          ],
        },
      },
      { tools: [weather] },
    )
    session.sendText("Weather in Paris?")
    session.createResponse()
    const events = await readUntil(session, (e) => e.type === "function_call")
    const call = events.at(-1)
    if (call?.type !== "function_call") throw new Error("no call")
    expect(call.arguments).toEqual({ ok: true, value: { city: "Paris" } })
    session.sendToolOutput(call.callId, { forecast: "sunny" })
    const rest = await readUntil(session, (e) => e.type === "output_transcript" && e.done)
    expect(rest.find((e) => e.type === "output_transcript" && e.done)).toMatchObject({
      transcript: "Sunny in Paris.",
    })
    const kinds = session.chatContext.items.map((i) => i.type)
    expect(kinds).toEqual(["message", "function_call", "function_call_output", "message"])
  })

  it("answers two parallel calls in the opposite order with one response.create", async () => {
    const session = await open({
      scenario: {
        replies: [
          {
            functionCalls: [
              { name: "get_weather", arguments: '{"city":"Paris"}', callId: "call_a" },
              { name: "get_weather", arguments: '{"city":"Rome"}', callId: "call_b" },
            ],
          },
          { text: "Both sunny." },
        ],
      },
    })
    session.sendText("Paris and Rome?")
    session.createResponse()
    await readUntil(session, (e) => e.type === "response_done")
    session.sendToolOutput("call_b", "rainy")
    session.sendToolOutput("call_a", "sunny")
    await readUntil(session, (e) => e.type === "output_transcript" && e.done)
    expect(clientEvents("response.create")).toHaveLength(2)
  })

  it("refuses an unknown tool call id, and every call after close", async () => {
    const session = await open()
    expect(() => session.sendToolOutput("call_nope", "x")).toThrow(
      expect.objectContaining({
        _tag: "RealtimeError",
        reason: { _tag: "UnknownToolCall", callId: "call_nope" },
      }),
    )
    await session.close()
    let thrown: unknown
    try {
      session.pushFrame({ data: new Int16Array(480), sampleRateHz: 24_000, channels: 1 })
    } catch (error) {
      thrown = error
    }
    expect(isRealtimeError(thrown) && thrown.reason._tag).toBe("Closed")
    expect(session.resources).toEqual({ fibers: 0, timers: 0 })
  })

  it("interrupts mid-audio at what was heard: truncate at 800 ms, transcript cut, interrupted emitted", async () => {
    const session = await open({ scenario: { replies: [{ text: LONG }] } })
    session.sendText("Talk to me.")
    session.createResponse()
    let received = 0
    let itemId = ""
    await readUntil(session, (e) => {
      if (e.type === "audio") {
        received += e.frame.data.length / 24
        itemId = e.itemId
      }
      return received >= 1200
    })
    session.reportPlayback(itemId, 800)
    session.interrupt()
    const events = await readUntil(session, (e) => e.type === "response_done")
    expect(events.find((e) => e.type === "interrupted")).toMatchObject({ itemId, audioEndMs: 800 })
    expect(events.find((e) => e.type === "response_done")).toMatchObject({ status: "cancelled" })
    const truncates = clientEvents("conversation.item.truncate")
    expect(truncates.map((e) => (e.payload as { audio_end_ms: number }).audio_end_ms)).toEqual([800])
    const assistant = session.chatContext.items.find((i) => i.type === "message" && i.role === "assistant")
    expect(assistant?.type === "message" && assistant.content.length).toBeLessThan(LONG.length)
  })

  it("interrupting before any audio cancels and truncates nothing", async () => {
    const session = await open({ scenario: { replies: [{ text: LONG }] } })
    await readUntil(session, (e) => e.type === "session_ready")
    session.sendText("Talk.")
    session.createResponse()
    session.interrupt()
    const events = await readUntil(session, (e) => e.type === "response_done")
    expect(events.find((e) => e.type === "interrupted")).toMatchObject({ audioEndMs: 0 })
    expect(clientEvents("conversation.item.truncate")).toHaveLength(0)
    expect(clientEvents("response.cancel")).toHaveLength(1)
  })

  it("interrupting after the response finished truncates at what was heard without a cancel", async () => {
    const session = await open({ scenario: { replies: [{ text: LONG }] } })
    session.sendText("Talk.")
    session.createResponse()
    let itemId = ""
    let receivedMs = 0
    const before = await readUntil(session, (e) => {
      if (e.type === "audio") {
        itemId = e.itemId
        receivedMs += e.frame.data.length / 24
      }
      return e.type === "response_done"
    })
    expect(before.find((e) => e.type === "response_done")).toMatchObject({ status: "completed" })
    expect(receivedMs).toBeGreaterThan(1000)
    // The app is still playing the finished answer when the caller cuts in.
    session.reportPlayback(itemId, 600)
    session.interrupt()
    const [interrupted] = await readUntil(session, (e) => e.type === "interrupted")
    expect(interrupted).toMatchObject({ itemId, audioEndMs: 600 })
    const assistantText = () => {
      const item = session.chatContext.items.find((i) => i.type === "message" && i.role === "assistant")
      return item?.type === "message" ? item.content : ""
    }
    // The server's conversation.item.truncated follows the truncate; the mirror then holds what was heard.
    for (
      let i = 0;
      i < 100 &&
      (clientEvents("conversation.item.truncate").length === 0 || assistantText().length >= LONG.length);
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(clientEvents("conversation.item.truncate").map((e) => e.payload)).toMatchObject([
      { item_id: itemId, audio_end_ms: 600 },
    ])
    expect(clientEvents("response.cancel")).toHaveLength(0)
    expect(assistantText().length).toBeGreaterThan(0)
    expect(assistantText().length).toBeLessThan(LONG.length)
  })

  it("clamps a playback report beyond the audio received, so the server never sees an over-long audio_end_ms", async () => {
    const session = await open({ scenario: { replies: [{ text: LONG }] } })
    session.sendText("Talk.")
    session.createResponse()
    let itemId = ""
    await readUntil(session, (e) => {
      if (e.type === "audio") itemId = e.itemId
      return e.type === "audio"
    })
    session.reportPlayback(itemId, 60_000)
    session.interrupt()
    const events = await readUntil(session, (e) => e.type === "response_done")
    expect(events.some((e) => e.type === "error")).toBe(false)
  })

  for (const policy of ["cancel_existing", "cancel_new", "keep_both"] as const) {
    it(`follows onDuplicate ${policy} for a second createResponse`, async () => {
      const session = await open(
        { scenario: { replies: [{ text: LONG }, { text: "Second." }] } },
        { onDuplicate: policy },
      )
      session.sendText("Go.")
      const first = session.createResponse()
      await readUntil(session, (e) => e.type === "audio")
      const second = session.createResponse()
      const events = await readUntil(session, (e) =>
        policy === "cancel_new"
          ? e.type === "response_done"
          : e.type === "response_done" && e.requestId === second,
      )
      const dones = events.filter((e) => e.type === "response_done")
      if (policy === "cancel_existing") {
        expect(dones.map((d) => d.type === "response_done" && [d.requestId, d.status])).toEqual([
          [first, "cancelled"],
          [second, "completed"],
        ])
      } else if (policy === "keep_both") {
        expect(dones.map((d) => d.type === "response_done" && [d.requestId, d.status])).toEqual([
          [first, "completed"],
          [second, "completed"],
        ])
      } else {
        expect(events.find((e) => e.type === "error")).toMatchObject({
          error: { code: "duplicate_response_dropped" },
        })
        expect(dones).toHaveLength(1)
      }
      // No duplicate ever reached the server as a conflict.
      expect(
        events.some((e) => e.type === "error" && e.error.code === "conversation_already_has_active_response"),
      ).toBe(false)
    })
  }

  it("setChatContext inserts and deletes in the middle with the fewest events", async () => {
    const session = await open()
    await readUntil(session, (e) => e.type === "session_ready")
    await session.setChatContext([
      { id: "item_a", role: "user", content: "one" },
      { id: "item_b", role: "assistant", content: "two" },
      { id: "item_c", role: "user", content: "three" },
    ])
    expect(session.chatContext.items.map((i) => i.id)).toEqual(["item_a", "item_b", "item_c"])
    const before = clientEvents("conversation.item.create").length
    await session.setChatContext([
      { id: "item_a", role: "user", content: "one" },
      { id: "item_x", role: "user", content: "inserted" },
      { id: "item_c", role: "user", content: "three" },
    ])
    expect(session.chatContext.items.map((i) => i.id)).toEqual(["item_a", "item_x", "item_c"])
    expect(clientEvents("conversation.item.create").length - before).toBe(1)
    expect(clientEvents("conversation.item.delete")).toHaveLength(1)
  })

  it("a cancel racing with response.done: a completed answer stays completed and the session goes on", async () => {
    sim = await startSimulator({ scenario: { replies: [{ text: "Short answer." }, { text: "Next." }] } })
    sim.scenario.nextConnection("realtime", { latency: { cancelAfterDeltas: 1_000 } })
    const session = await open()
    session.sendText("Hi.")
    session.createResponse()
    const first = await readUntil(session, (e) => e.type === "audio")
    const audio = first.at(-1)
    // Everything received was heard: nothing to truncate, only the cancel, which lands too late.
    if (audio?.type === "audio") session.reportPlayback(audio.itemId, 1e9)
    session.interrupt()
    const events = await readUntil(session, (e) => e.type === "response_done")
    expect(events.find((e) => e.type === "response_done")).toMatchObject({ status: "completed" })
    expect(events.some((e) => e.type === "error")).toBe(false)
    session.createResponse()
    const next = await readUntil(session, (e) => e.type === "response_done")
    expect(next.find((e) => e.type === "response_done")).toMatchObject({ status: "completed" })
  })

  it("rotates the connection at a quiet moment once it is old, re-creating the conversation", async () => {
    const session = await open(
      { scenario: { replies: [{ text: "First." }, { text: "Second." }] } },
      { timeouts: { rotateAfterMs: 300 } },
    )
    session.sendText("Remember me.")
    session.createResponse()
    await readUntil(session, (e) => e.type === "response_done")
    const events = await readUntil(session, (e) => e.type === "reconnected")
    expect(events.at(-1)).toMatchObject({ type: "reconnected", recreatedItems: 2 })
    expect(sim?.connections.filter((c) => c.kind === "realtime")).toHaveLength(2)
    session.createResponse()
    await readUntil(session, (e) => e.type === "response_done")
    expect(session.chatContext.items.map((i) => i.type === "message" && i.content)).toEqual([
      "Remember me.",
      "First.",
      "Second.",
    ])
  })

  it("sends audio pushed before the connection is ready, and replays uncommitted audio on a new connection", async () => {
    sim = await startSimulator()
    sim.scenario.nextConnection("realtime", { faults: [{ type: "close", code: 1006, afterClientEvents: 6 }] })
    const session = await open({}, { reconnect: { baseDelayMs: 10, jitter: 0 } })
    const frame = { data: new Int16Array(480).fill(1000), sampleRateHz: 24_000, channels: 1 }
    for (let i = 0; i < 50; i++) session.pushFrame(frame) // 1 s, pushed while connecting
    await readUntil(session, (e) => e.type === "reconnected")
    session.commitAudio()
    const committed = () =>
      (sim?.connections.filter((c) => c.kind === "realtime")[1]?.received ?? []).some(
        (e) => (e.payload as { type?: string }).type === "input_audio_buffer.commit",
      )
    while (!committed()) await new Promise((resolve) => setTimeout(resolve, 5))
    const appended = (index: number) =>
      (sim?.connections.filter((c) => c.kind === "realtime")[index]?.received ?? [])
        .map((e) => e.payload as { type?: string; audio?: string })
        .filter((p) => p.type === "input_audio_buffer.append")
        .reduce((sum, p) => sum + Buffer.from(p.audio ?? "", "base64").byteLength / 2, 0)
    // The second connection carries the whole second of audio again, none of it committed on the first.
    expect(appended(1)).toBe(24_000)
  })

  it("after a 1006 close mid-response, reports the response interrupted and the next one knows the earlier turns", async () => {
    sim = await startSimulator({
      scenario: {
        replies: (request) => ({
          text:
            request.index === 0 && request.input.length === 1 ? LONG : `I saw ${request.input.length} items.`,
        }),
      },
    })
    sim.scenario.nextConnection("realtime", { faults: [{ type: "close", code: 1006, afterEvents: 12 }] })
    const session = await open({}, { reconnect: { baseDelayMs: 10, jitter: 0 } })
    session.sendText("Remember the number seven.")
    session.createResponse()
    const events = await readUntil(session, (e) => e.type === "reconnected")
    expect(events.some((e) => e.type === "interrupted")).toBe(true)
    expect(events.find((e) => e.type === "response_done")).toMatchObject({ status: "interrupted" })
    session.createResponse()
    const after = await readUntil(session, (e) => e.type === "output_transcript" && e.done)
    const transcript = after.find((e) => e.type === "output_transcript" && e.done)
    // The re-created conversation holds the user's turn (and what was received of the answer).
    expect(transcript?.type === "output_transcript" && transcript.transcript).toMatch(/I saw [12] items\./)
  })
})
