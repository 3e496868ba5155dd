/**
 * The I/O actors of the transcription session machine: `socket` (one Realtime
 * transcription WebSocket: decodes server frames into machine events and carries out the
 * machine's audio and configuration commands) and `audioInput` (the session's audio
 * pipeline: VAD events, retention, overflow reports). Built per session over one
 * {@link AudioInput} and one {@link SessionRuntime}.
 * @module
 */
import type { AnyEventObject } from "xstate"
import { fromCallback } from "xstate"
import type { SpeechEvent } from "../../machines/transcription/speechEvents.ts"
import type {
  AudioInputActorInput,
  AudioInputCommand,
  TranscriptionSessionEvent,
  TranscriptionSocketCommand,
} from "../../machines/transcription/transcriptionSession.ts"
import {
  type LedgerOptions,
  REALTIME_SAMPLES_PER_MS,
  routedInterim,
  type TurnLedger,
} from "../../machines/transcription/transcripts.ts"
import { pcm16ToBase64 } from "../audio/index.ts"
import {
  ClientEvents,
  decodeRealtimeServerEventSync,
  encodeAudioAppend,
  encodeClientEvent,
  isProtocolError,
  type RealtimeServerEvent,
  serverErrorOf,
} from "../protocol/index.ts"
import type { SessionRuntime } from "../runtime/SessionRuntime.ts"
import { type ConnectionHandler, makeSocketActor, type Wire } from "../runtime/socketActor.ts"
import {
  authHeaders,
  type OpenAIConfig,
  RealtimeSocket,
  type RealtimeSocketConnectOptions,
  realtimeUrl,
} from "../transport/index.ts"
import type { AudioInput } from "./audioInput.ts"

/** Maps one decoded Realtime server event to the transcription machine's event (stamped `atMs`). */
export const transcriptionEventOf = (event: RealtimeServerEvent, atMs: number): TranscriptionSessionEvent => {
  switch (event.type) {
    case "session.created":
    case "transcription_session.created":
      return { type: "SERVER.SESSION_CREATED", atMs }
    case "session.updated":
    case "transcription_session.updated":
      return { type: "SERVER.SESSION_UPDATED", atMs }
    case "input_audio_buffer.speech_started":
      return {
        type: "SERVER.SPEECH_STARTED",
        itemId: event.item_id,
        audioStartMs: event.audio_start_ms,
        atMs,
      }
    case "input_audio_buffer.speech_stopped":
      return { type: "SERVER.SPEECH_STOPPED", itemId: event.item_id, audioEndMs: event.audio_end_ms, atMs }
    case "input_audio_buffer.committed":
      return { type: "SERVER.COMMITTED", itemId: event.item_id, previousItemId: event.previous_item_id, atMs }
    case "conversation.item.input_audio_transcription.delta":
      return {
        type: "SERVER.TRANSCRIPT_DELTA",
        itemId: event.item_id,
        delta: event.delta,
        logprobs: event.logprobs,
        atMs,
      }
    case "conversation.item.input_audio_transcription.completed":
      return {
        type: "SERVER.TRANSCRIPT_COMPLETED",
        itemId: event.item_id,
        transcript: event.transcript,
        logprobs: event.logprobs,
        languages: event.languages,
        usage: event.usage,
        atMs,
      }
    case "conversation.item.input_audio_transcription.failed":
      return {
        type: "SERVER.TRANSCRIPT_FAILED",
        itemId: event.item_id,
        code: event.error.code,
        message: event.error.message,
        atMs,
      }
    case "error": {
      const error = serverErrorOf(event)
      return {
        type: "SERVER.ERROR",
        code: error?.code,
        errorType: error?.type,
        message: error?.message ?? "server error",
        param: error?.param,
        atMs,
      }
    }
    case "input_audio_buffer.cleared":
      return { type: "SERVER.BUFFER_CLEARED", atMs }
    case "unknown":
      return { type: "SERVER.OTHER", eventType: event.originalType, atMs }
    default:
      return { type: "SERVER.OTHER", eventType: event.type, atMs }
  }
}

const MAX_REF_CHARS = 256

/**
 * What can still be read of an undecodable frame: its `type`, `item_id` and
 * `previous_item_id` when they are short strings, so the machine can fail the one turn the
 * frame was about.
 */
export const itemRefOf = (
  text: string,
): { readonly eventType?: string; readonly itemId?: string; readonly previousItemId?: string | null } => {
  let frame: unknown
  try {
    frame = JSON.parse(text)
  } catch {
    return {}
  }
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) return {}
  const { type, item_id, previous_item_id } = frame as Record<string, unknown>
  const short = (v: unknown): v is string =>
    typeof v === "string" && v.length > 0 && v.length <= MAX_REF_CHARS
  return {
    ...(short(type) ? { eventType: type } : {}),
    ...(short(item_id) ? { itemId: item_id } : {}),
    ...(short(previous_item_id) || previous_item_id === null ? { previousItemId: previous_item_id } : {}),
  }
}

/** How a transcription connection is opened and how its audio is paced. */
export interface TranscriptionWireOptions {
  readonly config: OpenAIConfig
  readonly schema: "ga" | "beta"
  /** Least audio per `input_audio_buffer.append`, in milliseconds (appends stay under twice this). */
  readonly appendMs: number
  /** Unsent audio beyond which `SOCKET.BACKLOG` is reported, in milliseconds. */
  readonly maxBufferedMs: number
  /** Transport options (timeouts, heartbeat), passed to `RealtimeSocket.connect`. */
  readonly socket?: Omit<RealtimeSocketConnectOptions, "url" | "headers" | "protocols">
  /** Where an item's later transcript deltas go past the machine; without it every delta goes through it. */
  readonly lanes?: TranscriptLanes
}

/**
 * Where the edge hands transcript deltas past the machine. Once the machine has shown an
 * item's text (its first delta went through it), the item's later deltas are turned into
 * interims at the socket's edge and handed straight to the session's output; the machine
 * gets them coalesced into one delta (`delivered`: it takes in the text, emits nothing)
 * before any other event, at the connection's end, and whenever it has heard nothing for
 * `coalesceForMs` while deltas arrive, so its liveness wait still sees the server answer (a
 * silence is caught at most that much early) and it knows which turns showed interim text.
 * Deltas with logprobs, and deltas of a turn the machine no longer holds pending, go through
 * the machine, so a delta is never shown after its item's final.
 * @internal
 */
export interface TranscriptLanes {
  /** The machine's ledger now and how it reads deltas; `undefined` routes nothing. */
  ledger(): { readonly ledger: TurnLedger; readonly options: LedgerOptions } | undefined
  /** Hands an interim to the session's output, as if the machine had emitted it. */
  show(event: SpeechEvent): void
  /** Longest the machine goes without an event while deltas are routed past it. */
  readonly coalesceForMs: number
}

/** Deltas routed past the machine and not yet told to it: one item's text as last shown. */
interface HeldDeltas {
  readonly itemId: string
  /** The item's text when routing began (the machine's text). */
  readonly baseLength: number
  text: string
  cumulative: boolean
}

const COMMIT = encodeClientEvent(ClientEvents.inputAudioBufferCommit())

/**
 * The command handler of one connection: sends configuration, replays, live audio in
 * appends of at least `appendMs` (audio waits in the replay buffer while the socket is
 * congested, never in an unbounded queue), commits.
 * @internal
 */
export const openTranscriptionConnection =
  <R>(runtime: SessionRuntime<R>, input: AudioInput, options: TranscriptionWireOptions) =>
  (wire: Wire, sendBack: (event: AnyEventObject) => void): ConnectionHandler<TranscriptionSocketCommand> => {
    const { buffer } = input
    const appendSamples = Math.max(1, Math.round(options.appendMs * REALTIME_SAMPLES_PER_MS))
    const backlogSamples = Math.max(
      appendSamples,
      Math.round(options.maxBufferedMs * REALTIME_SAMPLES_PER_MS),
    )
    let cursor = buffer.endSample
    let live = false
    let liveFrom = 0
    let replayed = 0
    let waiting = false
    let backlogged = false
    let disposed = false
    // Samples sent on this connection: the server's audio timeline holds exactly these.
    let sentSamples = 0

    const sendRange = (from: number, to: number): void => {
      for (let a = Math.max(from, buffer.startSample); a < to; a += appendSamples) {
        const b = Math.min(to, a + appendSamples)
        wire.send(encodeAudioAppend(pcm16ToBase64(buffer.view(a, b))))
        sentSamples += b - a
      }
    }

    /** A server offset in ms, clamped to the audio this connection sent (non-finite included). */
    const clampServerMs = (ms: number): number => {
      const sentMs = Math.ceil(sentSamples / REALTIME_SAMPLES_PER_MS)
      if (Number.isNaN(ms)) return sentMs
      return Math.max(0, Math.min(sentMs, ms))
    }

    const checkBacklog = (): void => {
      const backlog = live ? buffer.endSample - cursor : 0
      if (!backlogged && backlog > backlogSamples) {
        backlogged = true
        sendBack({
          type: "SOCKET.BACKLOG",
          backlogMs: backlog / REALTIME_SAMPLES_PER_MS,
          atMs: runtime.now(),
        })
      } else if (backlogged && backlog <= backlogSamples / 2) {
        backlogged = false
        sendBack({ type: "SOCKET.BACKLOG_CLEARED", atMs: runtime.now() })
      }
    }

    const pump = (): void => {
      if (!live || disposed) return
      // Audio the buffer no longer holds (trimmed silence, or an overflow) cannot be sent.
      if (cursor < buffer.startSample) cursor = buffer.startSample
      // Most pushes complete no append: the bookkeeping happens at append boundaries. Under
      // one append pending there is no backlog to report (it is at least one append), and
      // one already reported waits for the sends that clear it.
      if (buffer.endSample - cursor < appendSamples && !backlogged) return
      while (!waiting && buffer.endSample - cursor >= appendSamples) {
        const congested = !wire.ready
        // Everything pending goes at once when it is under two appends' worth, so an append
        // leaves with the push that completes it (appends are at least `appendMs` long);
        // a backlog is sent in appends of exactly `appendMs`.
        const pending = buffer.endSample - cursor
        const count = pending < 2 * appendSamples ? pending : appendSamples
        wire.send(encodeAudioAppend(pcm16ToBase64(buffer.view(cursor, cursor + count))))
        sentSamples += count
        cursor += count
        hold()
        if (congested) {
          // That append queued behind the socket; the rest waits in the replay buffer.
          waiting = true
          wire.whenReady(() => {
            waiting = false
            pump()
          })
          break
        }
      }
      checkBacklog()
    }

    const lanes = options.lanes
    let held: HeldDeltas | undefined
    let lastToMachineMs = runtime.now()
    const flush = (): void => {
      const deltas = held
      if (deltas === undefined) return
      held = undefined
      lastToMachineMs = runtime.now()
      sendBack({
        type: "SERVER.TRANSCRIPT_DELTA",
        itemId: deltas.itemId,
        delta: deltas.cumulative ? deltas.text : deltas.text.slice(deltas.baseLength),
        logprobs: undefined,
        atMs: lastToMachineMs,
        delivered: true,
      } satisfies TranscriptionSessionEvent)
    }
    /** Shows a delta past the machine when it can be; false when the machine must see it. */
    const routed = (
      delta: Extract<TranscriptionSessionEvent, { type: "SERVER.TRANSCRIPT_DELTA" }>,
    ): boolean => {
      if (held !== undefined && held.itemId !== delta.itemId) flush()
      const machine = lanes?.ledger()
      if (machine === undefined) return false
      const step = routedInterim(machine.ledger, delta, held?.text, machine.options)
      if (step === undefined) return false
      if (held === undefined) {
        held = {
          itemId: delta.itemId,
          baseLength: step.machineLength,
          text: step.text,
          cumulative: machine.options.cumulativeDeltas,
        }
      } else held.text = step.text
      if (step.event !== undefined) lanes?.show(step.event)
      if (delta.atMs - lastToMachineMs >= (lanes?.coalesceForMs ?? 0)) flush()
      return true
    }

    const unlisten = input.listen({ onAudio: pump })
    // While live, audio past the cursor waits in the buffer to be sent: the retention must not
    // drop it (idle trimming is for audio the server has heard). A connection lost while live
    // leaves its hold in place, so the next one can still send what this one never did.
    const hold = (): void => input.holdUnsent(live ? cursor : undefined)

    return {
      inbound(event) {
        const e = event as TranscriptionSessionEvent
        if (lanes !== undefined) {
          if (e.type === "SERVER.TRANSCRIPT_DELTA" && routed(e)) return undefined
          flush()
          lastToMachineMs = runtime.now()
        }
        if (e.type === "SERVER.SPEECH_STARTED") return { ...e, audioStartMs: clampServerMs(e.audioStartMs) }
        if (e.type === "SERVER.SPEECH_STOPPED") return { ...e, audioEndMs: clampServerMs(e.audioEndMs) }
        return event
      },
      receive(command) {
        if (disposed) return
        switch (command.type) {
          case "send":
            wire.send(encodeClientEvent(command.event))
            return
          case "audio.replay":
            for (const segment of command.segments) {
              const to = Math.min(segment.toSample, buffer.endSample)
              const from = Math.max(segment.fromSample, buffer.startSample)
              sendRange(from, to)
              replayed += Math.max(0, to - from)
              wire.send(COMMIT)
            }
            return
          case "audio.live":
            cursor = Math.max(command.fromSample, buffer.startSample)
            liveFrom = cursor
            live = true
            hold()
            pump()
            return
          case "audio.commit": {
            const at = Math.min(command.atSample, buffer.endSample)
            if (cursor < at) sendRange(cursor, at)
            cursor = Math.max(cursor, at)
            wire.send(COMMIT)
            if (command.pause) {
              live = false
              hold()
              checkBacklog()
            } else {
              hold()
              pump()
            }
            return
          }
          case "audio.pause":
            live = false
            hold()
            checkBacklog()
            return
          case "audio.reportResumed":
            // Configured: when nothing streams live now, nothing waits to be sent.
            if (!live) hold()
            sendBack({
              type: "SOCKET.RESUMED",
              replayedSamples: replayed + (live ? Math.max(0, cursor - liveFrom) : 0),
              committedSamples: replayed,
              liveFromSample: live ? liveFrom : undefined,
              atMs: runtime.now(),
            })
            return
        }
      },
      ending: flush,
      dispose() {
        disposed = true
        unlisten()
      },
    }
  }

/**
 * The `socket` actor of a transcription session: connects to
 * `realtimeUrl(config, { intent: "transcription" })` with the config's auth headers (plus
 * `OpenAI-Beta: realtime=v1` for the beta schema) through the `RealtimeSocket` service.
 */
export const makeTranscriptionSocketActor = <R>(
  runtime: SessionRuntime<R | RealtimeSocket>,
  input: AudioInput,
  options: TranscriptionWireOptions,
) =>
  makeSocketActor<R | RealtimeSocket, TranscriptionSocketCommand>({
    runtime,
    connect: () =>
      RealtimeSocket.use((socket) =>
        socket.connect({
          ...options.socket,
          url: realtimeUrl(options.config, { intent: "transcription" }),
          headers: authHeaders(options.config, { realtimeBeta: options.schema === "beta" }),
        }),
      ),
    decode: (text, atMs) => {
      try {
        return [transcriptionEventOf(decodeRealtimeServerEventSync(text), atMs)]
      } catch (error) {
        if (!isProtocolError(error)) throw error
        return [{ type: "SOCKET.PROTOCOL_ERROR", message: error.message, atMs, ...itemRefOf(text) }]
      }
    },
    open: openTranscriptionConnection(runtime, input, options),
  })

/**
 * The `audioInput` actor of a transcription session: forwards VAD boundaries and buffer
 * overflows to the machine, and applies its retention and VAD commands to `input`.
 * Overflows are reported at the first drop and then once per sixth of the buffer dropped.
 */
export const makeAudioInputActor = <R>(runtime: SessionRuntime<R>, input: AudioInput) =>
  fromCallback<AudioInputCommand, AudioInputActorInput>(({ input: actorInput, sendBack, receive }) => {
    const reportEvery = Math.max(1, Math.floor(input.buffer.capacitySamples / 6))
    let unreported = 0
    let unreportedUnsent = 0
    let reportedOnce = false
    input.setVad(actorInput.vad)
    const unlisten = input.listen({
      onVad: (event) => {
        const atMs = runtime.now()
        sendBack(
          event.type === "speech_start"
            ? {
                type: "AUDIO.SPEECH_STARTED",
                speechStartSample: event.speechStartSample,
                atSample: event.atSample,
                atMs,
              }
            : {
                type: "AUDIO.SPEECH_STOPPED",
                speechEndSample: event.speechEndSample,
                atSample: event.atSample,
                atMs,
              },
        )
      },
      onOverflow: (droppedSamples, startSample, unsentSamples) => {
        unreported += droppedSamples
        unreportedUnsent += unsentSamples
        if (reportedOnce && unreported < reportEvery) return
        reportedOnce = true
        sendBack({
          type: "AUDIO.OVERFLOW",
          droppedSamples: unreported,
          retainedFromSample: startSample,
          ...(unreportedUnsent > 0 ? { unsentSamples: unreportedUnsent } : {}),
          atMs: runtime.now(),
        })
        unreported = 0
        unreportedUnsent = 0
      },
    })
    receive((command) => {
      if (command.type === "audio.retain") input.setRetention(command)
      else input.setVad(command.vad)
    })
    return unlisten
  })
