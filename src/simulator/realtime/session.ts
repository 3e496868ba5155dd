/**
 * Realtime session configuration: defaults, validation of `session.update` (GA, both session
 * types) and `transcription_session.update` (legacy beta), partial merges, and the session
 * objects echoed in `session.created/updated` and `transcription_session.created/updated`.
 *
 * Validation follows the service: `session.type` is required (`missing_required_parameter`,
 * param `session.type`); a field the session type does not have is `unknown_parameter` with
 * the field's path as `param` (so a conversation field such as `instructions` on a
 * transcription session, the beta `temperature` or flat `voice` on a GA session, a chat-style
 * `function` wrapper in a tool); a wrong type is `invalid_type` (the string formats of the
 * beta API where GA wants `{type:'audio/pcm', rate:24000}`); a value out of its set is
 * `invalid_value`. Changing the session type (`transcription` ↔ `realtime`) on an open
 * session is refused with `invalid_value` on `session.type` (simulator's choice of code).
 * @module
 */
import type { WireAudioFormat } from "./audio.ts"
import {
  checkKeys,
  expectObject,
  invalidType,
  invalidValue,
  isRecord,
  type Json,
  missingParameter,
  requestError,
} from "./errors.ts"

/** An audio format as the GA session object spells it. */
export type AudioFormat =
  | { readonly type: "audio/pcm"; readonly rate: 24000 }
  | { readonly type: "audio/pcmu" }
  | { readonly type: "audio/pcma" }

/** Input transcription settings (GA `audio.input.transcription`, beta `input_audio_transcription`). */
export interface TranscriptionSettings {
  readonly model: string
  readonly language?: string
  readonly prompt?: string
  readonly keywords?: readonly string[]
  readonly languages?: readonly string[]
  readonly delay?: string
}

/** Turn detection with every default filled in. */
export type TurnDetection =
  | {
      readonly type: "server_vad"
      readonly threshold: number
      readonly prefix_padding_ms: number
      readonly silence_duration_ms: number
      readonly idle_timeout_ms: number | null
      readonly create_response: boolean
      readonly interrupt_response: boolean
    }
  | {
      readonly type: "semantic_vad"
      readonly eagerness: "low" | "medium" | "high" | "auto"
      readonly create_response: boolean
      readonly interrupt_response: boolean
    }

/** Noise reduction setting. */
export interface NoiseReduction {
  readonly type: "near_field" | "far_field"
  readonly strength?: number
}

/** The input side shared by both session types. */
export interface InputAudioConfig {
  readonly format: AudioFormat
  readonly transcription: TranscriptionSettings | null
  readonly turn_detection: TurnDetection | null
  readonly noise_reduction: NoiseReduction | null
}

/** The logprobs include flag, the only value `include` takes. */
export const LOGPROBS_INCLUDE = "item.input_audio_transcription.logprobs"

/** State of a transcription session. */
export interface TranscriptionSession {
  readonly id: string
  readonly expires_at: number
  readonly input: InputAudioConfig
  readonly include: readonly string[] | null
}

/** A function tool of a conversation session (flat GA shape). */
export interface FunctionTool {
  readonly type: "function"
  readonly name: string
  readonly description?: string
  readonly parameters?: unknown
}

/** State of a conversation (`type: 'realtime'`) session. */
export interface ConversationSession {
  readonly id: string
  readonly expires_at: number
  readonly model: string
  readonly instructions: string
  readonly output_modalities: readonly ["audio"] | readonly ["text"]
  readonly input: InputAudioConfig
  readonly output: {
    readonly format: AudioFormat
    readonly voice: string | { readonly id: string }
    readonly speed: number
  }
  readonly tools: readonly unknown[]
  readonly tool_choice: unknown
  readonly max_output_tokens: number | "inf"
  readonly include: readonly string[] | null
  readonly truncation: unknown
  readonly tracing: unknown
  readonly prompt: unknown
  readonly reasoning?: unknown
  readonly parallel_tool_calls?: boolean
}

/** Transcription models the simulator recognises (others are accepted as deployment names). */
export const DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-transcribe"
/** Default model of a conversation session when the URL names none (Azure preview). */
export const DEFAULT_REALTIME_MODEL = "gpt-realtime"
/** Default instructions of a conversation session. */
export const DEFAULT_INSTRUCTIONS = "You are a helpful voice assistant simulated by voxstate."

/** Voices a GA conversation session accepts by name. */
export const VOICES = [
  "alloy",
  "ash",
  "ballad",
  "coral",
  "echo",
  "sage",
  "shimmer",
  "verse",
  "marin",
  "cedar",
] as const

/** Models that take no server turn detection: the client commits each turn. */
const MANUAL_TURN_MODELS: ReadonlySet<string> = new Set(["gpt-live-transcribe", "gpt-realtime-whisper"])

const PCM_24K: AudioFormat = { type: "audio/pcm", rate: 24000 }

/** Default `server_vad` settings (threshold 0.5, 300 ms prefix, 500 ms silence). */
export const defaultServerVad = (): TurnDetection => ({
  type: "server_vad",
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 500,
  idle_timeout_ms: null,
  create_response: true,
  interrupt_response: true,
})

/** The wire format name of an audio format. */
export const wireFormatOf = (format: AudioFormat): WireAudioFormat => format.type

const expectString = (value: unknown, path: string): string => {
  if (typeof value !== "string") throw invalidType(path, "a string", value)
  return value
}

const expectBoolean = (value: unknown, path: string): boolean => {
  if (typeof value !== "boolean") throw invalidType(path, "a boolean", value)
  return value
}

const expectStringArray = (value: unknown, path: string): string[] => {
  if (!Array.isArray(value)) throw invalidType(path, "an array", value)
  return value.map((entry, i) => expectString(entry, `${path}[${i}]`))
}

const expectNumber = (value: unknown, path: string, min: number, max: number): number => {
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalidType(path, "a number", value)
  if (value < min) {
    throw requestError(
      "decimal_below_min_value",
      `Invalid '${path}': decimal below minimum value. Expected a value >= ${min}, but got ${value} instead.`,
      path,
    )
  }
  if (value > max) {
    throw requestError(
      "decimal_above_max_value",
      `Invalid '${path}': decimal above maximum value. Expected a value <= ${max}, but got ${value} instead.`,
      path,
    )
  }
  return value
}

const expectInteger = (value: unknown, path: string, min: number): number => {
  if (typeof value !== "number" || !Number.isInteger(value)) throw invalidType(path, "an integer", value)
  if (value < min) {
    throw requestError(
      "integer_below_min_value",
      `Invalid '${path}': integer below minimum value. Expected a value >= ${min}, but got ${value} instead.`,
      path,
    )
  }
  return value
}

/** Parses a GA audio format object. */
export const parseAudioFormat = (value: unknown, path: string): AudioFormat => {
  const format = expectObject(value, path)
  if (format.type === undefined) throw missingParameter(`${path}.type`)
  switch (format.type) {
    case "audio/pcm":
      checkKeys(format, path, ["type", "rate"])
      if (format.rate !== undefined && format.rate !== 24000)
        throw invalidValue(`${path}.rate`, format.rate, [24000])
      return PCM_24K
    case "audio/pcmu":
    case "audio/pcma":
      checkKeys(format, path, ["type"])
      return format.type === "audio/pcmu" ? { type: "audio/pcmu" } : { type: "audio/pcma" }
    default:
      throw invalidValue(`${path}.type`, format.type, ["audio/pcm", "audio/pcmu", "audio/pcma"])
  }
}

/** Parses transcription settings (`null` only where `nullable`). */
export const parseTranscription = (
  value: unknown,
  path: string,
  nullable: boolean,
): TranscriptionSettings | null => {
  if (value === null && nullable) return null
  const input = expectObject(value, path)
  checkKeys(input, path, ["model", "language", "prompt", "keywords", "languages", "delay"])
  const settings: {
    model: string
    language?: string
    prompt?: string
    keywords?: readonly string[]
    languages?: readonly string[]
    delay?: string
  } = {
    model:
      input.model === undefined ? DEFAULT_TRANSCRIPTION_MODEL : expectString(input.model, `${path}.model`),
  }
  if (input.language !== undefined && input.language !== null) {
    settings.language = expectString(input.language, `${path}.language`)
  }
  if (input.prompt !== undefined && input.prompt !== null)
    settings.prompt = expectString(input.prompt, `${path}.prompt`)
  if (input.keywords !== undefined) settings.keywords = expectStringArray(input.keywords, `${path}.keywords`)
  if (input.languages !== undefined)
    settings.languages = expectStringArray(input.languages, `${path}.languages`)
  if (input.delay !== undefined) {
    const delay = expectString(input.delay, `${path}.delay`)
    const delays = ["minimal", "low", "medium", "high", "xhigh"]
    if (!delays.includes(delay)) throw invalidValue(`${path}.delay`, delay, delays)
    settings.delay = delay
  }
  return settings
}

/** `create_response` and `interrupt_response` of a turn detection object (both default true). */
const parseResponseFlags = (input: Json, path: string) => ({
  create_response:
    input.create_response === undefined
      ? true
      : expectBoolean(input.create_response, `${path}.create_response`),
  interrupt_response:
    input.interrupt_response === undefined
      ? true
      : expectBoolean(input.interrupt_response, `${path}.interrupt_response`),
})

/**
 * Parses turn detection. `previous` supplies nothing: like the service, an object replaces
 * the previous setting and missing fields take their defaults. `defaultType` is used when
 * `type` is absent (beta only; GA requires it).
 */
export const parseTurnDetection = (
  value: unknown,
  path: string,
  defaultType?: "server_vad",
): TurnDetection | null => {
  if (value === null) return null
  const input = expectObject(value, path)
  const type = input.type ?? defaultType
  if (type === undefined) throw missingParameter(`${path}.type`)
  if (type === "server_vad") {
    checkKeys(input, path, [
      "type",
      "threshold",
      "prefix_padding_ms",
      "silence_duration_ms",
      "idle_timeout_ms",
      "create_response",
      "interrupt_response",
    ])
    const defaults = defaultServerVad() as Extract<TurnDetection, { type: "server_vad" }>
    return {
      type: "server_vad",
      threshold:
        input.threshold === undefined
          ? defaults.threshold
          : expectNumber(input.threshold, `${path}.threshold`, 0, 1),
      prefix_padding_ms:
        input.prefix_padding_ms === undefined
          ? defaults.prefix_padding_ms
          : expectInteger(input.prefix_padding_ms, `${path}.prefix_padding_ms`, 0),
      silence_duration_ms:
        input.silence_duration_ms === undefined
          ? defaults.silence_duration_ms
          : expectInteger(input.silence_duration_ms, `${path}.silence_duration_ms`, 0),
      idle_timeout_ms:
        input.idle_timeout_ms === undefined || input.idle_timeout_ms === null
          ? null
          : expectInteger(input.idle_timeout_ms, `${path}.idle_timeout_ms`, 0),
      ...parseResponseFlags(input, path),
    }
  }
  if (type === "semantic_vad") {
    checkKeys(input, path, ["type", "eagerness", "create_response", "interrupt_response"])
    const eagerness = input.eagerness ?? "auto"
    if (eagerness !== "low" && eagerness !== "medium" && eagerness !== "high" && eagerness !== "auto") {
      throw invalidValue(`${path}.eagerness`, eagerness, ["low", "medium", "high", "auto"])
    }
    return {
      type: "semantic_vad",
      eagerness,
      ...parseResponseFlags(input, path),
    }
  }
  throw invalidValue(`${path}.type`, type, ["server_vad", "semantic_vad"])
}

const parseNoiseReduction = (value: unknown, path: string): NoiseReduction | null => {
  if (value === null) return null
  const input = expectObject(value, path)
  checkKeys(input, path, ["type", "strength"])
  const type = input.type ?? "near_field"
  if (type !== "near_field" && type !== "far_field")
    throw invalidValue(`${path}.type`, type, ["near_field", "far_field"])
  return input.strength === undefined
    ? { type }
    : { type, strength: expectNumber(input.strength, `${path}.strength`, 0, 1) }
}

const parseInclude = (value: unknown, path: string): readonly string[] | null => {
  if (value === null) return null
  const include = expectStringArray(value, path)
  include.forEach((entry, i) => {
    if (entry !== LOGPROBS_INCLUDE) throw invalidValue(`${path}[${i}]`, entry, [LOGPROBS_INCLUDE])
  })
  return include
}

/** Merges a GA `audio.input` object into the current input configuration. */
const mergeInput = (
  current: InputAudioConfig,
  value: unknown,
  path: string,
  transcriptionNullable: boolean,
): InputAudioConfig => {
  const input = expectObject(value, path)
  checkKeys(input, path, ["format", "transcription", "turn_detection", "noise_reduction"])
  return {
    format: input.format === undefined ? current.format : parseAudioFormat(input.format, `${path}.format`),
    transcription:
      input.transcription === undefined
        ? current.transcription
        : parseTranscription(input.transcription, `${path}.transcription`, transcriptionNullable),
    turn_detection:
      input.turn_detection === undefined
        ? current.turn_detection
        : parseTurnDetection(input.turn_detection, `${path}.turn_detection`),
    noise_reduction:
      input.noise_reduction === undefined
        ? current.noise_reduction
        : parseNoiseReduction(input.noise_reduction, `${path}.noise_reduction`),
  }
}

/**
 * A model that takes no server turn detection, chosen by an update that leaves
 * `turn_detection` out, gets none (as OpenAI answers such an update); only a turn detection
 * the update names is refused for it.
 */
const defaultTurnDetectionForModel = (input: InputAudioConfig, given: boolean): InputAudioConfig => {
  const model = input.transcription?.model
  return !given && model !== undefined && MANUAL_TURN_MODELS.has(model) && input.turn_detection !== null
    ? { ...input, turn_detection: null }
    : input
}

/** Refuses server turn detection for the models that need client commits. */
const checkTurnDetectionForModel = (input: InputAudioConfig, path: string): void => {
  const model = input.transcription?.model
  if (model !== undefined && MANUAL_TURN_MODELS.has(model) && input.turn_detection !== null) {
    throw requestError(
      "invalid_value",
      `Model '${model}' does not support turn detection; set '${path}' to null and commit each turn.`,
      path,
    )
  }
}

const checkSessionType = (session: Json, expected: "transcription" | "realtime"): void => {
  if (session.type === undefined) throw missingParameter("session.type")
  if (session.type !== "transcription" && session.type !== "realtime") {
    throw invalidValue("session.type", session.type, ["realtime", "transcription"])
  }
  if (session.type !== expected) {
    throw requestError(
      "invalid_value",
      `Cannot change the session type from '${expected}' to '${session.type}' on an open session.`,
      "session.type",
    )
  }
}

/** A fresh transcription session with the service's defaults. */
export const initialTranscriptionSession = (id: string, expiresAt: number): TranscriptionSession => ({
  id,
  expires_at: expiresAt,
  input: {
    format: PCM_24K,
    transcription: { model: DEFAULT_TRANSCRIPTION_MODEL },
    turn_detection: defaultServerVad(),
    noise_reduction: null,
  },
  include: null,
})

/**
 * Applies a GA `session.update` payload to a transcription session.
 * @throws {RealtimeRequestError} when the payload is refused; the session is then unchanged
 */
export const updateTranscriptionSession = (
  current: TranscriptionSession,
  value: unknown,
): TranscriptionSession => {
  if (value === undefined) throw missingParameter("session")
  const session = expectObject(value, "session")
  checkSessionType(session, "transcription")
  checkKeys(session, "session", ["type", "audio", "include"])
  let input = current.input
  let turnDetectionGiven = false
  if (session.audio !== undefined) {
    const audio = expectObject(session.audio, "session.audio")
    checkKeys(audio, "session.audio", ["input"])
    if (audio.input !== undefined) {
      input = mergeInput(input, audio.input, "session.audio.input", false)
      turnDetectionGiven = expectObject(audio.input, "session.audio.input").turn_detection !== undefined
    }
  }
  input = defaultTurnDetectionForModel(input, turnDetectionGiven)
  checkTurnDetectionForModel(input, "session.audio.input.turn_detection")
  return {
    ...current,
    input,
    include:
      session.include === undefined ? current.include : parseInclude(session.include, "session.include"),
  }
}

const renderTranscription = (settings: TranscriptionSettings | null) =>
  settings === null
    ? null
    : {
        model: settings.model,
        language: settings.language ?? null,
        prompt: settings.prompt ?? "",
        ...(settings.keywords === undefined ? {} : { keywords: settings.keywords }),
        ...(settings.languages === undefined ? {} : { languages: settings.languages }),
        ...(settings.delay === undefined ? {} : { delay: settings.delay }),
      }

const renderTurnDetection = (turnDetection: TurnDetection | null, conversation: boolean) => {
  if (turnDetection === null) return null
  if (turnDetection.type === "semantic_vad") {
    return conversation
      ? { ...turnDetection }
      : { type: turnDetection.type, eagerness: turnDetection.eagerness }
  }
  if (conversation) return { ...turnDetection }
  return {
    type: turnDetection.type,
    threshold: turnDetection.threshold,
    prefix_padding_ms: turnDetection.prefix_padding_ms,
    silence_duration_ms: turnDetection.silence_duration_ms,
  }
}

/** The GA transcription session object (`session.created/updated`). */
export const renderTranscriptionSession = (session: TranscriptionSession) => ({
  type: "transcription",
  object: "realtime.transcription_session",
  id: session.id,
  expires_at: session.expires_at,
  audio: {
    input: {
      format: session.input.format,
      transcription: renderTranscription(session.input.transcription),
      noise_reduction: session.input.noise_reduction,
      turn_detection: renderTurnDetection(session.input.turn_detection, false),
    },
  },
  include: session.include,
})

// Legacy beta transcription sessions (transcription_session.*).

const BETA_FORMATS: Record<string, AudioFormat> = {
  pcm16: PCM_24K,
  g711_ulaw: { type: "audio/pcmu" },
  g711_alaw: { type: "audio/pcma" },
}

const betaFormatName = (format: AudioFormat): string =>
  format.type === "audio/pcm" ? "pcm16" : format.type === "audio/pcmu" ? "g711_ulaw" : "g711_alaw"

/**
 * Applies a beta `transcription_session.update` payload (flat fields) to a transcription
 * session. `session.type` and the GA nested `audio` object are unknown parameters here.
 * @throws {RealtimeRequestError} when the payload is refused
 */
export const updateBetaTranscriptionSession = (
  current: TranscriptionSession,
  value: unknown,
): TranscriptionSession => {
  if (value === undefined) throw missingParameter("session")
  const session = expectObject(value, "session")
  checkKeys(session, "session", [
    "input_audio_format",
    "input_audio_transcription",
    "turn_detection",
    "input_audio_noise_reduction",
    "include",
    "modalities",
  ])
  let format = current.input.format
  if (session.input_audio_format !== undefined) {
    const name = session.input_audio_format
    if (typeof name !== "string") throw invalidType("session.input_audio_format", "a string", name)
    const parsed = BETA_FORMATS[name]
    if (parsed === undefined)
      throw invalidValue("session.input_audio_format", name, Object.keys(BETA_FORMATS))
    format = parsed
  }
  if (session.modalities !== undefined) {
    const modalities = expectStringArray(session.modalities, "session.modalities")
    modalities.forEach((m, i) => {
      if (m !== "text" && m !== "audio") throw invalidValue(`session.modalities[${i}]`, m, ["text", "audio"])
    })
  }
  const input: InputAudioConfig = {
    format,
    transcription:
      session.input_audio_transcription === undefined
        ? current.input.transcription
        : parseTranscription(session.input_audio_transcription, "session.input_audio_transcription", false),
    turn_detection:
      session.turn_detection === undefined
        ? current.input.turn_detection
        : parseBetaTurnDetection(session.turn_detection),
    noise_reduction:
      session.input_audio_noise_reduction === undefined
        ? current.input.noise_reduction
        : parseNoiseReduction(session.input_audio_noise_reduction, "session.input_audio_noise_reduction"),
  }
  const resolved = defaultTurnDetectionForModel(input, session.turn_detection !== undefined)
  checkTurnDetectionForModel(resolved, "session.turn_detection")
  return {
    ...current,
    input: resolved,
    include:
      session.include === undefined ? current.include : parseInclude(session.include, "session.include"),
  }
}

// The beta shape carries server_vad fields next to an optional type, and semantic_vad's
// eagerness; the GA parser checks each variant's own fields.
const parseBetaTurnDetection = (value: unknown): TurnDetection | null =>
  parseTurnDetection(value, "session.turn_detection", "server_vad")

/** The beta transcription session object (`transcription_session.created/updated`). */
export const renderBetaTranscriptionSession = (session: TranscriptionSession) => ({
  id: session.id,
  object: "realtime.transcription_session",
  expires_at: session.expires_at,
  modalities: ["text"],
  input_audio_format: betaFormatName(session.input.format),
  input_audio_transcription: renderTranscription(session.input.transcription),
  turn_detection: renderTurnDetection(session.input.turn_detection, false),
  input_audio_noise_reduction: session.input.noise_reduction,
  include: session.include,
  client_secret: null,
})

// Conversation sessions (type 'realtime').

/** A fresh conversation session with the service's defaults. */
export const initialConversationSession = (
  id: string,
  expiresAt: number,
  model: string,
): ConversationSession => ({
  id,
  expires_at: expiresAt,
  model,
  instructions: DEFAULT_INSTRUCTIONS,
  output_modalities: ["audio"],
  input: { format: PCM_24K, transcription: null, turn_detection: defaultServerVad(), noise_reduction: null },
  output: { format: PCM_24K, voice: "alloy", speed: 1 },
  tools: [],
  tool_choice: "auto",
  max_output_tokens: "inf",
  include: null,
  truncation: "auto",
  tracing: null,
  prompt: null,
})

/** Parses `output_modalities` (exactly one of `audio`, `text`). */
export const parseOutputModalities = (
  value: unknown,
  path: string,
): readonly ["audio"] | readonly ["text"] => {
  const modalities = expectStringArray(value, path)
  if (modalities.length === 1 && modalities[0] === "audio") return ["audio"]
  if (modalities.length === 1 && modalities[0] === "text") return ["text"]
  throw requestError(
    "invalid_value",
    `Invalid value for '${path}': ${JSON.stringify(modalities)}. Supported values are: ["audio"] and ["text"].`,
    path,
  )
}

/** Parses a voice (a known name or `{id}`). */
export const parseVoice = (value: unknown, path: string): string | { readonly id: string } => {
  if (isRecord(value)) {
    checkKeys(value, path, ["id"])
    return { id: expectString(value.id, `${path}.id`) }
  }
  const voice = expectString(value, path)
  if (!(VOICES as readonly string[]).includes(voice)) throw invalidValue(path, voice, VOICES)
  return voice
}

/** Parses the tool list (flat function tools; MCP tools are accepted as given). */
export const parseTools = (value: unknown, path: string): readonly unknown[] => {
  if (!Array.isArray(value)) throw invalidType(path, "an array", value)
  return value.map((entry, i) => {
    const toolPath = `${path}[${i}]`
    const tool = expectObject(entry, toolPath)
    const type = tool.type ?? "function"
    if (type === "mcp") {
      if (tool.server_label === undefined) throw missingParameter(`${toolPath}.server_label`)
      return { ...tool }
    }
    if (type !== "function") throw invalidValue(`${toolPath}.type`, type, ["function", "mcp"])
    checkKeys(tool, toolPath, ["type", "name", "description", "parameters"])
    if (tool.name === undefined) throw missingParameter(`${toolPath}.name`)
    const fn: { type: "function"; name: string; description?: string; parameters?: unknown } = {
      type: "function",
      name: expectString(tool.name, `${toolPath}.name`),
    }
    if (tool.description !== undefined)
      fn.description = expectString(tool.description, `${toolPath}.description`)
    if (tool.parameters !== undefined) fn.parameters = expectObject(tool.parameters, `${toolPath}.parameters`)
    return fn
  })
}

/** Parses `tool_choice`. */
export const parseToolChoice = (value: unknown, path: string): unknown => {
  if (typeof value === "string") {
    if (value !== "auto" && value !== "none" && value !== "required") {
      throw invalidValue(path, value, ["auto", "none", "required"])
    }
    return value
  }
  const choice = expectObject(value, path)
  if (choice.type === "function") {
    checkKeys(choice, path, ["type", "name"])
    return { type: "function", name: expectString(choice.name, `${path}.name`) }
  }
  if (choice.type === "mcp") {
    checkKeys(choice, path, ["type", "server_label", "name"])
    return { ...choice }
  }
  throw invalidValue(`${path}.type`, choice.type, ["function", "mcp"])
}

/** Parses `max_output_tokens` (1..4096 or `'inf'`). */
export const parseMaxOutputTokens = (value: unknown, path: string): number | "inf" => {
  if (value === "inf") return value
  if (typeof value !== "number" || !Number.isInteger(value))
    throw invalidType(path, "an integer or 'inf'", value)
  if (value < 1 || value > 4096) throw invalidValue(path, value)
  return value
}

const parseTruncation = (value: unknown, path: string): unknown => {
  if (value === "auto" || value === "disabled") return value
  if (typeof value === "string") throw invalidValue(path, value, ["auto", "disabled"])
  const truncation = expectObject(value, path)
  checkKeys(truncation, path, ["type", "retention_ratio", "token_limits"])
  if (truncation.type !== "retention_ratio")
    throw invalidValue(`${path}.type`, truncation.type, ["retention_ratio"])
  expectNumber(truncation.retention_ratio, `${path}.retention_ratio`, 0, 1)
  return { ...truncation }
}

const parseTracing = (value: unknown, path: string): unknown => {
  if (value === null || value === "auto") return value
  if (typeof value === "string") throw invalidValue(path, value, ["auto"])
  const tracing = expectObject(value, path)
  checkKeys(tracing, path, ["workflow_name", "group_id", "metadata"])
  return { ...tracing }
}

/**
 * Applies a GA `session.update` payload to a conversation session. `voiceLocked` is true once
 * the session has produced assistant audio: the voice can no longer change
 * (`cannot_update_voice`).
 * @throws {RealtimeRequestError} when the payload is refused; the session is then unchanged
 */
export const updateConversationSession = (
  current: ConversationSession,
  value: unknown,
  voiceLocked: boolean,
): ConversationSession => {
  if (value === undefined) throw missingParameter("session")
  const session = expectObject(value, "session")
  checkSessionType(session, "realtime")
  checkKeys(session, "session", [
    "type",
    "model",
    "instructions",
    "output_modalities",
    "audio",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "include",
    "truncation",
    "tracing",
    "prompt",
    "reasoning",
    "parallel_tool_calls",
  ])
  let input = current.input
  let output = current.output
  if (session.audio !== undefined) {
    const audio = expectObject(session.audio, "session.audio")
    checkKeys(audio, "session.audio", ["input", "output"])
    if (audio.input !== undefined) input = mergeInput(input, audio.input, "session.audio.input", true)
    if (audio.output !== undefined) {
      const out = expectObject(audio.output, "session.audio.output")
      checkKeys(out, "session.audio.output", ["format", "voice", "speed"])
      const voice =
        out.voice === undefined ? output.voice : parseVoice(out.voice, "session.audio.output.voice")
      if (voiceLocked && JSON.stringify(voice) !== JSON.stringify(output.voice)) {
        throw requestError(
          "cannot_update_voice",
          "Cannot update a conversation's voice if assistant audio is present.",
          "session.audio.output.voice",
        )
      }
      output = {
        format:
          out.format === undefined
            ? output.format
            : parseAudioFormat(out.format, "session.audio.output.format"),
        voice,
        speed:
          out.speed === undefined
            ? output.speed
            : expectNumber(out.speed, "session.audio.output.speed", 0.25, 1.5),
      }
    }
  }
  const next: {
    -readonly [K in keyof ConversationSession]: ConversationSession[K]
  } = { ...current, input, output }
  if (session.model !== undefined) next.model = expectString(session.model, "session.model")
  if (session.instructions !== undefined)
    next.instructions = expectString(session.instructions, "session.instructions")
  if (session.output_modalities !== undefined) {
    next.output_modalities = parseOutputModalities(session.output_modalities, "session.output_modalities")
  }
  if (session.tools !== undefined) next.tools = parseTools(session.tools, "session.tools")
  if (session.tool_choice !== undefined)
    next.tool_choice = parseToolChoice(session.tool_choice, "session.tool_choice")
  if (session.max_output_tokens !== undefined) {
    next.max_output_tokens = parseMaxOutputTokens(session.max_output_tokens, "session.max_output_tokens")
  }
  if (session.include !== undefined) next.include = parseInclude(session.include, "session.include")
  if (session.truncation !== undefined)
    next.truncation = parseTruncation(session.truncation, "session.truncation")
  if (session.tracing !== undefined) next.tracing = parseTracing(session.tracing, "session.tracing")
  if (session.prompt !== undefined) {
    next.prompt = session.prompt === null ? null : { ...expectObject(session.prompt, "session.prompt") }
  }
  if (session.reasoning !== undefined) {
    const reasoning = expectObject(session.reasoning, "session.reasoning")
    checkKeys(reasoning, "session.reasoning", ["effort"])
    next.reasoning = { ...reasoning }
  }
  if (session.parallel_tool_calls !== undefined) {
    next.parallel_tool_calls = expectBoolean(session.parallel_tool_calls, "session.parallel_tool_calls")
  }
  return next
}

/** The GA conversation session object (`session.created/updated`). */
export const renderConversationSession = (session: ConversationSession) => ({
  type: "realtime",
  object: "realtime.session",
  id: session.id,
  model: session.model,
  output_modalities: session.output_modalities,
  instructions: session.instructions,
  tools: session.tools,
  tool_choice: session.tool_choice,
  max_output_tokens: session.max_output_tokens,
  tracing: session.tracing,
  truncation: session.truncation,
  prompt: session.prompt,
  expires_at: session.expires_at,
  audio: {
    input: {
      format: session.input.format,
      transcription: renderTranscription(session.input.transcription),
      noise_reduction: session.input.noise_reduction,
      turn_detection: renderTurnDetection(session.input.turn_detection, true),
    },
    output: session.output,
  },
  include: session.include,
  ...(session.reasoning === undefined ? {} : { reasoning: session.reasoning }),
  ...(session.parallel_tool_calls === undefined ? {} : { parallel_tool_calls: session.parallel_tool_calls }),
})
