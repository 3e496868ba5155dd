import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import {
  authHeaders,
  isOpenAIConfigError,
  loadOpenAIConfig,
  type OpenAIConfig,
  OpenAIConfigError,
  type OpenAIConfigOptions,
  type OpenAIEnv,
  type RealtimeTarget,
  realtimeUrl,
  resolveOpenAIConfig,
  responsesUrl,
  restBaseUrl,
  restQuery,
  revealHeaders,
  secretOf,
} from "../../src/transport/index.ts"

const KEY = "test-key-proj-0123456789-abcdef"
const AZURE_KEY = "0123456789abcdef0123456789azure"
const AD_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.TOKEN.signature"

const thrownBy = (f: () => unknown): OpenAIConfigError => {
  try {
    f()
  } catch (error) {
    if (isOpenAIConfigError(error)) return error
    throw error
  }
  assert.fail("expected an OpenAIConfigError")
}

describe("resolveOpenAIConfig", () => {
  it("reads the OpenAI key, base URL, organization and project from the environment", () => {
    const config = resolveOpenAIConfig(
      {},
      {
        OPENAI_API_KEY: KEY,
        OPENAI_BASE_URL: "https://proxy.example.com/v1/",
        OPENAI_ORG_ID: "org_1",
        OPENAI_PROJECT_ID: "proj_1",
      },
    )
    assert.strictEqual(config.provider, "openai")
    if (config.provider !== "openai") return
    assert.strictEqual(Redacted.value(config.apiKey), KEY)
    assert.strictEqual(config.baseUrl, "https://proxy.example.com/v1")
    assert.strictEqual(config.organization, "org_1")
    assert.strictEqual(config.project, "proj_1")
  })

  it("defaults the base URL to api.openai.com and omits unset organization and project", () => {
    const config = resolveOpenAIConfig({}, { OPENAI_API_KEY: KEY })
    assert.deepStrictEqual(Object.keys(config).sort(), ["apiKey", "baseUrl", "provider"])
    assert.strictEqual(config.provider === "openai" ? config.baseUrl : "", "https://api.openai.com/v1")
  })

  it("prefers options over the environment", () => {
    const config = resolveOpenAIConfig(
      { apiKey: "sk-from-options", baseUrl: "ws://127.0.0.1:9999/v1", project: "proj_opt" },
      { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: "https://env.example.com/v1", OPENAI_PROJECT_ID: "proj_env" },
    )
    assert.strictEqual(Redacted.value(secretOf(config)), "sk-from-options")
    assert.strictEqual(config.provider === "openai" ? config.baseUrl : "", "ws://127.0.0.1:9999/v1")
    assert.strictEqual(config.provider === "openai" ? config.project : "", "proj_opt")
  })

  it("accepts a key that is already Redacted", () => {
    const config = resolveOpenAIConfig({ apiKey: Redacted.make(KEY) }, {})
    assert.strictEqual(Redacted.value(secretOf(config)), KEY)
  })

  it("fails with MissingApiKey when no key is set, naming the variables but no value", () => {
    const error = thrownBy(() => resolveOpenAIConfig({}, { OPENAI_API_KEY: "  " }))
    assert.instanceOf(error, OpenAIConfigError)
    assert.strictEqual(error.reason, "MissingApiKey")
    assert.include(error.message, "OPENAI_API_KEY")
  })

  it("fails with InvalidUrl for a base URL that is not http(s) or ws(s)", () => {
    assert.strictEqual(
      thrownBy(() => resolveOpenAIConfig({ apiKey: KEY, baseUrl: "api.openai.com" }, {})).reason,
      "InvalidUrl",
    )
    assert.strictEqual(
      thrownBy(() => resolveOpenAIConfig({ apiKey: KEY, baseUrl: "ftp://x/v1" }, {})).reason,
      "InvalidUrl",
    )
  })

  it("refuses a base URL that carries credentials, without echoing them", () => {
    const error = thrownBy(() =>
      resolveOpenAIConfig({ apiKey: KEY, baseUrl: `https://user:${KEY}@proxy/v1` }, {}),
    )
    assert.strictEqual(error.reason, "InvalidUrl")
    assert.notInclude(error.message, KEY)
  })

  it("selects Azure from the environment when only Azure variables are set", () => {
    const config = resolveOpenAIConfig(
      {},
      {
        AZURE_OPENAI_ENDPOINT: "https://res.openai.azure.com/",
        AZURE_OPENAI_API_KEY: AZURE_KEY,
        AZURE_OPENAI_DEPLOYMENT: "rt-deploy",
        OPENAI_API_VERSION: "2025-04-01-preview",
      },
    )
    assert.strictEqual(config.provider, "azure")
    if (config.provider !== "azure") return
    assert.strictEqual(config.endpoint, "https://res.openai.azure.com")
    assert.strictEqual(config.deployment, "rt-deploy")
    assert.strictEqual(config.apiVersion, "2025-04-01-preview")
    assert.strictEqual(config.credential.type, "apiKey")
    assert.strictEqual(config.realtimeApi, "ga")
  })

  it("prefers OpenAI when both OPENAI_API_KEY and Azure variables are set", () => {
    const env = {
      OPENAI_API_KEY: KEY,
      AZURE_OPENAI_ENDPOINT: "https://res.openai.azure.com",
      AZURE_OPENAI_API_KEY: AZURE_KEY,
    }
    assert.strictEqual(resolveOpenAIConfig({}, env).provider, "openai")
    assert.strictEqual(resolveOpenAIConfig({ provider: "azure" }, env).provider, "azure")
  })

  it("strips an /openai suffix from the Azure endpoint", () => {
    const config = resolveOpenAIConfig(
      { azure: { endpoint: "https://res.openai.azure.com/openai/", apiKey: AZURE_KEY } },
      {},
    )
    assert.strictEqual(config.provider === "azure" ? config.endpoint : "", "https://res.openai.azure.com")
  })

  it("uses an Entra token when no Azure key is set", () => {
    const config = resolveOpenAIConfig(
      {},
      { AZURE_OPENAI_ENDPOINT: "https://res.openai.azure.com", AZURE_OPENAI_AD_TOKEN: AD_TOKEN },
    )
    assert.strictEqual(config.provider === "azure" ? config.credential.type : "", "adToken")
  })

  it("lets an explicit Azure credential override the other kind in the environment", () => {
    const config = resolveOpenAIConfig(
      { azure: { adToken: AD_TOKEN } },
      { AZURE_OPENAI_ENDPOINT: "https://res.openai.azure.com", AZURE_OPENAI_API_KEY: AZURE_KEY },
    )
    assert.strictEqual(config.provider === "azure" ? config.credential.type : "", "adToken")
  })

  const azureFailures: ReadonlyArray<{
    name: string
    options: OpenAIConfigOptions
    env: OpenAIEnv
    reason: string
  }> = [
    { name: "no endpoint", options: { azure: { apiKey: AZURE_KEY } }, env: {}, reason: "MissingEndpoint" },
    {
      name: "no credential",
      options: { azure: { endpoint: "https://r.openai.azure.com" } },
      env: {},
      reason: "MissingApiKey",
    },
    {
      name: "a key and a token in the options",
      options: { azure: { endpoint: "https://r.openai.azure.com", apiKey: AZURE_KEY, adToken: AD_TOKEN } },
      env: {},
      reason: "ConflictingCredentials",
    },
    {
      name: "a key and a token in the environment",
      options: {},
      env: {
        AZURE_OPENAI_ENDPOINT: "https://r.openai.azure.com",
        AZURE_OPENAI_API_KEY: AZURE_KEY,
        AZURE_OPENAI_AD_TOKEN: AD_TOKEN,
      },
      reason: "ConflictingCredentials",
    },
  ]
  for (const { name, options, env, reason } of azureFailures) {
    it(`fails Azure with ${reason} for ${name}, without a secret in the message`, () => {
      const error = thrownBy(() => resolveOpenAIConfig(options, env))
      assert.strictEqual(error.reason, reason)
      assert.notInclude(error.message, AZURE_KEY)
      assert.notInclude(error.message, AD_TOKEN)
    })
  }

  it("reads process.env when no environment is passed", () => {
    const saved = process.env.OPENAI_API_KEY
    process.env.OPENAI_API_KEY = KEY
    try {
      assert.strictEqual(Redacted.value(secretOf(resolveOpenAIConfig({ provider: "openai" }))), KEY)
    } finally {
      if (saved === undefined) delete process.env.OPENAI_API_KEY
      else process.env.OPENAI_API_KEY = saved
    }
  })
})

describe("loadOpenAIConfig", () => {
  it.effect("fails with an OpenAIConfigError value instead of throwing", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(loadOpenAIConfig({}, {}))
      assert.strictEqual(error._tag, "OpenAIConfigError")
      assert.strictEqual(error.reason, "MissingApiKey")
      const config = yield* loadOpenAIConfig({ apiKey: KEY }, {})
      assert.strictEqual(config.provider, "openai")
    }),
  )
})

describe("secrets", () => {
  const configs: ReadonlyArray<[string, OpenAIConfig, string]> = [
    ["openai", resolveOpenAIConfig({ apiKey: KEY, organization: "org_1" }, {}), KEY],
    [
      "azure api-key",
      resolveOpenAIConfig({ azure: { endpoint: "https://r.openai.azure.com", apiKey: AZURE_KEY } }, {}),
      AZURE_KEY,
    ],
    [
      "azure ad token",
      resolveOpenAIConfig({ azure: { endpoint: "https://r.openai.azure.com", adToken: AD_TOKEN } }, {}),
      AD_TOKEN,
    ],
  ]
  for (const [name, config, secret] of configs) {
    it(`never shows the ${name} credential in String, JSON or inspect of the config or its headers`, () => {
      const headers = authHeaders(config)
      const renderings = [
        String(config),
        `${JSON.stringify(config)}`,
        inspect(config, { depth: 20 }),
        inspect(config, { depth: 20, showHidden: true }),
        JSON.stringify(headers),
        inspect(headers, { depth: 20, showHidden: true }),
        String(Object.values(headers)),
      ]
      for (const shown of renderings) assert.notInclude(shown, secret)
      assert.include(JSON.stringify(config), "<redacted")
      assert.include(Object.values(revealHeaders(headers)).join(" "), secret)
    })
  }
})

describe("URL builders", () => {
  const openai = resolveOpenAIConfig({ apiKey: KEY }, {})
  const simulatorHttp = resolveOpenAIConfig({ apiKey: KEY, baseUrl: "http://127.0.0.1:8123/v1" }, {})
  const simulatorWs = resolveOpenAIConfig({ apiKey: KEY, baseUrl: "ws://127.0.0.1:8123/v1/" }, {})
  const secureProxy = resolveOpenAIConfig({ apiKey: KEY, baseUrl: "wss://proxy.example.com/openai/v1" }, {})
  const azureGa = resolveOpenAIConfig(
    { azure: { endpoint: "https://res.openai.azure.com", apiKey: AZURE_KEY, deployment: "my-realtime" } },
    {},
  )
  const azureGaNoDeployment = resolveOpenAIConfig(
    { azure: { endpoint: "https://res.openai.azure.com", apiKey: AZURE_KEY } },
    {},
  )
  const azureDated = resolveOpenAIConfig(
    {
      azure: {
        endpoint: "https://res.openai.azure.com",
        apiKey: AZURE_KEY,
        deployment: "my deploy",
        apiVersion: "2024-10-21",
      },
    },
    {},
  )
  const azurePreview = resolveOpenAIConfig(
    {
      azure: {
        endpoint: "https://res.openai.azure.com",
        apiKey: AZURE_KEY,
        deployment: "gpt-4o-realtime",
        apiVersion: "2024-10-01-preview",
        realtimeApi: "preview",
      },
    },
    {},
  )
  const azureLocal = resolveOpenAIConfig(
    { azure: { endpoint: "http://127.0.0.1:8123", apiKey: AZURE_KEY } },
    {},
  )

  const model: RealtimeTarget = { model: "gpt-realtime" }
  const transcription: RealtimeTarget = { intent: "transcription" }

  const realtimeCases: ReadonlyArray<[string, OpenAIConfig, RealtimeTarget, string]> = [
    ["OpenAI model", openai, model, "wss://api.openai.com/v1/realtime?model=gpt-realtime"],
    ["OpenAI transcription", openai, transcription, "wss://api.openai.com/v1/realtime?intent=transcription"],
    [
      "simulator (http base)",
      simulatorHttp,
      transcription,
      "ws://127.0.0.1:8123/v1/realtime?intent=transcription",
    ],
    ["simulator (ws base)", simulatorWs, model, "ws://127.0.0.1:8123/v1/realtime?model=gpt-realtime"],
    ["wss proxy", secureProxy, model, "wss://proxy.example.com/openai/v1/realtime?model=gpt-realtime"],
    [
      "Azure GA deployment",
      azureGa,
      model,
      "wss://res.openai.azure.com/openai/v1/realtime?model=my-realtime",
    ],
    [
      "Azure GA model as deployment",
      azureGaNoDeployment,
      model,
      "wss://res.openai.azure.com/openai/v1/realtime?model=gpt-realtime",
    ],
    [
      "Azure GA transcription",
      azureGa,
      transcription,
      "wss://res.openai.azure.com/openai/v1/realtime?intent=transcription",
    ],
    [
      "Azure GA ignores a dated api-version",
      azureDated,
      transcription,
      "wss://res.openai.azure.com/openai/v1/realtime?intent=transcription",
    ],
    [
      "Azure preview",
      azurePreview,
      model,
      "wss://res.openai.azure.com/openai/realtime?api-version=2024-10-01-preview&deployment=gpt-4o-realtime",
    ],
    [
      "Azure preview transcription",
      azurePreview,
      transcription,
      "wss://res.openai.azure.com/openai/realtime?api-version=2024-10-01-preview&intent=transcription",
    ],
    [
      "Azure on a local simulator",
      azureLocal,
      transcription,
      "ws://127.0.0.1:8123/openai/v1/realtime?intent=transcription",
    ],
  ]
  for (const [name, config, target, expected] of realtimeCases) {
    it(`builds the Realtime URL for ${name}`, () => {
      assert.strictEqual(realtimeUrl(config, target), expected)
    })
  }

  it("encodes the model name as a query value", () => {
    assert.strictEqual(
      realtimeUrl(openai, { model: "a b&c" }),
      "wss://api.openai.com/v1/realtime?model=a+b%26c",
    )
  })

  it("refuses a Realtime target with both or neither of model and intent", () => {
    const both = { model: "gpt-realtime", intent: "transcription" } as unknown as RealtimeTarget
    const neither = {} as unknown as RealtimeTarget
    assert.strictEqual(thrownBy(() => realtimeUrl(openai, both)).reason, "InvalidTarget")
    assert.strictEqual(thrownBy(() => realtimeUrl(openai, neither)).reason, "InvalidTarget")
    assert.strictEqual(thrownBy(() => realtimeUrl(openai, { model: " " })).reason, "InvalidTarget")
  })

  it("refuses the Azure preview shape without an api-version", () => {
    const config = resolveOpenAIConfig(
      { azure: { endpoint: "https://r.openai.azure.com", apiKey: AZURE_KEY, realtimeApi: "preview" } },
      {},
    )
    assert.strictEqual(thrownBy(() => realtimeUrl(config, model)).reason, "MissingApiVersion")
  })

  const azureVersion = (apiVersion: string, endpoint = "https://res.openai.azure.com") =>
    resolveOpenAIConfig({ azure: { endpoint, apiKey: AZURE_KEY, deployment: "d", apiVersion } }, {})
  const responsesCases: ReadonlyArray<[string, OpenAIConfig, string]> = [
    ["OpenAI", openai, "wss://api.openai.com/v1/responses"],
    ["simulator (http base)", simulatorHttp, "ws://127.0.0.1:8123/v1/responses"],
    ["simulator (ws base)", simulatorWs, "ws://127.0.0.1:8123/v1/responses"],
    ["Azure without an api-version", azureGa, "wss://res.openai.azure.com/openai/v1/responses"],
    ["Azure api-version v1", azureVersion("v1"), "wss://res.openai.azure.com/openai/v1/responses"],
    ["Azure api-version latest", azureVersion("latest"), "wss://res.openai.azure.com/openai/v1/responses"],
    [
      "Azure api-version preview",
      azureVersion("preview"),
      "wss://res.openai.azure.com/openai/v1/responses?api-version=preview",
    ],
    [
      "Azure dated api-version",
      azureDated,
      "wss://res.openai.azure.com/openai/responses?api-version=2024-10-21",
    ],
    [
      "Azure dated preview api-version",
      azureVersion("2025-04-01-preview"),
      "wss://res.openai.azure.com/openai/responses?api-version=2025-04-01-preview",
    ],
    [
      "Azure over plain http (a local endpoint)",
      azureVersion("preview", "http://127.0.0.1:8123"),
      "ws://127.0.0.1:8123/openai/v1/responses?api-version=preview",
    ],
  ]
  for (const [name, config, expected] of responsesCases) {
    it(`builds the Responses WebSocket URL for ${name}`, () => {
      assert.strictEqual(responsesUrl(config), expected)
    })
  }

  it("sends on the Responses WebSocket the api-version REST requests send", () => {
    for (const [, config] of responsesCases) {
      const sent = new URL(responsesUrl(config)).searchParams.get("api-version") ?? undefined
      assert.strictEqual(sent, restQuery(config)["api-version"])
    }
  })

  const restCases: ReadonlyArray<[string, OpenAIConfig, string, Record<string, string>]> = [
    ["OpenAI", openai, "https://api.openai.com/v1", {}],
    ["simulator (http base)", simulatorHttp, "http://127.0.0.1:8123/v1", {}],
    ["simulator (ws base)", simulatorWs, "http://127.0.0.1:8123/v1", {}],
    ["wss proxy", secureProxy, "https://proxy.example.com/openai/v1", {}],
    ["Azure v1", azureGa, "https://res.openai.azure.com/openai/v1", {}],
    [
      "Azure dated",
      azureDated,
      "https://res.openai.azure.com/openai/deployments/my%20deploy",
      { "api-version": "2024-10-21" },
    ],
  ]
  for (const [name, config, expected, query] of restCases) {
    it(`builds the REST base URL and query for ${name}`, () => {
      assert.strictEqual(restBaseUrl(config), expected)
      assert.deepStrictEqual(restQuery(config), query)
    })
  }

  it("passes a v1 preview api-version as a query parameter", () => {
    const config = resolveOpenAIConfig(
      { azure: { endpoint: "https://r.openai.azure.com", apiKey: AZURE_KEY, apiVersion: "preview" } },
      {},
    )
    assert.strictEqual(restBaseUrl(config), "https://r.openai.azure.com/openai/v1")
    assert.deepStrictEqual(restQuery(config), { "api-version": "preview" })
  })

  it("refuses the dated Azure REST shape without a deployment", () => {
    const config = resolveOpenAIConfig(
      { azure: { endpoint: "https://r.openai.azure.com", apiKey: AZURE_KEY, apiVersion: "2024-10-21" } },
      {},
    )
    assert.strictEqual(thrownBy(() => restBaseUrl(config)).reason, "MissingDeployment")
  })
})

describe("authHeaders", () => {
  it("sends a Bearer key with organization and project for OpenAI, and no beta header", () => {
    const config = resolveOpenAIConfig({ apiKey: KEY, organization: "org_1", project: "proj_1" }, {})
    assert.deepStrictEqual(revealHeaders(authHeaders(config)), {
      Authorization: `Bearer ${KEY}`,
      "OpenAI-Organization": "org_1",
      "OpenAI-Project": "proj_1",
    })
  })

  it("adds OpenAI-Beta: realtime=v1 only when asked", () => {
    const config = resolveOpenAIConfig({ apiKey: KEY }, {})
    assert.deepStrictEqual(revealHeaders(authHeaders(config, { realtimeBeta: true })), {
      Authorization: `Bearer ${KEY}`,
      "OpenAI-Beta": "realtime=v1",
    })
    assert.notProperty(authHeaders(config, { realtimeBeta: false }), "OpenAI-Beta")
  })

  it("sends api-key and no Authorization for Azure with a key", () => {
    const config = resolveOpenAIConfig(
      { azure: { endpoint: "https://r.openai.azure.com", apiKey: AZURE_KEY } },
      {},
    )
    assert.deepStrictEqual(revealHeaders(authHeaders(config)), { "api-key": AZURE_KEY })
  })

  it("sends a Bearer token and no api-key for Azure with an Entra token", () => {
    const config = resolveOpenAIConfig(
      { azure: { endpoint: "https://r.openai.azure.com", adToken: AD_TOKEN } },
      {},
    )
    assert.deepStrictEqual(revealHeaders(authHeaders(config)), { Authorization: `Bearer ${AD_TOKEN}` })
  })

  it("keeps the secret header values Redacted", () => {
    const config = resolveOpenAIConfig({ apiKey: KEY, project: "proj_1" }, {})
    const headers = authHeaders(config)
    assert.isTrue(Redacted.isRedacted(headers.Authorization))
    assert.strictEqual(headers["OpenAI-Project"], "proj_1")
  })
})
