import { Data, Effect, Redacted } from "effect"

/**
 * Why {@link resolveOpenAIConfig} or a URL builder refused a configuration.
 *
 * - `MissingApiKey`: no credential in the options or the environment.
 * - `MissingEndpoint`: Azure was selected but no endpoint was given.
 * - `MissingDeployment`: an Azure URL that needs a deployment name, and none was given.
 * - `MissingApiVersion`: an Azure URL shape that needs an `api-version`, and none was given.
 * - `ConflictingCredentials`: an Azure API key and an Entra (AD) token were both given in the
 *   same place; only one may be sent.
 * - `InvalidUrl`: a base URL or endpoint that is not an absolute http(s)/ws(s) URL.
 * - `InvalidTarget`: a Realtime URL was asked for with both or neither of `model` and `intent`.
 */
export type OpenAIConfigErrorReason =
  | "MissingApiKey"
  | "MissingEndpoint"
  | "MissingDeployment"
  | "MissingApiVersion"
  | "ConflictingCredentials"
  | "InvalidUrl"
  | "InvalidTarget"

/**
 * A configuration that cannot be used. Plain functions throw it (it is an `Error`);
 * {@link loadOpenAIConfig} returns it as an Effect failure. Never retryable, and its message
 * never contains a credential.
 */
export class OpenAIConfigError extends Data.TaggedError("OpenAIConfigError")<{
  readonly reason: OpenAIConfigErrorReason
  readonly message: string
}> {}

/** True when `u` is an {@link OpenAIConfigError}. */
export const isOpenAIConfigError = (u: unknown): u is OpenAIConfigError => u instanceof OpenAIConfigError

/** The public OpenAI API (or anything that speaks it: the local simulator, a proxy). */
export interface OpenAIPlatformConfig {
  readonly provider: "openai"
  /** Sent as `Authorization: Bearer <key>`. */
  readonly apiKey: Redacted.Redacted<string>
  /**
   * The API base as given, without a trailing slash, e.g. `https://api.openai.com/v1`,
   * `http://127.0.0.1:8080/v1` or `ws://127.0.0.1:8080/v1`. The URL builders map the scheme
   * (http ↔ ws, https ↔ wss) as each protocol needs.
   */
  readonly baseUrl: string
  /** Sent as `OpenAI-Organization`. */
  readonly organization?: string
  /** Sent as `OpenAI-Project`. */
  readonly project?: string
}

/** How an Azure OpenAI resource is authenticated: an `api-key` header or an Entra (AD) bearer token. */
export type AzureCredential =
  | { readonly type: "apiKey"; readonly apiKey: Redacted.Redacted<string> }
  | { readonly type: "adToken"; readonly token: Redacted.Redacted<string> }

/** An Azure OpenAI resource. */
export interface AzureOpenAIConfig {
  readonly provider: "azure"
  readonly credential: AzureCredential
  /**
   * The resource endpoint without a trailing slash or `/openai` suffix, e.g.
   * `https://my-resource.openai.azure.com`.
   */
  readonly endpoint: string
  /** The deployment name; on Azure it stands where OpenAI takes a model name. */
  readonly deployment?: string
  /**
   * `api-version`. A dated version (`2024-10-21`, `2025-04-01-preview`) selects the dated REST
   * shape `/openai/deployments/{deployment}/...?api-version=`; none, `v1`, `latest` or
   * `preview` select the v1 shape `/openai/v1/...`.
   */
  readonly apiVersion?: string
  /**
   * Which Realtime endpoint to use: `ga` (default) is `/openai/v1/realtime` with GA events;
   * `preview` is the older beta protocol at `/openai/realtime?api-version=&deployment=`.
   */
  readonly realtimeApi: "ga" | "preview"
}

/**
 * Where and how to reach OpenAI: either the OpenAI platform or an Azure OpenAI resource.
 * Credentials are Effect `Redacted` values, so printing, inspecting or JSON-encoding a config
 * shows `<redacted>` instead of the key.
 */
export type OpenAIConfig = OpenAIPlatformConfig | AzureOpenAIConfig

/** Options for {@link resolveOpenAIConfig}; everything left out is read from the environment. */
export interface OpenAIConfigOptions {
  /** Force a provider. By default Azure is chosen when `azure` options are given, or when the
   * environment has `AZURE_OPENAI_ENDPOINT` but no `OPENAI_API_KEY`. */
  readonly provider?: "openai" | "azure"
  /** OpenAI API key (default: `OPENAI_API_KEY`). */
  readonly apiKey?: string | Redacted.Redacted<string>
  /** API base URL (default: `OPENAI_BASE_URL`, else `https://api.openai.com/v1`). */
  readonly baseUrl?: string
  /** Organization id (default: `OPENAI_ORG_ID`). */
  readonly organization?: string
  /** Project id (default: `OPENAI_PROJECT_ID`). */
  readonly project?: string
  /** Azure settings; giving this object selects Azure unless `provider` says otherwise. */
  readonly azure?: {
    /** Default: `AZURE_OPENAI_ENDPOINT`. */
    readonly endpoint?: string
    /** Default: `AZURE_OPENAI_API_KEY` (unless an AD token is given here). */
    readonly apiKey?: string | Redacted.Redacted<string>
    /** Entra (AD) bearer token. Default: `AZURE_OPENAI_AD_TOKEN` (unless an API key is given here). */
    readonly adToken?: string | Redacted.Redacted<string>
    /** Default: `AZURE_OPENAI_DEPLOYMENT`. */
    readonly deployment?: string
    /** Default: `OPENAI_API_VERSION`. */
    readonly apiVersion?: string
    /** Default: `ga`. */
    readonly realtimeApi?: "ga" | "preview"
  }
}

/** The environment shape {@link resolveOpenAIConfig} reads (`process.env` fits). */
export type OpenAIEnv = Readonly<Record<string, string | undefined>>

/** The OpenAI platform REST base used when neither options nor `OPENAI_BASE_URL` give one. */
export const DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"

const configError = (reason: OpenAIConfigErrorReason, message: string): OpenAIConfigError =>
  new OpenAIConfigError({ reason, message })

const nonEmpty = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed.length === 0 ? undefined : trimmed
}

const toRedacted = (
  value: string | Redacted.Redacted<string> | undefined,
  label: string,
): Redacted.Redacted<string> | undefined => {
  if (value === undefined) return undefined
  if (Redacted.isRedacted(value)) return nonEmpty(Redacted.value(value)) === undefined ? undefined : value
  const text = nonEmpty(value)
  return text === undefined ? undefined : Redacted.make(text, { label })
}

const stripTrailingSlashes = (url: string): string => url.replace(/\/+$/, "")

const checkUrl = (url: string, what: string): string => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw configError("InvalidUrl", `${what} is not an absolute URL: ${JSON.stringify(url)}`)
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(parsed.protocol)) {
    throw configError("InvalidUrl", `${what} must use http, https, ws or wss, not ${parsed.protocol}`)
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw configError("InvalidUrl", `${what} must not carry credentials in the URL`)
  }
  return stripTrailingSlashes(url.trim())
}

const choosesAzure = (options: OpenAIConfigOptions, env: OpenAIEnv): boolean => {
  if (options.provider !== undefined) return options.provider === "azure"
  if (options.azure !== undefined) return true
  if (options.apiKey !== undefined || options.baseUrl !== undefined) return false
  return nonEmpty(env.OPENAI_API_KEY) === undefined && nonEmpty(env.AZURE_OPENAI_ENDPOINT) !== undefined
}

const resolvePlatform = (options: OpenAIConfigOptions, env: OpenAIEnv): OpenAIPlatformConfig => {
  const apiKey = toRedacted(options.apiKey ?? env.OPENAI_API_KEY, "OPENAI_API_KEY")
  if (apiKey === undefined) {
    throw configError(
      "MissingApiKey",
      "No OpenAI API key: pass `apiKey` or set OPENAI_API_KEY (for Azure set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY)",
    )
  }
  const baseUrl = checkUrl(
    nonEmpty(options.baseUrl) ?? nonEmpty(env.OPENAI_BASE_URL) ?? DEFAULT_OPENAI_BASE_URL,
    "The OpenAI base URL",
  )
  const organization = nonEmpty(options.organization ?? env.OPENAI_ORG_ID)
  const project = nonEmpty(options.project ?? env.OPENAI_PROJECT_ID)
  return {
    provider: "openai",
    apiKey,
    baseUrl,
    ...(organization === undefined ? {} : { organization }),
    ...(project === undefined ? {} : { project }),
  }
}

const resolveAzureCredential = (options: OpenAIConfigOptions, env: OpenAIEnv): AzureCredential => {
  const givenKey = toRedacted(options.azure?.apiKey ?? options.apiKey, "AZURE_OPENAI_API_KEY")
  const givenToken = toRedacted(options.azure?.adToken, "AZURE_OPENAI_AD_TOKEN")
  if (givenKey !== undefined && givenToken !== undefined) {
    throw configError(
      "ConflictingCredentials",
      "Both an Azure API key and an Entra (AD) token were given; pass only one",
    )
  }
  if (givenKey !== undefined) return { type: "apiKey", apiKey: givenKey }
  if (givenToken !== undefined) return { type: "adToken", token: givenToken }
  const envKey = toRedacted(env.AZURE_OPENAI_API_KEY, "AZURE_OPENAI_API_KEY")
  const envToken = toRedacted(env.AZURE_OPENAI_AD_TOKEN, "AZURE_OPENAI_AD_TOKEN")
  if (envKey !== undefined && envToken !== undefined) {
    throw configError(
      "ConflictingCredentials",
      "Both AZURE_OPENAI_API_KEY and AZURE_OPENAI_AD_TOKEN are set; unset one or pass a credential explicitly",
    )
  }
  if (envKey !== undefined) return { type: "apiKey", apiKey: envKey }
  if (envToken !== undefined) return { type: "adToken", token: envToken }
  throw configError(
    "MissingApiKey",
    "No Azure OpenAI credential: pass `azure.apiKey` or `azure.adToken`, or set AZURE_OPENAI_API_KEY or AZURE_OPENAI_AD_TOKEN",
  )
}

const resolveAzure = (options: OpenAIConfigOptions, env: OpenAIEnv): AzureOpenAIConfig => {
  const rawEndpoint = nonEmpty(options.azure?.endpoint ?? env.AZURE_OPENAI_ENDPOINT)
  if (rawEndpoint === undefined) {
    throw configError(
      "MissingEndpoint",
      "No Azure OpenAI endpoint: pass `azure.endpoint` or set AZURE_OPENAI_ENDPOINT (https://<resource>.openai.azure.com)",
    )
  }
  const credential = resolveAzureCredential(options, env)
  const endpoint = checkUrl(rawEndpoint, "The Azure OpenAI endpoint").replace(/\/openai(\/v1)?$/, "")
  const deployment = nonEmpty(options.azure?.deployment ?? env.AZURE_OPENAI_DEPLOYMENT)
  const apiVersion = nonEmpty(options.azure?.apiVersion ?? env.OPENAI_API_VERSION)
  return {
    provider: "azure",
    credential,
    endpoint,
    ...(deployment === undefined ? {} : { deployment }),
    ...(apiVersion === undefined ? {} : { apiVersion }),
    realtimeApi: options.azure?.realtimeApi ?? "ga",
  }
}

/**
 * Builds an {@link OpenAIConfig} from `options`, filling the gaps from `env`:
 * `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID` for OpenAI;
 * `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY`, `AZURE_OPENAI_AD_TOKEN`,
 * `AZURE_OPENAI_DEPLOYMENT`, `OPENAI_API_VERSION` for Azure. Options win over the environment.
 *
 * @throws {OpenAIConfigError} `MissingApiKey`, `MissingEndpoint`, `ConflictingCredentials` or
 *   `InvalidUrl`.
 */
export const resolveOpenAIConfig = (
  options: OpenAIConfigOptions = {},
  env: OpenAIEnv = process.env,
): OpenAIConfig => (choosesAzure(options, env) ? resolveAzure(options, env) : resolvePlatform(options, env))

/**
 * {@link resolveOpenAIConfig} as an Effect: succeeds with the config or fails with
 * {@link OpenAIConfigError}.
 */
export const loadOpenAIConfig = (
  options: OpenAIConfigOptions = {},
  env: OpenAIEnv = process.env,
): Effect.Effect<OpenAIConfig, OpenAIConfigError> =>
  Effect.try({
    try: () => resolveOpenAIConfig(options, env),
    catch: (error) =>
      isOpenAIConfigError(error)
        ? error
        : configError("InvalidUrl", `Unreadable configuration: ${String(error)}`),
  })

/** The credential itself, for clients that take a key (such as the `openai` SDK's `apiKey`). */
export const secretOf = (config: OpenAIConfig): Redacted.Redacted<string> =>
  config.provider === "openai"
    ? config.apiKey
    : config.credential.type === "apiKey"
      ? config.credential.apiKey
      : config.credential.token

// ---------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------

/** What a Realtime connection is for: a conversation with `model`, or transcription only. */
export type RealtimeTarget = { readonly model: string } | { readonly intent: "transcription" }

const toWebSocketScheme = (url: string): string => url.replace(/^http(s?):/i, "ws$1:")
const toHttpScheme = (url: string): string => url.replace(/^ws(s?):/i, "http$1:")

const isDatedApiVersion = (version: string | undefined): version is string =>
  version !== undefined && /^\d{4}-\d{2}-\d{2}/.test(version)

const targetParam = (target: RealtimeTarget): [string, string] => {
  const hasModel = "model" in target && target.model !== undefined
  const hasIntent = "intent" in target && target.intent !== undefined
  if (hasModel === hasIntent) {
    throw configError("InvalidTarget", "A Realtime URL takes exactly one of `model` and `intent`")
  }
  if (hasModel) {
    const model = nonEmpty((target as { readonly model: string }).model)
    if (model === undefined) throw configError("InvalidTarget", "The Realtime `model` is empty")
    return ["model", model]
  }
  const intent = (target as { readonly intent: string }).intent
  if (intent !== "transcription") {
    throw configError("InvalidTarget", `Unknown Realtime intent ${JSON.stringify(intent)}`)
  }
  return ["intent", intent]
}

const withQuery = (base: string, params: ReadonlyArray<readonly [string, string]>): string => {
  const url = new URL(base)
  for (const [key, value] of params) url.searchParams.set(key, value)
  return url.toString()
}

/**
 * The WebSocket URL of a Realtime session (OPENAI_PROTOCOL.md §2.1, §10).
 *
 * - OpenAI: `wss://api.openai.com/v1/realtime?model=<m>` or `?intent=transcription` (never both);
 *   a local base such as `http://127.0.0.1:PORT/v1` gives `ws://127.0.0.1:PORT/v1/realtime?...`.
 * - Azure GA: `wss://<res>.openai.azure.com/openai/v1/realtime?model=<deployment>` or
 *   `?intent=transcription`. The configured deployment wins over `model`, because on Azure the
 *   model parameter names a deployment.
 * - Azure preview (`realtimeApi: "preview"`):
 *   `/openai/realtime?api-version=<v>&deployment=<d>` (or `&intent=transcription`).
 *
 * @throws {OpenAIConfigError} `InvalidTarget`; for Azure preview also `MissingApiVersion` and
 *   `MissingDeployment`.
 */
export const realtimeUrl = (config: OpenAIConfig, target: RealtimeTarget): string => {
  const [key, value] = targetParam(target)
  if (config.provider === "openai") {
    return withQuery(`${toWebSocketScheme(config.baseUrl)}/realtime`, [[key, value]])
  }
  const base = toWebSocketScheme(config.endpoint)
  if (config.realtimeApi === "ga") {
    const param: [string, string] = key === "model" ? ["model", config.deployment ?? value] : [key, value]
    return withQuery(`${base}/openai/v1/realtime`, [param])
  }
  if (config.apiVersion === undefined) {
    throw configError(
      "MissingApiVersion",
      "The Azure Realtime preview endpoint needs an api-version (azure.apiVersion or OPENAI_API_VERSION)",
    )
  }
  if (key === "intent") {
    return withQuery(`${base}/openai/realtime`, [
      ["api-version", config.apiVersion],
      ["intent", value],
    ])
  }
  return withQuery(`${base}/openai/realtime`, [
    ["api-version", config.apiVersion],
    ["deployment", config.deployment ?? value],
  ])
}

/**
 * The WebSocket URL of the Responses API in WebSocket mode (§7): the REST base with a ws(s)
 * scheme plus `/responses`, e.g. `wss://api.openai.com/v1/responses`. On Azure the
 * `api-version` REST requests send ({@link restQuery}) is sent here too (§10):
 *
 * - no `apiVersion`, `v1` or `latest`: `wss://<res>.openai.azure.com/openai/v1/responses`;
 * - another undated version such as `preview`: `.../openai/v1/responses?api-version=preview`;
 * - a dated version: `.../openai/responses?api-version=<v>`, the dated Responses path of the
 *   REST API (§10). That WebSocket mode is served on the dated path is not confirmed by the
 *   protocol references; the v1 path is the documented one.
 */
export const responsesUrl = (config: OpenAIConfig): string => {
  if (config.provider === "openai") return `${toWebSocketScheme(config.baseUrl)}/responses`
  const base = toWebSocketScheme(config.endpoint)
  const query = Object.entries(restQuery(config))
  if (isDatedApiVersion(config.apiVersion)) return withQuery(`${base}/openai/responses`, query)
  return query.length === 0 ? `${base}/openai/v1/responses` : withQuery(`${base}/openai/v1/responses`, query)
}

/**
 * The REST base URL (http/https), suitable as the `openai` SDK's `baseURL`:
 * `https://api.openai.com/v1` (a `ws://` base is mapped to `http://`); Azure v1:
 * `https://<res>.openai.azure.com/openai/v1`; Azure with a dated `apiVersion`:
 * `https://<res>.openai.azure.com/openai/deployments/<deployment>` (pair it with
 * {@link restQuery} for the `api-version` parameter).
 *
 * @throws {OpenAIConfigError} `MissingDeployment` for the dated Azure shape without a deployment.
 */
export const restBaseUrl = (config: OpenAIConfig): string => {
  if (config.provider === "openai") return toHttpScheme(config.baseUrl)
  const base = toHttpScheme(config.endpoint)
  if (!isDatedApiVersion(config.apiVersion)) return `${base}/openai/v1`
  if (config.deployment === undefined) {
    throw configError(
      "MissingDeployment",
      `Azure api-version ${config.apiVersion} addresses deployments: pass azure.deployment or set AZURE_OPENAI_DEPLOYMENT`,
    )
  }
  return `${base}/openai/deployments/${encodeURIComponent(config.deployment)}`
}

/**
 * Query parameters every REST request needs (the `openai` SDK's `defaultQuery`):
 * `{ "api-version": v }` on Azure when an api-version is configured, otherwise `{}`.
 */
export const restQuery = (config: OpenAIConfig): Readonly<Record<string, string>> =>
  config.provider === "azure" && config.apiVersion !== undefined && !/^(v1|latest)$/.test(config.apiVersion)
    ? { "api-version": config.apiVersion }
    : {}

// ---------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------

/** HTTP headers whose secret values stay `Redacted` until the moment they are sent. */
export type SecretHeaders = Readonly<Record<string, string | Redacted.Redacted<string>>>

/** Options for {@link authHeaders}. */
export interface AuthHeaderOptions {
  /**
   * Add `OpenAI-Beta: realtime=v1`, for the legacy beta Realtime protocol (Azure preview or
   * beta-compatible servers). Never send it to OpenAI's GA endpoint: it is rejected.
   */
  readonly realtimeBeta?: boolean
}

/**
 * The authentication headers for `config`:
 * OpenAI: `Authorization: Bearer <key>` plus `OpenAI-Organization` / `OpenAI-Project` when set;
 * Azure: `api-key: <key>`, or `Authorization: Bearer <token>` with an Entra token (never both).
 * The secret values are `Redacted`; `RealtimeSocket.connect` accepts them as they are, and
 * {@link revealHeaders} turns them into plain strings for other clients.
 */
export const authHeaders = (config: OpenAIConfig, options: AuthHeaderOptions = {}): SecretHeaders => {
  const headers: Record<string, string | Redacted.Redacted<string>> = {}
  if (config.provider === "openai") {
    headers.Authorization = Redacted.make(`Bearer ${Redacted.value(config.apiKey)}`, {
      label: "Authorization",
    })
    if (config.organization !== undefined) headers["OpenAI-Organization"] = config.organization
    if (config.project !== undefined) headers["OpenAI-Project"] = config.project
  } else if (config.credential.type === "apiKey") {
    headers["api-key"] = config.credential.apiKey
  } else {
    headers.Authorization = Redacted.make(`Bearer ${Redacted.value(config.credential.token)}`, {
      label: "Authorization",
    })
  }
  if (options.realtimeBeta === true) headers["OpenAI-Beta"] = "realtime=v1"
  return headers
}

/**
 * Plain string headers from {@link SecretHeaders}, for an HTTP client that needs them.
 * The result holds secrets in clear text: pass it on, never log it.
 */
export const revealHeaders = (headers: SecretHeaders): Record<string, string> => {
  const plain: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    plain[name] = Redacted.isRedacted(value) ? Redacted.value(value) : value
  }
  return plain
}

/**
 * The secret strings inside `headers` (redacted values, and the credential part of
 * `Bearer <token>`), so text that may echo them (an error body) can be scrubbed.
 */
export const secretsOf = (headers: SecretHeaders | undefined): ReadonlyArray<string> => {
  if (headers === undefined) return []
  const secrets: Array<string> = []
  for (const [name, value] of Object.entries(headers)) {
    const sensitiveName = /^(authorization|api-key|x-api-key|proxy-authorization|cookie)$/i.test(name)
    if (!Redacted.isRedacted(value) && !sensitiveName) continue
    const text = Redacted.isRedacted(value) ? String(Redacted.value(value)) : value
    secrets.push(text)
    const bearer = /^\s*bearer\s+(.+)$/i.exec(text)
    if (bearer?.[1] !== undefined) secrets.push(bearer[1].trim())
  }
  return secrets.filter((s) => s.length >= 4)
}

/**
 * Options for the `openai` SDK client (`new OpenAI(openAIClientOptions(config))`): the REST
 * base, the `api-version` query on Azure, and the credential in the header each provider
 * expects (`Authorization: Bearer` for OpenAI and Entra tokens; `api-key` alone for Azure keys).
 * The result holds the secret in clear text, as the SDK needs it: pass it on, never log it.
 *
 * @throws {OpenAIConfigError} `MissingDeployment` for the dated Azure shape without a deployment.
 */
export const openAIClientOptions = (config: OpenAIConfig): OpenAIClientOptions => {
  const secret = Redacted.value(secretOf(config))
  const base = { apiKey: secret, baseURL: restBaseUrl(config), defaultQuery: { ...restQuery(config) } }
  if (config.provider === "openai") {
    return {
      ...base,
      ...(config.organization === undefined ? {} : { organization: config.organization }),
      ...(config.project === undefined ? {} : { project: config.project }),
    }
  }
  if (config.credential.type === "apiKey") {
    // The SDK always adds a bearer header from `apiKey`; Azure keys must travel alone in `api-key`.
    return { ...base, defaultHeaders: { "api-key": secret, Authorization: null } }
  }
  return base
}

/** The subset of the `openai` SDK's `ClientOptions` that {@link openAIClientOptions} fills. */
export interface OpenAIClientOptions {
  readonly apiKey: string
  readonly baseURL: string
  readonly defaultQuery: Record<string, string>
  readonly defaultHeaders?: Record<string, string | null>
  readonly organization?: string
  readonly project?: string
}
