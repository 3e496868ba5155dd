/**
 * Scripted parts for agent sessions in virtual time: a speech-to-text that hears the caller's
 * audio (an energy detector: voiced frames are speech) and answers each utterance with the
 * next scripted transcript, and a language model that answers each turn with the next
 * scripted reply (text streamed word by word, tool calls, failures). Both run on the
 * session's clock, so under a `TestClock` a ten-minute call takes as long as the CPU needs.
 * With `createFakeTTS` (or any TTS) they make a whole pipeline agent without a network.
 * @module
 */
import { type AnyEventObject, fromCallback } from "xstate"
import type { ChatItem } from "../../machines/responses/chatItems.ts"
import type { ChatChunk, ToolCall } from "../../machines/responses/chunks.ts"
import type { AgentLLM, AgentSTT, AgentTurnRequest } from "../agent/pipeline.ts"
import type { AudioFrame } from "../audio/index.ts"
import type { SpeechEvent } from "../stt/index.ts"

// ---------------------------------------------------------------------------------------
// Scripted STT
// ---------------------------------------------------------------------------------------

/** An utterance the scripted STT heard. Times in ms of the session's clock. */
export interface HeardUtterance {
  readonly index: number
  readonly startMs: number
  readonly endMs: number
  /** What it was transcribed to ("" for a cough: no transcript). */
  readonly text: string
}

/** Options of {@link scriptedSTT}; times in ms. */
export interface ScriptedSTTOptions {
  /**
   * The transcripts of the caller's utterances, in order (utterances shorter than
   * `minWordMs` do not take one), or a function of the utterance. Past the list: no words.
   */
  readonly transcripts:
    | readonly string[]
    | ((utterance: { readonly index: number; readonly durationMs: number }) => string)
  /** Shorter speech transcribes to nothing (a cough); default 150. */
  readonly minWordMs?: number
  /** Manual turns: silence ends no utterance, only the session's `commitUserTurn()` does. */
  readonly manual?: boolean
  /** Utterances (0-based) whose transcription fails (`transcription_failed` instead of the final). */
  readonly failUtterances?: readonly number[]
  /** Silence that ends an utterance; default 300. */
  readonly endOfSpeechSilenceMs?: number
  /** End of speech to the final transcript; default 100. */
  readonly finalDelayMs?: number
  /** Interim transcripts while speaking, one word more each this often (list transcripts only); default 0: none. */
  readonly interimEveryMs?: number
  /** Mean absolute sample value above which a frame is speech; default 300. */
  readonly energyThreshold?: number
}

/** A scripted STT and what it heard. */
export interface ScriptedSTT extends AgentSTT {
  readonly utterances: readonly HeardUtterance[]
}

const meanEnergy = (frame: AudioFrame): number => {
  let sum = 0
  for (let i = 0; i < frame.data.length; i += frame.channels) sum += Math.abs(frame.data[i] ?? 0)
  return sum / Math.max(1, frame.data.length / frame.channels)
}

/** Creates a {@link ScriptedSTT}. */
export const scriptedSTT = (options: ScriptedSTTOptions): ScriptedSTT => {
  const utterances: HeardUtterance[] = []
  const minWordMs = options.minWordMs ?? 150
  const silenceMs = options.endOfSpeechSilenceMs ?? 300
  const finalDelayMs = options.finalDelayMs ?? 100
  const interimEveryMs = options.interimEveryMs ?? 0
  const threshold = options.energyThreshold ?? 300
  const manual = options.manual ?? false
  let scripted = 0
  const transcriptOf = (index: number, durationMs: number): string => {
    if (durationMs < minWordMs) return ""
    if (typeof options.transcripts === "function") return options.transcripts({ index, durationMs })
    return options.transcripts[scripted++] ?? ""
  }
  return {
    utterances,
    parts: (runtime) => {
      let sink: ((event: SpeechEvent) => void) | undefined
      const timers = new Set<number>()
      const later = (ms: number, fn: () => void) => {
        const id = runtime.clock.setTimeout(() => {
          timers.delete(id)
          fn()
        }, ms)
        timers.add(id)
      }
      let speechStart: number | undefined
      let lastVoice = 0
      let interimTimer: number | undefined
      const stopInterims = () => {
        if (interimTimer !== undefined) {
          runtime.clock.clearTimeout(interimTimer)
          timers.delete(interimTimer)
        }
        interimTimer = undefined
      }
      const startInterims = (itemId: string) => {
        if (interimEveryMs <= 0 || typeof options.transcripts === "function") return
        const words = (options.transcripts[scripted] ?? "").split(/\s+/).filter((w) => w !== "")
        let shown = 0
        const tick = () => {
          timers.delete(interimTimer ?? -1)
          interimTimer = undefined
          if (shown >= words.length) return
          shown++
          const text = words.slice(0, shown).join(" ")
          sink?.({ type: "interim_transcript", itemId, alternatives: [{ text, startMs: 0, endMs: 0 }] })
          interimTimer = runtime.clock.setTimeout(tick, interimEveryMs)
          timers.add(interimTimer)
        }
        interimTimer = runtime.clock.setTimeout(tick, Math.max(interimEveryMs, minWordMs))
        timers.add(interimTimer)
      }
      const push = (frame: AudioFrame) => {
        const at = runtime.now()
        const frameMs = (frame.data.length / frame.channels / frame.sampleRateHz) * 1000
        if (meanEnergy(frame) > threshold) {
          lastVoice = at + frameMs
          if (speechStart === undefined) {
            speechStart = at
            const itemId = `item_${utterances.length + 1}`
            sink?.({ type: "start_of_speech", itemId, atMs: at })
            startInterims(itemId)
          }
          return
        }
        if (speechStart === undefined || manual || at - lastVoice < silenceMs) return
        endUtterance(speechStart)
      }
      /** Ends the utterance begun at `start`: end of speech, then its transcript (or its failure). */
      const endUtterance = (start: number) => {
        stopInterims()
        const index = utterances.length
        const itemId = `item_${index + 1}`
        const text = transcriptOf(index, lastVoice - start)
        utterances.push({ index, startMs: start, endMs: lastVoice, text })
        speechStart = undefined
        sink?.({ type: "end_of_speech", itemId, atMs: lastVoice })
        if (options.failUtterances?.includes(index) === true)
          later(finalDelayMs, () =>
            sink?.({
              type: "transcription_failed",
              itemId,
              partial: "",
              error: { code: "server_error", message: "The transcription failed", retryable: false },
            }),
          )
        else if (text !== "")
          later(finalDelayMs, () =>
            sink?.({
              type: "final_transcript",
              itemId,
              alternatives: [{ text, startMs: 0, endMs: 0 }],
            }),
          )
      }
      return {
        logic: fromCallback<AnyEventObject, unknown, SpeechEvent>(({ emit, receive }) => {
          sink = (event) => emit(event)
          // A commit ends the utterance in progress now (manual turns).
          receive((event) => {
            if (event.type === "COMMIT" && speechStart !== undefined) endUtterance(speechStart)
          })
          return () => {
            sink = undefined
            for (const id of timers) runtime.clock.clearTimeout(id)
            timers.clear()
          }
        }),
        input: undefined,
        push,
        commit: () => ({ type: "COMMIT" }),
      }
    },
  }
}

// ---------------------------------------------------------------------------------------
// Scripted LLM
// ---------------------------------------------------------------------------------------

/** A reply of the scripted LLM. */
export type ScriptedReply =
  | string
  | {
      /** Text streamed word by word. */
      readonly text?: string
      /** Tool calls after the text. */
      readonly toolCalls?: readonly { readonly name: string; readonly arguments?: unknown }[]
      /** Tool calls whose arguments are not JSON (an `InvalidToolArguments` error chunk each). */
      readonly invalidCalls?: readonly { readonly name: string; readonly rawArguments: string }[]
    }
  /** The turn fails with `error` after `afterWords` words of `text` (default: at once). */
  | { readonly fail: unknown; readonly text?: string; readonly afterWords?: number }

/** Options of {@link scriptedLLM}; times in ms. */
export interface ScriptedLLMOptions {
  /** The replies, one per model round in order (past the list: the last one), or a function of the request. */
  readonly replies: readonly ScriptedReply[] | ((request: AgentTurnRequest, index: number) => ScriptedReply)
  /** Request to first text (or first call); default 200. */
  readonly firstTokenMs?: number
  /** Between two words; default 30. */
  readonly wordMs?: number
}

/** A scripted LLM and what it was asked. */
export interface ScriptedLLM extends AgentLLM {
  /** Every round requested, in order. */
  readonly requests: readonly AgentTurnRequest[]
  /** The turn ids cancelled before their end. */
  readonly cancelled: readonly string[]
}

/** What the scripted LLM's actor takes (the events of its `chat` and `cancel`). */
type ScriptedLLMCommand = {
  readonly type: string
  readonly request?: AgentTurnRequest
  readonly turnId?: string
}

/** Creates a {@link ScriptedLLM}. */
export const scriptedLLM = (options: ScriptedLLMOptions): ScriptedLLM => {
  const requests: AgentTurnRequest[] = []
  const cancelled: string[] = []
  const firstTokenMs = options.firstTokenMs ?? 200
  const wordMs = options.wordMs ?? 30
  const replyFor = (request: AgentTurnRequest): ScriptedReply => {
    const index = requests.length - 1
    if (typeof options.replies === "function") return options.replies(request, index)
    return options.replies[Math.min(index, options.replies.length - 1)] ?? ""
  }
  let calls = 0
  return {
    requests,
    cancelled,
    parts: (runtime) => {
      const open = new Map<string, Set<number>>()
      return {
        logic: fromCallback<ScriptedLLMCommand, unknown, AnyEventObject>(({ receive, emit }) => {
          const chunk = (turnId: string, c: ChatChunk) => emit({ type: "turn.chunk", turnId, chunk: c })
          const schedule = (turnId: string, ms: number, fn: () => void) => {
            const timers = open.get(turnId)
            if (timers === undefined) return
            const id = runtime.clock.setTimeout(() => {
              timers.delete(id)
              fn()
            }, ms)
            timers.add(id)
          }
          const finish = (turnId: string) => {
            const timers = open.get(turnId)
            for (const id of timers ?? []) runtime.clock.clearTimeout(id)
            open.delete(turnId)
          }
          receive((event) => {
            if (event.type === "CHAT" && event.request !== undefined) {
              const request = event.request
              requests.push(request)
              const turnId = request.turnId
              open.set(turnId, new Set())
              const reply = replyFor(request)
              const text = typeof reply === "string" ? reply : (reply.text ?? "")
              const words = text.split(/\s+/).filter((w) => w !== "")
              const failing = typeof reply === "object" && "fail" in reply ? reply : undefined
              const spoken = failing === undefined ? words : words.slice(0, failing.afterWords ?? 0)
              spoken.forEach((word, i) => {
                schedule(turnId, firstTokenMs + i * wordMs, () =>
                  chunk(turnId, { type: "text", delta: i === 0 ? word : ` ${word}` }),
                )
              })
              const endAt = firstTokenMs + spoken.length * wordMs
              schedule(turnId, endAt, () => {
                finish(turnId)
                if (failing !== undefined) {
                  emit({ type: "turn.failed", turnId, error: failing.fail })
                  return
                }
                const output: ChatItem[] = []
                if (text !== "")
                  output.push({ type: "message", id: `msg_${turnId}`, role: "assistant", content: text })
                const toolCalls =
                  typeof reply === "object" && "toolCalls" in reply ? (reply.toolCalls ?? []) : []
                for (const call of toolCalls) {
                  calls++
                  const rawArguments = JSON.stringify(call.arguments ?? {})
                  const toolCall: ToolCall = {
                    callId: `call_${calls}`,
                    name: call.name,
                    arguments: call.arguments ?? {},
                    rawArguments,
                  }
                  chunk(turnId, { type: "tool_call", call: toolCall })
                  output.push({
                    type: "function_call",
                    id: `fc_${calls}`,
                    callId: toolCall.callId,
                    name: call.name,
                    arguments: rawArguments,
                  })
                }
                const invalid =
                  typeof reply === "object" && "invalidCalls" in reply ? (reply.invalidCalls ?? []) : []
                for (const call of invalid) {
                  calls++
                  chunk(turnId, {
                    type: "error",
                    reason: "InvalidToolArguments",
                    callId: `call_${calls}`,
                    name: call.name,
                    rawArguments: call.rawArguments,
                    message: `The arguments of ${call.name} are not JSON`,
                  })
                  output.push({
                    type: "function_call",
                    id: `fc_${calls}`,
                    callId: `call_${calls}`,
                    name: call.name,
                    arguments: call.rawArguments,
                  })
                }
                chunk(turnId, { type: "end", responseId: `resp_${turnId}`, status: "completed", output })
              })
            } else if (event.type === "CANCEL" && event.turnId !== undefined && open.has(event.turnId)) {
              finish(event.turnId)
              cancelled.push(event.turnId)
              chunk(event.turnId, { type: "end", responseId: undefined, status: "cancelled", output: [] })
            }
          })
          return () => {
            for (const turnId of [...open.keys()]) finish(turnId)
          }
        }),
        input: undefined,
        chat: (request) => ({ type: "CHAT", request }),
        cancel: (turnId) => ({ type: "CANCEL", turnId }),
      }
    },
  }
}
