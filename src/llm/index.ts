/**
 * voxstate/llm: chat with OpenAI models. `createLLM` streams a {@link ChatContext} through
 * the Responses API on one WebSocket (chained turns with `previous_response_id`, recovery,
 * cancel and prewarm; the default) or through chat completions over HTTP, yielding the same
 * chunks either way.
 * @module
 */

export * from "../../machines/responses/chainInput.ts"
export * from "../../machines/responses/chunks.ts"
export * from "../../machines/responses/responseProgress.ts"
export * from "./ChatCompletionsLLM.ts"
export * from "./ChatContext.ts"
export * from "./ChatStream.ts"
export * from "./LLM.ts"
export * from "./LLMError.ts"
export * from "./options.ts"
export * from "./ResponsesLLM.ts"
export * from "./responsesSocket.ts"
export * from "./tools.ts"
