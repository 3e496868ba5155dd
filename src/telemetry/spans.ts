/**
 * Tracing of speech recognition on Effect's tracer: the span names, the attributes that
 * describe the model configuration, the result attributes (with transcript text and audio
 * only when the user opts in), and `traceTurn`, the per-turn span for code that is not
 * written in Effect (the streaming transcription session).
 *
 * Spans go to whatever `Tracer` the Effect runs with; pass an OpenTelemetry tracer
 * (`@effect/opentelemetry`'s `OtelTracer.make`) to export them.
 * @module
 */
import { Clock, Effect, Exit, type Tracer } from "effect"
import type { RecognitionUsage } from "../../machines/transcription/speechEvents.ts"
import { encodeWav } from "../audio/index.ts"

/** The names of the STT spans. */
export const SttSpanNames = {
  /** One `recognize` call of a batch STT (all its parts and retries). */
  recognize: "stt.recognize",
  /** One HTTP request (one attempt) of a batch STT. */
  request: "stt.request",
  /** One turn of a streaming STT, from start of speech (or first audio) to its final transcript. */
  turn: "stt.turn",
} as const

/**
 * Opt-ins for sensitive data on spans (both off by default): the transcript text (and the
 * prompt, which often carries earlier transcripts), and the audio as base64 WAV.
 */
export interface SensitiveTraceOptions {
  readonly traceIncludeSensitiveText?: boolean
  readonly traceIncludeSensitiveAudio?: boolean
}

/**
 * The sensitive-data opt-ins of a larger options object, alone: only the flags that are set,
 * so the result can be spread into other options under `exactOptionalPropertyTypes`.
 */
export const sensitiveTraceOptions = (options: SensitiveTraceOptions): SensitiveTraceOptions => ({
  ...(options.traceIncludeSensitiveText === undefined
    ? {}
    : { traceIncludeSensitiveText: options.traceIncludeSensitiveText }),
  ...(options.traceIncludeSensitiveAudio === undefined
    ? {}
    : { traceIncludeSensitiveAudio: options.traceIncludeSensitiveAudio }),
})

/** The model configuration a transcription span describes. */
export interface TranscriptionModelConfig {
  /** Model or Azure deployment name. */
  readonly model: string
  /** `openai` or `azure`. Default `openai`. */
  readonly provider?: string
  /** The STT's label. */
  readonly label?: string
  readonly language?: string
  readonly temperature?: number
  /** Sensitive: on the span only with `traceIncludeSensitiveText`. */
  readonly prompt?: string
  readonly responseFormat?: string
  /** Sample rate of the audio sent, in Hz. */
  readonly sampleRateHz?: number
  readonly streamed?: boolean
  /** Turn detection settings (serialized as JSON). */
  readonly turnDetection?: unknown
  readonly noiseReduction?: string
}

/** A span attribute value as OpenTelemetry accepts it. */
export type SpanAttributeValue = string | number | boolean

/** Attributes for a transcription span from the model configuration. The prompt only with the text opt-in. */
export const modelConfigAttributes = (
  config: TranscriptionModelConfig,
  trace: SensitiveTraceOptions = {},
): Record<string, SpanAttributeValue> => {
  const attributes: Record<string, SpanAttributeValue> = {
    "gen_ai.system": config.provider ?? "openai",
    "gen_ai.operation.name": "transcription",
    "gen_ai.request.model": config.model,
  }
  if (config.label !== undefined) attributes["stt.label"] = config.label
  if (config.language !== undefined) attributes["stt.model_config.language"] = config.language
  if (config.temperature !== undefined) attributes["stt.model_config.temperature"] = config.temperature
  if (config.responseFormat !== undefined)
    attributes["stt.model_config.response_format"] = config.responseFormat
  if (config.sampleRateHz !== undefined) attributes["stt.model_config.sample_rate_hz"] = config.sampleRateHz
  if (config.streamed !== undefined) attributes["stt.model_config.stream"] = config.streamed
  if (config.noiseReduction !== undefined)
    attributes["stt.model_config.noise_reduction"] = config.noiseReduction
  if (config.turnDetection !== undefined) {
    attributes["stt.model_config.turn_detection"] = JSON.stringify(config.turnDetection)
  }
  if (config.prompt !== undefined && trace.traceIncludeSensitiveText === true) {
    attributes["stt.model_config.prompt"] = config.prompt
  }
  return attributes
}

/** Mono PCM16 audio and its rate, as put on a span. */
export interface TracedAudio {
  readonly samples: Int16Array
  readonly sampleRateHz: number
}

/** What a finished recognition puts on its span. */
export interface RecognitionOutcome {
  /** The transcript: on the span only with `traceIncludeSensitiveText`. */
  readonly transcript?: string
  /** The recognized audio: on the span (base64 WAV) only with `traceIncludeSensitiveAudio`. */
  readonly audio?: TracedAudio
  readonly usage?: RecognitionUsage
  /** Mean confidence (0..1) of the best alternative, when known. */
  readonly confidence?: number
  /** Requests sent (batch). */
  readonly requests?: number
}

/** Base64 of the WAV file holding `audio`. */
export const audioToBase64Wav = (audio: TracedAudio): string =>
  Buffer.from(encodeWav({ data: audio.samples, sampleRateHz: audio.sampleRateHz, channels: 1 })).toString(
    "base64",
  )

/** Attributes for the outcome of a recognition; text and audio only when opted in. */
export const outcomeAttributes = (
  outcome: RecognitionOutcome,
  trace: SensitiveTraceOptions = {},
): Record<string, SpanAttributeValue> => {
  const attributes: Record<string, SpanAttributeValue> = {}
  const usage = outcome.usage
  if (usage !== undefined) {
    attributes["stt.audio_duration_ms"] = Math.round(usage.audioDurationMs)
    attributes["stt.streamed"] = usage.streamed
    if (usage.latencyMs !== undefined) attributes["stt.latency_ms"] = Math.round(usage.latencyMs)
    if (usage.inputTokens !== undefined) attributes["gen_ai.usage.input_tokens"] = usage.inputTokens
    if (usage.outputTokens !== undefined) attributes["gen_ai.usage.output_tokens"] = usage.outputTokens
    if (usage.billedSeconds !== undefined) attributes["stt.billed_seconds"] = usage.billedSeconds
  }
  if (outcome.confidence !== undefined) attributes["stt.confidence"] = outcome.confidence
  if (outcome.requests !== undefined) attributes["stt.requests"] = outcome.requests
  if (outcome.audio !== undefined) {
    attributes["stt.input.format"] = "wav"
    if (trace.traceIncludeSensitiveAudio === true)
      attributes["stt.input.audio"] = audioToBase64Wav(outcome.audio)
  }
  if (outcome.transcript !== undefined && trace.traceIncludeSensitiveText === true) {
    attributes["stt.output.text"] = outcome.transcript
  }
  return attributes
}

/** Puts the outcome of a recognition on the current span (text and audio only when opted in). */
export const annotateOutcome = (
  outcome: RecognitionOutcome,
  trace: SensitiveTraceOptions = {},
): Effect.Effect<void> => Effect.annotateCurrentSpan(outcomeAttributes(outcome, trace))

/** Options of {@link traceTurn}. */
export interface TurnTraceOptions extends SensitiveTraceOptions {
  readonly config: TranscriptionModelConfig
  /** The tracer to record on; Effect's native tracer (spans kept in memory only) by default. */
  readonly tracer?: Tracer.Tracer
  /** A parent span (e.g. the session's). */
  readonly parent?: Tracer.AnySpan
  /** Span name; default `stt.turn`. */
  readonly name?: string
  /** The turn's item id, when known at the start. */
  readonly itemId?: string
}

/** How a turn ended: the outcome, and the error when it failed. */
export interface TurnEnd extends RecognitionOutcome {
  /** Set when the turn failed: the span ends with an error status. */
  readonly error?: unknown
  /** The turn's item id, when learned after the start. */
  readonly itemId?: string
}

/** An open turn span. */
export interface TurnTrace {
  /** The span itself, usable as a parent. */
  readonly span: Tracer.Span
  /** Adds an attribute (no sensitive data: use `end` for text and audio). */
  setAttribute(key: string, value: SpanAttributeValue): void
  /** Records a timed event on the span (e.g. `interim`, `reconnect`). */
  event(name: string, attributes?: Record<string, SpanAttributeValue>): void
  /** Ends the span with the outcome; later calls do nothing. */
  end(outcome?: TurnEnd): void
  /** True once ended. */
  readonly ended: boolean
}

const withOptionalTracer = <A, E>(effect: Effect.Effect<A, E>, tracer: Tracer.Tracer | undefined) =>
  tracer === undefined ? effect : Effect.withTracer(effect, tracer)

/**
 * Starts a client span for code that is not an Effect, on `tracer` (Effect's current tracer
 * by default) under `parent`, and gives the clock reading its events and end are stamped with.
 * @internal
 */
export const startClientSpan = (
  name: string,
  attributes: Record<string, SpanAttributeValue>,
  options: { readonly tracer?: Tracer.Tracer | undefined; readonly parent?: Tracer.AnySpan | undefined },
): { readonly span: Tracer.Span; readonly now: () => bigint } => ({
  span: Effect.runSync(
    withOptionalTracer(
      Effect.makeSpan(name, {
        attributes,
        kind: "client",
        ...(options.parent === undefined ? {} : { parent: options.parent }),
      }),
      options.tracer,
    ),
  ),
  now: () => Effect.runSync(Clock.currentTimeNanos),
})

/**
 * Starts the span of one streaming turn (`stt.turn`) for code that is not an Effect: the
 * transcription session calls it when a turn starts (speech start or first audio after a
 * commit) and `end` when the final transcript (or the failure) arrives. The model
 * configuration goes on the span at once; the transcript and the turn's audio only with
 * `traceIncludeSensitiveText` / `traceIncludeSensitiveAudio`.
 */
export const traceTurn = (options: TurnTraceOptions): TurnTrace => {
  const attributes: Record<string, SpanAttributeValue> = modelConfigAttributes(options.config, options)
  if (options.itemId !== undefined) attributes["stt.item_id"] = options.itemId
  const { span, now } = startClientSpan(options.name ?? SttSpanNames.turn, attributes, options)
  let ended = false
  return {
    span,
    setAttribute(key, value) {
      if (!ended) span.attribute(key, value)
    },
    event(name, eventAttributes) {
      if (!ended) span.event(name, now(), eventAttributes)
    },
    end(outcome = {}) {
      if (ended) return
      ended = true
      if (outcome.itemId !== undefined) span.attribute("stt.item_id", outcome.itemId)
      for (const [key, value] of Object.entries(outcomeAttributes(outcome, options)))
        span.attribute(key, value)
      span.end(now(), outcome.error === undefined ? Exit.void : Exit.fail(outcome.error))
    },
    get ended() {
      return ended
    },
  }
}
