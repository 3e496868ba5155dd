/**
 * The Realtime protocol of the simulator: one entry point that picks the transcription or
 * conversation session, GA or legacy beta shapes.
 *
 * The GA service refuses the beta shape: a connection that sends `OpenAI-Beta: realtime=v1`
 * gets `error{type:'invalid_request_error', code:'beta_api_shape_disabled'}` and a close with
 * code 4000. With the simulator's `beta` option (or on the Azure preview path
 * `/openai/realtime?api-version=&deployment=`) transcription sessions speak the legacy beta
 * shapes instead. Beta conversation sessions are not simulated: they get the same
 * `beta_api_shape_disabled` error and close, with a message saying so.
 * @module
 */
import type { WebSocket } from "ws"
import type { WebSocketContext } from "../types.ts"
import { handleConversationConnection } from "./conversation.ts"
import { realtimeErrorEvent } from "./errors.ts"
import { DEFAULT_REALTIME_MODEL } from "./session.ts"
import { handleTranscriptionConnection } from "./transcription.ts"

export {
  alawToLinear,
  base64ByteLength,
  concatPcm,
  decodeWireAudio,
  encodeWireAudio,
  isBase64,
  linearToAlaw,
  linearToMulaw,
  msForSamples,
  mulawToLinear,
  noise,
  pcmFromBytes,
  pcmToBase64,
  rmsDbfs,
  SAMPLE_RATE_HZ,
  samplesForMs,
  silence,
  type ToneOptions,
  tone,
  type WireAudioFormat,
} from "./audio.ts"
export {
  type ConversationConnectionOptions,
  handleConversationConnection,
  OUTPUT_AUDIO_CHUNK_MS,
} from "./conversation.ts"
export { RealtimeRequestError } from "./errors.ts"
export { MAX_APPEND_BYTES, MIN_COMMIT_MS } from "./inputAudio.ts"
export { handleTranscriptionConnection, type TranscriptionConnectionOptions } from "./transcription.ts"
export { SEMANTIC_SILENCE_MS, thresholdToDbfs } from "./vad.ts"

/** How the server routed a Realtime connection. */
export interface RealtimeRouting {
  /** `intent=transcription` → transcription; `model=` (or an Azure deployment) → conversation. */
  readonly mode: "transcription" | "conversation"
  /** The model or deployment named in the URL (conversation mode). */
  readonly model: string | undefined
  /** The connection came on the Azure preview path, which speaks the beta protocol. */
  readonly preview: boolean
  /** The upgrade carried `OpenAI-Beta: realtime=v1`. */
  readonly betaHeader: boolean
}

/** The message of the GA service's answer to the beta shape. */
export const BETA_DISABLED_MESSAGE =
  "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."

const refuseBeta = (ctx: WebSocketContext, message: string) => {
  ctx.send(
    realtimeErrorEvent(ctx.nextId("event_"), {
      type: "invalid_request_error",
      code: "beta_api_shape_disabled",
      message,
      param: null,
      event_id: null,
    }),
  )
  ctx.close(4000, "beta_api_shape_disabled")
}

/** Serves one Realtime connection (transcription or conversation) on an upgraded socket. */
export const handleRealtimeConnection = (
  socket: WebSocket,
  ctx: WebSocketContext,
  routing: RealtimeRouting,
): void => {
  const betaServed = ctx.options.beta || routing.preview
  if (routing.betaHeader && !betaServed) {
    refuseBeta(ctx, BETA_DISABLED_MESSAGE)
    return
  }
  if (routing.mode === "transcription") {
    handleTranscriptionConnection(socket, ctx, { beta: betaServed })
    return
  }
  if (routing.preview || routing.betaHeader) {
    refuseBeta(
      ctx,
      "The simulator serves the beta Realtime shapes for transcription sessions only; use the GA API.",
    )
    return
  }
  handleConversationConnection(socket, ctx, { model: routing.model ?? DEFAULT_REALTIME_MODEL })
}
