/**
 * The Realtime session with server VAD turns (audio in, audio out, barge-in), against small
 * hostile servers (silence after session.created, a response.done for an unknown response),
 * and torn down in every state with nothing left running.
 */
import { afterEach, describe, expect, it } from "vitest"
import {
  createRealtimeSession,
  type RealtimeSession,
  type RealtimeSessionEvent,
} from "../../src/realtime/index.ts"
import { concatPcm, type Simulator, silence, startSimulator, tone } from "../../src/simulator/index.ts"
import { type HostileServer, startHostileServer } from "../support/hostileServer.ts"

let sim: Simulator | undefined
let hostile: HostileServer | undefined
const sessions: RealtimeSession[] = []

afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close()
  await sim?.close()
  await hostile?.close()
  sim = undefined
  hostile = undefined
})

const LONG =
  "This answer goes on and on so that there is plenty of time to cut it short somewhere in the middle of it."

const make = (baseUrl: string, options: Parameters<typeof createRealtimeSession>[0] = {}) => {
  const s = createRealtimeSession({
    openai: { apiKey: "sk-simulator", baseUrl },
    env: {},
    seed: 1,
    ...options,
  })
  sessions.push(s)
  return s
}

const readUntil = async (session: RealtimeSession, until: (e: RealtimeSessionEvent) => boolean) => {
  const seen: RealtimeSessionEvent[] = []
  const iterator = session[Symbol.asyncIterator]()
  for (;;) {
    const next = await iterator.next()
    if (next.done) return seen
    seen.push(next.value)
    if (until(next.value)) return seen
  }
}

/** Pushes 24 kHz mono audio as 48 kHz stereo frames of 20 ms (the session resamples and mixes down). */
const pushAsStereo48k = (session: RealtimeSession, samples: Int16Array) => {
  for (let at = 0; at < samples.length; at += 480) {
    const chunk = samples.subarray(at, Math.min(samples.length, at + 480))
    const data = new Int16Array(chunk.length * 4)
    for (let i = 0; i < chunk.length; i++) {
      const v = chunk[i] ?? 0
      data.set([v, v, v, v], i * 4)
    }
    session.pushFrame({ data, sampleRateHz: 48_000, channels: 2 })
  }
}

describe("server VAD turns", () => {
  it("hears a spoken turn and answers it with audio", async () => {
    sim = await startSimulator({
      scenario: { replies: [{ text: "I heard you." }], transcripts: ["hello there"] },
    })
    const session = make(sim.httpUrl, {
      turnDetection: { type: "server_vad", silenceDurationMs: 300 },
      inputTranscription: { model: "gpt-4o-mini-transcribe" },
    })
    await readUntil(session, (e) => e.type === "session_ready")
    pushAsStereo48k(session, concatPcm(tone(600), silence(800)))
    const events = await readUntil(session, (e) => e.type === "response_done")
    const types = new Set(events.map((e) => e.type))
    for (const t of ["input_speech_started", "input_speech_stopped", "response_started", "audio"]) {
      expect(types.has(t as RealtimeSessionEvent["type"])).toBe(true)
    }
    expect(events.find((e) => e.type === "response_done")).toMatchObject({
      status: "completed",
      requestId: undefined,
    })
  })

  it("barges in when the user speaks over the answer: truncated at what was heard", async () => {
    sim = await startSimulator({ scenario: { replies: [{ text: LONG }, { text: "Go on." }] } })
    const session = make(sim.httpUrl, { turnDetection: { type: "server_vad", silenceDurationMs: 300 } })
    await readUntil(session, (e) => e.type === "session_ready")
    session.sendText("Talk to me.")
    session.createResponse()
    let itemId = ""
    let received = 0
    await readUntil(session, (e) => {
      if (e.type === "audio") {
        itemId = e.itemId
        received += e.frame.data.length / 24
      }
      return received >= 600
    })
    session.reportPlayback(itemId, 400)
    pushAsStereo48k(session, concatPcm(tone(500), silence(600)))
    const events = await readUntil(session, (e) => e.type === "interrupted")
    expect(events.at(-1)).toMatchObject({ itemId, audioEndMs: 400 })
  })
})

describe("hostile servers", () => {
  it("fails with a typed error when nothing follows session.created", async () => {
    hostile = await startHostileServer({
      onConnection: (c) => c.send({ type: "session.created", session: { type: "realtime", id: "sess_1" } }),
    })
    const session = make(hostile.httpUrl, {
      reconnect: { maxAttempts: 1, baseDelayMs: 10, jitter: 0 },
      timeouts: { sessionUpdatedMs: 150 },
    })
    const iterate = async () => {
      for await (const _ of session) {
        // drain
      }
    }
    await expect(iterate()).rejects.toMatchObject({
      _tag: "RealtimeError",
      reason: { _tag: "Failed", error: { code: "session_updated_timeout" } },
    })
    await session.done
    expect(hostile.connections).toHaveLength(2)
    expect(session.resources).toEqual({ fibers: 0, timers: 0 })
  })

  it("ignores a response.done of a response it never asked for", async () => {
    hostile = await startHostileServer({
      onConnection: (c) => {
        c.send({ type: "session.created", session: { type: "realtime" } })
        c.onFrame((frame) => {
          if (frame.type === "session.update")
            c.send({ type: "session.updated", session: { type: "realtime" } })
          if (frame.type === "response.create") {
            c.send({
              type: "response.created",
              response: { id: "resp_mine", status: "in_progress", output: [] },
            })
            c.send({
              type: "response.done",
              response: { id: "resp_stranger", status: "completed", output: [] },
            })
            c.send({
              type: "response.output_text.delta",
              response_id: "resp_mine",
              item_id: "item_1",
              output_index: 0,
              content_index: 0,
              delta: "Hi",
            })
            c.send({ type: "response.done", response: { id: "resp_mine", status: "completed", output: [] } })
          }
        })
      },
    })
    const session = make(hostile.httpUrl, { turnDetection: null })
    await readUntil(session, (e) => e.type === "session_ready")
    session.createResponse()
    const events = await readUntil(session, (e) => e.type === "response_done")
    expect(
      events.filter((e) => e.type === "response_done").map((e) => e.type === "response_done" && e.responseId),
    ).toEqual(["resp_mine"])
    expect(events.some((e) => e.type === "text")).toBe(true)
  })

  it("gives up on a response that never gets response.created (named wait), and stays usable", async () => {
    hostile = await startHostileServer({
      onConnection: (c) => {
        c.send({ type: "session.created", session: { type: "realtime" } })
        c.onFrame((frame) => {
          if (frame.type === "session.update")
            c.send({ type: "session.updated", session: { type: "realtime" } })
        })
      },
    })
    const session = make(hostile.httpUrl, { turnDetection: null, timeouts: { createdMs: 100 } })
    await readUntil(session, (e) => e.type === "session_ready")
    session.createResponse()
    const events = await readUntil(session, (e) => e.type === "error")
    expect(events.at(-1)).toMatchObject({ error: { code: "response_stalled" }, fatal: false })
    expect(session.actor.getSnapshot().matches({ online: { streaming: { response: "idle" } } })).toBe(true)
  })
})

describe("teardown", () => {
  const states: [string, (s: RealtimeSession) => Promise<void>][] = [
    ["connecting", async () => undefined],
    ["streaming, idle", async (s) => void (await readUntil(s, (e) => e.type === "session_ready"))],
    [
      "responding",
      async (s) => {
        await readUntil(s, (e) => e.type === "session_ready")
        s.sendText("Talk.")
        s.createResponse()
        await readUntil(s, (e) => e.type === "audio")
      },
    ],
    [
      "cancelling",
      async (s) => {
        await readUntil(s, (e) => e.type === "session_ready")
        s.sendText("Talk.")
        s.createResponse()
        await readUntil(s, (e) => e.type === "audio")
        s.interrupt()
      },
    ],
  ]
  for (const [name, reach] of states) {
    it(`close() in ${name} leaves nothing running`, async () => {
      sim ??= await startSimulator({ scenario: { replies: [{ text: LONG }] } })
      const session = make(sim.httpUrl, { turnDetection: null })
      await reach(session)
      await session.close()
      await session.done
      expect(session.resources).toEqual({ fibers: 0, timers: 0 })
      expect(session.actor.getSnapshot().status).toBe("done")
    })
  }
})
