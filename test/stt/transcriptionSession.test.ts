import { afterEach, describe, expect, it } from "vitest"
import { isAudioError } from "../../src/audio/index.ts"
import { type Simulator, type SimulatorOptions, startSimulator } from "../../src/simulator/index.ts"
import { isSTTError } from "../../src/stt/retry.ts"
import {
  createTranscriptionSession,
  type TranscriptionSessionOptions,
} from "../../src/stt/TranscriptionSession.ts"
import {
  appendedSamples,
  collect,
  concat,
  eventually,
  finals,
  pushAudio,
  receivedOf,
  silenceAt,
  toneAt,
  transcriptionConnections,
} from "./transcriptionSessionHelpers.ts"

let sim: Simulator | undefined

const simulator = async (options: SimulatorOptions = {}): Promise<Simulator> => {
  sim = await startSimulator(options)
  return sim
}

afterEach(async () => {
  await sim?.close()
  sim = undefined
})

const sessionOn = (s: Simulator, options: TranscriptionSessionOptions = {}) =>
  createTranscriptionSession({ apiKey: "sk-simulator", baseUrl: s.url, env: {}, ...options })

/** Two turns: 1 s and 0.7 s of tone, each followed by enough silence for server VAD. */
const twoTurns = () => concat(silenceAt(300), toneAt(1000), silenceAt(900), toneAt(700), silenceAt(900))

describe("createTranscriptionSession against the simulator", () => {
  it("transcribes each turn with server VAD, interim before final, in order", async () => {
    const s = await simulator({ scenario: { transcripts: ["hello there", "second turn"] } })
    const session = sessionOn(s, { turnDetection: { type: "server_vad", silenceDurationMs: 500 } })
    pushAudio(session, twoTurns())
    session.endInput()
    const { events, error } = await collect(session)
    expect(error).toBeUndefined()
    expect(finals(events)).toEqual(["hello there", "second turn"])
    for (const item of new Set(events.flatMap((e) => (e.type === "final_transcript" ? [e.itemId] : [])))) {
      const ofItem = events.filter((e) => "itemId" in e && e.itemId === item).map((e) => e.type)
      expect(ofItem.indexOf("start_of_speech")).toBeLessThan(ofItem.indexOf("end_of_speech"))
      expect(ofItem.lastIndexOf("interim_transcript")).toBeLessThan(ofItem.indexOf("final_transcript"))
      expect(ofItem.indexOf("final_transcript")).toBeLessThan(ofItem.indexOf("recognition_usage"))
    }
    const update = receivedOf(transcriptionConnections(s)[0], "session.update")[0]?.payload
    expect(update).toMatchObject({
      session: {
        type: "transcription",
        audio: {
          input: { format: { type: "audio/pcm", rate: 24000 }, turn_detection: { type: "server_vad" } },
        },
      },
    })
    await session.done
  })

  it("takes its endpoint as openai: { apiKey, baseUrl } and env, like every constructor", async () => {
    const s = await simulator({ scenario: { transcripts: ["by the convention"] } })
    const session = createTranscriptionSession({
      openai: { apiKey: "sk-simulator", baseUrl: s.url },
      env: { OPENAI_API_KEY: undefined, OPENAI_BASE_URL: "http://127.0.0.1:1/v1" },
      turnDetection: null,
    })
    pushAudio(session, toneAt(400))
    session.endInput()
    const { events, error } = await collect(session)
    expect(error).toBeUndefined()
    expect(finals(events)).toEqual(["by the convention"])
    await session.done
  })

  it("transcribes with semantic VAD", async () => {
    const s = await simulator({ scenario: { transcripts: ["semantic one"] } })
    const session = sessionOn(s, { turnDetection: { type: "semantic_vad", eagerness: "high" } })
    pushAudio(session, concat(silenceAt(200), toneAt(800), silenceAt(900)))
    session.endInput()
    const { events } = await collect(session)
    expect(finals(events)).toEqual(["semantic one"])
    expect(receivedOf(transcriptionConnections(s)[0], "session.update")[0]?.payload).toMatchObject({
      session: { audio: { input: { turn_detection: { type: "semantic_vad", eagerness: "high" } } } },
    })
  })

  it("commits at the local VAD's end of speech with turn_detection null on the wire, sending only speech", async () => {
    const s = await simulator({ scenario: { transcripts: ["local one", "local two"] } })
    const session = sessionOn(s, { turnDetection: { type: "local", minSilenceMs: 300 } })
    const audio = concat(silenceAt(2000), toneAt(800), silenceAt(2000), toneAt(600), silenceAt(1000))
    pushAudio(session, audio)
    session.endInput()
    const { events } = await collect(session)
    expect(finals(events)).toEqual(["local one", "local two"])
    const connection = transcriptionConnections(s)[0]
    expect(receivedOf(connection, "session.update")[0]?.payload).toMatchObject({
      session: { audio: { input: { turn_detection: null } } },
    })
    expect(receivedOf(connection, "input_audio_buffer.commit")).toHaveLength(2)
    // The long silences between turns never went on the wire.
    expect(appendedSamples(connection)).toBeLessThan(audio.length / 2)
    expect(events.filter((e) => e.type === "start_of_speech")).toHaveLength(2)
  })

  it("commits on flush() with manual turn detection", async () => {
    const s = await simulator({ scenario: { transcripts: ["manual one", "manual two"] } })
    const session = sessionOn(s, { turnDetection: null })
    pushAudio(session, toneAt(500))
    session.flush()
    pushAudio(session, toneAt(400))
    session.endInput()
    const { events } = await collect(session)
    expect(finals(events)).toEqual(["manual one", "manual two"])
    expect(receivedOf(transcriptionConnections(s)[0], "input_audio_buffer.commit")).toHaveLength(2)
  })

  it("reports each turn's audio duration, end-of-speech → final latency and tokens, as events and on the actor's context", async () => {
    const s = await simulator({ scenario: { transcripts: ["one two three", "four five"] } })
    const session = sessionOn(s, { turnDetection: null })
    pushAudio(session, toneAt(500))
    session.flush()
    pushAudio(session, toneAt(250))
    session.endInput()
    const { events } = await collect(session)
    const usages = events.flatMap((e) => (e.type === "recognition_usage" ? [e.usage] : []))
    expect(usages.map((u) => u.audioDurationMs)).toEqual([500, 250])
    for (const usage of usages) {
      expect(usage.streamed).toBe(true)
      expect(usage.latencyMs).toBeGreaterThanOrEqual(0)
      expect(usage.inputTokens).toBeGreaterThan(0)
      expect(usage.outputTokens).toBeGreaterThan(0)
      expect(usage.totalTokens).toBe((usage.inputTokens ?? 0) + (usage.outputTokens ?? 0))
    }
    const metrics = session.actor.getSnapshot().context.metrics
    expect(metrics).toMatchObject({
      finalTurns: 2,
      failedTurns: 0,
      audioMs: 750,
      totalTokens: usages.reduce((n, u) => n + (u.totalTokens ?? 0), 0),
      inputTokens: usages.reduce((n, u) => n + (u.inputTokens ?? 0), 0),
    })
    expect(metrics.latenciesMs).toEqual(usages.map((u) => u.latencyMs))
  })

  it("resamples 48 kHz stereo to 24 kHz mono and declares exactly that", async () => {
    const s = await simulator({ scenario: { transcripts: (request) => `${request.audio.length} samples` } })
    const session = sessionOn(s, { turnDetection: null })
    pushAudio(session, toneAt(1000, 48_000), { rateHz: 48_000, channels: 2 })
    session.endInput()
    const { events } = await collect(session)
    const connection = transcriptionConnections(s)[0]
    const sent = appendedSamples(connection)
    // One second at 24 kHz, give or take the resampler's filter delay.
    expect(Math.abs(sent - 24_000)).toBeLessThan(240)
    expect(finals(events)).toEqual([`${sent} samples`])
  })

  it("keeps a late completion on its own turn and emits finals in conversation order", async () => {
    const s = await simulator({
      scenario: {
        transcripts: [
          { text: "slow first", delayMs: 150 },
          { text: "quick second", delayMs: 0 },
        ],
      },
    })
    const session = sessionOn(s, { turnDetection: null })
    pushAudio(session, toneAt(300))
    session.flush()
    pushAudio(session, toneAt(300))
    session.endInput()
    const { events } = await collect(session)
    const byItem = events.flatMap((e) =>
      e.type === "final_transcript"
        ? [{ itemId: e.itemId, text: e.alternatives[0]?.text, startMs: e.alternatives[0]?.startMs }]
        : [],
    )
    expect(byItem.map((f) => f.text)).toEqual(["slow first", "quick second"])
    expect(byItem[0]?.startMs).toBe(0)
    expect(byItem[1]?.startMs).toBe(300)
    // The quick turn's interim text arrived before the slow turn's final.
    const firstInterimOfSecond = events.findIndex(
      (e) => e.type === "interim_transcript" && e.itemId === byItem[1]?.itemId,
    )
    const finalOfFirst = events.findIndex(
      (e) => e.type === "final_transcript" && e.itemId === byItem[0]?.itemId,
    )
    expect(firstInterimOfSecond).toBeLessThan(finalOfFirst)
  })

  it("reports a failed turn with the error and goes on with the next", async () => {
    const s = await simulator({
      scenario: {
        transcripts: [
          { text: "", fail: { code: "audio_unintelligible", message: "could not transcribe" } },
          "after failure",
        ],
      },
    })
    const session = sessionOn(s, { turnDetection: null })
    pushAudio(session, toneAt(300))
    session.flush()
    pushAudio(session, toneAt(300))
    session.endInput()
    const { events, error } = await collect(session)
    expect(error).toBeUndefined()
    expect(events.find((e) => e.type === "transcription_failed")).toMatchObject({
      error: { code: "audio_unintelligible", message: "could not transcribe", retryable: false },
    })
    expect(finals(events)).toEqual(["after failure"])
    expect(session.actor.getSnapshot().context.metrics).toMatchObject({ finalTurns: 1, failedTurns: 1 })
  })

  it("sends a settings update mid-stream as a session.update and applies it to later turns", async () => {
    const s = await simulator({ scenario: { transcripts: ["before", "after"] } })
    const session = sessionOn(s, { turnDetection: null, includeLogprobs: false })
    await eventually(() => session.actor.getSnapshot().matches({ online: "streaming" }))
    pushAudio(session, toneAt(300))
    session.flush()
    session.updateSettings({ language: "fr", prompt: "noms propres", includeLogprobs: true })
    pushAudio(session, toneAt(300))
    session.endInput()
    const { events } = await collect(session)
    const updates = receivedOf(transcriptionConnections(s)[0], "session.update").map((e) => e.payload)
    expect(updates).toHaveLength(2)
    expect(updates[1]).toMatchObject({
      session: {
        audio: { input: { transcription: { language: "fr", prompt: "noms propres" } } },
        include: ["item.input_audio_transcription.logprobs"],
      },
    })
    const [first, second] = events.filter((e) => e.type === "final_transcript")
    expect(first?.type === "final_transcript" && first.alternatives[0]?.confidence).toBeUndefined()
    const confidence = second?.type === "final_transcript" ? second.alternatives[0]?.confidence : undefined
    expect(confidence).toBeGreaterThan(0.5)
    expect(confidence).toBeLessThanOrEqual(1)
  })

  it("replays the whole turn after a 1006 close mid-turn, so the final transcript covers all of it", async () => {
    const s = await simulator({ scenario: { transcripts: (request) => `${request.audio.length}` } })
    // The first connection is destroyed after the 20th append: in the middle of the turn.
    s.scenario.nextConnection("transcription", {
      faults: [{ type: "close", code: 1006, afterClientEvents: 20, onType: "input_audio_buffer.append" }],
    })
    const session = sessionOn(s, { turnDetection: null, reconnect: { baseDelayMs: 5, jitter: 0 } })
    const turn = toneAt(2000)
    const done = collect(session)
    // Real-time pacing, so the close happens while the turn is still being spoken.
    for (let i = 0; i < turn.length; i += 960) {
      session.pushFrame({ data: turn.subarray(i, i + 960), sampleRateHz: 24_000, channels: 1 })
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    session.endInput()
    const { events, error } = await done
    expect(error).toBeUndefined()
    const [first, second] = transcriptionConnections(s)
    expect(first?.closeCode).toBe(1006)
    expect(events.some((e) => e.type === "reconnected")).toBe(true)
    // The new connection received the turn from its first sample: the replay.
    expect(appendedSamples(second)).toBe(turn.length)
    const first20 = receivedOf(second, "input_audio_buffer.append")[0]?.payload as { audio: string }
    expect(Buffer.from(first20.audio, "base64").readInt16LE(2)).toBe(turn[1])
    expect(finals(events)).toEqual([String(turn.length)])
  })

  it("reconnects after session_expired and still delivers the turn", async () => {
    // Every connection lives 300 ms: the turn pending at an expiry is replayed on the next one.
    const s = await simulator({
      realtimeSessionMaxMs: 300,
      scenario: { transcripts: () => "survived expiry" },
    })
    const session = sessionOn(s, { turnDetection: null, reconnect: { baseDelayMs: 5, jitter: 0 } })
    const done = collect(session)
    await eventually(() => session.actor.getSnapshot().context.metrics.reconnects >= 1)
    pushAudio(session, toneAt(300))
    session.endInput()
    const { events, error } = await done
    expect(error).toBeUndefined()
    expect(finals(events)).toEqual(["survived expiry"])
    expect(events.some((e) => e.type === "error" && !e.fatal && e.error.code === "session_expired")).toBe(
      true,
    )
    expect(transcriptionConnections(s).length).toBeGreaterThanOrEqual(2)
  })

  it("reports a replay buffer overflow without ending the session", async () => {
    const s = await simulator({ scenario: { transcripts: (request) => `${request.audio.length}` } })
    const session = sessionOn(s, { turnDetection: null, replayBufferMs: 500 })
    await eventually(() => session.actor.getSnapshot().matches({ online: "streaming" }))
    pushAudio(session, toneAt(1500))
    session.endInput()
    const { events, error } = await collect(session)
    expect(error).toBeUndefined()
    const overflow = events.find((e) => e.type === "error" && e.error.code === "replay_buffer_overflow")
    expect(overflow).toMatchObject({ fatal: false })
    // The audio had already been sent live: the turn is whole on the server.
    expect(finals(events)).toEqual([String(1500 * 24)])
    expect(session.actor.getSnapshot().context.metrics.droppedMs).toBeGreaterThan(0)
  })

  it("fails at once on a 401 with a fatal error event and no retry", async () => {
    const s = await simulator()
    const session = sessionOn(s, { apiKey: "sk-wrong", turnDetection: null })
    const { events, error } = await collect(session)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      type: "error",
      fatal: true,
      error: { code: "http_401", retryable: false },
    })
    expect(isSTTError(error) && error.reason._tag).toBe("Failed")
    expect(s.connections).toHaveLength(1)
    await session.done
    expect(session.resources).toEqual({ fibers: 0, timers: 0 })
  })

  it("completes every read of two iterators reading at once, none is left pending", async () => {
    const s = await simulator()
    const session = sessionOn(s, { apiKey: "sk-wrong", turnDetection: null })
    const first = session[Symbol.asyncIterator]()
    const second = session[Symbol.asyncIterator]()
    const [a, b] = await Promise.allSettled([first.next(), second.next()])
    // The fatal error event goes to the first read, the error that ends the session to the second.
    expect(a).toMatchObject({ status: "fulfilled", value: { done: false, value: { type: "error" } } })
    expect(b.status === "rejected" && isSTTError(b.reason) && b.reason.reason._tag).toBe("Failed")
    await expect(first.next()).resolves.toEqual({ value: undefined, done: true })
  })

  it("fails at once when the server disables the beta shape, with no retry", async () => {
    const s = await simulator()
    const session = sessionOn(s, { schema: "beta", turnDetection: null })
    const { events, error } = await collect(session)
    expect(events.at(-1)).toMatchObject({
      type: "error",
      fatal: true,
      error: { code: "beta_api_shape_disabled" },
    })
    expect(isSTTError(error)).toBe(true)
    expect(transcriptionConnections(s)).toHaveLength(1)
  })

  it("speaks the beta shape to a beta server: transcription_session.update with pcm16", async () => {
    const s = await simulator({ beta: true, scenario: { transcripts: ["beta works"] } })
    const session = sessionOn(s, { schema: "beta", turnDetection: null })
    pushAudio(session, toneAt(300))
    session.endInput()
    const { events } = await collect(session)
    expect(finals(events)).toEqual(["beta works"])
    expect(
      receivedOf(transcriptionConnections(s)[0], "transcription_session.update")[0]?.payload,
    ).toMatchObject({
      session: { input_audio_format: "pcm16" },
    })
  })
})

describe("createTranscriptionSession input errors", () => {
  it("refuses to start without an API key", () => {
    expect(() => createTranscriptionSession({ env: {} })).toThrow(
      expect.objectContaining({ _tag: "OpenAIConfigError", reason: "MissingApiKey" }),
    )
  })

  it("rejects an odd number of PCM16 bytes, a rate change and a push after endInput", async () => {
    const s = await simulator()
    const session = sessionOn(s, { turnDetection: null })
    const reasonOf = (f: () => void): string | undefined => {
      try {
        f()
      } catch (error) {
        if (isAudioError(error)) return error.reason
        if (isSTTError(error)) return error.reason._tag
        throw error
      }
      return undefined
    }
    expect(reasonOf(() => session.pushPcm16(new Uint8Array(3), 16_000))).toBe("OddByteLength")
    expect(
      reasonOf(() => session.pushFrame({ data: new Int16Array(160), sampleRateHz: 16_000, channels: 1 })),
    ).toBeUndefined()
    expect(
      reasonOf(() => session.pushFrame({ data: new Int16Array(441), sampleRateHz: 44_100, channels: 1 })),
    ).toBe("FormatChanged")
    expect(
      reasonOf(() => session.pushFrame({ data: new Int16Array(3), sampleRateHz: 16_000, channels: 2 })),
    ).toBe("ChannelMismatch")
    session.endInput()
    expect(
      reasonOf(() => session.pushFrame({ data: new Int16Array(160), sampleRateHz: 16_000, channels: 1 })),
    ).toBe("InputEnded")
    expect(reasonOf(() => session.flush())).toBe("InputEnded")
    await session.close()
    expect(
      reasonOf(() => session.pushFrame({ data: new Int16Array(160), sampleRateHz: 16_000, channels: 1 })),
    ).toBe("Closed")
  })
})
