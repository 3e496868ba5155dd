/**
 * The transcription session's per-turn `stt.turn` spans, exported to OpenTelemetry through
 * `@effect/opentelemetry` into an in-memory exporter: one span per turn with the model
 * configuration, usage and latency; transcript and audio only when opted in; the same span
 * across a reconnect; failed turns marked as errors; the Effect form on the fiber's tracer.
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { assert, describe, it } from "@effect/vitest"
import { SpanStatusCode } from "@opentelemetry/api"
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base"
import { Effect, type Tracer } from "effect"
import { decodeWav } from "../../src/audio/index.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import type { SpeechEvent } from "../../src/stt/SpeechEvent.ts"
import {
  createTranscriptionSession,
  TranscriptionSession,
  type TranscriptionSessionOptions,
} from "../../src/stt/TranscriptionSession.ts"
import { traceTurn } from "../../src/telemetry/index.ts"
import { RealtimeSocket } from "../../src/transport/index.ts"
import {
  collect,
  concat,
  eventually,
  finals,
  pushAudio,
  silenceAt,
  toneAt,
  transcriptionConnections,
} from "./transcriptionSessionHelpers.ts"

/** An OpenTelemetry pipeline into memory, and the Effect tracer that feeds it. */
const otel = (): { exporter: InMemorySpanExporter; tracer: Tracer.Tracer } => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = Effect.runSync(
    OtelTracer.make.pipe(Effect.provideService(OtelTracer.OtelTracer, provider.getTracer("voxstate-test"))),
  )
  return { exporter, tracer }
}

const turnSpans = (exporter: InMemorySpanExporter): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.name === "stt.turn")

const SENSITIVE = ["stt.output.text", "stt.input.audio", "stt.model_config.prompt"]

const withSimulator = async <A>(
  options: Parameters<typeof startSimulator>[0],
  use: (sim: Simulator) => Promise<A>,
): Promise<A> => {
  const sim = await startSimulator(options)
  try {
    return await use(sim)
  } finally {
    await sim.close()
  }
}

const optionsFor = (
  sim: Simulator,
  extra: TranscriptionSessionOptions = {},
): TranscriptionSessionOptions => ({
  apiKey: "sk-simulator",
  baseUrl: sim.url,
  env: {},
  ...extra,
})

const usageOf = (events: readonly SpeechEvent[], itemId: string) =>
  events.find((e) => e.type === "recognition_usage" && e.itemId === itemId)

describe("stt.turn spans of a transcription session", () => {
  it("exports one span per turn with the model configuration, usage, latency and speech events, and no sensitive data", () =>
    withSimulator({ scenario: { transcripts: ["first words", "second words"] } }, async (sim) => {
      const { exporter, tracer } = otel()
      const parent = traceTurn({ config: { model: "agent" }, tracer, name: "agent.session" })
      const session = createTranscriptionSession(
        optionsFor(sim, {
          model: "gpt-4o-transcribe",
          language: "en",
          prompt: "secret context",
          turnDetection: { type: "server_vad", silenceDurationMs: 400 },
          tracer,
          traceParent: parent.span,
        }),
      )
      pushAudio(session, concat(silenceAt(300), toneAt(900), silenceAt(800), toneAt(600), silenceAt(800)))
      session.endInput()
      const { events, error } = await collect(session)
      parent.end()
      assert.isUndefined(error)
      assert.deepStrictEqual(finals(events), ["first words", "second words"])
      const spans = turnSpans(exporter)
      assert.strictEqual(spans.length, 2)
      const finalItems = events.flatMap((e) => (e.type === "final_transcript" ? [e.itemId] : []))
      for (const [index, span] of spans.entries()) {
        const itemId = finalItems[index] ?? ""
        const usage = usageOf(events, itemId)
        assert.isTrue(usage?.type === "recognition_usage")
        if (usage?.type !== "recognition_usage") continue
        assert.strictEqual(span.attributes["stt.item_id"], itemId)
        assert.strictEqual(span.attributes["stt.turn"], index + 1)
        assert.strictEqual(span.attributes["gen_ai.request.model"], "gpt-4o-transcribe")
        assert.strictEqual(span.attributes["stt.model_config.language"], "en")
        assert.strictEqual(span.attributes["stt.model_config.sample_rate_hz"], 24_000)
        assert.strictEqual(
          span.attributes["stt.model_config.turn_detection"],
          JSON.stringify({ type: "server_vad", silenceDurationMs: 400 }),
        )
        assert.strictEqual(span.attributes["stt.audio_duration_ms"], usage.usage.audioDurationMs)
        assert.strictEqual(span.attributes["stt.latency_ms"], usage.usage.latencyMs)
        assert.strictEqual(span.attributes["gen_ai.usage.output_tokens"], usage.usage.outputTokens)
        assert.isAbove(span.attributes["gen_ai.usage.input_tokens"] as number, 0)
        assert.notStrictEqual(span.status.code, SpanStatusCode.ERROR)
        assert.strictEqual(span.parentSpanContext?.spanId, parent.span.spanId)
        const names = span.events.map((e) => e.name)
        assert.deepStrictEqual(names.slice(0, 2), ["start_of_speech", "end_of_speech"])
        assert.include(names, "interim")
        for (const key of SENSITIVE) assert.notProperty(span.attributes, key)
        for (const value of Object.values(span.attributes)) {
          assert.notInclude(String(value), "words")
          assert.notInclude(String(value), "secret context")
        }
      }
    }))

  it("puts the transcript, the prompt and the turn's audio on the span only when opted in", () =>
    withSimulator({ scenario: { transcripts: ["opted in"] } }, async (sim) => {
      const { exporter, tracer } = otel()
      const session = createTranscriptionSession(
        optionsFor(sim, {
          turnDetection: null,
          prompt: "names",
          tracer,
          traceIncludeSensitiveText: true,
          traceIncludeSensitiveAudio: true,
        }),
      )
      const turn = toneAt(500)
      pushAudio(session, turn)
      session.endInput()
      const { events } = await collect(session)
      assert.deepStrictEqual(finals(events), ["opted in"])
      const [span] = turnSpans(exporter)
      assert.isDefined(span)
      assert.strictEqual(span?.attributes["stt.output.text"], "opted in")
      assert.strictEqual(span?.attributes["stt.model_config.prompt"], "names")
      const wav = decodeWav(Buffer.from(String(span?.attributes["stt.input.audio"]), "base64"))
      assert.strictEqual(wav.sampleRateHz, 24_000)
      assert.deepStrictEqual(Array.from(wav.data), Array.from(turn))
    }))

  it("keeps one span for a turn replayed after a reconnect, with a reconnected event", () =>
    withSimulator({ scenario: { transcripts: (r) => `${r.audio.length}` } }, async (sim) => {
      sim.scenario.nextConnection("transcription", {
        faults: [{ type: "close", code: 1011, afterEvents: 3 }],
      })
      const { exporter, tracer } = otel()
      const session = createTranscriptionSession(
        optionsFor(sim, { turnDetection: null, tracer, reconnect: { baseDelayMs: 5, jitter: 0 } }),
      )
      const done = collect(session)
      await eventually(() => session.actor.getSnapshot().matches({ online: "streaming" }))
      pushAudio(session, toneAt(400))
      session.flush()
      await eventually(() => transcriptionConnections(sim).length === 2)
      session.endInput()
      const { events } = await done
      assert.deepStrictEqual(finals(events), [String(400 * 24)])
      const spans = turnSpans(exporter)
      assert.strictEqual(spans.length, 1)
      const span = spans[0]
      const final = events.find((e) => e.type === "final_transcript")
      assert.strictEqual(
        span?.attributes["stt.item_id"],
        final?.type === "final_transcript" ? final.itemId : "",
      )
      assert.include(span?.events.map((e) => e.name) ?? [], "reconnected")
      assert.strictEqual(span?.attributes["stt.audio_duration_ms"], 400)
    }))

  it("marks a failed turn's span as an error and ends an unfinished turn's span as abandoned on close", () =>
    withSimulator(
      {
        scenario: {
          transcripts: [
            { text: "", fail: { code: "audio_unintelligible", message: "could not transcribe" } },
            { text: "never", delayMs: 60_000 },
          ],
        },
      },
      async (sim) => {
        const { exporter, tracer } = otel()
        const session = createTranscriptionSession(optionsFor(sim, { turnDetection: null, tracer }))
        const done = collect(session)
        pushAudio(session, toneAt(300))
        session.flush()
        await eventually(() => session.actor.getSnapshot().context.metrics.failedTurns === 1)
        pushAudio(session, toneAt(300))
        session.flush()
        await eventually(() => turnSpans(exporter).length === 1)
        await session.close()
        await done
        const [failed, abandoned] = turnSpans(exporter)
        assert.strictEqual(failed?.status.code, SpanStatusCode.ERROR)
        assert.strictEqual(failed?.attributes["stt.error.code"], "audio_unintelligible")
        assert.strictEqual(abandoned?.attributes["stt.abandoned"], true)
        assert.strictEqual(abandoned?.attributes["stt.turn"], 2)
      },
    ))

  it.effect("records on the calling fiber's tracer, under its span, in the Effect form", () => {
    const { exporter, tracer } = otel()
    return Effect.acquireUseRelease(
      Effect.promise(() => startSimulator({ scenario: { transcripts: ["from effect"] } })),
      (sim) =>
        Effect.scoped(
          Effect.gen(function* () {
            const session = yield* TranscriptionSession.make({
              apiKey: "sk-simulator",
              baseUrl: sim.url,
              env: {},
              turnDetection: null,
            })
            pushAudio(session, toneAt(300))
            session.endInput()
            const { events } = yield* Effect.promise(() => collect(session))
            assert.deepStrictEqual(finals(events), ["from effect"])
          }),
        ).pipe(Effect.withSpan("caller")),
      (sim) => Effect.promise(() => sim.close()),
    ).pipe(
      Effect.provide(RealtimeSocket.layer),
      Effect.withTracer(tracer),
      Effect.andThen(
        Effect.sync(() => {
          const spans = exporter.getFinishedSpans()
          const caller = spans.find((s) => s.name === "caller")
          const [turn] = turnSpans(exporter)
          assert.isDefined(turn)
          assert.strictEqual(turn?.parentSpanContext?.spanId, caller?.spanContext().spanId)
        }),
      ),
    )
  })
})
