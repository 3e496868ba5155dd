/**
 * Tracing and metrics of recognition: spans on Effect's tracer exported to OpenTelemetry
 * through `@effect/opentelemetry` into an in-memory exporter; sensitive text and audio only
 * when opted in; the per-turn span hook; the recognition metrics.
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { afterEach, assert, describe, it } from "@effect/vitest"
import { SpanStatusCode } from "@opentelemetry/api"
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base"
import { Effect, Metric, type Tracer } from "effect"
import { decodeWav } from "../../src/audio/index.ts"
import { startSimulator } from "../../src/simulator/index.ts"
import type { Simulator } from "../../src/simulator/types.ts"
import { type BatchSTTOptions, createBatchSTT } from "../../src/stt/index.ts"
import {
  recordRecognition,
  SttSpanNames,
  sensitiveTraceOptions,
  sttAudioDurationMs,
  sttRecognitions,
  sttTokens,
  traceTurn,
} from "../../src/telemetry/index.ts"
import { speech, toFrames, wordsIn } from "./conformance.ts"

/** An OpenTelemetry pipeline into memory, and the Effect tracer that feeds it. */
const otel = (): { exporter: InMemorySpanExporter; tracer: Tracer.Tracer } => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = Effect.runSync(
    OtelTracer.make.pipe(Effect.provideService(OtelTracer.OtelTracer, provider.getTracer("voxstate-test"))),
  )
  return { exporter, tracer }
}

let sim: Simulator | undefined
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

const traced = async (options: BatchSTTOptions) => {
  sim = await startSimulator({ scenario: { transcripts: (r) => wordsIn(r.audio, 24_000).join(" ") } })
  const { exporter, tracer } = otel()
  const stt = createBatchSTT({
    openai: { apiKey: sim.apiKey!, baseUrl: sim.httpUrl },
    env: {},
    connectOptions: { retryIntervalMs: 1, jitter: false },
    tracer,
    ...options,
  })
  return { stt, exporter, sim }
}

const hello = toFrames(
  speech([{ silenceMs: 200 }, { word: 300, ms: 600 }, { silenceMs: 300 }], 16_000),
  16_000,
)

const byName = (spans: readonly ReadableSpan[], name: string) => spans.filter((s) => s.name === name)

const SENSITIVE = ["stt.output.text", "stt.input.audio", "stt.model_config.prompt"]

describe("recognition spans exported to OpenTelemetry", () => {
  it("records stt.recognize with one stt.request child per attempt, with the model configuration", async () => {
    const {
      stt,
      exporter,
      sim: s,
    } = await traced({ model: "gpt-4o-transcribe", language: "en", temperature: 0.1 })
    s.scenario.nextHttp("transcriptions", { status: 503 })
    await stt.recognize(hello)
    const spans = exporter.getFinishedSpans()
    const [recognize] = byName(spans, SttSpanNames.recognize)
    const requests = byName(spans, SttSpanNames.request)
    assert.isDefined(recognize)
    assert.strictEqual(requests.length, 2)
    for (const request of requests) {
      assert.strictEqual(request.parentSpanContext?.spanId, recognize!.spanContext().spanId)
      assert.strictEqual(request.attributes["gen_ai.request.model"], "gpt-4o-transcribe")
    }
    assert.deepStrictEqual(
      requests.map((r) => r.attributes["stt.attempt"]),
      [1, 2],
    )
    assert.strictEqual(requests[0]!.attributes["http.response.status_code"], 503)
    assert.strictEqual(requests[0]!.status.code, SpanStatusCode.ERROR)
    assert.notStrictEqual(requests[1]!.status.code, SpanStatusCode.ERROR)
    const attributes = recognize!.attributes
    assert.strictEqual(attributes["gen_ai.system"], "openai")
    assert.strictEqual(attributes["gen_ai.operation.name"], "transcription")
    assert.strictEqual(attributes["stt.model_config.language"], "en")
    assert.strictEqual(attributes["stt.model_config.temperature"], 0.1)
    assert.strictEqual(attributes["stt.model_config.response_format"], "json")
    assert.strictEqual(attributes["stt.model_config.sample_rate_hz"], 16_000)
    assert.strictEqual(attributes["stt.requests"], 1)
    assert.strictEqual(attributes["stt.streamed"], false)
    assert.isAbove(attributes["stt.audio_duration_ms"] as number, 1000)
    assert.isAbove(attributes["gen_ai.usage.input_tokens"] as number, 0)
  })

  it("keeps the transcript, the prompt and the audio off the spans unless asked", async () => {
    const { stt, exporter } = await traced({ prompt: "secret context" })
    await stt.recognize(hello)
    const spans = exporter.getFinishedSpans()
    assert.isAbove(spans.length, 1)
    for (const span of spans) {
      for (const key of SENSITIVE) assert.notProperty(span.attributes, key, `${span.name} has ${key}`)
      for (const value of Object.values(span.attributes)) {
        assert.notInclude(String(value), "bravo")
        assert.notInclude(String(value), "secret context")
      }
    }
  })

  it("puts the transcript and prompt on the spans with traceIncludeSensitiveText, audio still off", async () => {
    const { stt, exporter } = await traced({ prompt: "secret context", traceIncludeSensitiveText: true })
    await stt.recognize(hello)
    const [recognize] = byName(exporter.getFinishedSpans(), SttSpanNames.recognize)
    const [request] = byName(exporter.getFinishedSpans(), SttSpanNames.request)
    assert.strictEqual(recognize!.attributes["stt.output.text"], "bravo")
    assert.strictEqual(recognize!.attributes["stt.model_config.prompt"], "secret context")
    assert.strictEqual(request!.attributes["stt.output.text"], "bravo")
    assert.notProperty(request!.attributes, "stt.input.audio")
  })

  it("puts the request's audio as base64 WAV on the span with traceIncludeSensitiveAudio", async () => {
    const { stt, exporter } = await traced({ traceIncludeSensitiveAudio: true })
    await stt.recognize(hello)
    const [request] = byName(exporter.getFinishedSpans(), SttSpanNames.request)
    const audio = request!.attributes["stt.input.audio"]
    assert.isString(audio)
    const wav = decodeWav(new Uint8Array(Buffer.from(audio as string, "base64")))
    assert.strictEqual(wav.sampleRateHz, 16_000)
    assert.strictEqual(wav.channels, 1)
    assert.deepStrictEqual(wordsIn(wav.data, 16_000), ["bravo"])
    assert.strictEqual(request!.attributes["stt.input.format"], "wav")
    assert.notProperty(request!.attributes, "stt.output.text")
  })

  it("ends the recognize span with an error status when every attempt fails", async () => {
    const { stt, exporter, sim: s } = await traced({ connectOptions: { maxRetry: 0 } })
    s.scenario.nextHttp("transcriptions", { status: 500 })
    await stt.recognize(hello).catch(() => undefined)
    const [recognize] = byName(exporter.getFinishedSpans(), SttSpanNames.recognize)
    assert.strictEqual(recognize!.status.code, SpanStatusCode.ERROR)
  })
})

describe("turn spans of a stream", () => {
  it("makes each VAD segment a stt.turn span with the recognition nested under it", async () => {
    const { stt, exporter } = await traced({ model: "gpt-4o-transcribe", language: "en" })
    const stream = stt.stream()
    const pieces = [{ word: 300, ms: 600 }, { silenceMs: 900 }, { word: 500, ms: 600 }, { silenceMs: 900 }]
    for (const frame of toFrames(speech(pieces, 16_000), 16_000)) stream.pushFrame(frame)
    stream.endInput()
    for await (const _ of stream) {
      // drain
    }
    const spans = exporter.getFinishedSpans()
    const turns = byName(spans, SttSpanNames.turn)
    assert.deepStrictEqual(
      turns.map((t) => t.attributes["stt.item_id"]),
      ["segment_1", "segment_2"],
    )
    for (const turn of turns) {
      const recognize = byName(spans, SttSpanNames.recognize).find(
        (r) => r.parentSpanContext?.spanId === turn.spanContext().spanId,
      )
      assert.isDefined(recognize)
      const request = byName(spans, SttSpanNames.request).find(
        (r) => r.parentSpanContext?.spanId === recognize!.spanContext().spanId,
      )
      assert.isDefined(request)
      assert.isAbove(turn.attributes["stt.audio_duration_ms"] as number, 500)
      // The turn carries the model configuration of the batch STT, not just its label.
      assert.strictEqual(turn.attributes["gen_ai.request.model"], "gpt-4o-transcribe")
      assert.strictEqual(turn.attributes["gen_ai.system"], "openai")
      assert.strictEqual(turn.attributes["stt.model_config.response_format"], "json")
      assert.strictEqual(turn.attributes["stt.model_config.language"], "en")
      assert.strictEqual(turn.attributes["stt.label"], "openai/gpt-4o-transcribe")
      for (const key of SENSITIVE) assert.notProperty(turn.attributes, key)
    }
  })
})

describe("turn spans of a stream, opted in", () => {
  it("puts each segment's transcript and audio on its stt.turn span when asked", async () => {
    const { stt, exporter } = await traced({
      model: "gpt-4o-transcribe",
      traceIncludeSensitiveText: true,
      traceIncludeSensitiveAudio: true,
    })
    const stream = stt.stream()
    const pieces = [{ word: 300, ms: 600 }, { silenceMs: 900 }, { word: 500, ms: 600 }, { silenceMs: 900 }]
    for (const frame of toFrames(speech(pieces, 16_000), 16_000)) stream.pushFrame(frame)
    stream.endInput()
    for await (const _ of stream) {
      // drain
    }
    const turns = byName(exporter.getFinishedSpans(), SttSpanNames.turn)
    assert.deepStrictEqual(
      turns.map((t) => t.attributes["stt.output.text"]),
      ["bravo", "delta"],
    )
    const heard = turns.map((t) => {
      const wav = decodeWav(new Uint8Array(Buffer.from(t.attributes["stt.input.audio"] as string, "base64")))
      return wordsIn(wav.data, wav.sampleRateHz)
    })
    assert.deepStrictEqual(heard, [["bravo"], ["delta"]])
  })
})

describe("traceTurn", () => {
  const config = { model: "gpt-4o-transcribe", language: "en", turnDetection: { type: "server_vad" } }
  const audio = { samples: new Int16Array(1600).fill(1000), sampleRateHz: 16_000 }

  it("exports one stt.turn span per turn with the model configuration and usage", () => {
    const { exporter, tracer } = otel()
    const turn = traceTurn({ config, tracer, itemId: "item_1" })
    turn.event("interim", { chars: 5 })
    turn.end({
      transcript: "hello",
      audio,
      usage: { audioDurationMs: 100, latencyMs: 80, streamed: true, inputTokens: 7, outputTokens: 2 },
    })
    turn.end({ transcript: "again" })
    const spans = exporter.getFinishedSpans()
    assert.strictEqual(spans.length, 1)
    const span = spans[0]!
    assert.strictEqual(span.name, "stt.turn")
    assert.strictEqual(span.attributes["stt.item_id"], "item_1")
    assert.strictEqual(span.attributes["stt.model_config.turn_detection"], '{"type":"server_vad"}')
    assert.strictEqual(span.attributes["stt.latency_ms"], 80)
    assert.strictEqual(span.attributes["stt.streamed"], true)
    assert.strictEqual(span.attributes["gen_ai.usage.output_tokens"], 2)
    assert.deepStrictEqual(
      span.events.map((e) => e.name),
      ["interim"],
    )
    for (const key of SENSITIVE) assert.notProperty(span.attributes, key)
    assert.isTrue(turn.ended)
  })

  it("adds text and audio only when opted in, and marks failed turns as errors", () => {
    const { exporter, tracer } = otel()
    traceTurn({ config, tracer, traceIncludeSensitiveText: true, traceIncludeSensitiveAudio: true }).end({
      transcript: "hello",
      audio,
    })
    traceTurn({ config, tracer }).end({ error: new Error("transcription failed") })
    const [ok, failed] = exporter.getFinishedSpans()
    assert.strictEqual(ok!.attributes["stt.output.text"], "hello")
    assert.isString(ok!.attributes["stt.input.audio"])
    assert.strictEqual(failed!.status.code, SpanStatusCode.ERROR)
  })

  it("nests turns under a parent span", () => {
    const { exporter, tracer } = otel()
    const session = traceTurn({ config, tracer, name: "stt.session" })
    traceTurn({ config, tracer, parent: session.span }).end()
    session.end()
    const [turn, parent] = exporter.getFinishedSpans()
    assert.strictEqual(turn!.parentSpanContext?.spanId, parent!.spanContext().spanId)
  })
})

describe("sensitiveTraceOptions", () => {
  it("keeps only the opt-ins that are set, false included, and nothing else", () => {
    assert.deepStrictEqual(sensitiveTraceOptions({}), {})
    const options = { model: "whisper-1", traceIncludeSensitiveText: false, traceIncludeSensitiveAudio: true }
    assert.deepStrictEqual(sensitiveTraceOptions(options), {
      traceIncludeSensitiveText: false,
      traceIncludeSensitiveAudio: true,
    })
    assert.notProperty(
      sensitiveTraceOptions({ traceIncludeSensitiveText: true }),
      "traceIncludeSensitiveAudio",
    )
  })
})

describe("recognition metrics", () => {
  it("counts recognitions, audio and tokens by label", async () => {
    const attributes = { label: "metrics-test", model: "m" }
    const recognitions = Metric.withAttributes(sttRecognitions, {
      ...attributes,
      streamed: "false",
      outcome: "ok",
    })
    const audio = Metric.withAttributes(sttAudioDurationMs, { ...attributes, streamed: "false" })
    const input = Metric.withAttributes(sttTokens, { ...attributes, direction: "input" })
    const before = await Effect.runPromise(
      Effect.all([Metric.value(recognitions), Metric.value(audio), Metric.value(input)]),
    )
    await Effect.runPromise(
      recordRecognition(
        { audioDurationMs: 1500, latencyMs: 200, streamed: false, inputTokens: 12 },
        attributes,
      ),
    )
    const after = await Effect.runPromise(
      Effect.all([Metric.value(recognitions), Metric.value(audio), Metric.value(input)]),
    )
    assert.strictEqual(after[0].count - before[0].count, 1)
    assert.strictEqual(after[1].count - before[1].count, 1500)
    assert.strictEqual(after[2].count - before[2].count, 12)
  })

  it("counts a batch recognition and an empty one", async () => {
    sim = await startSimulator({ scenario: { transcripts: ["bravo"] } })
    const stt = createBatchSTT({
      openai: { apiKey: sim.apiKey!, baseUrl: sim.httpUrl },
      env: {},
      label: "metrics-batch",
    })
    const count = (outcome: string) =>
      Effect.runPromise(
        Metric.value(
          Metric.withAttributes(sttRecognitions, {
            label: "metrics-batch",
            model: "gpt-4o-mini-transcribe",
            streamed: "false",
            outcome,
          }),
        ),
      ).then((state) => state.count)
    await stt.recognize(hello)
    await stt.recognize(toFrames(speech([{ silenceMs: 1000 }], 16_000), 16_000))
    sim.scenario.nextHttp("transcriptions", { status: 400 })
    await stt.recognize(hello).catch(() => undefined)
    assert.strictEqual(await count("ok"), 1)
    assert.strictEqual(await count("empty"), 1)
    assert.strictEqual(await count("error"), 1)
    const audio = await Effect.runPromise(
      Metric.value(
        Metric.withAttributes(sttAudioDurationMs, {
          label: "metrics-batch",
          model: "gpt-4o-mini-transcribe",
          streamed: "false",
        }),
      ),
    )
    // 1.1 s of speech and 1 s of silence were recognized; the failed call counts no audio.
    assert.strictEqual(audio.count, 2100)
  })
})
