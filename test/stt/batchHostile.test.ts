import { afterEach, describe, expect, it } from "vitest"
import { createBatchSTT } from "../../src/stt/BatchSTT.ts"
import { STTError } from "../../src/stt/retry.ts"
import { type HostileServer, startHostileServer } from "../support/hostileServer.ts"
import { toneAt } from "./transcriptionSessionHelpers.ts"

let server: HostileServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

describe("batch STT against a server that asks for a retry a day later", () => {
  it("bounds recognize by totalTimeoutMs instead of waiting retry-after per retry", async () => {
    server = await startHostileServer({
      onHttp: (_request, response) => {
        response.writeHead(429, { "content-type": "application/json", "retry-after": "86400" })
        response.end(
          JSON.stringify({ error: { message: "slow down", type: "requests", code: "rate_limit_exceeded" } }),
        )
      },
    })
    const stt = createBatchSTT({
      openai: { apiKey: "sk-hostile-test-key", baseUrl: server.httpUrl },
      env: {},
      connectOptions: {
        maxRetry: 3,
        retryIntervalMs: 1,
        jitter: false,
        timeoutMs: 10_000,
        totalTimeoutMs: 800,
      },
    })
    const started = Date.now()
    const error = await stt
      .recognize({ data: toneAt(300), sampleRateHz: 24_000, channels: 1 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(STTError)
    expect((error as STTError).reason).toEqual({ _tag: "Timeout", timeoutMs: 800 })
    // One request, then the 60 s the retry-after asked for was cut short by the overall bound.
    expect(server.requests).toHaveLength(1)
    expect(Date.now() - started).toBeLessThan(30_000)
    await stt.close()
  })
})
