/**
 * The simulator's `/audio/speech` as a TTS client meets it, over raw fetch: refusals worded
 * as the service words them, the 4096-character limit, a 429 with retry-after, and the
 * scripted answer shapes (slow first byte, slow chunks, a connection dropped mid-body).
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { startSimulator } from "../../src/simulator/index.ts"
import type { Simulator } from "../../src/simulator/types.ts"

let sim: Simulator | undefined
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

const speak = (s: Simulator, body: Record<string, unknown>) =>
  fetch(`${s.httpUrl}/audio/speech`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "gpt-4o-mini-tts",
      voice: "ash",
      response_format: "pcm",
      input: "Hi there.",
      ...body,
    }),
  })

const errorOf = async (response: Response) =>
  (
    (await response.json()) as {
      error: { message: string; type: string; param: string | null; code: string | null }
    }
  ).error

describe("simulator /audio/speech", () => {
  it("refuses an unknown response_format and voice as the service does", async () => {
    sim = await startSimulator()
    const format = await speak(sim, { response_format: "ogg" })
    assert.strictEqual(format.status, 400)
    assert.deepStrictEqual(await errorOf(format), {
      message: "Invalid value: 'ogg'. Supported values are: 'mp3', 'opus', 'aac', 'flac', 'wav', and 'pcm'.",
      type: "invalid_request_error",
      param: "response_format",
      code: "invalid_value",
    })
    const voice = await speak(sim, { voice: "bob" })
    assert.strictEqual(voice.status, 400)
    const voiceError = await errorOf(voice)
    assert.strictEqual(voiceError.param, "voice")
    assert.match(
      voiceError.message,
      /^Invalid value: 'bob'\. Supported values are: 'alloy', .*, and 'cedar'\.$/,
    )
  })

  it("refuses instructions with tts-1, sse with tts-1-hd, and an input over 4096 characters", async () => {
    sim = await startSimulator()
    const instructions = await errorOf(await speak(sim, { model: "tts-1", instructions: "Whisper." }))
    assert.strictEqual(instructions.code, "unsupported_parameter")
    const sse = await errorOf(await speak(sim, { model: "tts-1-hd", stream_format: "sse" }))
    assert.strictEqual(sse.param, "stream_format")
    const long = await speak(sim, { input: "a".repeat(4097) })
    assert.strictEqual(long.status, 400)
    assert.strictEqual((await errorOf(long)).code, "string_above_max_length")
    assert.strictEqual((await speak(sim, { input: "a".repeat(4096) })).status, 200)
  })

  it("answers a scripted 429 with its retry-after header", async () => {
    sim = await startSimulator()
    sim.scenario.nextHttp("speech", { status: 429, headers: { "retry-after": "2" } })
    const response = await speak(sim, {})
    assert.strictEqual(response.status, 429)
    assert.strictEqual(response.headers.get("retry-after"), "2")
    assert.strictEqual((await errorOf(response)).code, "rate_limit_exceeded")
  })

  it("holds the headers for a slow first byte, then streams the real audio", async () => {
    sim = await startSimulator()
    sim.scenario.nextHttp("speech", { status: 200, stream: { firstByteMs: 250 } })
    const started = performance.now()
    const response = await speak(sim, {})
    assert.isAtLeast(performance.now() - started, 240)
    assert.strictEqual(response.status, 200)
    assert.isAbove((await response.arrayBuffer()).byteLength, 0)
  })

  it("drops the connection mid-body after exactly the scripted (odd) byte count", async () => {
    sim = await startSimulator()
    sim.scenario.nextHttp("speech", { status: 200, stream: { dropAfterBytes: 5_001 } })
    const response = await speak(sim, { input: "A sentence long enough to need many chunks of audio." })
    let received = 0
    let failure: unknown
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
        received += chunk.byteLength
    } catch (error) {
      failure = error
    }
    assert.strictEqual(received, 5_001)
    assert.instanceOf(failure, Error)
  })

  it("paces chunks when asked, the exchange open while it streams", async () => {
    sim = await startSimulator()
    sim.scenario.nextHttp("speech", { status: 200, stream: { betweenChunksMs: 20 } })
    const response = await speak(sim, { input: "Slow and steady wins the race, they say." })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    assert.isTrue(sim.connections.find((c) => c.kind === "http")?.open)
    while (!(await reader.read()).done) {
      // drain
    }
  })
})
