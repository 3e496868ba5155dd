/**
 * The batch STT against the simulator over real sockets on 127.0.0.1: request shapes per
 * model, confidence, streaming, retries and their absence, silence, splitting, Azure, abort.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { AzureOpenAI } from "openai"
import { startSimulator } from "../../src/simulator/index.ts"
import type { Simulator, SimulatorConnection } from "../../src/simulator/types.ts"
import {
  type BatchSTTOptions,
  confidenceFromLogprobs,
  createBatchSTT,
  MAX_TRANSCRIPTION_REQUEST_BYTES,
  MULTIPART_OVERHEAD_BYTES,
  maxSamplesPerRequest,
  planParts,
  type RecognitionProgress,
  STTError,
} from "../../src/stt/index.ts"
import { type Piece, speech, toFrames, wordsIn } from "./conformance.ts"

let sim: Simulator | undefined

const simulator = async (): Promise<Simulator> => {
  sim = await startSimulator({
    // The simulated model "hears" the test words, whatever order requests arrive in.
    scenario: { transcripts: (request) => wordsIn(request.audio, 24_000).join(" ") },
  })
  return sim
}

afterEach(async () => {
  await sim?.close()
  sim = undefined
})

const sttFor = (s: Simulator, options: BatchSTTOptions = {}) =>
  createBatchSTT({
    openai: { apiKey: s.apiKey ?? "unused", baseUrl: s.httpUrl },
    env: {},
    connectOptions: { retryIntervalMs: 1, jitter: false, timeoutMs: 10_000 },
    ...options,
  })

const requests = (s: Simulator): SimulatorConnection[] => s.connections.filter((c) => c.kind === "http")

/** The form fields the simulator recorded for request `index`. */
const fieldsOf = (s: Simulator, index = 0): Record<string, string[]> => {
  const payload = requests(s)[index]?.received[0]?.payload as { fields?: Record<string, string[]> } | null
  return payload?.fields ?? {}
}

const fileOf = (s: Simulator, index = 0): { filename: string; contentType: string; bytes: number } => {
  const payload = requests(s)[index]?.received[0]?.payload as
    | { file: { filename: string; contentType: string; bytes: number } }
    | undefined
  if (payload === undefined) throw new Error(`no request ${index}`)
  return payload.file
}

const words = (pieces: readonly Piece[], rateHz = 16_000, channels = 1) =>
  toFrames(speech(pieces, rateHz), rateHz, channels)

const hello: readonly Piece[] = [{ silenceMs: 200 }, { word: 300, ms: 700 }, { silenceMs: 300 }]

describe("createBatchSTT against the simulator", () => {
  it("sends a gpt-4o model json with logprobs and reports confidence from them", async () => {
    const s = await simulator()
    const stt = sttFor(s, { model: "gpt-4o-transcribe" })
    const result = await stt.recognize(words(hello))
    assert.strictEqual(result.text, "bravo")
    assert.strictEqual(result.source, "openai/gpt-4o-transcribe")
    const fields = fieldsOf(s)
    assert.deepStrictEqual(fields.model, ["gpt-4o-transcribe"])
    assert.deepStrictEqual(fields.response_format, ["json"])
    assert.deepStrictEqual(fields.include, ["logprobs"])
    assert.deepStrictEqual(fileOf(s).filename, "audio.wav")
    assert.deepStrictEqual(fileOf(s).contentType, "audio/wav")
    const confidence = result.alternatives[0]?.confidence
    assert.isDefined(confidence)
    assert.isAbove(confidence!, 0)
    assert.isAtMost(confidence!, 1)
    assert.strictEqual(result.requests, 1)
    assert.strictEqual(result.requestIds?.length, 1)
    assert.isAbove(result.usage.inputTokens ?? 0, 0)
    assert.isAbove(result.usage.outputTokens ?? 0, 0)
    assert.isFalse(result.usage.streamed)
    assert.approximately(result.usage.audioDurationMs, 1200, 1)
    assert.isAtLeast(result.usage.latencyMs ?? -1, 0)
  })

  it("leaves confidence out when logprobs are not asked for", async () => {
    const s = await simulator()
    const result = await sttFor(s, { model: "gpt-4o-mini-transcribe", logprobs: false }).recognize(
      words(hello),
    )
    assert.strictEqual(result.text, "bravo")
    assert.isUndefined(result.alternatives[0]?.confidence)
    assert.isUndefined(fieldsOf(s).include)
  })

  it("computes confidence as the mean of exp(logprob)", () => {
    assert.approximately(confidenceFromLogprobs([{ logprob: 0 }, { logprob: Math.log(0.5) }])!, 0.75, 1e-12)
    assert.isUndefined(confidenceFromLogprobs([{}, {}]))
    assert.isUndefined(confidenceFromLogprobs(undefined))
  })

  it("asks whisper-1 for verbose_json and times the transcript from its segments and words", async () => {
    const s = await simulator()
    const stt = sttFor(s, { model: "whisper-1", wordTimestamps: true, language: "en", prompt: "NATO words" })
    const pieces: readonly Piece[] = [
      { silenceMs: 500 },
      { word: 300, ms: 600 },
      { silenceMs: 600 },
      { word: 500, ms: 600 },
      { silenceMs: 400 },
    ]
    const result = await stt.recognize(words(pieces))
    assert.strictEqual(result.text, "bravo delta")
    const fields = fieldsOf(s)
    assert.deepStrictEqual(fields.response_format, ["verbose_json"])
    assert.deepStrictEqual(fields.timestamp_granularities, ["segment", "word"])
    assert.deepStrictEqual(fields.language, ["en"])
    assert.deepStrictEqual(fields.prompt, ["NATO words"])
    assert.isUndefined(fields.include)
    assert.strictEqual(result.language, "en")
    assert.isAbove(result.segments?.length ?? 0, 0)
    assert.deepStrictEqual(
      result.words?.map((w) => w.text),
      ["bravo", "delta"],
    )
    const alternative = result.alternatives[0]!
    assert.strictEqual(alternative.startMs, result.segments![0]!.startMs)
    assert.strictEqual(alternative.endMs, result.segments!.at(-1)!.endMs)
    assert.isAbove(alternative.startMs, 300)
    assert.isBelow(alternative.endMs, 2700)
    assert.isUndefined(alternative.confidence)
    assert.isAbove(result.usage.billedSeconds ?? 0, 0)
  })

  it("uploads 16 kHz mono WAV from 48 kHz stereo, or 24 kHz when asked", async () => {
    const s = await simulator()
    const frames = words([{ word: 400, ms: 1000 }], 48_000, 2)
    assert.strictEqual((await sttFor(s).recognize(frames)).text, "charlie")
    assert.strictEqual(fileOf(s, 0).bytes, 16_000 * 2 + 44)
    assert.strictEqual((await sttFor(s, { sampleRateHz: 24_000 }).recognize(frames)).text, "charlie")
    assert.strictEqual(fileOf(s, 1).bytes, 24_000 * 2 + 44)
  })

  it("sends temperature and a per-call language", async () => {
    const s = await simulator()
    await sttFor(s, { temperature: 0.2, language: "fr" }).recognize(words(hello), { language: "de" })
    const fields = fieldsOf(s)
    assert.deepStrictEqual(fields.temperature, ["0.2"])
    assert.deepStrictEqual(fields.language, ["de"])
  })

  it("streams interim text from the SSE deltas when streaming is on", async () => {
    const s = await simulator()
    const stt = sttFor(s, { model: "gpt-4o-transcribe", streaming: true })
    assert.isTrue(stt.capabilities.interimResults)
    const interims: string[] = []
    const pieces: readonly Piece[] = [{ word: 300, ms: 500 }, { silenceMs: 300 }, { word: 600, ms: 500 }]
    const result = await stt.recognize(words(pieces), { onInterim: (text) => interims.push(text) })
    assert.strictEqual(result.text, "bravo echo")
    assert.deepStrictEqual(fieldsOf(s).stream, ["true"])
    assert.isAbove(interims.length, 1)
    assert.strictEqual(interims.at(-1)?.trim(), "bravo echo")
    for (let i = 1; i < interims.length; i++) assert.isTrue(interims[i]!.startsWith(interims[i - 1]!))
    assert.isTrue(result.usage.streamed)
    assert.isDefined(result.alternatives[0]?.confidence)
  })

  it("surfaces the SSE deltas as interim transcripts when used as a stream", async () => {
    const s = await simulator()
    const stream = sttFor(s, { model: "gpt-4o-mini-transcribe", streaming: true }).stream()
    const pieces: readonly Piece[] = [
      { word: 300, ms: 500 },
      { silenceMs: 300 },
      { word: 600, ms: 500 },
      { silenceMs: 900 },
    ]
    for (const frame of words(pieces)) stream.pushFrame(frame)
    stream.endInput()
    const events = []
    for await (const event of stream) events.push(event)
    const types = events.map((e) => e.type)
    assert.isAbove(types.indexOf("final_transcript"), types.indexOf("interim_transcript"))
    assert.isAtLeast(types.indexOf("interim_transcript"), 1)
    const final = events.find((e) => e.type === "final_transcript")
    assert.strictEqual(final?.type === "final_transcript" ? final.alternatives[0]?.text : "", "bravo echo")
    const usage = events.find((e) => e.type === "recognition_usage")
    assert.isTrue(usage?.type === "recognition_usage" && usage.usage.streamed)
  })

  it("never streams whisper-1, which ignores stream", async () => {
    const s = await simulator()
    const stt = sttFor(s, { model: "whisper-1", streaming: true })
    assert.isFalse(stt.capabilities.interimResults)
    const result = await stt.recognize(words(hello))
    assert.isUndefined(fieldsOf(s).stream)
    assert.isFalse(result.usage.streamed)
  })

  it("retries 503s and succeeds on a later attempt", async () => {
    const s = await simulator()
    s.scenario.nextHttp("transcriptions", {
      status: 503,
      body: { error: { message: "busy", type: "server_error" } },
    })
    s.scenario.nextHttp("transcriptions", { status: 503 })
    const result = await sttFor(s).recognize(words(hello))
    assert.strictEqual(result.text, "bravo")
    assert.deepStrictEqual(
      requests(s).map((r) => r.httpStatus),
      [503, 503, 200],
    )
  })

  it("retries a destroyed connection", async () => {
    const s = await simulator()
    s.scenario.nextHttp("transcriptions", { status: 200, destroy: true })
    const result = await sttFor(s).recognize(words(hello))
    assert.strictEqual(result.text, "bravo")
    assert.strictEqual(requests(s).length, 2)
  })

  it("retries 429 and 408 but not 400", async () => {
    const s = await simulator()
    s.scenario.nextHttp("transcriptions", { status: 429 })
    s.scenario.nextHttp("transcriptions", { status: 408 })
    assert.strictEqual((await sttFor(s).recognize(words(hello))).text, "bravo")
    assert.strictEqual(requests(s).length, 3)
    s.scenario.nextHttp("transcriptions", {
      status: 400,
      body: { error: { message: "bad audio", type: "invalid_request_error", code: "invalid_value" } },
    })
    const error = await sttFor(s)
      .recognize(words(hello))
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    assert.instanceOf(error, STTError)
    const sttError = error as STTError
    assert.deepStrictEqual(sttError.reason._tag, "Http")
    if (sttError.reason._tag === "Http") {
      assert.strictEqual(sttError.reason.status, 400)
      assert.strictEqual(sttError.reason.code, "invalid_value")
    }
    assert.isFalse(sttError.retryable)
    assert.strictEqual(sttError.attempts, 1)
    assert.strictEqual(requests(s).length, 4)
  })

  it("makes one attempt for a 401, 403, 404 or 422", async () => {
    const s = await simulator()
    const wrongKey = createBatchSTT({
      openai: { apiKey: "sk-wrong", baseUrl: s.httpUrl },
      env: {},
      connectOptions: { retryIntervalMs: 1, jitter: false },
    })
    const unauthorized = (await wrongKey.recognize(words(hello)).catch((e: unknown) => e)) as STTError
    assert.instanceOf(unauthorized, STTError)
    assert.deepInclude(unauthorized.reason, { _tag: "Http", status: 401 })
    assert.strictEqual(unauthorized.attempts, 1)
    assert.isFalse(unauthorized.retryable)
    assert.strictEqual(requests(s).length, 1)
    for (const status of [403, 404, 422]) {
      s.scenario.nextHttp("transcriptions", {
        status,
        body: { error: { message: `refused with ${status}`, type: "invalid_request_error", code: null } },
      })
      const before = requests(s).length
      const error = (await sttFor(s)
        .recognize(words(hello))
        .catch((e: unknown) => e)) as STTError
      assert.instanceOf(error, STTError)
      assert.deepInclude(error.reason, { _tag: "Http", status })
      assert.strictEqual(error.attempts, 1, `${status}`)
      assert.isFalse(error.retryable, `${status}`)
      assert.strictEqual(requests(s).length - before, 1, `${status} was sent once`)
    }
  })

  it("treats a 429 for insufficient_quota as permanent, and retries a rate-limit 429", async () => {
    const s = await simulator()
    s.scenario.nextHttp("transcriptions", {
      status: 429,
      body: {
        error: {
          message: "You exceeded your current quota, please check your plan and billing details.",
          type: "insufficient_quota",
          code: "insufficient_quota",
        },
      },
    })
    const error = (await sttFor(s)
      .recognize(words(hello))
      .catch((e: unknown) => e)) as STTError
    assert.instanceOf(error, STTError)
    assert.deepInclude(error.reason, { _tag: "Http", status: 429, code: "insufficient_quota" })
    assert.isFalse(error.retryable)
    assert.strictEqual(error.attempts, 1)
    assert.strictEqual(requests(s).length, 1)
    s.scenario.nextHttp("transcriptions", {
      status: 429,
      body: { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
    })
    assert.strictEqual((await sttFor(s).recognize(words(hello))).text, "bravo")
    assert.strictEqual(requests(s).length, 3)
  })

  it("names the attempts and the connection error when every attempt loses its connection", async () => {
    const s = await simulator()
    for (let i = 0; i < 3; i++) s.scenario.nextHttp("transcriptions", { status: 200, destroy: true })
    const error = (await sttFor(s, { connectOptions: { maxRetry: 2, retryIntervalMs: 1, jitter: false } })
      .recognize(words(hello))
      .catch((e: unknown) => e)) as STTError
    assert.instanceOf(error, STTError)
    assert.strictEqual(error.reason._tag, "RetriesExhausted")
    if (error.reason._tag === "RetriesExhausted") {
      assert.strictEqual(error.reason.attempts, 3)
      assert.strictEqual(error.reason.last._tag, "Connection")
    }
    assert.strictEqual(error.attempts, 3)
    assert.isTrue(error.retryable)
    assert.match(error.message, /after 3 attempts: connection error/)
    assert.strictEqual(requests(s).length, 3)
  })

  it("fails with RetriesExhausted naming the attempts after the last retry", async () => {
    const s = await simulator()
    for (let i = 0; i < 5; i++) s.scenario.nextHttp("transcriptions", { status: 503 })
    const error = (await sttFor(s, { connectOptions: { maxRetry: 2, retryIntervalMs: 1, jitter: false } })
      .recognize(words(hello))
      .catch((e: unknown) => e)) as STTError
    assert.instanceOf(error, STTError)
    assert.strictEqual(error.reason._tag, "RetriesExhausted")
    assert.strictEqual(error.attempts, 3)
    assert.match(error.message, /after 3 attempts: HTTP 503/)
    assert.strictEqual(requests(s).length, 3)
  })

  it("times out a request that gets no answer and retries it", async () => {
    const s = await simulator()
    s.scenario.nextHttp("transcriptions", { status: 200, delayMs: 5_000 })
    const result = await sttFor(s, {
      connectOptions: { timeoutMs: 300, retryIntervalMs: 1, jitter: false },
    }).recognize(words(hello))
    assert.strictEqual(result.text, "bravo")
    assert.strictEqual(requests(s).length, 2)
  })

  it("makes no request for silence and returns an empty result", async () => {
    const s = await simulator()
    const result = await sttFor(s).recognize(words([{ silenceMs: 5_000 }]))
    assert.strictEqual(result.text, "")
    assert.deepStrictEqual(result.alternatives, [])
    assert.strictEqual(result.requests, 0)
    assert.approximately(result.usage.audioDurationMs, 5_000, 1)
    assert.strictEqual(requests(s).length, 0)
  })

  it("splits audio over the request limit at silences, in order, with progress", async () => {
    const s = await simulator()
    const limit = 64 * 1024 // (65 536 − 16 384 − 44) / 2 = 24 554 samples: 1.53 s at 16 kHz.
    const pieces: Piece[] = [{ silenceMs: 300 }]
    const spoken = [200, 300, 400, 500, 600, 700, 800]
    for (const word of spoken) pieces.push({ word, ms: 600 }, { silenceMs: 700 })
    const progress: RecognitionProgress[] = []
    const stt = sttFor(s, { model: "whisper-1", maxRequestBytes: limit, splitConcurrency: 3 })
    const result = await stt.recognize(words(pieces), { onProgress: (p) => progress.push(p) })
    assert.strictEqual(result.text, "alpha bravo charlie delta echo foxtrot golf")
    assert.isAbove(result.requests, 3)
    assert.strictEqual(requests(s).length, result.requests)
    for (let i = 0; i < result.requests; i++) {
      assert.isAtMost(fileOf(s, i).bytes + MULTIPART_OVERHEAD_BYTES, limit)
      // The whole multipart body, as the simulator received it, fits the limit.
      assert.isAtMost(requests(s)[i]!.received[0]!.bytes, limit)
      assert.strictEqual(requests(s)[i]?.httpStatus, 200)
    }
    assert.deepStrictEqual(progress[0], { done: 0, total: result.requests })
    assert.deepStrictEqual(progress.at(-1), { done: result.requests, total: result.requests })
    assert.deepStrictEqual(
      progress.map((p) => p.done),
      Array.from({ length: result.requests + 1 }, (_, i) => i),
    )
    // Segment times are offsets into the whole recording: increasing, the last near its end.
    const starts = result.segments!.map((seg) => seg.startMs)
    for (let i = 1; i < starts.length; i++) assert.isAbove(starts[i]!, starts[i - 1]!)
    assert.isAbove(result.alternatives[0]!.endMs, 8_000)
  })

  it("splits 10 minutes of speech at a pause under the real 25 MiB limit, which the simulator enforces with 413", async () => {
    const s = await simulator()
    // 10 min at 24 kHz (sent at 24 kHz: nothing is resampled) is 28.8 MB of PCM, more than
    // one request may carry: sent whole, it would be refused with a 413.
    const pieces: Piece[] = []
    for (let i = 0; i < 120; i++) pieces.push({ word: 300 + 100 * (i % 4), ms: 4_000 }, { silenceMs: 1_000 })
    const frame = { data: speech(pieces, 24_000), sampleRateHz: 24_000, channels: 1 }
    assert.isAbove(frame.data.length * 2, MAX_TRANSCRIPTION_REQUEST_BYTES)
    const progress: RecognitionProgress[] = []
    const result = await sttFor(s, { sampleRateHz: 24_000 }).recognize(frame, {
      onProgress: (p) => progress.push(p),
    })
    assert.strictEqual(result.requests, 2)
    assert.deepStrictEqual(
      requests(s).map((r) => r.httpStatus),
      [200, 200],
    )
    for (const request of requests(s))
      assert.isAtMost(request.received[0]!.bytes, MAX_TRANSCRIPTION_REQUEST_BYTES)
    assert.deepStrictEqual(progress.at(-1), { done: 2, total: 2 })
    // Nothing is lost at the cut: every one of the 120 words is transcribed once, in order.
    const heard = result.text.split(" ")
    assert.strictEqual(heard.length, 120)
    assert.deepStrictEqual(heard.slice(0, 4), ["bravo", "charlie", "delta", "echo"])
    assert.deepStrictEqual(heard.slice(-4), ["bravo", "charlie", "delta", "echo"])
  })

  it("fails with AudioTooLong, sending nothing, when speech has no silence to cut at", async () => {
    const s = await simulator()
    const stt = sttFor(s, { maxRequestBytes: 64 * 1024 })
    const error = (await stt
      .recognize(words([{ word: 300, ms: 3_000 }]))
      .catch((e: unknown) => e)) as STTError
    assert.instanceOf(error, STTError)
    assert.strictEqual(error.reason._tag, "AudioTooLong")
    assert.match(error.message, /without a pause/)
    assert.strictEqual(requests(s).length, 0)
  })

  it("reaches an Azure deployment with the dated path and an api-key header", async () => {
    const s = await simulator()
    const endpoint = s.httpUrl.replace(/\/v1$/, "")
    const stt = createBatchSTT({
      openai: {
        azure: { endpoint, apiKey: s.apiKey!, deployment: "whisper-prod", apiVersion: "2024-10-21" },
      },
      env: {},
      family: "whisper",
    })
    assert.strictEqual(stt.label, "azure/whisper-prod")
    const result = await stt.recognize(words(hello))
    assert.strictEqual(result.text, "bravo")
    const request = requests(s)[0]!
    assert.match(
      request.path,
      /^\/openai\/deployments\/whisper-prod\/audio\/transcriptions\?api-version=2024-10-21/,
    )
    assert.strictEqual(request.headers["api-key"], s.apiKey)
    assert.isUndefined(request.headers.authorization)
    assert.deepStrictEqual(fieldsOf(s).response_format, ["verbose_json"])
  })

  it("reaches an Azure v1 endpoint with the deployment as the model", async () => {
    const s = await simulator()
    const endpoint = s.httpUrl.replace(/\/v1$/, "")
    const stt = createBatchSTT({
      openai: { azure: { endpoint, apiKey: s.apiKey!, deployment: "my-4o" } },
      env: {},
    })
    assert.strictEqual((await stt.recognize(words(hello))).text, "bravo")
    assert.match(requests(s)[0]!.path, /^\/openai\/v1\/audio\/transcriptions/)
    assert.deepStrictEqual(fieldsOf(s).model, ["my-4o"])
  })

  it("uses a ready AzureOpenAI client when given one", async () => {
    const s = await simulator()
    const client = new AzureOpenAI({
      endpoint: s.httpUrl.replace(/\/v1$/, ""),
      apiKey: s.apiKey!,
      deployment: "whisper-prod",
      apiVersion: "2024-10-21",
      maxRetries: 0,
    })
    const stt = createBatchSTT({ client, model: "whisper-prod", family: "whisper" })
    assert.strictEqual(stt.label, "azure/whisper-prod")
    assert.strictEqual((await stt.recognize(words(hello))).text, "bravo")
    assert.match(requests(s)[0]!.path, /^\/openai\/deployments\/whisper-prod\/audio\/transcriptions/)
  })

  it("rejects with Aborted when the caller aborts", async () => {
    const s = await simulator()
    s.scenario.nextHttp("transcriptions", { status: 200, delayMs: 5_000 })
    const controller = new AbortController()
    const pending = sttFor(s).recognize(words(hello), { signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    const error = (await pending.catch((e: unknown) => e)) as STTError
    assert.instanceOf(error, STTError)
    assert.strictEqual(error.reason._tag, "Aborted")
  })

  it("rejects bad options when created", () => {
    assert.throws(() => createBatchSTT({ openai: { apiKey: "k" }, env: {}, temperature: 2 }), /temperature/)
    assert.throws(
      () => createBatchSTT({ openai: { apiKey: "k" }, env: {}, sampleRateHz: 8000 as 16000 }),
      /sampleRateHz/,
    )
    assert.throws(() => createBatchSTT({ env: {} }), /API key/)
  })
})

describe("the request size limit", () => {
  it("fits 13 min 38 s of 16 kHz mono in one 25 MiB request", () => {
    assert.strictEqual(MAX_TRANSCRIPTION_REQUEST_BYTES, 26_214_400)
    const samples = maxSamplesPerRequest()
    assert.strictEqual(samples, (26_214_400 - 16_384 - 44) / 2)
    assert.strictEqual(samples, 13_098_986)
    assert.approximately(samples / 16_000, 818.7, 0.1)
    assert.approximately(samples / 24_000, 545.8, 0.1)
  })

  it("cuts a 30-minute recording with pauses into three parts under the default limit", () => {
    const rate = 16_000
    const total = 30 * 60 * rate
    // Speech of 20 s, then 2 s of silence, over and over.
    const regions = []
    for (let at = 0; at + 20 * rate <= total; at += 22 * rate)
      regions.push({ startSample: at, endSample: at + 20 * rate })
    const plan = planParts(total, regions, maxSamplesPerRequest())
    assert.strictEqual(plan._tag, "Parts")
    if (plan._tag !== "Parts") return
    assert.strictEqual(plan.parts.length, 3)
    for (const part of plan.parts) assert.isAtMost(part.endSample - part.startSample, maxSamplesPerRequest())
    assert.strictEqual(plan.parts[0]!.startSample, 0)
    assert.strictEqual(plan.parts.at(-1)!.endSample, regions.at(-1)!.endSample)
  })

  it("sends one request for audio that fits, and none for no speech", () => {
    assert.deepStrictEqual(planParts(1000, [{ startSample: 10, endSample: 20 }], 2000), {
      _tag: "Parts",
      parts: [{ startSample: 0, endSample: 1000 }],
    })
    assert.deepStrictEqual(planParts(1000, [], 2000), { _tag: "Parts", parts: [] })
  })

  it("pads speech into the silence around it, never past the middle of a gap", () => {
    const plan = planParts(
      10_000,
      [
        { startSample: 1000, endSample: 2000 },
        { startSample: 2100, endSample: 3000 },
        { startSample: 6000, endSample: 7000 },
      ],
      2_500,
      500,
    )
    assert.deepStrictEqual(plan, {
      _tag: "Parts",
      parts: [
        { startSample: 500, endSample: 2050 },
        { startSample: 2050, endSample: 3500 },
        { startSample: 5500, endSample: 7500 },
      ],
    })
  })

  it("calls a region longer than the limit unsplittable", () => {
    const plan = planParts(10_000, [{ startSample: 0, endSample: 5000 }], 2000)
    assert.deepStrictEqual(plan, { _tag: "Unsplittable", region: { startSample: 0, endSample: 5000 } })
  })
})
