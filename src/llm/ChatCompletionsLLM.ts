import { Duration, Effect } from "effect"
import type OpenAI from "openai"
import { APIUserAbortError } from "openai"
import type { ChatCompletionChunk } from "openai/resources/chat/completions/completions"
import { type ChatEndStatus, type TokenUsage, toolCallChunk } from "../../machines/responses/chunks.ts"
import {
  DEFAULT_EVENT_GAP_TIMEOUT_MS,
  DEFAULT_FIRST_OUTPUT_TIMEOUT_MS,
} from "../../machines/responses/responsesChain.ts"
import {
  makeOpenAIHttp,
  noScrubbing,
  type OpenAIConfig,
  type OpenAIHttpShape,
  openAIHttpErrorOf,
  resolveOpenAIConfig,
  type Scrubber,
} from "../transport/index.ts"
import {
  type ChatContext,
  type ChatItem,
  type ChatItemInput,
  chatItemsOf,
  toChatCompletionMessages,
  toChatItem,
} from "./ChatContext.ts"
import { type ChatSink, createChatStream, failedChatStream } from "./ChatStream.ts"
import type { ChatStream, LLM } from "./contract.ts"
import {
  closedError,
  DEFAULT_RATE_LIMIT_MAX_WAIT_MS,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  isLLMError,
  LLMError,
  rateLimitWaitMs,
  serverError,
} from "./LLMError.ts"
import {
  type ChatOptions,
  chatCompletionParams,
  type LLMOptions,
  resolveTransportLLMOptions,
  toolNamesOf,
  withInstructions,
} from "./options.ts"

/**
 * Streaming chat completions over HTTP with the `openai` SDK, behind the same chunk API as
 * the Responses socket: tool-call fragments are accumulated by `index` and handed out whole
 * on `finish_reason: "tool_calls"` (or at the end of the stream), usage comes from the final
 * chunk (`stream_options.include_usage`), and cancelling aborts the request. A request refused
 * for a rate limit (429, not `insufficient_quota`) is sent once more after the delay the
 * service asks for, when that is at most `rateLimitMaxWaitMs`; nothing else is retried (the
 * SDK's own retries are off).
 * @module
 */

/** Options of the HTTP transport. */
export interface ChatCompletionsLLMOptions extends LLMOptions {
  /** A ready client (e.g. an `AzureOpenAI`) used instead of building one from `openai` / `env`. */
  readonly client?: OpenAI
  /** Request timeout in milliseconds (the SDK's default otherwise). */
  readonly timeoutMs?: number
}

/** One tool call being assembled from its fragments. */
interface PendingCall {
  id: string
  name: string
  arguments: string
  dispatched: boolean
}

/** The HTTP transport of the LLM: over the given client, or one built from `openai` / `env`. */
const buildHttp = (options: ChatCompletionsLLMOptions): { http: OpenAIHttpShape; config?: OpenAIConfig } => {
  if (options.client !== undefined) return { http: makeOpenAIHttp({ client: options.client }) }
  const config = resolveOpenAIConfig(options.openai, options.env)
  return {
    http: makeOpenAIHttp({
      config,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }),
    config,
  }
}

/**
 * Maps a failure of a request (an `OpenAIHttpError`, or what the `openai` client threw) to an
 * {@link LLMError}; `attempts` is the number of requests the turn sent (default 1). Every
 * server-supplied text goes through `scrub` (the configured credential's scrubber).
 * @internal
 */
export const toLLMError = (
  error: unknown,
  afterOutput: boolean,
  attempts = 1,
  scrub: Scrubber = noScrubbing,
): LLMError => {
  if (isLLMError(error)) return error
  const http = openAIHttpErrorOf(error, scrub)
  const reason = http.reason
  if (reason._tag === "Timeout" || reason._tag === "Connection") {
    return new LLMError({
      reason: afterOutput ? { _tag: "ConnectionLost", afterOutput } : { _tag: "Connect" },
      message: `Chat completions request failed: ${(http.cause as Error | undefined)?.message ?? http.message}`,
      retryable: true,
      attempts,
    })
  }
  if (reason._tag === "Status") {
    return serverError({
      code: reason.code,
      message: http.message,
      status: reason.status,
      errorType: reason.errorType,
      retryAfterMs: reason.retryAfterMs,
      attempts,
    })
  }
  return new LLMError({
    reason: { _tag: "ConnectionLost", afterOutput },
    message: scrub(
      `Chat completions stream failed: ${error instanceof Error ? error.message : String(error)}`,
    ),
    retryable: true,
    attempts,
  })
}

/** Waits `ms` milliseconds on the Effect clock, or until `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  Effect.runPromiseExit(Effect.sleep(Duration.millis(ms)), { signal }).then(() => undefined)

const usageOf = (usage: NonNullable<ChatCompletionChunk["usage"]>): TokenUsage => ({
  promptTokens: usage.prompt_tokens,
  completionTokens: usage.completion_tokens,
  totalTokens: usage.total_tokens,
  cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
  reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
})

const endStatusOf = (finishReason: string | null): { status: ChatEndStatus; reason?: string } =>
  finishReason === "length"
    ? { status: "incomplete", reason: "max_output_tokens" }
    : finishReason === "content_filter"
      ? { status: "incomplete", reason: "content_filter" }
      : { status: "completed" }

/**
 * Reads one streamed completion into `sink`. Tool calls are dispatched on
 * `finish_reason: "tool_calls"` and any left at the end; the end chunk's `output` is the
 * assistant message (when there was text) and then the tool calls, in index order.
 * @internal
 */
export const pumpChatCompletion = async (
  chunks: AsyncIterable<ChatCompletionChunk>,
  sink: ChatSink,
  isCancelled: () => boolean,
  scrub: Scrubber = noScrubbing,
): Promise<void> => {
  const calls = new Map<number, PendingCall>()
  let text = ""
  let responseId: string | undefined
  let finishReason: string | null = null
  let delivered = false

  const dispatchCalls = (): void => {
    for (const index of [...calls.keys()].sort((a, b) => a - b)) {
      const call = calls.get(index)
      if (call === undefined || call.dispatched || call.name.length === 0) continue
      call.dispatched = true
      delivered = true
      sink.push(toolCallChunk({ callId: call.id, name: call.name, arguments: call.arguments }))
    }
  }
  const output = (): ChatItem[] => {
    const items: ChatItem[] = []
    if (text.length > 0) items.push(toChatItem({ role: "assistant", content: text }))
    for (const index of [...calls.keys()].sort((a, b) => a - b)) {
      const call = calls.get(index)
      if (call === undefined || !call.dispatched) continue
      items.push(
        toChatItem({ type: "function_call", callId: call.id, name: call.name, arguments: call.arguments }),
      )
    }
    return items
  }

  try {
    for await (const chunk of chunks) {
      if (isCancelled()) break
      responseId ??= chunk.id
      for (const choice of chunk.choices) {
        const delta = choice.delta
        if (typeof delta.content === "string" && delta.content.length > 0) {
          text += delta.content
          delivered = true
          sink.push({ type: "text", delta: delta.content })
        }
        for (const fragment of delta.tool_calls ?? []) {
          const call = calls.get(fragment.index) ?? { id: "", name: "", arguments: "", dispatched: false }
          if (fragment.id !== undefined && fragment.id.length > 0) call.id = fragment.id
          if (fragment.function?.name !== undefined && fragment.function.name.length > 0) {
            call.name = fragment.function.name
          }
          if (fragment.function?.arguments !== undefined) call.arguments += fragment.function.arguments
          calls.set(fragment.index, call)
        }
        if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
          finishReason = choice.finish_reason
          if (choice.finish_reason === "tool_calls") dispatchCalls()
        }
      }
      if (chunk.usage !== null && chunk.usage !== undefined)
        sink.push({ type: "usage", usage: usageOf(chunk.usage) })
    }
  } catch (error) {
    if (isCancelled() || error instanceof APIUserAbortError) {
      sink.push({ type: "end", responseId, status: "cancelled", output: output() })
      return
    }
    sink.fail(toLLMError(error, delivered, 1, scrub))
    return
  }
  if (isCancelled()) {
    sink.push({ type: "end", responseId, status: "cancelled", output: output() })
    return
  }
  // Some servers end the stream without a tool_calls finish reason: dispatch what is left.
  dispatchCalls()
  sink.push({ type: "end", responseId, ...endStatusOf(finishReason), output: output() })
}

let turnCounter = 0

/**
 * Creates the HTTP-transport LLM (see `createLLM`).
 * @throws {OpenAIConfigError} when no credentials can be found (and no `client` is given).
 */
export const createChatCompletionsLLM = (
  options: ChatCompletionsLLMOptions = {},
): LLM & { readonly transport: "http" } => {
  const { http, config } = buildHttp(options)
  const { client, scrub } = http
  const resolved = resolveTransportLLMOptions(options, "http", config)
  const firstOutputTimeoutMs = options.firstOutputTimeoutMs ?? DEFAULT_FIRST_OUTPUT_TIMEOUT_MS
  const eventGapTimeoutMs = options.eventGapTimeoutMs ?? DEFAULT_EVENT_GAP_TIMEOUT_MS
  const inFlight = new Map<AbortController, ChatSink>()
  const rateLimits = {
    maxWaitMs: options.rateLimitMaxWaitMs ?? DEFAULT_RATE_LIMIT_MAX_WAIT_MS,
    defaultWaitMs: options.rateLimitWaitMs ?? DEFAULT_RATE_LIMIT_WAIT_MS,
  }
  let closed = false

  const chat = (
    context: ChatContext | readonly (ChatItemInput | ChatItem)[],
    chatOptions: ChatOptions = {},
  ): ChatStream => {
    const turnId = `http_turn_${++turnCounter}`
    if (closed) return failedChatStream(turnId, closedError())
    let items: readonly ChatItem[]
    try {
      items = chatItemsOf(context)
    } catch (error) {
      if (isLLMError(error)) return failedChatStream(turnId, error)
      throw error
    }
    const controller = new AbortController()
    let cancelled = false
    const cancel = (): void => {
      cancelled = true
      controller.abort()
    }
    const signal = chatOptions.signal
    const { stream, sink } = createChatStream(
      turnId,
      {
        cancel,
        detach: () => {
          inFlight.delete(controller)
          signal?.removeEventListener("abort", cancel)
        },
      },
      { toolNames: toolNamesOf(chatOptions.tools ?? options.tools) },
    )
    if (signal?.aborted === true) {
      cancel()
      sink.push({ type: "end", responseId: undefined, status: "cancelled", output: [] })
      return stream
    }
    signal?.addEventListener("abort", cancel, { once: true })
    inFlight.set(controller, sink)
    const messages = toChatCompletionMessages(withInstructions(items, resolved.instructions), {
      developerRole: resolved.reasoningModel,
    })
    const body = chatCompletionParams(resolved, messages, chatOptions)
    const requestOptions = {
      signal: controller.signal,
      ...(options.extraHeaders === undefined ? {} : { headers: { ...options.extraHeaders } }),
      ...(options.extraQuery === undefined ? {} : { query: { ...options.extraQuery } }),
    }
    // The named waits of a streamed response: to the first chunk, then between chunks. When
    // one runs out the request is aborted and the turn fails with a Timeout (not a cancel).
    let watchdog: ReturnType<typeof setTimeout> | undefined
    let timedOut: LLMError | undefined
    const arm = (phase: "first_output" | "between_events"): void => {
      clearTimeout(watchdog)
      const timeoutMs = phase === "first_output" ? firstOutputTimeoutMs : eventGapTimeoutMs
      watchdog = setTimeout(() => {
        timedOut = new LLMError({
          reason: { _tag: "Timeout", phase, timeoutMs },
          message:
            phase === "first_output"
              ? `The response sent no output within ${timeoutMs} ms`
              : `The response fell silent for ${timeoutMs} ms before it ended`,
          retryable: true,
        })
        controller.abort()
      }, timeoutMs)
    }
    async function* watched(chunks: AsyncIterable<ChatCompletionChunk>): AsyncIterable<ChatCompletionChunk> {
      try {
        for await (const chunk of chunks) {
          arm("between_events")
          yield chunk
        }
        // The SDK ends an aborted stream quietly: a timeout must not read as a normal end.
        if (timedOut !== undefined) throw timedOut
      } catch (error) {
        throw timedOut ?? error
      } finally {
        clearTimeout(watchdog)
      }
    }
    void (async () => {
      let attempts = 0
      try {
        for (;;) {
          attempts++
          try {
            // From the request on: headers that never come are no output either.
            arm("first_output")
            const response = await client.chat.completions.create(body, requestOptions)
            await pumpChatCompletion(watched(response), sink, () => cancelled, scrub)
            return
          } catch (error) {
            // A refused request produced nothing: a rate limit gets one more attempt after its delay.
            const refusal = openAIHttpErrorOf(error)
            const wait =
              attempts === 1 && !cancelled && refusal.rateLimited
                ? rateLimitWaitMs(refusal.headers, rateLimits)
                : undefined
            if (wait === undefined) throw error
            clearTimeout(watchdog)
            await sleep(wait, controller.signal)
            // Cancelled or closed during the wait: no second request.
            if (controller.signal.aborted) throw error
          }
        }
      } catch (error) {
        if (timedOut !== undefined) sink.fail(timedOut)
        else if (cancelled || controller.signal.aborted || error instanceof APIUserAbortError) {
          sink.push({ type: "end", responseId: undefined, status: "cancelled", output: [] })
        } else {
          sink.fail(toLLMError(error, false, attempts, scrub))
        }
      } finally {
        clearTimeout(watchdog)
      }
    })()
    return stream
  }

  return {
    transport: "http",
    model: resolved.model,
    chat,
    prewarm: () => Promise.resolve(undefined),
    close: () => {
      closed = true
      for (const [controller, sink] of [...inFlight]) {
        sink.fail(closedError())
        controller.abort()
      }
      inFlight.clear()
      return Promise.resolve()
    },
    actor: undefined,
  }
}
