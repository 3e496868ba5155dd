/**
 * The turn detection region, by example: one state per mode, chosen from the
 * settings when streaming starts and again on every settings change, and the server's and the
 * user's events read differently in each.
 */
import { describe, expect, it } from "vitest"
import type { TranscriptionSessionInput } from "../../../machines/transcription/transcriptionSession.ts"
import type { TurnDetectionSetting } from "../../../machines/transcription/transcriptionSettings.ts"
import { type Harness, startHarness } from "./transcriptionSessionHarness.ts"

const MS = 24 // samples per millisecond

const withTurns = (turnDetection: TurnDetectionSetting): TranscriptionSessionInput => ({
  settings: { turnDetection },
})

const region = (h: Harness): string | undefined =>
  h.states().find((s) => s.startsWith("online.streaming.turnDetection."))

const commits = (h: Harness) => h.sent("audio.commit")

describe("turn detection region", () => {
  it.each([
    [{ type: "server_vad" } as const, "serverVad"],
    [{ type: "semantic_vad", eagerness: "low" } as const, "semanticVad"],
    ["local" as const, "localVad"],
    [{ type: "local", silenceDurationMs: 300 } as const, "localVad"],
    [null, "manual"],
  ])("streams %j turns in %s", (turnDetection, state) => {
    const h = startHarness(withTurns(turnDetection))
    expect(region(h)).toBeUndefined()
    h.connect()
    expect(region(h)).toBe(`online.streaming.turnDetection.${state}`)
  })

  it("selects again on a settings change at run time, with the audio each mode sends", () => {
    const h = startHarness(withTurns({ type: "server_vad" }))
    h.connect()
    expect(h.sent("audio.live")).toEqual([{ type: "audio.live", fromSample: 0 }])

    h.send({ type: "UPDATE_SETTINGS", settings: { turnDetection: "local" } })
    expect(region(h)).toBe("online.streaming.turnDetection.localVad")
    // Local turns send only speech.
    expect(h.sent("audio.pause")).toHaveLength(1)

    h.send({ type: "UPDATE_SETTINGS", settings: { turnDetection: null } })
    expect(region(h)).toBe("online.streaming.turnDetection.manual")
    // Leaving local turns streams everything from the tail again.
    expect(h.sent("audio.live")).toHaveLength(2)

    h.send({ type: "UPDATE_SETTINGS", settings: { turnDetection: { type: "semantic_vad" } } })
    expect(region(h)).toBe("online.streaming.turnDetection.semanticVad")
    // Every change is sent to the server (after the first configuration).
    const updates = h.sent("send").filter((c) => c.event.type === "session.update")
    expect(updates).toHaveLength(4)
    expect(updates[3]?.event).toMatchObject({
      session: { audio: { input: { turn_detection: { type: "semantic_vad" } } } },
    })

    // A change that keeps the mode stays in it.
    h.send({ type: "UPDATE_SETTINGS", settings: { language: "de" } })
    expect(region(h)).toBe("online.streaming.turnDetection.semanticVad")
  })

  it("keeps the mode state over a reconnect and picks a change made while offline", () => {
    const h = startHarness(withTurns({ type: "server_vad" }))
    h.connect()
    h.send({ type: "SOCKET.FAILED", failure: { code: "close_1006", message: "x", retryable: true }, atMs: 0 })
    expect(region(h)).toBeUndefined()
    h.send({ type: "UPDATE_SETTINGS", settings: { turnDetection: null } })
    h.clock.increment(60_000)
    h.connect()
    expect(region(h)).toBe("online.streaming.turnDetection.manual")
  })

  describe.each([
    ["serverVad", { type: "server_vad" } as const],
    ["semanticVad", { type: "semantic_vad" } as const],
  ])("%s", (_state, turnDetection) => {
    it("makes the turns of the server's speech events and commits", () => {
      const h = startHarness(withTurns(turnDetection))
      h.connect()
      h.send({ type: "SERVER.SPEECH_STARTED", itemId: "a", audioStartMs: 100, atMs: 150 })
      expect(h.states()[0]).toBe("online.streaming.turn.speaking")
      h.send({ type: "SERVER.SPEECH_STOPPED", itemId: "a", audioEndMs: 900, atMs: 950 })
      h.send({ type: "SERVER.COMMITTED", itemId: "a", previousItemId: null, atMs: 960 })
      expect(h.states()[0]).toBe("online.streaming.turn.awaitingTranscript")
      const turn = h.actor.getSnapshot().context.ledger.turns[0]
      expect(turn).toMatchObject({ startSample: 100 * MS, endSample: 900 * MS })
      expect(h.events.map((e) => e.type)).toEqual(["start_of_speech", "end_of_speech"])
      // The session commits nothing itself.
      expect(commits(h)).toEqual([])
    })

    it("asks the server to commit on a flush during speech, and binds the commit to where it asked", () => {
      const h = startHarness(withTurns(turnDetection))
      h.connect()
      // No speech: a flush has nothing to end.
      h.send({ type: "FLUSH", atSample: 200 * MS, atMs: 200 })
      expect(commits(h)).toEqual([])
      h.send({ type: "SERVER.SPEECH_STARTED", itemId: "a", audioStartMs: 100, atMs: 150 })
      h.send({ type: "FLUSH", atSample: 700 * MS, atMs: 700 })
      expect(commits(h)).toEqual([{ type: "audio.commit", atSample: 700 * MS, pause: false }])
      // The server's committed for another item (no stop event): the audio up to the flush.
      h.send({ type: "SERVER.COMMITTED", itemId: "b", previousItemId: null, atMs: 710 })
      const turn = h.actor.getSnapshot().context.ledger.turns[0]
      expect(turn).toMatchObject({ itemId: "b", startSample: 0, endSample: 700 * MS })
      expect(h.actor.getSnapshot().context.tailStartSample).toBe(700 * MS)
    })
  })

  describe("localVad", () => {
    it("commits each utterance the local VAD hears, and a flush during speech", () => {
      const h = startHarness(withTurns("local"))
      h.connect()
      // Between utterances nothing is sent, so a flush ends nothing.
      expect(h.sent("audio.live")).toEqual([])
      h.send({ type: "FLUSH", atSample: 100 * MS, atMs: 100 })
      expect(commits(h)).toEqual([])

      h.send({ type: "AUDIO.SPEECH_STARTED", speechStartSample: 200 * MS, atSample: 300 * MS, atMs: 300 })
      expect(h.sent("audio.live")).toEqual([{ type: "audio.live", fromSample: 200 * MS }])
      expect(h.states()[0]).toBe("online.streaming.turn.speaking")
      h.send({ type: "FLUSH", atSample: 500 * MS, atMs: 500 })
      expect(commits(h)).toEqual([{ type: "audio.commit", atSample: 500 * MS, pause: false }])
      h.send({ type: "AUDIO.SPEECH_STOPPED", speechEndSample: 800 * MS, atSample: 900 * MS, atMs: 900 })
      expect(commits(h)[1]).toEqual({ type: "audio.commit", atSample: 900 * MS, pause: true })
      expect(h.actor.getSnapshot().context.ledger.turns.map((t) => [t.startSample, t.endSample])).toEqual([
        [200 * MS, 500 * MS],
        [500 * MS, 900 * MS],
      ])
      // The server's commits answer the session's own, in order.
      h.send({ type: "SERVER.COMMITTED", itemId: "x", previousItemId: null, atMs: 910 })
      h.send({ type: "SERVER.COMMITTED", itemId: "y", previousItemId: "x", atMs: 920 })
      expect(h.actor.getSnapshot().context.ledger.turns.map((t) => t.itemId)).toEqual(["x", "y"])
    })
  })

  describe("manual", () => {
    it("commits on each flush past the segment start, and only then", () => {
      const h = startHarness(withTurns(null))
      h.connect()
      h.send({ type: "FLUSH", atSample: 0, atMs: 0 })
      expect(commits(h)).toEqual([])
      h.send({ type: "FLUSH", atSample: 400 * MS, atMs: 400 })
      h.send({ type: "FLUSH", atSample: 400 * MS, atMs: 410 })
      expect(commits(h)).toEqual([{ type: "audio.commit", atSample: 400 * MS, pause: false }])
      h.send({ type: "SERVER.COMMITTED", itemId: "m", previousItemId: null, atMs: 420 })
      expect(h.actor.getSnapshot().context.ledger.turns[0]).toMatchObject({
        itemId: "m",
        startSample: 0,
        endSample: 400 * MS,
      })
      expect(h.states()[0]).toBe("online.streaming.turn.awaitingTranscript")
    })

    it("opens a flushed turn while offline and sends it with the next connection's replay", () => {
      const h = startHarness(withTurns(null))
      h.send({ type: "FLUSH", atSample: 300 * MS, atMs: 300 })
      h.connect()
      expect(h.sent("audio.replay")).toEqual([
        { type: "audio.replay", segments: [{ fromSample: 0, toSample: 300 * MS }] },
      ])
    })
  })
})
