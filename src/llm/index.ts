/**
 * voxstate/llm: chat with OpenAI models. `createLLM` streams a {@link ChatContext} through
 * the Responses API on one WebSocket (chained turns with `previous_response_id`, recovery,
 * cancel and prewarm; the default) or through chat completions over HTTP, yielding the same
 * chunks either way.
 * @module
 */

export {
  type ChainPlan,
  type ChainState,
  chainAfterResponse,
  digestItems,
  type FullReason,
  planChainInput,
  visibleOutput,
} from "../../machines/responses/chainInput.ts"
export {
  type ChatChunk,
  type ChatEndStatus,
  parseToolArguments,
  type TokenUsage,
  type ToolCall,
  toolCallChunk,
} from "../../machines/responses/chunks.ts"
export {
  advanceProgress,
  deliveredOutput,
  emptyProgress,
  finishProgress,
  type OutputEntry,
  outputItemsOf,
  type ProgressEnd,
  type ProgressStep,
  type ResponseProgress,
  tokenUsageOf,
} from "../../machines/responses/responseProgress.ts"
export {
  type ChatCompletionsLLMOptions,
  createChatCompletionsLLM,
} from "./ChatCompletionsLLM.ts"
export {
  ChatContext,
  type ChatConversionOptions,
  type ChatItem,
  type ChatItemInput,
  type ChatMessage,
  type ChatRole,
  chatItemKey,
  chatItemsOf,
  type FunctionCallItem,
  type FunctionCallOutputItem,
  newItemId,
  toChatCompletionMessages,
  toChatItem,
  toResponsesInput,
  toResponsesInputItem,
} from "./ChatContext.ts"

export {
  type ChatStream,
  type ChatTurn,
  type CreateLLMOptions,
  createLLM,
  type LLM,
  type PrewarmOptions,
} from "./LLM.ts"
export {
  type ChainFailure,
  type ChainFailureReason,
  closedError,
  DEFAULT_RATE_LIMIT_MAX_WAIT_MS,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  headerReader,
  invalidRequest,
  isLLMError,
  isRateLimit,
  LLMError,
  type LLMErrorReason,
  rateLimitWaitMs,
  serverError,
  serverFailure,
  serverRetryAfterMs,
} from "./LLMError.ts"
export {
  type ChatOptions,
  DEFAULT_LLM_MODEL,
  isReasoningModel,
  type LLMOptions,
  type ResolvedLLMOptions,
  type ResponseFormatOption,
  resolveLLMOptions,
} from "./options.ts"
export {
  createResponsesLLM,
  type LLMSnapshot,
  type LLMSnapshotData,
  ResponsesChain,
  type ResponsesChainLogic,
  type ResponsesChainParts,
  type ResponsesLLM,
  type ResponsesLLMOptions,
  resumeLLM,
} from "./ResponsesLLM.ts"

export {
  type DecodeResult,
  type FunctionTool,
  functionTool,
  type JsonSchema,
  schemaTool,
  strictJsonSchema,
  type ToolChoice,
  toChatCompletionTool,
  toChatCompletionToolChoice,
  toResponsesTool,
  toResponsesToolChoice,
} from "./tools.ts"
