/**
 * Realtime transcription mode against real sockets: session config validation, append
 * validation, server VAD driven by generated audio, manual commits, transcription events,
 * scripted failures and ordering, and the beta shapes.
 */
import { Buffer } from "node:buffer"
import { afterEach, describe, expect, it } from "vitest"
import {
  type ConnectionScript,
  concatPcm,
  linearToMulaw,
  noise,
  type Simulator,
  type SimulatorOptions,
  silence,
  speechDurationMs,
  startSimulator,
  synthesizeSpeech,
  type TranscriptRequest,
  tone,
} from "../../src/simulator/index.ts"
import { AUTH, connect, type Ev, type TestClient } from "./realtimeTestClient.ts"

let sim: Simulator | undefined
const clients: TestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await sim?.close()
  sim = undefined
})

const open = async (
  options: SimulatorOptions = {},
  query = "intent=transcription",
  headers: Record<string, string> = AUTH,
) => {
  sim ??= await startSimulator(options)
  const client = await connect(`${sim.url}/realtime?${query}`, headers)
  clients.push(client)
  return client
}

/** Opens a session and applies a GA session.update, waiting for `session.updated`. */
const openWith = async (session: object, options: SimulatorOptions = {}) => {
  const client = await open(options)
  await client.next("session.created")
  client.send({ type: "session.update", session: { type: "transcription", ...session } })
  await client.next("session.updated")
  return client
}

const manualTurns = { audio: { input: { turn_detection: null } } }

describe("transcription session config", () => {
  it("opens with session.created holding the GA defaults", async () => {
    const client = await open()
    const created = await client.next("session.created")
    expect(created.event_id).toMatch(/^event_/)
    expect(created.session).toMatchObject({
      type: "transcription",
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          transcription: { model: "gpt-4o-transcribe" },
          turn_detection: {
            type: "server_vad",
            threshold: 0.5,
            prefix_padding_ms: 300,
            silence_duration_ms: 500,
          },
          noise_reduction: null,
        },
      },
      include: null,
    })
  })

  it("refuses session.update without session.type", async () => {
    const client = await open()
    client.send({ type: "session.update", event_id: "evt_1", session: { audio: {} } })
    const error = await client.next("error")
    expect(error.error).toMatchObject({
      type: "invalid_request_error",
      code: "missing_required_parameter",
      param: "session.type",
      event_id: "evt_1",
    })
  })

  it("refuses a string audio.input.format with invalid_type", async () => {
    const client = await open()
    client.send({
      type: "session.update",
      session: { type: "transcription", audio: { input: { format: "pcm16" } } },
    })
    const error = await client.next("error")
    expect(error.error).toMatchObject({ code: "invalid_type", param: "session.audio.input.format" })
  })

  it("refuses an unsupported rate with invalid_value", async () => {
    const client = await open()
    client.send({
      type: "session.update",
      session: { type: "transcription", audio: { input: { format: { type: "audio/pcm", rate: 16000 } } } },
    })
    expect((await client.next("error")).error).toMatchObject({
      code: "invalid_value",
      param: "session.audio.input.format.rate",
    })
  })

  it("names the path of an unknown field in unknown_parameter", async () => {
    const client = await open()
    client.send({
      type: "session.update",
      session: { type: "transcription", audio: { input: { vad: true } } },
    })
    expect((await client.next("error")).error).toMatchObject({
      code: "unknown_parameter",
      param: "session.audio.input.vad",
    })
  })

  it("refuses conversation-session fields on a transcription session", async () => {
    const client = await open()
    client.send({ type: "session.update", session: { type: "transcription", instructions: "be brief" } })
    expect((await client.next("error")).error).toMatchObject({
      code: "unknown_parameter",
      param: "session.instructions",
    })
    client.send({
      type: "session.update",
      session: { type: "transcription", audio: { output: { voice: "alloy" } } },
    })
    expect((await client.next("error")).error).toMatchObject({
      code: "unknown_parameter",
      param: "session.audio.output",
    })
    client.send({ type: "session.update", session: { type: "realtime" } })
    expect((await client.next("error")).error).toMatchObject({ code: "invalid_value", param: "session.type" })
  })

  it("merges partial updates and echoes the whole session", async () => {
    const client = await open()
    await client.next("session.created")
    client.send({
      type: "session.update",
      session: {
        type: "transcription",
        audio: { input: { transcription: { model: "whisper-1", language: "fr" } } },
      },
    })
    await client.next("session.updated")
    client.send({
      type: "session.update",
      session: {
        type: "transcription",
        audio: { input: { turn_detection: { type: "server_vad", silence_duration_ms: 800 } } },
      },
    })
    const updated = await client.next("session.updated")
    expect(updated.session.audio.input.transcription).toMatchObject({ model: "whisper-1", language: "fr" })
    expect(updated.session.audio.input.turn_detection).toEqual({
      type: "server_vad",
      threshold: 0.5,
      prefix_padding_ms: 300,
      silence_duration_ms: 800,
    })
    expect(updated.session.audio.input.format).toEqual({ type: "audio/pcm", rate: 24000 })
  })

  it("leaves the session unchanged after a refused update", async () => {
    const client = await open()
    await client.next("session.created")
    client.send({
      type: "session.update",
      session: { type: "transcription", include: ["bogus"], audio: { input: { turn_detection: null } } },
    })
    expect((await client.next("error")).error).toMatchObject({
      code: "invalid_value",
      param: "session.include[0]",
    })
    client.send({ type: "session.update", session: { type: "transcription" } })
    const updated = await client.next("session.updated")
    expect(updated.session.audio.input.turn_detection).toMatchObject({ type: "server_vad" })
  })

  it("refuses server turn detection named for models that need client commits", async () => {
    const client = await open()
    client.send({
      type: "session.update",
      session: {
        type: "transcription",
        audio: {
          input: { transcription: { model: "gpt-live-transcribe" }, turn_detection: { type: "server_vad" } },
        },
      },
    })
    expect((await client.next("error")).error).toMatchObject({
      code: "invalid_value",
      param: "session.audio.input.turn_detection",
    })
  })

  it("gives no turn detection to a model that needs client commits when the update leaves it out", async () => {
    const client = await open()
    client.send({
      type: "session.update",
      session: {
        type: "transcription",
        audio: { input: { transcription: { model: "gpt-realtime-whisper" } } },
      },
    })
    const updated = await client.next("session.updated")
    expect(updated.session.audio.input.transcription).toMatchObject({ model: "gpt-realtime-whisper" })
    expect(updated.session.audio.input.turn_detection).toBeNull()
  })

  it("answers conversation events and unknown types with invalid_value on type", async () => {
    const client = await open()
    client.send({ type: "response.create" })
    expect((await client.next("error")).error).toMatchObject({ code: "invalid_value", param: "type" })
    client.ws.send("not json")
    expect((await client.next("error")).error).toMatchObject({ code: "invalid_json" })
  })
})

describe("input_audio_buffer.append", () => {
  it("refuses audio that is not base64", async () => {
    const client = await open()
    client.send({ type: "input_audio_buffer.append", audio: "not base64!" })
    expect((await client.next("error")).error).toMatchObject({ code: "invalid_value", param: "audio" })
  })

  it("refuses an odd number of PCM16 bytes", async () => {
    const client = await open()
    client.send({ type: "input_audio_buffer.append", audio: Buffer.from([1, 2, 3]).toString("base64") })
    const error = await client.next("error")
    expect(error.error).toMatchObject({ code: "invalid_value", param: "audio" })
    expect(error.error.message).toContain("even number of bytes")
  })

  it("refuses more than 15 MiB of audio in one event", async () => {
    const client = await open()
    // 5 242 881 groups of 4 base64 characters decode to 15 MiB + 3 bytes.
    client.send({ type: "input_audio_buffer.append", audio: "AAAA".repeat(5_242_881) })
    const error = await client.next("error")
    expect(error.error).toMatchObject({ code: "invalid_value", param: "audio" })
    expect(error.error.message).toContain("15 MiB")
  })

  it("refuses a missing audio field", async () => {
    const client = await open()
    client.send({ type: "input_audio_buffer.append" })
    expect((await client.next("error")).error).toMatchObject({
      code: "missing_required_parameter",
      param: "audio",
    })
  })
})

describe("server VAD", () => {
  it("detects tone bursts and reports true offsets into the session audio", async () => {
    const client = await open()
    await client.next("session.created")
    // 500 ms silence, 1 s speech, 1 s silence, 400 ms speech, 800 ms silence; sent in odd 37 ms chunks.
    client.appendAudio(concatPcm(silence(500), tone(1000), silence(1000), tone(400), silence(800)), 37)
    const started1 = await client.next("input_audio_buffer.speech_started")
    const stopped1 = await client.next("input_audio_buffer.speech_stopped")
    const committed1 = await client.next("input_audio_buffer.committed")
    const started2 = await client.next("input_audio_buffer.speech_started")
    const stopped2 = await client.next("input_audio_buffer.speech_stopped")
    const committed2 = await client.next("input_audio_buffer.committed")
    // Onset minus the 300 ms prefix padding; end of speech plus the 500 ms silence.
    expect(started1.audio_start_ms).toBe(200)
    expect(stopped1.audio_end_ms).toBe(2000)
    expect(started2.audio_start_ms).toBe(2200)
    expect(stopped2.audio_end_ms).toBe(3400)
    expect(stopped1.item_id).toBe(started1.item_id)
    expect(committed1).toMatchObject({ item_id: started1.item_id, previous_item_id: null })
    expect(committed2).toMatchObject({ item_id: started2.item_id, previous_item_id: started1.item_id })
  })

  it("hears the simulated voice over a noise floor as one turn per utterance", async () => {
    const first = "Hello there, how are you today?"
    const second = "Fine, thanks."
    // A -55 dBFS noise floor throughout; the words' own gaps (40 ms, 160 ms after punctuation)
    // are far shorter than the 500 ms of silence that end a turn.
    const audio = concatPcm(
      noise(400, 0.003, 1),
      synthesizeSpeech(first),
      noise(900, 0.003, 2),
      synthesizeSpeech(second),
      noise(900, 0.003, 3),
    )
    const client = await open()
    await client.next("session.created")
    client.appendAudio(audio, 20)
    const started1 = await client.next("input_audio_buffer.speech_started")
    const stopped1 = await client.next("input_audio_buffer.speech_stopped")
    const started2 = await client.next("input_audio_buffer.speech_started")
    const stopped2 = await client.next("input_audio_buffer.speech_stopped")
    // Voice ends before the closing pause the synthesizer adds after the punctuation (160 ms).
    const voicedEnd1 = 400 + speechDurationMs(first) - 160
    const onset2 = 400 + speechDurationMs(first) + 900
    const voicedEnd2 = onset2 + speechDurationMs(second) - 160
    // Onsets minus the 300 ms padding; ends plus the 500 ms of silence; within a 10 ms window.
    expect(Math.abs(started1.audio_start_ms - 100)).toBeLessThanOrEqual(20)
    expect(Math.abs(stopped1.audio_end_ms - (voicedEnd1 + 500))).toBeLessThanOrEqual(20)
    expect(Math.abs(started2.audio_start_ms - (onset2 - 300))).toBeLessThanOrEqual(20)
    expect(Math.abs(stopped2.audio_end_ms - (voicedEnd2 + 500))).toBeLessThanOrEqual(20)
    expect(client.all("input_audio_buffer.committed")).toHaveLength(2)
  })

  it("follows prefix_padding_ms and silence_duration_ms", async () => {
    const client = await openWith({
      audio: {
        input: { turn_detection: { type: "server_vad", prefix_padding_ms: 100, silence_duration_ms: 250 } },
      },
    })
    client.appendAudio(concatPcm(silence(600), tone(300), silence(400)))
    expect((await client.next("input_audio_buffer.speech_started")).audio_start_ms).toBe(500)
    expect((await client.next("input_audio_buffer.speech_stopped")).audio_end_ms).toBe(1150)
  })

  it("ignores audio below the threshold and hears it once the threshold is lowered", async () => {
    // A -40 dBFS tone: under the default threshold 0.5 (-35 dBFS), over threshold 0.3 (-45 dBFS).
    const quiet = tone(400, { amplitude: 0.014, fadeMs: 0 })
    const client = await open()
    await client.next("session.created")
    client.appendAudio(concatPcm(silence(100), quiet, silence(700)))
    client.send({ type: "input_audio_buffer.clear" })
    await client.next("input_audio_buffer.cleared")
    expect(client.all("input_audio_buffer.speech_started")).toEqual([])
    client.send({
      type: "session.update",
      session: {
        type: "transcription",
        audio: { input: { turn_detection: { type: "server_vad", threshold: 0.3 } } },
      },
    })
    await client.next("session.updated")
    client.appendAudio(concatPcm(silence(100), quiet, silence(700)))
    const started = await client.next("input_audio_buffer.speech_started")
    // The session clock counts the 1.2 s appended before; the onset (1300 ms) minus the
    // 300 ms padding is clamped to the start of the buffer, cleared at 1200 ms.
    expect(started.audio_start_ms).toBe(1200)
  })

  it("waits longer with low semantic_vad eagerness than with high", async () => {
    const speech = concatPcm(tone(500), silence(1000))
    const high = await openWith({
      audio: { input: { turn_detection: { type: "semantic_vad", eagerness: "high" } } },
    })
    high.appendAudio(speech)
    expect((await high.next("input_audio_buffer.speech_stopped")).audio_end_ms).toBe(1000)
    const low = await connect(`${sim?.url}/realtime?intent=transcription`, AUTH)
    clients.push(low)
    low.send({
      type: "session.update",
      session: {
        type: "transcription",
        audio: { input: { turn_detection: { type: "semantic_vad", eagerness: "low" } } },
      },
    })
    await low.next("session.updated")
    low.appendAudio(speech)
    low.send({ type: "input_audio_buffer.clear" })
    await low.next("input_audio_buffer.cleared")
    expect(low.all("input_audio_buffer.speech_started")).toHaveLength(1)
    expect(low.all("input_audio_buffer.speech_stopped")).toEqual([])
  })

  it("ends the turn where a manual commit comes during speech, and finds nothing to commit outside it", async () => {
    const client = await open()
    await client.next("session.created")
    client.send({ type: "input_audio_buffer.commit" })
    expect((await client.next("error")).error.code).toBe("input_audio_buffer_commit_empty")
    client.appendAudio(concatPcm(silence(200), tone(600)))
    const started = await client.next("input_audio_buffer.speech_started")
    client.send({ type: "input_audio_buffer.commit" })
    const stopped = await client.next("input_audio_buffer.speech_stopped")
    expect(stopped.audio_end_ms).toBe(800)
    expect(await client.next("input_audio_buffer.committed")).toMatchObject({ item_id: started.item_id })
  })

  it("decodes G.711 µ-law input to 24 kHz so offsets stay true", async () => {
    const client = await openWith({ audio: { input: { format: { type: "audio/pcmu" } } } })
    const pcm = concatPcm(silence(500), tone(600), silence(700))
    // Down to 8 kHz µ-law: every third sample.
    const mulaw = Buffer.alloc(Math.floor(pcm.length / 3))
    for (let i = 0; i < mulaw.length; i++) mulaw[i] = linearToMulaw(pcm[i * 3] ?? 0)
    client.send({ type: "input_audio_buffer.append", audio: mulaw.toString("base64") })
    expect((await client.next("input_audio_buffer.speech_started")).audio_start_ms).toBe(200)
    expect((await client.next("input_audio_buffer.speech_stopped")).audio_end_ms).toBe(1600)
  })
})

describe("manual turns (turn_detection: null)", () => {
  it("commits only on input_audio_buffer.commit, never by itself", async () => {
    const client = await openWith(manualTurns)
    client.appendAudio(concatPcm(tone(500), silence(1500)))
    client.send({ type: "input_audio_buffer.commit" })
    const committed = await client.next("input_audio_buffer.committed")
    expect(committed.previous_item_id).toBeNull()
    expect(client.all("input_audio_buffer.speech_started")).toEqual([])
    const completed = await client.next("conversation.item.input_audio_transcription.completed")
    expect(completed.item_id).toBe(committed.item_id)
  })

  it("refuses a commit of less than 100 ms, or of nothing", async () => {
    const client = await openWith(manualTurns)
    client.send({ type: "input_audio_buffer.commit", event_id: "evt_empty" })
    const empty = await client.next("error")
    expect(empty.error).toMatchObject({ code: "input_audio_buffer_commit_empty", event_id: "evt_empty" })
    client.appendAudio(tone(60))
    client.send({ type: "input_audio_buffer.commit" })
    const short = await client.next("error")
    expect(short.error.code).toBe("input_audio_buffer_commit_empty")
    expect(short.error.message).toContain("60.00ms")
    client.appendAudio(tone(60))
    client.send({ type: "input_audio_buffer.commit" })
    expect(await client.next("input_audio_buffer.committed")).toHaveProperty("item_id")
  })

  it("clears the buffer with input_audio_buffer.clear", async () => {
    const client = await openWith(manualTurns)
    client.appendAudio(tone(500))
    client.send({ type: "input_audio_buffer.clear" })
    await client.next("input_audio_buffer.cleared")
    client.send({ type: "input_audio_buffer.commit" })
    expect((await client.next("error")).error.code).toBe("input_audio_buffer_commit_empty")
  })
})

describe("transcription of committed turns", () => {
  const commitTurn = (client: TestClient, ms = 1000) => {
    client.appendAudio(tone(ms))
    client.send({ type: "input_audio_buffer.commit" })
  }

  it("streams incremental word deltas for gpt-4o models, then completed with token usage", async () => {
    const client = await openWith(manualTurns, { scenario: { transcripts: ["hello big world"] } })
    commitTurn(client, 2000)
    const committed = await client.next("input_audio_buffer.committed")
    const completed = await client.next("conversation.item.input_audio_transcription.completed")
    const deltas = client.all("conversation.item.input_audio_transcription.delta")
    expect(deltas.map((d) => d.delta)).toEqual(["hello", " big", " world"])
    expect(deltas.every((d) => d.item_id === committed.item_id && d.content_index === 0)).toBe(true)
    expect(completed).toMatchObject({
      item_id: committed.item_id,
      content_index: 0,
      transcript: "hello big world",
    })
    expect(completed.usage).toMatchObject({
      type: "tokens",
      input_token_details: { audio_tokens: 20, text_tokens: 0 },
    })
    expect(completed.usage.total_tokens).toBe(completed.usage.input_tokens + completed.usage.output_tokens)
    expect(completed.logprobs).toBeUndefined()
  })

  it("counts audio tokens in proportion to the turn's duration", async () => {
    const client = await openWith(manualTurns)
    commitTurn(client, 1000)
    const short = await client.next("conversation.item.input_audio_transcription.completed")
    commitTurn(client, 3000)
    const long = await client.next("conversation.item.input_audio_transcription.completed")
    expect(long.usage.input_token_details.audio_tokens).toBe(3 * short.usage.input_token_details.audio_tokens)
  })

  it("sends whisper-1 transcripts whole, with usage in seconds", async () => {
    const client = await openWith(
      { audio: { input: { turn_detection: null, transcription: { model: "whisper-1" } } } },
      { scenario: { transcripts: ["one two three"] } },
    )
    commitTurn(client, 1500)
    const completed = await client.next("conversation.item.input_audio_transcription.completed")
    expect(client.all("conversation.item.input_audio_transcription.delta").map((d) => d.delta)).toEqual([
      "one two three",
    ])
    expect(completed.usage).toEqual({ type: "duration", seconds: 1.5 })
  })

  it("adds logprobs when include asks for them", async () => {
    const client = await openWith(
      { ...manualTurns, include: ["item.input_audio_transcription.logprobs"] },
      { scenario: { transcripts: [{ text: "sure thing", confidence: 0.5 }] } },
    )
    commitTurn(client)
    const completed = await client.next("conversation.item.input_audio_transcription.completed")
    expect(completed.logprobs.map((l: Ev) => l.token)).toEqual(["sure", " thing"])
    expect(completed.logprobs[0].logprob).toBeCloseTo(Math.log(0.5), 10)
    expect(completed.logprobs[1].bytes).toEqual([...Buffer.from(" thing")])
    const delta = client.all("conversation.item.input_audio_transcription.delta")[0]
    expect(delta?.logprobs).toHaveLength(1)
  })

  it("sends failed for a scripted failure, and the session goes on", async () => {
    const client = await openWith(manualTurns, {
      scenario: {
        transcripts: [
          { text: "", fail: { code: "audio_unintelligible", message: "Could not hear it." } },
          "next",
        ],
      },
    })
    commitTurn(client)
    const committed = await client.next("input_audio_buffer.committed")
    const failed = await client.next("conversation.item.input_audio_transcription.failed")
    expect(failed).toMatchObject({
      item_id: committed.item_id,
      content_index: 0,
      error: { code: "audio_unintelligible", message: "Could not hear it." },
    })
    commitTurn(client)
    expect((await client.next("conversation.item.input_audio_transcription.completed")).transcript).toBe(
      "next",
    )
  })

  it("completes turns out of order when their delays are scripted so", async () => {
    const client = await openWith(manualTurns, {
      scenario: { transcripts: [{ text: "first", delayMs: 150 }, "second"] },
    })
    commitTurn(client)
    const first = await client.next("input_audio_buffer.committed")
    commitTurn(client)
    const second = await client.next("input_audio_buffer.committed")
    const a = await client.next("conversation.item.input_audio_transcription.completed")
    const b = await client.next("conversation.item.input_audio_transcription.completed")
    expect([a.item_id, a.transcript]).toEqual([second.item_id, "second"])
    expect([b.item_id, b.transcript]).toEqual([first.item_id, "first"])
    expect(second.previous_item_id).toBe(first.item_id)
  })

  it("delivers unscripted turns in commit order", async () => {
    const client = await openWith(manualTurns, { scenario: { transcripts: ["alpha beta gamma", "delta"] } })
    commitTurn(client)
    commitTurn(client)
    await client.next("conversation.item.input_audio_transcription.completed")
    await client.next("conversation.item.input_audio_transcription.completed")
    const order = client.events
      .filter((e) => e.type.startsWith("conversation.item.input_audio_transcription"))
      .map((e) => e.delta ?? e.transcript)
    expect(order).toEqual(["alpha", " beta", " gamma", "alpha beta gamma", "delta", "delta"])
  })

  describe("a turn lost with its connection", () => {
    /** Opens a manual-turn session on a connection with `script`. */
    const openScripted = async (script: ConnectionScript) => {
      sim ??= await startSimulator({ scenario: { transcripts: ["first", "second"] } })
      sim.scenario.nextConnection("transcription", script)
      const client = await openWith(manualTurns)
      return client
    }
    const finalOf = async (client: TestClient) =>
      (await client.next("conversation.item.input_audio_transcription.completed")).transcript as string

    it("gives its transcript back when the connection drops before completed, so the replayed turn gets it", async () => {
      // Events: session.created, session.updated, committed; the socket dies right after.
      const lost = await openScripted({ faults: [{ type: "close", code: 1006, afterEvents: 3 }] })
      commitTurn(lost)
      await lost.next("input_audio_buffer.committed")
      expect((await lost.closed).code).toBe(1006)
      await expect.poll(() => sim?.connections[0]?.open).toBe(false)
      const replay = await openWith(manualTurns)
      commitTurn(replay)
      expect(await finalOf(replay)).toBe("first")
      commitTurn(replay)
      expect(await finalOf(replay)).toBe("second")
    })

    it("gives it back when a stall swallowed completed and the client gave up", async () => {
      const stalled = await openScripted({ faults: [{ type: "stall", afterEvents: 3 }] })
      commitTurn(stalled)
      await stalled.next("input_audio_buffer.committed")
      await expect.poll(() => sim?.connections[0]?.sent.length).toBe(3)
      stalled.close()
      await stalled.closed
      await expect.poll(() => sim?.connections[0]?.open).toBe(false)
      const replay = await openWith(manualTurns)
      commitTurn(replay)
      expect(await finalOf(replay)).toBe("first")
    })

    it("keeps a delivered transcript consumed when the connection closes afterwards", async () => {
      const done = await openScripted({})
      commitTurn(done)
      expect(await finalOf(done)).toBe("first")
      done.close()
      await done.closed
      await expect.poll(() => sim?.connections[0]?.open).toBe(false)
      const next = await openWith(manualTurns)
      commitTurn(next)
      expect(await finalOf(next)).toBe("second")
    })
  })

  it("falls back to a description of the audio when the transcripts run out", async () => {
    const client = await openWith(manualTurns)
    commitTurn(client, 1250)
    expect((await client.next("conversation.item.input_audio_transcription.completed")).transcript).toBe(
      "[1250 ms of audio]",
    )
  })

  it("passes the turn index, its audio and the model to a transcript function", async () => {
    const requests: TranscriptRequest[] = []
    const client = await openWith(manualTurns, {
      scenario: {
        transcripts: (request) => {
          requests.push(request)
          return `turn ${request.index}`
        },
      },
    })
    commitTurn(client, 500)
    commitTurn(client, 700)
    await client.next("conversation.item.input_audio_transcription.completed")
    expect((await client.next("conversation.item.input_audio_transcription.completed")).transcript).toBe(
      "turn 1",
    )
    expect(requests.map((r) => [r.index, r.audio.length, r.model])).toEqual([
      [0, 500 * 24, "gpt-4o-transcribe"],
      [1, 700 * 24, "gpt-4o-transcribe"],
    ])
  })
})

describe("beta shapes", () => {
  it("answers the beta header on the GA endpoint with beta_api_shape_disabled and close 4000", async () => {
    const client = await open({}, "intent=transcription", { ...AUTH, "OpenAI-Beta": "realtime=v1" })
    const error = await client.next("error")
    expect(error.error).toMatchObject({ type: "invalid_request_error", code: "beta_api_shape_disabled" })
    expect(error.error.message).toContain("no longer supported")
    expect((await client.closed).code).toBe(4000)
    expect(client.all("session.created")).toEqual([])
  })

  it("serves the legacy transcription_session shapes with the beta option", async () => {
    const client = await open({ beta: true }, "intent=transcription", {
      ...AUTH,
      "OpenAI-Beta": "realtime=v1",
    })
    const created = await client.next("transcription_session.created")
    expect(created.session).toMatchObject({
      object: "realtime.transcription_session",
      input_audio_format: "pcm16",
      input_audio_transcription: { model: "gpt-4o-transcribe" },
      turn_detection: {
        type: "server_vad",
        threshold: 0.5,
        prefix_padding_ms: 300,
        silence_duration_ms: 500,
      },
      input_audio_noise_reduction: null,
    })
    client.send({
      type: "transcription_session.update",
      session: {
        input_audio_format: "pcm16",
        input_audio_transcription: { model: "gpt-4o-mini-transcribe", language: "en" },
        turn_detection: {
          type: "server_vad",
          threshold: 0.5,
          prefix_padding_ms: 300,
          silence_duration_ms: 500,
        },
        input_audio_noise_reduction: { type: "near_field" },
        include: ["item.input_audio_transcription.logprobs"],
      },
    })
    const updated = await client.next("transcription_session.updated")
    expect(updated.session).toMatchObject({
      input_audio_transcription: { model: "gpt-4o-mini-transcribe", language: "en" },
      input_audio_noise_reduction: { type: "near_field" },
      include: ["item.input_audio_transcription.logprobs"],
    })
    client.appendAudio(concatPcm(tone(400), silence(600)))
    await client.next("input_audio_buffer.committed")
    expect(
      (await client.next("conversation.item.input_audio_transcription.completed")).logprobs,
    ).toBeDefined()
  })

  it("refuses GA shapes on a beta session", async () => {
    const client = await open({ beta: true })
    await client.next("transcription_session.created")
    client.send({
      type: "transcription_session.update",
      session: { input_audio_format: { type: "audio/pcm" } },
    })
    expect((await client.next("error")).error).toMatchObject({
      code: "invalid_type",
      param: "session.input_audio_format",
    })
    client.send({ type: "transcription_session.update", session: { type: "transcription" } })
    expect((await client.next("error")).error).toMatchObject({
      code: "unknown_parameter",
      param: "session.type",
    })
    client.send({ type: "session.update", session: { type: "transcription" } })
    expect((await client.next("error")).error).toMatchObject({ code: "invalid_value", param: "type" })
  })

  it("serves the beta shapes on the Azure preview path with an api-key", async () => {
    sim = await startSimulator()
    const client = await connect(
      `${sim.url.replace(/\/v1$/, "")}/openai/realtime?api-version=2025-04-01-preview&deployment=my-transcriber&intent=transcription`,
      { "api-key": "sk-simulator" },
    )
    clients.push(client)
    expect((await client.next("transcription_session.created")).session.input_audio_format).toBe("pcm16")
  })
})
