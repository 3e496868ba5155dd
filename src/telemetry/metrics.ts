/**
 * Metrics of speech recognition as Effect `Metric`s: request duration, audio duration,
 * tokens, and recognitions by outcome and streamed flag. They live in Effect's metric
 * registry (`Metric.snapshot`), from which `@effect/opentelemetry` can export them.
 * @module
 */
import { Effect, Metric } from "effect"
import type { RecognitionUsage } from "../../machines/transcription/speechEvents.ts"

/** Duration of one recognition (batch: the request, with retries; streaming: end of speech to final), in ms. */
export const sttLatencyMs = Metric.histogram("voxstate.stt.latency_ms", {
  description: "Duration of one recognition, in milliseconds",
  boundaries: Metric.exponentialBoundaries({ start: 50, factor: 2, count: 12 }),
})

/** Audio recognized, in milliseconds (a running total). */
export const sttAudioDurationMs = Metric.counter("voxstate.stt.audio_duration_ms", {
  description: "Audio recognized, in milliseconds",
  incremental: true,
})

/** Tokens billed, by `direction` (`input` or `output`). */
export const sttTokens = Metric.counter("voxstate.stt.tokens", {
  description: "Tokens billed for recognition",
  incremental: true,
})

/** Recognitions, by `outcome` (`ok`, `empty`, `error`) and `streamed`. */
export const sttRecognitions = Metric.counter("voxstate.stt.recognitions", {
  description: "Recognitions by outcome",
  incremental: true,
})

/** The dimensions of a recognition metric. */
export interface RecognitionMetricAttributes {
  /** The STT's label. */
  readonly label: string
  readonly model?: string
}

const baseAttributes = (attributes: RecognitionMetricAttributes): Record<string, string> => ({
  label: attributes.label,
  ...(attributes.model === undefined ? {} : { model: attributes.model }),
})

/**
 * Records one recognition: its latency, audio duration and tokens from `usage`, and one
 * count of `outcome` (`empty` when nothing was said).
 */
export const recordRecognition = (
  usage: RecognitionUsage,
  attributes: RecognitionMetricAttributes,
  outcome: "ok" | "empty" = "ok",
): Effect.Effect<void> => {
  const base = baseAttributes(attributes)
  const streamed = { ...base, streamed: String(usage.streamed) }
  return Effect.all(
    [
      Metric.update(Metric.withAttributes(sttRecognitions, { ...streamed, outcome }), 1),
      Metric.update(Metric.withAttributes(sttAudioDurationMs, streamed), Math.round(usage.audioDurationMs)),
      usage.latencyMs === undefined
        ? Effect.void
        : Metric.update(Metric.withAttributes(sttLatencyMs, streamed), usage.latencyMs),
      usage.inputTokens === undefined
        ? Effect.void
        : Metric.update(Metric.withAttributes(sttTokens, { ...base, direction: "input" }), usage.inputTokens),
      usage.outputTokens === undefined
        ? Effect.void
        : Metric.update(
            Metric.withAttributes(sttTokens, { ...base, direction: "output" }),
            usage.outputTokens,
          ),
    ],
    { discard: true },
  )
}

/** Records one failed recognition. */
export const recordRecognitionFailure = (
  attributes: RecognitionMetricAttributes,
  streamed: boolean,
): Effect.Effect<void> =>
  Metric.update(
    Metric.withAttributes(sttRecognitions, {
      ...baseAttributes(attributes),
      streamed: String(streamed),
      outcome: "error",
    }),
    1,
  )

/** {@link recordRecognition} for code outside Effect (e.g. a session's turn handler). */
export const recordRecognitionSync = (
  usage: RecognitionUsage,
  attributes: RecognitionMetricAttributes,
  outcome: "ok" | "empty" = "ok",
): void => Effect.runSync(recordRecognition(usage, attributes, outcome))
