import { createServer, type IncomingHttpHeaders } from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import OpenAI from "openai"
import {
  type OpenAIConfigOptions,
  openAIClientOptions,
  resolveOpenAIConfig,
} from "../../src/transport/index.ts"

const KEY = "test-key-client-options-KEY"

interface Seen {
  readonly url: string
  readonly headers: IncomingHttpHeaders
}

/** Lists models with the SDK against a local server and returns what the server saw. */
const requestSeenBy = (configFor: (origin: string) => OpenAIConfigOptions): Effect.Effect<Seen> =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const seen: Array<Seen> = []
      const server = createServer((request, response) => {
        seen.push({ url: request.url ?? "", headers: request.headers })
        response.setHeader("content-type", "application/json")
        response.end('{"object":"list","data":[]}')
      })
      server.listen(0, "127.0.0.1")
      await new Promise((resolve) => server.once("listening", resolve))
      return { server, seen, origin: `http://127.0.0.1:${(server.address() as { port: number }).port}` }
    }),
    ({ seen, origin }) =>
      Effect.promise(async () => {
        const config = resolveOpenAIConfig(configFor(origin), {})
        const client = new OpenAI({ ...openAIClientOptions(config), maxRetries: 0 })
        await client.models.list()
        assert.lengthOf(seen, 1)
        return seen[0]!
      }),
    ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve()))),
  )

describe("openAIClientOptions", () => {
  it.effect("gives the SDK a bearer key, organization and project for OpenAI", () =>
    Effect.gen(function* () {
      const seen = yield* requestSeenBy((origin) => ({
        apiKey: KEY,
        baseUrl: `${origin.replace("http:", "ws:")}/v1`,
        organization: "org_1",
        project: "proj_1",
      }))
      assert.strictEqual(seen.url, "/v1/models")
      assert.strictEqual(seen.headers.authorization, `Bearer ${KEY}`)
      assert.strictEqual(seen.headers["openai-organization"], "org_1")
      assert.strictEqual(seen.headers["openai-project"], "proj_1")
      assert.notProperty(seen.headers, "api-key")
    }),
  )

  it.effect("sends an Azure key only as api-key, with the dated deployment path and api-version", () =>
    Effect.gen(function* () {
      const seen = yield* requestSeenBy((origin) => ({
        azure: { endpoint: origin, apiKey: KEY, deployment: "whisper", apiVersion: "2024-10-21" },
      }))
      assert.strictEqual(seen.url, "/openai/deployments/whisper/models?api-version=2024-10-21")
      assert.strictEqual(seen.headers["api-key"], KEY)
      assert.notProperty(seen.headers, "authorization")
    }),
  )

  it.effect("sends an Entra token as a bearer header on the Azure v1 path", () =>
    Effect.gen(function* () {
      const seen = yield* requestSeenBy((origin) => ({
        azure: { endpoint: origin, adToken: "entra-token-value" },
      }))
      assert.strictEqual(seen.url, "/openai/v1/models")
      assert.strictEqual(seen.headers.authorization, "Bearer entra-token-value")
      assert.notProperty(seen.headers, "api-key")
    }),
  )
})
