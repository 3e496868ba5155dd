/**
 * A server that echoes the caller's credential back (in error messages, close reasons, unknown
 * and undecodable frames, 401 bodies and response headers) must never get it to the user:
 * not in events, thrown errors, snapshots, notices, spans or logs.
 */
import { inspect } from "node:util"
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, type Tracer } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { createLLM, type LLM } from "../../src/llm/LLM.ts"
import { createBatchSTT } from "../../src/stt/BatchSTT.ts"
import type { SpeechEvent } from "../../src/stt/SpeechEvent.ts"
import { createTranscriptionSession } from "../../src/stt/TranscriptionSession.ts"
import { makeScrubber, REDACTED_TEXT, scrubSecrets } from "../../src/transport/index.ts"
import { createTTS } from "../../src/tts/index.ts"
import { collect, toneAt } from "../stt/transcriptionSessionHelpers.ts"
import {
  answerTranscriptionHandshake,
  type HostileServer,
  startHostileServer,
} from "../support/hostileServer.ts"

const KEY = "echoed-credential-for-scrub-tests"

let server: HostileServer | undefined
let llms: LLM[] = []

afterEach(async () => {
  await Promise.all(llms.map((l) => l.close()))
  llms = []
  await server?.close()
  server = undefined
})

const otel = (): { exporter: InMemorySpanExporter; tracer: Tracer.Tracer } => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = Effect.runSync(
    OtelTracer.make.pipe(Effect.provideService(OtelTracer.OtelTracer, provider.getTracer("credential-test"))),
  )
  return { exporter, tracer }
}

/** Everything a value shows when printed, serialized or inspected. */
const everythingOf = (...values: unknown[]): string =>
  values
    .map((v) => {
      let json = ""
      try {
        json = JSON.stringify(v, (_k, x: unknown) =>
          x instanceof Error ? { ...x, message: x.message, stack: x.stack } : x,
        )
      } catch {
        json = ""
      }
      return `${json}\n${inspect(v, { depth: 20, showHidden: false })}\n${String(v)}`
    })
    .join("\n")

/** Console output of a run (the library must not log the key either). */
const captureLogs = (): { text: () => string; restore: () => void } => {
  const lines: string[] = []
  const originals = { log: console.log, warn: console.warn, error: console.error, info: console.info }
  for (const name of ["log", "warn", "error", "info"] as const) {
    console[name] = (...args: unknown[]) => {
      lines.push(args.map((a) => inspect(a)).join(" "))
    }
  }
  return {
    text: () => lines.join("\n"),
    restore: () => Object.assign(console, originals),
  }
}

const spanText = (exporter: InMemorySpanExporter): string =>
  JSON.stringify(
    exporter.getFinishedSpans().map((s) => ({
      name: s.name,
      attributes: s.attributes,
      status: s.status,
      events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    })),
  )

describe("scrubSecrets", () => {
  it("replaces every occurrence, the longest secret first, and leaves other text alone", () => {
    expect(scrubSecrets(`a ${KEY} b Bearer ${KEY}`, [KEY, `Bearer ${KEY}`])).toBe(
      `a ${REDACTED_TEXT} b ${REDACTED_TEXT}`,
    )
    const scrub = makeScrubber([KEY])
    const text = "nothing secret here"
    expect(scrub(text)).toBe(text)
    // Secrets too short to be keys are not scrubbed out of ordinary words.
    expect(scrubSecrets("the key", ["k"])).toBe("the key")
  })
})

describe("a server that echoes the credential", () => {
  it("never gets it into transcription events, errors, snapshots, spans or logs", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        const auth = String(c.request.headers.authorization ?? "")
        const key = auth.replace(/^Bearer /, "")
        answerTranscriptionHandshake(c)
        c.onFrame((frame) => {
          // Once configured: an invalid_request_error while configuring would end the session.
          if (frame.type !== "session.update" || c.index > 0) return
          c.send({
            type: "error",
            event_id: "e1",
            error: { type: "invalid_request_error", code: "echo", message: `bad ${auth} (${key})` },
          })
          c.send({ type: "x.unknown", echo: key })
          c.send(`{"type":"input_audio_buffer.committed","item_id":7,"echo":"${key}"}`)
        })
        c.onFrame((frame) => {
          if (frame.type !== "input_audio_buffer.commit") return
          if (c.index === 0) {
            c.socket.close(1011, `reason ${key}`.slice(0, 120))
            return
          }
          c.send({
            type: "error",
            event_id: "e2",
            error: {
              type: "invalid_request_error",
              code: "invalid_api_key",
              message: `Incorrect API key provided: ${key}`,
            },
          })
        })
      },
    })
    const { exporter, tracer } = otel()
    const logs = captureLogs()
    try {
      const session = createTranscriptionSession({
        apiKey: KEY,
        baseUrl: server.url,
        env: {},
        turnDetection: null,
        tracer,
        reconnect: { baseDelayMs: 5, maxDelayMs: 10 },
      })
      const run = collect(session)
      for (let i = 0; i < 4_800; i += 480) {
        session.pushFrame({ data: toneAt(200).subarray(i, i + 480), sampleRateHz: 24_000, channels: 1 })
      }
      session.flush()
      const { events, error } = await run
      expect(error).toBeDefined()
      const errorCodes = events.flatMap((e: SpeechEvent) => (e.type === "error" ? [e.error.code] : []))
      expect(errorCodes).toContain("invalid_api_key")
      expect(errorCodes).toContain("close_1011")
      const seen = everythingOf(
        events,
        error,
        session.actor.getSnapshot(),
        session.actor.getPersistedSnapshot(),
      )
      expect(seen).toContain(REDACTED_TEXT)
      expect(seen).not.toContain(KEY)
      expect(spanText(exporter)).not.toContain(KEY)
      expect(logs.text()).not.toContain(KEY)
      await session.close()
    } finally {
      logs.restore()
    }
  })

  it("never gets it into LLM errors, notices or snapshots (websocket)", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        const key = String(c.request.headers.authorization ?? "").replace(/^Bearer /, "")
        // A stray error while idle (a notice), then one refusing the request (the turn's error).
        c.send({
          type: "error",
          error: { type: "invalid_request_error", code: "stray", message: `idle ${key}` },
        })
        c.onFrame((frame) => {
          if (frame.type !== "response.create") return
          c.send({
            type: "error",
            status: 400,
            error: {
              type: "invalid_request_error",
              code: "bad",
              message: `refused ${key}`,
              headers: { "x-echo": key },
            },
          })
        })
      },
    })
    const llm = createLLM({
      openai: { apiKey: KEY, baseUrl: server.httpUrl },
      env: {},
      onWarning: () => undefined,
    })
    llms.push(llm)
    const notices: unknown[] = []
    llm.actor?.on("notice", (e) => {
      notices.push(e)
    })
    await llm.prewarm()
    let failure: unknown
    try {
      for await (const _ of llm.chat([{ role: "user", content: "hi" }])) {
        // nothing arrives
      }
    } catch (error) {
      failure = error
    }
    expect(failure).toBeDefined()
    const seen = everythingOf(failure, notices, llm.actor?.getSnapshot(), llm.actor?.getPersistedSnapshot())
    expect(seen).toContain(REDACTED_TEXT)
    expect(seen).not.toContain(KEY)
  })

  it("never gets it into LLM errors over HTTP, nor batch STT errors and their spans", async () => {
    server = await startHostileServer({
      onHttp: ({ request }, response) => {
        const key = String(request.headers.authorization ?? "").replace(/^Bearer /, "")
        response.writeHead(401, { "content-type": "application/json", "x-echo": key })
        response.end(
          JSON.stringify({
            error: {
              message: `Incorrect API key provided: ${key}`,
              type: "invalid_request_error",
              code: "invalid_api_key",
            },
          }),
        )
      },
    })
    const llm = createLLM({
      transport: "http",
      openai: { apiKey: KEY, baseUrl: server.httpUrl },
      env: {},
      onWarning: () => undefined,
    })
    llms.push(llm)
    let llmFailure: unknown
    try {
      for await (const _ of llm.chat([{ role: "user", content: "hi" }])) {
        // nothing arrives
      }
    } catch (error) {
      llmFailure = error
    }
    expect(llmFailure).toBeDefined()

    const { exporter, tracer } = otel()
    const stt = createBatchSTT({
      openai: { apiKey: KEY, baseUrl: server.httpUrl },
      env: {},
      tracer,
      connectOptions: { retryIntervalMs: 1, jitter: false },
    })
    const sttFailure = await stt
      .recognize({ data: toneAt(500), sampleRateHz: 24_000, channels: 1 })
      .catch((error: unknown) => error)
    expect(sttFailure).toBeDefined()
    const seen = everythingOf(llmFailure, sttFailure)
    expect(seen).toContain(REDACTED_TEXT)
    expect(seen).not.toContain(KEY)
    expect(spanText(exporter)).not.toContain(KEY)
    await stt.close()
  })

  it("never gets it into TTS errors or their tts.segment spans", async () => {
    server = await startHostileServer({
      onHttp: ({ request }, response) => {
        const key = String(request.headers.authorization ?? "").replace(/^Bearer /, "")
        response.writeHead(401, { "content-type": "application/json", "x-echo": key })
        response.end(
          JSON.stringify({
            error: {
              message: `Incorrect API key provided: ${key}`,
              type: "invalid_request_error",
              code: "invalid_api_key",
            },
          }),
        )
      },
    })
    const { exporter, tracer } = otel()
    const tts = createTTS({
      openai: { apiKey: KEY, baseUrl: server.httpUrl },
      env: {},
      tracer,
      traceIncludeSensitiveText: true,
      connectOptions: { retryIntervalMs: 1, jitter: false },
    })
    let failure: unknown
    try {
      for await (const _ of tts.synthesize("Who is calling?")) {
        // nothing arrives
      }
    } catch (error) {
      failure = error
    }
    expect(failure).toBeDefined()
    const seen = everythingOf(failure)
    expect(seen).toContain(REDACTED_TEXT)
    expect(seen).not.toContain(KEY)
    expect(spanText(exporter)).not.toContain(KEY)
    await tts.close()
  })
})
