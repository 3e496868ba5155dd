/**
 * The speech-to-text contract every STT in voxstate meets, streaming or not: `capabilities`,
 * `recognize(audio)` for one utterance, `stream()` for a live session of `SpeechEvent`s.
 * Also the small pieces implementations share: the event channel behind a `SpeechStream`
 * and `streamingSTT`, which turns any factory of streams into a full STT.
 * @module
 */
import { Cause, Clock, Effect, Exit, type Tracer } from "effect"
import type { AudioFrame } from "../audio/index.ts"
import { type Channel, createChannel } from "../runtime/channel.ts"
import { type APIConnectOptions, describeReason, isSTTError, STTError, type STTErrorReason } from "./retry.ts"
import type { RecognitionUsage, SpeechAlternative, SpeechEvent, SpeechStream } from "./SpeechEvent.ts"

/** What an STT can do natively. */
export interface STTCapabilities {
  /** `stream()` recognizes while audio arrives (true), or per VAD segment after it ends (false). */
  readonly streaming: boolean
  /** The STT emits `interim_transcript` events before the final one. */
  readonly interimResults: boolean
}

/** One word with its times, in milliseconds from the start of the recognized audio. */
export interface TranscriptWord {
  readonly text: string
  readonly startMs: number
  readonly endMs: number
}

/** One segment of a transcript (whisper-1 `verbose_json`), times in milliseconds. */
export interface TranscriptSegment {
  readonly text: string
  readonly startMs: number
  readonly endMs: number
  /** Mean log probability of the segment's tokens, as the service reported it. */
  readonly avgLogprob?: number
  /** The service's probability that the segment holds no speech (0..1). */
  readonly noSpeechProb?: number
}

/** The result of recognizing one utterance (or one file). */
export interface SpeechRecognition {
  /** The transcript: the text of the best alternative, or "" when nothing was said. */
  readonly text: string
  /** Hypotheses, best first; empty when nothing was said. */
  readonly alternatives: readonly SpeechAlternative[]
  /** ISO-639-1 code, when the service reported one. */
  readonly language?: string
  /** Timed segments, when the service returned them (whisper-1). */
  readonly segments?: readonly TranscriptSegment[]
  /** Timed words, when asked for and returned (whisper-1 with word granularity). */
  readonly words?: readonly TranscriptWord[]
  /** Durations, tokens and whether the result was streamed. */
  readonly usage: RecognitionUsage
  /** Requests sent to the service (0 for silence-only audio; more than 1 when the audio was split). */
  readonly requests: number
  /** The service's request ids (`x-request-id`), when known. */
  readonly requestIds?: readonly string[]
  /** Label of the STT that produced the result. */
  readonly source: string
}

/** Progress of a recognition split into several requests. */
export interface RecognitionProgress {
  /** Parts recognized so far. */
  readonly done: number
  /** Parts in all. */
  readonly total: number
}

/** Per-call options of `STT.recognize`. */
export interface RecognizeOptions {
  /** ISO-639-1 language of the audio; overrides the STT's default. */
  readonly language?: string
  /** Text that guides the model's style or continues a previous segment; overrides the default. */
  readonly prompt?: string
  /** Aborting fails the call with `STTError` (`Aborted`) and cancels requests in flight. */
  readonly signal?: AbortSignal
  /** Overrides of the STT's retry and timeout options for this call. */
  readonly connectOptions?: Partial<APIConnectOptions>
  /** Receives the transcript so far while a streamed recognition is under way. */
  readonly onInterim?: (text: string) => void
  /** Receives progress when the audio is split into several requests. */
  readonly onProgress?: (progress: RecognitionProgress) => void
  /** Where this audio starts within a longer stream, in milliseconds; added to every time of the result. */
  readonly offsetMs?: number
  /**
   * `false`: the caller vouches that the audio holds speech (a VAD segment), so the STT
   * sends it without its own silence check. Default: the STT's own setting.
   */
  readonly detectSilence?: boolean
  /** The span the recognition's spans nest under (e.g. a stream's `stt.turn`). */
  readonly parentSpan?: Tracer.AnySpan
}

/** Audio for `recognize`: one frame or consecutive frames of one format, any rate and channel count. */
export type RecognizeInput = AudioFrame | readonly AudioFrame[]

/** Options of `STT.stream`. */
export interface StreamOptions {
  /** ISO-639-1 language of the audio; overrides the STT's default. */
  readonly language?: string
  /** Prompt for every turn; overrides the STT's default. */
  readonly prompt?: string
  /** Overrides of the retry and timeout options for the stream's requests. */
  readonly connectOptions?: Partial<APIConnectOptions>
}

/**
 * A speech-to-text: one utterance at a time with `recognize`, or a live `SpeechStream`.
 *
 * `recognize` rejects with an {@link STTError}. `stream` never throws; its failures are events.
 */
export interface STT {
  /** A name for logs, metrics, traces and the `source` of events, e.g. `openai/whisper-1`. */
  readonly label: string
  readonly capabilities: STTCapabilities
  /** Recognizes one utterance (or one file): audio in any rate and channel count. */
  recognize(audio: RecognizeInput, options?: RecognizeOptions): Promise<SpeechRecognition>
  /** Opens a streaming session: push audio, read `SpeechEvent`s. */
  stream(options?: StreamOptions): SpeechStream
  /** Releases what the STT holds (clients, background probes). Streams are closed by their owners. */
  close(): Promise<void>
}

/**
 * The queue of `SpeechEvent`s behind a `SpeechStream`'s async iteration: the runtime's one
 * channel (`src/runtime/channel.ts`), whose consumer rule every `SpeechStream` follows.
 * Producers `push`, then `end` (iteration finishes after the buffered events) or `fail`
 * (a read throws once the buffer is drained).
 */
export type SpeechEventChannel = Channel<SpeechEvent>

/** Creates a {@link SpeechEventChannel}. */
export const createSpeechEventChannel = (): SpeechEventChannel => createChannel<SpeechEvent>()

/**
 * Shifts every time of an alternative by `offsetMs`.
 * @internal
 */
export const shiftAlternative = (alternative: SpeechAlternative, offsetMs: number): SpeechAlternative =>
  offsetMs === 0
    ? alternative
    : { ...alternative, startMs: alternative.startMs + offsetMs, endMs: alternative.endMs + offsetMs }

/**
 * Total duration of some frames, in milliseconds.
 * @internal
 */
export const framesDurationMs = (frames: readonly AudioFrame[]): number => {
  let ms = 0
  for (const frame of frames) ms += (frame.data.length / frame.channels / frame.sampleRateHz) * 1000
  return ms
}

/**
 * The frames of a {@link RecognizeInput}, as an array.
 * @internal
 */
export const inputFrames = (audio: RecognizeInput): readonly AudioFrame[] =>
  "data" in audio ? [audio as AudioFrame] : (audio as readonly AudioFrame[])

/**
 * True for the error a `SpeechStream` throws when audio is pushed (or `flush()` called) after
 * `endInput()` or `close()`, whichever implementation threw it: an {@link STTError} with
 * reason `InputEnded` (every implementation, after `endInput()`; the adapters also after
 * `close()`) or `Closed` (the Realtime transcription session once it has ended).
 * False for an `AudioError` (bad audio) and anything else.
 */
export const isInputEndedError = (u: unknown): boolean =>
  isSTTError(u) && (u.reason._tag === "InputEnded" || u.reason._tag === "Closed")

/** Options of {@link streamingSTT}. */
export interface StreamingSTTOptions {
  readonly label: string
  /** Defaults to `{ streaming: true, interimResults: true }`. */
  readonly capabilities?: STTCapabilities
  /** Opens a new stream (e.g. `createTranscriptionSession`). */
  readonly createStream: (options: StreamOptions) => SpeechStream
  /** Called by `close()`. */
  readonly onClose?: () => Promise<void>
}

/**
 * Makes a full {@link STT} from a factory of streams: `stream()` opens one, and `recognize()`
 * streams the audio through a fresh one (push, end input, collect every final transcript).
 * A `transcription_failed` or a fatal `error` event makes `recognize` reject with an
 * {@link STTError} (`Recognition`, with the event's code and `retryable`).
 */
export const streamingSTT = (options: StreamingSTTOptions): STT => {
  const capabilities = options.capabilities ?? { streaming: true, interimResults: true }
  const recognize = async (audio: RecognizeInput, callOptions: RecognizeOptions = {}) => {
    const frames = inputFrames(audio)
    const offsetMs = callOptions.offsetMs ?? 0
    const streamOptions: StreamOptions = {
      ...(callOptions.language === undefined ? {} : { language: callOptions.language }),
      ...(callOptions.prompt === undefined ? {} : { prompt: callOptions.prompt }),
      ...(callOptions.connectOptions === undefined ? {} : { connectOptions: callOptions.connectOptions }),
    }
    const signal = callOptions.signal
    if (signal?.aborted) throw abortedError(options.label)
    const stream = options.createStream(streamOptions)
    const onAbort = () => void stream.close()
    signal?.addEventListener("abort", onAbort, { once: true })
    const started = Effect.runSync(Clock.currentTimeMillis)
    try {
      for (const frame of frames) stream.pushFrame(frame)
      stream.endInput()
      const texts: string[] = []
      const alternatives: SpeechAlternative[] = []
      let usage: RecognitionUsage | undefined
      let failure: STTErrorReason | undefined
      let failureMessage = ""
      let failureRetryable = true
      for await (const event of stream) {
        if (event.type === "interim_transcript") {
          const text = [...texts, event.alternatives[0]?.text ?? ""].join(" ").trim()
          callOptions.onInterim?.(text)
        } else if (event.type === "final_transcript") {
          const best = event.alternatives[0]
          if (best !== undefined && best.text.trim() !== "") {
            texts.push(best.text.trim())
            alternatives.push(shiftAlternative(best, offsetMs))
          }
        } else if (event.type === "recognition_usage") {
          usage = usage === undefined ? event.usage : addUsage(usage, event.usage)
        } else if (event.type === "transcription_failed" || (event.type === "error" && event.fatal)) {
          failure = { _tag: "Recognition", code: event.error.code }
          failureMessage = event.error.message
          failureRetryable = event.error.retryable
          break
        }
      }
      if (signal?.aborted) throw abortedError(options.label)
      if (failure !== undefined) {
        throw new STTError({
          reason: failure,
          message: `${options.label}: ${failureMessage || describeReason(failure)}`,
          retryable: failureRetryable,
          attempts: 1,
          source: options.label,
        })
      }
      const text = texts.join(" ")
      const merged = mergeAlternatives(alternatives, text)
      return {
        text,
        alternatives: merged,
        usage: usage ?? {
          audioDurationMs: framesDurationMs(frames),
          latencyMs: Effect.runSync(Clock.currentTimeMillis) - started,
          streamed: true,
        },
        requests: 1,
        source: options.label,
      } satisfies SpeechRecognition
    } catch (error) {
      if (signal?.aborted) throw abortedError(options.label)
      throw error
    } finally {
      signal?.removeEventListener("abort", onAbort)
      await stream.close()
    }
  }
  return {
    label: options.label,
    capabilities,
    recognize,
    stream: (streamOptions = {}) => options.createStream(streamOptions),
    close: async () => {
      await options.onClose?.()
    },
  }
}

/**
 * One alternative spanning several consecutive ones (their texts joined, confidences averaged).
 * @internal
 */
export const mergeAlternatives = (
  alternatives: readonly SpeechAlternative[],
  text: string,
): readonly SpeechAlternative[] => {
  const first = alternatives[0]
  const last = alternatives[alternatives.length - 1]
  if (first === undefined || last === undefined) return []
  if (alternatives.length === 1) return [first]
  const confidences = alternatives.flatMap((a) => (a.confidence === undefined ? [] : [a.confidence]))
  const language = first.language
  return [
    {
      text,
      startMs: first.startMs,
      endMs: last.endMs,
      ...(language === undefined ? {} : { language }),
      ...(confidences.length === alternatives.length
        ? { confidence: confidences.reduce((a, b) => a + b, 0) / confidences.length }
        : {}),
    },
  ]
}

/**
 * Sums two usages (durations, latencies and tokens add; streamed if either was).
 * @internal
 */
export const addUsage = (a: RecognitionUsage, b: RecognitionUsage): RecognitionUsage => {
  const sum = (x: number | undefined, y: number | undefined) =>
    x === undefined ? y : y === undefined ? x : x + y
  const fields = {
    latencyMs: sum(a.latencyMs, b.latencyMs),
    inputTokens: sum(a.inputTokens, b.inputTokens),
    outputTokens: sum(a.outputTokens, b.outputTokens),
    totalTokens: sum(a.totalTokens, b.totalTokens),
    billedSeconds: sum(a.billedSeconds, b.billedSeconds),
  }
  return {
    audioDurationMs: a.audioDurationMs + b.audioDurationMs,
    streamed: a.streamed || b.streamed,
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
  }
}

/**
 * The `STTError` of an aborted call.
 * @internal
 */
export const abortedError = (source: string): STTError =>
  new STTError({
    reason: { _tag: "Aborted" },
    message: `${source}: recognition aborted`,
    retryable: false,
    attempts: 0,
    source,
  })

/**
 * Runs a recognition Effect as a Promise: resolves with its value, rejects with its
 * {@link STTError} (or, when `signal` aborted it, with an `Aborted` one).
 * @internal
 */
export const runRecognition = async <A>(
  effect: Effect.Effect<A, STTError>,
  signal: AbortSignal | undefined,
  source: string,
): Promise<A> => {
  if (signal?.aborted) throw abortedError(source)
  const exit = await Effect.runPromiseExit(effect, signal === undefined ? undefined : { signal })
  if (Exit.isSuccess(exit)) return exit.value
  if (signal?.aborted) throw abortedError(source)
  throw Cause.squash(exit.cause)
}
