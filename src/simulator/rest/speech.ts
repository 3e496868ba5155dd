/**
 * `POST /v1/audio/speech`: the simulated voice (see `signal.ts`) for the input text, as
 * raw 24 kHz mono PCM16 (`pcm`) or a WAV file (`wav`), streamed in chunks whose sizes are
 * deliberately not multiples of the 20 ms frame (960 bytes), nor even, so clients must carry
 * leftover bytes between chunks; or, with `stream_format: "sse"`, as
 * `speech.audio.delta { audio }`* then `speech.audio.done { usage }`.
 *
 * Refusals as the service words them (400 `invalid_request_error`): a `response_format` or
 * `voice` outside the enum (`invalid_value`), `instructions` with `tts-1`/`tts-1-hd`
 * (`unsupported_parameter`), `stream_format: "sse"` with them, an `input` over 4096 characters
 * (`string_above_max_length`), a speed outside 0.25..4.
 *
 * Scripted misbehaviour (`scenario.nextHttp("speech", { status: 200, stream: {...} })`): a slow
 * first byte (`firstByteMs`, before the headers), slow chunks (`betweenChunksMs`), and a
 * connection dropped mid-body (`dropAfterBytes`, mid-sample when odd). A 429 with `retry-after`
 * is a plain `HttpFault` (`{ status: 429, headers: { "retry-after": "1" } }`).
 *
 * Formats: `pcm`, `wav`, `mp3` (the default: MPEG-2 Layer III, 24 kHz mono, 64 kbit/s) and
 * `flac` (lossless, so a decoder gives back the `pcm` samples exactly); see `codecs.ts`.
 * Simulator limits: `opus` and `aac` are refused with a 400 (`unsupported_value`) naming the
 * formats it makes, since it keeps no encoder for them.
 * @module
 */
import { encodeWav, makeAudioFrame } from "../../audio/index.ts"
import type { HttpAnswerShape } from "../types.ts"
import { parseJsonObject } from "./body.ts"
import { encodeFlac, encodeMp3 } from "./codecs.ts"
import { invalidParam, missingParam, restError } from "./errors.ts"
import { makeRestRoute, type RestRequest } from "./route.ts"
import { synthesizeSpeech } from "./signal.ts"
import { nextTick, sleepWhileOpen, startSse, writeSseData } from "./sse.ts"
import { countTextTokens } from "./text.ts"

/** Output sample rate of the speech endpoint (Hz). */
export const SPEECH_RATE_HZ = 24_000
/** The longest `input` the endpoint accepts, in characters. */
export const MAX_SPEECH_INPUT_CHARS = 4096
/** Byte sizes of successive binary chunks, cycled: odd, and never a multiple of 960. */
export const SPEECH_CHUNK_BYTES: readonly number[] = [4097, 1531, 6143, 2049, 777]
/** Byte sizes of successive SSE audio deltas, cycled: whole samples, never a multiple of 960. */
export const SPEECH_SSE_CHUNK_BYTES: readonly number[] = [3842, 1538, 6146, 2050, 778]
/** Audio tokens billed per second of generated speech (an approximation). */
const AUDIO_TOKENS_PER_SECOND = 20

const VOICES = [
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
const FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"]
/** The formats the simulator makes, and their content types. */
const MADE_FORMATS = { mp3: "audio/mpeg", flac: "audio/flac", wav: "audio/wav", pcm: "audio/pcm" } as const
type MadeFormat = keyof typeof MADE_FORMATS
const isMadeFormat = (format: string): format is MadeFormat => Object.hasOwn(MADE_FORMATS, format)

/** The validated speech request. */
interface SpeechParams {
  readonly model: string
  readonly input: string
  readonly instructions: string
  readonly format: MadeFormat
  readonly speed: number
  readonly sse: boolean
}

/** A value quoted as the service's enum errors quote it: `'x'`. */
const quoted = (value: unknown): string => (typeof value === "string" ? `'${value}'` : JSON.stringify(value))
/** An enum list as the service writes it: `'a', 'b', and 'c'`. */
const enumList = (values: readonly string[]): string =>
  `${values
    .slice(0, -1)
    .map((v) => `'${v}'`)
    .join(", ")}, and '${values[values.length - 1]}'`

const isLegacyTts = (model: string): boolean =>
  model === "tts-1" || model === "tts-1-hd" || model.startsWith("tts-1-")

const validate = (body: Record<string, unknown>, deployment: string | undefined): SpeechParams => {
  const model = deployment ?? body.model
  if (model === undefined) throw missingParam("model")
  if (typeof model !== "string" || model.length === 0)
    throw invalidParam("model", "Invalid 'model': expected a string.", "invalid_type")
  const input = body.input
  if (input === undefined) throw missingParam("input")
  if (typeof input !== "string")
    throw invalidParam("input", "Invalid 'input': expected a string.", "invalid_type")
  if (input.length === 0) {
    throw invalidParam(
      "input",
      "Invalid 'input': empty string. Expected a string with minimum length 1.",
      "empty_string",
    )
  }
  if (input.length > MAX_SPEECH_INPUT_CHARS) {
    throw invalidParam(
      "input",
      `Invalid 'input': string too long. Expected a string with maximum length ${MAX_SPEECH_INPUT_CHARS}, but got a string with length ${input.length} instead.`,
      "string_above_max_length",
    )
  }
  const voice = body.voice
  if (voice === undefined) throw missingParam("voice")
  const voiceOk =
    (typeof voice === "string" && VOICES.includes(voice)) ||
    (voice !== null && typeof voice === "object" && typeof (voice as { id?: unknown }).id === "string")
  if (!voiceOk) {
    throw invalidParam("voice", `Invalid value: ${quoted(voice)}. Supported values are: ${enumList(VOICES)}.`)
  }
  const instructions = body.instructions
  if (instructions !== undefined) {
    if (typeof instructions !== "string") {
      throw invalidParam("instructions", "Invalid 'instructions': expected a string.", "invalid_type")
    }
    if (isLegacyTts(model)) {
      throw restError(400, `Unsupported parameter: 'instructions' is not supported with model '${model}'.`, {
        param: "instructions",
        code: "unsupported_parameter",
      })
    }
  }
  const format = body.response_format ?? "mp3"
  if (typeof format !== "string" || !FORMATS.includes(format)) {
    throw invalidParam(
      "response_format",
      `Invalid value: ${quoted(format)}. Supported values are: ${enumList(FORMATS)}.`,
    )
  }
  if (!isMadeFormat(format)) {
    throw invalidParam(
      "response_format",
      `Unsupported value: the simulator does not encode '${format}'; it makes ${enumList(Object.keys(MADE_FORMATS))}.`,
      "unsupported_value",
    )
  }
  const speed = body.speed ?? 1
  if (typeof speed !== "number" || !Number.isFinite(speed)) {
    throw invalidParam("speed", "Invalid 'speed': expected a number.", "invalid_type")
  }
  if (speed < 0.25) {
    throw invalidParam(
      "speed",
      `Invalid 'speed': expected a value >= 0.25, but got ${speed} instead.`,
      "decimal_below_min_value",
    )
  }
  if (speed > 4) {
    throw invalidParam(
      "speed",
      `Invalid 'speed': expected a value <= 4, but got ${speed} instead.`,
      "decimal_above_max_value",
    )
  }
  const streamFormat = body.stream_format ?? "audio"
  if (streamFormat !== "audio" && streamFormat !== "sse") {
    throw invalidParam(
      "stream_format",
      `Invalid value: ${JSON.stringify(streamFormat)}. Supported values are: 'audio' and 'sse'.`,
    )
  }
  if (streamFormat === "sse" && isLegacyTts(model)) {
    throw invalidParam(
      "stream_format",
      `stream_format 'sse' is not supported with model '${model}'.`,
      "unsupported_value",
    )
  }
  return { model, input, instructions: instructions ?? "", format, speed, sse: streamFormat === "sse" }
}

/** The speech samples in the asked format. */
const encodeSpeech = async (samples: Int16Array, format: MadeFormat): Promise<Uint8Array> => {
  switch (format) {
    case "wav":
      return encodeWav(makeAudioFrame(samples, SPEECH_RATE_HZ, 1))
    case "mp3":
      return encodeMp3(samples, SPEECH_RATE_HZ)
    case "flac":
      return encodeFlac(samples, SPEECH_RATE_HZ)
    default:
      return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength)
  }
}

/** Cuts `bytes` into chunks whose sizes cycle through `sizes`. */
const chunksOf = (bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] => {
  const out: Uint8Array[] = []
  let offset = 0
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!
    out.push(bytes.subarray(offset, offset + size))
    offset += size
  }
  return out
}

const answer = async ({ res, ctx, body, record }: RestRequest): Promise<void> => {
  const json = parseJsonObject(body)
  record(json)
  const params = validate(json, ctx.deployment)
  const samples = synthesizeSpeech(params.input, { speed: params.speed, seed: ctx.scenario.seed })
  const bytes = await encodeSpeech(samples, params.format)

  const shape: HttpAnswerShape = ctx.shape ?? {}
  if (!(await sleepWhileOpen(res, shape.firstByteMs ?? 0))) return
  let sent = 0
  /** Writes one chunk, then paces; false once the exchange is gone or dropped on purpose. */
  const write = async (chunk: Uint8Array | string): Promise<boolean> => {
    if (res.destroyed) return false
    const size = typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength
    const drop = shape.dropAfterBytes
    if (drop !== undefined && sent + size >= drop) {
      const head =
        typeof chunk === "string"
          ? Buffer.from(chunk).subarray(0, drop - sent)
          : chunk.subarray(0, drop - sent)
      if (head.byteLength > 0) res.write(head)
      // Let the bytes leave before the connection breaks, as a server that dies mid-body does.
      await nextTick()
      res.socket?.destroy()
      return false
    }
    res.write(chunk)
    sent += size
    if (shape.betweenChunksMs !== undefined && shape.betweenChunksMs > 0) {
      return sleepWhileOpen(res, shape.betweenChunksMs)
    }
    await nextTick()
    return true
  }

  if (params.sse) {
    startSse(res)
    for (const chunk of chunksOf(bytes, SPEECH_SSE_CHUNK_BYTES)) {
      const event = { type: "speech.audio.delta", audio: Buffer.from(chunk).toString("base64") }
      if (!(await write(`data: ${JSON.stringify(event)}\n\n`))) return
    }
    const inputTokens = countTextTokens(params.input) + countTextTokens(params.instructions)
    const outputTokens = Math.ceil((samples.length / SPEECH_RATE_HZ) * AUDIO_TOKENS_PER_SECOND)
    writeSseData(res, {
      type: "speech.audio.done",
      usage: {
        input_tokens: inputTokens,
        output_tokens: outputTokens,
        total_tokens: inputTokens + outputTokens,
      },
    })
    res.end()
    return
  }

  res.writeHead(200, { "content-type": MADE_FORMATS[params.format] })
  res.flushHeaders()
  for (const chunk of chunksOf(bytes, SPEECH_CHUNK_BYTES)) {
    if (!(await write(chunk))) return
  }
  res.end()
}

/** The `POST /audio/speech` route. */
export const speechRoute = makeRestRoute("speech", "/audio/speech", answer)
