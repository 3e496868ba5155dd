/**
 * Input audio transcription of committed turns: `conversation.item.input_audio_transcription
 * .delta` events, then `.completed` (or `.failed` when the scenario says so).
 *
 * - gpt-4o-* and the other token models: one delta per word (incremental), and usage in
 *   tokens: audio input tokens are one per 100 ms of audio, text input tokens come from the
 *   prompt, output tokens from the transcript (one token per 4 characters, rounded up).
 * - whisper-1: a single delta holding the whole turn's transcript, and usage in seconds.
 * - With `include: ['item.input_audio_transcription.logprobs']` each delta carries the
 *   logprobs of its word and `completed` all of them.
 *
 * The transcript is taken from the scenario when the turn is committed (so scripted lists are
 * taken in commit order) and reported delivered once its `completed` (or `failed`) event has
 * gone out; a turn still pending when the connection closes, or whose last event the
 * connection dropped (a stall), gives its transcript back to the scenario. Turns without a
 * scripted `delayMs` are delivered one after the other in commit order; a turn with a
 * `delayMs` is delivered on its own after that delay, so turns can complete out of order, as
 * the service's may.
 * @module
 */
import { Buffer } from "node:buffer"
import type { TranscriptReservation } from "../scenario.ts"
import { msForSamples } from "./audio.ts"
import type { RealtimeChannel } from "./channel.ts"
import type { TranscriptionSettings } from "./session.ts"

/** One turn to transcribe. */
export interface TranscriptionJob {
  readonly itemId: string
  readonly audio: Int16Array
  readonly settings: TranscriptionSettings
  readonly logprobs: boolean
  /** The transcript taken from the scenario; reported delivered or released by the transcriber. */
  readonly reservation: TranscriptReservation
  /** Called with the transcript once `completed` is sent (not called on failure). */
  readonly onCompleted?: (transcript: string) => void
}

/** Runs transcription jobs on one connection. */
export interface Transcriber {
  run(job: TranscriptionJob): void
  /** Cancels pending delays and gives the transcripts of undelivered turns back to the scenario. */
  dispose(): void
}

/** Rough token count of a text: one token per 4 characters, rounded up. */
export const countTextTokens = (text: string): number => Math.ceil(text.length / 4)

/** Audio input tokens of a duration: one per 100 ms, rounded up. */
export const countAudioTokens = (durationMs: number): number => Math.ceil(durationMs / 100)

/** Splits a transcript into the pieces deltas carry: each word with its leading whitespace. */
export const splitWords = (text: string): string[] => text.match(/\s*\S+\s*$|\s*\S+/g) ?? []

/** A deterministic confidence for a word, between 0.82 and 0.99. */
const wordConfidence = (word: string): number => {
  let hash = 2166136261
  for (let i = 0; i < word.length; i++) hash = Math.imul(hash ^ word.charCodeAt(i), 16777619) >>> 0
  return 0.82 + ((hash % 1000) / 1000) * 0.17
}

const logprobOf = (token: string, confidence: number | undefined) => ({
  token,
  logprob: Math.log(confidence ?? wordConfidence(token.trim())),
  bytes: [...Buffer.from(token, "utf8")],
})

/** Creates the transcriber of one connection. */
export const createTranscriber = (channel: RealtimeChannel): Transcriber => {
  const timers = new Set<NodeJS.Timeout>()
  const pending = new Set<TranscriptReservation>()
  let disposed = false
  let chain: Promise<void> = Promise.resolve()

  /** Reports the reservation delivered when the turn's last event went out. */
  const settle = (job: TranscriptionJob, sent: boolean) => {
    if (!sent) return
    pending.delete(job.reservation)
    job.reservation.delivered()
  }

  const deliver = async (job: TranscriptionJob) => {
    const { ctx } = channel
    const { settings, itemId } = job
    const transcript = job.reservation.transcript
    if (transcript.fail !== undefined) {
      await ctx.pace()
      if (disposed || !ctx.isOpen()) return
      const sent = channel.emit("conversation.item.input_audio_transcription.failed", {
        item_id: itemId,
        content_index: 0,
        error: {
          type: "invalid_request_error",
          code: transcript.fail.code,
          message: transcript.fail.message,
        },
      })
      settle(job, sent)
      return
    }
    const whisper = settings.model === "whisper-1"
    const pieces = whisper
      ? transcript.text.length > 0
        ? [transcript.text]
        : []
      : splitWords(transcript.text)
    const logprobs = pieces.map((piece) => logprobOf(piece, transcript.confidence))
    for (let i = 0; i < pieces.length; i++) {
      await ctx.pace()
      if (disposed || !ctx.isOpen()) return
      channel.emit("conversation.item.input_audio_transcription.delta", {
        item_id: itemId,
        content_index: 0,
        delta: pieces[i],
        ...(job.logprobs ? { logprobs: [logprobs[i]] } : {}),
      })
    }
    await ctx.pace()
    if (disposed || !ctx.isOpen()) return
    const durationMs = msForSamples(job.audio.length)
    const usage = whisper
      ? { type: "duration", seconds: durationMs / 1000 }
      : (() => {
          const audioTokens = countAudioTokens(durationMs)
          const textTokens = countTextTokens(settings.prompt ?? "")
          const outputTokens = countTextTokens(transcript.text)
          return {
            type: "tokens",
            input_tokens: audioTokens + textTokens,
            input_token_details: { text_tokens: textTokens, audio_tokens: audioTokens },
            output_tokens: outputTokens,
            total_tokens: audioTokens + textTokens + outputTokens,
          }
        })()
    const sent = channel.emit("conversation.item.input_audio_transcription.completed", {
      item_id: itemId,
      content_index: 0,
      transcript: transcript.text,
      ...(job.logprobs ? { logprobs } : {}),
      usage,
    })
    settle(job, sent)
    job.onCompleted?.(transcript.text)
  }

  return {
    run(job) {
      if (disposed) {
        job.reservation.release()
        return
      }
      pending.add(job.reservation)
      const report = (cause: unknown) => channel.internalError(cause)
      if (job.reservation.transcript.delayMs > 0) {
        const timer = setTimeout(() => {
          timers.delete(timer)
          deliver(job).catch(report)
        }, job.reservation.transcript.delayMs)
        timers.add(timer)
      } else {
        chain = chain.then(() => deliver(job)).catch(report)
      }
    },
    dispose() {
      disposed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const reservation of pending) reservation.release()
      pending.clear()
    },
  }
}
