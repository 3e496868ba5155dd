/**
 * What the inspector shows of a session's context and events: secrets never (keys named like
 * credentials, strings shaped like API keys or bearer tokens), and texts (transcripts,
 * instructions, deltas) only when the inspector was opted in with `includeText`. Audio (typed
 * arrays, base64 audio deltas) is summarized by its size, never dumped.
 * @module
 */
import { REDACTED_TEXT, type Scrubber } from "../transport/scrub.ts"

/** Keys that hold credentials (`token`, `accessToken`, `id_token`; not the `input_tokens` of a usage report). */
const SECRET_KEY = /(api[-_]?key|secret|token$|password|authorization|credential|bearer)/i
/** Keys of texts: a transcript, a prompt, a reply (`userText`, `replyText`, `heard`...), a tool call's arguments. */
const TEXT_KEY =
  /^(text|transcript|delta|instructions|prompt|input|content|message|arguments|rawArguments|heard|said|pendingTurn|output)$|(Text|Transcript)$/i
/** Keys whose value, of any shape, is a tool call's arguments (parsed or not). */
const ARGUMENTS_KEY = /^(raw)?arguments$/i
/** Objects whose `output` is a tool's result (they, or any object with a `callId`): data about the user, shown only with the texts. */
const TOOL_OUTPUT_TYPES = new Set(["function_call_output", "tool_result"])
const MAX_DEPTH = 6
const MAX_ITEMS = 50
const MAX_STRING = 400
/** Keys whose long base64 strings are audio, summarized by their size. */
const AUDIO_KEY = /^(audio|delta|data|chunk|pcm)$/i
const MIN_AUDIO_BASE64 = 64
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** Options of {@link redact}. */
export interface RedactOptions {
  /** Show texts (transcripts, prompts, deltas). Secrets are removed regardless. */
  readonly includeText: boolean
  /** Removes the known secrets (API keys of the sessions inspected). */
  readonly scrub: Scrubber
}

const KEY_SHAPED = /\b(sk-[A-Za-z0-9_-]{6,}|Bearer\s+[A-Za-z0-9._~+/=-]{6,})/g

/** `text` with every known secret and every key-shaped string replaced. */
export const scrubText = (text: string, scrub: Scrubber): string => {
  const scrubbed = scrub(text)
  // Most texts hold neither marker: the pattern runs only on those that do.
  return scrubbed.includes("sk-") || scrubbed.includes("Bearer")
    ? scrubbed.replace(KEY_SHAPED, REDACTED_TEXT)
    : scrubbed
}

const SECRET = 1
const ARGUMENTS = 2
const AUDIO = 4
const TEXT = 8
/** What each key is, by the patterns above; a session's keys are few and repeat, so each is matched once. */
const keyClasses = new Map<string, number>()
const classOf = (key: string): number => {
  let c = keyClasses.get(key)
  if (c === undefined) {
    c =
      (SECRET_KEY.test(key) ? SECRET : 0) |
      (ARGUMENTS_KEY.test(key) ? ARGUMENTS : 0) |
      (AUDIO_KEY.test(key) ? AUDIO : 0) |
      (TEXT_KEY.test(key) ? TEXT : 0)
    if (keyClasses.size < 10_000) keyClasses.set(key, c)
  }
  return c
}

/** A JSON-safe, redacted copy of `value`. */
export const redact = (value: unknown, options: RedactOptions, depth = 0, key = ""): unknown => {
  const keyClass = classOf(key)
  if ((keyClass & SECRET) !== 0) return "[redacted]"
  if (!options.includeText && (keyClass & ARGUMENTS) !== 0 && value !== null && typeof value === "object") {
    return `[arguments: ${JSON.stringify(value).length} chars]`
  }
  if (value === null || value === undefined) return value ?? null
  if (typeof value === "string") {
    if ((keyClass & AUDIO) !== 0 && value.length >= MIN_AUDIO_BASE64 && BASE64.test(value)) {
      return `[audio: ${Math.floor((value.length * 3) / 4)} bytes]`
    }
    if (!options.includeText && (keyClass & TEXT) !== 0) return `[text: ${value.length} chars]`
    const scrubbed = scrubText(value, options.scrub)
    return scrubbed.length > MAX_STRING ? `${scrubbed.slice(0, MAX_STRING)}…` : scrubbed
  }
  if (typeof value === "number" || typeof value === "boolean") return value
  if (typeof value === "bigint") return value.toString()
  if (typeof value === "function" || typeof value === "symbol") return undefined
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`
  if (depth >= MAX_DEPTH) return "[…]"
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => redact(v, options, depth + 1, key))
    return value.length > MAX_ITEMS ? [...items, `[+${value.length - MAX_ITEMS} more]`] : items
  }
  if (value instanceof Map) return redact(Object.fromEntries(value), options, depth, key)
  if (value instanceof Set) return redact([...value], options, depth, key)
  if (typeof value === "object") {
    if ("sessionId" in value && "send" in value && "getSnapshot" in value) {
      return `[actor ${String((value as { id?: unknown }).id ?? "")}]`
    }
    const out: Record<string, unknown> = {}
    let n = 0
    const toolOutput =
      !options.includeText &&
      ("callId" in value || TOOL_OUTPUT_TYPES.has(String((value as { type?: unknown }).type)))
    for (const [k, v] of Object.entries(value)) {
      if (n++ >= MAX_ITEMS) break
      if (toolOutput && k === "output") {
        out[k] = `[tool output: ${JSON.stringify(v ?? null).length} chars]`
        continue
      }
      const r = redact(v, options, depth + 1, k)
      if (r !== undefined) out[k] = r
    }
    return out
  }
  return String(value)
}
