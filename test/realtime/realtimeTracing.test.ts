/**
 * The Realtime session's `realtime.response` spans, recorded on an OpenTelemetry tracer,
 * against the simulator on real sockets.
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import {
  createRealtimeSession,
  type RealtimeSession,
  type RealtimeSessionEvent,
} from "../../src/realtime/index.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"

let sim: Simulator | undefined
const sessions: RealtimeSession[] = []
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close()
  await sim?.close()
  sim = undefined
})

const REPLY = "Here is a long answer that keeps on going, so that there is audio to interrupt."

const tracedSession = async (traceIncludeSensitiveText: boolean) => {
  sim ??= await startSimulator({ scenario: { replies: [{ text: "Short reply." }, { text: REPLY }] } })
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = Effect.runSync(
    OtelTracer.make.pipe(Effect.provideService(OtelTracer.OtelTracer, provider.getTracer("t"))),
  )
  const session = createRealtimeSession({
    openai: { apiKey: sim.apiKey ?? "sk-simulator", baseUrl: sim.httpUrl },
    env: {},
    turnDetection: null,
    seed: 1,
    tracer,
    traceIncludeSensitiveText,
  })
  sessions.push(session)
  return { session, spans: () => exporter.getFinishedSpans().filter((s) => s.name === "realtime.response") }
}

const readUntil = async (session: RealtimeSession, until: (e: RealtimeSessionEvent) => boolean) => {
  const iterator = session[Symbol.asyncIterator]()
  for (;;) {
    const next = await iterator.next()
    if (next.done === true) throw new Error("the session ended first")
    if (until(next.value)) return next.value
  }
}

describe("Realtime session tracing", () => {
  it("records one realtime.response span per response with its metrics; the transcript only with the opt-in", async () => {
    for (const include of [false, true]) {
      const { session, spans } = await tracedSession(include)
      session.sendText("Hello?")
      session.createResponse()
      const done = await readUntil(session, (e) => e.type === "response_done")
      expect(done).toMatchObject({ status: "completed" })
      const [span, ...rest] = spans()
      expect(rest).toHaveLength(0)
      expect(span?.attributes["realtime.status"]).toBe("completed")
      expect(span?.attributes["gen_ai.request.model"]).toBe("gpt-realtime")
      expect(span?.attributes["gen_ai.response.id"]).toBe(
        done.type === "response_done" ? done.responseId : "",
      )
      expect(Number(span?.attributes["realtime.audio_ms"])).toBeGreaterThan(0)
      expect(Number(span?.attributes["realtime.time_to_first_audio_ms"])).toBeGreaterThanOrEqual(0)
      expect(span?.status.code).not.toBe(2)
      if (include) expect(span?.attributes["realtime.output.transcript"]).toBe("Short reply.")
      else expect(span?.attributes["realtime.output.transcript"]).toBeUndefined()
      await session.close()
      await sim?.close()
      sim = undefined
    }
  })

  it("marks an interrupted response's span with the cut and a non-completed status", async () => {
    const { session, spans } = await tracedSession(false)
    session.sendText("First.")
    session.createResponse()
    await readUntil(session, (e) => e.type === "response_done")
    session.sendText("Second, a long one.")
    session.createResponse()
    const audio = await readUntil(session, (e) => e.type === "audio")
    if (audio.type !== "audio") throw new Error("unreachable")
    session.reportPlayback(audio.itemId, 20)
    session.interrupt()
    const done = await readUntil(session, (e) => e.type === "response_done")
    expect(done).toMatchObject({ status: "cancelled" })
    const second = spans()[1]
    expect(second?.attributes["realtime.status"]).toBe("cancelled")
    expect(second?.status.code).toBe(2)
    expect(second?.events.map((e) => e.name)).toContain("interrupted")
  })

  it("ends a span still open when the session closes", async () => {
    const { session, spans } = await tracedSession(false)
    session.sendText("Talk.")
    session.createResponse()
    await readUntil(session, (e) => e.type === "response_started")
    await session.close()
    expect(spans().map((s) => s.attributes["realtime.status"])).toEqual(["closed"])
  })
})
