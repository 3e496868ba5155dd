import { describe, expect, it } from "vitest"
import { planReplay } from "../../machines/transcription/replayPlan.ts"
import {
  DEFAULT_TRANSCRIPTION_SETTINGS,
  mergeSettings,
  sessionUpdateOf,
} from "../../machines/transcription/transcriptionSettings.ts"
import {
  applyCompleted,
  applyDelta,
  applyFailed,
  bindCommitted,
  confidenceOf,
  deltasAreCumulative,
  dropEmptyCommit,
  emptyLedger,
  failPending,
  type LedgerOptions,
  openClientTurn,
  type TurnLedger,
  unbindPending,
} from "../../machines/transcription/transcripts.ts"
import { createAudioInput, type InputVadEvent } from "../../src/stt/audioInput.ts"
import { createReplayBuffer } from "../../src/stt/replayBuffer.ts"
import { concat, silenceAt, toneAt } from "./transcriptionSessionHelpers.ts"

const options: LedgerOptions = {
  cumulativeDeltas: false,
  includeLogprobs: false,
  language: undefined,
  finalOrder: "conversation",
}

const span = (startSample: number, endSample: number) => ({ startSample, endSample, endOfSpeechAtMs: 0 })
const committed = (ledger: TurnLedger, itemId: string, previousItemId: string | null, s = span(0, 0)) =>
  bindCommitted(ledger, { itemId, previousItemId }, s, s)
const done = (itemId: string, transcript: string) => ({
  itemId,
  transcript,
  logprobs: undefined,
  languages: undefined,
  usage: undefined,
})

describe("the turn ledger", () => {
  it("appends incremental deltas and replaces cumulative (whisper-1) ones", () => {
    let ledger = committed(emptyLedger, "a", null)
    ledger = applyDelta(ledger, { itemId: "a", delta: "one", logprobs: undefined }, options).ledger
    const step = applyDelta(ledger, { itemId: "a", delta: " two", logprobs: undefined }, options)
    expect(step.events[0]).toMatchObject({ alternatives: [{ text: "one two" }] })
    let whisper = committed(emptyLedger, "w", null)
    whisper = applyDelta(
      whisper,
      { itemId: "w", delta: "one", logprobs: undefined },
      { ...options, cumulativeDeltas: true },
    ).ledger
    const last = applyDelta(
      whisper,
      { itemId: "w", delta: "one two", logprobs: undefined },
      { ...options, cumulativeDeltas: true },
    )
    expect(last.events[0]).toMatchObject({ alternatives: [{ text: "one two" }] })
    expect(deltasAreCumulative("whisper-1")).toBe(true)
    expect(deltasAreCumulative("gpt-4o-transcribe")).toBe(false)
  })

  it("places a server turn after its previous item, even when that item is not the last", () => {
    let ledger = committed(emptyLedger, "a", null)
    ledger = committed(ledger, "c", "a")
    ledger = committed(ledger, "b", "a")
    expect(ledger.turns.map((t) => t.itemId)).toEqual(["a", "b", "c"])
  })

  it("binds client commits to committed events in order and drops an empty one", () => {
    let ledger = openClientTurn(emptyLedger, span(0, 100))
    ledger = openClientTurn(ledger, span(100, 200))
    ledger = openClientTurn(ledger, span(200, 300))
    ledger = bindCommitted(ledger, { itemId: "x", previousItemId: null }, undefined, span(0, 0))
    ledger = dropEmptyCommit(ledger, options).ledger
    ledger = bindCommitted(ledger, { itemId: "z", previousItemId: "x" }, undefined, span(0, 0))
    expect(ledger.turns.map((t) => [t.itemId, t.startSample])).toEqual([
      ["x", 0],
      ["z", 200],
    ])
  })

  it("binds by previous_item_id: a lost committed is inferred instead of shifting later turns", () => {
    let ledger = openClientTurn(emptyLedger, span(0, 100))
    ledger = openClientTurn(ledger, span(100, 200))
    ledger = openClientTurn(ledger, span(200, 300))
    // The committed of "x" never arrived; "y" names it as its previous item.
    ledger = bindCommitted(ledger, { itemId: "y", previousItemId: "x" }, undefined, span(0, 0))
    ledger = bindCommitted(ledger, { itemId: "z", previousItemId: "y" }, undefined, span(0, 0))
    expect(ledger.turns.map((t) => [t.itemId, t.startSample])).toEqual([
      ["x", 0],
      ["y", 100],
      ["z", 200],
    ])
  })

  it("opens an unsolicited turn for a commit nobody asked for, which holds no final back", () => {
    let ledger = bindCommitted(emptyLedger, { itemId: "stray", previousItemId: null }, undefined, span(0, 0))
    ledger = openClientTurn(ledger, span(0, 100))
    ledger = bindCommitted(ledger, { itemId: "a", previousItemId: "stray" }, undefined, span(0, 0))
    expect(ledger.turns.map((t) => [t.itemId, t.unsolicited])).toEqual([
      ["stray", true],
      ["a", false],
    ])
    const step = applyCompleted(ledger, done("a", "real"), 0, options)
    expect(step.events.map((e) => e.type)).toEqual(["final_transcript", "recognition_usage"])
  })

  it("holds a later final until the earlier turn ends, then emits both in order", () => {
    let ledger = committed(emptyLedger, "a", null)
    ledger = committed(ledger, "b", "a")
    const early = applyCompleted(ledger, done("b", "second"), 0, options)
    expect(early.events).toEqual([])
    const late = applyFailed(early.ledger, { itemId: "a", code: "x", message: "m" }, options)
    expect(late.events.map((e) => e.type)).toEqual([
      "transcription_failed",
      "final_transcript",
      "recognition_usage",
    ])
    expect(late.ledger.turns).toEqual([])
  })

  it("computes confidence as the mean of exp(logprob), only when asked", () => {
    expect(confidenceOf([{ logprob: Math.log(0.2) }, { logprob: Math.log(0.6) }])).toBeCloseTo(0.4)
    expect(confidenceOf([])).toBeUndefined()
    const ledger = committed(emptyLedger, "a", null)
    const withLogprobs = { ...done("a", "x"), logprobs: [{ logprob: Math.log(0.5) }] }
    const asked = applyCompleted(ledger, withLogprobs, 0, { ...options, includeLogprobs: true })
    const notAsked = applyCompleted(ledger, withLogprobs, 0, options)
    expect(asked.events[0]).toMatchObject({ alternatives: [{ confidence: 0.5 }] })
    expect(
      notAsked.events[0]?.type === "final_transcript" &&
        "confidence" in (notAsked.events[0].alternatives[0] ?? {}),
    ).toBe(false)
  })

  it("reports usage in tokens or billed seconds with the end-of-speech latency", () => {
    const ledger = bindCommitted(
      emptyLedger,
      { itemId: "a", previousItemId: null },
      { startSample: 0, endSample: 24_000, endOfSpeechAtMs: 100 },
      span(0, 0),
    )
    const tokens = applyCompleted(
      ledger,
      { ...done("a", "x"), usage: { type: "tokens", input_tokens: 1, output_tokens: 2, total_tokens: 3 } },
      350,
      options,
    )
    expect(tokens.events[1]).toEqual({
      type: "recognition_usage",
      itemId: "a",
      usage: {
        audioDurationMs: 1000,
        latencyMs: 250,
        inputTokens: 1,
        outputTokens: 2,
        totalTokens: 3,
        streamed: true,
      },
    })
    const seconds = applyCompleted(
      ledger,
      { ...done("a", "x"), usage: { type: "duration", seconds: 1.2 } },
      100,
      options,
    )
    expect(seconds.events[1]).toMatchObject({ usage: { billedSeconds: 1.2, latencyMs: 0 } })
  })

  it("fails every pending turn with its partial text and forgets item ids for a replay", () => {
    let ledger = committed(emptyLedger, "a", null)
    ledger = applyDelta(ledger, { itemId: "a", delta: "half", logprobs: undefined }, options).ledger
    ledger = openClientTurn(ledger, span(10, 20))
    expect(unbindPending(ledger).turns.map((t) => [t.itemId, t.text])).toEqual([
      [undefined, ""],
      [undefined, ""],
    ])
    const failed = failPending(ledger, { code: "drain_timeout", message: "m", retryable: false }, options)
    expect(failed.events).toEqual([
      {
        type: "transcription_failed",
        itemId: "a",
        partial: "half",
        error: { code: "drain_timeout", message: "m", retryable: false },
      },
      {
        type: "transcription_failed",
        itemId: "turn-2",
        partial: "",
        error: { code: "drain_timeout", message: "m", retryable: false },
      },
    ])
  })
})

describe("the replay buffer", () => {
  it("addresses samples on the session timeline across wraps and growth", () => {
    const buffer = createReplayBuffer({ capacitySamples: 10, initialSamples: 2 })
    const all = Int16Array.from({ length: 25 }, (_, i) => i)
    for (let i = 0; i < 25; i += 3) buffer.push(all.subarray(i, i + 3))
    expect([buffer.startSample, buffer.endSample]).toEqual([15, 25])
    expect([...buffer.view(15, 25)]).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24])
    buffer.release(20)
    buffer.push(Int16Array.of(25, 26))
    expect([...buffer.view(20, 27)]).toEqual([20, 21, 22, 23, 24, 25, 26])
    expect(() => buffer.view(10, 12)).toThrow(RangeError)
  })

  it("reports how many samples an overflow dropped", () => {
    const buffer = createReplayBuffer({ capacitySamples: 4 })
    expect(buffer.push(Int16Array.of(1, 2, 3)).droppedSamples).toBe(0)
    expect(buffer.push(Int16Array.of(4, 5, 6)).droppedSamples).toBe(2)
    expect(buffer.push(Int16Array.from({ length: 9 }, (_, i) => 10 + i)).droppedSamples).toBe(9)
    expect([...buffer.view(buffer.startSample, buffer.endSample)]).toEqual([15, 16, 17, 18])
  })
})

describe("planReplay", () => {
  it("replays every pending turn as it was, then resumes at the first uncommitted sample", () => {
    let ledger = committed(emptyLedger, "a", null, span(0, 100))
    ledger = committed(ledger, "b", "a", span(150, 300))
    ledger = applyCompleted(ledger, done("b", "done already"), 0, {
      ...options,
      finalOrder: "arrival",
    }).ledger
    const plan = planReplay(ledger, 300, 0)
    expect(plan).toEqual({
      commits: [{ turn: 1, fromSample: 0, toSample: 100 }],
      liveFromSample: 300,
      lostTurns: [],
    })
  })

  it("names turns whose audio the buffer no longer holds", () => {
    const ledger = committed(committed(emptyLedger, "a", null, span(0, 100)), "b", "a", span(100, 200))
    expect(planReplay(ledger, 200, 150)).toEqual({
      commits: [{ turn: 2, fromSample: 150, toSample: 200 }],
      liveFromSample: 200,
      lostTurns: [1],
    })
  })
})

describe("sessionUpdateOf", () => {
  it("declares 24 kHz PCM and maps local turn detection to null", () => {
    const settings = mergeSettings(DEFAULT_TRANSCRIPTION_SETTINGS, {
      turnDetection: "local",
      language: "de",
      noiseReduction: "near_field",
    })
    expect(sessionUpdateOf(settings, "ga")).toEqual({
      type: "session.update",
      session: {
        type: "transcription",
        audio: {
          input: {
            format: { type: "audio/pcm", rate: 24000 },
            transcription: { model: "gpt-4o-transcribe", language: "de" },
            turn_detection: null,
            noise_reduction: { type: "near_field" },
          },
        },
      },
    })
  })

  it("builds the flat beta shape with pcm16 and server VAD parameters in wire names", () => {
    const settings = mergeSettings(DEFAULT_TRANSCRIPTION_SETTINGS, {
      turnDetection: { type: "server_vad", threshold: 0.6, silenceDurationMs: 400 },
      includeLogprobs: true,
    })
    expect(sessionUpdateOf(settings, "beta")).toEqual({
      type: "transcription_session.update",
      session: {
        input_audio_format: "pcm16",
        input_audio_transcription: { model: "gpt-4o-transcribe" },
        turn_detection: { type: "server_vad", threshold: 0.6, silence_duration_ms: 400 },
        input_audio_noise_reduction: null,
        include: ["item.input_audio_transcription.logprobs"],
      },
    })
    expect(sessionUpdateOf(settings, "ga", { turnDetectionOff: true })).toMatchObject({
      session: { audio: { input: { turn_detection: null } } },
    })
  })
})

describe("the audio input pipeline", () => {
  it("converts any format to 24 kHz mono, hears speech, and keeps only what the policy says", () => {
    const input = createAudioInput({ replayBufferMs: 10_000, vad: { minSilenceMs: 200 } })
    const vad: InputVadEvent[] = []
    let notified = 0
    input.listen({ onVad: (e) => vad.push(e), onAudio: () => notified++ })
    const mono16k = concat(silenceAt(500, 16_000), toneAt(500, 16_000), silenceAt(500, 16_000))
    for (let i = 0; i < mono16k.length; i += 320) {
      input.push({ data: mono16k.subarray(i, i + 320), sampleRateHz: 16_000, channels: 1 })
    }
    expect(Math.abs(input.buffer.endSample - 36_000)).toBeLessThan(100)
    expect(vad.map((e) => e.type)).toEqual(["speech_start", "speech_end"])
    const start = vad[0]?.type === "speech_start" ? vad[0].speechStartSample : -1
    expect(Math.abs(start - (500 - 300) * 24)).toBeLessThan(24 * 20)
    expect(notified).toBe(75)
    // A connection has sent everything: the retention alone decides.
    input.holdUnsent(undefined)
    input.setRetention({ fromSample: 30_000, keepSamples: undefined, pinnedSample: 10_000 })
    expect(input.buffer.startSample).toBe(10_000)
    input.setRetention({ fromSample: 0, keepSamples: 2_400, pinnedSample: undefined })
    expect(input.buffer.startSample).toBe(input.buffer.endSample - 2_400)
  })

  it("drains the resampler's tail into the segment being committed and keeps the format", () => {
    const input = createAudioInput({ replayBufferMs: 10_000, vad: null })
    for (let i = 0; i < 25; i++)
      input.push({ data: new Int16Array(960 * 2).fill(1000), sampleRateHz: 48_000, channels: 2 })
    // 0.5 s at 48 kHz is 12 000 samples at 24 kHz; the filter holds some back until drained.
    expect(input.buffer.endSample).toBeLessThan(12_000)
    input.drain()
    expect(input.buffer.endSample).toBe(12_000)
    expect(() => input.push({ data: new Int16Array(882), sampleRateHz: 44_100, channels: 1 })).toThrow(
      /changed/,
    )
    input.push({ data: new Int16Array(960 * 2), sampleRateHz: 48_000, channels: 2 })
    input.end()
    expect(input.buffer.endSample).toBe(12_480)
  })

  it("keeps audio not yet sent whatever the retention says, until the hold moves on", () => {
    const input = createAudioInput({ replayBufferMs: 10_000, vad: null })
    const policy = { fromSample: 0, keepSamples: 2_400, pinnedSample: undefined }
    input.setRetention(policy)
    // The socket has sent up to sample 1 000: an idle trim to the last 100 ms would drop the send queue.
    input.holdUnsent(1_000)
    input.push({ data: new Int16Array(24_000), sampleRateHz: 24_000, channels: 1 })
    expect(input.buffer.startSample).toBe(1_000)
    input.holdUnsent(12_000)
    input.push({ data: new Int16Array(2_400), sampleRateHz: 24_000, channels: 1 })
    expect(input.buffer.startSample).toBe(12_000)
    input.holdUnsent(undefined)
    input.setRetention(policy)
    expect(input.buffer.startSample).toBe(input.buffer.endSample - 2_400)
  })

  it("dates a VAD boundary at the window that decided it, not at the end of a long push", () => {
    const input = createAudioInput({ replayBufferMs: 10_000, vad: { minSilenceMs: 200 } })
    const vad: InputVadEvent[] = []
    input.listen({ onVad: (e) => vad.push(e) })
    // One push: speech 0.5-1.0 s, then 2 s of silence; the end is decided 200 ms into it.
    input.push({
      data: concat(silenceAt(500), toneAt(500), silenceAt(2_000)),
      sampleRateHz: 24_000,
      channels: 1,
    })
    const end = vad.find((e) => e.type === "speech_end")
    expect(end?.type === "speech_end" ? end.speechEndSample : -1).toBe(1_000 * 24)
    expect(end?.atSample).toBe((1_000 + 200) * 24)
    expect(vad.every((e) => e.atSample <= input.buffer.endSample)).toBe(true)
  })

  it("reports an overflow and rejects a format change", () => {
    const input = createAudioInput({ replayBufferMs: 100, vad: null })
    const drops: number[] = []
    input.listen({ onOverflow: (dropped) => drops.push(dropped) })
    input.push({ data: new Int16Array(4800), sampleRateHz: 24_000, channels: 1 })
    expect(drops).toEqual([2400])
    expect(() => input.push({ data: new Int16Array(960), sampleRateHz: 48_000, channels: 1 })).toThrow(
      /changed/,
    )
  })
})
