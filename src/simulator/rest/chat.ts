/**
 * `POST /v1/chat/completions`: the scenario's next reply (text, a function call, or several
 * function calls: parallel tool calls) for the request's messages, as a `chat.completion`
 * object or, with `stream: true`, as SSE `chat.completion.chunk`s: the role, then content
 * deltas (or tool-call fragments keyed by `index`, one call after the other: a call's first
 * fragment carries its `index`, `id` and `name`, the next ones pieces of its `arguments`), a
 * chunk with `finish_reason` (`tool_calls` for calls), with `stream_options.include_usage` a
 * last chunk with `choices: []` and `usage` (every other chunk then has `usage: null`), and
 * `data: [DONE]`.
 *
 * Usage is approximate (see `text.ts`); `cached_tokens` simulates prompt caching: for
 * prompts of at least 1024 tokens, the longest run of leading messages shared with a recent
 * request to the same model, in whole 128-token blocks. Reasoning models (o1, o3, o4, gpt-5)
 * report 64 `reasoning_tokens` and refuse `temperature` and `max_tokens`, as the service does.
 * @module
 */
import { functionCallsOf, resolveReply } from "../scenario.ts"
import type { ModelReply, Scenario } from "../types.ts"
import { parseJsonObject } from "./body.ts"
import { invalidParam, missingParam, restError } from "./errors.ts"
import { makeRestRoute, type RestRequest } from "./route.ts"
import { nextRequestIndex } from "./scripted.ts"
import { nextTick, startSse, writeSseData } from "./sse.ts"
import { countTextTokens, splitFragments, truncateDeltas } from "./text.ts"

/** Reasoning tokens reported by the simulated reasoning models per completion. */
const REASONING_TOKENS = 64
/** Minimum prompt length for caching, and the cache block size, in tokens (as the service). */
const CACHE_MIN_TOKENS = 1024
const CACHE_BLOCK_TOKENS = 128
/** How many recent prompts per simulator the cache remembers. */
const CACHE_ENTRIES = 32

/** True for the reasoning models that refuse `temperature` (o1, o3, o4-mini, gpt-5, ...; not gpt-5-chat). */
export const isReasoningModel = (model: string): boolean =>
  /^o\d/.test(model) || (model.startsWith("gpt-5") && !model.startsWith("gpt-5-chat"))

interface ChatParams {
  readonly model: string
  readonly messages: readonly Record<string, unknown>[]
  readonly stream: boolean
  readonly includeUsage: boolean
  readonly maxTokens: number | undefined
  readonly tools: readonly unknown[]
}

const validate = (body: Record<string, unknown>, deployment: string | undefined): ChatParams => {
  const model = deployment ?? body.model
  if (model === undefined) throw missingParam("model")
  if (typeof model !== "string" || model.length === 0) {
    throw invalidParam("model", "Invalid 'model': expected a string.", "invalid_type")
  }
  const messages = body.messages
  if (messages === undefined) throw missingParam("messages")
  if (!Array.isArray(messages))
    throw invalidParam("messages", "Invalid 'messages': expected an array.", "invalid_type")
  if (messages.length === 0) {
    throw invalidParam(
      "messages",
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      "empty_array",
    )
  }
  messages.forEach((m: unknown, i) => {
    if (m === null || typeof m !== "object" || typeof (m as { role?: unknown }).role !== "string") {
      throw invalidParam(
        `messages[${i}]`,
        `Invalid 'messages[${i}]': expected an object with a 'role'.`,
        "invalid_type",
      )
    }
  })
  if (isReasoningModel(model)) {
    if (body.temperature !== undefined) {
      throw restError(400, "Unsupported parameter: 'temperature' is not supported with this model.", {
        param: "temperature",
        code: "unsupported_parameter",
      })
    }
    if (body.max_tokens !== undefined) {
      throw restError(
        400,
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        { param: "max_tokens", code: "unsupported_parameter" },
      )
    }
  } else if (body.temperature !== undefined) {
    const t = body.temperature
    if (typeof t !== "number" || t < 0 || t > 2) {
      throw invalidParam(
        "temperature",
        "Invalid 'temperature': expected a number between 0 and 2.",
        "invalid_value",
      )
    }
  }
  const stream = body.stream ?? false
  if (typeof stream !== "boolean")
    throw invalidParam("stream", "Invalid 'stream': expected a boolean.", "invalid_type")
  const streamOptions = body.stream_options
  if (streamOptions !== undefined && streamOptions !== null && !stream) {
    throw invalidParam(
      "stream_options",
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      "invalid_value",
    )
  }
  const tools = body.tools ?? []
  if (!Array.isArray(tools))
    throw invalidParam("tools", "Invalid 'tools': expected an array.", "invalid_type")
  tools.forEach((tool: unknown, i) => {
    const fn = (tool as { function?: { name?: unknown } } | null)?.function
    if ((tool as { type?: unknown } | null)?.type !== "function" || typeof fn?.name !== "string") {
      throw invalidParam(
        `tools[${i}]`,
        `Invalid 'tools[${i}]': expected { type: 'function', function: { name, parameters } }.`,
        "invalid_value",
      )
    }
  })
  const maxTokens = body.max_completion_tokens ?? body.max_tokens
  if (maxTokens !== undefined && maxTokens !== null && (typeof maxTokens !== "number" || maxTokens < 1)) {
    throw invalidParam(
      "max_completion_tokens",
      "Invalid 'max_completion_tokens': expected a positive integer.",
    )
  }
  return {
    model,
    messages: messages as Record<string, unknown>[],
    stream,
    includeUsage: (streamOptions as { include_usage?: unknown } | null | undefined)?.include_usage === true,
    maxTokens: typeof maxTokens === "number" ? maxTokens : undefined,
    tools,
  }
}

/** Tokens of one message: its JSON minus quoting overhead, plus a fixed 4 per message. */
const messageTokens = (message: Record<string, unknown>): number =>
  4 + countTextTokens(JSON.stringify(message))

const recentPrompts = new WeakMap<Scenario, { model: string; keys: string[] }[]>()

/** Prompt tokens and the cached part of them (see the module description). */
const promptUsage = (scenario: Scenario, params: ChatParams): { prompt: number; cached: number } => {
  const perMessage = params.messages.map(messageTokens)
  const toolTokens = params.tools.length === 0 ? 0 : countTextTokens(JSON.stringify(params.tools))
  const prompt = 3 + toolTokens + perMessage.reduce((a, b) => a + b, 0)
  const keys = params.messages.map((m) => JSON.stringify(m))
  const recent = recentPrompts.get(scenario) ?? []
  let shared = 0
  for (const entry of recent) {
    if (entry.model !== params.model) continue
    let n = 0
    while (n < keys.length && n < entry.keys.length && keys[n] === entry.keys[n]) n++
    shared = Math.max(shared, n)
  }
  recent.push({ model: params.model, keys })
  if (recent.length > CACHE_ENTRIES) recent.shift()
  recentPrompts.set(scenario, recent)
  const sharedTokens =
    (shared > 0 ? 3 + toolTokens : 0) + perMessage.slice(0, shared).reduce((a, b) => a + b, 0)
  const cached =
    prompt >= CACHE_MIN_TOKENS && sharedTokens >= CACHE_MIN_TOKENS
      ? Math.floor(sharedTokens / CACHE_BLOCK_TOKENS) * CACHE_BLOCK_TOKENS
      : 0
  return { prompt, cached }
}

const answer = async ({ res, ctx, body, record }: RestRequest): Promise<void> => {
  const json = parseJsonObject(body)
  record(json)
  const params = validate(json, ctx.deployment)
  const reply: ModelReply = resolveReply(ctx.scenario, {
    index: nextRequestIndex(ctx.scenario, "chat"),
    input: params.messages,
  })
  const id = ctx.nextId("chatcmpl-")
  const created = Math.floor(Date.now() / 1000)
  const { prompt, cached } = promptUsage(ctx.scenario, params)
  const reasoning = isReasoningModel(params.model) ? REASONING_TOKENS : 0

  const calls = functionCallsOf(reply)?.map((call) => ({
    id: call.callId ?? ctx.nextId("call_"),
    name: call.name,
    arguments: call.arguments,
  }))
  const { deltas, truncated } =
    "text" in reply ? truncateDeltas(reply.text, params.maxTokens) : { deltas: [], truncated: false }
  const text = deltas.join("")
  const finishReason = calls !== undefined ? "tool_calls" : truncated ? "length" : "stop"
  const output =
    calls !== undefined
      ? calls.reduce((sum, call) => sum + countTextTokens(call.name) + countTextTokens(call.arguments), 0)
      : countTextTokens(text)
  const usage = {
    prompt_tokens: prompt,
    completion_tokens: output + reasoning,
    total_tokens: prompt + output + reasoning,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  }
  const base = {
    id,
    created,
    model: params.model,
    service_tier: "default",
    system_fingerprint: "fp_simulator",
  }

  if (!params.stream) {
    const message =
      calls !== undefined
        ? {
            role: "assistant",
            content: null,
            tool_calls: calls.map((call) => ({
              id: call.id,
              type: "function",
              function: { name: call.name, arguments: call.arguments },
            })),
            refusal: null,
            annotations: [],
          }
        : { role: "assistant", content: text, refusal: null, annotations: [] }
    const out = JSON.stringify({
      ...base,
      object: "chat.completion",
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
      usage,
    })
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(out)),
    })
    res.end(out)
    return
  }

  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    ...base,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(params.includeUsage ? { usage: null } : {}),
  })
  startSse(res)
  // Once the client is gone the remaining chunks are skipped without a turn of the loop each.
  const send = async (payload: unknown) => {
    if (res.destroyed) return
    writeSseData(res, payload)
    await nextTick()
  }
  if (calls !== undefined) {
    for (const [index, call] of calls.entries()) {
      const opening = {
        tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }],
      }
      await send(
        chunk(index === 0 ? { role: "assistant", content: null, ...opening, refusal: null } : opening),
      )
      for (const piece of splitFragments(call.arguments, 4)) {
        await send(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }))
      }
    }
  } else {
    await send(chunk({ role: "assistant", content: "", refusal: null }))
    for (const d of deltas) await send(chunk({ content: d }))
  }
  await send(chunk({}, finishReason))
  if (params.includeUsage) {
    await send({ ...base, object: "chat.completion.chunk", choices: [], usage })
  }
  writeSseData(res, "[DONE]")
  res.end()
}

/** The `POST /chat/completions` route. */
export const chatCompletionsRoute = makeRestRoute("chat", "/chat/completions", answer)
