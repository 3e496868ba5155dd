/**
 * The transport layer: OpenAI / Azure configuration and URLs, the WebSocket transport as an
 * Effect service, its typed error with the close-code table, and the server's retry-after.
 * @module
 */

export {
  classifyOpenAIError,
  type HeaderLookup,
  type OpenAIErrorClass,
  type OpenAIErrorKind,
  type OpenAIErrorSignal,
} from "../protocol/openAIErrorPolicy.ts"
export { retryAfterMsFromHeaders } from "../protocol/retryAfter.ts"
export * from "./OpenAIConfig.ts"
export * from "./OpenAIHttp.ts"
export * from "./RealtimeSocket.ts"
export * from "./TransportError.ts"
