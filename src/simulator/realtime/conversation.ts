/**
 * The Realtime conversation session (`/v1/realtime?model=...`, GA speech-to-speech).
 *
 * Conversation items: `conversation.item.create` (with `previous_item_id`: absent appends,
 * `'root'` inserts first, an unknown id is `invalid_value` on `previous_item_id`) answers
 * `conversation.item.added` and `.done`; `delete` → `deleted`; `retrieve` → `retrieved` (with
 * the audio); `truncate` (assistant audio items only) → `truncated`. Items are validated as the
 * GA service does: assistant content is `output_text` only (the beta `text` type and client
 * `output_audio` are refused), a `function_call_output` must answer a `function_call` of the
 * conversation.
 *
 * Responses: `response.create` streams `response.created`, `rate_limits.updated`,
 * `response.output_item.added`, `conversation.item.added`, `response.content_part.added`,
 * interleaved `response.output_audio.delta` (the simulated voice, 24 kHz PCM16 in 150 ms
 * chunks, its length following the text) and `response.output_audio_transcript.delta` (or
 * `response.output_text.delta` for `output_modalities: ['text']`), the `.done` events,
 * `response.output_item.done`, `conversation.item.done` and `response.done` with `usage`. A
 * scripted function call streams `response.function_call_arguments.delta/done` and then the
 * session waits for the client's `function_call_output` item and `response.create`.
 * Only one response may write to the conversation at a time
 * (`conversation_already_has_active_response`); `conversation: 'none'` responses run out of
 * band. `response.cancel` ends the response with `status: 'cancelled'` and
 * `status_details.reason: 'client_cancelled'` (or `response_cancel_not_active`). The `.done`
 * events of the part and item in progress are sent even when a response is cut short.
 *
 * A numeric `max_output_tokens` (session or response) ends the response with
 * `status: 'incomplete'` and `status_details.reason: 'max_output_tokens'` once its output
 * tokens (text, plus audio at 20 tokens per second) reach it.
 *
 * Turn detection: with `create_response` a VAD-committed turn starts a response (unless one is
 * active); with `interrupt_response` a `speech_started` cancels the active response with
 * `reason: 'turn_detected'`. User turns are transcribed when `audio.input.transcription` is set.
 * `server_vad`'s `idle_timeout_ms` counts from each `response.done` of the conversation plus
 * the playback time of the audio that response sent; when no speech, commit or response came
 * in between, it sends `input_audio_buffer.timeout_triggered` (the span of session audio since
 * the response ended), commits that silent span as a user audio item (transcribed as `""` when
 * transcription is on; it takes no scripted transcript) and starts a response, whatever
 * `create_response` says, as the service prompts the user to go on.
 *
 * A reply with several function calls (`functionCalls`) streams one `function_call` output
 * item after the other in the same response (parallel tool calls); the client answers each
 * with its `function_call_output` before its `response.create`.
 *
 * Simulator choices where the service's behaviour is unconfirmed (⚠):
 * - an unknown `item_id` (delete, retrieve, truncate) is `item_not_found` with `param: 'item_id'`;
 * - truncating past the audio sent for the item is `invalid_value` with `param: 'audio_end_ms'`;
 *   truncating a non-assistant or audio-less item is `invalid_value` on `item_id`;
 * - truncating an item its response is still streaming cancels that response first
 *   (`client_cancelled`): the client has stopped playing it;
 * - deleting an item a response is still streaming is `invalid_value` on `item_id`;
 * - a client item id already in the conversation is `invalid_value` on `item.id`.
 * @module
 */
import type { WebSocket } from "ws"
import { speechDurationMs, synthesizeSpeech } from "../rest/signal.ts"
import { functionCallsOf, reserveTranscript, resolveReply, settledTranscript } from "../scenario.ts"
import type { ModelReply, ScriptedFunctionCall, WebSocketContext } from "../types.ts"
import { base64ByteLength, encodeWireAudio, msForSamples, samplesForMs } from "./audio.ts"
import { type ClientEventHandler, createRealtimeChannel, dispatchClientEvents } from "./channel.ts"
import {
  checkKeys,
  expectObject,
  invalidType,
  invalidValue,
  isRecord,
  type Json,
  missingParameter,
  requestError,
} from "./errors.ts"
import { createInputAudioBuffer } from "./inputAudio.ts"
import {
  type AudioFormat,
  type ConversationSession,
  initialConversationSession,
  LOGPROBS_INCLUDE,
  parseAudioFormat,
  parseMaxOutputTokens,
  parseOutputModalities,
  parseToolChoice,
  parseTools,
  parseVoice,
  renderConversationSession,
  updateConversationSession,
  wireFormatOf,
} from "./session.ts"
import { countAudioTokens, countTextTokens, createTranscriber, splitWords } from "./transcriber.ts"

/** Options of {@link handleConversationConnection}. */
export interface ConversationConnectionOptions {
  /** The model named in the URL (or the Azure deployment). */
  readonly model: string
}

/** Audio chunk length of `response.output_audio.delta`, in milliseconds. */
export const OUTPUT_AUDIO_CHUNK_MS = 150

/** Output audio tokens per millisecond of generated speech (20 per second). */
const outputAudioTokens = (ms: number): number => Math.ceil(ms / 50)

const expectString = (value: unknown, path: string): string => {
  if (value === undefined) throw missingParameter(path)
  if (typeof value !== "string") throw invalidType(path, "a string", value)
  return value
}

const itemNotFound = (itemId: string) =>
  requestError("item_not_found", `Item with item_id '${itemId}' not found in the conversation.`, "item_id")

/** The generated audio of an assistant item. */
interface AssistantAudio {
  /** The whole generated signal, 24 kHz. */
  samples: Int16Array
  /** How many samples the client was sent (or kept after a truncate). */
  sentSamples: number
  /** Sample offset at which each transcript piece ends. */
  readonly pieceEnds: readonly number[]
  readonly pieces: readonly string[]
  readonly format: AudioFormat
}

/** One item of the conversation (or of an out-of-band response's output). */
interface StoredItem {
  readonly id: string
  /** The wire item; audio bytes are kept apart (added/done events carry none). */
  item: Json
  /** Audio of a committed user turn. */
  inputAudio?: Int16Array
  /** The transcript resolved for a committed user turn, before its `completed` is sent. */
  heardTranscript?: string
  output?: AssistantAudio
  /** The response streaming this item, while it does. */
  streamedBy?: ResponseRun | undefined
}

interface ResponseParams {
  readonly instructions: string
  readonly modalities: readonly ["audio"] | readonly ["text"]
  readonly voice: string | { readonly id: string }
  readonly format: AudioFormat
  readonly outOfBand: boolean
  readonly metadata: Json | null
  readonly maxOutputTokens: number | "inf"
  readonly input: readonly unknown[] | undefined
}

interface ResponseRun {
  readonly id: string
  readonly params: ResponseParams
  readonly reply: ModelReply
  readonly inputItems: readonly unknown[]
  readonly output: StoredItem[]
  current:
    | {
        readonly stored: StoredItem
        readonly outputIndex: number
        readonly previousItemId: string | null
        sentText: string
        partOpen: boolean
      }
    | undefined
  outputTextTokens: number
  outputAudioMs: number
  finished: boolean
  /** A `response.cancel` accepted while deltas were still on their way: how many more go out first. */
  cancelling: { remaining: number } | undefined
}

/** Serves one conversation session on an upgraded socket. */
export const handleConversationConnection = (
  socket: WebSocket,
  ctx: WebSocketContext,
  options: ConversationConnectionOptions,
): void => {
  const channel = createRealtimeChannel(ctx)
  const transcriber = createTranscriber(channel)
  const expiresAt = Math.floor((Date.now() + ctx.options.realtimeSessionMaxMs) / 1000)
  const conversationId = ctx.nextId("conv_")
  let session: ConversationSession = initialConversationSession(ctx.nextId("sess_"), expiresAt, options.model)
  const items: StoredItem[] = []
  const running = new Map<string, ResponseRun>()
  let activeDefault: ResponseRun | undefined
  let voiceLocked = false
  let turnIndex = 0
  let responseIndex = 0

  const findItem = (id: string) => items.find((stored) => stored.id === id)

  /**
   * The server VAD idle timeout: armed at each `response.done` of the conversation for
   * `idle_timeout_ms` plus the playback time of the audio the response sent; disarmed by
   * speech, a commit, a new response, a session update turning it off, or the socket closing.
   * When it fires, the silent span since the response ended is committed
   * (`input_audio_buffer.timeout_triggered`, then `committed`) and a response starts.
   */
  const idle = (() => {
    let timer: NodeJS.Timeout | undefined
    const disarm = () => {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    }
    const idleTimeoutMs = (): number | null => {
      const detection = session.input.turn_detection
      return detection?.type === "server_vad" ? detection.idle_timeout_ms : null
    }
    return {
      disarm,
      /** Re-checks the setting after a session update. */
      reconfigure() {
        if (idleTimeoutMs() === null) disarm()
      },
      arm(playbackMs: number) {
        disarm()
        const timeoutMs = idleTimeoutMs()
        if (timeoutMs === null || buffer.speaking || !ctx.isOpen()) return
        const fromSample = buffer.totalSamples
        timer = setTimeout(
          () => {
            timer = undefined
            if (!ctx.isOpen() || buffer.speaking || activeDefault !== undefined || idleTimeoutMs() === null) {
              return
            }
            try {
              buffer.timeout(ctx.nextId("item_"), fromSample)
              if (activeDefault === undefined) startResponse(parseResponseParams(undefined))
            } catch (cause) {
              channel.internalError(cause)
            }
          },
          Math.ceil(timeoutMs + playbackMs),
        )
      },
    }
  })()

  /** Inserts an item and returns the id of the item before it (`null` when first). */
  const insertItem = (stored: StoredItem, previousItemId: unknown): string | null => {
    if (previousItemId === undefined || previousItemId === null) {
      const previous = items.at(-1)?.id ?? null
      items.push(stored)
      return previous
    }
    if (typeof previousItemId !== "string") throw invalidType("previous_item_id", "a string", previousItemId)
    if (previousItemId === "root") {
      items.unshift(stored)
      return null
    }
    const index = items.findIndex((entry) => entry.id === previousItemId)
    if (index < 0) {
      throw requestError(
        "invalid_value",
        `Invalid 'previous_item_id': no item with id '${previousItemId}' in the conversation.`,
        "previous_item_id",
      )
    }
    items.splice(index + 1, 0, stored)
    return previousItemId
  }

  /** The wire item; `withAudio` adds the audio bytes (for `retrieved`). */
  const renderItem = (stored: StoredItem, withAudio: boolean): Json => {
    const item: Json = { ...stored.item }
    if (Array.isArray(item.content)) {
      item.content = (item.content as Json[]).map((part) => {
        const copy: Json = { ...part }
        if (!withAudio) delete copy.audio
        return copy
      })
    }
    if (withAudio && Array.isArray(item.content)) {
      const content = item.content as Json[]
      if (stored.inputAudio !== undefined && content[0] !== undefined) {
        content[0] = {
          ...content[0],
          audio: encodeWireAudio(stored.inputAudio, wireFormatOf(session.input.format)).toString("base64"),
        }
      }
      if (stored.output !== undefined && content[0] !== undefined) {
        const sent = stored.output.samples.subarray(0, stored.output.sentSamples)
        content[0] = {
          ...content[0],
          audio: encodeWireAudio(sent, wireFormatOf(stored.output.format)).toString("base64"),
        }
      }
    }
    return item
  }

  /** What the model sees of an item: its wire form with transcripts (heard ones included). */
  const modelViewOf = (stored: StoredItem): Json => {
    const item = renderItem(stored, false)
    if (stored.heardTranscript !== undefined && Array.isArray(item.content)) {
      item.content = (item.content as Json[]).map((part) =>
        part.type === "input_audio" && (part.transcript === null || part.transcript === undefined)
          ? { ...part, transcript: stored.heardTranscript }
          : part,
      )
    }
    return item
  }

  // ---- items ----

  const parseContent = (role: string, value: unknown): Json[] => {
    if (value === undefined) throw missingParameter("item.content")
    if (!Array.isArray(value)) throw invalidType("item.content", "an array", value)
    return value.map((entry, i) => {
      const path = `item.content[${i}]`
      const part = expectObject(entry, path)
      if (part.type === undefined) throw missingParameter(`${path}.type`)
      const allowed: Record<string, readonly string[]> =
        role === "user"
          ? {
              input_text: ["text"],
              input_audio: ["audio", "transcript"],
              input_image: ["image_url", "detail"],
            }
          : role === "system"
            ? { input_text: ["text"] }
            : { output_text: ["text"] }
      const fields = typeof part.type === "string" ? allowed[part.type] : undefined
      if (fields === undefined) {
        if (role === "assistant" && part.type === "output_audio") {
          throw requestError(
            "invalid_value",
            `Invalid value: 'output_audio'. Assistant audio cannot be created by the client; use 'output_text'.`,
            `${path}.type`,
          )
        }
        throw invalidValue(`${path}.type`, part.type, Object.keys(allowed))
      }
      checkKeys(part, path, ["type", ...fields])
      if (part.type === "input_text" || part.type === "output_text") expectString(part.text, `${path}.text`)
      if (part.type === "input_audio") {
        if (part.audio !== undefined) {
          const audio = expectString(part.audio, `${path}.audio`)
          if (!/^[A-Za-z0-9+/]*={0,2}$/.test(audio) || audio.length % 4 !== 0) {
            throw requestError(
              "invalid_value",
              `Invalid '${path}.audio'. Expected base64-encoded audio bytes.`,
              `${path}.audio`,
            )
          }
        }
        if (part.transcript !== undefined && part.transcript !== null)
          expectString(part.transcript, `${path}.transcript`)
      }
      if (part.type === "input_image") expectString(part.image_url, `${path}.image_url`)
      return { ...part }
    })
  }

  const parseItem = (value: unknown): StoredItem => {
    if (value === undefined) throw missingParameter("item")
    const input = expectObject(value, "item")
    if (input.type === undefined) throw missingParameter("item.type")
    let id: string
    if (input.id !== undefined) {
      id = expectString(input.id, "item.id")
      if (findItem(id) !== undefined) {
        throw requestError(
          "invalid_value",
          `Item with id '${id}' already exists in the conversation.`,
          "item.id",
        )
      }
    } else {
      id = ctx.nextId("item_")
    }
    const base = { id, object: "realtime.item", type: input.type, status: "completed" }
    switch (input.type) {
      case "message": {
        checkKeys(input, "item", ["type", "id", "object", "status", "role", "content"])
        if (input.role === undefined) throw missingParameter("item.role")
        if (input.role !== "user" && input.role !== "assistant" && input.role !== "system") {
          throw invalidValue("item.role", input.role, ["user", "assistant", "system"])
        }
        return { id, item: { ...base, role: input.role, content: parseContent(input.role, input.content) } }
      }
      case "function_call": {
        checkKeys(input, "item", ["type", "id", "object", "status", "name", "arguments", "call_id"])
        const name = expectString(input.name, "item.name")
        const args = expectString(input.arguments, "item.arguments")
        const callId =
          input.call_id === undefined ? ctx.nextId("call_") : expectString(input.call_id, "item.call_id")
        return { id, item: { ...base, name, call_id: callId, arguments: args } }
      }
      case "function_call_output": {
        checkKeys(input, "item", ["type", "id", "object", "status", "call_id", "output"])
        const callId = expectString(input.call_id, "item.call_id")
        const output = expectString(input.output, "item.output")
        const answered = items.some(
          (stored) => stored.item.type === "function_call" && stored.item.call_id === callId,
        )
        if (!answered) {
          throw requestError(
            "invalid_value",
            `Invalid 'item.call_id': no function call with call_id '${callId}' in the conversation.`,
            "item.call_id",
          )
        }
        return { id, item: { ...base, call_id: callId, output } }
      }
      default:
        throw invalidValue("item.type", input.type, ["message", "function_call", "function_call_output"])
    }
  }

  // ---- responses ----

  const parseResponseParams = (value: unknown): ResponseParams => {
    const params = value === undefined ? {} : expectObject(value, "response")
    checkKeys(params, "response", [
      "instructions",
      "output_modalities",
      "audio",
      "tools",
      "tool_choice",
      "max_output_tokens",
      "prompt",
      "reasoning",
      "parallel_tool_calls",
      "metadata",
      "conversation",
      "input",
      "tracing",
    ])
    let voice = session.output.voice
    let format = session.output.format
    if (params.audio !== undefined) {
      const audio = expectObject(params.audio, "response.audio")
      checkKeys(audio, "response.audio", ["output"])
      if (audio.output !== undefined) {
        const output = expectObject(audio.output, "response.audio.output")
        checkKeys(output, "response.audio.output", ["format", "voice"])
        if (output.voice !== undefined) voice = parseVoice(output.voice, "response.audio.output.voice")
        if (output.format !== undefined)
          format = parseAudioFormat(output.format, "response.audio.output.format")
      }
    }
    if (params.tools !== undefined) parseTools(params.tools, "response.tools")
    if (params.tool_choice !== undefined) parseToolChoice(params.tool_choice, "response.tool_choice")
    let outOfBand = false
    if (params.conversation !== undefined) {
      if (params.conversation !== "auto" && params.conversation !== "none") {
        throw invalidValue("response.conversation", params.conversation, ["auto", "none"])
      }
      outOfBand = params.conversation === "none"
    }
    let metadata: Json | null = null
    if (params.metadata !== undefined && params.metadata !== null) {
      metadata = expectObject(params.metadata, "response.metadata")
      for (const [key, entry] of Object.entries(metadata)) expectString(entry, `response.metadata.${key}`)
    }
    let input: unknown[] | undefined
    if (params.input !== undefined) {
      if (!Array.isArray(params.input)) throw invalidType("response.input", "an array", params.input)
      input = params.input.map((entry, i) => {
        const path = `response.input[${i}]`
        const item = expectObject(entry, path)
        if (item.type === "item_reference") {
          const id = expectString(item.id, `${path}.id`)
          const stored = findItem(id)
          if (stored === undefined) {
            throw requestError(
              "invalid_value",
              `Invalid '${path}.id': no item with id '${id}'.`,
              `${path}.id`,
            )
          }
          return modelViewOf(stored)
        }
        return { ...item }
      })
    }
    return {
      instructions:
        params.instructions === undefined
          ? session.instructions
          : expectString(params.instructions, "response.instructions"),
      modalities:
        params.output_modalities === undefined
          ? session.output_modalities
          : parseOutputModalities(params.output_modalities, "response.output_modalities"),
      voice,
      format,
      outOfBand,
      metadata,
      maxOutputTokens:
        params.max_output_tokens === undefined
          ? session.max_output_tokens
          : parseMaxOutputTokens(params.max_output_tokens, "response.max_output_tokens"),
      input,
    }
  }

  /** Audio input tokens of an item the model hears: committed turns, created audio, its own speech. */
  const audioTokensOf = (stored: StoredItem): number => {
    let ms = 0
    if (stored.inputAudio !== undefined) ms += msForSamples(stored.inputAudio.length)
    if (stored.output !== undefined) ms += msForSamples(stored.output.sentSamples)
    if (Array.isArray(stored.item.content)) {
      for (const part of stored.item.content as Json[]) {
        if (typeof part.audio === "string") ms += msForSamples(base64ByteLength(part.audio) / 2)
      }
    }
    return ms > 0 ? countAudioTokens(ms) : 0
  }

  /** Usage of a response: input from the instructions and the items it saw, output from what it sent. */
  const usageOf = (run: ResponseRun) => {
    let textTokens = countTextTokens(run.params.instructions)
    let audioTokens = 0
    for (const item of run.inputItems) {
      if (!isRecord(item)) continue
      if (typeof item.arguments === "string") textTokens += countTextTokens(item.arguments)
      if (typeof item.output === "string") textTokens += countTextTokens(item.output)
      if (Array.isArray(item.content)) {
        for (const part of item.content as unknown[]) {
          if (isRecord(part) && typeof part.text === "string") textTokens += countTextTokens(part.text)
        }
      }
      const stored = typeof item.id === "string" ? findItem(item.id) : undefined
      if (stored !== undefined) audioTokens += audioTokensOf(stored)
    }
    const outputAudio = outputAudioTokens(run.outputAudioMs)
    const inputTokens = textTokens + audioTokens
    const outputTokens = run.outputTextTokens + outputAudio
    return {
      total_tokens: inputTokens + outputTokens,
      input_tokens: inputTokens,
      output_tokens: outputTokens,
      input_token_details: {
        text_tokens: textTokens,
        audio_tokens: audioTokens,
        image_tokens: 0,
        cached_tokens: 0,
        cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
      },
      output_token_details: { text_tokens: run.outputTextTokens, audio_tokens: outputAudio },
    }
  }

  const renderResponse = (
    run: ResponseRun,
    status: string,
    statusDetails: Json | null,
    usage: ReturnType<typeof usageOf> | null,
  ) => ({
    object: "realtime.response",
    id: run.id,
    status,
    status_details: statusDetails,
    output: run.output.map((stored) => renderItem(stored, false)),
    conversation_id: run.params.outOfBand ? null : conversationId,
    output_modalities: run.params.modalities,
    max_output_tokens: run.params.maxOutputTokens,
    audio: { output: { format: run.params.format, voice: run.params.voice } },
    usage,
    metadata: run.params.metadata,
  })

  const ids = (run: ResponseRun, current: NonNullable<ResponseRun["current"]>) => ({
    response_id: run.id,
    item_id: current.stored.id,
    output_index: current.outputIndex,
  })

  /** Closes the item in progress: its part's `.done` events, then the item's. */
  const closeCurrentItem = (run: ResponseRun, complete: boolean) => {
    const current = run.current
    if (current === undefined) return
    run.current = undefined
    const { stored } = current
    stored.streamedBy = undefined
    const audioMode = run.params.modalities[0] === "audio"
    if (stored.item.type === "function_call") {
      channel.emit("response.function_call_arguments.done", {
        ...ids(run, current),
        call_id: stored.item.call_id,
        name: stored.item.name,
        arguments: current.sentText,
      })
      stored.item = { ...stored.item, arguments: current.sentText }
    } else if (current.partOpen) {
      const part = { ...ids(run, current), content_index: 0 }
      if (audioMode) {
        channel.emit("response.output_audio.done", part)
        channel.emit("response.output_audio_transcript.done", { ...part, transcript: current.sentText })
        channel.emit("response.content_part.done", {
          ...part,
          part: { type: "audio", transcript: current.sentText },
        })
        stored.item = { ...stored.item, content: [{ type: "output_audio", transcript: current.sentText }] }
      } else {
        channel.emit("response.output_text.done", { ...part, text: current.sentText })
        channel.emit("response.content_part.done", {
          ...part,
          part: { type: "text", text: current.sentText },
        })
        stored.item = { ...stored.item, content: [{ type: "output_text", text: current.sentText }] }
      }
    }
    stored.item = { ...stored.item, status: complete ? "completed" : "incomplete" }
    const item = renderItem(stored, false)
    channel.emit("response.output_item.done", {
      response_id: run.id,
      output_index: current.outputIndex,
      item,
    })
    if (!run.params.outOfBand) {
      channel.emit("conversation.item.done", { previous_item_id: current.previousItemId, item })
    }
  }

  /**
   * Ends a response: closes what is open and sends `response.done`. `cancelled` and
   * `incomplete` carry `status_details {type, reason}`.
   */
  const finishResponse = (
    run: ResponseRun,
    status: "completed" | "cancelled" | "incomplete",
    reason?: "client_cancelled" | "turn_detected" | "max_output_tokens",
  ) => {
    if (run.finished) return
    run.finished = true
    running.delete(run.id)
    if (activeDefault === run) activeDefault = undefined
    closeCurrentItem(run, status === "completed")
    const details = status === "completed" ? null : { type: status, reason: reason ?? "client_cancelled" }
    channel.emit("response.done", { response: renderResponse(run, status, details, usageOf(run)) })
    if (!run.params.outOfBand) idle.arm(run.outputAudioMs)
  }

  /** Ends the response as `incomplete` once its output reaches `max_output_tokens`. */
  const overTokenLimit = (run: ResponseRun): boolean => {
    const max = run.params.maxOutputTokens
    if (max === "inf" || run.outputTextTokens + outputAudioTokens(run.outputAudioMs) < max) return false
    finishResponse(run, "incomplete", "max_output_tokens")
    return true
  }

  /**
   * Counts one delta sent after an accepted `response.cancel` (`latency.cancelAfterDeltas`):
   * once they are out, the response ends as `cancelled`.
   */
  const cancelDue = (run: ResponseRun): boolean => {
    const cancelling = run.cancelling
    if (cancelling === undefined) return false
    cancelling.remaining -= 1
    if (cancelling.remaining > 0) return false
    finishResponse(run, "cancelled", "client_cancelled")
    return true
  }

  const openItem = (run: ResponseRun, item: Json): NonNullable<ResponseRun["current"]> => {
    const stored: StoredItem = { id: item.id as string, item, streamedBy: run }
    const previousItemId = run.params.outOfBand ? null : insertItem(stored, undefined)
    const current = { stored, outputIndex: run.output.length, previousItemId, sentText: "", partOpen: false }
    run.output.push(stored)
    run.current = current
    const rendered = renderItem(stored, false)
    channel.emit("response.output_item.added", {
      response_id: run.id,
      output_index: current.outputIndex,
      item: rendered,
    })
    if (!run.params.outOfBand) {
      channel.emit("conversation.item.added", { previous_item_id: previousItemId, item: rendered })
    }
    return current
  }

  const stopped = (run: ResponseRun) => run.finished || !ctx.isOpen()

  /** Streams the calls one output item after the other (several calls: parallel tool calls). */
  const streamFunctionCalls = async (run: ResponseRun, calls: readonly ScriptedFunctionCall[]) => {
    let earlierTokens = 0
    for (const call of calls) {
      const current = openItem(run, {
        id: ctx.nextId("item_"),
        object: "realtime.item",
        type: "function_call",
        status: "in_progress",
        name: call.name,
        call_id: call.callId ?? ctx.nextId("call_"),
        arguments: "",
      })
      const pieceLength = 12
      for (let at = 0; at < call.arguments.length; at += pieceLength) {
        const delta = call.arguments.slice(at, at + pieceLength)
        channel.emit("response.function_call_arguments.delta", {
          ...ids(run, current),
          call_id: current.stored.item.call_id,
          delta,
        })
        current.sentText += delta
        run.outputTextTokens = earlierTokens + countTextTokens(current.sentText)
        if (overTokenLimit(run) || cancelDue(run)) return
        await ctx.pace()
        if (stopped(run)) return
      }
      earlierTokens = run.outputTextTokens
      closeCurrentItem(run, true)
    }
    finishResponse(run, "completed")
  }

  const streamMessage = async (run: ResponseRun, text: string) => {
    const audioMode = run.params.modalities[0] === "audio"
    const current = openItem(run, {
      id: ctx.nextId("item_"),
      object: "realtime.item",
      type: "message",
      status: "in_progress",
      role: "assistant",
      content: [],
    })
    const part = { ...ids(run, current), content_index: 0 }
    channel.emit("response.content_part.added", {
      ...part,
      part: audioMode ? { type: "audio", transcript: "" } : { type: "text", text: "" },
    })
    current.partOpen = true
    const pieces = splitWords(text)
    const sendPiece = (index: number) => {
      const delta = pieces[index] ?? ""
      current.sentText += delta
      run.outputTextTokens = countTextTokens(current.sentText)
      channel.emit(audioMode ? "response.output_audio_transcript.delta" : "response.output_text.delta", {
        ...part,
        delta,
      })
    }
    if (!audioMode) {
      for (let i = 0; i < pieces.length; i++) {
        sendPiece(i)
        if (overTokenLimit(run) || cancelDue(run)) return
        await ctx.pace()
        if (stopped(run)) return
      }
      finishResponse(run, "completed")
      return
    }
    const samples = synthesizeSpeech(text, { seed: ctx.scenario.seed })
    const pieceEnds: number[] = []
    let offset = 0
    for (const piece of pieces) {
      offset += samplesForMs(speechDurationMs(piece.trim()))
      pieceEnds.push(Math.min(offset, samples.length))
    }
    const audio: AssistantAudio = { samples, sentSamples: 0, pieceEnds, pieces, format: run.params.format }
    current.stored.output = audio
    voiceLocked = true
    const chunk = samplesForMs(OUTPUT_AUDIO_CHUNK_MS)
    let nextPiece = 0
    for (let start = 0; start < samples.length; start += chunk) {
      const end = Math.min(samples.length, start + chunk)
      // A piece's transcript goes out once its audio begins.
      while (nextPiece < pieces.length && (nextPiece === 0 ? 0 : (pieceEnds[nextPiece - 1] ?? 0)) < end) {
        sendPiece(nextPiece)
        nextPiece += 1
      }
      channel.emit("response.output_audio.delta", {
        ...part,
        delta: encodeWireAudio(samples.subarray(start, end), wireFormatOf(audio.format)).toString("base64"),
      })
      audio.sentSamples = end
      run.outputAudioMs = msForSamples(end)
      if (overTokenLimit(run) || cancelDue(run)) return
      await ctx.pace()
      if (stopped(run)) return
    }
    while (nextPiece < pieces.length) {
      sendPiece(nextPiece)
      nextPiece += 1
    }
    finishResponse(run, "completed")
  }

  const startResponse = (params: ResponseParams) => {
    const conversationView = items.map(modelViewOf)
    const inputItems = params.input ?? conversationView
    const reply = resolveReply(ctx.scenario, { index: responseIndex, input: inputItems })
    responseIndex += 1
    // A malformed scripted reply is refused here, before any response exists (a server_error).
    const calls = functionCallsOf(reply)
    if (!params.outOfBand) idle.disarm()
    const run: ResponseRun = {
      id: ctx.nextId("resp_"),
      params,
      reply,
      inputItems,
      output: [],
      current: undefined,
      outputTextTokens: 0,
      outputAudioMs: 0,
      finished: false,
      cancelling: undefined,
    }
    running.set(run.id, run)
    if (!params.outOfBand) activeDefault = run
    channel.emit("response.created", { response: renderResponse(run, "in_progress", null, null) })
    const estimate = countTextTokens(JSON.stringify(inputItems))
    channel.emit("rate_limits.updated", {
      rate_limits: [
        { name: "requests", limit: 10_000, remaining: 9_999, reset_seconds: 0.006 },
        { name: "tokens", limit: 2_000_000, remaining: 2_000_000 - estimate, reset_seconds: 0.012 },
      ],
    })
    const stream = async () => {
      await ctx.pace()
      if (stopped(run)) return
      if (calls !== undefined) await streamFunctionCalls(run, calls)
      else if ("text" in run.reply) await streamMessage(run, run.reply.text)
    }
    stream().catch((cause: unknown) => channel.internalError(cause))
  }

  // ---- input audio ----

  const buffer = createInputAudioBuffer({
    channel,
    config: () => session.input,
    onSpeechStarted: () => {
      idle.disarm()
      const detection = session.input.turn_detection
      if (detection?.interrupt_response === true && activeDefault !== undefined) {
        finishResponse(activeDefault, "cancelled", "turn_detected")
      }
    },
    onCommit: (turn) => {
      idle.disarm()
      const stored: StoredItem = {
        id: turn.itemId,
        item: {
          id: turn.itemId,
          object: "realtime.item",
          type: "message",
          status: "completed",
          role: "user",
          content: [{ type: "input_audio", transcript: null }],
        },
        inputAudio: turn.audio,
      }
      const previousItemId = insertItem(stored, undefined)
      channel.emit("input_audio_buffer.committed", { item_id: turn.itemId, previous_item_id: previousItemId })
      const rendered = renderItem(stored, false)
      channel.emit("conversation.item.added", { previous_item_id: previousItemId, item: rendered })
      channel.emit("conversation.item.done", { previous_item_id: previousItemId, item: rendered })
      const settings = session.input.transcription
      if (settings !== null) {
        // The idle timeout's silent item is transcribed as silence: it takes no scripted text.
        const reservation =
          turn.cause === "idle_timeout"
            ? settledTranscript("")
            : reserveTranscript(ctx.scenario, { index: turnIndex, audio: turn.audio, model: settings.model })
        if (turn.cause !== "idle_timeout") turnIndex += 1
        const transcript = reservation.transcript
        if (transcript.fail === undefined) stored.heardTranscript = transcript.text
        transcriber.run({
          itemId: turn.itemId,
          audio: turn.audio,
          settings,
          logprobs: session.include?.includes(LOGPROBS_INCLUDE) ?? false,
          reservation,
          onCompleted: (text) => {
            stored.item = { ...stored.item, content: [{ type: "input_audio", transcript: text }] }
          },
        })
      }
      const detection = session.input.turn_detection
      if (turn.cause === "vad" && detection?.create_response === true && activeDefault === undefined) {
        startResponse(parseResponseParams(undefined))
      }
    },
  })

  // ---- client events ----

  const requireItemId = (event: Json): StoredItem => {
    const itemId = expectString(event.item_id, "item_id")
    const stored = findItem(itemId)
    if (stored === undefined) throw itemNotFound(itemId)
    return stored
  }

  const handlers: Record<string, ClientEventHandler> = {
    "session.update": (event) => {
      session = updateConversationSession(session, event.session, voiceLocked)
      buffer.reconfigure()
      idle.reconfigure()
      channel.emit("session.updated", { session: renderConversationSession(session) })
    },
    "input_audio_buffer.append": (event) => buffer.append(event.audio),
    "input_audio_buffer.commit": () => buffer.commit(),
    "input_audio_buffer.clear": () => buffer.clear(),
    "conversation.item.create": (event) => {
      const stored = parseItem(event.item)
      const previousItemId = insertItem(stored, event.previous_item_id)
      const rendered = renderItem(stored, false)
      channel.emit("conversation.item.added", { previous_item_id: previousItemId, item: rendered })
      channel.emit("conversation.item.done", { previous_item_id: previousItemId, item: rendered })
    },
    "conversation.item.delete": (event) => {
      const stored = requireItemId(event)
      if (stored.streamedBy !== undefined && !stored.streamedBy.finished) {
        throw requestError(
          "invalid_value",
          `Item '${stored.id}' is still being generated by a response.`,
          "item_id",
        )
      }
      items.splice(items.indexOf(stored), 1)
      channel.emit("conversation.item.deleted", { item_id: stored.id })
    },
    "conversation.item.retrieve": (event) => {
      const stored = requireItemId(event)
      channel.emit("conversation.item.retrieved", { item: renderItem(stored, true) })
    },
    "conversation.item.truncate": (event) => {
      const stored = requireItemId(event)
      if (event.content_index === undefined) throw missingParameter("content_index")
      if (typeof event.content_index !== "number" || !Number.isInteger(event.content_index)) {
        throw invalidType("content_index", "an integer", event.content_index)
      }
      if (event.audio_end_ms === undefined) throw missingParameter("audio_end_ms")
      if (typeof event.audio_end_ms !== "number" || !Number.isInteger(event.audio_end_ms)) {
        throw invalidType("audio_end_ms", "an integer", event.audio_end_ms)
      }
      const audioEndMs = event.audio_end_ms
      const audio = stored.output
      if (stored.item.role !== "assistant" || audio === undefined) {
        throw requestError(
          "invalid_value",
          `Only assistant messages with audio can be truncated; '${stored.id}' is not one.`,
          "item_id",
        )
      }
      if (event.content_index !== 0) throw invalidValue("content_index", event.content_index, [0])
      if (audioEndMs < 0) throw invalidValue("audio_end_ms", audioEndMs)
      const sentMs = Math.floor(msForSamples(audio.sentSamples))
      if (audioEndMs > sentMs) {
        throw requestError(
          "invalid_value",
          `Invalid 'audio_end_ms': ${audioEndMs} ms is longer than the ${sentMs} ms of audio sent for item '${stored.id}'.`,
          "audio_end_ms",
        )
      }
      const streamedBy = stored.streamedBy
      if (streamedBy !== undefined && !streamedBy.finished)
        finishResponse(streamedBy, "cancelled", "client_cancelled")
      audio.sentSamples = Math.min(audio.sentSamples, samplesForMs(audioEndMs))
      let heard = ""
      for (let i = 0; i < audio.pieces.length; i++) {
        if ((audio.pieceEnds[i] ?? Number.POSITIVE_INFINITY) > audio.sentSamples) break
        heard += audio.pieces[i]
      }
      stored.item = { ...stored.item, content: [{ type: "output_audio", transcript: heard }] }
      channel.emit("conversation.item.truncated", {
        item_id: stored.id,
        content_index: 0,
        audio_end_ms: audioEndMs,
      })
    },
    "response.create": (event) => {
      const params = parseResponseParams(event.response)
      if (!params.outOfBand && activeDefault !== undefined) {
        throw requestError(
          "conversation_already_has_active_response",
          `Conversation already has an active response in progress: ${activeDefault.id}. Wait until the response is finished before creating a new one.`,
        )
      }
      startResponse(params)
    },
    "response.cancel": (event) => {
      let run: ResponseRun | undefined
      if (event.response_id === undefined) run = activeDefault
      else run = running.get(expectString(event.response_id, "response_id"))
      if (run === undefined || run.finished || run.cancelling !== undefined) {
        throw requestError("response_cancel_not_active", "Cancellation failed: no active response found")
      }
      const late = ctx.script.latency?.cancelAfterDeltas ?? 0
      // The service stops the response where its cancel lands: deltas already under way still
      // arrive, and a response that ends first ends `completed`.
      if (late > 0 && run.current !== undefined) run.cancelling = { remaining: late }
      else finishResponse(run, "cancelled", "client_cancelled")
    },
  }

  dispatchClientEvents(channel, handlers)
  socket.on("close", () => {
    idle.disarm()
    transcriber.dispose()
    for (const run of running.values()) run.finished = true
    running.clear()
  })
  channel.emit("session.created", { session: renderConversationSession(session) })
}
