/**
 * serveAgent against the simulator: a real `ws` client on 127.0.0.1 starts a call, speaks
 * PCM16 frames, hears the agent's voice and reads its events; a declared rate both ways;
 * hostile clients (garbage JSON, odd-length frames, audio before start, a client that never
 * reads); a connection closing ends its session and leaves nothing.
 */
import { connect, type Socket } from "node:net"
import { afterEach, assert, describe, it } from "vitest"
import { WebSocket } from "ws"
import { type AgentServer, defineAgent, serveAgent } from "../../src/agent/index.ts"
import { eventJson } from "../../src/agent/serve.ts"
import type { ModelReply, Simulator } from "../../src/simulator/index.ts"
import { speechDurationMs, startSimulator, synthesizeSpeech } from "../../src/simulator/index.ts"
import { makeScrubber } from "../../src/transport/index.ts"
import { eventually } from "../stt/transcriptionSessionHelpers.ts"

const LONG =
  "This is a long answer that goes on and on about many things so that the caller has time to cut in before it ends."

const opened: { server: AgentServer; sim: Simulator }[] = []
const clients: { close(): void }[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const { server, sim } of opened.splice(0)) {
    await server.close()
    await sim.close()
  }
})

const serve = async (replies: readonly ModelReply[], extra: { readonly maxBufferedBytes?: number } = {}) => {
  const sim = await startSimulator({ scenario: { transcripts: ["hello there"], replies } })
  const server = await serveAgent({
    agent: defineAgent({ instructions: "Be brief." }),
    realtime: { turnDetection: { type: "server_vad", silenceDurationMs: 300 }, seed: 1 },
    openai: { apiKey: "sk-simulator", baseUrl: sim.httpUrl },
    env: {},
    closeTimeoutMs: 200,
    ...extra,
  })
  opened.push({ server, sim })
  return { sim, server }
}

interface Message {
  readonly type: string
  readonly [key: string]: unknown
}

/** A `ws` client that keeps what it hears: JSON messages and the audio bytes. */
const client = async (url: string) => {
  const ws = new WebSocket(url)
  clients.push({ close: () => ws.terminate() })
  const messages: Message[] = []
  let audioBytes = 0
  let closeCode: number | undefined
  ws.on("message", (data, isBinary) => {
    if (isBinary) audioBytes += (data as Buffer).length
    else messages.push(JSON.parse(String(data)) as Message)
  })
  ws.on("close", (code) => {
    closeCode = code
  })
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve())
    ws.once("error", reject)
  })
  return {
    ws,
    messages,
    get audioBytes() {
      return audioBytes
    },
    get closeCode() {
      return closeCode
    },
    send: (message: unknown) => ws.send(JSON.stringify(message)),
    seen: (type: string) => () => messages.some((m) => m.type === type),
    /** The agent's reply played to its end. */
    spoke: () => messages.some((m) => m.type === "agent_transcript" && m.interrupted === false),
    /** The agent's voice started. */
    speaking: () => messages.some((m) => m.type === "agent_state" && m.state === "speaking"),
    /** Speaks `text` in the simulator's voice at `rateHz`, in 20 ms binary frames. */
    speak: (text: string, rateHz: number) => {
      const speech = synthesizeSpeech(text, { sampleRateHz: rateHz })
      const silence = new Int16Array(rateHz)
      const step = rateHz / 50
      for (const part of [speech, silence]) {
        for (let at = 0; at < part.length; at += step) {
          const chunk = part.slice(at, at + step)
          ws.send(new Uint8Array(chunk.buffer))
        }
      }
    },
  }
}

describe("serveAgent", () => {
  it("runs a call on one connection: caller audio in, the agent's voice and events out, end closes 1000", async () => {
    const { server, sim } = await serve([{ text: "Hi, how can I help?" }])
    assert.isAbove(server.port, 0)
    const c = await client(server.url)
    c.send({ type: "start" })
    await eventually(c.seen("started"), 5_000)
    assert.deepInclude(c.messages[0], { type: "started", sampleRateHz: 24_000, channels: 1 })
    assert.strictEqual(server.sessions, 1)
    c.speak("hello there", 24_000)
    await eventually(c.spoke, 15_000)
    const types = c.messages.map((m) => (m.type.endsWith("_state") ? `${m.type}:${String(m.state)}` : m.type))
    assert.includeMembers(types, [
      "user_state:speaking",
      "agent_state:thinking",
      "agent_state:speaking",
      "metrics",
    ])
    // The agent's voice as 24 kHz PCM16: as long as the reply.
    const expectedMs = speechDurationMs("Hi, how can I help?")
    assert.approximately((c.audioBytes / 2 / 24_000) * 1000, expectedMs, expectedMs * 0.05)
    c.send({ type: "end" })
    await eventually(() => c.closeCode !== undefined, 5_000)
    assert.strictEqual(c.closeCode, 1000)
    assert.strictEqual(c.messages.at(-1)?.type, "closed")
    await eventually(() => server.sessions === 0, 5_000)
    await eventually(() => sim.connections.every((x) => !x.open), 5_000)
  }, 30_000)

  it("speaks the declared rate both ways (16 kHz in and out)", async () => {
    const { server } = await serve([{ text: "Sixteen thousand samples a second." }])
    const c = await client(server.url)
    c.send({ type: "start", sampleRateHz: 16_000 })
    await eventually(c.seen("started"), 5_000)
    assert.deepInclude(c.messages[0], { type: "started", sampleRateHz: 16_000 })
    c.speak("hello there", 16_000)
    await eventually(c.seen("user_transcript"), 15_000)
    await eventually(c.spoke, 15_000)
    const expectedMs = speechDurationMs("Sixteen thousand samples a second.")
    assert.approximately((c.audioBytes / 2 / 16_000) * 1000, expectedMs, expectedMs * 0.05)
  }, 30_000)

  it("refuses garbage clearly and keeps the call: bad JSON, unknown messages, odd-length frames, audio before start", async () => {
    const { server } = await serve([{ text: "Still here." }])
    const c = await client(server.url)
    c.ws.send(new Uint8Array([1, 2, 3, 4]))
    c.ws.send("{not json")
    c.send([1, 2])
    c.send({ type: "say", text: "too early" })
    c.send({ type: "start", sampleRateHz: 12.5 })
    c.send({ type: "start", sampleRateHz: 191_999 })
    c.send({ type: "start" })
    await eventually(c.seen("started"), 5_000)
    c.ws.send(new Uint8Array([1, 2, 3]))
    c.send({ type: "dance" })
    c.send({ type: "say", text: 42 })
    c.send({ type: "start" })
    await eventually(() => c.messages.filter((m) => m.type === "error").length >= 10, 5_000)
    const codes = c.messages.filter((m) => m.type === "error").map((m) => (m.error as { code: string }).code)
    assert.deepStrictEqual(codes, [
      "not_started",
      "invalid_json",
      "invalid_message",
      "not_started",
      "invalid_rate",
      "invalid_rate",
      "invalid_audio",
      "unknown_message",
      "invalid_message",
      "already_started",
    ])
    // The call goes on: the agent still speaks when asked.
    c.send({ type: "say", text: "Still here." })
    await eventually(c.spoke, 15_000)
    assert.isAbove(c.audioBytes, 0)
    assert.isUndefined(c.closeCode)
  }, 30_000)

  it("interrupts on the client's word: the agent is cut off and the client told to drop its audio", async () => {
    const { server } = await serve([{ text: LONG }, { text: "Yes?" }])
    const c = await client(server.url)
    c.send({ type: "start" })
    await eventually(c.seen("started"), 5_000)
    c.send({ type: "say", text: LONG })
    await eventually(c.speaking, 15_000)
    await new Promise((resolve) => setTimeout(resolve, 500))
    c.send({ type: "interrupt" })
    await eventually(c.seen("interrupted"), 5_000)
    assert.isTrue(c.messages.some((m) => m.type === "clear"))
    const cut = c.messages.find((m) => m.type === "interrupted")
    assert.isBelow(String(cut?.heard).length, LONG.length)
    assert.isFalse(c.spoke())
  }, 30_000)

  it("believes the client's played position: a cut-off truncates the reply where the client says it was", async () => {
    const { server, sim } = await serve([{ text: LONG }])
    const c = await client(server.url)
    c.send({ type: "start" })
    await eventually(c.seen("started"), 5_000)
    c.send({ type: "say", text: LONG })
    await eventually(c.seen("reply"), 15_000)
    const reply = c.messages.find((m) => m.type === "reply")?.reply
    // A client whose playback lags: 250 ms played, whatever has arrived since.
    c.send({ type: "played", reply, ms: 250 })
    c.send({ type: "played", reply: 99, ms: 5_000 })
    await eventually(c.speaking, 15_000)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    c.send({ type: "interrupt" })
    await eventually(c.seen("interrupted"), 5_000)
    const realtime = sim.connections.find((x) => x.path.includes("realtime"))
    await eventually(
      () => (realtime?.received ?? []).some((e) => e.type === "conversation.item.truncate"),
      5_000,
    )
    const truncate = realtime?.received.find((e) => e.type === "conversation.item.truncate")
    assert.strictEqual((truncate?.payload as { audio_end_ms?: number } | undefined)?.audio_end_ms, 250)
  }, 30_000)

  it("serves the pipeline mode too: say is synthesized and streamed to the client", async () => {
    const sim = await startSimulator({ scenario: { replies: [] } })
    const server = await serveAgent({
      agent: defineAgent({ instructions: "Be brief." }),
      openai: { apiKey: "sk-simulator", baseUrl: sim.httpUrl },
      env: {},
    })
    opened.push({ server, sim })
    const c = await client(server.url)
    c.send({ type: "start" })
    await eventually(c.seen("started"), 5_000)
    c.send({ type: "say", text: "Welcome to the line." })
    await eventually(c.spoke, 15_000)
    assert.isAbove(c.audioBytes, 24_000)
    c.ws.close()
    await eventually(() => server.sessions === 0, 5_000)
    await eventually(() => sim.connections.every((x) => !x.open), 5_000)
  }, 30_000)

  it("ends the session when the client goes away mid-reply, leaving nothing", async () => {
    const { server, sim } = await serve([{ text: LONG }])
    const c = await client(server.url)
    c.send({ type: "start" })
    await eventually(c.seen("started"), 5_000)
    c.send({ type: "say", text: LONG })
    await eventually(() => c.audioBytes > 0, 15_000)
    c.ws.terminate()
    await eventually(() => server.sessions === 0, 5_000)
    await eventually(() => sim.connections.every((x) => !x.open), 5_000)
  }, 30_000)

  it("closes a client that never reads once its unsent audio passes the bound, and ends its session", async () => {
    const long = Array.from({ length: 12 }, () => LONG).join(" ")
    const { server, sim } = await serve([{ text: long }], { maxBufferedBytes: 16_384 })
    const socket: Socket = connect(server.port, "127.0.0.1")
    clients.push({ close: () => socket.destroy() })
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()))
    // A WebSocket handshake, then two masked text frames, and the client never reads again.
    socket.pause()
    socket.write(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    const frame = (text: string) => {
      const payload = Buffer.from(text)
      const mask = Buffer.from([1, 2, 3, 4])
      const body = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] ?? 0)))
      return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, body])
    }
    // 48 kHz out: more bytes than the kernel's socket buffers hold (a few MiB on loopback).
    socket.write(frame(JSON.stringify({ type: "start", sampleRateHz: 48_000 })))
    socket.write(frame(JSON.stringify({ type: "say", text: "Talk." })))
    await eventually(() => server.sessions === 1, 5_000)
    await eventually(() => server.sessions === 0, 20_000)
    await eventually(() => sim.connections.every((x) => !x.open), 5_000)
  }, 30_000)

  it("scrubs the credential from every event it sends", () => {
    const scrub = makeScrubber(["echoed-credential-for-scrub-tests"])
    const text = eventJson(
      { type: "error", error: new Error("refused key echoed-credential-for-scrub-tests"), atMs: 1 },
      scrub,
    )
    assert.notInclude(text, "echoed-credential-for-scrub-tests")
    assert.deepStrictEqual(JSON.parse(text), {
      type: "error",
      error: { code: "Error", message: "refused key <redacted>" },
      atMs: 1,
    })
  })
})
