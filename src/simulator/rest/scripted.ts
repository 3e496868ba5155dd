/**
 * Taking the next scripted answer from the scenario for the REST endpoints and the
 * Responses socket. A list is consumed from its head (the scenario's list is replaced by
 * its remainder, so a test sees what is left); a function is called with the request.
 * When a list is exhausted the answer is derived from the input: a transcript from the
 * audio's voiced regions (silence gives ""), a reply that echoes the last user text.
 * @module
 */
import type { ModelReply, ReplyRequest, Scenario, TranscriptOutcome, TranscriptRequest } from "../types.ts"
import { voicedRegions } from "./timing.ts"

/** Per-scenario request counters (the `index` of each request kind). */
const counters = new WeakMap<Scenario, Map<string, number>>()

/** The next zero-based index for requests of `kind` on this scenario (simulator). */
export const nextRequestIndex = (scenario: Scenario, kind: string): number => {
  let map = counters.get(scenario)
  if (map === undefined) {
    map = new Map()
    counters.set(scenario, map)
  }
  const index = map.get(kind) ?? 0
  map.set(kind, index + 1)
  return index
}

/**
 * The transcript the audio of `request` derives to when the scenario has none left:
 * one sentence per voiced region, naming its length (`""` for silence).
 */
export const derivedTranscript = (audio: Int16Array, sampleRateHz = 24_000): string =>
  voicedRegions(audio, { sampleRateHz })
    .map((r, i) => `Speech ${i + 1} lasting ${(r.end - r.start).toFixed(1)} seconds.`)
    .join(" ")

/** Takes the next transcript outcome for `request` (see the module description). */
export const takeTranscript = (scenario: Scenario, request: TranscriptRequest): TranscriptOutcome => {
  const source = scenario.transcripts
  if (typeof source === "function") return source(request)
  const [head, ...rest] = source
  if (head === undefined) return derivedTranscript(request.audio)
  scenario.transcripts = rest
  return head
}

/** The text of a message-like item (string content or `input_text`/`text`/`output_text` parts). */
export const itemText = (item: unknown): string => {
  if (typeof item === "string") return item
  if (item === null || typeof item !== "object") return ""
  const content = (item as { content?: unknown }).content
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) =>
        part !== null && typeof part === "object" && typeof (part as { text?: unknown }).text === "string"
          ? (part as { text: string }).text
          : "",
      )
      .join("")
  }
  return ""
}

/** The reply a request derives to when the scenario has none left: an echo of the last user text. */
export const derivedReply = (input: readonly unknown[]): ModelReply => {
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i]
    if (item !== null && typeof item === "object" && (item as { role?: unknown }).role === "user") {
      return { text: `You said: ${itemText(item)}` }
    }
  }
  return { text: "Hello from the simulator." }
}

/** Takes the next model reply for `request` (see the module description). */
export const takeReply = (scenario: Scenario, request: ReplyRequest): ModelReply => {
  const source = scenario.replies
  if (typeof source === "function") return source(request)
  const [head, ...rest] = source
  if (head === undefined) return derivedReply(request.input)
  scenario.replies = rest
  return head
}
