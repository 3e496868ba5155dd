/**
 * The streaming session's turn detection region: one state per mode, chosen from the
 * settings on entry and again on every settings update, each handling the user's and the
 * local VAD's events its own way; and the server's events as transitions of the turn region.
 */
import { describe, expect, it } from "vitest"
import {
  type TurnDetectionState,
  turnDetectionStateOf,
} from "../../../machines/transcription/transcriptionSession.ts"
import type { TurnDetectionSetting } from "../../../machines/transcription/transcriptionSettings.ts"
import { startHarness } from "./transcriptionSessionHarness.ts"

const region = (states: readonly string[], name: string): string | undefined =>
  states.find((s) => s.startsWith(`online.streaming.${name}.`))?.replace(`online.streaming.${name}.`, "")

const cases: readonly [TurnDetectionSetting, TurnDetectionState][] = [
  [{ type: "server_vad" }, "serverVad"],
  [{ type: "semantic_vad", eagerness: "high" }, "semanticVad"],
  ["local", "localVad"],
  [{ type: "local", minSilenceMs: 300 }, "localVad"],
  [null, "manual"],
]

describe("turn detection region", () => {
  for (const [turnDetection, state] of cases) {
    it(`selects ${state} for ${JSON.stringify(turnDetection)} once streaming`, () => {
      expect(
        turnDetectionStateOf({ model: "m", turnDetection, noiseReduction: null, includeLogprobs: false }),
      ).toBe(state)
      const h = startHarness({ settings: { turnDetection } })
      expect(region(h.states(), "turnDetection")).toBeUndefined()
      h.connect()
      expect(region(h.states(), "turnDetection")).toBe(state)
    })
  }

  it("selects again on a settings update: into local VAD pauses streaming, out of it resumes from the tail", () => {
    const h = startHarness({ settings: { turnDetection: { type: "server_vad" } } })
    h.connect()
    h.send({ type: "UPDATE_SETTINGS", settings: { turnDetection: "local" } })
    expect(region(h.states(), "turnDetection")).toBe("localVad")
    expect(h.sent("audio.pause")).toHaveLength(1)
    expect(h.sent("send").at(-1)?.event).toMatchObject({
      session: { audio: { input: { turn_detection: null } } },
    })
    // Local speech starts a turn that streams from its start; its end commits it.
    h.send({ type: "AUDIO.SPEECH_STARTED", speechStartSample: 4_800, atSample: 9_600, atMs: 400 })
    expect(h.sent("audio.live").at(-1)).toEqual({ type: "audio.live", fromSample: 4_800 })
    h.send({ type: "AUDIO.SPEECH_STOPPED", speechEndSample: 24_000, atSample: 28_800, atMs: 1_200 })
    expect(h.sent("audio.commit").at(-1)).toEqual({ type: "audio.commit", atSample: 28_800, pause: true })
    h.send({ type: "UPDATE_SETTINGS", settings: { turnDetection: null } })
    expect(region(h.states(), "turnDetection")).toBe("manual")
    expect(h.sent("audio.live").at(-1)).toEqual({ type: "audio.live", fromSample: 28_800 })
    // Manual turns: a flush commits everything since the last turn.
    h.send({ type: "FLUSH", atSample: 48_000, atMs: 2_000 })
    expect(h.sent("audio.commit").at(-1)).toEqual({ type: "audio.commit", atSample: 48_000, pause: false })
    expect(h.actor.getSnapshot().context.tailStartSample).toBe(48_000)
  })

  it("does not pause or resume when a settings update keeps the mode's way of streaming", () => {
    const h = startHarness({ settings: { turnDetection: { type: "server_vad" } } })
    h.connect()
    const live = h.sent("audio.live").length
    h.send({ type: "UPDATE_SETTINGS", settings: { turnDetection: { type: "semantic_vad" } } })
    expect(region(h.states(), "turnDetection")).toBe("semanticVad")
    h.send({ type: "UPDATE_SETTINGS", settings: { turnDetection: null } })
    expect(region(h.states(), "turnDetection")).toBe("manual")
    expect(h.sent("audio.pause")).toEqual([])
    expect(h.sent("audio.live")).toHaveLength(live)
  })

  it("under semantic VAD, a flush asks the server to commit only while speech is in progress", () => {
    const h = startHarness({ settings: { turnDetection: { type: "semantic_vad" } } })
    h.connect()
    h.send({ type: "FLUSH", atSample: 4_800, atMs: 200 })
    expect(h.sent("audio.commit")).toEqual([])
    h.send({ type: "SERVER.SPEECH_STARTED", itemId: "a", audioStartMs: 100, atMs: 300 })
    h.send({ type: "FLUSH", atSample: 9_600, atMs: 400 })
    expect(h.sent("audio.commit")).toEqual([{ type: "audio.commit", atSample: 9_600, pause: false }])
    expect(h.actor.getSnapshot().context.serverCommitSample).toBe(9_600)
    // The server owns the turn: no client turn is opened for it.
    expect(h.actor.getSnapshot().context.ledger.turns).toEqual([])
  })

  it("forgets a commit asked of the server once the server no longer owns turns", () => {
    const h = startHarness({ settings: { turnDetection: { type: "server_vad" } } })
    h.connect()
    h.send({ type: "SERVER.SPEECH_STARTED", itemId: "a", audioStartMs: 0, atMs: 0 })
    h.send({ type: "FLUSH", atSample: 9_600, atMs: 400 })
    expect(h.actor.getSnapshot().context.serverCommitSample).toBe(9_600)
    h.send({ type: "UPDATE_SETTINGS", settings: { turnDetection: null } })
    expect(h.actor.getSnapshot().context.serverCommitSample).toBeUndefined()
  })

  it("counts speech only the local VAD heard as owed under server VAD, not when the server heard it too", () => {
    const h = startHarness({ settings: { turnDetection: { type: "server_vad" } } })
    h.connect()
    h.send({ type: "AUDIO.SPEECH_STARTED", speechStartSample: 2_400, atSample: 7_200, atMs: 300 })
    h.send({ type: "AUDIO.SPEECH_STOPPED", speechEndSample: 24_000, atSample: 28_800, atMs: 1_200 })
    expect(h.actor.getSnapshot().context).toMatchObject({ vadEventOwed: true, owedSpeechStartSample: 2_400 })
    const heard = startHarness({ settings: { turnDetection: { type: "server_vad" } } })
    heard.connect()
    heard.send({ type: "AUDIO.SPEECH_STARTED", speechStartSample: 2_400, atSample: 7_200, atMs: 300 })
    heard.send({ type: "SERVER.SPEECH_STARTED", itemId: "a", audioStartMs: 100, atMs: 300 })
    heard.send({ type: "AUDIO.SPEECH_STOPPED", speechEndSample: 24_000, atSample: 28_800, atMs: 1_200 })
    expect(heard.actor.getSnapshot().context).toMatchObject({ vadEventOwed: false, localSpeech: undefined })
  })

  it("moves the turn region on the server's events: speech_started, speech_stopped, committed, completed", () => {
    const h = startHarness({ settings: { turnDetection: { type: "server_vad" } } })
    h.connect()
    expect(region(h.states(), "turn")).toBe("listening")
    h.send({ type: "SERVER.SPEECH_STARTED", itemId: "a", audioStartMs: 100, atMs: 100 })
    expect(region(h.states(), "turn")).toBe("speaking")
    h.send({ type: "SERVER.SPEECH_STOPPED", itemId: "a", audioEndMs: 900, atMs: 900 })
    // Speech ended but nothing is committed yet: nothing is pending, so the turn region is back to listening.
    expect(region(h.states(), "turn")).toBe("listening")
    h.send({ type: "SERVER.COMMITTED", itemId: "a", previousItemId: null, atMs: 950 })
    expect(region(h.states(), "turn")).toBe("awaitingTranscript")
    h.send({
      type: "SERVER.TRANSCRIPT_COMPLETED",
      itemId: "a",
      transcript: "hello",
      logprobs: undefined,
      languages: undefined,
      usage: undefined,
      atMs: 1_000,
    })
    expect(region(h.states(), "turn")).toBe("listening")
    expect(h.events.map((e) => e.type)).toEqual([
      "start_of_speech",
      "end_of_speech",
      "final_transcript",
      "recognition_usage",
    ])
  })
})
