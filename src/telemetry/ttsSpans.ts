/**
 * Tracing of text-to-speech: one `tts.segment` span per segment (one request and its
 * retries), with the speech model configuration as attributes, the segment's metrics when
 * it ends, and its text only under `traceIncludeSensitiveText`.
 * @module
 */
import { Exit, type Tracer } from "effect"
import { type SpanAttributeValue, startClientSpan } from "./spans.ts"

/** The names of the TTS spans. */
export const TtsSpanNames = {
  /** One segment of a synthesis: its request (with retries) until its last frame. */
  segment: "tts.segment",
} as const

/** The model configuration a `tts.segment` span describes. */
export interface SpeechModelConfig {
  /** Model or Azure deployment name. */
  readonly model: string
  /** `openai` or `azure`. */
  readonly provider: string
  /** The TTS's label. */
  readonly label: string
  /** A built-in voice name, or `custom` for a voice `{ id }` (the id itself is on the span too). */
  readonly voice: string
  readonly speed?: number
  readonly language?: string
  /** `pcm`. */
  readonly responseFormat: string
  /** `audio` or `sse`. */
  readonly streamFormat: string
  /** Whether style instructions are sent (their text is sensitive: only with the text opt-in). */
  readonly instructions?: string
}

/** Options of {@link traceSegment}. */
export interface SegmentTraceOptions {
  readonly config: SpeechModelConfig
  readonly segmentId: string
  /** The segment's text: on the span only with `traceIncludeSensitiveText`. */
  readonly text: string
  readonly traceIncludeSensitiveText?: boolean
  /** The tracer to record on; Effect's native tracer by default. */
  readonly tracer?: Tracer.Tracer
  readonly parent?: Tracer.AnySpan
}

/** How a segment ended. Times in milliseconds. */
export interface SegmentTraceEnd {
  readonly requestId?: string
  readonly attempts?: number
  readonly ttfbMs?: number
  readonly ttffMs?: number
  readonly audioDurationMs?: number
  /** The segment was cancelled before its end. */
  readonly cancelled?: boolean
  /** Set when the segment failed: the span ends with an error status. */
  readonly error?: unknown
}

/** An open segment span. */
export interface SegmentTrace {
  readonly span: Tracer.Span
  /** Records a timed event (e.g. `retry`, `first_audio`). */
  event(name: string, attributes?: Record<string, SpanAttributeValue>): void
  /** Ends the span; later calls do nothing. */
  end(outcome?: SegmentTraceEnd): void
}

/** The span attributes of a speech model configuration (instructions only with the text opt-in). */
export const speechConfigAttributes = (
  config: SpeechModelConfig,
  includeText: boolean,
): Record<string, SpanAttributeValue> => {
  const attributes: Record<string, SpanAttributeValue> = {
    "gen_ai.system": config.provider,
    "gen_ai.operation.name": "text_to_speech",
    "gen_ai.request.model": config.model,
    "tts.label": config.label,
    "tts.model_config.voice": config.voice,
    "tts.model_config.response_format": config.responseFormat,
    "tts.model_config.stream_format": config.streamFormat,
  }
  if (config.speed !== undefined) attributes["tts.model_config.speed"] = config.speed
  if (config.language !== undefined) attributes["tts.model_config.language"] = config.language
  if (config.instructions !== undefined) {
    attributes["tts.model_config.has_instructions"] = true
    if (includeText) attributes["tts.model_config.instructions"] = config.instructions
  }
  return attributes
}

/**
 * Starts the `tts.segment` span of one segment, for code that is not an Effect (the segment
 * pipeline). The segment's character count goes on the span at once, its text only with
 * `traceIncludeSensitiveText`.
 */
export const traceSegment = (options: SegmentTraceOptions): SegmentTrace => {
  const includeText = options.traceIncludeSensitiveText === true
  const attributes = speechConfigAttributes(options.config, includeText)
  attributes["tts.segment_id"] = options.segmentId
  attributes["tts.characters"] = options.text.length
  if (includeText) attributes["tts.input.text"] = options.text
  const { span, now } = startClientSpan(TtsSpanNames.segment, attributes, options)
  let ended = false
  return {
    span,
    event(name, eventAttributes) {
      if (!ended) span.event(name, now(), eventAttributes)
    },
    end(outcome = {}) {
      if (ended) return
      ended = true
      const put = (key: string, value: SpanAttributeValue | undefined) => {
        if (value !== undefined) span.attribute(key, value)
      }
      put("tts.request_id", outcome.requestId === "" ? undefined : outcome.requestId)
      put("tts.attempts", outcome.attempts)
      put("tts.ttfb_ms", outcome.ttfbMs === undefined ? undefined : Math.round(outcome.ttfbMs))
      put("tts.ttff_ms", outcome.ttffMs === undefined ? undefined : Math.round(outcome.ttffMs))
      put(
        "tts.audio_duration_ms",
        outcome.audioDurationMs === undefined ? undefined : Math.round(outcome.audioDurationMs),
      )
      put("tts.cancelled", outcome.cancelled)
      span.end(now(), outcome.error === undefined ? Exit.void : Exit.fail(outcome.error))
    },
  }
}
