/**
 * The input audio buffer of a Realtime session: `input_audio_buffer.append` validation,
 * the session's audio kept at 24 kHz with a running sample counter (so every
 * `audio_start_ms` / `audio_end_ms` is a true offset into the session's audio), server
 * turn detection, manual commits and clears.
 *
 * Validation (codes the simulator chose where the service's are unconfirmed): `audio`
 * missing → `missing_required_parameter`; not a string → `invalid_type`; not canonical
 * base64 → `invalid_value`; more than 15 MiB decoded → `invalid_value`; an odd number of
 * PCM16 bytes → `invalid_value`; all with `param: 'audio'`.
 *
 * Commits: with `turn_detection: null` only `input_audio_buffer.commit` commits, and a
 * commit of less than 100 ms (or of nothing) is `input_audio_buffer_commit_empty`. With
 * server turn detection the server commits each turn itself; a manual commit during speech
 * ends the turn there (`speech_stopped` at the current end, then `committed`), and a manual
 * commit outside speech finds nothing to commit (`input_audio_buffer_commit_empty`, as
 * clients observe after a VAD commit).
 *
 * The idle timeout of server VAD (driven by the conversation session) sends
 * `input_audio_buffer.timeout_triggered {audio_start_ms, audio_end_ms, item_id}` and commits the
 * silent span whatever its length. Outside speech the buffer keeps only the audio a future
 * onset could reach back to (prefix padding plus the confirming windows), so the committed
 * item holds at most that tail of the span, while `audio_start_ms`/`audio_end_ms` report the
 * whole span.
 * @module
 */
import { Buffer } from "node:buffer"
import { createSampleStore } from "../../audio/samples.ts"
import { base64ByteLength, decodeWireAudio, isBase64, msForSamples, samplesForMs } from "./audio.ts"
import type { RealtimeChannel } from "./channel.ts"
import { invalidType, missingParameter, requestError } from "./errors.ts"
import { type InputAudioConfig, wireFormatOf } from "./session.ts"
import { createServerVad, MIN_SPEECH_WINDOWS, type ServerVad, vadSettingsFor, WINDOW_SAMPLES } from "./vad.ts"

/** Largest decoded audio accepted in one append, in bytes (15 MiB). */
export const MAX_APPEND_BYTES = 15 * 1024 * 1024

/** Shortest audio a manual commit accepts, in milliseconds. */
export const MIN_COMMIT_MS = 100

/** A committed user turn. Offsets in samples of the session's audio; times in milliseconds. */
export interface CommittedTurn {
  readonly itemId: string
  /** The turn's audio, 24 kHz mono PCM16. */
  readonly audio: Int16Array
  readonly audioStartMs: number
  readonly audioEndMs: number
  /**
   * What committed it: server turn detection (`vad`), the client's `input_audio_buffer.commit`
   * (`commit`), or the server VAD idle timeout (`idle_timeout`).
   */
  readonly cause: "vad" | "commit" | "idle_timeout"
}

/** Options of {@link createInputAudioBuffer}. */
export interface InputAudioBufferOptions {
  readonly channel: RealtimeChannel
  /** The session's current input configuration. */
  readonly config: () => InputAudioConfig
  /** Called right after `speech_started` is sent. */
  readonly onSpeechStarted: (itemId: string) => void
  /** Called when a turn is committed; the caller sends `input_audio_buffer.committed` and what follows. */
  readonly onCommit: (turn: CommittedTurn) => void
}

/** The input audio buffer of one session. */
export interface InputAudioBuffer {
  /** Handles `input_audio_buffer.append`. @throws {RealtimeRequestError} on invalid audio */
  append(audio: unknown): void
  /** Handles `input_audio_buffer.commit`. @throws {RealtimeRequestError} `input_audio_buffer_commit_empty` */
  commit(): void
  /** Handles `input_audio_buffer.clear` (sends `cleared`). */
  clear(): void
  /** Re-reads the turn detection after a session update. */
  reconfigure(): void
  /**
   * Fires the idle timeout: sends `input_audio_buffer.timeout_triggered` for the span from
   * session sample `fromSample` to the end of the audio, then commits it (cause `idle_timeout`).
   */
  timeout(itemId: string, fromSample: number): void
  /** Samples appended since the session began (the session clock, at 24 kHz). */
  readonly totalSamples: number
  /** Whether server turn detection is inside a turn (between `speech_started` and its end). */
  readonly speaking: boolean
}

const floorMs = (samples: number): number => Math.floor(msForSamples(samples))

/** Creates the input audio buffer of a session. */
export const createInputAudioBuffer = (options: InputAudioBufferOptions): InputAudioBuffer => {
  const { channel } = options
  // The session's audio; its `end` is the session clock, `start` where the buffer begins.
  const store = createSampleStore()
  let vad: ServerVad | undefined
  let vadKey = ""
  let speech: { itemId: string; start: number } | undefined

  const commitSegment = (itemId: string, from: number, to: number, cause: CommittedTurn["cause"]) => {
    const audio = store.slice(from, to)
    store.trimBefore(to)
    options.onCommit({ itemId, audio, audioStartMs: floorMs(from), audioEndMs: floorMs(to), cause })
  }

  const reconfigure = () => {
    const turnDetection = options.config().turn_detection
    const key = JSON.stringify(turnDetection)
    if (key === vadKey) return
    vadKey = key
    speech = undefined
    vad = turnDetection === null ? undefined : createServerVad(vadSettingsFor(turnDetection))
  }
  reconfigure()

  const prefixSamples = () => {
    const turnDetection = options.config().turn_detection
    if (turnDetection === null) return 0
    return turnDetection.type === "server_vad"
      ? samplesForMs(turnDetection.prefix_padding_ms)
      : samplesForMs(300)
  }

  return {
    get totalSamples() {
      return store.end
    },
    get speaking() {
      return speech !== undefined
    },
    append(audio) {
      if (audio === undefined) throw missingParameter("audio")
      if (typeof audio !== "string") throw invalidType("audio", "a string", audio)
      if (!isBase64(audio)) {
        throw requestError("invalid_value", "Invalid 'audio'. Expected base64-encoded audio bytes.", "audio")
      }
      const byteLength = base64ByteLength(audio)
      if (byteLength > MAX_APPEND_BYTES) {
        throw requestError(
          "invalid_value",
          `Invalid 'audio': ${byteLength} bytes exceed the maximum of ${MAX_APPEND_BYTES} bytes (15 MiB) per event.`,
          "audio",
        )
      }
      const format = wireFormatOf(options.config().format)
      if (format === "audio/pcm" && byteLength % 2 !== 0) {
        throw requestError(
          "invalid_value",
          `Invalid 'audio': PCM16 audio needs an even number of bytes, got ${byteLength}.`,
          "audio",
        )
      }
      const samples = decodeWireAudio(Buffer.from(audio, "base64"), format)
      if (samples.length === 0) return
      const startOffset = store.end
      store.push(samples)
      if (vad === undefined) return
      for (const transition of vad.push(samples, startOffset)) {
        if (transition.type === "speech_started") {
          const itemId = channel.ctx.nextId("item_")
          const start = Math.max(store.start, transition.onset - prefixSamples())
          speech = { itemId, start }
          channel.emit("input_audio_buffer.speech_started", {
            audio_start_ms: floorMs(start),
            item_id: itemId,
          })
          options.onSpeechStarted(itemId)
        } else if (speech !== undefined) {
          const { itemId, start } = speech
          speech = undefined
          channel.emit("input_audio_buffer.speech_stopped", {
            audio_end_ms: floorMs(transition.offset),
            item_id: itemId,
          })
          commitSegment(itemId, start, transition.offset, "vad")
        }
        if (!channel.ctx.isOpen()) return
      }
      if (speech === undefined) {
        // Outside speech only the audio a future onset could reach back to (prefix padding
        // plus the windows that confirm speech) needs keeping.
        store.trimBefore(store.end - prefixSamples() - (MIN_SPEECH_WINDOWS + 1) * WINDOW_SAMPLES)
      }
    },
    commit() {
      if (vad !== undefined) {
        if (speech === undefined) {
          throw requestError(
            "input_audio_buffer_commit_empty",
            `Error committing input audio buffer: buffer too small. Expected at least ${MIN_COMMIT_MS}ms of audio, but buffer only has 0.00ms of audio.`,
          )
        }
        const { itemId, start } = speech
        speech = undefined
        vad.reset()
        channel.emit("input_audio_buffer.speech_stopped", {
          audio_end_ms: floorMs(store.end),
          item_id: itemId,
        })
        commitSegment(itemId, start, store.end, "commit")
        return
      }
      const durationMs = msForSamples(store.end - store.start)
      if (durationMs < MIN_COMMIT_MS) {
        throw requestError(
          "input_audio_buffer_commit_empty",
          `Error committing input audio buffer: buffer too small. Expected at least ${MIN_COMMIT_MS}ms of audio, but buffer only has ${durationMs.toFixed(2)}ms of audio.`,
        )
      }
      commitSegment(channel.ctx.nextId("item_"), store.start, store.end, "commit")
    },
    clear() {
      speech = undefined
      vad?.reset()
      store.trimBefore(store.end)
      channel.emit("input_audio_buffer.cleared")
    },
    reconfigure,
    timeout(itemId, fromSample) {
      const from = Math.min(Math.max(0, fromSample), store.end)
      speech = undefined
      vad?.reset()
      channel.emit("input_audio_buffer.timeout_triggered", {
        audio_start_ms: floorMs(from),
        audio_end_ms: floorMs(store.end),
        item_id: itemId,
      })
      commitSegment(itemId, Math.max(from, store.start), store.end, "idle_timeout")
    },
  }
}
