import { type ChatCompletionsLLMOptions, createChatCompletionsLLM } from "./ChatCompletionsLLM.ts"
import type { LLM } from "./contract.ts"
import { createResponsesLLM, type ResponsesLLM, type ResponsesLLMOptions } from "./ResponsesLLM.ts"

/**
 * `createLLM`: one chat API over two transports, the Responses API on a WebSocket kept across
 * turns (chained with `previous_response_id`, the default) and streaming chat completions
 * over HTTP.
 * @module
 */

export type { ChatStream, ChatTurn, LLM, PrewarmOptions } from "./contract.ts"

/** Options of {@link createLLM}: those of both transports. */
export type CreateLLMOptions = ResponsesLLMOptions & ChatCompletionsLLMOptions

/**
 * Creates an LLM. `transport: "websocket"` (default) streams through the Responses API on
 * one socket with chaining, recovery, cancel and prewarm; `"http"` streams chat completions
 * with the `openai` SDK. Both yield the same chunks.
 * @throws {OpenAIConfigError} when no API key or Azure endpoint can be found.
 */
export function createLLM(options: CreateLLMOptions & { readonly transport: "http" }): LLM
/** The WebSocket transport (the default) also has `context` and `persist()` (see `resumeLLM`). */
export function createLLM(options?: CreateLLMOptions & { readonly transport?: "websocket" }): ResponsesLLM
export function createLLM(options?: CreateLLMOptions): LLM
export function createLLM(options: CreateLLMOptions = {}): LLM {
  return options.transport === "http" ? createChatCompletionsLLM(options) : createResponsesLLM(options)
}
