/**
 * The simulator hears what its voice says, on real sockets: Realtime transcription turns
 * (manual and server VAD), the speech-to-speech conversation's input and output, REST
 * /audio/transcriptions, and a TTS → STT round trip through the public clients. Audio cut at
 * 800 ms transcribes to the words said by then; audio without words keeps the script.
 */
import { Buffer } from "node:buffer"
import { afterEach, describe, expect, it } from "vitest"
import {
  type AudioFrame,
  concatPcm16,
  createResampler,
  encodeWav,
  makeAudioFrame,
} from "../../src/audio/index.ts"
import {
  concatPcm,
  heardText,
  type Simulator,
  type SimulatorOptions,
  silence,
  speechDurationMs,
  startSimulator,
  synthesizeSpeech,
  tone,
} from "../../src/simulator/index.ts"
import { createBatchSTT, createTranscriptionSession } from "../../src/stt/index.ts"
import { createTTS } from "../../src/tts/index.ts"
import { AUTH, connect, type TestClient } from "./realtimeTestClient.ts"

let sim: Simulator | undefined
const clients: TestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await sim?.close()
  sim = undefined
})

const open = async (query: string, options: SimulatorOptions = {}) => {
  sim ??= await startSimulator(options)
  const client = await connect(`${sim.url}/realtime?${query}`, AUTH)
  clients.push(client)
  return client
}

const RATE = 24_000
const TEXT = "Please book a table for two at seven tonight."

/** The words of `text` the voice has finished saying by `ms` (each word's voiced end, from the voice's timing). */
const wordsSaidBy = (text: string, ms: number): string => {
  const words = text.split(/\s+/)
  const said: string[] = []
  for (let i = 0; i < words.length; i++) {
    const through = words.slice(0, i + 1).join(" ")
    const gapMs = /[.!?,;:]$/.test(words[i] ?? "") ? 160 : 40
    if (speechDurationMs(through) - gapMs <= ms) said.push(words[i] ?? "")
  }
  return said.join(" ")
}

const cutAt = (samples: Int16Array, ms: number) => samples.subarray(0, Math.round((ms * RATE) / 1000))

describe("the simulator transcribes the words its voice carries", () => {
  it("a manual turn cut at 800 ms: the words said in those 800 ms, and no scripted line taken", async () => {
    const expected = wordsSaidBy(TEXT, 800)
    expect(expected).toBe("Please book a")
    const client = await open("intent=transcription", { scenario: { transcripts: ["scripted line"] } })
    await client.next("session.created")
    client.send({
      type: "session.update",
      session: { type: "transcription", audio: { input: { turn_detection: null } } },
    })
    await client.next("session.updated")
    client.appendAudio(cutAt(synthesizeSpeech(TEXT), 800))
    client.send({ type: "input_audio_buffer.commit" })
    const completed = await client.next("conversation.item.input_audio_transcription.completed")
    expect(completed.transcript).toBe(expected)
    // Audio that carries no words still gets the script.
    client.appendAudio(tone(500))
    client.send({ type: "input_audio_buffer.commit" })
    const scripted = await client.next("conversation.item.input_audio_transcription.completed")
    expect(scripted.transcript).toBe("scripted line")
  })

  it("server VAD turns in the voice: each turn its own words", async () => {
    const first = "Hello there."
    const second = "Is the shop open on Sunday?"
    const client = await open("intent=transcription")
    await client.next("session.created")
    client.appendAudio(
      concatPcm(silence(300), synthesizeSpeech(first), silence(800), synthesizeSpeech(second), silence(800)),
      20,
    )
    const one = await client.next("conversation.item.input_audio_transcription.completed")
    const two = await client.next("conversation.item.input_audio_transcription.completed")
    expect([one.transcript, two.transcript]).toEqual([first, second])
  })

  it("the conversation hears the caller's words and answers in a voice that carries its own", async () => {
    const client = await open("model=gpt-realtime")
    await client.next("session.created")
    client.send({
      type: "session.update",
      session: { type: "realtime", audio: { input: { transcription: { model: "gpt-4o-transcribe" } } } },
    })
    await client.next("session.updated")
    client.appendAudio(concatPcm(silence(200), synthesizeSpeech("What time is it?"), silence(800)), 20)
    const completed = await client.next("conversation.item.input_audio_transcription.completed")
    expect(completed.transcript).toBe("What time is it?")
    await client.next("response.done")
    const reply = concatPcm16(
      client.all("response.output_audio.delta").map((e) => {
        const bytes = Buffer.from(e.delta as string, "base64")
        return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2)
      }),
    )
    // The fallback reply echoes what the model heard; its audio says so.
    expect(heardText(reply, RATE)).toBe("You said: What time is it?")
  })

  it("REST /audio/transcriptions of a 16 kHz WAV cut at 800 ms", async () => {
    sim = await startSimulator({ scenario: { transcripts: ["scripted line"] } })
    const down = createResampler({ fromHz: RATE, toHz: 16_000 })
    const cut = cutAt(synthesizeSpeech(TEXT), 800)
    const wav = encodeWav(makeAudioFrame(concatPcm16([down.push(cut), down.flush()]), 16_000, 1))
    const form = new FormData()
    form.append("model", "gpt-4o-transcribe")
    form.append("file", new Blob([wav], { type: "audio/wav" }), "cut.wav")
    const response = await fetch(`${sim.httpUrl}/audio/transcriptions`, {
      method: "POST",
      headers: AUTH,
      body: form,
    })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { text: string }).text).toBe(wordsSaidBy(TEXT, 800))
  })

  it("REST verbose_json times each heard word where it was spoken", async () => {
    sim = await startSimulator()
    const text = "Meet me at noon, by the old bridge."
    const lead = 700
    const audio = concatPcm(silence(lead), synthesizeSpeech(text), silence(300))
    const form = new FormData()
    form.append("model", "whisper-1")
    form.append("response_format", "verbose_json")
    form.append("timestamp_granularities[]", "word")
    form.append("file", new Blob([encodeWav(makeAudioFrame(audio, RATE, 1))], { type: "audio/wav" }), "a.wav")
    const response = await fetch(`${sim.httpUrl}/audio/transcriptions`, {
      method: "POST",
      headers: AUTH,
      body: form,
    })
    const body = (await response.json()) as {
      text: string
      words: { word: string; start: number; end: number }[]
    }
    expect(body.text).toBe(text)
    const words = text.split(" ")
    expect(body.words.map((w) => w.word)).toEqual(words)
    // Each word starts where the voice says it: after the words before it and their pauses.
    body.words.forEach((w, i) => {
      const before = i === 0 ? 0 : speechDurationMs(words.slice(0, i).join(" "))
      expect(Math.abs(w.start * 1000 - (lead + before))).toBeLessThan(3)
      expect(w.end).toBeGreaterThan(w.start)
    })
  })
})

describe("one agent's TTS into another's STT", () => {
  const speak = async (s: Simulator, text: string): Promise<AudioFrame[]> => {
    const tts = createTTS({ openai: { apiKey: "sk-simulator", baseUrl: s.httpUrl }, env: {} })
    const frames: AudioFrame[] = []
    try {
      for await (const event of tts.synthesize(text)) if (event.type === "audio") frames.push(event.frame)
    } finally {
      await tts.close()
    }
    return frames
  }

  it("round-trips through /audio/speech and the streaming transcription session", async () => {
    sim = await startSimulator({ scenario: { transcripts: ["not this"] } })
    const frames = await speak(sim, TEXT)
    const session = createTranscriptionSession({
      openai: { apiKey: "sk-simulator", baseUrl: sim.url },
      env: {},
      turnDetection: { type: "server_vad", silenceDurationMs: 500 },
    })
    for (const frame of frames) session.pushFrame(frame)
    session.pushFrame(makeAudioFrame(new Int16Array(RATE), RATE, 1))
    const finals: string[] = []
    for await (const event of session) {
      if (event.type === "final_transcript") {
        finals.push(event.alternatives[0]?.text ?? "")
        break
      }
    }
    await session.close()
    expect(finals).toEqual([TEXT])
  })

  it("round-trips through /audio/speech and batch /audio/transcriptions at 16 kHz", async () => {
    sim = await startSimulator()
    const frames = await speak(sim, TEXT)
    const stt = createBatchSTT({ openai: { apiKey: "sk-simulator", baseUrl: sim.httpUrl }, env: {} })
    try {
      const down = createResampler({ fromHz: RATE, toHz: 16_000 })
      const at16k = concatPcm16([...frames.map((f) => down.push(f.data)), down.flush()])
      const result = await stt.recognize(makeAudioFrame(at16k, 16_000, 1))
      expect(result.text).toBe(TEXT)
    } finally {
      await stt.close()
    }
  })
})
