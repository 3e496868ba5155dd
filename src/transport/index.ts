/**
 * The transport layer: OpenAI / Azure configuration and URLs, the WebSocket transport as an
 * Effect service, and its typed error with the close-code table.
 * @module
 */
export * from "./OpenAIConfig.ts"
export * from "./RealtimeSocket.ts"
export * from "./socketCallback.ts"
export * from "./TransportError.ts"
