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
 * Uploads: WAV (PCM16), MP3 and FLAC (see `codecs.ts`), told by their bytes, at any rate and
 * channel count. Simulator limits: the other containers the service takes (m4a, mp4, ogg,
 * webm, ...) get a 400 (`unsupported_format`) naming the limit.
 * `gpt-4o-transcribe-diarize` answers `json`, `text` and `diarized_json`: segments timed from
 * the voiced regions, each a `transcript.text.segment` with a speaker (the simulator's choice:
 * each voiced region is the next speaker's turn, `A`, `B`, `A`, ...; with
 * `known_speaker_names[]`, those names in turn); streamed, each segment's deltas carry its
 * `segment_id` and the segment event follows them.
 * `POST /audio/translations` (whisper-1 only, as the service) answers the same way with the
 * scenario's text as the English translation: `json`, `text`, `srt`, `vtt` and
 * `verbose_json` (`task: "translate"`, `language: "english"`), never streamed.
 * Audio under 0.1 s is refused (`audio_too_short`), as the service does.
 * @module
 */
import { type AudioFrame, createPcmConverter, decodeWav } from "../../audio/index.ts"
import type { ResolvedTranscript } from "../scenario.ts"
import { reserveTranscript } from "../scenario.ts"
import { decodeSpeech } from "../voice.ts"
import { decodeCompressed, sniffCompressed } from "./codecs.ts"
import { invalidParam, missingParam, restError, sendRestError } from "./errors.ts"
import { boundaryOf, type MultipartPart, parseMultipart } from "./multipart.ts"
import { makeRestRoute, type RestRequest } from "./route.ts"
import { nextRequestIndex } from "./scripted.ts"
import { nextTick, sleepWhileOpen, startSse, writeSseData } from "./sse.ts"
import { countTextTokens, hashString, splitTextDeltas, tokenLogprobs } from "./text.ts"
import { type TimedSegment, timeHeardWords, timeTranscript, toSrt, toVtt, voicedRegions } from "./timing.ts"

/** The sample rate the simulator transcribes at (Hz). */
const RATE_HZ = 24_000
/** Audio tokens billed per second of audio by the token-billed models (approximation). */
const AUDIO_TOKENS_PER_SECOND = 10
const SUPPORTED_EXTENSIONS = ["flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"]
const RESPONSE_FORMATS = ["json", "text", "srt", "vtt", "verbose_json", "diarized_json"]
const TRANSLATION_FORMATS = ["json", "text", "srt", "vtt", "verbose_json"]
/** The model that answers `diarized_json`. */
const DIARIZE_MODEL = "gpt-4o-transcribe-diarize"
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
const decodeUpload = async (file: MultipartPart): Promise<Int16Array> => {
  const name = file.filename ?? "file"
  const ext = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : ""
  const data = file.data
  const isRiffWave =
    data.length >= 12 &&
    Buffer.from(data.subarray(0, 4)).toString("latin1") === "RIFF" &&
    Buffer.from(data.subarray(8, 12)).toString("latin1") === "WAVE"
  const compressed = isRiffWave ? undefined : sniffCompressed(data)
  if (!isRiffWave && compressed === undefined) {
    if (ext === "wav" || ext === "mp3" || ext === "mpga" || ext === "mpeg" || ext === "flac") {
      throw invalidParam("file", "Audio file might be corrupted or unsupported", "invalid_value")
    }
    if (SUPPORTED_EXTENSIONS.includes(ext)) {
      throw invalidParam(
        "file",
        `The simulator decodes WAV (PCM16), MP3 and FLAC files only; '${name}' is none of them.`,
        "unsupported_format",
      )
    }
    throw invalidParam(
      "file",
      `Invalid file format. Supported formats: ${JSON.stringify(SUPPORTED_EXTENSIONS)}`,
      "invalid_value",
    )
  }
  let frame: AudioFrame
  try {
    frame = compressed === undefined ? decodeWav(data) : await decodeCompressed(compressed, data)
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
  readonly task: "transcribe" | "translate"
  readonly model: string
  readonly format: string
  readonly logprobs: boolean
  readonly granularities: readonly string[]
  readonly temperature: number
  readonly stream: boolean
  readonly language: string | undefined
  readonly prompt: string | undefined
  /** Speaker labels of `diarized_json` (`known_speaker_names[]`), empty for `A`, `B`, ... */
  readonly speakerNames: readonly string[]
}

const validate = (
  form: TranscriptionForm,
  deployment: string | undefined,
  task: TranscriptionParams["task"],
): TranscriptionParams => {
  const model = deployment ?? first(form, "model")
  if (model === undefined || model.length === 0) throw missingParam("model")
  if (form.file === undefined) throw missingParam("file")
  if (task === "translate" && deployment === undefined && !isWhisper(model)) {
    throw invalidParam(
      "model",
      `Invalid value: '${model}'. Translations support the model 'whisper-1' only.`,
      "invalid_value",
    )
  }
  const format = first(form, "response_format") ?? "json"
  const formats = task === "translate" ? TRANSLATION_FORMATS : RESPONSE_FORMATS
  if (!formats.includes(format)) {
    throw invalidParam(
      "response_format",
      `Invalid value: '${format}'. Supported values are: ${formats.join(", ")}.`,
    )
  }
  const whisper = isWhisper(model)
  const diarize = model === DIARIZE_MODEL
  const modelFormats = whisper
    ? ["json", "text", "srt", "vtt", "verbose_json"]
    : diarize
      ? ["json", "text", "diarized_json"]
      : ["json", "text"]
  if (task === "transcribe" && !modelFormats.includes(format)) {
    throw invalidParam(
      "response_format",
      `response_format '${format}' is not compatible with model '${model}'. Use ${modelFormats.map((f) => `'${f}'`).join(", ")} instead.`,
      "unsupported_value",
    )
  }
  const include = form.fields.get("include") ?? []
  for (const value of include) {
    if (value !== "logprobs")
      throw invalidParam("include", `Invalid value: '${value}'. Supported values are: 'logprobs'.`)
  }
  const logprobs = include.includes("logprobs")
  if (logprobs && (whisper || diarize || format !== "json")) {
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
    task,
    model,
    format,
    logprobs,
    granularities,
    temperature,
    // whisper-1 ignores `stream` and answers in one piece, as the service does.
    stream: streamText === "true" && !whisper && task === "transcribe",
    language: first(form, "language"),
    prompt: first(form, "prompt"),
    speakerNames: form.fields.get("known_speaker_names") ?? [],
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

const answer = async (
  { req, res, ctx, body, record }: RestRequest,
  task: TranscriptionParams["task"],
): Promise<void> => {
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
  const params = validate(form, ctx.deployment, task)
  const audio = await decodeUpload(form.file!)
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

  const timed = () => {
    const regions = voicedRegions(audio, { sampleRateHz: RATE_HZ })
    // Words the audio carries, when they are the transcript, are timed where they were said.
    const heard = decodeSpeech(audio, RATE_HZ)
    if (
      heard.length > 0 &&
      heard.map((w) => w.text).join(" ") === text.split(/\s+/).filter(Boolean).join(" ")
    ) {
      const seconds = heard.map((w) => ({
        text: w.text,
        start: w.startSample / RATE_HZ,
        end: w.endSample / RATE_HZ,
      }))
      return timeHeardWords(seconds, regions)
    }
    return timeTranscript(text, durationS, regions)
  }
  if (params.stream && outcome.fail === undefined && params.format === "diarized_json") {
    startSse(res)
    if (!(await sleepWhileOpen(res, outcome.delayMs))) return
    for (const segment of diarizedSegments(timed(), params.speakerNames)) {
      for (const delta of splitTextDeltas(segment.text)) {
        if (res.destroyed) return
        writeSseData(res, { type: "transcript.text.delta", delta, segment_id: segment.id })
        await nextTick()
      }
      writeSseData(res, segment)
    }
    writeSseData(res, { type: "transcript.text.done", text, usage: tokenUsage(params, durationS, text) })
    res.end()
    return
  }
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
        task: params.task,
        language: params.task === "translate" ? "english" : (LANGUAGE_NAMES[lang] ?? lang),
        duration: round3(durationS),
        text,
        ...(wantSegments ? { segments: verboseSegments(segments, params, seed) } : {}),
        ...(wantWords ? { words: segments.flatMap((s) => s.words) } : {}),
        usage,
      })
      return
    }
    case "diarized_json":
      sendBody(res, {
        task: "transcribe",
        duration: round3(durationS),
        text,
        segments: diarizedSegments(timed(), params.speakerNames),
        usage,
      })
      return
    default:
      sendBody(res, { text, ...(logprobs === undefined ? {} : { logprobs }), usage })
  }
}

/** The `diarized_json` segments: one per voiced region, speakers taking turns. */
const diarizedSegments = (segments: readonly TimedSegment[], names: readonly string[]) =>
  segments.map((segment, i) => ({
    type: "transcript.text.segment" as const,
    id: `seg_${i}`,
    start: segment.start,
    end: segment.end,
    text: segment.text.trim(),
    speaker: names.length > 0 ? names[i % names.length]! : String.fromCharCode(65 + (i % 2)),
  }))

const sendText = (res: RestRequest["res"], contentType: string, text: string): void => {
  res.writeHead(200, { "content-type": contentType, "content-length": String(Buffer.byteLength(text)) })
  res.end(text)
}

const sendBody = (res: RestRequest["res"], body: unknown): void =>
  sendText(res, "application/json", JSON.stringify(body))

/** The `POST /audio/transcriptions` route. */
export const transcriptionsRoute = makeRestRoute("transcriptions", "/audio/transcriptions", (request) =>
  answer(request, "transcribe"),
)

/** The `POST /audio/translations` route (whisper-1: the scenario's text as the English translation). */
export const translationsRoute = makeRestRoute("translations", "/audio/translations", (request) =>
  answer(request, "translate"),
)
