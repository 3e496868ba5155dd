/**
 * createTTS against hostile speech servers on real sockets: audio that ends inside a sample,
 * a 200 that never sends a byte, a body that stops and never ends. Each ends in a typed error
 * within its named timeout, never a hang, and leaves nothing behind.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { collectSynthesis, handlesBackTo, settledHandles } from "../../src/testing/index.ts"
import { createTTS, isTTSError } from "../../src/tts/index.ts"
import { type HostileServer, startHostileServer } from "../support/hostileServer.ts"

let server: HostileServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const ttsAt = (s: HostileServer) =>
  createTTS({
    openai: { apiKey: "test-key-for-hostile-speech", baseUrl: s.httpUrl },
    env: {},
    readTimeoutMs: 200,
    connectOptions: { maxRetry: 1, retryIntervalMs: 1, jitter: false, timeoutMs: 300 },
  })

describe("createTTS against hostile speech servers", () => {
  it("refuses audio that ends inside a sample (InvalidResponse), after the whole frames before it", async () => {
    server = await startHostileServer({
      onHttp: (_request, response) => {
        response.writeHead(200, { "content-type": "audio/pcm" })
        response.end(Buffer.alloc(960 * 3 + 7))
      },
    })
    const { events, error } = await collectSynthesis(ttsAt(server).synthesize("Odd bytes."))
    assert.isTrue(isTTSError(error) && error.reason._tag === "InvalidResponse")
    assert.lengthOf(
      events.filter((e) => e.type === "audio"),
      3,
    )
  })

  it("gives up on a 200 that never sends a byte: firstAudio timeouts, retried, then exhausted", async () => {
    let requests = 0
    server = await startHostileServer({
      onHttp: (_request, response) => {
        requests++
        response.writeHead(200, { "content-type": "audio/pcm" })
        response.flushHeaders()
      },
    })
    const baseline = await settledHandles()
    const tts = ttsAt(server)
    const { error } = await collectSynthesis(tts.synthesize("Silence."))
    assert.isTrue(isTTSError(error) && error.reason._tag === "RetriesExhausted")
    assert.strictEqual(requests, 2)
    await tts.close()
    await server.close()
    server = undefined
    await handlesBackTo(baseline)
  })

  it("fails a body that stops and never ends with a read Timeout, not a hang", async () => {
    server = await startHostileServer({
      onHttp: (_request, response) => {
        response.writeHead(200, { "content-type": "audio/pcm" })
        response.write(Buffer.alloc(960 * 5))
      },
    })
    const { events, error } = await collectSynthesis(ttsAt(server).synthesize("Then nothing."))
    assert.isTrue(isTTSError(error) && error.reason._tag === "Timeout" && error.reason.phase === "read")
    assert.isAtLeast(events.filter((e) => e.type === "audio").length, 4)
  })
})
