/**
 * Tracing of the Realtime speech-to-speech session: one `realtime.response` span per
 * response, from `response.created` to its `response.done` (or the interruption that ended
 * it), with the model as attributes, the response's metrics and token usage when it ends,
 * and its output transcript only under `traceIncludeSensitiveText`.
 * @module
 */
import { Exit, type Tracer } from "effect"
import { type SpanAttributeValue, startClientSpan } from "./spans.ts"

/** The names of the Realtime spans. */
export const RealtimeSpanNames = {
  /** One response of the conversation. */
  response: "realtime.response",
} as const

/** Options of {@link traceResponse}. */
export interface ResponseTraceOptions {
  readonly model: string
  /** `openai` or `azure`. */
  readonly provider: string
  readonly responseId: string
  readonly requestId?: string
  readonly traceIncludeSensitiveText?: boolean
  /** The tracer to record on; Effect's native tracer by default. */
  readonly tracer?: Tracer.Tracer
  readonly parent?: Tracer.AnySpan
}

/** How a response ended. Times in milliseconds. */
export interface ResponseTraceEnd {
  readonly status: string
  readonly timeToFirstAudioMs?: number | undefined
  readonly timeToFirstTextMs?: number | undefined
  readonly durationMs?: number
  readonly audioMs?: number
  readonly usage?: unknown
  /** The assistant's transcript: on the span only with `traceIncludeSensitiveText`. */
  readonly transcript?: string
}

/** An open response span. */
export interface ResponseTrace {
  readonly span: Tracer.Span
  /** Records a timed event (`first_audio`, `interrupted`, ...). */
  event(name: string, attributes?: Record<string, SpanAttributeValue>): void
  /** Ends the span; later calls do nothing. A status other than `completed` marks it failed. */
  end(outcome: ResponseTraceEnd): void
}

const tokenCount = (usage: unknown, key: string): number | undefined => {
  if (typeof usage !== "object" || usage === null) return undefined
  const value = (usage as Record<string, unknown>)[key]
  return typeof value === "number" && Number.isFinite(value) ? value : undefined
}

/** Starts the `realtime.response` span of one response (for code that is not an Effect). */
export const traceResponse = (options: ResponseTraceOptions): ResponseTrace => {
  const includeText = options.traceIncludeSensitiveText === true
  const attributes: Record<string, SpanAttributeValue> = {
    "gen_ai.system": options.provider,
    "gen_ai.operation.name": "realtime",
    "gen_ai.request.model": options.model,
    "gen_ai.response.id": options.responseId,
  }
  if (options.requestId !== undefined) attributes["realtime.request_id"] = options.requestId
  const { span, now } = startClientSpan(RealtimeSpanNames.response, attributes, options)
  let ended = false
  return {
    span,
    event(name, eventAttributes) {
      if (!ended) span.event(name, now(), eventAttributes)
    },
    end(outcome) {
      if (ended) return
      ended = true
      const put = (key: string, value: SpanAttributeValue | undefined) => {
        if (value !== undefined) span.attribute(key, value)
      }
      const ms = (value: number | undefined) => (value === undefined ? undefined : Math.round(value))
      put("realtime.status", outcome.status)
      put("realtime.time_to_first_audio_ms", ms(outcome.timeToFirstAudioMs))
      put("realtime.time_to_first_text_ms", ms(outcome.timeToFirstTextMs))
      put("realtime.duration_ms", ms(outcome.durationMs))
      put("realtime.audio_ms", ms(outcome.audioMs))
      put("gen_ai.usage.input_tokens", tokenCount(outcome.usage, "input_tokens"))
      put("gen_ai.usage.output_tokens", tokenCount(outcome.usage, "output_tokens"))
      if (includeText && outcome.transcript !== undefined)
        put("realtime.output.transcript", outcome.transcript)
      span.end(
        now(),
        outcome.status === "completed" ? Exit.void : Exit.fail(new Error(`response ${outcome.status}`)),
      )
    },
  }
}
