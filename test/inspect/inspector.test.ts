/**
 * The inspector's server without a browser: redaction of secrets and texts, and the bounded
 * queue of a viewer that stops reading (the session goes on; the page is told what it missed).
 */
import { request } from "node:http"
import { describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { assign, createActor, createMachine } from "xstate"
import { createInspector, redact } from "../../src/inspect/index.ts"
import { noScrubbing } from "../../src/transport/scrub.ts"

const WAIT_MS = 10_000

describe("redact", () => {
  it("removes credentials always and texts unless opted in", () => {
    const value = {
      apiKey: "abc",
      headers: { Authorization: "Bearer abcdefgh" },
      note: "key sk-live1234567 in a message",
      transcript: "hello there",
      n: 3,
      pcm: new Int16Array(4),
    }
    const hidden = redact(value, { includeText: false, scrub: noScrubbing }) as Record<string, unknown>
    expect(JSON.stringify(hidden)).not.toMatch(/abc|sk-live|hello/)
    expect(hidden.transcript).toBe("[text: 11 chars]")
    expect(hidden.n).toBe(3)
    expect(hidden.pcm).toBe("[Int16Array 8 bytes]")
    const shown = redact(value, { includeText: true, scrub: noScrubbing }) as Record<string, unknown>
    expect(shown.transcript).toBe("hello there")
    expect(JSON.stringify(shown)).not.toMatch(/abcdefgh|sk-live/)
  })

  it("hides a session's texts under their many names, and tool results, unless opted in", () => {
    const value = {
      userText: "my card number",
      replyText: "your balance",
      pendingTurn: "and my address",
      heard: "you said",
      items: [{ type: "function_call_output", callId: "c1", output: { city: "Paris" } }],
      call: { name: "get_weather", arguments: { city: "Lyon" }, rawArguments: '{"city":"Lyon"}' },
      settings: { model: "gpt-4o-transcribe" },
    }
    const hidden = JSON.stringify(redact(value, { includeText: false, scrub: noScrubbing }))
    expect(hidden).not.toMatch(/card|balance|address|you said|Paris|Lyon/)
    expect(hidden).toContain("get_weather")
    expect(hidden).toContain("gpt-4o-transcribe")
    expect(hidden).toContain('"callId":"c1"')
    const shown = JSON.stringify(redact(value, { includeText: true, scrub: noScrubbing }))
    expect(shown).toContain("Paris")
    expect(shown).toContain("my card number")
  })

  it("keeps usage counts, removes token-named credentials and summarizes base64 audio", () => {
    const audio = Buffer.from(new Uint8Array(960)).toString("base64")
    const value = {
      usage: { input_tokens: 12, total_tokens: 30 },
      accessToken: "opaque-credential-value",
      id_token: "another-credential-value",
      event: { type: "response.output_audio.delta", delta: audio },
    }
    for (const includeText of [false, true]) {
      const out = redact(value, { includeText, scrub: noScrubbing }) as {
        usage: Record<string, unknown>
        event: Record<string, unknown>
      }
      expect(out.usage).toEqual({ input_tokens: 12, total_tokens: 30 })
      expect(JSON.stringify(out)).not.toMatch(/credential-value/)
      expect(out.event.delta).toBe("[audio: 960 bytes]")
    }
  })
})

describe("createInspector", () => {
  it("drops records for a viewer that stops reading, never stalls the actor, and reports the count", async () => {
    const inspector = await createInspector({ viewerBufferBytes: 64 * 1024 })
    const viewer = new WebSocket(`${inspector.url.replace(/^http/, "ws")}ws`)
    const messages: { type: string; count?: number }[] = []
    viewer.on("message", (data) => messages.push(JSON.parse(String(data)) as { type: string }))
    await new Promise((resolve) => viewer.once("open", resolve))
    const deadline = Date.now() + WAIT_MS
    while (inspector.viewers === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    ;(viewer as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause()

    const machine = createMachine({
      id: "noisy",
      context: { blob: "" },
      on: { TICK: { actions: assign({ blob: ({ event }) => (event as unknown as { blob: string }).blob }) } },
    })
    const actor = createActor(machine, { inspect: inspector.inspect }).start()
    const blob = "x".repeat(390)
    for (let i = 0; i < 20_000; i++) actor.send({ type: "TICK", blob: `${i}${blob}` } as never)
    expect(actor.getSnapshot().status).toBe("active")

    ;(viewer as unknown as { _socket: { resume(): void } })._socket.resume()
    while (Date.now() < deadline && !messages.some((m) => m.type === "dropped")) {
      actor.send({ type: "TICK", blob: "after" } as never)
      await new Promise((r) => setTimeout(r, 20))
    }
    const dropped = messages.find((m) => m.type === "dropped")
    expect(dropped?.count).toBeGreaterThan(0)
    actor.stop()
    viewer.close()
    await inspector.close()
  }, 30_000)
})

describe("who may read the inspector", () => {
  const status = (url: string, host: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(url, { headers: { host } }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on("error", reject)
      req.end()
    })
  const opens = (url: string, origin: string | undefined) =>
    new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`${url.replace(/^http/, "ws")}ws`, origin === undefined ? {} : { origin })
      ws.once("open", () => {
        ws.close()
        resolve(true)
      })
      ws.once("error", () => resolve(false))
    })

  it("serves its own address, refuses another host name, and lets no other site's page read the sessions", async () => {
    const inspector = await createInspector()
    try {
      const own = new URL(inspector.url)
      expect(await status(inspector.url, own.host)).toBe(200)
      expect(await status(inspector.url, `localhost:${own.port}`)).toBe(200)
      expect(await status(inspector.url, `rebound.example:${own.port}`)).toBe(421)
      expect(await opens(inspector.url, undefined)).toBe(true)
      expect(await opens(inspector.url, `http://${own.host}`)).toBe(true)
      expect(await opens(inspector.url, "http://elsewhere.example")).toBe(false)
    } finally {
      await inspector.close()
    }
  })
})
