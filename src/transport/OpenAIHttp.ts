/**
 * The HTTP transport of every REST call voxstate makes (batch transcription, chat
 * completions, and speech next): the `openai` SDK client built once from an
 * {@link OpenAIConfig} (OpenAI or Azure, organization and project, the Azure `api-key`
 * header, no SDK retries: the callers own their retry policy), as an Effect service with a
 * layer, and the one mapping of the SDK's failures to a typed {@link OpenAIHttpError} whose
 * `retryable` flag is `classifyOpenAIError`'s.
 * @module
 */
import { Context, Data, Effect, Layer } from "effect"
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AzureOpenAI,
} from "openai"
import { classifyOpenAIError, type HeaderLookup } from "../protocol/openAIErrorPolicy.ts"
import { retryAfterMsFromHeaders } from "../protocol/retryAfter.ts"
import { recordingFetch } from "./httpRecording.ts"
import {
  loadOpenAIConfig,
  type OpenAIConfig,
  type OpenAIConfigError,
  type OpenAIConfigOptions,
  type OpenAIEnv,
  openAIClientOptions,
} from "./OpenAIConfig.ts"
import { makeFileRecorder, recordingPathIn } from "./recording.ts"
import { makeScrubber, noScrubbing, type Scrubber, scrubberOf } from "./scrub.ts"

/**
 * Why an {@link OpenAIHttpError} was raised.
 * - `Status`: the service answered with an error status; `code` and `errorType` are its
 *   error's, `retryAfterMs` the delay it asked for, `requestId` its `x-request-id`.
 * - `Connection`: no answer (refused, reset, a stream cut short).
 * - `Timeout`: the request took longer than its timeout.
 * - `Aborted`: the caller aborted the request.
 * - `Unreadable`: something other than an HTTP failure went wrong reading the answer.
 */
export type OpenAIHttpErrorReason =
  | {
      readonly _tag: "Status"
      readonly status: number
      readonly code?: string
      readonly errorType?: string
      readonly requestId?: string
      readonly retryAfterMs?: number
    }
  | { readonly _tag: "Connection"; readonly detail: string }
  | { readonly _tag: "Timeout" }
  | { readonly _tag: "Aborted" }
  | { readonly _tag: "Unreadable" }

/**
 * The one error of the HTTP transport. `retryable` says whether the same request can
 * succeed later (by `classifyOpenAIError` for a status; always for connection failures and
 * timeouts); `rateLimited` whether it is a rate limit to wait out. `headers` reads the error
 * answer's headers (absent without an answer). `cause` is the SDK's error.
 */
export class OpenAIHttpError extends Data.TaggedError("OpenAIHttpError")<{
  readonly reason: OpenAIHttpErrorReason
  readonly message: string
  readonly retryable: boolean
  readonly rateLimited: boolean
  readonly headers?: HeaderLookup
  readonly cause?: unknown
}> {}

/** True when `u` is an {@link OpenAIHttpError}. */
export const isOpenAIHttpError = (u: unknown): u is OpenAIHttpError => u instanceof OpenAIHttpError

/**
 * A failure's cause as it may be kept: the server's error (its body, its headers) goes through
 * `scrub`, as a plain `Error` with the same name and the scrubbed message.
 */
const scrubbedCause = (error: unknown, scrub: Scrubber): Error => {
  const copy = new Error(scrub(error instanceof Error ? error.message : String(error)))
  copy.name = error instanceof Error ? error.name : "Error"
  return copy
}

/**
 * The one mapping of what the `openai` SDK throws (or Node's fetch, when a reset escapes it)
 * to an {@link OpenAIHttpError}. Every server-supplied text (the message, a connection's
 * detail, the kept cause) goes through `scrub`, so an echoed credential never reaches the
 * error. An `OpenAIHttpError` is returned as it is.
 */
export const openAIHttpErrorOf = (error: unknown, scrub: Scrubber = noScrubbing): OpenAIHttpError => {
  if (error instanceof OpenAIHttpError) return error
  const mapped = mapSDKError(error)
  if (scrub === noScrubbing) return mapped
  const reason = mapped.reason
  return new OpenAIHttpError({
    ...mapped,
    reason:
      reason._tag === "Connection"
        ? { ...reason, detail: scrub(reason.detail) }
        : reason._tag === "Status" && reason.code !== undefined
          ? { ...reason, code: scrub(reason.code) }
          : reason,
    message: scrub(mapped.message),
    ...(mapped.cause === undefined ? {} : { cause: scrubbedCause(mapped.cause, scrub) }),
  })
}

const mapSDKError = (error: unknown): OpenAIHttpError => {
  if (error instanceof APIUserAbortError) {
    return new OpenAIHttpError({
      reason: { _tag: "Aborted" },
      message: "request aborted",
      retryable: false,
      rateLimited: false,
      cause: error,
    })
  }
  if (error instanceof APIConnectionTimeoutError) {
    return new OpenAIHttpError({
      reason: { _tag: "Timeout" },
      message: "request timed out",
      retryable: true,
      rateLimited: false,
      cause: error,
    })
  }
  if (error instanceof APIConnectionError) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ""
    return new OpenAIHttpError({
      reason: { _tag: "Connection", detail: `${error.message}${cause}` },
      message: `connection error (${error.message}${cause})`,
      retryable: true,
      rateLimited: false,
      cause: error,
    })
  }
  if (error instanceof APIError && typeof error.status === "number") {
    const answer = error.headers
    const headers: HeaderLookup | undefined = answer === undefined ? undefined : (name) => answer.get(name)
    const code = typeof error.code === "string" ? error.code : undefined
    const errorType = typeof error.type === "string" ? error.type : undefined
    const retryAfterMs = headers === undefined ? undefined : retryAfterMsFromHeaders(headers)
    const verdict = classifyOpenAIError({ source: "http", status: error.status, code, errorType, headers })
    return new OpenAIHttpError({
      reason: {
        _tag: "Status",
        status: error.status,
        ...(code === undefined ? {} : { code }),
        ...(errorType === undefined ? {} : { errorType }),
        ...(typeof error.requestID === "string" ? { requestId: error.requestID } : {}),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      },
      message: error.message,
      retryable: verdict.retryable,
      rateLimited: verdict.kind === "rateLimited",
      ...(headers === undefined ? {} : { headers }),
      cause: error,
    })
  }
  // Node's fetch reports resets and refusals as TypeError("fetch failed") when they escape the SDK.
  if (error instanceof TypeError && /fetch failed|terminated|socket/i.test(error.message)) {
    return new OpenAIHttpError({
      reason: { _tag: "Connection", detail: error.message },
      message: `connection error (${error.message})`,
      retryable: true,
      rateLimited: false,
      cause: error,
    })
  }
  return new OpenAIHttpError({
    reason: { _tag: "Unreadable" },
    message: `unreadable answer: ${error instanceof Error ? error.message : String(error)}`,
    retryable: false,
    rateLimited: false,
    cause: error,
  })
}

/** Options of the client {@link makeOpenAIClient} builds. */
export interface OpenAIClientBuildOptions {
  /** Per-request timeout of the SDK, in milliseconds (default: the SDK's). */
  readonly timeoutMs?: number
  /**
   * The `fetch` requests go through: e.g. `recordingFetch(recorder)` to record them, or a
   * replay's `fetch` to answer them from a recording (default the global one).
   */
  readonly fetch?: typeof fetch
  /**
   * A folder to record every request and answer into (one JSONL file per client, credentials
   * stripped); `false` records nothing. Default `VOXSTATE_RECORD` from the environment.
   * Ignored when `fetch` is given.
   */
  readonly record?: string | false
}

/**
 * The `openai` client for `config`: the REST base and `api-version` query, the credential in
 * the header each provider expects, the organization and project (never read by the SDK
 * from its own environment), and no SDK retries.
 * @throws {OpenAIConfigError} `MissingDeployment` for the dated Azure shape without a deployment.
 */
export const makeOpenAIClient = (config: OpenAIConfig, options: OpenAIClientBuildOptions = {}): OpenAI => {
  const clientOptions = openAIClientOptions(config)
  return new OpenAI({
    ...clientOptions,
    // null, not undefined: the SDK would otherwise read OPENAI_ORG_ID / OPENAI_PROJECT_ID itself.
    organization: clientOptions.organization ?? null,
    project: clientOptions.project ?? null,
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    ...fetchOf(options),
    maxRetries: 0,
  })
}

const fetchOf = (options: OpenAIClientBuildOptions): { readonly fetch?: typeof fetch } => {
  if (options.fetch !== undefined) return { fetch: options.fetch }
  const directory = options.record ?? process.env.VOXSTATE_RECORD
  if (directory === undefined || directory === false || directory === "") return {}
  return { fetch: recordingFetch(makeFileRecorder(recordingPathIn(directory, "rest"))) }
}

/** The HTTP transport: the client, its provider, and requests as Effects. */
export interface OpenAIHttpShape {
  /** The `openai` client requests go through. */
  readonly client: OpenAI
  /** Which service the client talks to. */
  readonly provider: OpenAIConfig["provider"]
  /** Removes the client's credential from server-supplied text (applied to every error). */
  readonly scrub: Scrubber
  /**
   * Runs one request with the client; interrupting the Effect aborts it (the `signal`).
   * Fails with the request's {@link OpenAIHttpError}.
   */
  request<A>(run: (client: OpenAI, signal: AbortSignal) => PromiseLike<A>): Effect.Effect<A, OpenAIHttpError>
}

/** Where an {@link OpenAIHttpShape} gets its client: a resolved config, or a ready client (e.g. an `AzureOpenAI`). */
export type OpenAIHttpSource =
  | ({ readonly config: OpenAIConfig } & OpenAIClientBuildOptions)
  | { readonly client: OpenAI }

/** The HTTP transport over a config or a ready client (see {@link OpenAIHttpSource}). */
export const makeOpenAIHttp = (source: OpenAIHttpSource): OpenAIHttpShape => {
  const client = "client" in source ? source.client : makeOpenAIClient(source.config, source)
  const provider: OpenAIConfig["provider"] =
    "client" in source ? (source.client instanceof AzureOpenAI ? "azure" : "openai") : source.config.provider
  const scrub =
    "client" in source
      ? makeScrubber(source.client.apiKey === null ? [] : [source.client.apiKey])
      : scrubberOf(source.config)
  return {
    client,
    provider,
    scrub,
    request: (run) =>
      Effect.tryPromise({
        try: (signal) => Promise.resolve(run(client, signal)),
        catch: (error) => openAIHttpErrorOf(error, scrub),
      }),
  }
}

/** The HTTP transport as an Effect service (`yield* OpenAIHttp`). */
export class OpenAIHttp extends Context.Service<OpenAIHttp, OpenAIHttpShape>()("voxstate/OpenAIHttp") {
  /**
   * A layer resolving the endpoint from `openai` and `env` (as every constructor does).
   * Fails with `OpenAIConfigError` for a missing key or a malformed URL.
   */
  static layer(
    options: {
      readonly openai?: OpenAIConfigOptions
      readonly env?: OpenAIEnv
    } & OpenAIClientBuildOptions = {},
  ): Layer.Layer<OpenAIHttp, OpenAIConfigError> {
    return Layer.effect(
      OpenAIHttp,
      Effect.map(loadOpenAIConfig(options.openai, options.env ?? process.env), (config) =>
        makeOpenAIHttp({
          config,
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
          ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
          ...(options.record === undefined ? {} : { record: options.record }),
        }),
      ),
    )
  }
}
