/**
 * `POST /v1/audio/transcriptions`: multipart upload of a WAV file, decoded and brought to
 * 24 kHz mono, transcribed by the scenario. Answers `json`, `text`, `srt`, `vtt` and
 * `verbose_json` (whisper-1 only, with segments and words timed from the audio's voiced
 * regions), per-token `logprobs` (gpt-4o models, `include[]=logprobs`), and SSE streaming
 * (`stream=true`, ignored for whisper-1): `transcript.text.delta`* then `transcript.text.done`.
 * No `data: [DONE]` follows `done` (unconfirmed for the service; clients stop on `done`).
 *
 * The text comes from `reserveTranscript` (the scenario's list, shared with the Realtime
 * turns, or its function, called with the request index among this simulator's REST
 * transcriptions and the 24 kHz mono audio; `"[N ms of audio]"` when the list is spent). A
 * list element is given back when the request ends before its answer is complete (the
 * client gave up during a scripted `delayMs`, say), so a retry gets the same text. A scripted
 * `delayMs` holds the answer that long (with `stream=true`: the SSE headers go out at once,
 * the first delta after the delay). A scripted `fail` answers 400 `invalid_request_error`
 * with its code (500 `server_error` for the code `server_error`). `text` answers end with a
 * newline, as whisper's do.
 * Usage: whisper-1 is billed by duration (whole seconds, rounded up); the other models by
 * tokens, 10 audio tokens per second plus the prompt's text tokens (approximations).
 *
 * Simulator limits: only WAV (PCM16) files are decoded; other supported containers (mp3,
 * flac, ogg, ...) get a 400 naming the limit. `diarized_json` is not produced (400).
 * Audio under 0.1 s is refused (`audio_too_short`), as the service does.
 * @module
 */
import { type AudioFrame, createPcmConverter, decodeWav } from "../../audio/index.ts"
import type { ResolvedTranscript } from "../scenario.ts"
import { reserveTranscript } from "../scenario.ts"
import { invalidParam, missingParam, restError, sendRestError } from "./errors.ts"
import { boundaryOf, type MultipartPart, parseMultipart } from "./multipart.ts"
import { makeRestRoute, type RestRequest } from "./route.ts"
import { nextRequestIndex } from "./scripted.ts"
import { nextTick, sleepWhileOpen, startSse, writeSseData } from "./sse.ts"
import { countTextTokens, hashString, splitTextDeltas, tokenLogprobs } from "./text.ts"
import { type TimedSegment, timeTranscript, toSrt, toVtt, voicedRegions } from "./timing.ts"

/** The sample rate the simulator transcribes at (Hz). */
const RATE_HZ = 24_000
/** Audio tokens billed per second of audio by the token-billed models (approximation). */
const AUDIO_TOKENS_PER_SECOND = 10
const SUPPORTED_EXTENSIONS = ["flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"]
const RESPONSE_FORMATS = ["json", "text", "srt", "vtt", "verbose_json", "diarized_json"]
const LANGUAGE_NAMES: Readonly<Record<string, string>> = {
  en: "english",
  fr: "french",
  de: "german",
  es: "spanish",
  it: "italian",
  pt: "portuguese",
  nl: "dutch",
  ja: "japanese",
  zh: "chinese",
  ko: "korean",
  ru: "russian",
  pl: "polish",
  sv: "swedish",
  ar: "arabic",
  hi: "hindi",
}

/** The fields of a transcription form, after parsing. */
interface TranscriptionForm {
  readonly file: MultipartPart | undefined
  readonly fields: ReadonlyMap<string, readonly string[]>
}

const readForm = (parts: readonly MultipartPart[]): TranscriptionForm => {
  let file: MultipartPart | undefined
  const fields = new Map<string, string[]>()
  for (const part of parts) {
    if (part.name === "file") {
      file = part
      continue
    }
    // Arrays arrive as `key[]` (the SDK) or as repeated `key`.
    const key = part.name.endsWith("[]") ? part.name.slice(0, -2) : part.name
    const list = fields.get(key) ?? []
    list.push(Buffer.from(part.data).toString("utf8"))
    fields.set(key, list)
  }
  return { file, fields }
}

const first = (form: TranscriptionForm, key: string): string | undefined => form.fields.get(key)?.[0]

/** True for the models billed by duration and answering `verbose_json` (whisper). */
const isWhisper = (model: string): boolean => model.startsWith("whisper")

/** Decodes the uploaded file to 24 kHz mono PCM16, or throws the 400 the service gives. */
const decodeUpload = (file: MultipartPart): Int16Array => {
  const name = file.filename ?? "file"
  const ext = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : ""
  const data = file.data
  const isRiffWave =
    data.length >= 12 &&
    Buffer.from(data.subarray(0, 4)).toString("latin1") === "RIFF" &&
    Buffer.from(data.subarray(8, 12)).toString("latin1") === "WAVE"
  if (!isRiffWave) {
    if (SUPPORTED_EXTENSIONS.includes(ext) && ext !== "wav") {
      throw invalidParam(
        "file",
        `The simulator decodes WAV (PCM16) files only; '${name}' is not one. Wrap raw PCM in a WAV header.`,
        "unsupported_format",
      )
    }
    if (ext !== "wav") {
      throw invalidParam(
        "file",
        `Invalid file format. Supported formats: ${JSON.stringify(SUPPORTED_EXTENSIONS)}`,
        "invalid_value",
      )
    }
  }
  let frame: AudioFrame
  try {
    frame = decodeWav(data)
  } catch {
    throw invalidParam("file", "Audio file might be corrupted or unsupported", "invalid_value")
  }
  let head: Int16Array
  let tail: Int16Array
  try {
    const converter = createPcmConverter({ targetRateHz: RATE_HZ })
    head = converter.push(frame)
    tail = converter.flush()
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw invalidParam("file", `The simulator cannot resample this audio: ${reason}`, "unsupported_format")
  }
  const out = new Int16Array(head.length + tail.length)
  out.set(head, 0)
  out.set(tail, head.length)
  return out
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000

/** The request, validated: what the answer depends on. */
interface TranscriptionParams {
  readonly model: string
  readonly format: string
  readonly logprobs: boolean
  readonly granularities: readonly string[]
  readonly temperature: number
  readonly stream: boolean
  readonly language: string | undefined
  readonly prompt: string | undefined
}

const validate = (form: TranscriptionForm, deployment: string | undefined): TranscriptionParams => {
  const model = deployment ?? first(form, "model")
  if (model === undefined || model.length === 0) throw missingParam("model")
  if (form.file === undefined) throw missingParam("file")
  const format = first(form, "response_format") ?? "json"
  if (!RESPONSE_FORMATS.includes(format)) {
    throw invalidParam(
      "response_format",
      `Invalid value: '${format}'. Supported values are: ${RESPONSE_FORMATS.join(", ")}.`,
    )
  }
  const whisper = isWhisper(model)
  if (!whisper && format !== "json" && format !== "text") {
    throw invalidParam(
      "response_format",
      `response_format '${format}' is not compatible with model '${model}'. Use 'json' or 'text' instead.`,
      "unsupported_value",
    )
  }
  if (format === "diarized_json") {
    throw invalidParam(
      "response_format",
      "The simulator does not produce 'diarized_json'.",
      "unsupported_value",
    )
  }
  const include = form.fields.get("include") ?? []
  for (const value of include) {
    if (value !== "logprobs")
      throw invalidParam("include", `Invalid value: '${value}'. Supported values are: 'logprobs'.`)
  }
  const logprobs = include.includes("logprobs")
  if (logprobs && (whisper || format !== "json")) {
    throw invalidParam(
      "include",
      "logprobs are only supported with response_format 'json' and the models gpt-4o-transcribe and gpt-4o-mini-transcribe.",
      "unsupported_value",
    )
  }
  const granularities = form.fields.get("timestamp_granularities") ?? []
  for (const value of granularities) {
    if (value !== "word" && value !== "segment") {
      throw invalidParam(
        "timestamp_granularities",
        `Invalid value: '${value}'. Supported values are: 'word' and 'segment'.`,
      )
    }
  }
  if (granularities.length > 0 && format !== "verbose_json") {
    throw invalidParam(
      "timestamp_granularities",
      "timestamp_granularities is only supported with response_format 'verbose_json'.",
      "unsupported_value",
    )
  }
  const temperatureText = first(form, "temperature")
  const temperature = temperatureText === undefined ? 0 : Number(temperatureText)
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > 1) {
    throw invalidParam(
      "temperature",
      `Invalid 'temperature': expected a number between 0 and 1, got '${temperatureText}'.`,
    )
  }
  const streamText = first(form, "stream")
  if (streamText !== undefined && streamText !== "true" && streamText !== "false") {
    throw invalidParam("stream", `Invalid 'stream': expected a boolean, got '${streamText}'.`)
  }
  return {
    model,
    format,
    logprobs,
    granularities,
    temperature,
    // whisper-1 ignores `stream` and answers in one piece, as the service does.
    stream: streamText === "true" && !whisper,
    language: first(form, "language"),
    prompt: first(form, "prompt"),
  }
}

const tokenUsage = (params: TranscriptionParams, durationS: number, text: string) => {
  const audioTokens = Math.ceil(durationS * AUDIO_TOKENS_PER_SECOND)
  const textTokens = countTextTokens(params.prompt ?? "")
  const outputTokens = countTextTokens(text)
  return {
    type: "tokens" as const,
    input_tokens: audioTokens + textTokens,
    input_token_details: { text_tokens: textTokens, audio_tokens: audioTokens },
    output_tokens: outputTokens,
    total_tokens: audioTokens + textTokens + outputTokens,
  }
}

const verboseSegments = (segments: readonly TimedSegment[], params: TranscriptionParams, seed: number) =>
  segments.map((s, id) => {
    const h = hashString(s.text, seed)
    return {
      id,
      seek: 0,
      start: s.start,
      end: s.end,
      text: s.text,
      tokens: splitTextDeltas(s.text).map((t) => 1000 + (hashString(t, seed) % 49_000)),
      temperature: params.temperature,
      avg_logprob: -round3(0.1 + (h % 200) / 1000),
      compression_ratio: round3(1 + (h % 500) / 1000),
      no_speech_prob: round3((h % 100) / 10_000),
    }
  })

const answer = async ({ req, res, ctx, body, record }: RestRequest): Promise<void> => {
  let parts: MultipartPart[]
  try {
    parts = parseMultipart(body, boundaryOf(req.headers["content-type"]))
  } catch (error) {
    record({ malformed: true })
    const message = error instanceof Error ? error.message : String(error)
    throw restError(400, `Could not parse multipart form: ${message}`, { code: "invalid_multipart" })
  }
  const form = readForm(parts)
  record({
    fields: Object.fromEntries(form.fields),
    file:
      form.file === undefined
        ? null
        : {
            filename: form.file.filename ?? null,
            contentType: form.file.contentType ?? null,
            bytes: form.file.data.length,
          },
  })
  const params = validate(form, ctx.deployment)
  const audio = decodeUpload(form.file!)
  const durationS = audio.length / RATE_HZ
  if (durationS < 0.1) {
    throw invalidParam(
      "file",
      "Audio file is too short. Minimum audio length is 0.1 seconds.",
      "audio_too_short",
    )
  }
  const reservation = reserveTranscript(ctx.scenario, {
    index: nextRequestIndex(ctx.scenario, "transcriptions"),
    audio,
    model: params.model,
  })
  try {
    await deliver(res, params, audio, durationS, reservation.transcript, ctx.scenario.seed)
  } finally {
    // Delivered only when the whole answer went out; otherwise the transcript goes back.
    if (res.writableEnded && !res.destroyed) reservation.delivered()
    else reservation.release()
  }
}

/** Writes the answer for a transcript (or its scripted failure), after its scripted delay. */
const deliver = async (
  res: RestRequest["res"],
  params: TranscriptionParams,
  audio: Int16Array,
  durationS: number,
  outcome: ResolvedTranscript,
  seed: number,
): Promise<void> => {
  const { text, language } = outcome
  const deltas = splitTextDeltas(text)
  const logprobs = params.logprobs ? tokenLogprobs(deltas, seed) : undefined

  if (params.stream && outcome.fail === undefined) {
    startSse(res)
    if (!(await sleepWhileOpen(res, outcome.delayMs))) return
    for (let i = 0; i < deltas.length; i++) {
      if (res.destroyed) return
      writeSseData(res, {
        type: "transcript.text.delta",
        delta: deltas[i],
        ...(logprobs === undefined ? {} : { logprobs: [logprobs[i]] }),
      })
      await nextTick()
    }
    writeSseData(res, {
      type: "transcript.text.done",
      text,
      ...(logprobs === undefined ? {} : { logprobs }),
      usage: tokenUsage(params, durationS, text),
    })
    res.end()
    return
  }
  if (!(await sleepWhileOpen(res, outcome.delayMs))) return
  if (outcome.fail !== undefined) {
    // Answered here rather than thrown, so the failure counts as delivered once it went out.
    const serverSide = outcome.fail.code === "server_error"
    sendRestError(
      res,
      restError(serverSide ? 500 : 400, outcome.fail.message, {
        code: outcome.fail.code,
        type: serverSide ? "server_error" : "invalid_request_error",
        reason: "ScriptedFailure",
      }),
    )
    return
  }

  const usage = isWhisper(params.model)
    ? { type: "duration" as const, seconds: Math.ceil(durationS) }
    : tokenUsage(params, durationS, text)
  const timed = () => timeTranscript(text, durationS, voicedRegions(audio, { sampleRateHz: RATE_HZ }))
  switch (params.format) {
    case "text":
      sendText(res, "text/plain; charset=utf-8", `${text}\n`)
      return
    case "srt":
      sendText(res, "text/plain; charset=utf-8", toSrt(timed()))
      return
    case "vtt":
      sendText(res, "text/vtt; charset=utf-8", toVtt(timed()))
      return
    case "verbose_json": {
      const segments = timed()
      const wantSegments = params.granularities.length === 0 || params.granularities.includes("segment")
      const wantWords = params.granularities.includes("word")
      const lang = language ?? params.language ?? "en"
      sendBody(res, {
        task: "transcribe",
        language: LANGUAGE_NAMES[lang] ?? lang,
        duration: round3(durationS),
        text,
        ...(wantSegments ? { segments: verboseSegments(segments, params, seed) } : {}),
        ...(wantWords ? { words: segments.flatMap((s) => s.words) } : {}),
        usage,
      })
      return
    }
    default:
      sendBody(res, { text, ...(logprobs === undefined ? {} : { logprobs }), usage })
  }
}

const sendText = (res: RestRequest["res"], contentType: string, text: string): void => {
  res.writeHead(200, { "content-type": contentType, "content-length": String(Buffer.byteLength(text)) })
  res.end(text)
}

const sendBody = (res: RestRequest["res"], body: unknown): void =>
  sendText(res, "application/json", JSON.stringify(body))

/** The `POST /audio/transcriptions` route. */
export const transcriptionsRoute = makeRestRoute("transcriptions", "/audio/transcriptions", answer)
