/**
 * Persist and resume of the transcription session against the simulator: turns without
 * their transcript are sent again from the snapshot's audio and transcribed once; finished
 * turns are not sent again; audio not yet in a turn is kept.
 */
import { afterEach, describe, expect, it } from "vitest"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import type { SpeechEvent } from "../../src/stt/SpeechEvent.ts"
import {
  createTranscriptionSession,
  resumeTranscriptionSession,
  type TranscriptionSession,
  type TranscriptionSessionOptions,
} from "../../src/stt/TranscriptionSession.ts"
import { collect, concat, pushAudio, silenceAt, toneAt } from "../stt/transcriptionSessionHelpers.ts"

let sim: Simulator | undefined
const sessions: TranscriptionSession[] = []

afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close()
  await sim?.close()
  sim = undefined
})

const finalsOf = (events: readonly SpeechEvent[]) =>
  events.flatMap((e) => (e.type === "final_transcript" ? [e.alternatives[0]?.text ?? ""] : []))

const readFinals = async (session: TranscriptionSession, count: number): Promise<string[]> => {
  const seen: SpeechEvent[] = []
  const iterator = session[Symbol.asyncIterator]()
  while (finalsOf(seen).length < count) {
    const next = await iterator.next()
    if (next.done) break
    seen.push(next.value)
  }
  return finalsOf(seen)
}

const options = (s: Simulator, more: TranscriptionSessionOptions = {}): TranscriptionSessionOptions => ({
  openai: { apiKey: s.apiKey ?? "sk-simulator", baseUrl: s.url },
  env: {},
  ...more,
})

const appendedBytes = (s: Simulator, connection: number) =>
  (s.connections.filter((c) => c.kind === "transcription")[connection]?.received ?? [])
    .filter((e) => e.type === "input_audio_buffer.append")
    .reduce((n, e) => n + Buffer.from((e.payload as { audio: string }).audio, "base64").length, 0)

describe("transcription persist and resume", () => {
  it("sends a manual turn still waiting for its transcript again, and transcribes it once", async () => {
    sim = await startSimulator({ scenario: { transcripts: ["first turn", "second turn"] } })
    const first = createTranscriptionSession(options(sim, { turnDetection: null }))
    sessions.push(first)
    pushAudio(first, toneAt(500))
    first.flush()
    expect(await readFinals(first, 1)).toEqual(["first turn"])
    pushAudio(first, toneAt(400))
    first.flush()
    pushAudio(first, silenceAt(100))
    const snapshot = JSON.parse(JSON.stringify(first.persist()))
    await first.close()
    expect(snapshot.data.finals).toBe(1)
    expect(snapshot.data.pendingTurns.length).toBeLessThanOrEqual(1)

    const second = resumeTranscriptionSession(snapshot, options(sim))
    sessions.push(second)
    // Nothing of the finished turn goes out again.
    second.endInput()
    const { events, error } = await collect(second)
    expect(error).toBeUndefined()
    const heard = [...["first turn"], ...finalsOf(events)]
    // The audio after the last flush is kept too, and committed at the end of input.
    expect(heard).toEqual(["first turn", "second turn", "[100 ms of audio]"])
    const pendingBytes = snapshot.data.pendingTurns.reduce(
      (n: number, t: { audio: string }) => n + Buffer.from(t.audio, "base64").length,
      0,
    )
    expect(appendedBytes(sim, 1)).toBe(pendingBytes + Buffer.from(snapshot.data.tail, "base64").length)
    expect(appendedBytes(sim, 1)).toBeLessThan(900 * 48)
  })

  it("resumes a server-VAD session with two turns in the air and hears each once", async () => {
    sim = await startSimulator({ scenario: { transcripts: ["hello there", "second turn"] } })
    const settings = { turnDetection: { type: "server_vad" as const, silenceDurationMs: 500 } }
    const first = createTranscriptionSession(options(sim, settings))
    sessions.push(first)
    pushAudio(first, concat(silenceAt(300), toneAt(800), silenceAt(900), toneAt(600), silenceAt(900)))
    const snapshot = first.persist()
    await first.close()
    const second = resumeTranscriptionSession(JSON.stringify(snapshot), options(sim))
    sessions.push(second)
    second.endInput()
    const { events, error } = await collect(second)
    expect(error).toBeUndefined()
    expect(finalsOf(events)).toEqual(["hello there", "second turn"])
  })
})

describe("transcription persist and resume at every point of a call", () => {
  it("hears each turn exactly once whichever moment the session is moved at", async () => {
    // Each turn is named by its audio (the first tone is louder), not by the order of the
    // simulator's transcriptions: a turn the server transcribed just as the first session closed
    // is transcribed again from the snapshot, and must still be heard once, under its own name.
    const audio = concat(
      silenceAt(300),
      toneAt(800),
      silenceAt(900),
      toneAt(600, 24_000, 0.15),
      silenceAt(900),
    )
    const turnOf = (request: { readonly audio: Int16Array }) => {
      let peak = 0
      for (const s of request.audio) peak = Math.max(peak, Math.abs(s))
      return peak > 7_000 ? "hello there" : peak > 2_000 ? "second turn" : `[${request.audio.length} samples]`
    }
    const chunk = 2_400 // 100 ms at 24 kHz
    const settings = { turnDetection: { type: "server_vad" as const, silenceDurationMs: 500 } }
    for (let cut = 0; cut * chunk <= audio.length; cut += 2) {
      sim = await startSimulator({ scenario: { transcripts: turnOf } })
      const first = createTranscriptionSession(options(sim, settings))
      sessions.push(first)
      const heard: SpeechEvent[] = []
      const reading = (async () => {
        for await (const event of first) heard.push(event)
      })().catch(() => undefined)
      for (let i = 0; i < cut; i++) {
        pushAudio(first, audio.subarray(i * chunk, (i + 1) * chunk))
        await new Promise((resolve) => setTimeout(resolve, 15))
      }
      const snapshot = JSON.parse(JSON.stringify(first.persist()))
      await first.close()
      await reading
      const second = resumeTranscriptionSession(snapshot, options(sim))
      sessions.push(second)
      pushAudio(second, audio.subarray(cut * chunk))
      second.endInput()
      const { events, error } = await collect(second)
      expect(error).toBeUndefined()
      expect([...finalsOf(heard), ...finalsOf(events)], `moved after ${cut * 100} ms`).toEqual([
        "hello there",
        "second turn",
      ])
      await second.close()
      await sim.close()
      sim = undefined
    }
  }, 60_000)
})
