/**
 * The I/O of the Realtime session machine: its `socket` actor (the one socket actor of
 * src/runtime over the conversation WebSocket, `/v1/realtime?model=...`), which names each
 * server frame for the machine and streams the session's input audio (24 kHz mono, from the
 * shared input path of src/stt) in appends.
 * @module
 */
import type { AnyEventObject, EventObject } from "xstate"
import type { MirrorItemInput } from "../../machines/realtime/conversationMirror.ts"
import type { RealtimeSessionEvent, RealtimeSocketCommand } from "../../machines/realtime/realtimeSession.ts"
import { base64ToPcm16, pcm16ToBase64 } from "../audio/index.ts"
import {
  decodeRealtimeServerEventSync,
  encodeAudioAppend,
  REALTIME_SAMPLES_PER_MS,
  type RealtimeItem,
  type RealtimeServerEvent,
  serverErrorOf,
} from "../protocol/index.ts"
import type { SessionRuntime } from "../runtime/SessionRuntime.ts"
import { type ConnectionHandler, makeSocketActor, type Wire } from "../runtime/socketActor.ts"
import type { AudioInput } from "../stt/audioInput.ts"
import {
  authHeaders,
  type OpenAIConfig,
  RealtimeSocket,
  type RealtimeSocketConnectOptions,
  realtimeUrl,
} from "../transport/index.ts"

/** The mirror's view of a decoded server item (`undefined` for kinds the mirror does not keep). */
export const mirrorInputOf = (item: RealtimeItem): MirrorItemInput | undefined => {
  switch (item.type) {
    case "message": {
      const parts = item.content
      const text = parts.map((p) => p.text ?? p.transcript ?? "").join("")
      const audio = parts.some(
        (p) => p.type === "input_audio" || p.type === "output_audio" || p.type === "audio",
      )
      const transcriptPending = parts.some((p) => p.type === "input_audio" && (p.transcript ?? null) === null)
      return { type: "message", id: item.id ?? "", role: item.role, text, audio, transcriptPending }
    }
    case "function_call":
      return {
        type: "function_call",
        id: item.id ?? "",
        callId: item.call_id ?? "",
        name: item.name,
        arguments: item.arguments,
      }
    case "function_call_output":
      return { type: "function_call_output", id: item.id ?? "", callId: item.call_id, output: item.output }
    default:
      return undefined
  }
}

/** Names one decoded server event for the machine (stamped `atMs`). */
export const realtimeEventOf = (
  event: RealtimeServerEvent,
  atMs: number,
): readonly RealtimeSessionEvent[] => {
  switch (event.type) {
    case "session.created":
      return [{ type: "SERVER.SESSION_CREATED", atMs }]
    case "session.updated":
      return [{ type: "SERVER.SESSION_UPDATED", atMs }]
    case "input_audio_buffer.speech_started":
      return [
        { type: "SERVER.SPEECH_STARTED", itemId: event.item_id, audioStartMs: event.audio_start_ms, atMs },
      ]
    case "input_audio_buffer.speech_stopped":
      return [{ type: "SERVER.SPEECH_STOPPED", itemId: event.item_id, audioEndMs: event.audio_end_ms, atMs }]
    case "input_audio_buffer.committed":
      return [{ type: "SERVER.COMMITTED", itemId: event.item_id, atMs }]
    case "conversation.item.input_audio_transcription.delta":
      return [
        {
          type: "SERVER.INPUT_TRANSCRIPT",
          itemId: event.item_id,
          text: event.delta ?? "",
          final: false,
          atMs,
        },
      ]
    case "conversation.item.input_audio_transcription.completed":
      return [
        { type: "SERVER.INPUT_TRANSCRIPT", itemId: event.item_id, text: event.transcript, final: true, atMs },
      ]
    case "conversation.item.added":
    case "conversation.item.created":
    case "conversation.item.done": {
      const item = mirrorInputOf(event.item)
      if (item === undefined || item.id === "") return [{ type: "SERVER.OTHER", eventType: event.type, atMs }]
      return [
        {
          type: "SERVER.ITEM_ADDED",
          item,
          previousItemId: event.previous_item_id,
          done: event.type === "conversation.item.done",
          atMs,
        },
      ]
    }
    case "conversation.item.deleted":
      return [{ type: "SERVER.ITEM_DELETED", itemId: event.item_id, atMs }]
    case "conversation.item.truncated":
      return [{ type: "SERVER.ITEM_TRUNCATED", itemId: event.item_id, audioEndMs: event.audio_end_ms, atMs }]
    case "response.created":
      return [{ type: "SERVER.RESPONSE_CREATED", responseId: event.response.id ?? "", atMs }]
    case "response.done":
      return [
        {
          type: "SERVER.RESPONSE_DONE",
          responseId: event.response.id ?? "",
          status: event.response.status ?? "completed",
          usage: event.response.usage ?? null,
          atMs,
        },
      ]
    case "response.output_audio.delta":
    case "response.audio.delta":
      return [
        {
          type: "SERVER.AUDIO_DELTA",
          responseId: event.response_id ?? "",
          itemId: event.item_id ?? "",
          samples: base64ToPcm16(event.delta),
          atMs,
        },
      ]
    case "response.output_audio_transcript.delta":
      return [
        {
          type: "SERVER.TRANSCRIPT_DELTA",
          responseId: event.response_id ?? "",
          itemId: event.item_id ?? "",
          delta: event.delta,
          atMs,
        },
      ]
    case "response.output_audio_transcript.done":
      return [
        {
          type: "SERVER.TRANSCRIPT_DONE",
          responseId: event.response_id ?? "",
          itemId: event.item_id ?? "",
          transcript: event.transcript ?? "",
          atMs,
        },
      ]
    case "response.output_text.delta":
      return [
        {
          type: "SERVER.TEXT_DELTA",
          responseId: event.response_id ?? "",
          itemId: event.item_id ?? "",
          delta: event.delta,
          atMs,
        },
      ]
    case "response.function_call_arguments.done":
      return [
        {
          type: "SERVER.FUNCTION_CALL",
          responseId: event.response_id ?? "",
          itemId: event.item_id ?? "",
          callId: event.call_id ?? "",
          name: event.name ?? "",
          arguments: event.arguments,
          atMs,
        },
      ]
    case "error": {
      const error = serverErrorOf(event)
      return [
        {
          type: "SERVER.ERROR",
          code: error?.code,
          errorType: error?.type,
          message: error?.message ?? "server error",
          param: error?.param,
          atMs,
        },
      ]
    }
    case "unknown":
      return [{ type: "SERVER.OTHER", eventType: event.originalType, atMs }]
    default:
      return [{ type: "SERVER.OTHER", eventType: event.type, atMs }]
  }
}

/** How a conversation connection is opened and how its audio is paced. */
export interface RealtimeWireOptions {
  readonly config: OpenAIConfig
  readonly model: string
  /** Least audio per `input_audio_buffer.append`, in milliseconds. */
  readonly appendMs: number
  readonly socket?: Omit<RealtimeSocketConnectOptions, "url" | "headers" | "protocols">
}

/**
 * What outlives one connection: where the audio the server has not committed begins (a new
 * connection sends from there, so uncommitted input audio is replayed and nothing pushed
 * while reconnecting is lost). A snapshot keeps the audio from there on.
 * @internal
 */
export interface InputProgress {
  resumeFrom: number
}

const openConversationConnection =
  (input: AudioInput, options: RealtimeWireOptions, progress: InputProgress) =>
  (wire: Wire, _sendBack: (event: AnyEventObject) => void): ConnectionHandler<RealtimeSocketCommand> => {
    const { buffer } = input
    const appendSamples = Math.max(1, Math.round(options.appendMs * REALTIME_SAMPLES_PER_MS))
    // The server's audio timeline on this connection starts here.
    const connectionStart = Math.max(progress.resumeFrom, buffer.startSample)
    let cursor = connectionStart
    let live = false
    let disposed = false
    let stoppedAt: number | undefined
    const manualCommits: number[] = []
    const hold = (): void => input.holdUnsent(Math.min(progress.resumeFrom, cursor))
    const pump = (): void => {
      if (!live || disposed) return
      if (cursor < buffer.startSample) cursor = buffer.startSample
      while (buffer.endSample - cursor >= appendSamples) {
        const count = Math.min(buffer.endSample - cursor, 2 * appendSamples - 1)
        wire.send(encodeAudioAppend(pcm16ToBase64(buffer.view(cursor, cursor + count))))
        cursor += count
      }
      hold()
    }
    const unlisten = input.listen({ onAudio: pump })
    hold()
    return {
      inbound(event) {
        const e = event as RealtimeSessionEvent
        if (e.type === "SERVER.SPEECH_STOPPED") {
          stoppedAt = Math.min(
            cursor,
            connectionStart + Math.round(Math.max(0, e.audioEndMs) * REALTIME_SAMPLES_PER_MS),
          )
        } else if (e.type === "SERVER.COMMITTED") {
          // A manual commit ends where it was sent; a VAD commit where the speech stopped.
          const end = manualCommits.shift() ?? stoppedAt ?? cursor
          progress.resumeFrom = Math.max(progress.resumeFrom, end)
          stoppedAt = undefined
          hold()
        }
        return event
      },
      receive(command) {
        if (disposed) return
        switch (command.type) {
          case "send":
            if (command.event.type === "input_audio_buffer.commit") {
              // A manual commit takes the audio pushed so far, short of an append or not.
              if (cursor < buffer.endSample) {
                wire.send(encodeAudioAppend(pcm16ToBase64(buffer.view(cursor, buffer.endSample))))
                cursor = buffer.endSample
              }
              manualCommits.push(cursor)
            }
            if (command.event.type === "input_audio_buffer.clear") {
              progress.resumeFrom = Math.max(progress.resumeFrom, cursor)
              hold()
            }
            wire.send(JSON.stringify(command.event))
            return
          case "audio.live":
            live = true
            pump()
            return
          case "audio.pause":
            live = false
            return
        }
      },
      dispose() {
        disposed = true
        unlisten()
      },
    }
  }

/** The `socket` actor of a Realtime session: `realtimeUrl(config, { model })` with the config's auth headers. */
export const makeRealtimeSocketActor = <R>(
  runtime: SessionRuntime<R | RealtimeSocket>,
  input: AudioInput,
  options: RealtimeWireOptions,
  progress: InputProgress = { resumeFrom: 0 },
) => {
  return makeSocketActor<R | RealtimeSocket, RealtimeSocketCommand>({
    runtime,
    connect: () =>
      RealtimeSocket.use((socket) =>
        socket.connect({
          ...options.socket,
          url: realtimeUrl(options.config, { model: options.model }),
          headers: authHeaders(options.config),
        }),
      ),
    decode: (text, atMs): readonly EventObject[] =>
      realtimeEventOf(decodeRealtimeServerEventSync(text), atMs),
    open: openConversationConnection(input, options, progress),
  })
}
