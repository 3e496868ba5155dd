/**
 * Batch speech-to-text over REST: `POST /v1/audio/transcriptions` through the `openai`
 * client, with Effect retries, silence detection (silence makes no request), splitting of
 * long audio at silences under the 25 MiB request limit, optional SSE streaming of interim
 * text, metrics and tracing. `stream()` goes through the StreamAdapter (VAD segments).
 * @module
 */
import { Clock, Effect, type Tracer } from "effect"
import type OpenAI from "openai"
import { APIConnectionError } from "openai"
import type {
  Transcription,
  TranscriptionCreateParams,
  TranscriptionStreamEvent,
  TranscriptionVerbose,
} from "openai/resources/audio/transcriptions"
import {
  type AudioFrame,
  concatPcm16,
  createEnergyVad,
  createPcmConverter,
  type EnergyVadOptions,
  encodeWav,
  type Vad,
} from "../audio/index.ts"
import {
  annotateOutcome,
  modelConfigAttributes,
  outcomeAttributes,
  type SensitiveTraceOptions,
  SttSpanNames,
  sensitiveTraceOptions,
  type TranscriptionModelConfig,
} from "../telemetry/index.ts"
import { recordRecognition, recordRecognitionFailure } from "../telemetry/metrics.ts"
import {
  makeOpenAIHttp,
  noScrubbing,
  type OpenAIConfigOptions,
  type OpenAIEnv,
  type OpenAIHttpShape,
  openAIHttpErrorOf,
  resolveOpenAIConfig,
  type Scrubber,
} from "../transport/index.ts"
import { type APIConnectOptions, resolveConnectOptions, STTError, withRetries } from "./retry.ts"
import type { RecognitionUsage, SpeechAlternative } from "./SpeechEvent.ts"
import {
  inputFrames,
  type RecognizeInput,
  type RecognizeOptions,
  runRecognition,
  type SpeechRecognition,
  type STT,
  type StreamOptions,
  type TranscriptSegment,
  type TranscriptWord,
} from "./STT.ts"
import { createStreamAdapter, type StreamAdapterOptions } from "./StreamAdapter.ts"
import {
  findSpeechRegions,
  MAX_TRANSCRIPTION_REQUEST_BYTES,
  maxSamplesPerRequest,
  planParts,
  requestBytesFor,
  type SampleRange,
} from "./split.ts"

/** Transcription models of `POST /v1/audio/transcriptions` (or an Azure deployment name). */
export type BatchSTTModel =
  | "whisper-1"
  | "gpt-4o-transcribe"
  | "gpt-4o-mini-transcribe"
  | "gpt-4o-mini-transcribe-2025-12-15"
  | (string & {})

/** Options of {@link createBatchSTT}. */
export interface BatchSTTOptions extends SensitiveTraceOptions {
  /** The model (on Azure: the deployment, unless `openai.azure.deployment` names it). Default `gpt-4o-mini-transcribe`. */
  readonly model?: BatchSTTModel
  /**
   * Which of the two response shapes the model speaks: `whisper` (`verbose_json` with
   * segments) or `gpt-4o` (`json` with logprobs). Default: `whisper` when the model name
   * starts with `whisper`, else `gpt-4o`. Set it for Azure deployments with other names.
   */
  readonly family?: "whisper" | "gpt-4o"
  /** Where and how to reach OpenAI or Azure; what is left out comes from the environment. */
  readonly openai?: OpenAIConfigOptions
  /** The environment read for missing settings (default `process.env`). */
  readonly env?: OpenAIEnv
  /**
   * A ready `openai` client (e.g. an `AzureOpenAI`) used instead of building one. Give it
   * `maxRetries: 0`: retries are done here, with the connect options.
   */
  readonly client?: OpenAI
  /** ISO-639-1 language of the audio (improves accuracy and latency). */
  readonly language?: string
  /** Text that guides style and vocabulary. On spans only with `traceIncludeSensitiveText`. */
  readonly prompt?: string
  /** Sampling temperature, 0..1. */
  readonly temperature?: number
  /** Sample rate of the uploaded mono WAV: 16000 (default; half the bytes) or 24000 Hz. */
  readonly sampleRateHz?: 16000 | 24000
  /** whisper-1: also ask for word timestamps (segments are always asked). Default false. */
  readonly wordTimestamps?: boolean
  /** gpt-4o models: ask for logprobs and report confidence from them. Default true. */
  readonly logprobs?: boolean
  /** gpt-4o models: stream the transcription (SSE) and report interim text. Default false. */
  readonly streaming?: boolean
  /** Retries, interval, jitter and per-attempt timeout. */
  readonly connectOptions?: Partial<APIConnectOptions>
  /** The request size limit, in bytes; longer audio is split at silences. Default 25 MiB. */
  readonly maxRequestBytes?: number
  /** How many parts of a split recording are in flight at once. Default 3. */
  readonly splitConcurrency?: number
  /**
   * The VAD that finds speech (for silence detection and splitting): energy VAD options,
   * or a factory of any `Vad` at the given rate. Default: the energy VAD with its defaults.
   */
  readonly vad?: Omit<EnergyVadOptions, "sampleRateHz"> | ((sampleRateHz: number) => Vad)
  /** Audio in which the VAD finds no speech makes no request and gives an empty result. Default true. */
  readonly skipSilence?: boolean
  /** Name in logs, metrics, traces and events. Default `openai/<model>` (`azure/<model>` on Azure). */
  readonly label?: string
  /** The tracer spans are recorded on (e.g. an OpenTelemetry one); default: Effect's current tracer. */
  readonly tracer?: Tracer.Tracer
  /** Options of the StreamAdapter behind `stream()` (its VAD, concurrency). */
  readonly streamAdapter?: Omit<StreamAdapterOptions, "stt">
}

/** A batch STT: the {@link STT} contract plus the Effect form of `recognize`. */
export interface BatchSTT extends STT {
  /** The model (or Azure deployment) requests name. */
  readonly model: string
  /** `recognize` as an Effect; fails with {@link STTError}; runs on the caller's tracer. */
  recognizeEffect(
    audio: RecognizeInput,
    options?: RecognizeOptions,
  ): Effect.Effect<SpeechRecognition, STTError>
}

/** whisper `verbose_json` reports language names; results carry ISO-639-1 codes. */
const LANGUAGE_CODES: Readonly<Record<string, string>> = {
  english: "en",
  french: "fr",
  german: "de",
  spanish: "es",
  italian: "it",
  portuguese: "pt",
  dutch: "nl",
  japanese: "ja",
  chinese: "zh",
  korean: "ko",
  russian: "ru",
  polish: "pl",
  swedish: "sv",
  arabic: "ar",
  hindi: "hi",
  turkish: "tr",
  ukrainian: "uk",
  danish: "da",
  finnish: "fi",
  norwegian: "no",
  czech: "cs",
  greek: "el",
  hebrew: "he",
}

const toLanguageCode = (language: string | undefined): string | undefined => {
  if (language === undefined || language === "") return undefined
  const lower = language.toLowerCase()
  return LANGUAGE_CODES[lower] ?? lower
}

/** Mean of exp(logprob) over the tokens that have one; undefined when none has. */
export const confidenceFromLogprobs = (
  logprobs: ReadonlyArray<{ readonly logprob?: number | undefined }> | undefined,
): number | undefined => {
  if (logprobs === undefined) return undefined
  let sum = 0
  let count = 0
  for (const entry of logprobs) {
    if (typeof entry.logprob === "number" && Number.isFinite(entry.logprob)) {
      sum += Math.exp(entry.logprob)
      count++
    }
  }
  return count === 0 ? undefined : sum / count
}

/** The HTTP transport of a batch STT: over the given client, or one built from the resolved config without SDK retries. */
const buildHttp = (options: BatchSTTOptions): OpenAIHttpShape =>
  makeOpenAIHttp(
    options.client !== undefined
      ? { client: options.client }
      : { config: resolveOpenAIConfig(options.openai, options.env) },
  )

/**
 * Maps a failure of a request (an `OpenAIHttpError`, or what the `openai` client threw) to an
 * {@link STTError}. Every server-supplied text (messages, the cause) goes through `scrub` (the
 * configured credential's scrubber; an `OpenAIHttpError` of the transport is scrubbed already).
 * @internal
 */
export const toSTTError = (
  error: unknown,
  attempt: number,
  source: string,
  timeoutMs = 0,
  scrub: Scrubber = noScrubbing,
): STTError => {
  if (error instanceof STTError) return error
  const http = openAIHttpErrorOf(error, scrub)
  const base = { retryable: http.retryable, attempts: attempt, source }
  const reason = http.reason
  switch (reason._tag) {
    case "Aborted":
      return new STTError({ ...base, reason: { _tag: "Aborted" }, message: `${source}: request aborted` })
    case "Timeout":
      return new STTError({
        ...base,
        reason: { _tag: "Timeout", timeoutMs },
        message: `${source}: request timed out`,
        cause: http.cause,
      })
    case "Connection":
      return new STTError({
        ...base,
        reason: { _tag: "Connection", detail: reason.detail },
        message: `${source}: ${http.message}`,
        cause: http.cause,
      })
    case "Status":
      return new STTError({
        ...base,
        reason: {
          _tag: "Http",
          status: reason.status,
          ...(reason.code === undefined ? {} : { code: reason.code }),
          ...(reason.requestId === undefined ? {} : { requestId: reason.requestId }),
          ...(reason.retryAfterMs === undefined ? {} : { retryAfterMs: reason.retryAfterMs }),
        },
        message: `${source}: HTTP ${reason.status}${reason.code ? ` ${reason.code}` : ""}: ${http.message}`,
        cause: http.cause,
      })
    case "Unreadable":
      return new STTError({
        ...base,
        reason: { _tag: "InvalidResponse" },
        message: `${source}: ${http.message}`,
        cause: http.cause,
      })
  }
}

/** What one request answered, before offsets and merging. */
interface PartResult {
  readonly text: string
  readonly language?: string
  readonly confidence?: number
  readonly segments?: readonly TranscriptSegment[]
  readonly words?: readonly TranscriptWord[]
  readonly inputTokens?: number
  readonly outputTokens?: number
  readonly totalTokens?: number
  readonly billedSeconds?: number
  readonly requestId?: string
  readonly streamed: boolean
}

const usageFields = (
  usage:
    | Transcription["usage"]
    | TranscriptionVerbose["usage"]
    | { readonly type: "tokens"; input_tokens: number; output_tokens: number; total_tokens: number }
    | undefined,
): Pick<PartResult, "inputTokens" | "outputTokens" | "totalTokens" | "billedSeconds"> => {
  if (usage === undefined || usage === null) return {}
  if (usage.type === "tokens") {
    return {
      inputTokens: usage.input_tokens,
      outputTokens: usage.output_tokens,
      totalTokens: usage.total_tokens,
    }
  }
  return { billedSeconds: usage.seconds }
}

const fromVerbose = (body: TranscriptionVerbose, requestId: string | undefined): PartResult => {
  const language = toLanguageCode(body.language)
  const segments = (body.segments ?? []).map(
    (s): TranscriptSegment => ({
      text: s.text.trim(),
      startMs: s.start * 1000,
      endMs: s.end * 1000,
      avgLogprob: s.avg_logprob,
      noSpeechProb: s.no_speech_prob,
    }),
  )
  const words = body.words?.map(
    (w): TranscriptWord => ({ text: w.word, startMs: w.start * 1000, endMs: w.end * 1000 }),
  )
  return {
    text: body.text.trim(),
    ...(language === undefined ? {} : { language }),
    ...(segments.length > 0 ? { segments } : {}),
    ...(words === undefined ? {} : { words }),
    ...usageFields(body.usage),
    ...(requestId === undefined ? {} : { requestId }),
    streamed: false,
  }
}

const fromJson = (body: Transcription, requestId: string | undefined, streamed: boolean): PartResult => {
  const confidence = confidenceFromLogprobs(body.logprobs)
  const language = toLanguageCode(body.languages?.[0]?.code)
  return {
    text: body.text.trim(),
    ...(language === undefined ? {} : { language }),
    ...(confidence === undefined ? {} : { confidence }),
    ...usageFields(body.usage),
    ...(requestId === undefined ? {} : { requestId }),
    streamed,
  }
}

const invalidAudio = (error: unknown, source: string): STTError =>
  new STTError({
    reason: { _tag: "InvalidAudio" },
    message: `${source}: ${error instanceof Error ? error.message : String(error)}`,
    retryable: false,
    attempts: 0,
    source,
    cause: error,
  })

/** Converts frames of any format to mono PCM16 at `rateHz`. */
const toMonoAt = (frames: readonly AudioFrame[], rateHz: number): Int16Array => {
  const converter = createPcmConverter({ targetRateHz: rateHz })
  const chunks: Int16Array[] = []
  for (const frame of frames) chunks.push(converter.push(frame))
  chunks.push(converter.flush())
  return concatPcm16(chunks)
}

/**
 * Creates a batch {@link STT} over `POST /v1/audio/transcriptions`.
 *
 * `recognize(audio)` converts the audio (any rate and channel count) to mono WAV at
 * `sampleRateHz`; audio where the VAD hears no speech gives an empty result without a
 * request; audio over `maxRequestBytes` is cut at silences into several requests (made
 * `splitConcurrency` at a time, reported through `onProgress`) or fails with `AudioTooLong`.
 * whisper-1 answers `verbose_json` (segments, and words when asked, with times); gpt-4o
 * models answer `json`, with logprobs turned into `confidence` (mean of exp(logprob)); no
 * logprobs, no confidence. Retryable failures (connection errors, timeouts, 408, 409, 429,
 * 5xx) are retried on the connect options' schedule, others fail at once; the final error
 * after retries is `RetriesExhausted` naming the attempts.
 *
 * Every call is a `stt.recognize` span, every request attempt a `stt.request` span, with the
 * model configuration as attributes; transcript text and audio (base64 WAV) only with
 * `traceIncludeSensitiveText` / `traceIncludeSensitiveAudio`. Usage (request duration,
 * audio duration, tokens, streamed) is in each result and in the `voxstate.stt.*` metrics.
 *
 * @throws {OpenAIConfigError} when no credential or endpoint can be found (no `client` given)
 * @throws {STTError} `InvalidOptions` for out-of-range options (including the `streamAdapter` ones)
 */
export const createBatchSTT = (options: BatchSTTOptions = {}): BatchSTT => {
  const model = options.model ?? options.openai?.azure?.deployment ?? "gpt-4o-mini-transcribe"
  const family = options.family ?? (model.startsWith("whisper") ? "whisper" : "gpt-4o")
  const whisper = family === "whisper"
  const sampleRateHz = options.sampleRateHz ?? 16_000
  if (sampleRateHz !== 16_000 && sampleRateHz !== 24_000) {
    throw new STTError({
      reason: { _tag: "InvalidOptions" },
      message: `sampleRateHz must be 16000 or 24000, got ${sampleRateHz}`,
      retryable: false,
      attempts: 0,
    })
  }
  if (options.temperature !== undefined && !(options.temperature >= 0 && options.temperature <= 1)) {
    throw new STTError({
      reason: { _tag: "InvalidOptions" },
      message: `temperature must be between 0 and 1, got ${options.temperature}`,
      retryable: false,
      attempts: 0,
    })
  }
  const baseConnect = resolveConnectOptions(options.connectOptions)
  const maxRequestBytes = options.maxRequestBytes ?? MAX_TRANSCRIPTION_REQUEST_BYTES
  const maxSamples = maxSamplesPerRequest(maxRequestBytes)
  if (!Number.isFinite(maxRequestBytes) || maxSamples < sampleRateHz) {
    throw new STTError({
      reason: { _tag: "InvalidOptions" },
      message: `maxRequestBytes ${maxRequestBytes} leaves room for less than one second of audio`,
      retryable: false,
      attempts: 0,
    })
  }
  const splitConcurrency = Math.floor(options.splitConcurrency ?? 3)
  if (!Number.isFinite(splitConcurrency) || splitConcurrency < 1) {
    throw new STTError({
      reason: { _tag: "InvalidOptions" },
      message: `splitConcurrency must be at least 1, got ${options.splitConcurrency}`,
      retryable: false,
      attempts: 0,
    })
  }
  const logprobs = !whisper && (options.logprobs ?? true)
  const streaming = !whisper && options.streaming === true
  const http = buildHttp(options)
  const { provider, scrub } = http
  const label = options.label ?? `${provider}/${model}`
  const vadOption = options.vad
  const makeVad = (): Vad =>
    typeof vadOption === "function"
      ? vadOption(sampleRateHz)
      : createEnergyVad({ ...vadOption, sampleRateHz })
  const skipSilence = options.skipSilence ?? true
  const trace = sensitiveTraceOptions(options)
  const paddingSamples = Math.round(sampleRateHz * 0.2)

  const modelConfig = (
    language: string | undefined,
    prompt: string | undefined,
  ): TranscriptionModelConfig => ({
    model,
    provider,
    label,
    responseFormat: whisper ? "verbose_json" : "json",
    sampleRateHz,
    streamed: streaming,
    ...(language === undefined ? {} : { language }),
    ...(prompt === undefined ? {} : { prompt }),
    ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
  })

  const requestParams = (file: File, language: string | undefined, prompt: string | undefined) => ({
    file,
    model,
    ...(language === undefined ? {} : { language }),
    ...(prompt === undefined ? {} : { prompt }),
    ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
    ...(whisper
      ? {
          response_format: "verbose_json" as const,
          timestamp_granularities:
            options.wordTimestamps === true ? ["segment" as const, "word" as const] : ["segment" as const],
        }
      : { response_format: "json" as const, ...(logprobs ? { include: ["logprobs" as const] } : {}) }),
  })

  /** One HTTP request (one attempt) for one part. */
  const sendOnce = (
    file: File,
    attempt: number,
    timeoutMs: number,
    language: string | undefined,
    prompt: string | undefined,
    onInterim: ((text: string) => void) | undefined,
  ): Effect.Effect<PartResult, STTError> =>
    http
      .request(async (client, signal) => {
        const params = requestParams(file, language, prompt)
        if (streaming) {
          const { data, request_id } = await client.audio.transcriptions
            .create(
              { ...(params as TranscriptionCreateParams), stream: true },
              { signal, maxRetries: 0, timeout: timeoutMs },
            )
            .withResponse()
          let text = ""
          let done: Extract<TranscriptionStreamEvent, { type: "transcript.text.done" }> | undefined
          for await (const event of data) {
            if (event.type === "transcript.text.delta") {
              text += event.delta
              onInterim?.(text)
            } else if (event.type === "transcript.text.done") {
              done = event
              break
            }
          }
          if (done === undefined) {
            throw new APIConnectionError({
              message: "the transcription stream ended before transcript.text.done",
            })
          }
          const confidence = confidenceFromLogprobs(done.logprobs)
          const result: PartResult = {
            text: done.text.trim(),
            ...(confidence === undefined ? {} : { confidence }),
            ...usageFields(done.usage),
            ...(request_id === null ? {} : { requestId: request_id }),
            streamed: true,
          }
          return result
        }
        if (whisper) {
          const { data, request_id } = await client.audio.transcriptions
            .create(params as TranscriptionCreateParams<"verbose_json"> & { stream?: false }, {
              signal,
              maxRetries: 0,
              timeout: timeoutMs,
            })
            .withResponse()
          return fromVerbose(data as TranscriptionVerbose, request_id ?? undefined)
        }
        const { data, request_id } = await client.audio.transcriptions
          .create(params as TranscriptionCreateParams<"json"> & { stream?: false }, {
            signal,
            maxRetries: 0,
            timeout: timeoutMs,
          })
          .withResponse()
        return fromJson(data as Transcription, request_id ?? undefined, false)
      })
      .pipe(Effect.mapError((error) => toSTTError(error, attempt, label, timeoutMs, scrub)))

  const recognizeEffect = (
    audio: RecognizeInput,
    callOptions: RecognizeOptions = {},
  ): Effect.Effect<SpeechRecognition, STTError> => {
    const language = callOptions.language ?? options.language
    const prompt = callOptions.prompt ?? options.prompt
    const offsetMs = callOptions.offsetMs ?? 0
    const program = Effect.gen(function* () {
      const connect =
        callOptions.connectOptions === undefined
          ? baseConnect
          : yield* Effect.try({
              try: () => resolveConnectOptions({ ...baseConnect, ...callOptions.connectOptions }),
              catch: (error) => error as STTError,
            })
      const started = yield* Clock.currentTimeMillis
      const frames = inputFrames(audio)
      const samples = yield* Effect.try({
        try: () => toMonoAt(frames, sampleRateHz),
        catch: (error) => invalidAudio(error, label),
      })
      const audioDurationMs = (samples.length / sampleRateHz) * 1000
      const regions: SampleRange[] =
        (callOptions.detectSilence ?? skipSilence) || samples.length > maxSamples
          ? yield* Effect.try({
              try: () => findSpeechRegions(samples, makeVad()),
              catch: (e) => invalidAudio(e, label),
            })
          : [{ startSample: 0, endSample: samples.length }]
      const plan = planParts(samples.length, regions, maxSamples, paddingSamples)
      if (plan._tag === "Unsplittable") {
        const seconds = (plan.region.endSample - plan.region.startSample) / sampleRateHz
        return yield* Effect.fail(
          new STTError({
            reason: {
              _tag: "AudioTooLong",
              bytes: requestBytesFor(plan.region.endSample - plan.region.startSample),
              limitBytes: maxRequestBytes,
            },
            message: `${label}: ${seconds.toFixed(1)} s of speech without a pause is longer than the ${(maxSamples / sampleRateHz).toFixed(1)} s one request of at most ${maxRequestBytes} bytes can carry; cut the audio or lower the VAD's minSilenceMs`,
            retryable: false,
            attempts: 0,
            source: label,
          }),
        )
      }
      const parts = plan.parts
      yield* Effect.annotateCurrentSpan({
        "stt.audio_duration_ms": Math.round(audioDurationMs),
        "stt.parts": parts.length,
      })
      if (parts.length === 0) {
        const usage: RecognitionUsage = { audioDurationMs, latencyMs: 0, streamed: false }
        return { text: "", alternatives: [], usage, requests: 0, source: label } satisfies SpeechRecognition
      }
      let done = 0
      callOptions.onProgress?.({ done, total: parts.length })
      const results = yield* Effect.forEach(
        parts,
        (part, index) => {
          const partSamples = samples.subarray(part.startSample, part.endSample)
          const file = new File([encodeWav({ data: partSamples, sampleRateHz, channels: 1 })], "audio.wav", {
            type: "audio/wav",
          })
          const attempt = (attemptNumber: number) =>
            sendOnce(
              file,
              attemptNumber,
              connect.timeoutMs,
              language,
              prompt,
              parts.length === 1 ? callOptions.onInterim : undefined,
            ).pipe(
              Effect.tap((result) =>
                Effect.annotateCurrentSpan({
                  ...(result.requestId === undefined ? {} : { "stt.request_id": result.requestId }),
                  ...outcomeAttributes(
                    { transcript: result.text, audio: { samples: partSamples, sampleRateHz } },
                    trace,
                  ),
                }),
              ),
              Effect.tapError((error) =>
                Effect.annotateCurrentSpan(
                  error.reason._tag === "Http"
                    ? { "http.response.status_code": error.reason.status, "stt.error": error.reason._tag }
                    : { "stt.error": error.reason._tag },
                ),
              ),
              Effect.withSpan(SttSpanNames.request, {
                kind: "client",
                attributes: {
                  ...modelConfigAttributes(modelConfig(language, prompt), trace),
                  "stt.attempt": attemptNumber,
                  "stt.part": index,
                  "stt.request.bytes": file.size,
                },
              }),
            )
          return withRetries(attempt, connect, label).pipe(
            Effect.tap(() =>
              Effect.sync(() => {
                done += 1
                callOptions.onProgress?.({ done, total: parts.length })
              }),
            ),
          )
        },
        { concurrency: splitConcurrency },
      )
      const finished = yield* Clock.currentTimeMillis
      return assemble(results, parts, regions, audioDurationMs, finished - started, offsetMs)
    })
    const traced = program.pipe(
      Effect.tap((recognition) =>
        Effect.all(
          [
            recordRecognition(recognition.usage, { label, model }, recognition.text === "" ? "empty" : "ok"),
            annotateOutcome(
              {
                transcript: recognition.text,
                usage: recognition.usage,
                requests: recognition.requests,
                ...(recognition.alternatives[0]?.confidence === undefined
                  ? {}
                  : { confidence: recognition.alternatives[0].confidence }),
              },
              trace,
            ),
          ],
          { discard: true },
        ),
      ),
      Effect.tapError(() => recordRecognitionFailure({ label, model }, streaming)),
      Effect.withSpan(SttSpanNames.recognize, {
        attributes: modelConfigAttributes(modelConfig(language, prompt), trace),
        ...(callOptions.parentSpan === undefined ? {} : { parent: callOptions.parentSpan }),
      }),
    )
    return options.tracer === undefined ? traced : Effect.withTracer(traced, options.tracer)
  }

  const msOf = (sample: number) => (sample / sampleRateHz) * 1000

  const assemble = (
    results: readonly PartResult[],
    parts: readonly SampleRange[],
    regions: readonly SampleRange[],
    audioDurationMs: number,
    latencyMs: number,
    offsetMs: number,
  ): SpeechRecognition => {
    const texts: string[] = []
    const segments: TranscriptSegment[] = []
    const words: TranscriptWord[] = []
    const requestIds: string[] = []
    const confidences: number[] = []
    let language: string | undefined
    let startMs: number | undefined
    let endMs = 0
    let inputTokens: number | undefined
    let outputTokens: number | undefined
    let totalTokens: number | undefined
    let billedSeconds: number | undefined
    let streamed = false
    const add = (a: number | undefined, b: number | undefined) => (b === undefined ? a : (a ?? 0) + b)
    results.forEach((result, index) => {
      const part = parts[index] as SampleRange
      const partOffsetMs = msOf(part.startSample) + offsetMs
      streamed ||= result.streamed
      inputTokens = add(inputTokens, result.inputTokens)
      outputTokens = add(outputTokens, result.outputTokens)
      totalTokens = add(totalTokens, result.totalTokens)
      billedSeconds = add(billedSeconds, result.billedSeconds)
      if (result.requestId !== undefined) requestIds.push(result.requestId)
      language ??= result.language
      if (result.text === "") return
      texts.push(result.text)
      if (result.confidence !== undefined) confidences.push(result.confidence)
      const partSegments = (result.segments ?? []).map((s) => ({
        ...s,
        startMs: s.startMs + partOffsetMs,
        endMs: s.endMs + partOffsetMs,
      }))
      segments.push(...partSegments)
      for (const w of result.words ?? [])
        words.push({ ...w, startMs: w.startMs + partOffsetMs, endMs: w.endMs + partOffsetMs })
      // Times of the speech: the segments when the service gave them, else the VAD's regions.
      const speech = regions.filter((r) => r.endSample > part.startSample && r.startSample < part.endSample)
      const first = partSegments[0]
      const last = partSegments[partSegments.length - 1]
      const partStart =
        first?.startMs ??
        msOf(Math.max(part.startSample, speech[0]?.startSample ?? part.startSample)) + offsetMs
      const partEnd =
        last?.endMs ??
        msOf(Math.min(part.endSample, speech[speech.length - 1]?.endSample ?? part.endSample)) + offsetMs
      startMs ??= partStart
      endMs = Math.max(endMs, partEnd)
    })
    const text = texts.join(" ")
    const usage: RecognitionUsage = {
      audioDurationMs,
      latencyMs,
      streamed,
      ...(inputTokens === undefined ? {} : { inputTokens }),
      ...(outputTokens === undefined ? {} : { outputTokens }),
      ...(totalTokens === undefined ? {} : { totalTokens }),
      ...(billedSeconds === undefined ? {} : { billedSeconds }),
    }
    const alternatives: SpeechAlternative[] =
      text === ""
        ? []
        : [
            {
              text,
              startMs: startMs ?? offsetMs,
              endMs,
              ...(language === undefined ? {} : { language }),
              // Confidence only when every part that said something reported one.
              ...(confidences.length === texts.length && confidences.length > 0
                ? { confidence: confidences.reduce((a, b) => a + b, 0) / confidences.length }
                : {}),
            },
          ]
    return {
      text,
      alternatives,
      ...(language === undefined ? {} : { language }),
      ...(whisper ? { segments } : {}),
      ...(whisper && options.wordTimestamps === true ? { words } : {}),
      usage,
      requests: results.length,
      ...(requestIds.length === 0 ? {} : { requestIds }),
      source: label,
    }
  }

  const stt: BatchSTT = {
    label,
    model,
    capabilities: { streaming: false, interimResults: streaming },
    recognizeEffect,
    recognize: (audio, callOptions = {}) =>
      runRecognition(recognizeEffect(audio, callOptions), callOptions.signal, label),
    stream: (streamOptions: StreamOptions = {}) => adapter.stream(streamOptions),
    close: async () => {},
  }
  // Built now so that bad `streamAdapter` options fail here, not in `stream()`.
  const adapter = createStreamAdapter({
    sampleRateHz,
    ...trace,
    modelConfig: modelConfig(options.language, options.prompt),
    ...(options.tracer === undefined ? {} : { tracer: options.tracer }),
    ...(vadOption === undefined ? {} : { vad: vadOption }),
    ...options.streamAdapter,
    stt,
  })
  return stt
}
