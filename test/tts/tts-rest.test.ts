/**
 * createTTS against the simulator's `/audio/speech` on real sockets: framing across odd-byte
 * chunks, first frame before the end of the response, segmentation of a token stream,
 * pipelined requests kept in text order, cancel, retries only before first audio, the
 * 4096-character limit, bad input, tracing, and teardown.
 */
import { inspect } from "node:util"
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { afterEach, assert, describe, it } from "@effect/vitest"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect } from "effect"
import { concatPcm16 } from "../../src/audio/index.ts"
import { startSimulator, synthesizeSpeech } from "../../src/simulator/index.ts"
import type { Simulator } from "../../src/simulator/types.ts"
import { REDACTED_TEXT } from "../../src/transport/index.ts"
import {
  createTTS,
  isTTSError,
  type SegmentMetrics,
  type SynthesisEvent,
  type SynthesisStream,
  type SynthesizedAudio,
  type TTSOptions,
} from "../../src/tts/index.ts"
import { eventually, handlesBackTo, settledHandles } from "../stt/transcriptionSessionHelpers.ts"

/** Generous bound for waits on real sockets; never a measure of speed. */
const WAIT_MS = 10_000

let sim: Simulator | undefined
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

const setup = async (options: TTSOptions = {}) => {
  sim = await startSimulator()
  const tts = createTTS({
    openai: { apiKey: sim.apiKey!, baseUrl: sim.httpUrl },
    env: {},
    connectOptions: { retryIntervalMs: 1, jitter: false, maxRetry: 2 },
    ...options,
  })
  return { sim, tts }
}

/** Every event of a stream, and the error its iteration threw. */
const drain = async (stream: SynthesisStream): Promise<{ events: SynthesisEvent[]; error?: unknown }> => {
  const events: SynthesisEvent[] = []
  try {
    for await (const event of stream) events.push(event)
    return { events }
  } catch (error) {
    return { events, error }
  }
}

const audioOf = (events: readonly SynthesisEvent[]): SynthesizedAudio[] =>
  events.filter((e): e is SynthesizedAudio => e.type === "audio")
const metricsOf = (events: readonly SynthesisEvent[]): SegmentMetrics[] =>
  events.filter((e): e is SegmentMetrics => e.type === "metrics")
const samplesOf = (events: readonly SynthesisEvent[]): Int16Array =>
  concatPcm16(audioOf(events).map((a) => a.frame.data))

/** The speech requests the simulator received, in order (their JSON bodies). */
const speechRequests = (s: Simulator): Array<Record<string, unknown>> =>
  s.connections
    .filter((c) => c.kind === "http")
    .flatMap((c) => c.received.map((r) => r.payload))
    .filter((p): p is Record<string, unknown> => p !== null && typeof p === "object" && "input" in p)

const httpRecords = (s: Simulator) => s.connections.filter((c) => c.kind === "http")

/** What the simulator speaks for `text` (its voice is deterministic). */
const voiceOf = (s: Simulator, text: string): Int16Array => synthesizeSpeech(text, { seed: s.scenario.seed })

/** Asserts 20 ms frames in each segment, only the segment's last one shorter and flagged final. */
const assertFraming = (events: readonly SynthesisEvent[]) => {
  const bySegment = new Map<string, SynthesizedAudio[]>()
  for (const audio of audioOf(events)) {
    const list = bySegment.get(audio.segmentId) ?? []
    list.push(audio)
    bySegment.set(audio.segmentId, list)
  }
  for (const [segmentId, frames] of bySegment) {
    frames.forEach((audio, i) => {
      const last = i === frames.length - 1
      assert.strictEqual(audio.final, last, `${segmentId} frame ${i}: final only on the last`)
      assert.strictEqual(audio.frame.sampleRateHz, 24_000)
      assert.strictEqual(audio.frame.channels, 1)
      if (!last) assert.strictEqual(audio.frame.data.length, 480, `${segmentId} frame ${i} is 20 ms`)
      else assert.isAtMost(audio.frame.data.length, 480)
    })
  }
}

describe("createTTS against the simulator", () => {
  it("cuts a body in odd-byte chunks into exact 20 ms frames with every sample in place", async () => {
    const { sim, tts } = await setup()
    const text = "The quick brown fox jumps over the lazy dog. It was not amused."
    const { events, error } = await drain(tts.synthesize(text))
    assert.isUndefined(error)
    assertFraming(events)
    assert.deepStrictEqual(samplesOf(events), voiceOf(sim, text))
    const [metrics] = metricsOf(events)
    assert.strictEqual(metrics?.characters, text.length)
    assert.strictEqual(metrics?.attempts, 1)
    assert.match(metrics?.requestId ?? "", /^req_/)
    assert.strictEqual(audioOf(events)[0]?.requestId, metrics?.requestId)
    assert.closeTo(metrics?.audioDurationMs ?? 0, (voiceOf(sim, text).length / 24_000) * 1000, 0.001)
    assert.isAtLeast(metrics?.ttffMs ?? -1, metrics?.ttfbMs ?? 0)
  })

  it("lets the first frame out before the response has ended", async () => {
    const { sim, tts } = await setup()
    sim.scenario.nextHttp("speech", { status: 200, stream: { betweenChunksMs: 15 } })
    const stream = tts.synthesize("A sentence long enough to take a good number of chunks to arrive.")
    let openAtFirstFrame: boolean | undefined
    let frames = 0
    for await (const event of stream) {
      if (event.type !== "audio") continue
      if (frames++ === 0) openAtFirstFrame = httpRecords(sim)[0]?.open
    }
    assert.isTrue(openAtFirstFrame, "the request was still being answered when the first frame came")
    assert.isAbove(frames, 50)
  })

  it("also reads the SSE stream format, frames unchanged", async () => {
    const { sim, tts } = await setup({ streamFormat: "sse" })
    const text = "Server sent events carry the audio in base64."
    const { events, error } = await drain(tts.synthesize(text))
    assert.isUndefined(error)
    assertFraming(events)
    assert.deepStrictEqual(samplesOf(events), voiceOf(sim, text))
    assert.strictEqual(speechRequests(sim)[0]?.stream_format, "sse")
  })

  it("makes one request per sentence of a token-by-token stream (chunked), in text order", async () => {
    const { sim, tts } = await setup({ chunked: true })
    const text = "Dr. Smith paid 3.50 dollars at example.com today. Well... that was odd! Was it fair? Yes."
    const stream = tts.stream()
    for (const token of text.match(/\S+\s*/g) ?? []) stream.pushText(token)
    stream.endInput()
    const { events, error } = await drain(stream)
    assert.isUndefined(error)
    const inputs = speechRequests(sim).map((r) => r.input)
    assert.deepStrictEqual(inputs, [
      "Dr. Smith paid 3.50 dollars at example.com today.",
      "Well... that was odd!",
      "Was it fair? Yes.",
    ])
    assertFraming(events)
    assert.deepStrictEqual(samplesOf(events), concatPcm16(inputs.map((t) => voiceOf(sim, String(t)))))
  })

  it("gathers a stream into one request per flush marker by default (chunked: false)", async () => {
    const { sim, tts } = await setup()
    const stream = tts.stream()
    for (const token of ["Hello ", "there. ", "How ", "are ", "you?"]) stream.pushText(token)
    stream.flush()
    for (const token of ["Fine, ", "thanks."]) stream.pushText(token)
    stream.endInput()
    const { events, error } = await drain(stream)
    assert.isUndefined(error)
    assert.deepStrictEqual(
      speechRequests(sim).map((r) => r.input),
      ["Hello there. How are you?", "Fine, thanks."],
    )
    assert.deepStrictEqual(
      metricsOf(events).map((m) => m.segmentId),
      ["seg_0", "seg_1"],
    )
  })

  it("keeps frames in text order while a slow first request and a fast second one are in flight", async () => {
    const { sim, tts } = await setup({ chunked: true, minSentenceChars: 0 })
    sim.scenario.nextHttp("speech", { status: 200, stream: { firstByteMs: 1_500 } })
    const stream = tts.stream()
    stream.pushText("The first sentence is slow to start. The second one is quick.")
    stream.endInput()
    const { events, error } = await drain(stream)
    assert.isUndefined(error)
    const records = httpRecords(sim)
    assert.strictEqual(records.length, 2)
    // The second request arrived while the first was still waiting for its first byte.
    assert.isBelow((records[1]?.received[0]?.atMs ?? 0) - (records[0]?.received[0]?.atMs ?? 0), 1_500)
    const segmentOrder = audioOf(events).map((a) => a.segmentId)
    const firstOfSecond = segmentOrder.indexOf("seg_1")
    assert.isAbove(firstOfSecond, 0)
    assert.isTrue(segmentOrder.slice(firstOfSecond).every((id) => id === "seg_1"))
    assert.deepStrictEqual(
      samplesOf(events),
      concatPcm16([
        voiceOf(sim, "The first sentence is slow to start."),
        voiceOf(sim, "The second one is quick."),
      ]),
    )
  })

  it("stops at once when cancelled mid-segment: no further frame, the request aborted", async () => {
    const { sim, tts } = await setup()
    sim.scenario.nextHttp("speech", { status: 200, stream: { betweenChunksMs: 30 } })
    const stream = tts.synthesize(
      "A long sentence that will be cut off before the simulator has finished speaking it.",
    )
    const seen: SynthesisEvent[] = []
    let afterCancel = 0
    let cancelled = false
    for await (const event of stream) {
      if (cancelled) afterCancel++
      seen.push(event)
      if (!cancelled && audioOf(seen).length === 3) {
        cancelled = true
        await stream.cancel()
      }
    }
    assert.strictEqual(afterCancel, 0)
    assert.lengthOf(audioOf(seen), 3)
    await eventually(() => httpRecords(sim)[0]?.open === false, WAIT_MS)
  })

  it("cancels between segments: the next segment's request is aborted and none of its frames leaves", async () => {
    const { sim, tts } = await setup({ chunked: true, minSentenceChars: 0 })
    sim.scenario.nextHttp("speech", { status: 200, stream: {} })
    sim.scenario.nextHttp("speech", { status: 200, stream: { firstByteMs: 5_000 } })
    const stream = tts.stream()
    stream.pushText("One short sentence. Then a second one that never plays.")
    stream.endInput()
    const seen: SynthesisEvent[] = []
    for await (const event of stream) {
      seen.push(event)
      if (event.type === "metrics" && event.segmentId === "seg_0") await stream.cancel()
    }
    assert.isTrue(audioOf(seen).every((a) => a.segmentId === "seg_0"))
    assert.strictEqual(seen[seen.length - 1]?.type, "metrics")
    await eventually(() => httpRecords(sim).length === 2 && httpRecords(sim).every((c) => !c.open), WAIT_MS)
  })

  it("ends the iteration when the consumer breaks out of it, aborting the request", async () => {
    const { sim, tts } = await setup()
    sim.scenario.nextHttp("speech", { status: 200, stream: { betweenChunksMs: 30 } })
    for await (const event of tts.synthesize("Break out of the loop after the first frame, please.")) {
      if (event.type === "audio") break
    }
    await eventually(() => httpRecords(sim)[0]?.open === false, WAIT_MS)
  })

  it("retries a 429 before the first audio after the server's retry-after, and the audio is whole", async () => {
    const { sim, tts } = await setup()
    sim.scenario.nextHttp("speech", { status: 429, headers: { "retry-after-ms": "150" } })
    const text = "Rate limits happen."
    const { events, error } = await drain(tts.synthesize(text))
    assert.isUndefined(error)
    const records = httpRecords(sim)
    assert.strictEqual(records.length, 2)
    assert.isAtLeast((records[1]?.received[0]?.atMs ?? 0) - (records[0]?.received[0]?.atMs ?? 0), 140)
    assert.deepStrictEqual(samplesOf(events), voiceOf(sim, text))
    assert.strictEqual(metricsOf(events)[0]?.attempts, 2)
  })

  it("retries an attempt whose first byte is slower than timeoutMs", async () => {
    const { sim, tts } = await setup({
      connectOptions: { timeoutMs: 1_000, retryIntervalMs: 1, jitter: false },
    })
    sim.scenario.nextHttp("speech", { status: 200, stream: { firstByteMs: 10_000 } })
    const text = "Second time lucky."
    const { events, error } = await drain(tts.synthesize(text))
    assert.isUndefined(error)
    assert.strictEqual(httpRecords(sim).length, 2)
    assert.deepStrictEqual(samplesOf(events), voiceOf(sim, text))
  })

  it("bounds the wait for first audio as a whole: a retry-after of a minute ends in a Timeout", async () => {
    const { sim, tts } = await setup({
      connectOptions: { maxRetry: 3, retryIntervalMs: 1, jitter: false, totalTimeoutMs: 300 },
    })
    sim.scenario.nextHttp("speech", { status: 429, headers: { "retry-after-ms": "60000" } })
    const started = performance.now()
    const { events, error } = await drain(tts.synthesize("Patience has limits."))
    assert.isBelow(performance.now() - started, WAIT_MS)
    assert.lengthOf(events, 0)
    assert.isTrue(isTTSError(error))
    if (!isTTSError(error)) return
    assert.deepInclude(error.reason, { _tag: "Timeout", phase: "firstAudio", timeoutMs: 300 })
    assert.strictEqual(httpRecords(sim).length, 1)
  })

  it("does not retry once audio has come: a connection dropped mid-body fails the segment, typed", async () => {
    const { sim, tts } = await setup()
    sim.scenario.nextHttp("speech", { status: 200, stream: { dropAfterBytes: 12_345 } })
    const { events, error } = await drain(
      tts.synthesize("The connection breaks in the middle of this sentence."),
    )
    assert.isTrue(isTTSError(error))
    if (!isTTSError(error)) return
    assert.strictEqual(error.reason._tag, "Connection")
    assert.strictEqual(error.segmentId, "seg_0")
    assert.strictEqual(httpRecords(sim).length, 1, "no second request")
    // What came before the break was delivered, whole frames only, and no more than was sent.
    const frames = audioOf(events)
    assert.isAbove(frames.length, 0)
    assert.isTrue(frames.every((f) => f.frame.data.length === 480))
    assert.isAtMost(frames.length * 960, 12_345)
  })

  it("fails a segment whose audio stops for longer than readTimeoutMs, without a retry", async () => {
    const { sim, tts } = await setup({ readTimeoutMs: 200 })
    sim.scenario.nextHttp("speech", { status: 200, stream: { betweenChunksMs: 5_000 } })
    const { events, error } = await drain(tts.synthesize("The audio stalls after its first chunk."))
    assert.isTrue(isTTSError(error))
    if (!isTTSError(error)) return
    assert.deepInclude(error.reason, { _tag: "Timeout", phase: "read", timeoutMs: 200 })
    assert.isAbove(audioOf(events).length, 0, "the first chunk's frames were delivered")
    assert.strictEqual(httpRecords(sim).length, 1)
    await eventually(() => httpRecords(sim)[0]?.open === false, WAIT_MS)
  })

  it("refuses a 2xx answer that is not audio, without a retry", async () => {
    const { sim, tts } = await setup()
    sim.scenario.nextHttp("speech", { status: 200, body: { surprise: true } })
    const { events, error } = await drain(tts.synthesize("Expecting audio."))
    assert.lengthOf(events, 0)
    assert.isTrue(isTTSError(error) && error.reason._tag === "InvalidResponse" && !error.retryable)
    assert.strictEqual(httpRecords(sim).length, 1)
  })

  it("gives up after maxRetry with RetriesExhausted naming the attempts", async () => {
    const { sim, tts } = await setup({ connectOptions: { maxRetry: 1, retryIntervalMs: 1, jitter: false } })
    sim.scenario.nextHttp("speech", { status: 503 })
    sim.scenario.nextHttp("speech", { status: 503 })
    const { events, error } = await drain(tts.synthesize("Down, down."))
    assert.lengthOf(events, 0)
    assert.isTrue(isTTSError(error) && error.reason._tag === "RetriesExhausted" && error.attempts === 2)
  })

  it("splits a text over 4096 characters at sentence ends, the audio in order", async () => {
    const { sim, tts } = await setup()
    const sentences = Array.from(
      { length: 90 },
      (_, i) => `Sentence number ${i} is here to fill the page up.`,
    )
    const text = sentences.join(" ")
    assert.isAbove(text.length, 4096)
    const { events, error } = await drain(tts.synthesize(text))
    assert.isUndefined(error)
    const inputs = speechRequests(sim).map((r) => String(r.input))
    assert.isAbove(inputs.length, 1)
    for (const input of inputs) {
      assert.isAtMost(input.length, 4096)
      assert.isTrue(input.endsWith("up."))
    }
    assert.strictEqual(inputs.join(" "), text)
    assert.deepStrictEqual(samplesOf(events), concatPcm16(inputs.map((t) => voiceOf(sim, t))))
  })

  it("refuses bad input with a typed error: empty text, an unknown voice, a bad speed", async () => {
    const { tts } = await setup()
    for (const text of ["", "   "]) {
      const error = (() => {
        try {
          tts.synthesize(text)
        } catch (e) {
          return e
        }
      })()
      assert.isTrue(isTTSError(error) && error.reason._tag === "InvalidInput")
    }
    assert.throws(() => createTTS({ voice: "nobody", openai: { apiKey: "k" }, env: {} }), /unknown voice/)
    assert.throws(() => tts.synthesize("Hi.", { voice: "nobody" }), /unknown voice/)
    assert.throws(() => createTTS({ speed: 9, openai: { apiKey: "k" }, env: {} }), /speed/)
    const stream = tts.stream()
    assert.throws(() => stream.pushText(42 as unknown as string), /takes a string/)
    stream.endInput()
    assert.throws(() => stream.pushText("late"), /after endInput/)
    await stream.cancel()
  })

  it("takes a custom voice { id } and the speed, language and instructions options", async () => {
    const { sim, tts } = await setup({
      voice: { id: "voice_123" },
      speed: 1.5,
      language: "fr",
      instructions: "Calm.",
    })
    const { error } = await drain(tts.synthesize("Bonjour."))
    assert.isUndefined(error)
    const [request] = speechRequests(sim)
    assert.deepStrictEqual(request?.voice, { id: "voice_123" })
    assert.strictEqual(request?.speed, 1.5)
    assert.strictEqual(request?.language, "fr")
    assert.strictEqual(request?.instructions, "Calm.")
    assert.strictEqual(request?.response_format, "pcm")
    assert.strictEqual(request?.model, "gpt-4o-mini-tts")
  })

  it("drops instructions for a model without them, with one warning", async () => {
    const warnings: string[] = []
    const { sim, tts } = await setup({
      model: "tts-1",
      instructions: "Whisper.",
      onWarning: (m) => warnings.push(m),
    })
    await drain(tts.synthesize("One."))
    await drain(tts.synthesize("Two."))
    assert.lengthOf(warnings, 1)
    assert.isTrue(speechRequests(sim).every((r) => !("instructions" in r)))
  })

  it("fails with a typed, non-retried Http error when a deployment refuses instructions", async () => {
    const { sim, tts } = await setup({
      model: "tts-1",
      instructions: "Whisper.",
      instructionsSupported: true,
    })
    const { error } = await drain(tts.synthesize("Hello."))
    assert.isTrue(isTTSError(error))
    if (!isTTSError(error)) return
    assert.deepInclude(error.reason, { _tag: "Http", status: 400, code: "unsupported_parameter" })
    assert.isFalse(error.retryable)
    assert.strictEqual(httpRecords(sim).length, 1)
    assert.notInclude(error.message, sim.apiKey ?? "sk-simulator")
  })

  it("never passes on a credential the server echoes in an error", async () => {
    const { sim, tts } = await setup()
    const key = sim.apiKey ?? ""
    sim.scenario.nextHttp("speech", {
      status: 401,
      body: {
        error: {
          message: `Incorrect API key provided: ${key}.`,
          type: "invalid_request_error",
          param: null,
          code: "invalid_api_key",
        },
      },
    })
    const { error } = await drain(tts.synthesize("Who am I?"))
    assert.isTrue(isTTSError(error))
    assert.notInclude(String((error as Error).message), key)
    assert.include(String((error as Error).message), REDACTED_TEXT)
    assert.notInclude(inspect(error, { depth: 20 }), key)
  })

  it("reaches an Azure deployment with the dated path, the api-key header and no model guess", async () => {
    sim = await startSimulator()
    const endpoint = sim.httpUrl.replace(/\/v1$/, "")
    const tts = createTTS({
      openai: {
        azure: { endpoint, apiKey: sim.apiKey!, deployment: "speech-prod", apiVersion: "2025-04-01-preview" },
      },
      env: {},
    })
    assert.strictEqual(tts.label, "azure/speech-prod")
    const text = "Azure speaks too."
    const { events, error } = await drain(tts.synthesize(text))
    assert.isUndefined(error)
    assert.deepStrictEqual(samplesOf(events), voiceOf(sim, text))
    const record = httpRecords(sim)[0]
    assert.match(
      record?.path ?? "",
      /^\/openai\/deployments\/speech-prod\/audio\/speech\?api-version=2025-04-01-preview/,
    )
    assert.strictEqual(record?.headers["api-key"], sim.apiKey)
    assert.isUndefined(record?.headers.authorization)
  })

  it("records one tts.segment span per segment, the text only with the sensitive-data opt-in", async () => {
    const spansOf = async (include: boolean) => {
      const exporter = new InMemorySpanExporter()
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
      const tracer = Effect.runSync(
        OtelTracer.make.pipe(Effect.provideService(OtelTracer.OtelTracer, provider.getTracer("t"))),
      )
      const { tts } = await setup({
        chunked: true,
        minSentenceChars: 0,
        tracer,
        traceIncludeSensitiveText: include,
      })
      const stream = tts.stream()
      stream.pushText("First things first. Second things second.")
      stream.endInput()
      await drain(stream)
      await sim?.close()
      sim = undefined
      return exporter.getFinishedSpans().filter((s) => s.name === "tts.segment")
    }
    const hidden = await spansOf(false)
    assert.lengthOf(hidden, 2)
    assert.strictEqual(hidden[0]?.attributes["tts.characters"], "First things first.".length)
    assert.match(String(hidden[0]?.attributes["tts.request_id"]), /^req_/)
    assert.isUndefined(hidden[0]?.attributes["tts.input.text"])
    const shown = await spansOf(true)
    assert.deepStrictEqual(shown.map((s) => s.attributes["tts.input.text"]).sort(), [
      "First things first.",
      "Second things second.",
    ])
  })

  it("leaves no socket or timer behind after a cancel mid-request", async () => {
    const { sim, tts } = await setup()
    const baseline = await settledHandles()
    sim.scenario.nextHttp("speech", { status: 200, stream: { betweenChunksMs: 50 } })
    const stream = tts.synthesize("Teardown must leave nothing behind, not even a timer.")
    for await (const event of stream) {
      if (event.type === "audio") {
        await stream.cancel()
      }
    }
    await tts.close()
    await handlesBackTo(baseline, WAIT_MS)
  })
})
