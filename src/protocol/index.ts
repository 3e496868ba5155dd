/**
 * voxstate/protocol: the wire events of OpenAI's Realtime and Responses WebSockets.
 *
 * Server frames are decoded once, at the edge, with Effect Schema
 * ({@link decodeRealtimeServerEventSync}, {@link decodeResponsesServerEventSync} and their
 * Effect forms); a malformed frame is a {@link ProtocolError}, an unknown `type` an
 * {@link UnknownServerEvent}. Client events are built by the typed {@link ClientEvents}
 * constructors and sent as text by {@link encodeClientEvent} / {@link encodeAudioAppend}.
 * @module
 */
export * from "./audioFormat.ts"
export * from "./clientEvents.ts"
export type { UnknownServerEvent } from "./decode.ts"
export * from "./openAIErrorPolicy.ts"
export {
  isProtocolError,
  PROTOCOL_ERROR_RAW_LIMIT,
  ProtocolError,
  type ProtocolErrorReason,
} from "./ProtocolError.ts"
export * from "./realtimeEvents.ts"
export * from "./responsesEvents.ts"
export * from "./retryAfter.ts"
export type { UnknownPayload } from "./schemaKit.ts"
export * from "./serverEvents.ts"
