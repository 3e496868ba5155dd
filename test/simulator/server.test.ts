/**
 * The simulator's server core against real sockets: authentication, routing of the OpenAI
 * and Azure path shapes, scripted HTTP answers, recording, deterministic ids and close().
 */
import { connect as netConnect } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { encodeWav, makeAudioFrame } from "../../src/audio/index.ts"
import {
  type Simulator,
  type SimulatorOptions,
  silence,
  startSimulator,
  tone,
} from "../../src/simulator/index.ts"
import { AUTH, connect, type Ev, refusedUpgrade, type TestClient } from "./realtimeTestClient.ts"

let sim: Simulator | undefined
const clients: TestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await sim?.close()
  sim = undefined
})

const start = async (options: SimulatorOptions = {}) => {
  sim = await startSimulator(options)
  return sim
}

const json = async (res: Response): Promise<Ev> => (await res.json()) as Ev

const origin = (s: Simulator) => s.httpUrl.replace(/\/v1$/, "")
const wsOrigin = (s: Simulator) => s.url.replace(/\/v1$/, "")

const open = async (url: string, headers: Record<string, string> = AUTH) => {
  const client = await connect(url, headers)
  clients.push(client)
  return client
}

describe("startSimulator", () => {
  it("binds 127.0.0.1 on a free port and gives the ws and http base URLs", async () => {
    const s = await start()
    expect(s.port).toBeGreaterThan(0)
    expect(s.url).toBe(`ws://127.0.0.1:${s.port}/v1`)
    expect(s.httpUrl).toBe(`http://127.0.0.1:${s.port}/v1`)
    expect(s.apiKey).toBe("sk-simulator")
  })
})

describe("authentication", () => {
  it("refuses an upgrade without a key with a 401 and the service's JSON body", async () => {
    const s = await start()
    const refused = await refusedUpgrade(`${s.url}/realtime?intent=transcription`)
    expect(refused.status).toBe(401)
    expect(JSON.parse(refused.body).error).toMatchObject({ type: "invalid_request_error" })
    expect(JSON.parse(refused.body).error.message).toContain("didn't provide an API key")
    expect(s.connections[0]).toMatchObject({ kind: "transcription", httpStatus: 401, open: false })
  })

  it("refuses a wrong key with invalid_api_key, masking the key", async () => {
    const s = await start()
    const refused = await refusedUpgrade(`${s.url}/realtime?model=gpt-realtime`, {
      Authorization: "Bearer sk-wrong-key-123456",
    })
    expect(refused.status).toBe(401)
    const error = JSON.parse(refused.body).error
    expect(error.code).toBe("invalid_api_key")
    expect(error.message).not.toContain("sk-wrong-key-123456")
  })

  it("refuses an HTTP request with a wrong key with a 401", async () => {
    const s = await start()
    const res = await fetch(`${s.httpUrl}/audio/speech`, {
      method: "POST",
      headers: { Authorization: "Bearer nope", "content-type": "application/json" },
      body: "{}",
    })
    expect(res.status).toBe(401)
    expect((await json(res)).error.code).toBe("invalid_api_key")
  })

  it("accepts api-key on Azure paths only", async () => {
    const s = await start()
    const azure = await open(`${wsOrigin(s)}/openai/v1/realtime?model=my-deployment`, {
      "api-key": "sk-simulator",
    })
    expect((await azure.next("session.created")).session.model).toBe("my-deployment")
    const refused = await refusedUpgrade(`${s.url}/realtime?model=gpt-realtime`, {
      "api-key": "sk-simulator",
    })
    expect(refused.status).toBe(401)
    const wrongAzure = await refusedUpgrade(`${wsOrigin(s)}/openai/v1/realtime?model=d`, { "api-key": "bad" })
    expect(wrongAzure.status).toBe(401)
    expect(JSON.parse(wrongAzure.body).error.code).toBe("401")
  })

  it("accepts the key as the browser subprotocol", async () => {
    const s = await start()
    const ws = new WebSocket(`${s.url}/realtime?model=gpt-realtime`, [
      "realtime",
      "openai-insecure-api-key.sk-simulator",
    ])
    await new Promise((resolve, reject) => {
      ws.once("open", resolve)
      ws.once("unexpected-response", () => reject(new Error("refused")))
    })
    expect(ws.protocol).toBe("realtime")
    ws.close()
  })

  it("accepts any key, or none, with apiKey: null, and only the configured one otherwise", async () => {
    const s = await start({ apiKey: null })
    const client = await open(`${s.url}/realtime?intent=transcription`, {})
    await client.next("session.created")
    await s.close()
    const custom = await start({ apiKey: "sk-custom" })
    expect((await refusedUpgrade(`${custom.url}/realtime?intent=transcription`, AUTH)).status).toBe(401)
    const ok = await open(`${custom.url}/realtime?intent=transcription`, {
      Authorization: "Bearer sk-custom",
    })
    await ok.next("session.created")
  })
})

describe("routing", () => {
  it("opens a transcription session for intent=transcription beside a model, as OpenAI does", async () => {
    const s = await start()
    const both = await open(`${s.url}/realtime?model=gpt-4o-transcribe&intent=transcription`, AUTH)
    expect((await both.next("session.created")).session.type).toBe("transcription")
    expect(s.connections[0]?.kind).toBe("transcription")
  })

  it("refuses a realtime URL with neither model nor intent, or with an unknown intent", async () => {
    const s = await start()
    const neither = await refusedUpgrade(`${s.url}/realtime`, AUTH)
    expect(neither.status).toBe(400)
    expect(JSON.parse(neither.body).error).toMatchObject({
      code: "missing_required_parameter",
      param: "model",
    })
    const bogus = await refusedUpgrade(`${s.url}/realtime?intent=translation`, AUTH)
    expect(JSON.parse(bogus.body).error).toMatchObject({ code: "invalid_value", param: "intent" })
  })

  it("answers unknown paths with 404 on upgrades and requests", async () => {
    const s = await start()
    expect((await refusedUpgrade(`${s.url}/nope`, AUTH)).status).toBe(404)
    const res = await fetch(`${s.httpUrl}/nope`, { method: "POST", headers: AUTH })
    expect(res.status).toBe(404)
    expect((await json(res)).error.message).toBe("Invalid URL (POST /v1/nope)")
    const plain = await fetch(`${s.httpUrl}/realtime?model=gpt-realtime`, { headers: AUTH })
    expect(plain.status).toBe(426)
  })

  it("answers a known path asked with another method with 405 and Allow, on OpenAI and Azure paths", async () => {
    const s = await start()
    const get = await fetch(`${s.httpUrl}/audio/speech`, { headers: AUTH })
    expect(get.status).toBe(405)
    expect(get.headers.get("allow")).toBe("POST")
    expect((await json(get)).error).toMatchObject({
      type: "invalid_request_error",
      code: "method_not_allowed",
      message: "Method GET is not allowed for /v1/audio/speech; use POST.",
    })
    const put = await fetch(
      `${origin(s)}/openai/deployments/my-chat/chat/completions?api-version=2024-10-21`,
      {
        method: "PUT",
        headers: { "api-key": "sk-simulator" },
        body: "{}",
      },
    )
    expect(put.status).toBe(405)
    expect(put.headers.get("allow")).toBe("POST")
    expect((await json(put)).error.code).toBe("405")
    // A wrong method consumes no scripted answer: the queued one goes to the next POST.
    s.scenario.nextHttp("chat", { status: 418 })
    expect((await fetch(`${s.httpUrl}/chat/completions`, { headers: AUTH })).status).toBe(405)
    const post = await fetch(`${s.httpUrl}/chat/completions`, { method: "POST", headers: AUTH, body: "{}" })
    expect(post.status).toBe(418)
  })

  it("routes the Azure REST shapes, requiring api-version on deployment paths", async () => {
    const s = await start()
    const dated = `${origin(s)}/openai/deployments/my-chat/chat/completions`
    const missing = await fetch(dated, { method: "POST", headers: { "api-key": "sk-simulator" }, body: "{}" })
    expect(missing.status).toBe(404)
    expect((await json(missing)).error.code).toBe("MissingApiVersionParameter")
    s.scenario.nextHttp("chat", { status: 200, body: { routed: "dated" } })
    s.scenario.nextHttp("chat", { status: 200, body: { routed: "v1" } })
    const a = await fetch(`${dated}?api-version=2024-10-21`, {
      method: "POST",
      headers: { "api-key": "sk-simulator" },
      body: "{}",
    })
    expect(await json(a)).toEqual({ routed: "dated" })
    const b = await fetch(`${origin(s)}/openai/v1/chat/completions`, {
      method: "POST",
      headers: { "api-key": "sk-simulator" },
      body: "{}",
    })
    expect(await json(b)).toEqual({ routed: "v1" })
  })

  it("routes WebSocket upgrades to the Responses socket on the OpenAI and Azure paths", async () => {
    const s = await start()
    const a = await open(`${s.url}/responses`)
    const b = await open(`${wsOrigin(s)}/openai/v1/responses`, { "api-key": "sk-simulator" })
    const c = await open(`${wsOrigin(s)}/openai/responses?api-version=2025-04-01-preview`, {
      "api-key": "sk-simulator",
    })
    const d = await open(`${wsOrigin(s)}/openai/v1/responses?api-version=preview`, {
      "api-key": "sk-simulator",
    })
    for (const client of [a, b, c, d]) {
      client.send({ type: "response.create", model: "gpt-4.1-mini", input: "hi" })
      expect((await client.next("response.completed")).response.status).toBe("completed")
    }
    expect(s.connections.map((conn) => conn.kind)).toEqual([
      "responses",
      "responses",
      "responses",
      "responses",
    ])
  })

  it("refuses the dated Azure Responses path without an api-version with a 404", async () => {
    const s = await start()
    const refused = await refusedUpgrade(`${wsOrigin(s)}/openai/responses`, { "api-key": "sk-simulator" })
    expect(refused.status).toBe(404)
    expect(JSON.parse(refused.body).error.code).toBe("MissingApiVersionParameter")
  })

  it("serves GA transcription and conversation sessions on the Azure v1 realtime path", async () => {
    const s = await start({ scenario: { transcripts: ["azure turn"] } })
    const stt = await open(`${wsOrigin(s)}/openai/v1/realtime?intent=transcription`, {
      "api-key": "sk-simulator",
    })
    expect((await stt.next("session.created")).session.type).toBe("transcription")
    stt.send({
      type: "session.update",
      session: {
        type: "transcription",
        audio: { input: { turn_detection: null, transcription: { model: "my-transcribe-deployment" } } },
      },
    })
    await stt.next("session.updated")
    stt.appendAudio(tone(300))
    stt.send({ type: "input_audio_buffer.commit" })
    expect((await stt.next("conversation.item.input_audio_transcription.completed")).transcript).toBe(
      "azure turn",
    )
    const rt = await open(`${wsOrigin(s)}/openai/v1/realtime?model=my-realtime`, {
      Authorization: "Bearer sk-simulator",
    })
    expect((await rt.next("session.created")).session).toMatchObject({
      type: "realtime",
      model: "my-realtime",
    })
  })

  it("passes the Azure preview deployment to conversation mode only through the beta refusal", async () => {
    const s = await start()
    const client = await open(
      `${wsOrigin(s)}/openai/realtime?api-version=2025-04-01-preview&deployment=gpt-4o-rt`,
      {
        "api-key": "sk-simulator",
      },
    )
    expect((await client.next("error")).error.code).toBe("beta_api_shape_disabled")
    expect((await client.closed).code).toBe(4000)
    const noVersion = await refusedUpgrade(`${wsOrigin(s)}/openai/realtime?deployment=x`, {
      "api-key": "sk-simulator",
    })
    expect(noVersion.status).toBe(404)
  })
})

describe("scripted HTTP answers", () => {
  it("answers the next requests of an endpoint with the queued status, body and headers, in order", async () => {
    const s = await start()
    s.scenario.nextHttp("speech", { status: 429, headers: { "retry-after-ms": "10" } })
    s.scenario.nextHttp("speech", { status: 500, body: "plain failure" })
    const post = () => fetch(`${s.httpUrl}/audio/speech`, { method: "POST", headers: AUTH, body: "{}" })
    const first = await post()
    expect(first.status).toBe(429)
    expect(first.headers.get("retry-after-ms")).toBe("10")
    expect((await json(first)).error.code).toBe("rate_limit_exceeded")
    const second = await post()
    expect([second.status, await second.text()]).toEqual([500, "plain failure"])
    const third = await post()
    expect(third.status).toBe(400)
  })

  it("destroys the connection for a destroy fault and delays the answer for delayMs", async () => {
    const s = await start()
    s.scenario.nextHttp("transcriptions", { status: 0, destroy: true })
    await expect(
      fetch(`${s.httpUrl}/audio/transcriptions`, { method: "POST", headers: AUTH, body: "x" }),
    ).rejects.toThrow()
    s.scenario.nextHttp("transcriptions", { status: 503, delayMs: 120 })
    const before = Date.now()
    const res = await fetch(`${s.httpUrl}/audio/transcriptions`, { method: "POST", headers: AUTH, body: "x" })
    expect(res.status).toBe(503)
    expect(Date.now() - before).toBeGreaterThanOrEqual(100)
  })
})

describe("recording", () => {
  it("records every client event with its payload and size, and every server event", async () => {
    const s = await start()
    const client = await open(`${s.url}/realtime?intent=transcription`)
    await client.next("session.created")
    const chunk = {
      type: "input_audio_buffer.append",
      audio: Buffer.from(silence(100).buffer).toString("base64"),
    }
    client.send(chunk)
    client.send(chunk)
    client.send({ type: "input_audio_buffer.clear" })
    await client.next("input_audio_buffer.cleared")
    const [connection] = s.connections
    expect(connection?.kind).toBe("transcription")
    expect(connection?.headers.authorization).toBe("Bearer sk-simulator")
    const appends = connection?.received.filter((e) => e.type === "input_audio_buffer.append") ?? []
    // "This audio was sent twice."
    expect(appends).toHaveLength(2)
    expect(appends[0]?.payload).toEqual(appends[1]?.payload)
    expect(appends[0]?.bytes).toBe(JSON.stringify(chunk).length)
    expect(appends[1]?.atMs).toBeGreaterThanOrEqual(appends[0]?.atMs ?? 0)
    expect(connection?.sent.map((e) => (e as { type: string }).type)).toEqual([
      "session.created",
      "input_audio_buffer.cleared",
    ])
    client.close()
    await client.closed
    await expect.poll(() => connection?.closeCode).toBe(1005)
    expect(connection?.open).toBe(false)
  })

  it("records HTTP requests with their status", async () => {
    const s = await start()
    s.scenario.nextHttp("chat", { status: 418 })
    await (await fetch(`${s.httpUrl}/chat/completions`, { method: "POST", headers: AUTH, body: "{}" })).text()
    await expect.poll(() => s.connections[0]?.httpStatus).toBe(418)
    expect(s.connections[0]).toMatchObject({ kind: "http", path: "/v1/chat/completions", open: false })
  })
})

describe("deterministic ids", () => {
  const idsOf = async (seed: number) => {
    const s = await startSimulator({ seed })
    try {
      const client = await connect(`${s.url}/realtime?intent=transcription`, AUTH)
      const created = await client.next("session.created")
      client.close()
      return [created.event_id, created.session.id]
    } finally {
      await s.close()
    }
  }

  it("gives the same ids for the same seed and other ids for another", async () => {
    const a = await idsOf(7)
    expect(await idsOf(7)).toEqual(a)
    expect(await idsOf(8)).not.toEqual(a)
    expect(a[0]).toMatch(/^event_[A-Za-z0-9]{21}$/)
    expect(a[1]).toMatch(/^sess_[A-Za-z0-9]{21}$/)
  })
})

describe("close()", () => {
  const handles = () => {
    const counts = new Map<string, number>()
    for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1)
    return counts
  }
  /** libuv releases closed handles a loop turn later, so the count is polled, not sampled once. */
  const expectNoneLeft = async (before: Map<string, number>) => {
    for (const name of ["TCPServerWrap", "TCPSocketWrap", "Timeout"]) {
      await expect
        .poll(() => handles().get(name) ?? 0, { message: name })
        .toBeLessThanOrEqual(before.get(name) ?? 0)
    }
  }

  it("ends every socket and the server, leaving no handle or timer behind", async () => {
    const before = handles()
    const s = await start({ scenario: { transcripts: [{ text: "late", delayMs: 60_000 }] } })
    s.scenario.nextConnection("transcription", { faults: [{ type: "close", code: 1000, afterMs: 60_000 }] })
    const a = await connect(`${s.url}/realtime?intent=transcription`, AUTH)
    const b = await connect(`${s.url}/realtime?model=gpt-realtime`, AUTH)
    a.send({
      type: "session.update",
      session: { type: "transcription", audio: { input: { turn_detection: null } } },
    })
    a.appendAudio(tone(300))
    a.send({ type: "input_audio_buffer.commit" })
    await a.next("input_audio_buffer.committed")
    s.scenario.nextHttp("chat", { status: 200, delayMs: 60_000 })
    const pending = fetch(`${s.httpUrl}/chat/completions`, {
      method: "POST",
      headers: AUTH,
      body: "{}",
    }).catch((error: unknown) => error)
    await expect.poll(() => s.connections.some((c) => c.kind === "http")).toBe(true)
    await s.close()
    expect((await a.closed).code).toBe(1006)
    expect((await b.closed).code).toBe(1006)
    expect(await pending).toBeInstanceOf(Error)
    expect(s.connections.every((c) => !c.open)).toBe(true)
    await expect(
      new Promise((resolve, reject) => {
        const socket = netConnect(s.port, "127.0.0.1")
        socket.once("connect", () => {
          socket.destroy()
          resolve("connected")
        })
        socket.once("error", reject)
      }),
    ).rejects.toThrow(/ECONNREFUSED/)
    await expectNoneLeft(before)
    sim = undefined
  })

  it("ends stalled, held and mid-response sockets and in-flight REST streams, leaving nothing behind", async () => {
    const before = handles()
    const s = await start({
      scenario: {
        transcripts: [{ text: "held back words", delayMs: 60_000 }],
        replies: [{ text: "A reply that is streamed very slowly." }],
      },
    })
    // A Realtime socket stalled after its first event.
    s.scenario.nextConnection("transcription", { faults: [{ type: "stall", afterEvents: 1 }] })
    const stalled = await connect(`${s.url}/realtime?intent=transcription`, AUTH)
    await stalled.next("session.created")
    // A socket whose first event is held back by latency.
    s.scenario.nextConnection("realtime", { latency: { firstEventMs: 60_000 } })
    const held = await connect(`${s.url}/realtime?model=gpt-realtime`, AUTH)
    // A conversation whose response is paced a minute per delta.
    s.scenario.nextConnection("realtime", { latency: { betweenDeltasMs: 60_000 } })
    const talking = await connect(`${s.url}/realtime?model=gpt-realtime`, AUTH)
    talking.send({ type: "response.create" })
    await talking.next("rate_limits.updated")
    // A conversation whose idle timeout is armed.
    const idle = await connect(`${s.url}/realtime?model=gpt-realtime`, AUTH)
    idle.send({
      type: "session.update",
      session: {
        type: "realtime",
        output_modalities: ["text"],
        audio: { input: { turn_detection: { type: "server_vad", idle_timeout_ms: 60_000 } } },
      },
    })
    await idle.next("session.updated")
    idle.send({ type: "response.create" })
    await idle.next("response.done")
    // A Responses socket with a response in flight.
    s.scenario.nextConnection("responses", { latency: { betweenDeltasMs: 60_000 } })
    const responses = await connect(`${s.url}/responses`, AUTH)
    responses.send({ type: "response.create", model: "gpt-4o-mini", input: "hi" })
    await responses.next("response.in_progress")
    // An SSE transcription stream in flight: headers sent, the first delta held by delayMs.
    const form = new FormData()
    form.append("model", "gpt-4o-transcribe")
    form.append("stream", "true")
    form.append("file", new Blob([encodeWav(makeAudioFrame(tone(300), 24_000, 1))]), "turn.wav")
    const streaming = await fetch(`${s.httpUrl}/audio/transcriptions`, {
      method: "POST",
      headers: AUTH,
      body: form,
    })
    expect(streaming.headers.get("content-type")).toContain("text/event-stream")
    const streamBody = streaming.text().catch((error: unknown) => error)
    // A scripted HTTP answer held back.
    s.scenario.nextHttp("speech", { status: 200, delayMs: 60_000 })
    const heldAnswer = fetch(`${s.httpUrl}/audio/speech`, {
      method: "POST",
      headers: AUTH,
      body: "{}",
    }).catch((error: unknown) => error)
    await expect.poll(() => s.connections.filter((c) => c.kind === "http" && c.open).length).toBe(2)

    await s.close()
    for (const client of [stalled, held, talking, idle, responses]) {
      expect((await client.closed).code).toBe(1006)
    }
    expect(await streamBody).toBeInstanceOf(Error)
    expect(await heldAnswer).toBeInstanceOf(Error)
    expect(s.connections.every((c) => !c.open)).toBe(true)
    await expectNoneLeft(before)
    sim = undefined
  })
})
