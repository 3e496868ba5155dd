/**
 * The simulator's scenario: what the simulated models say (transcripts, replies), the
 * per-connection and per-request scripts, and the seeded pseudo-random source behind ids.
 *
 * Audio in the simulated voice (`synthesizeSpeech`: the simulator's TTS, Realtime output
 * audio, the scripted caller of voxstate/testing) carries its words: a turn or REST request
 * whose audio carries words is transcribed to those words (`TranscriptRequest.heard`) and
 * takes nothing from a transcript list; a transcript function is called with them and decides.
 *
 * Lists (`transcripts`, `replies`) are consumed in order across the whole simulator: each
 * response takes the next reply; each committed turn (or REST transcription) takes the next
 * transcript and keeps it only once the transcript is delivered: a turn whose connection (or
 * request) ends before its `completed`/`failed` (or REST answer) went out gives its element
 * back, and the next turn takes the earliest element given back. A client that reconnects and
 * replays a lost turn therefore gets the same scripted text for it. Replacing a list starts
 * again from its first element. When a list runs out the fallbacks below apply, so a scenario
 * never fails for want of a script:
 * - transcript: `"[N ms of audio]"`, N being the turn's duration rounded to the millisecond;
 * - reply: `"You said: <text>"` echoing the last user text or transcript in the model's input,
 *   or `"Hello from the simulator."` when there is none.
 * @module
 */
import { REALTIME_SAMPLE_RATE_HZ } from "../protocol/audioFormat.ts"
import type {
  ConnectionKind,
  ConnectionScript,
  HttpFault,
  ModelReply,
  ReplyRequest,
  RestEndpoint,
  Scenario,
  ScriptedFunctionCall,
  TranscriptOutcome,
  TranscriptRequest,
} from "./types.ts"
import { heardText } from "./voice.ts"

/** Sample rate of every audio buffer the simulator keeps, in Hz. */
const SAMPLE_RATE_HZ = REALTIME_SAMPLE_RATE_HZ

/**
 * A deterministic pseudo-random source: the same seed gives the same sequence of numbers
 * in [0, 1). A 32-bit counter-based generator (a Weyl sequence scrambled by multiply-xorshift
 * rounds), fast and good enough for ids and jitter; not for cryptography.
 */
export const createRandom = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    z = (z ^ (z >>> 16)) >>> 0
    return z / 0x1_0000_0000
  }
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const ID_LENGTH = 21

/**
 * Makes a generator of deterministic ids shaped like the service's (`item_`, `resp_`,
 * `event_`, `call_`, `sess_` followed by 21 alphanumerics). Same seed, same order of calls,
 * same ids.
 */
export const createIdGenerator = (seed: number): ((prefix: string) => string) => {
  const random = createRandom(seed)
  return (prefix) => {
    let id = prefix
    for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[Math.floor(random() * ID_ALPHABET.length)]
    return id
  }
}

/** Options of {@link createScenario}. */
export interface ScenarioOptions {
  /** Seed of the ids and pseudo-random parts (default 1). */
  readonly seed?: number
  /** The transcripts (default none: the fallback applies). */
  readonly transcripts?: Scenario["transcripts"]
  /** The replies (default none: the fallback applies). */
  readonly replies?: Scenario["replies"]
}

interface Cursor {
  list: readonly unknown[] | undefined
  next: number
  /** Indexes taken and given back, in ascending order: taken again before `next`. */
  returned: number[]
}

const newCursor = (): Cursor => ({ list: undefined, next: 0, returned: [] })

const cursors = new WeakMap<Scenario, { transcripts: Cursor; replies: Cursor }>()

const cursorsOf = (scenario: Scenario) => {
  let state = cursors.get(scenario)
  if (state === undefined) {
    state = { transcripts: newCursor(), replies: newCursor() }
    cursors.set(scenario, state)
  }
  return state
}

/**
 * Takes the index of the next element of a scripted list (the earliest one given back, else
 * the next unused one), restarting when the list object was replaced; `undefined` when spent.
 */
const takeIndex = (cursor: Cursor, list: readonly unknown[]): number | undefined => {
  if (cursor.list !== list) {
    cursor.list = list
    cursor.next = 0
    cursor.returned = []
  }
  const returned = cursor.returned.shift()
  if (returned !== undefined) return returned
  if (cursor.next >= list.length) return undefined
  cursor.next += 1
  return cursor.next - 1
}

/** Gives an element back to its list, unless the list was replaced since it was taken. */
const giveBack = (cursor: Cursor, list: readonly unknown[], index: number): void => {
  if (cursor.list !== list || cursor.returned.includes(index)) return
  cursor.returned.push(index)
  cursor.returned.sort((a, b) => a - b)
}

/** Takes the next element of a scripted list for good. */
const takeFromList = <A>(cursor: Cursor, list: readonly A[]): A | undefined => {
  const index = takeIndex(cursor, list)
  return index === undefined ? undefined : list[index]
}

/**
 * Creates a scenario with empty script queues. Defaults: no transcripts and no replies (the
 * fallbacks apply), seed 1.
 */
export const createScenario = (options: ScenarioOptions = {}): Scenario => {
  const connectionScripts = new Map<ConnectionKind, ConnectionScript[]>()
  const httpFaults = new Map<RestEndpoint, HttpFault[]>()
  return {
    transcripts: options.transcripts ?? [],
    replies: options.replies ?? [],
    seed: options.seed ?? 1,
    connectionScripts,
    httpFaults,
    nextConnection(kind, script) {
      const queue = connectionScripts.get(kind) ?? []
      queue.push(script)
      connectionScripts.set(kind, queue)
    },
    nextHttp(endpoint, fault) {
      const queue = httpFaults.get(endpoint) ?? []
      queue.push(fault)
      httpFaults.set(endpoint, queue)
    },
  }
}

/** Takes the script queued for the next connection of `kind` (an empty script when none is queued). */
export const takeConnectionScript = (scenario: Scenario, kind: ConnectionKind): ConnectionScript =>
  scenario.connectionScripts.get(kind)?.shift() ?? {}

/** Takes the scripted answer queued for the next request to `endpoint`, if any. */
export const takeHttpFault = (scenario: Scenario, endpoint: RestEndpoint): HttpFault | undefined =>
  scenario.httpFaults.get(endpoint)?.shift()

/** A transcript outcome with its defaults filled in. */
export interface ResolvedTranscript {
  readonly text: string
  /** ISO-639-1 code, when scripted. */
  readonly language: string | undefined
  /** The scripted failure of this turn, if any. */
  readonly fail: { readonly code: string; readonly message: string } | undefined
  /** Delay before the turn's transcription events, in milliseconds (0 when not scripted). */
  readonly delayMs: number
  /** 0..1 confidence behind the logprobs, when scripted. */
  readonly confidence: number | undefined
}

/** The transcript used when the scenario has none left: `"[N ms of audio]"`. */
export const fallbackTranscript = (audio: Int16Array): string =>
  `[${Math.round((audio.length * 1000) / SAMPLE_RATE_HZ)} ms of audio]`

const normalizeTranscript = (outcome: TranscriptOutcome): ResolvedTranscript =>
  typeof outcome === "string"
    ? { text: outcome, language: undefined, fail: undefined, delayMs: 0, confidence: undefined }
    : {
        text: outcome.text,
        language: outcome.language,
        fail: outcome.fail,
        delayMs: Math.max(0, outcome.delayMs ?? 0),
        confidence: outcome.confidence,
      }

/**
 * The transcript taken for one turn, held until the turn is delivered or lost (see the
 * module documentation and {@link Scenario.transcripts}).
 */
export interface TranscriptReservation {
  readonly transcript: ResolvedTranscript
  /** The transcript went out (`completed`, `failed` or the REST answer): it stays consumed. */
  delivered(): void
  /**
   * The turn ended before its transcript went out: a list element goes back to the list, for
   * the next turn to take. Does nothing after `delivered`, for a function or a fallback, or
   * when the list was replaced since. Idempotent.
   */
  release(): void
}

/**
 * Takes the transcript of one turn: the scenario's function (called with the words the audio
 * carries, if any), else the words the audio carries, else the next element of its list (the
 * earliest given back first), else the fallback. The caller reports `delivered` or `release`.
 * Used by the Realtime handlers and the REST transcription route alike.
 */
export const reserveTranscript = (scenario: Scenario, request: TranscriptRequest): TranscriptReservation => {
  const heard = request.heard ?? heardText(request.audio, SAMPLE_RATE_HZ)
  const source = scenario.transcripts
  if (typeof source === "function")
    return settled(normalizeTranscript(source(heard === undefined ? request : { ...request, heard })))
  if (heard !== undefined) return settled(normalizeTranscript(heard))
  const cursor = cursorsOf(scenario).transcripts
  const index = takeIndex(cursor, source)
  const outcome = index === undefined ? undefined : source[index]
  if (index === undefined || outcome === undefined)
    return settled(normalizeTranscript(fallbackTranscript(request.audio)))
  let open = true
  return {
    transcript: normalizeTranscript(outcome),
    delivered() {
      open = false
    },
    release() {
      if (!open) return
      open = false
      giveBack(cursor, source, index)
    },
  }
}

const settled = (transcript: ResolvedTranscript): TranscriptReservation => ({
  transcript,
  delivered() {},
  release() {},
})

/** A reservation of a fixed text that takes nothing from the scenario (e.g. for a silent item). */
export const settledTranscript = (text: string): TranscriptReservation => settled(normalizeTranscript(text))

/**
 * Resolves the transcript of one turn for good (a {@link reserveTranscript} delivered at once):
 * the scenario's function, or the next element of its list, or the fallback.
 */
export const resolveTranscript = (scenario: Scenario, request: TranscriptRequest): ResolvedTranscript => {
  const reservation = reserveTranscript(scenario, request)
  reservation.delivered()
  return reservation.transcript
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The text a user item carries: its `input_text` texts or its audio transcripts, joined.
 * Accepts Realtime items and Responses input items (whose `type` may be absent and whose
 * `content` may be a plain string).
 */
const userTextOf = (item: unknown): string | undefined => {
  if (!isRecord(item) || item.role !== "user") return undefined
  if (item.type !== undefined && item.type !== "message") return undefined
  if (typeof item.content === "string") return item.content
  if (!Array.isArray(item.content)) return undefined
  const parts: string[] = []
  for (const part of item.content) {
    if (!isRecord(part)) continue
    if (typeof part.text === "string") parts.push(part.text)
    else if (typeof part.transcript === "string") parts.push(part.transcript)
  }
  return parts.length > 0 ? parts.join(" ") : undefined
}

/** The reply used when the scenario has none left (see the module documentation). */
export const fallbackReply = (request: ReplyRequest): ModelReply => {
  for (let i = request.input.length - 1; i >= 0; i--) {
    const text = userTextOf(request.input[i])
    if (text !== undefined) return { text: `You said: ${text}` }
  }
  return { text: "Hello from the simulator." }
}

/** Resolves the reply of one response: the scenario's function, the next list element, or the fallback. */
export const resolveReply = (scenario: Scenario, request: ReplyRequest): ModelReply => {
  const source = scenario.replies
  if (typeof source === "function") return source(request)
  return takeFromList(cursorsOf(scenario).replies, source) ?? fallbackReply(request)
}

/**
 * The function calls of a reply (`functionCall` as a list of one, `functionCalls` as given),
 * or `undefined` for a text reply.
 * @throws {Error} for a reply that is none of the {@link ModelReply} shapes, or a
 * `functionCalls` list that is empty (scenario mistakes)
 */
export const functionCallsOf = (reply: ModelReply): readonly ScriptedFunctionCall[] | undefined => {
  const candidate: unknown = reply
  if (typeof candidate === "object" && candidate !== null) {
    if ("functionCalls" in candidate) {
      const calls = candidate.functionCalls
      if (!Array.isArray(calls) || calls.length === 0) {
        throw new Error("A functionCalls reply needs at least one call.")
      }
      return calls as readonly ScriptedFunctionCall[]
    }
    if ("functionCall" in candidate) return [candidate.functionCall as ScriptedFunctionCall]
    if ("text" in candidate && typeof candidate.text === "string") return undefined
  }
  throw new Error(
    `A scripted reply must be { text }, { functionCall } or { functionCalls }, got ${JSON.stringify(candidate)}.`,
  )
}
