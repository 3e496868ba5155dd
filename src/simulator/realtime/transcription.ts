/**
 * The Realtime transcription session (`/v1/realtime?intent=transcription`): GA shapes
 * (`session.created`, `session.update` with `type: 'transcription'`, `session.updated`) or,
 * for Azure preview deployments and the simulator's `beta` option, the legacy beta shapes
 * (`transcription_session.created/update/updated` with flat `input_audio_format: 'pcm16'`,
 * `input_audio_transcription`, `turn_detection`, `input_audio_noise_reduction`, `include`).
 *
 * Each committed turn gets `input_audio_buffer.committed{item_id, previous_item_id}` (the
 * previous committed turn, `null` for the first), then its transcription events. No
 * `conversation.item.added/done` are sent for the turns (the service's behaviour there is
 * unconfirmed) and no responses are generated.
 * @module
 */
import type { WebSocket } from "ws"
import { reserveTranscript } from "../scenario.ts"
import type { WebSocketContext } from "../types.ts"
import { type ClientEventHandler, createRealtimeChannel, dispatchClientEvents } from "./channel.ts"
import { createInputAudioBuffer } from "./inputAudio.ts"
import {
  initialTranscriptionSession,
  LOGPROBS_INCLUDE,
  renderBetaTranscriptionSession,
  renderTranscriptionSession,
  type TranscriptionSession,
  updateBetaTranscriptionSession,
  updateTranscriptionSession,
} from "./session.ts"
import { createTranscriber } from "./transcriber.ts"

/** Options of {@link handleTranscriptionConnection}. */
export interface TranscriptionConnectionOptions {
  /** Serve the legacy beta shapes. */
  readonly beta: boolean
}

/** Serves one transcription session on an upgraded socket. */
export const handleTranscriptionConnection = (
  socket: WebSocket,
  ctx: WebSocketContext,
  options: TranscriptionConnectionOptions,
): void => {
  const channel = createRealtimeChannel(ctx)
  const transcriber = createTranscriber(channel)
  const expiresAt = Math.floor((Date.now() + ctx.options.realtimeSessionMaxMs) / 1000)
  let session: TranscriptionSession = initialTranscriptionSession(ctx.nextId("sess_"), expiresAt)
  let lastItemId: string | null = null
  let turnIndex = 0

  const render = () =>
    options.beta ? renderBetaTranscriptionSession(session) : renderTranscriptionSession(session)

  const buffer = createInputAudioBuffer({
    channel,
    config: () => session.input,
    onSpeechStarted: () => {},
    onCommit: (turn) => {
      channel.emit("input_audio_buffer.committed", { item_id: turn.itemId, previous_item_id: lastItemId })
      lastItemId = turn.itemId
      const settings = session.input.transcription
      if (settings === null) return
      const reservation = reserveTranscript(ctx.scenario, {
        index: turnIndex,
        audio: turn.audio,
        model: settings.model,
      })
      turnIndex += 1
      transcriber.run({
        itemId: turn.itemId,
        audio: turn.audio,
        settings,
        logprobs: session.include?.includes(LOGPROBS_INCLUDE) ?? false,
        reservation,
      })
    },
  })

  const update: ClientEventHandler = (event) => {
    session = options.beta
      ? updateBetaTranscriptionSession(session, event.session)
      : updateTranscriptionSession(session, event.session)
    buffer.reconfigure()
    channel.emit(options.beta ? "transcription_session.updated" : "session.updated", { session: render() })
  }

  dispatchClientEvents(channel, {
    [options.beta ? "transcription_session.update" : "session.update"]: update,
    "input_audio_buffer.append": (event) => buffer.append(event.audio),
    "input_audio_buffer.commit": () => buffer.commit(),
    "input_audio_buffer.clear": () => buffer.clear(),
  })

  socket.on("close", () => transcriber.dispose())
  channel.emit(options.beta ? "transcription_session.created" : "session.created", { session: render() })
}
