/**
 * The agent session's pure rules: how many words a transcript holds (the barge-in guard),
 * which words of a reply the caller heard (from the synthesis segment timeline and the
 * output's played position), and how the chat context is cut to those words.
 * @module
 */
import type { ChatItem, ChatItemInput } from "../responses/chatItems.ts"

/** The words of `text` (runs of non-space characters). */
export const wordsOf = (text: string): readonly string[] => text.split(/\s+/).filter((w) => w !== "")

/** Joins two pieces of what the caller said with one space. */
export const joinUtterances = (before: string, after: string): string =>
  before === "" ? after : after === "" ? before : `${before} ${after}`

/** Cuts `text` to the words within `fraction` of it (whole words only). */
export const wordsHeard = (text: string, fraction: number): string => {
  if (fraction >= 1) return text
  if (fraction <= 0) return ""
  return wordsWithin(text, Math.floor(text.length * fraction))
}

/** The whole words of `text` that end at or before character `limit`. */
export const wordsWithin = (text: string, limit: number): string => {
  if (limit >= text.length) return text
  if (limit <= 0) return ""
  const cut = text.slice(0, limit)
  const next = text.charAt(limit)
  if (next === "" || /\s/.test(next)) return cut.trimEnd()
  const lastSpace = cut.search(/\s\S*$/)
  return lastSpace < 0 ? "" : cut.slice(0, lastSpace).trimEnd()
}

/** One synthesized segment of a reply, in text order: its characters and its audio. */
export interface TimelineSegment {
  /** Characters of reply text the segment speaks; undefined while it is still being synthesized. */
  readonly characters: number | undefined
  /** Audio of the segment received so far (all of it once `characters` is known), in ms. */
  readonly audioMs: number
}

/** Speaking rate assumed before any segment is finished (about 15 characters a second). */
export const DEFAULT_CHARACTERS_PER_MS = 0.015

/**
 * The part of `reply` the caller heard once `playedMs` of its audio was played, cut to whole
 * words. Finished segments map their audio onto their characters proportionally; a segment
 * still being synthesized (its length not known yet) is read at the speaking rate of the
 * finished ones (or {@link DEFAULT_CHARACTERS_PER_MS}), never past the text sent.
 */
export const heardText = (reply: string, segments: readonly TimelineSegment[], playedMs: number): string => {
  let characters = 0
  let remainingMs = Math.max(0, playedMs)
  let doneCharacters = 0
  let doneMs = 0
  for (const segment of segments) {
    if (remainingMs <= 0) break
    if (segment.characters === undefined) {
      const rate = doneMs > 0 ? doneCharacters / doneMs : DEFAULT_CHARACTERS_PER_MS
      characters += Math.min(remainingMs, segment.audioMs) * rate
      remainingMs = 0
      break
    }
    if (remainingMs >= segment.audioMs) {
      characters += segment.characters
      remainingMs -= segment.audioMs
    } else {
      characters += segment.audioMs > 0 ? (segment.characters * remainingMs) / segment.audioMs : 0
      remainingMs = 0
    }
    doneCharacters += segment.characters
    doneMs += segment.audioMs
  }
  // Segments may drop the spaces between them: count characters on the reply with single spaces.
  return wordsWithin(reply, Math.floor(characters + segmentGaps(segments, characters)))
}

/** One character per segment boundary passed (the space the segmenter dropped). */
const segmentGaps = (segments: readonly TimelineSegment[], characters: number): number => {
  let gaps = 0
  let at = 0
  for (const segment of segments) {
    if (segment.characters === undefined) break
    at += segment.characters
    if (at >= characters) break
    gaps++
  }
  return gaps
}

type Item = ChatItem | ChatItemInput

/** An assistant message with text content (what synthesis spoke). */
interface AssistantText {
  readonly type?: "message"
  readonly id?: string
  readonly role: "assistant"
  readonly content: string
}

const isAssistantMessage = (item: Item): item is AssistantText =>
  (item.type === undefined || item.type === "message") &&
  "role" in item &&
  item.role === "assistant" &&
  typeof (item as { content?: unknown }).content === "string"

/**
 * The chat context with the reply that started at item `from` cut to `heard`: its assistant
 * messages keep, in order, the words the caller heard and messages left with no word are
 * dropped; tool calls and their outputs stay (they happened). Heard words no message holds yet
 * (text of a model turn cut off before it ended) become one last assistant message.
 */
export const cutReplyToHeard = (items: readonly Item[], from: number, heard: string): Item[] => {
  const before = items.slice(0, from)
  const reply = items.slice(from)
  let left = wordsOf(heard)
  const cut: Item[] = []
  for (const item of reply) {
    if (!isAssistantMessage(item)) {
      cut.push(item)
      continue
    }
    const words = wordsOf(item.content)
    const kept = Math.min(words.length, left.length)
    left = left.slice(kept)
    if (kept > 0) cut.push({ ...item, content: words.slice(0, kept).join(" ") } satisfies AssistantText)
  }
  if (left.length > 0) cut.push({ role: "assistant", content: left.join(" ") })
  return [...before, ...cut]
}
