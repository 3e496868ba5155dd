/**
 * The run-time settings of a streaming transcription session (model, language, prompt,
 * turn detection, noise reduction, logprobs) and their wire form: a GA `session.update`
 * of `type: "transcription"`, or the legacy beta `transcription_session.update`.
 *
 * Both forms always declare the audio actually sent: PCM16, mono, 24 kHz.
 * @module
 */
import type * as BetaRealtime from "openai/resources/beta/realtime/realtime"
import {
  type BetaTranscriptionSessionConfig,
  ClientEvents,
  REALTIME_SAMPLE_RATE_HZ,
  type SessionUpdateClientEvent,
  type TranscriptionSessionConfig,
  type TranscriptionSessionUpdateClientEvent,
} from "../../src/protocol/index.ts"

/** Everything a transcription session sends is at the Realtime rate (defined once, in src/protocol). */
export { REALTIME_SAMPLE_RATE_HZ } from "../../src/protocol/index.ts"

/** Parameters of the energy VAD (milliseconds, dBFS); see `createEnergyVad`. */
export interface VadParameters {
  readonly thresholdDbfs?: number
  readonly minSpeechMs?: number
  readonly minSilenceMs?: number
  readonly prefixPaddingMs?: number
}

/**
 * What audio to keep. Everything before `fromSample` may go; with `keepSamples`, so may
 * audio older than that many samples behind the head; audio at or after `pinnedSample`
 * (the oldest turn still waiting for its transcript) is kept whatever the other two say.
 */
export interface RetentionPolicy {
  readonly fromSample: number
  readonly keepSamples: number | undefined
  readonly pinnedSample: number | undefined
}

/** Server-side VAD: the server detects turns by energy and commits them itself. */
export interface ServerVadTurnDetection {
  readonly type: "server_vad"
  /** Activation threshold 0..1 (server default 0.5). */
  readonly threshold?: number
  /** Audio kept before detected speech, in milliseconds (server default 300). */
  readonly prefixPaddingMs?: number
  /** Silence that ends a turn, in milliseconds (server default 500). */
  readonly silenceDurationMs?: number
  /** Commit an empty turn after this much silence following speech, in milliseconds. */
  readonly idleTimeoutMs?: number | null
}

/** Semantic VAD: the server ends a turn when the words sound finished. */
export interface SemanticVadTurnDetection {
  readonly type: "semantic_vad"
  /** How soon to end a turn; `auto` = `medium` (longest waits 8 s / 4 s / 2 s for low / medium / high). */
  readonly eagerness?: "low" | "medium" | "high" | "auto"
}

/**
 * Local VAD: the built-in energy detector decides turns and the session commits each one;
 * the server gets `turn_detection: null`. Only speech (plus its padding) is sent.
 */
export interface LocalTurnDetection {
  readonly type: "local"
  /** Speech threshold in dBFS (default of the energy VAD). */
  readonly thresholdDbfs?: number
  /** Shortest sound counted as speech, in milliseconds. */
  readonly minSpeechMs?: number
  /** Silence that ends a turn, in milliseconds. */
  readonly minSilenceMs?: number
  /** Audio sent before detected speech, in milliseconds (default 300). */
  readonly prefixPaddingMs?: number
}

/**
 * How turns are found: by the server (`server_vad`, `semantic_vad`), by the built-in energy
 * VAD (`"local"` or a {@link LocalTurnDetection}), or by the caller (`null`: each `flush()`
 * commits a turn).
 */
export type TurnDetectionSetting =
  | ServerVadTurnDetection
  | SemanticVadTurnDetection
  | LocalTurnDetection
  | "local"
  | null

/** Input noise reduction: for a close microphone, a distant one, or off (`null`). */
export type NoiseReductionSetting = "near_field" | "far_field" | null

/** The settings of a transcription session; every field can change at run time. */
export interface TranscriptionSettings {
  /** Transcription model: `gpt-4o-transcribe`, `gpt-4o-mini-transcribe`, `whisper-1`, ... (on Azure GA: a deployment). */
  readonly model: string
  /** ISO-639-1 language of the speech, when known. */
  readonly language?: string
  /** Text that guides the transcription (vocabulary, style). */
  readonly prompt?: string
  readonly turnDetection: TurnDetectionSetting
  readonly noiseReduction: NoiseReductionSetting
  /** Ask for token logprobs, from which each transcript's confidence is computed. */
  readonly includeLogprobs: boolean
}

/** Which protocol shape the server speaks: GA (`session.update`) or legacy beta (Azure preview). */
export type TranscriptionSchema = "ga" | "beta"

/** The default settings: gpt-4o-transcribe with server VAD, no noise reduction, no logprobs. */
export const DEFAULT_TRANSCRIPTION_SETTINGS: TranscriptionSettings = {
  model: "gpt-4o-transcribe",
  turnDetection: { type: "server_vad" },
  noiseReduction: null,
  includeLogprobs: false,
}

/** Who ends turns under `turnDetection`. */
export type TurnMode = "server" | "local" | "manual"

/** `server` for server/semantic VAD, `local` for the built-in VAD, `manual` for `null`. */
export const turnModeOf = (turnDetection: TurnDetectionSetting): TurnMode =>
  turnDetection === null
    ? "manual"
    : turnDetection === "local" || turnDetection.type === "local"
      ? "local"
      : "server"

/** The local VAD parameters of `turnDetection`, or `{}` when it is `"local"` or not local. */
export const localVadOf = (turnDetection: TurnDetectionSetting): Omit<LocalTurnDetection, "type"> => {
  if (turnDetection === null || turnDetection === "local" || turnDetection.type !== "local") return {}
  const { type: _type, ...rest } = turnDetection
  return rest
}

/** Prefix padding in milliseconds the mode keeps before speech (server default 300). */
export const prefixPaddingMsOf = (turnDetection: TurnDetectionSetting): number => {
  if (turnDetection === null || turnDetection === "local") return 300
  if (turnDetection.type === "server_vad" || turnDetection.type === "local")
    return turnDetection.prefixPaddingMs ?? 300
  return 300
}

/** Merges a partial update into settings; `undefined` fields keep their value. */
export const mergeSettings = (
  settings: TranscriptionSettings,
  update: Partial<TranscriptionSettings>,
): TranscriptionSettings => {
  let next: TranscriptionSettings = settings
  for (const [key, value] of Object.entries(update) as [keyof TranscriptionSettings, unknown][]) {
    if (value !== undefined) next = { ...next, [key]: value }
  }
  return next
}

type GaTurnDetection = Exclude<
  NonNullable<NonNullable<TranscriptionSessionConfig["audio"]>["input"]>["turn_detection"],
  undefined
>

const gaTurnDetection = (turnDetection: TurnDetectionSetting): GaTurnDetection => {
  if (turnDetection === null || turnDetection === "local" || turnDetection.type === "local") return null
  if (turnDetection.type === "semantic_vad") {
    return turnDetection.eagerness === undefined
      ? { type: "semantic_vad" }
      : { type: "semantic_vad", eagerness: turnDetection.eagerness }
  }
  return {
    type: "server_vad",
    ...(turnDetection.threshold === undefined ? {} : { threshold: turnDetection.threshold }),
    ...(turnDetection.prefixPaddingMs === undefined
      ? {}
      : { prefix_padding_ms: turnDetection.prefixPaddingMs }),
    ...(turnDetection.silenceDurationMs === undefined
      ? {}
      : { silence_duration_ms: turnDetection.silenceDurationMs }),
    ...(turnDetection.idleTimeoutMs === undefined ? {} : { idle_timeout_ms: turnDetection.idleTimeoutMs }),
  }
}

/** Options of {@link sessionUpdateOf}. */
export interface SessionUpdateOptions {
  /** Send `turn_detection: null` whatever the settings say (used while replaying committed turns). */
  readonly turnDetectionOff?: boolean
}

/**
 * The client event that configures a transcription session with `settings`: GA
 * `session.update` (`audio.input.format = {type: "audio/pcm", rate: 24000}`) or beta
 * `transcription_session.update` (`input_audio_format: "pcm16"`, which is 24 kHz).
 * `"local"` and `null` turn detection both send `turn_detection: null`.
 */
export const sessionUpdateOf = (
  settings: TranscriptionSettings,
  schema: TranscriptionSchema,
  options: SessionUpdateOptions = {},
): SessionUpdateClientEvent | TranscriptionSessionUpdateClientEvent => {
  const turnDetection = options.turnDetectionOff === true ? null : gaTurnDetection(settings.turnDetection)
  const transcription = {
    model: settings.model,
    ...(settings.language === undefined ? {} : { language: settings.language }),
    ...(settings.prompt === undefined ? {} : { prompt: settings.prompt }),
  }
  const noiseReduction = settings.noiseReduction === null ? null : { type: settings.noiseReduction }
  if (schema === "ga") {
    const session: TranscriptionSessionConfig = {
      type: "transcription",
      audio: {
        input: {
          format: { type: "audio/pcm", rate: REALTIME_SAMPLE_RATE_HZ },
          transcription,
          turn_detection: turnDetection,
          noise_reduction: noiseReduction,
        },
      },
      ...(settings.includeLogprobs ? { include: ["item.input_audio_transcription.logprobs"] } : {}),
    }
    return ClientEvents.sessionUpdate(session)
  }
  const session: BetaTranscriptionSessionConfig = {
    input_audio_format: "pcm16",
    // The beta type lists three models; Azure preview deployments accept the same names.
    input_audio_transcription:
      transcription as BetaRealtime.TranscriptionSessionUpdate.Session.InputAudioTranscription,
    turn_detection: turnDetection,
    input_audio_noise_reduction: noiseReduction,
    ...(settings.includeLogprobs ? { include: ["item.input_audio_transcription.logprobs"] } : {}),
  }
  return ClientEvents.transcriptionSessionUpdate(session)
}
