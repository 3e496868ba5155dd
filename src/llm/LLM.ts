import type { Actor } from "xstate"
import type { ChatStream } from "../../machines/responses/chunks.ts"
import type { ResponsesChainMachine } from "../../machines/responses/responsesChain.ts"
import { type ChatCompletionsLLMOptions, createChatCompletionsLLM } from "./ChatCompletionsLLM.ts"
import type { ChatContext, ChatItem, ChatItemInput } from "./ChatContext.ts"
import type { ChatOptions } from "./options.ts"
import { createResponsesLLM, type ResponsesLLMOptions } from "./ResponsesLLM.ts"
import type { FunctionTool } from "./tools.ts"

/**
 * `createLLM`: one chat API over two transports, the Responses API on a WebSocket kept across
 * turns (chained with `previous_response_id`, the default) and streaming chat completions
 * over HTTP.
 * @module
 */

/** What `prewarm` may seed the chain with. */
export interface PrewarmOptions {
  /** Sent as a system message; the first turn chains from it when its context starts with the same system message. */
  readonly instructions?: string
  /** Tools to pre-build request state for (the default: the LLM's tools). */
  readonly tools?: readonly FunctionTool[]
}

/** A chat model. */
export interface LLM {
  /** `websocket` (Responses API) or `http` (chat completions). */
  readonly transport: "websocket" | "http"
  /** The model (or Azure deployment) the requests name. */
  readonly model: string
  /**
   * Starts a turn over `context` (a {@link ChatContext} or a plain array of items) and
   * returns its chunks as an async iterable (see {@link ChatStream}). The request goes out at
   * once (or once the turn before it ends). Malformed items fail the stream with
   * `LLMError` (`InvalidRequest`).
   */
  chat(context: ChatContext | readonly (ChatItemInput | ChatItem)[], options?: ChatOptions): ChatStream
  /**
   * Opens the connection ahead of the first turn and, with `instructions` or tools, sends a
   * `generate: false` request whose response id seeds the chain. Resolves with that id
   * (undefined when only connecting). A no-op on the HTTP transport.
   * @throws {LLMError} when the socket cannot be opened or the warmup is refused.
   */
  prewarm(options?: PrewarmOptions): Promise<string | undefined>
  /** Fails pending turns with `Closed`, closes the socket and waits until it is closed. Idempotent. */
  close(): Promise<void>
  /** The chain machine's actor (WebSocket transport), for inspection; undefined over HTTP. */
  readonly actor: Actor<ResponsesChainMachine> | undefined
}

/** Options of {@link createLLM}: those of both transports. */
export type CreateLLMOptions = ResponsesLLMOptions & ChatCompletionsLLMOptions

/**
 * Creates an LLM. `transport: "websocket"` (default) streams through the Responses API on
 * one socket with chaining, recovery, cancel and prewarm; `"http"` streams chat completions
 * with the `openai` SDK. Both yield the same chunks.
 * @throws {OpenAIConfigError} when no API key or Azure endpoint can be found.
 */
export const createLLM = (options: CreateLLMOptions = {}): LLM =>
  options.transport === "http" ? createChatCompletionsLLM(options) : createResponsesLLM(options)
