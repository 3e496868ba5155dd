import type { ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions/completions"
import type { ReasoningEffort } from "openai/resources/shared"
import type { InspectionEvent, Observer } from "xstate"
import type { ResponsesTurnParams } from "../../machines/responses/responsesChain.ts"
import type { OpenAIConfig, OpenAIConfigOptions, OpenAIEnv } from "../transport/index.ts"
import { type ChatItem, toChatItem } from "./ChatContext.ts"
import {
  type FunctionTool,
  type JsonSchema,
  type ToolChoice,
  toChatCompletionTool,
  toChatCompletionToolChoice,
  toResponsesTool,
  toResponsesToolChoice,
} from "./tools.ts"

/**
 * The options of `createLLM` and how they become request parameters on each API:
 * `response.create` fields on the Responses socket, `chat.completions.create` fields over
 * HTTP. Options a model or an API does not take are dropped with one warning each, never
 * sent to fail the request.
 * @module
 */

/** Structured output: the reply is JSON matching `schema`. */
export interface ResponseFormatOption {
  /** a-z, A-Z, 0-9, `_` and `-`, at most 64 characters. */
  readonly name: string
  readonly schema: JsonSchema
  readonly description?: string
  /** Exact adherence to `schema` (default true). */
  readonly strict?: boolean
}

/** Options of `createLLM`. */
export interface LLMOptions {
  /**
   * An XState inspection observer (a voxstate inspector's `inspect`): the WebSocket chain's
   * actor reports to it. `false`: none even under `VOXSTATE_INSPECT=1`.
   */
  readonly inspect?: Observer<InspectionEvent> | false
  /** Model name (on Azure: the deployment name). Default `gpt-4.1-mini`. */
  readonly model?: string
  /**
   * `websocket` (default): the Responses API over one WebSocket kept across turns, chained
   * with `previous_response_id`. `http`: streaming chat completions through the `openai` SDK.
   */
  readonly transport?: "websocket" | "http"
  /** Where and how to reach OpenAI or Azure (key, base URL, Azure endpoint, ...); the rest comes from `env`. */
  readonly openai?: OpenAIConfigOptions
  /** Environment read for missing settings; default `process.env`. */
  readonly env?: OpenAIEnv
  /** Instructions sent with every request (Responses `instructions`; HTTP: a leading system message). */
  readonly instructions?: string
  /** Sampling temperature 0-2. Dropped (with a warning) for reasoning models. */
  readonly temperature?: number
  /** Nucleus sampling. Dropped (with a warning) for reasoning models. */
  readonly topP?: number
  /** Most tokens to generate, reasoning included. */
  readonly maxOutputTokens?: number
  /** HTTP only (the Responses API has none); dropped for reasoning models. */
  readonly frequencyPenalty?: number
  /** HTTP only (the Responses API has none); dropped for reasoning models. */
  readonly presencePenalty?: number
  /** HTTP only: best-effort deterministic sampling. */
  readonly seed?: number
  /** Default tool choice when tools are given: `auto` unless set. */
  readonly toolChoice?: ToolChoice
  /** Let the model call several tools in one turn. */
  readonly parallelToolCalls?: boolean
  /** Reasoning effort (reasoning models only). */
  readonly reasoningEffort?: Exclude<ReasoningEffort, null>
  /** Output verbosity (gpt-5 family only). */
  readonly verbosity?: "low" | "medium" | "high"
  /** Structured output with a JSON schema. */
  readonly responseFormat?: ResponseFormatOption
  /** Store responses server-side. Responses default false (the chain then lives on its socket). */
  readonly store?: boolean
  /** Tools offered on every turn (a turn's own `tools` replace them). */
  readonly tools?: readonly FunctionTool[]
  /** Extra HTTP headers: the WebSocket handshake, or every REST request. */
  readonly extraHeaders?: Readonly<Record<string, string>>
  /** Extra query parameters: on the WebSocket URL, or on every REST request. */
  readonly extraQuery?: Readonly<Record<string, string>>
  /** Extra fields merged into every request body (last, so they win). */
  readonly extraBody?: Readonly<Record<string, unknown>>
  /**
   * Treat the model as a reasoning model (no temperature; `developer` role). Default: guessed
   * from the name (o1, o3, o4, gpt-5 except gpt-5-chat); set it for Azure deployment names.
   */
  readonly reasoningModel?: boolean
  /**
   * Longest rate-limit delay (`retry-after`) waited out before a turn's one retry, in
   * milliseconds; default 5 000. A request refused with `rate_limit_exceeded` (or another 429
   * but `insufficient_quota`) created nothing, so it is sent once more after that delay; a
   * longer delay fails the turn at once with a retryable `LLMError` carrying `retryAfterMs`.
   * 0 never retries.
   */
  readonly rateLimitMaxWaitMs?: number
  /** Wait before that retry when the service names no delay, in milliseconds; default 1 000. */
  readonly rateLimitWaitMs?: number
  /**
   * Longest wait for a turn's first output, in milliseconds; default 60 000: from
   * `response.created` (WebSocket), from the response headers (HTTP). The turn then fails with
   * `LLMError` `Timeout` (`first_output`).
   */
  readonly firstOutputTimeoutMs?: number
  /**
   * Longest silence between two events (chunks) of a response in progress, in milliseconds;
   * default 60 000. The turn then fails with `LLMError` `Timeout` (`between_events`).
   */
  readonly eventGapTimeoutMs?: number
  /** Receives one message per option that was dropped. Default: `console.warn`. */
  readonly onWarning?: (message: string) => void
}

/** Per-turn options of `llm.chat`. */
export interface ChatOptions {
  /** Tools for this turn (default: the LLM's `tools`). */
  readonly tools?: readonly FunctionTool[]
  /** Tool choice for this turn. */
  readonly toolChoice?: ToolChoice
  /** Aborting cancels the turn (the stream ends with a `cancelled` end chunk). */
  readonly signal?: AbortSignal
}

/** The default model. */
export const DEFAULT_LLM_MODEL = "gpt-4.1-mini"

/**
 * True for the reasoning models that take no `temperature` and read `system` as `developer`:
 * o1, o3, o4(-mini), gpt-5 and its variants except gpt-5-chat.
 */
export const isReasoningModel = (model: string): boolean => {
  const name = model.toLowerCase()
  return /^o\d/.test(name) || (name.startsWith("gpt-5") && !name.startsWith("gpt-5-chat"))
}

/** The options after the per-model and per-API rules; `warnings` lists what was dropped. */
export interface ResolvedLLMOptions extends LLMOptions {
  readonly model: string
  readonly reasoningModel: boolean
  readonly warnings: readonly string[]
}

/** Applies the model and transport rules to `options` (see {@link ResolvedLLMOptions}). */
export const resolveLLMOptions = (options: LLMOptions): ResolvedLLMOptions => {
  const model = options.model ?? DEFAULT_LLM_MODEL
  const reasoningModel = options.reasoningModel ?? isReasoningModel(model)
  const transport = options.transport ?? "websocket"
  const warnings: string[] = []
  const resolved: { -readonly [K in keyof LLMOptions]: LLMOptions[K] } = { ...options }
  const drop = (key: keyof LLMOptions, why: string): void => {
    if (resolved[key] === undefined) return
    delete resolved[key]
    warnings.push(`${key} is not sent: ${why}`)
  }
  if (reasoningModel) {
    const why = `${model} is a reasoning model, which takes no sampling parameters`
    drop("temperature", why)
    drop("topP", why)
    drop("frequencyPenalty", why)
    drop("presencePenalty", why)
    if (/^o\d/i.test(model))
      drop("verbosity", `${model} does not take it (verbosity is for the gpt-5 family)`)
  } else {
    drop("reasoningEffort", `${model} is not a reasoning model`)
    drop("verbosity", `${model} is not a reasoning model (verbosity is for the gpt-5 family)`)
  }
  if (transport === "websocket") {
    const why = "the Responses API has no such parameter (use transport: 'http', or extraBody)"
    drop("frequencyPenalty", why)
    drop("presencePenalty", why)
    drop("seed", why)
  }
  return { ...resolved, model, reasoningModel, warnings }
}

/**
 * The options an LLM on `transport` runs with: {@link resolveLLMOptions}, with the model
 * defaulting to the Azure deployment when `config` names one (else {@link DEFAULT_LLM_MODEL}),
 * and each dropped option reported once through `options.onWarning` (default `console.warn`).
 * @internal
 */
export const resolveTransportLLMOptions = (
  options: LLMOptions,
  transport: "websocket" | "http",
  config: OpenAIConfig | undefined,
): ResolvedLLMOptions => {
  const model =
    options.model ??
    (config?.provider === "azure" && config.deployment !== undefined ? config.deployment : undefined)
  const resolved = resolveLLMOptions({ ...options, transport, ...(model === undefined ? {} : { model }) })
  const warn = options.onWarning ?? ((message: string) => console.warn(`voxstate: ${message}`))
  for (const warning of resolved.warnings) warn(warning)
  return resolved
}

const definedOnly = <T extends Record<string, unknown>>(record: T): T =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T

/** The JSON schema of structured output as both APIs take it (`strict` unless turned off). */
const jsonSchemaOf = (format: ResponseFormatOption) =>
  definedOnly({
    name: format.name,
    schema: format.schema as Record<string, unknown>,
    description: format.description,
    strict: format.strict ?? true,
  })

/**
 * The `response.create` parameters of a Responses turn (everything but its input and chaining).
 * @internal
 */
export const responsesParams = (
  options: ResolvedLLMOptions,
  turn: { readonly tools?: readonly FunctionTool[]; readonly toolChoice?: ToolChoice } = {},
): ResponsesTurnParams => {
  const tools = turn.tools ?? options.tools ?? []
  const choice = turn.toolChoice ?? options.toolChoice
  const format = options.responseFormat
  const text =
    format === undefined && options.verbosity === undefined
      ? undefined
      : definedOnly({
          format:
            format === undefined ? undefined : { type: "json_schema" as const, ...jsonSchemaOf(format) },
          verbosity: options.verbosity,
        })
  const params = definedOnly({
    model: options.model,
    store: options.store ?? false,
    instructions: options.instructions,
    temperature: options.temperature,
    top_p: options.topP,
    max_output_tokens: options.maxOutputTokens,
    tools: tools.length === 0 ? undefined : tools.map(toResponsesTool),
    tool_choice: tools.length === 0 || choice === undefined ? undefined : toResponsesToolChoice(choice),
    parallel_tool_calls: tools.length === 0 ? undefined : options.parallelToolCalls,
    reasoning: options.reasoningEffort === undefined ? undefined : { effort: options.reasoningEffort },
    text,
  })
  return { ...params, ...(options.extraBody ?? {}) } as ResponsesTurnParams
}

/**
 * The body of a streaming chat-completions request for `messages`.
 * @internal
 */
export const chatCompletionParams = (
  options: ResolvedLLMOptions,
  messages: ChatCompletionCreateParamsStreaming["messages"],
  turn: { readonly tools?: readonly FunctionTool[]; readonly toolChoice?: ToolChoice } = {},
): ChatCompletionCreateParamsStreaming => {
  const tools = turn.tools ?? options.tools ?? []
  const choice = turn.toolChoice ?? options.toolChoice
  const format = options.responseFormat
  const params = definedOnly({
    model: options.model,
    messages,
    stream: true as const,
    stream_options: { include_usage: true },
    temperature: options.temperature,
    top_p: options.topP,
    max_completion_tokens: options.maxOutputTokens,
    frequency_penalty: options.frequencyPenalty,
    presence_penalty: options.presencePenalty,
    seed: options.seed,
    store: options.store,
    tools: tools.length === 0 ? undefined : tools.map(toChatCompletionTool),
    tool_choice: tools.length === 0 || choice === undefined ? undefined : toChatCompletionToolChoice(choice),
    parallel_tool_calls: tools.length === 0 ? undefined : options.parallelToolCalls,
    reasoning_effort: options.reasoningEffort,
    verbosity: options.verbosity,
    response_format:
      format === undefined ? undefined : { type: "json_schema" as const, json_schema: jsonSchemaOf(format) },
  })
  return { ...params, ...(options.extraBody ?? {}) } as ChatCompletionCreateParamsStreaming
}

/**
 * The history with the LLM's `instructions` in front (HTTP, where there is no `instructions` field).
 * @internal
 */
export const withInstructions = (
  items: readonly ChatItem[],
  instructions: string | undefined,
): readonly ChatItem[] =>
  instructions === undefined ? items : [toChatItem({ role: "system", content: instructions }), ...items]

/** The names of a turn's tools, which the stream checks calls against (none offered: an empty set). */
export const toolNamesOf = (tools: readonly FunctionTool[] | undefined): ReadonlySet<string> =>
  new Set((tools ?? []).map((tool) => tool.name))
