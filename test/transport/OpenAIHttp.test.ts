import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import {
  isOpenAIHttpError,
  makeOpenAIClient,
  makeOpenAIHttp,
  OpenAIHttp,
  openAIHttpErrorOf,
  resolveOpenAIConfig,
} from "../../src/transport/index.ts"

/** A small REST server on 127.0.0.1 answering each request with `handle`. */
const restServer = (handle: (req: IncomingMessage, res: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ readonly baseUrl: string; readonly seen: IncomingMessage[] }>((resolve) => {
          const seen: IncomingMessage[] = []
          const server = createServer((req, res) => {
            seen.push(req)
            handle(req, res)
          })
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as AddressInfo
            resolve(Object.assign({ baseUrl: `http://127.0.0.1:${port}/v1`, seen }, { server }))
          })
        }),
    ),
    (s) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            const server = (s as unknown as { server: ReturnType<typeof createServer> }).server
            server.closeAllConnections()
            server.close(() => resolve())
          }),
      ),
  )

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

const listModels = (http: { request: OpenAIHttp["Service"]["request"] }) =>
  http.request((client, signal) => client.models.list({ signal }))

describe("OpenAIHttp", () => {
  it.effect("runs requests through the layer's client with the key, organization and project", () =>
    Effect.gen(function* () {
      const server = yield* restServer((_req, res) => json(res, 200, { object: "list", data: [] }))
      const page = yield* Effect.gen(function* () {
        const http = yield* OpenAIHttp
        return yield* listModels(http)
      }).pipe(
        Effect.provide(
          OpenAIHttp.layer({
            openai: { apiKey: "test-key", baseUrl: server.baseUrl, organization: "org_1", project: "proj_1" },
            env: {},
          }),
        ),
      )
      assert.deepStrictEqual(page.data, [])
      const headers = server.seen[0]?.headers
      assert.strictEqual(headers?.authorization, "Bearer test-key")
      assert.strictEqual(headers?.["openai-organization"], "org_1")
      assert.strictEqual(headers?.["openai-project"], "proj_1")
    }),
  )

  it.effect("sends an Azure key alone in api-key, with the api-version query", () =>
    Effect.gen(function* () {
      const server = yield* restServer((_req, res) => json(res, 200, { object: "list", data: [] }))
      const origin = server.baseUrl.replace(/\/v1$/, "")
      const http = makeOpenAIHttp({
        config: resolveOpenAIConfig(
          {
            azure: {
              endpoint: origin,
              apiKey: "azure-key",
              apiVersion: "2025-04-01-preview",
              deployment: "whisper",
            },
          },
          {},
        ),
      })
      assert.strictEqual(http.provider, "azure")
      yield* listModels(http)
      const [request] = server.seen
      assert.strictEqual(request?.headers["api-key"], "azure-key")
      assert.isUndefined(request?.headers.authorization)
      assert.include(request?.url ?? "", "api-version=2025-04-01-preview")
    }),
  )

  it.effect("fails a 429 with a rate-limited, retryable OpenAIHttpError carrying retry-after-ms", () =>
    Effect.gen(function* () {
      const server = yield* restServer((_req, res) =>
        json(
          res,
          429,
          { error: { message: "slow down", type: "tokens", code: "rate_limit_exceeded" } },
          {
            "retry-after-ms": "1500",
            "x-request-id": "req_1",
          },
        ),
      )
      const http = makeOpenAIHttp({
        config: resolveOpenAIConfig({ apiKey: "k", baseUrl: server.baseUrl }, {}),
      })
      const error = yield* Effect.flip(listModels(http))
      assert.isTrue(isOpenAIHttpError(error))
      assert.isTrue(error.retryable)
      assert.isTrue(error.rateLimited)
      assert.deepStrictEqual(error.reason, {
        _tag: "Status",
        status: 429,
        code: "rate_limit_exceeded",
        errorType: "tokens",
        requestId: "req_1",
        retryAfterMs: 1500,
      })
      assert.strictEqual(error.headers?.("retry-after-ms"), "1500")
    }),
  )

  it.effect("classifies insufficient_quota as fatal and x-should-retry: false as not retryable", () =>
    Effect.gen(function* () {
      let answer = 0
      const server = yield* restServer((_req, res) => {
        answer++
        if (answer === 1) json(res, 429, { error: { message: "no quota", code: "insufficient_quota" } })
        else json(res, 503, { error: { message: "down" } }, { "x-should-retry": "false" })
      })
      const http = makeOpenAIHttp({
        config: resolveOpenAIConfig({ apiKey: "k", baseUrl: server.baseUrl }, {}),
      })
      const quota = yield* Effect.flip(listModels(http))
      assert.isFalse(quota.retryable)
      assert.isFalse(quota.rateLimited)
      const refused = yield* Effect.flip(listModels(http))
      assert.isFalse(refused.retryable)
    }),
  )

  it.effect("aborts the request when the Effect is interrupted", () =>
    Effect.gen(function* () {
      let closed = false
      const server = yield* restServer((req) => {
        req.on("close", () => {
          closed = true
        })
      })
      const http = makeOpenAIHttp({
        config: resolveOpenAIConfig({ apiKey: "k", baseUrl: server.baseUrl }, {}),
      })
      const fiber = yield* Effect.forkChild(listModels(http))
      yield* Effect.promise(async () => {
        while (server.seen.length === 0) await new Promise((r) => setTimeout(r, 5))
      })
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      assert.isTrue(Exit.isFailure(exit))
      yield* Effect.promise(async () => {
        while (!closed) await new Promise((r) => setTimeout(r, 5))
      })
    }),
  )

  it.effect("reports a refused connection as a retryable Connection failure", () =>
    Effect.gen(function* () {
      const http = makeOpenAIHttp({
        config: resolveOpenAIConfig({ apiKey: "k", baseUrl: "http://127.0.0.1:1/v1" }, {}),
      })
      const error = yield* Effect.flip(listModels(http))
      assert.strictEqual(error.reason._tag, "Connection")
      assert.isTrue(error.retryable)
    }),
  )

  it("maps anything else the client throws to Unreadable, and keeps an OpenAIHttpError as it is", () => {
    const error = openAIHttpErrorOf(new SyntaxError("Unexpected token"))
    assert.strictEqual(error.reason._tag, "Unreadable")
    assert.isFalse(error.retryable)
    assert.strictEqual(openAIHttpErrorOf(error), error)
  })

  it("builds the client without SDK retries", () => {
    const client = makeOpenAIClient(
      resolveOpenAIConfig({ apiKey: "k", baseUrl: "http://127.0.0.1:1/v1" }, {}),
    )
    assert.strictEqual(client.maxRetries, 0)
  })
})
