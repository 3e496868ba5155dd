/**
 * Text-to-speech over REST: `POST /v1/audio/speech` with `response_format: "pcm"` through the
 * `openai` client (OpenAI or Azure), read as it arrives and cut into exact 20 ms frames of
 * 24 kHz mono PCM16 whatever the chunking of the body (odd byte counts included).
 *
 * Each segment is one request. Until its first audio a failed attempt is retried on the
 * connect options' schedule (the STT's `APIConnectOptions` and `retrySchedule`, honouring
 * `retry-after`); once audio has come, a failure ends the segment with an error, so no audio
 * is ever sent twice. Every wait is a named timeout: `connectOptions.timeoutMs` until the
 * first audio, `readTimeoutMs` between chunks after it.
 * @module
 */
import { Cause, Duration, Effect, Exit, type Tracer } from "effect"
import type OpenAI from "openai"
import type { SpeechCreateParams } from "openai/resources/audio/speech"
import { makeAudioFrame } from "../audio/index.ts"
import { type APIConnectOptions, resolveConnectOptions, retrySchedule } from "../stt/retry.ts"
import { type SpeechModelConfig, traceSegment } from "../telemetry/ttsSpans.ts"
import {
  makeOpenAIHttp,
  type OpenAIConfigOptions,
  type OpenAIEnv,
  type OpenAIHttpShape,
  resolveOpenAIConfig,
} from "../transport/index.ts"
import { createSegmentPipeline, type SegmentOutcome, type SegmentRequest } from "./pipeline.ts"
import { createSpeechReframer } from "./reframe.ts"
import { MAX_SPEECH_INPUT_CHARS } from "./sentences.ts"
import type { SynthesisStream, SynthesizeOptions, SynthesizeStream, TTS, TTSVoice } from "./TTS.ts"
import { describeTTSReason, TTSError, toTTSError, ttsInvalid, withTTSFields } from "./TTSError.ts"

/** Speech models of `POST /v1/audio/speech` (or an Azure deployment name). */
export type TTSModel = "gpt-4o-mini-tts" | "gpt-4o-mini-tts-2025-12-15" | "tts-1" | "tts-1-hd" | (string & {})

/** The built-in voices of the speech endpoint. */
export const BUILT_IN_VOICES: readonly string[] = [
  "alloy",
  "ash",
  "ballad",
  "coral",
  "echo",
  "fable",
  "onyx",
  "nova",
  "sage",
  "shimmer",
  "verse",
  "marin",
  "cedar",
]

/** Rate of the speech endpoint's `pcm` output, in Hz. */
export const OPENAI_TTS_SAMPLE_RATE_HZ = 24_000

/** Options of {@link createTTS}. Durations in milliseconds. */
export interface TTSOptions {
  /** The model (on Azure: the deployment, unless `openai.azure.deployment` names it). Default `gpt-4o-mini-tts`. */
  readonly model?: TTSModel
  /** A built-in voice name or a custom voice `{ id }`. Default `ash`. */
  readonly voice?: TTSVoice
  /** Speaking speed, 0.25 to 4. Default: the service's (1). */
  readonly speed?: number
  /**
   * Style instructions ("Speak in a cheerful tone"). Sent only where the model takes them
   * (not `tts-1`/`tts-1-hd`); otherwise dropped with one warning. Sensitive on spans.
   */
  readonly instructions?: string
  /**
   * Whether the model takes `instructions` (and `stream_format: "sse"`). Default: every model
   * but `tts-1*`. Set it for Azure deployments whose name does not tell.
   */
  readonly instructionsSupported?: boolean
  /** ISO-639-1 language hint, sent as `language`. */
  readonly language?: string
  /** `audio` (default): a chunked binary body; `sse`: `speech.audio.delta` events (not on `tts-1*`). */
  readonly streamFormat?: "audio" | "sse"
  /**
   * `false` (default): a stream is one request per flush marker (better prosody, fewer
   * requests); `true`: one request per sentence (first audio sooner for long replies).
   */
  readonly chunked?: boolean
  /** Sentences shorter than this (characters) are merged with the next (chunked). Default 20. */
  readonly minSentenceChars?: number
  /** Segments synthesized at once (the playing one and those after it). Default 2. */
  readonly maxConcurrentSegments?: number
  /** Retries before the first audio of a segment, interval, jitter, and `timeoutMs` until the first audio. */
  readonly connectOptions?: Partial<APIConnectOptions>
  /** The longest wait for the next chunk once audio flows. Default 10 000. */
  readonly readTimeoutMs?: number
  /** Where and how to reach OpenAI or Azure; what is left out comes from the environment. */
  readonly openai?: OpenAIConfigOptions
  /** The environment read for missing settings (default `process.env`). */
  readonly env?: OpenAIEnv
  /** A ready `openai` client (e.g. an `AzureOpenAI`) used instead of building one. */
  readonly client?: OpenAI
  /** Name in logs, traces and metrics. Default `openai/<model>` (`azure/<model>` on Azure). */
  readonly label?: string
  /** Receives configuration warnings (dropped options); default `console.warn`. */
  readonly onWarning?: (message: string) => void
  /** The tracer `tts.segment` spans are recorded on; default: Effect's current tracer. */
  readonly tracer?: Tracer.Tracer
  /** Put each segment's text (and the instructions) on its span. Default false. */
  readonly traceIncludeSensitiveText?: boolean
}

/** A REST TTS: the {@link TTS} contract plus its model. */
export interface OpenAITTS extends TTS {
  /** The model (or Azure deployment) requests name. */
  readonly model: string
}

const takesInstructions = (model: string): boolean => !/^tts-1(\b|-|$)/.test(model)

const checkVoice = (voice: TTSVoice, label: string): TTSVoice => {
  if (typeof voice === "string") {
    if (!BUILT_IN_VOICES.includes(voice)) {
      throw ttsInvalid(
        "InvalidOptions",
        `unknown voice ${JSON.stringify(voice)}; built-in voices are ${BUILT_IN_VOICES.join(", ")}, or pass a custom voice as { id }`,
        label,
      )
    }
    return voice
  }
  if (voice === null || typeof voice !== "object" || typeof voice.id !== "string" || voice.id === "") {
    throw ttsInvalid("InvalidOptions", "a custom voice is { id: string }", label)
  }
  return { id: voice.id }
}

/** Turns an SSE body (`speech.audio.delta` events) into the PCM bytes they carry. */
const sseAudio = (): ((chunk: Uint8Array) => Uint8Array[]) => {
  const decoder = new TextDecoder()
  let text = ""
  return (chunk) => {
    text += decoder.decode(chunk, { stream: true })
    const out: Uint8Array[] = []
    let end = text.indexOf("\n\n")
    while (end >= 0) {
      const block = text.slice(0, end)
      text = text.slice(end + 2)
      for (const line of block.split("\n")) {
        if (!line.startsWith("data:")) continue
        const event = JSON.parse(line.slice(5)) as { type?: string; audio?: string }
        if (event.type === "speech.audio.delta" && typeof event.audio === "string") {
          out.push(Buffer.from(event.audio, "base64"))
        }
      }
      end = text.indexOf("\n\n")
    }
    return out
  }
}

/** A response being read: the reader, the bytes read so far, and what the request said about itself. */
interface OpenedSpeech {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>
  readonly chunks: Uint8Array[]
  readonly done: boolean
  readonly requestId: string
  readonly ttfbMs: number
  /** The SSE decoder, whose state carries over to the rest of the body (`sse` only). */
  readonly decode: ((chunk: Uint8Array) => Uint8Array[]) | undefined
}

/**
 * Creates a {@link TTS} over `POST /v1/audio/speech` (OpenAI or Azure).
 *
 * `synthesize(text)` speaks a whole text (split at sentence ends into requests of at most
 * 4096 characters); `stream()` takes text token by token: with `chunked: false` (default) one
 * request per flush marker, with `chunked: true` one per sentence, pipelined. Frames are
 * exactly 20 ms (480 samples) except the last of each segment, and the first leaves as soon
 * as its bytes have arrived. Cancel aborts the HTTP requests at once.
 *
 * @throws {OpenAIConfigError} when no credential or endpoint can be found (no `client` given)
 * @throws {TTSError} `InvalidOptions` for an unknown voice, a speed out of 0.25..4, or bad durations
 */
export const createTTS = (options: TTSOptions = {}): OpenAITTS => {
  const model = options.model ?? options.openai?.azure?.deployment ?? "gpt-4o-mini-tts"
  const provisional = options.label ?? `openai/${model}`
  const voice = checkVoice(options.voice ?? "ash", provisional)
  if (options.speed !== undefined && !(options.speed >= 0.25 && options.speed <= 4)) {
    throw ttsInvalid("InvalidOptions", `speed must be between 0.25 and 4, got ${options.speed}`, provisional)
  }
  const readTimeoutMs = options.readTimeoutMs ?? 10_000
  if (!(readTimeoutMs > 0) || !Number.isFinite(readTimeoutMs)) {
    throw ttsInvalid(
      "InvalidOptions",
      `readTimeoutMs must be a positive number, got ${readTimeoutMs}`,
      provisional,
    )
  }
  const baseConnect = resolveConnectOptions(options.connectOptions)
  // The server's text (error messages, headers) passes `scrub` before it can reach an error.
  const { client, provider, scrub } = buildHttp(options)
  const label = options.label ?? `${provider}/${model}`
  const supportsInstructions = options.instructionsSupported ?? takesInstructions(model)
  const warn = options.onWarning ?? ((message: string) => console.warn(`voxstate: ${message}`))
  const instructions =
    options.instructions !== undefined && supportsInstructions ? options.instructions : undefined
  if (options.instructions !== undefined && !supportsInstructions) {
    warn(`${label}: the model ${model} takes no instructions; they are dropped`)
  }
  const streamFormat = options.streamFormat ?? "audio"
  if (streamFormat === "sse" && !supportsInstructions) {
    throw ttsInvalid("InvalidOptions", `stream_format "sse" is not available with ${model}`, label)
  }
  const frameSamples = (OPENAI_TTS_SAMPLE_RATE_HZ * 20) / 1000
  const frameBytes = frameSamples * 2

  const config = (callVoice: TTSVoice): SpeechModelConfig => ({
    model,
    provider,
    label,
    voice: typeof callVoice === "string" ? callVoice : "custom",
    responseFormat: "pcm",
    streamFormat,
    ...(options.speed === undefined ? {} : { speed: options.speed }),
    ...(options.language === undefined ? {} : { language: options.language }),
    ...(instructions === undefined ? {} : { instructions }),
  })

  const params = (text: string, callVoice: TTSVoice): SpeechCreateParams => ({
    model,
    input: text,
    voice: callVoice as SpeechCreateParams["voice"],
    response_format: "pcm",
    ...(streamFormat === "sse" ? { stream_format: "sse" as const } : {}),
    ...(options.speed === undefined ? {} : { speed: options.speed }),
    ...(instructions === undefined ? {} : { instructions }),
    ...(options.language === undefined ? {} : { language: options.language }),
  })

  /** One attempt: sends the request and reads until one frame's worth of audio (or the end). */
  const openOnce = async (
    text: string,
    callVoice: TTSVoice,
    attempt: number,
    timeoutMs: number,
    signal: AbortSignal,
    startedAt: number,
  ): Promise<OpenedSpeech> => {
    const { data, request_id } = await client.audio.speech
      .create(params(text, callVoice), { signal, maxRetries: 0, timeout: timeoutMs })
      .withResponse()
    const body = data.body
    if (body === null) {
      throw new TTSError({
        reason: { _tag: "InvalidResponse" },
        message: `${label}: the answer has no body`,
        retryable: false,
        attempts: attempt,
        source: label,
      })
    }
    const contentType = data.headers.get("content-type") ?? ""
    if (/json|text\/html/i.test(contentType)) {
      void body.cancel().catch(() => {})
      throw new TTSError({
        reason: { _tag: "InvalidResponse" },
        message: `${label}: the answer is ${scrub(contentType)}, not audio`,
        retryable: false,
        attempts: attempt,
        source: label,
      })
    }
    const reader = body.getReader()
    const decode = streamFormat === "sse" ? sseAudio() : undefined
    const chunks: Uint8Array[] = []
    let bytes = 0
    let ttfbMs = -1
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) {
          return {
            reader,
            chunks,
            done: true,
            requestId: request_id ?? "",
            ttfbMs: Math.max(0, ttfbMs),
            decode,
          }
        }
        if (ttfbMs < 0) ttfbMs = performance.now() - startedAt
        for (const piece of decode === undefined ? [value] : decode(value)) {
          chunks.push(piece)
          bytes += piece.byteLength
        }
        if (bytes >= frameBytes)
          return { reader, chunks, done: false, requestId: request_id ?? "", ttfbMs, decode }
      }
    } catch (error) {
      void reader.cancel().catch(() => {})
      throw error
    }
  }

  /** Sends the segment's request until its first audio, retrying before it on the schedule. */
  const open = (
    text: string,
    callVoice: TTSVoice,
    connect: APIConnectOptions,
    signal: AbortSignal,
    startedAt: number,
    onRetry: (attempt: number, error: TTSError) => void,
  ): Promise<{ readonly opened: OpenedSpeech; readonly attempts: number }> => {
    let attempts = 0
    const once = Effect.suspend(() => {
      attempts += 1
      const current = attempts
      return Effect.tryPromise({
        try: (effectSignal) =>
          openOnce(
            text,
            callVoice,
            current,
            connect.timeoutMs,
            AbortSignal.any([effectSignal, signal]),
            startedAt,
          ),
        catch: (error) => toTTSError(error, current, label, connect.timeoutMs, scrub),
      }).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(connect.timeoutMs),
          orElse: () =>
            Effect.fail(
              new TTSError({
                reason: { _tag: "Timeout", phase: "firstAudio", timeoutMs: connect.timeoutMs },
                message: `${label}: attempt ${current} gave no audio within ${connect.timeoutMs} ms`,
                retryable: true,
                attempts: current,
                source: label,
              }),
            ),
        }),
        Effect.tapError((error) =>
          Effect.sync(() => {
            if (error.retryable && current <= connect.maxRetry) onRetry(current, error)
          }),
        ),
      )
    })
    const program = once.pipe(
      Effect.retry({ schedule: retrySchedule<TTSError>(connect), while: (error) => error.retryable }),
      // The wait for a segment's first audio is bounded as a whole: a long retry-after cannot stretch it.
      Effect.timeoutOrElse({
        duration: Duration.millis(connect.totalTimeoutMs),
        orElse: () =>
          Effect.fail(
            new TTSError({
              reason: { _tag: "Timeout", phase: "firstAudio", timeoutMs: connect.totalTimeoutMs },
              message: `${label}: no audio within ${connect.totalTimeoutMs} ms in all (${attempts} attempt${attempts === 1 ? "" : "s"}, waits included)`,
              retryable: false,
              attempts,
              source: label,
            }),
          ),
      }),
      Effect.mapError((error) =>
        !error.retryable || attempts === 1
          ? withTTSFields(error, { attempts })
          : new TTSError({
              reason: { _tag: "RetriesExhausted", attempts, last: error.reason },
              message: `${label}: no audio after ${attempts} attempts: ${describeTTSReason(error.reason)}`,
              retryable: true,
              attempts,
              source: label,
              cause: error,
            }),
      ),
      Effect.map((opened) => ({ opened, attempts })),
    )
    return Effect.runPromiseExit(program, { signal }).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw Cause.squash(exit.cause)
    })
  }

  const segmentSynthesizer =
    (callOptions: SynthesizeOptions) =>
    async (request: SegmentRequest): Promise<SegmentOutcome> => {
      const { text, segmentId, signal, emit } = request
      const callVoice = callOptions.voice === undefined ? voice : checkVoice(callOptions.voice, label)
      const connect =
        callOptions.connectOptions === undefined
          ? baseConnect
          : resolveConnectOptions({ ...baseConnect, ...callOptions.connectOptions })
      const trace = traceSegment({
        config: config(callVoice),
        segmentId,
        text,
        ...(options.traceIncludeSensitiveText === undefined
          ? {}
          : { traceIncludeSensitiveText: options.traceIncludeSensitiveText }),
        ...(options.tracer === undefined ? {} : { tracer: options.tracer }),
        ...(callOptions.parentSpan === undefined ? {} : { parent: callOptions.parentSpan }),
      })
      const startedAt = performance.now()
      let attempts = 0
      let requestId = ""
      let ttfbMs = 0
      let ttffMs = -1
      let samples = 0
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
      try {
        const result = await open(text, callVoice, connect, signal, startedAt, (attempt, error) =>
          trace.event("retry", { attempt, reason: error.reason._tag }),
        )
        attempts = result.attempts
        const opened = result.opened
        reader = opened.reader
        requestId = opened.requestId
        ttfbMs = opened.ttfbMs
        const decode = opened.decode
        const out = (data: Int16Array, final: boolean) => {
          if (signal.aborted) return
          if (ttffMs < 0) {
            ttffMs = performance.now() - startedAt
            trace.event("first_frame")
          }
          samples += data.length
          emit({
            type: "audio",
            frame: makeAudioFrame(data, OPENAI_TTS_SAMPLE_RATE_HZ, 1),
            requestId,
            segmentId,
            final,
          })
        }
        const reframer = createSpeechReframer(OPENAI_TTS_SAMPLE_RATE_HZ, out)
        const take = (bytes: Uint8Array) => reframer.push(bytes)
        for (const chunk of opened.chunks) take(chunk)
        let done = opened.done
        // One idle timer for the whole body, re-armed by each chunk (no timer per read). When it
        // fires it cancels the body, which ends the pending read and aborts the request.
        let stalled = false
        const streaming = reader
        const idle = setTimeout(() => {
          stalled = true
          void streaming.cancel().catch(() => {})
        }, readTimeoutMs)
        try {
          while (!done && !signal.aborted) {
            const next = await streaming.read()
            if (stalled) {
              throw new TTSError({
                reason: { _tag: "Timeout", phase: "read", timeoutMs: readTimeoutMs },
                message: `${label}: the audio stopped for ${readTimeoutMs} ms`,
                retryable: true,
                attempts,
                source: label,
                segmentId,
              })
            }
            idle.refresh()
            if (next.done) done = true
            else if (decode === undefined) take(next.value)
            else for (const piece of decode(next.value)) take(piece)
          }
        } finally {
          clearTimeout(idle)
        }
        if (!signal.aborted) {
          try {
            reframer.end()
          } catch (cause) {
            throw new TTSError({
              reason: { _tag: "InvalidResponse" },
              message: `${label}: the audio ended inside a sample`,
              retryable: false,
              attempts,
              source: label,
              segmentId,
              cause,
            })
          }
        }
        const audioDurationMs = (samples / OPENAI_TTS_SAMPLE_RATE_HZ) * 1000
        const durationMs = performance.now() - startedAt
        trace.end({
          requestId,
          attempts,
          ttfbMs,
          ttffMs: Math.max(0, ttffMs),
          audioDurationMs,
          cancelled: signal.aborted,
        })
        return {
          requestId,
          characters: text.length,
          ttfbMs,
          ttffMs: Math.max(0, ttffMs),
          audioDurationMs,
          durationMs,
          attempts,
          source: label,
        }
      } catch (error) {
        if (reader !== undefined) void reader.cancel().catch(() => {})
        if (signal.aborted) {
          trace.end({ attempts, cancelled: true })
          return {
            requestId,
            characters: text.length,
            ttfbMs,
            ttffMs: Math.max(0, ttffMs),
            audioDurationMs: (samples / OPENAI_TTS_SAMPLE_RATE_HZ) * 1000,
            durationMs: performance.now() - startedAt,
            attempts,
            source: label,
          }
        }
        const failure = withTTSFields(toTTSError(error, attempts, label, 0, scrub), { segmentId })
        trace.end({ attempts, error: failure })
        throw failure
      } finally {
        if (signal.aborted && reader !== undefined) void reader.cancel().catch(() => {})
      }
    }

  const makeStream = (callOptions: SynthesizeOptions, chunked: boolean): SynthesizeStream => {
    if (callOptions.voice !== undefined) checkVoice(callOptions.voice, label)
    return createSegmentPipeline({
      label,
      synthesize: segmentSynthesizer(callOptions),
      chunked,
      maxSegmentChars: MAX_SPEECH_INPUT_CHARS,
      ...(options.minSentenceChars === undefined ? {} : { minSentenceChars: options.minSentenceChars }),
      ...(options.maxConcurrentSegments === undefined
        ? {}
        : { maxConcurrentSegments: options.maxConcurrentSegments }),
    })
  }

  // Validated now so that bad pipeline options fail here, not in `stream()`.
  void makeStream({}, options.chunked === true).cancel()

  return {
    label,
    model,
    sampleRateHz: OPENAI_TTS_SAMPLE_RATE_HZ,
    capabilities: { streaming: false },
    synthesize: (text: string, callOptions: SynthesizeOptions = {}): SynthesisStream => {
      if (typeof text !== "string" || text.trim() === "") {
        throw ttsInvalid("InvalidInput", "synthesize needs a non-empty text", label)
      }
      const stream = makeStream(callOptions, false)
      stream.pushText(text)
      stream.endInput()
      return stream
    },
    stream: (callOptions: SynthesizeOptions = {}) => makeStream(callOptions, options.chunked === true),
    // Nothing to release: streams are cancelled by their owners, and the connections belong to
    // the `fetch` pool (kept alive for the next request, closed by their idle timeout).
    close: async () => {},
  }
}

/**
 * The HTTP transport of a TTS: the one `OpenAIHttp` over the given client or the resolved
 * config (no SDK retries: the segment pipeline owns retries), with its scrubber.
 */
const buildHttp = (options: TTSOptions): OpenAIHttpShape =>
  makeOpenAIHttp(
    options.client !== undefined
      ? { client: options.client }
      : { config: resolveOpenAIConfig(options.openai, options.env) },
  )
