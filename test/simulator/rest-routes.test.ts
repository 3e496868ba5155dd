/**
 * The REST route handlers on a bare node:http server (no router, auth or faults): every
 * request goes to the route whose path matches, with a fresh context per server.
 */
import { createServer, request as httpRequest, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { concatPcm16, decodeWav, encodeWav, makeAudioFrame } from "../../src/audio/index.ts"
import { startSimulator } from "../../src/simulator/index.ts"
import { MAX_BODY_BYTES } from "../../src/simulator/rest/body.ts"
import { restRoutes } from "../../src/simulator/rest/index.ts"
import { synthesizeSpeech } from "../../src/simulator/rest/signal.ts"
import { SPEECH_CHUNK_BYTES } from "../../src/simulator/rest/speech.ts"
import { createIdGenerator, createScenario } from "../../src/simulator/scenario.ts"
import type { ResolvedSimulatorOptions, Scenario, SimulatorConnection } from "../../src/simulator/types.ts"

interface Harness {
  readonly base: string
  readonly scenario: Scenario
  readonly connections: SimulatorConnection[]
}

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

const options: ResolvedSimulatorOptions = {
  port: 0,
  host: "127.0.0.1",
  apiKey: null,
  beta: false,
  seed: 1,
  realtimeSessionMaxMs: 3_600_000,
  responsesMaxConnections: undefined,
  responsesConnectionLifetimeMs: 3_600_000,
}

/** Serves the REST routes at `/v1/<path>` and, for Azure, `/openai/deployments/<d>/<path>`. */
const startHarness = async (): Promise<Harness> => {
  const scenario = createScenario({ seed: 1 })
  const nextId = createIdGenerator(1)
  const connections: SimulatorConnection[] = []
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const azure = /^\/openai\/deployments\/([^/]+)(\/.*)$/.exec(url.pathname)
    const path = azure?.[2] ?? url.pathname.replace(/^\/v1/, "")
    const route = restRoutes.find((r) => r.path === path)
    if (route === undefined || route.method !== req.method) {
      res.writeHead(404).end()
      return
    }
    const connection: SimulatorConnection = {
      id: connections.length,
      kind: "http",
      path: url.pathname,
      headers: req.headers,
      received: [],
      sent: [],
      closeCode: undefined,
      httpStatus: undefined,
      open: true,
    }
    connections.push(connection)
    const deployment = azure?.[1]
    const base = {
      scenario,
      options,
      now: () => 0,
      record: () => connection,
      nextId,
      connection,
      connections,
    }
    void route.handle(req, res, deployment === undefined ? base : { ...base, deployment })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return { base: `http://127.0.0.1:${port}`, scenario, connections }
}

const RATE = 24_000

const tone = (ms: number, rate = RATE, amplitude = 8000): Int16Array => {
  const n = Math.round((ms * rate) / 1000)
  const out = new Int16Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 220 * i) / rate))
  return out
}
const silence = (ms: number, rate = RATE): Int16Array => new Int16Array(Math.round((ms * rate) / 1000))
const concat = (...parts: Int16Array[]): Int16Array => concatPcm16(parts)
const wav = (samples: Int16Array, rate = RATE, channels = 1): Uint8Array =>
  encodeWav(makeAudioFrame(samples, rate, channels))

/** Two voiced regions: 0.5–1.5 s and 2.3–2.9 s of a 3.2 s file. */
const twoRegions = (): Uint8Array =>
  wav(concat(silence(500), tone(1000), silence(800), tone(600), silence(300)))

const transcribe = (
  h: Harness,
  fields: Record<string, string | string[]>,
  file?: Blob,
  filename = "audio.wav",
) => {
  const form = new FormData()
  for (const [key, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) form.append(key, v)
  }
  if (file !== undefined) form.append("file", file, filename)
  return fetch(`${h.base}/v1/audio/transcriptions`, { method: "POST", body: form })
}

const wavBlob = (bytes: Uint8Array) => new Blob([bytes], { type: "audio/wav" })

/** Reads an SSE body into its `data:` payloads (raw strings). */
const sseData = async (response: Response): Promise<string[]> => {
  const text = await response.text()
  return text
    .split("\n\n")
    .filter((record) => record.startsWith("data: "))
    .map((record) => record.slice("data: ".length))
}

const postJson = (h: Harness, path: string, body: unknown) =>
  fetch(`${h.base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  })

describe("POST /audio/transcriptions", () => {
  it("answers json with the scenario's transcripts in order, token usage and a request id", async () => {
    const h = await startHarness()
    h.scenario.transcripts = ["first turn", { text: "second turn", language: "fr" }]
    const audio = twoRegions()
    const first = await transcribe(h, { model: "gpt-4o-transcribe" }, wavBlob(audio))
    expect(first.status).toBe(200)
    expect(first.headers.get("x-request-id")).toMatch(/^req_/)
    const body = (await first.json()) as { text: string; usage: Record<string, unknown> }
    expect(body.text).toBe("first turn")
    expect(body.usage).toMatchObject({
      type: "tokens",
      input_token_details: { audio_tokens: 32, text_tokens: 0 },
    })
    expect(body.usage.total_tokens).toBe(
      (body.usage.input_tokens as number) + (body.usage.output_tokens as number),
    )
    const second = await transcribe(h, { model: "gpt-4o-transcribe" }, wavBlob(audio))
    expect(((await second.json()) as { text: string }).text).toBe("second turn")
    const third = await transcribe(h, { model: "gpt-4o-transcribe" }, wavBlob(audio))
    expect(((await third.json()) as { text: string }).text).toBe("[3200 ms of audio]")
    expect(h.connections[0]!.received[0]).toMatchObject({
      type: "http",
      payload: {
        fields: { model: ["gpt-4o-transcribe"] },
        file: { filename: "audio.wav", bytes: audio.length },
      },
    })
  })

  it("hands a scenario function the audio resampled to 24 kHz mono", async () => {
    const h = await startHarness()
    const seen: { index: number; samples: number; model: string }[] = []
    h.scenario.transcripts = (request) => {
      seen.push({ index: request.index, samples: request.audio.length, model: request.model })
      return "ok"
    }
    const stereo16k = new Int16Array(16_000 * 2).fill(1000)
    await transcribe(h, { model: "whisper-1" }, wavBlob(wav(stereo16k, 16_000, 2)))
    await transcribe(h, { model: "whisper-1" }, wavBlob(wav(stereo16k, 16_000, 2)))
    expect(seen.map((s) => s.index)).toEqual([0, 1])
    expect(Math.abs(seen[0]!.samples - 24_000)).toBeLessThanOrEqual(2)
    expect(seen[0]!.model).toBe("whisper-1")
  })

  it("answers verbose_json for whisper-1 with segments and words timed on the voiced regions", async () => {
    const h = await startHarness()
    h.scenario.transcripts = ["one two three four"]
    const response = await transcribe(
      h,
      {
        model: "whisper-1",
        response_format: "verbose_json",
        "timestamp_granularities[]": ["word", "segment"],
      },
      wavBlob(twoRegions()),
    )
    const body = (await response.json()) as {
      language: string
      duration: number
      segments: { id: number; start: number; end: number; text: string; avg_logprob: number }[]
      words: { word: string; start: number; end: number }[]
      usage: unknown
    }
    expect(body.language).toBe("english")
    expect(body.duration).toBeCloseTo(3.2, 3)
    expect(body.usage).toEqual({ type: "duration", seconds: 4 })
    expect(body.segments.map((s) => s.text)).toEqual([" one two three", " four"])
    expect(body.segments[0]!.start).toBeCloseTo(0.5, 1)
    expect(body.segments[1]!.start).toBeCloseTo(2.3, 1)
    expect(body.words.map((w) => w.word)).toEqual(["one", "two", "three", "four"])
    expect(body.words[3]!.end).toBeCloseTo(2.9, 1)
  })

  it("leaves words out unless asked and segments out when only words are asked", async () => {
    const h = await startHarness()
    const plain = (await (
      await transcribe(h, { model: "whisper-1", response_format: "verbose_json" }, wavBlob(twoRegions()))
    ).json()) as Record<string, unknown>
    expect(plain.segments).toBeDefined()
    expect(plain.words).toBeUndefined()
    const words = (await (
      await transcribe(
        h,
        { model: "whisper-1", response_format: "verbose_json", "timestamp_granularities[]": "word" },
        wavBlob(twoRegions()),
      )
    ).json()) as Record<string, unknown>
    expect(words.segments).toBeUndefined()
    expect(words.words).toBeDefined()
  })

  it("refuses verbose_json with a gpt-4o model as the service does", async () => {
    const h = await startHarness()
    const response = await transcribe(
      h,
      { model: "gpt-4o-transcribe", response_format: "verbose_json" },
      wavBlob(twoRegions()),
    )
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      error: { type: "invalid_request_error", param: "response_format", code: "unsupported_value" },
    })
  })

  it("answers text, srt and vtt as plain text", async () => {
    const h = await startHarness()
    h.scenario.transcripts = ["hello there", "hello there", "hello there"]
    const text = await transcribe(
      h,
      { model: "gpt-4o-mini-transcribe", response_format: "text" },
      wavBlob(twoRegions()),
    )
    expect(text.headers.get("content-type")).toMatch(/^text\/plain/)
    expect(await text.text()).toBe("hello there\n")
    const srt = await (
      await transcribe(h, { model: "whisper-1", response_format: "srt" }, wavBlob(twoRegions()))
    ).text()
    expect(srt).toMatch(
      /^1\n00:00:00,5\d\d --> 00:00:01,\d{3}\nhello\n\n2\n00:00:02,\d{3} --> 00:00:02,9\d\d\nthere\n$/,
    )
    const vtt = await (
      await transcribe(h, { model: "whisper-1", response_format: "vtt" }, wavBlob(twoRegions()))
    ).text()
    expect(vtt.startsWith("WEBVTT\n\n00:00:00.5")).toBe(true)
  })

  it("adds per-token logprobs with include[]=logprobs and refuses them for whisper-1", async () => {
    const h = await startHarness()
    h.scenario.transcripts = ["good morning all"]
    const body = (await (
      await transcribe(h, { model: "gpt-4o-transcribe", "include[]": "logprobs" }, wavBlob(twoRegions()))
    ).json()) as { logprobs: { token: string; logprob: number; bytes: number[] }[] }
    expect(body.logprobs.map((l) => l.token)).toEqual(["good", " morning", " all"])
    expect(body.logprobs[1]!.bytes).toEqual([...Buffer.from(" morning")])
    const whisper = await transcribe(
      h,
      { model: "whisper-1", "include[]": "logprobs" },
      wavBlob(twoRegions()),
    )
    expect(whisper.status).toBe(400)
    expect(((await whisper.json()) as { error: { param: string } }).error.param).toBe("include")
  })

  it("streams transcript.text.delta events then transcript.text.done, without [DONE]", async () => {
    const h = await startHarness()
    h.scenario.transcripts = ["streamed words here"]
    const response = await transcribe(
      h,
      { model: "gpt-4o-transcribe", stream: "true", "include[]": "logprobs" },
      wavBlob(twoRegions()),
    )
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/)
    const events = (await sseData(response)).map((d) => JSON.parse(d) as Record<string, unknown>)
    expect(events.map((e) => e.type)).toEqual([
      "transcript.text.delta",
      "transcript.text.delta",
      "transcript.text.delta",
      "transcript.text.done",
    ])
    expect(events.slice(0, 3).map((e) => e.delta)).toEqual(["streamed", " words", " here"])
    expect((events[0]!.logprobs as unknown[]).length).toBe(1)
    expect(events[3]).toMatchObject({ text: "streamed words here", usage: { type: "tokens" } })
    expect((events[3]!.logprobs as unknown[]).length).toBe(3)
  })

  it("ignores stream=true for whisper-1 and answers one JSON body", async () => {
    const h = await startHarness()
    h.scenario.transcripts = ["whole"]
    const response = await transcribe(h, { model: "whisper-1", stream: "true" }, wavBlob(twoRegions()))
    expect(response.headers.get("content-type")).toBe("application/json")
    expect(await response.json()).toEqual({ text: "whole", usage: { type: "duration", seconds: 4 } })
  })

  it("refuses a missing file or model, a non-WAV file, a corrupt WAV and a too-short file with 400", async () => {
    const h = await startHarness()
    const errorOf = async (response: Response) => {
      expect(response.status).toBe(400)
      return (
        (await response.json()) as { error: { param: string | null; code: string | null; message: string } }
      ).error
    }
    expect((await errorOf(await transcribe(h, { model: "whisper-1" }))).param).toBe("file")
    expect((await errorOf(await transcribe(h, {}, wavBlob(twoRegions())))).param).toBe("model")
    const text = await errorOf(await transcribe(h, { model: "whisper-1" }, new Blob(["hello"]), "notes.txt"))
    expect(text.message).toMatch(/^Invalid file format/)
    const mp3 = await errorOf(
      await transcribe(h, { model: "whisper-1" }, new Blob([new Uint8Array(64)]), "a.mp3"),
    )
    expect(mp3.message).toBe("Audio file might be corrupted or unsupported")
    const ogg = await errorOf(
      await transcribe(h, { model: "whisper-1" }, new Blob([new Uint8Array(64)]), "a.ogg"),
    )
    expect(ogg.code).toBe("unsupported_format")
    const corrupt = twoRegions().slice(0, 30)
    const bad = await errorOf(await transcribe(h, { model: "whisper-1" }, wavBlob(corrupt)))
    expect(bad.message).toBe("Audio file might be corrupted or unsupported")
    const short = await errorOf(await transcribe(h, { model: "whisper-1" }, wavBlob(wav(tone(50)))))
    expect(short.code).toBe("audio_too_short")
  })

  it("refuses a body that is not multipart with 400", async () => {
    const h = await startHarness()
    const response = await postJson(h, "/v1/audio/transcriptions", { model: "whisper-1" })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_multipart")
  })

  it("answers a scripted failed transcription with the scripted code, and moves on to the next", async () => {
    const h = await startHarness()
    h.scenario.transcripts = [
      { text: "", fail: { code: "audio_unintelligible", message: "Could not hear it." } },
      "heard it",
    ]
    const response = await transcribe(h, { model: "gpt-4o-transcribe" }, wavBlob(twoRegions()))
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({
      error: {
        message: "Could not hear it.",
        type: "invalid_request_error",
        param: null,
        code: "audio_unintelligible",
      },
    })
    // The failure was delivered: it stays consumed.
    const next = await transcribe(h, { model: "gpt-4o-transcribe" }, wavBlob(twoRegions()))
    expect(((await next.json()) as { text: string }).text).toBe("heard it")
  })

  describe("scripted delayMs", () => {
    const simulators: Awaited<ReturnType<typeof startSimulator>>[] = []
    afterEach(async () => {
      await Promise.all(simulators.splice(0).map((s) => s.close()))
    })
    const post = (url: string, fields: Record<string, string>, signal?: AbortSignal) => {
      const form = new FormData()
      for (const [key, value] of Object.entries(fields)) form.append(key, value)
      form.append("file", wavBlob(twoRegions()), "a.wav")
      return fetch(`${url}/audio/transcriptions`, {
        method: "POST",
        headers: { Authorization: "Bearer sk-simulator" },
        body: form,
        ...(signal === undefined ? {} : { signal }),
      })
    }

    it("holds the answer, and gives the transcript back to a client that gave up waiting", async () => {
      const sim = await startSimulator({
        scenario: { transcripts: [{ text: "slow words", delayMs: 250 }, "next"] },
      })
      simulators.push(sim)
      const impatient = new AbortController()
      const gaveUp = post(sim.httpUrl, { model: "gpt-4o-transcribe" }, impatient.signal).catch(
        (e: unknown) => e,
      )
      // The form is recorded in the same tick as the transcript is taken, before the delay.
      await expect.poll(() => sim.connections[0]?.received.length).toBe(1)
      impatient.abort()
      expect(await gaveUp).toBeInstanceOf(Error)
      await expect.poll(() => sim.connections[0]?.open).toBe(false)
      const startedAt = performance.now()
      const retried = await post(sim.httpUrl, { model: "gpt-4o-transcribe" })
      expect(((await retried.json()) as { text: string }).text).toBe("slow words")
      // Timers never fire early by more than a millisecond; the bound holds however slow the machine.
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(245)
      const after = await post(sim.httpUrl, { model: "gpt-4o-transcribe" })
      expect(((await after.json()) as { text: string }).text).toBe("next")
    })

    it("sends the SSE headers at once and the deltas after the delay; a stream cut before done gives the text back", async () => {
      const sim = await startSimulator({
        scenario: { transcripts: [{ text: "streamed late", delayMs: 200 }] },
      })
      simulators.push(sim)
      const reader = new AbortController()
      const cut = await post(sim.httpUrl, { model: "gpt-4o-transcribe", stream: "true" }, reader.signal)
      expect(cut.headers.get("content-type")).toContain("text/event-stream")
      reader.abort()
      await expect.poll(() => sim.connections[0]?.open).toBe(false)
      const whole = await post(sim.httpUrl, { model: "gpt-4o-transcribe", stream: "true" })
      const events = (await sseData(whole)).map(
        (d) => JSON.parse(d) as { type: string; delta?: string; text?: string },
      )
      expect(events.filter((e) => e.type === "transcript.text.delta").map((e) => e.delta)).toEqual([
        "streamed",
        " late",
      ])
      expect(events.at(-1)).toMatchObject({ type: "transcript.text.done", text: "streamed late" })
    })
  })

  it("answers 413 for a declared body over 25 MiB and for a chunked one counted over it", async () => {
    const h = await startHarness()
    const big = Buffer.alloc(MAX_BODY_BYTES + 1024)
    const send = (chunked: boolean) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${h.base}/v1/audio/transcriptions`, {
          method: "POST",
          headers: {
            "content-type": "multipart/form-data; boundary=x",
            ...(chunked ? {} : { "content-length": String(big.length) }),
          },
        })
        req.on("response", (res) => {
          let body = ""
          res.on("data", (c: Buffer) => {
            body += c.toString()
          })
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on("error", reject)
        // Written in pieces, so the chunked upload is counted as it arrives.
        for (let i = 0; i < big.length; i += 1 << 20) req.write(big.subarray(i, i + (1 << 20)))
        req.end()
      })
    for (const chunked of [false, true]) {
      const { status, body } = await send(chunked)
      expect(status).toBe(413)
      expect(JSON.parse(body)).toMatchObject({
        error: { type: "invalid_request_error", code: "payload_too_large" },
      })
    }
    expect(h.connections.map((c) => c.received[0]?.payload)).toEqual([
      { tooLarge: true, declaredBytes: big.length },
      { tooLarge: true, declaredBytes: null },
    ])
  })

  it("uses the Azure deployment as the model", async () => {
    const h = await startHarness()
    const response = await transcribe(h, { response_format: "verbose_json" }, wavBlob(twoRegions()))
    expect(response.status).toBe(400)
    const form = new FormData()
    form.append("response_format", "verbose_json")
    form.append("file", wavBlob(twoRegions()), "a.wav")
    const azure = await fetch(
      `${h.base}/openai/deployments/whisper-1/audio/transcriptions?api-version=2024-10-21`,
      {
        method: "POST",
        body: form,
      },
    )
    expect(azure.status).toBe(200)
    expect(((await azure.json()) as { duration: number }).duration).toBeCloseTo(3.2, 3)
  })
})

describe("POST /audio/speech", () => {
  const speech = (h: Harness, body: Record<string, unknown>) =>
    postJson(h, "/v1/audio/speech", {
      model: "gpt-4o-mini-tts",
      voice: "alloy",
      response_format: "pcm",
      ...body,
    })

  it("streams 24 kHz PCM16 in chunks that are not frame-aligned and whose bytes are the simulated voice", async () => {
    const h = await startHarness()
    const response = await speech(h, { input: "Hello there, how are you today?" })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("audio/pcm")
    expect(response.headers.get("transfer-encoding")).toBe("chunked")
    const sizes: number[] = []
    const chunks: Uint8Array[] = []
    for await (const chunk of response.body!) {
      sizes.push(chunk.length)
      chunks.push(chunk)
    }
    const bytes = Buffer.concat(chunks)
    const expected = synthesizeSpeech("Hello there, how are you today?", { seed: 1 })
    expect(bytes.length).toBe(expected.byteLength)
    expect(new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2)).toEqual(expected)
    expect(sizes.length).toBeGreaterThan(1)
    expect(SPEECH_CHUNK_BYTES.every((n) => n % 2 === 1 && n % 960 !== 0)).toBe(true)
    expect(h.connections[0]!.received[0]!.payload).toMatchObject({ input: "Hello there, how are you today?" })
  })

  it("makes longer audio for longer text and shorter audio at a higher speed", async () => {
    const h = await startHarness()
    const length = async (body: Record<string, unknown>) =>
      (await (await speech(h, body)).arrayBuffer()).byteLength
    const short = await length({ input: "Hi." })
    const long = await length({ input: "Hi. This sentence is a good deal longer than the first one." })
    const fast = await length({
      input: "Hi. This sentence is a good deal longer than the first one.",
      speed: 2,
    })
    expect(long).toBeGreaterThan(short * 5)
    expect(fast).toBeLessThan(long * 0.6)
  })

  it("answers a WAV file whose header describes 24 kHz mono PCM16", async () => {
    const h = await startHarness()
    const response = await speech(h, { input: "A short phrase.", response_format: "wav" })
    expect(response.headers.get("content-type")).toBe("audio/wav")
    const frame = decodeWav(new Uint8Array(await response.arrayBuffer()))
    expect(frame.sampleRateHz).toBe(24_000)
    expect(frame.channels).toBe(1)
    expect(frame.data).toEqual(synthesizeSpeech("A short phrase.", { seed: 1 }))
  })

  it("streams speech.audio.delta events then speech.audio.done with usage over SSE", async () => {
    const h = await startHarness()
    const response = await speech(h, { input: "Stream me as events, please.", stream_format: "sse" })
    const events = (await sseData(response)).map((d) => JSON.parse(d) as Record<string, unknown>)
    const done = events.at(-1)!
    expect(done.type).toBe("speech.audio.done")
    expect(done.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: expect.any(Number) })
    const deltas = events.slice(0, -1)
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.every((e) => e.type === "speech.audio.delta")).toBe(true)
    const bytes = Buffer.concat(deltas.map((e) => Buffer.from(e.audio as string, "base64")))
    expect(bytes.length).toBe(synthesizeSpeech("Stream me as events, please.").byteLength)
  })

  it("refuses invalid requests with the parameter named", async () => {
    const h = await startHarness()
    const cases: [Record<string, unknown>, string, string][] = [
      [{ input: "x".repeat(4097) }, "input", "string_above_max_length"],
      [{ input: "hi", speed: 5 }, "speed", "decimal_above_max_value"],
      [{ input: "hi", speed: 0.1 }, "speed", "decimal_below_min_value"],
      [{ input: "hi", voice: "nobody" }, "voice", "invalid_value"],
      [{ input: "hi", response_format: "opus" }, "response_format", "unsupported_value"],
      [{ input: "hi", response_format: "aac" }, "response_format", "unsupported_value"],
      [{ input: "hi", stream_format: "sse", model: "tts-1" }, "stream_format", "unsupported_value"],
      [{ input: "hi", instructions: "calm", model: "tts-1-hd" }, "instructions", "unsupported_parameter"],
      [{}, "input", "missing_required_parameter"],
    ]
    for (const [body, param, code] of cases) {
      const response = await speech(h, body)
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: unknown }).error).toMatchObject({ param, code })
    }
    const notJson = await fetch(`${h.base}/v1/audio/speech`, { method: "POST", body: "{" })
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe("invalid_json")
  })
})

describe("POST /chat/completions", () => {
  const chat = (h: Harness, body: Record<string, unknown>) =>
    postJson(h, "/v1/chat/completions", {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      ...body,
    })
  type Chunk = {
    object: string
    choices: { index: number; delta: Record<string, unknown>; finish_reason: string | null }[]
    usage?: Record<string, unknown> | null
  }

  it("streams a role chunk, content deltas, a stop chunk, a usage chunk and [DONE]", async () => {
    const h = await startHarness()
    h.scenario.replies = [{ text: "It is sunny in Paris." }]
    const data = await sseData(await chat(h, { stream: true, stream_options: { include_usage: true } }))
    expect(data.at(-1)).toBe("[DONE]")
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Chunk)
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true)
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "", refusal: null })
    const content = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? "")).join("")
    expect(content).toBe("It is sunny in Paris.")
    const finishes = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f !== null)
    expect(finishes).toEqual(["stop"])
    const last = chunks.at(-1)!
    expect(last.choices).toEqual([])
    expect(last.usage).toMatchObject({
      prompt_tokens: expect.any(Number),
      completion_tokens: 6,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    })
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true)
  })

  it("streams a tool call as fragments by index: id and name first, then argument pieces", async () => {
    const h = await startHarness()
    const args = '{"city":"Paris","unit":"celsius"}'
    h.scenario.replies = [{ functionCall: { name: "get_weather", arguments: args, callId: "call_abc" } }]
    const data = await sseData(
      await chat(h, {
        stream: true,
        tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
      }),
    )
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Chunk)
    expect(chunks.every((c) => c.usage === undefined)).toBe(true)
    const fragments = chunks.flatMap(
      (c) =>
        (c.choices[0]?.delta.tool_calls as {
          index: number
          id?: string
          function: Record<string, string>
        }[]) ?? [],
    )
    expect(fragments[0]).toEqual({
      index: 0,
      id: "call_abc",
      type: "function",
      function: { name: "get_weather", arguments: "" },
    })
    expect(fragments.slice(1).length).toBeGreaterThanOrEqual(2)
    expect(
      fragments.slice(1).every((f) => f.index === 0 && f.id === undefined && f.function.name === undefined),
    ).toBe(true)
    expect(fragments.map((f) => f.function.arguments).join("")).toBe(args)
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("tool_calls")
  })

  it("streams parallel tool calls one index after the other, and answers them all without stream", async () => {
    const h = await startHarness()
    const calls = [
      { name: "get_weather", arguments: '{"city":"Paris"}', callId: "call_w" },
      { name: "get_time", arguments: '{"zone":"Europe/Paris"}', callId: "call_t" },
    ]
    h.scenario.replies = [{ functionCalls: calls }, { functionCalls: calls }]
    const data = await sseData(await chat(h, { stream: true, stream_options: { include_usage: true } }))
    expect(data.at(-1)).toBe("[DONE]")
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Chunk)
    type Fragment = {
      index: number
      id?: string
      type?: string
      function: Record<string, string | undefined>
    }
    const fragments = chunks.flatMap((c) => (c.choices[0]?.delta.tool_calls as Fragment[] | undefined) ?? [])
    // Index 0 entirely, then index 1; each opens with its id and name, then argument pieces.
    const indexes = fragments.map((f) => f.index)
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b))
    expect(new Set(indexes)).toEqual(new Set([0, 1]))
    for (const [index, call] of calls.entries()) {
      const own = fragments.filter((f) => f.index === index)
      expect(own[0]).toEqual({
        index,
        id: call.callId,
        type: "function",
        function: { name: call.name, arguments: "" },
      })
      expect(own.slice(1).every((f) => f.id === undefined && f.function.name === undefined)).toBe(true)
      expect(own.map((f) => f.function.arguments).join("")).toBe(call.arguments)
    }
    // Only the first chunk carries the role.
    expect(chunks.filter((c) => c.choices[0]?.delta.role !== undefined)).toHaveLength(1)
    const finishes = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f !== null)
    expect(finishes).toEqual(["tool_calls"])
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: expect.any(Number) })

    const body = (await (await chat(h, {})).json()) as {
      choices: { message: { tool_calls: unknown[] }; finish_reason: string }[]
    }
    expect(body.choices[0]!.finish_reason).toBe("tool_calls")
    expect(body.choices[0]!.message.tool_calls).toEqual(
      calls.map((call) => ({
        id: call.callId,
        type: "function",
        function: { name: call.name, arguments: call.arguments },
      })),
    )
  })

  it("answers a chat.completion object without stream, with the input messages handed to the scenario", async () => {
    const h = await startHarness()
    const inputs: unknown[] = []
    h.scenario.replies = (request) => {
      inputs.push(request.input)
      return { text: "Hi!" }
    }
    const body = (await (await chat(h, {})).json()) as Record<string, unknown>
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "gpt-4o-mini",
      choices: [{ index: 0, message: { role: "assistant", content: "Hi!" }, finish_reason: "stop" }],
      usage: { completion_tokens: 1 },
    })
    expect(inputs).toEqual([[{ role: "user", content: "What is the weather in Paris?" }]])
  })

  it("echoes the last user message when the replies run out", async () => {
    const h = await startHarness()
    const body = (await (await chat(h, {})).json()) as { choices: { message: { content: string } }[] }
    expect(body.choices[0]!.message.content).toBe("You said: What is the weather in Paris?")
  })

  it("reports cached tokens for a long prompt prefix repeated, in 128-token blocks", async () => {
    const h = await startHarness()
    const system = { role: "system", content: "word ".repeat(2000) }
    const usageOf = async (messages: unknown[]) =>
      (
        (await (await chat(h, { messages })).json()) as {
          usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } }
        }
      ).usage
    const first = await usageOf([system, { role: "user", content: "one" }])
    expect(first.prompt_tokens_details.cached_tokens).toBe(0)
    const second = await usageOf([system, { role: "user", content: "two" }])
    expect(second.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(1024)
    expect(second.prompt_tokens_details.cached_tokens % 128).toBe(0)
    expect(second.prompt_tokens_details.cached_tokens).toBeLessThan(second.prompt_tokens)
  })

  it("reports reasoning tokens for reasoning models and refuses temperature there", async () => {
    const h = await startHarness()
    const ok = (await (await chat(h, { model: "o4-mini" })).json()) as {
      usage: { completion_tokens_details: { reasoning_tokens: number } }
    }
    expect(ok.usage.completion_tokens_details.reasoning_tokens).toBe(64)
    for (const model of ["o1", "o3-mini", "gpt-5", "gpt-5-mini"]) {
      const refused = await chat(h, { model, temperature: 0.2 })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({
        error: { type: "invalid_request_error", param: "temperature", code: "unsupported_parameter" },
      })
    }
    expect((await chat(h, { model: "gpt-4o", temperature: 0.2 })).status).toBe(200)
  })

  it("cuts the reply at max_completion_tokens with finish_reason length", async () => {
    const h = await startHarness()
    h.scenario.replies = [{ text: "one two three four five six seven eight" }]
    const body = (await (await chat(h, { max_completion_tokens: 4 })).json()) as {
      choices: { message: { content: string }; finish_reason: string }[]
    }
    expect(body.choices[0]).toMatchObject({ message: { content: "one two three" }, finish_reason: "length" })
  })

  it("refuses empty messages, stream_options without stream and chat-style tool mistakes", async () => {
    const h = await startHarness()
    const codeOf = async (body: Record<string, unknown>) =>
      ((await (await chat(h, body)).json()) as { error: { code: string; param: string } }).error
    expect(await codeOf({ messages: [] })).toMatchObject({ code: "empty_array", param: "messages" })
    expect(await codeOf({ stream_options: { include_usage: true } })).toMatchObject({
      param: "stream_options",
    })
    expect(await codeOf({ tools: [{ type: "function", name: "flat" }] })).toMatchObject({ param: "tools[0]" })
  })
})
