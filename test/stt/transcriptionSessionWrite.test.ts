/**
 * `write()` and `writable`: audio pushed faster than real time, as fast as the session
 * accepts it, against the simulator on real sockets. The simulator does not understand
 * speech, so each sentence of the recording is tagged by its level: sentence i peaks at
 * `BASE_PEAK + i × PEAK_STEP`, and the scripted transcript of a turn is the sentence whose
 * peak its audio has. A turn made of audio the session dropped cannot name its sentence.
 */
import { afterEach, describe, expect, it } from "vitest"
import { type AudioFrame, decodeWav, encodeWav } from "../../src/audio/index.ts"
import { type Simulator, startSimulator, synthesizeSpeech } from "../../src/simulator/index.ts"
import { isSTTError } from "../../src/stt/retry.ts"
import { createTranscriptionSession } from "../../src/stt/TranscriptionSession.ts"
import { collect, finals, toChannels } from "./transcriptionSessionHelpers.ts"

const RATE_HZ = 48_000
const SENTENCE_MS = 6_000
const BASE_PEAK = 5_000
const PEAK_STEP = 800

const sentence = (i: number): string => `Sentence ${i + 1} tells the session its own words in order.`

/** `count` sentences of the simulated voice, each scaled to its tag level and padded to 6 s, as a 48 kHz stereo WAV. */
const recording = (count: number): Uint8Array => {
  const mono = new Int16Array((count * SENTENCE_MS * RATE_HZ) / 1000)
  for (let i = 0; i < count; i++) {
    const voice = synthesizeSpeech(sentence(i), { sampleRateHz: RATE_HZ, seed: i })
    let peak = 0
    for (const s of voice) peak = Math.max(peak, Math.abs(s))
    const gain = (BASE_PEAK + i * PEAK_STEP) / peak
    const at = (i * SENTENCE_MS * RATE_HZ) / 1000 + RATE_HZ / 2
    for (let k = 0; k < voice.length; k++) mono[at + k] = Math.round((voice[k] ?? 0) * gain)
  }
  return encodeWav({ data: toChannels(mono, 2), sampleRateHz: RATE_HZ, channels: 2 })
}

/** The sentence a turn's audio carries, by its peak level. */
const sentenceOf = (audio: Int16Array): string => {
  let peak = 0
  for (const s of audio) peak = Math.max(peak, Math.abs(s))
  const i = Math.round((peak - BASE_PEAK) / PEAK_STEP)
  return i >= 0 ? sentence(i) : `[no sentence: peak ${peak}]`
}

/** The WAV as 20 ms frames. */
const framesOf = (wav: AudioFrame): AudioFrame[] => {
  const step = (wav.sampleRateHz / 50) * wav.channels
  const frames: AudioFrame[] = []
  for (let i = 0; i < wav.data.length; i += step)
    frames.push({
      data: wav.data.subarray(i, i + step),
      sampleRateHz: wav.sampleRateHz,
      channels: wav.channels,
    })
  return frames
}

let sim: Simulator | undefined

afterEach(async () => {
  await sim?.close()
  sim = undefined
})

const simulator = async (options: { readonly realtimeSessionMaxMs?: number } = {}): Promise<Simulator> => {
  sim = await startSimulator({
    ...options,
    scenario: { transcripts: (request) => sentenceOf(request.audio) },
  })
  return sim
}

describe("TranscriptionSession.write", () => {
  it("transcribes every word of a 3-minute file written as fast as it is accepted", async () => {
    const s = await simulator()
    const wav = decodeWav(recording(30))
    expect(wav.data.length / wav.channels / wav.sampleRateHz).toBe(180)
    const session = createTranscriptionSession({
      openai: { apiKey: "sk-simulator", baseUrl: s.url },
      env: {},
      turnDetection: { type: "server_vad" },
    })
    const done = collect(session)
    const started = performance.now()
    for (const frame of framesOf(wav)) await session.write(frame)
    session.endInput()
    const { events, error } = await done
    expect(error).toBeUndefined()
    expect(finals(events)).toEqual(Array.from({ length: 30 }, (_, i) => sentence(i)))
    expect(events.filter((e) => e.type === "error")).toEqual([])
    expect(session.actor.getSnapshot().context.metrics.droppedMs).toBe(0)
    // Faster than real time: the file did not wait for a clock.
    expect(performance.now() - started).toBeLessThan(180_000)
  }, 120_000)

  it("loses nothing when the connection is replaced while a file is written (writes wait for the new one)", async () => {
    // Every connection lives 150 ms: the minute of audio crosses several reconnects however fast
    // it is accepted (the whole write can take under 400 ms on a quiet machine).
    const s = await simulator({ realtimeSessionMaxMs: 150 })
    const wav = decodeWav(recording(10))
    const session = createTranscriptionSession({
      openai: { apiKey: "sk-simulator", baseUrl: s.url },
      env: {},
      turnDetection: { type: "server_vad" },
      reconnect: { baseDelayMs: 20, jitter: 0, maxAttempts: 100 },
      // On a loaded machine a 150 ms connection can end before a replayed turn's transcript
      // comes back; after the default 4 connections the turn would be given up, reported as
      // `transcription_failed` (turn_attempts_exhausted). That policy is not what this test
      // is about: every turn may be tried on as many connections as it takes.
      maxTurnAttempts: 50,
    })
    const done = collect(session)
    for (const frame of framesOf(wav)) await session.write(frame)
    session.endInput()
    const { events, error } = await done
    expect(error).toBeUndefined()
    expect(events.filter((e) => e.type === "transcription_failed")).toEqual([])
    expect(finals(events)).toEqual(Array.from({ length: 10 }, (_, i) => sentence(i)))
    expect(events.filter((e) => e.type === "error" && e.error.code === "replay_buffer_overflow")).toEqual([])
    expect(session.actor.getSnapshot().context.metrics.reconnects).toBeGreaterThan(0)
  }, 60_000)

  it("writes through the WritableStream, and closing it ends the input", async () => {
    const s = await simulator()
    const wav = decodeWav(recording(3))
    const session = createTranscriptionSession({
      openai: { apiKey: "sk-simulator", baseUrl: s.url },
      env: {},
      turnDetection: { type: "server_vad" },
    })
    const done = collect(session)
    const frames = framesOf(wav)
    await new ReadableStream<AudioFrame>({
      pull(controller) {
        const frame = frames.shift()
        if (frame === undefined) controller.close()
        else controller.enqueue(frame)
      },
    }).pipeTo(session.writable)
    const { events, error } = await done
    expect(error).toBeUndefined()
    expect(finals(events)).toEqual([sentence(0), sentence(1), sentence(2)])
  }, 60_000)

  it("ends the input after writes still waiting, and rejects writes once the session is closed", async () => {
    const s = await simulator()
    const wav = decodeWav(recording(2))
    const session = createTranscriptionSession({
      openai: { apiKey: "sk-simulator", baseUrl: s.url },
      env: {},
      turnDetection: { type: "server_vad" },
    })
    const done = collect(session)
    // Not awaited: the writes queue up before the socket is even open.
    const writes = framesOf(wav).map((frame) => session.write(frame))
    session.endInput()
    await Promise.all(writes)
    const { events } = await done
    expect(finals(events)).toEqual([sentence(0), sentence(1)])
    const late = session.write(framesOf(wav)[0] as AudioFrame)
    await expect(late).rejects.toSatisfy(isSTTError)
  }, 60_000)

  it("rejects queued writes with Closed when the session is closed", async () => {
    const s = await simulator()
    const wav = decodeWav(recording(2))
    const session = createTranscriptionSession({
      openai: { apiKey: "sk-simulator", baseUrl: s.url },
      env: {},
      turnDetection: { type: "server_vad" },
    })
    const writes = framesOf(wav).map((frame) => session.write(frame))
    const settled = Promise.allSettled(writes)
    await session.close()
    const outcomes = await settled
    const rejected = outcomes.filter((o) => o.status === "rejected")
    // Before the socket opened, only about a second of audio is accepted; the rest is refused.
    expect(rejected.length).toBeGreaterThan(0)
    for (const o of rejected) expect(isSTTError(o.reason) && o.reason.reason._tag).toBe("Closed")
    expect(session.resources).toEqual({ fibers: 0, timers: 0 })
  })
})
