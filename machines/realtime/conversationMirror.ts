/**
 * The mirror of a Realtime conversation: the server's items in server order, kept from
 * `conversation.item.added` / `.done` / `.deleted` / `.truncated` and from the response's own
 * deltas (assistant transcripts and the audio received for them), as plain frozen data.
 *
 * It answers three questions the session asks: what the conversation is as `ChatItem`s (the
 * `chatContext` users see, and what a new connection re-creates), how much audio of an
 * assistant item was received (the bound of a truncate), and what transcript was heard up to
 * a point of playback (what the item holds after a truncate).
 * @module
 */
import type { ChatItem } from "../responses/chatItems.ts"
import { trustedChatItem } from "../responses/chatItems.ts"

/** One item of the mirror. */
export interface MirrorItem {
  readonly id: string
  /** The item as the conversation holds it (assistant audio as its transcript). */
  readonly item: ChatItem
  /** Assistant audio items: milliseconds of audio received (24 kHz), else 0. */
  readonly audioMs: number
  /**
   * Assistant audio items: where each transcript piece began on the item's audio, in ms, and
   * the transcript length after it (so a truncate keeps the pieces that were wholly heard).
   */
  readonly marks: readonly { readonly atMs: number; readonly length: number }[]
  /** True once `conversation.item.done` (or a create acknowledgement) came for it. */
  readonly done: boolean
  /** True for assistant items carrying audio (the ones a truncate may cut). */
  readonly hasAudio: boolean
  /** A user audio item whose transcript has not arrived: re-created as nothing but its text. */
  readonly pendingTranscript: boolean
}

/** The mirror: items in server order. */
export type ConversationMirror = readonly MirrorItem[]

/** An empty conversation. */
export const emptyMirror: ConversationMirror = []

/** What a server item is, read from its decoded wire form (only the fields the mirror keeps). */
export type MirrorItemInput =
  | {
      readonly type: "message"
      readonly id: string
      readonly role: "user" | "assistant" | "system"
      /** Text of the item: the text parts, or the transcripts of audio parts. */
      readonly text: string
      /** True when the item holds audio (user input audio, or assistant output audio). */
      readonly audio: boolean
      /** A user audio part whose transcript is still `null`. */
      readonly transcriptPending: boolean
    }
  | {
      readonly type: "function_call"
      readonly id: string
      readonly callId: string
      readonly name: string
      readonly arguments: string
    }
  | {
      readonly type: "function_call_output"
      readonly id: string
      readonly callId: string
      readonly output: string
    }

const chatItemOf = (input: MirrorItemInput): ChatItem => {
  switch (input.type) {
    case "message":
      return trustedChatItem({ type: "message", id: input.id, role: input.role, content: input.text })
    case "function_call":
      return trustedChatItem({
        type: "function_call",
        id: input.id,
        callId: input.callId,
        name: input.name,
        arguments: input.arguments,
      })
    case "function_call_output":
      return trustedChatItem({
        type: "function_call_output",
        id: input.id,
        callId: input.callId,
        output: input.output,
      })
  }
}

const indexOf = (mirror: ConversationMirror, id: string): number => mirror.findIndex((m) => m.id === id)

/**
 * Adds (or, when already present, refreshes) an item after `previousItemId` (`null`: first;
 * `undefined` or an id the mirror does not hold: last).
 */
export const mirrorAdded = (
  mirror: ConversationMirror,
  input: MirrorItemInput,
  previousItemId: string | null | undefined,
  done: boolean,
): ConversationMirror => {
  const existing = indexOf(mirror, input.id)
  if (existing >= 0) {
    const old = mirror[existing] as MirrorItem
    const keepStreamed =
      input.type === "message" &&
      input.role === "assistant" &&
      input.text === "" &&
      old.item.type === "message"
    const next: MirrorItem = {
      ...old,
      item: keepStreamed ? old.item : chatItemOf(input),
      done: old.done || done,
      hasAudio: old.hasAudio || (input.type === "message" && input.audio),
      pendingTranscript: input.type === "message" && input.transcriptPending,
    }
    return mirror.map((m, i) => (i === existing ? next : m))
  }
  const item: MirrorItem = {
    id: input.id,
    item: chatItemOf(input),
    audioMs: 0,
    marks: [],
    done,
    hasAudio: input.type === "message" && input.audio,
    pendingTranscript: input.type === "message" && input.transcriptPending,
  }
  if (previousItemId === null) return [item, ...mirror]
  const after = previousItemId === undefined ? -1 : indexOf(mirror, previousItemId)
  if (after < 0) return [...mirror, item]
  return [...mirror.slice(0, after + 1), item, ...mirror.slice(after + 1)]
}

/** Removes an item (unknown ids change nothing). */
export const mirrorDeleted = (mirror: ConversationMirror, id: string): ConversationMirror =>
  mirror.filter((m) => m.id !== id)

const updateItem = (
  mirror: ConversationMirror,
  id: string,
  update: (item: MirrorItem) => MirrorItem,
): ConversationMirror => {
  const at = indexOf(mirror, id)
  if (at < 0) return mirror
  return mirror.map((m, i) => (i === at ? update(m) : m))
}

const withText = (item: ChatItem, text: string): ChatItem =>
  item.type === "message" ? trustedChatItem({ ...item, content: text }) : item

/** An assistant transcript (or text) delta of item `id`: appended, marked at the audio received so far. */
export const mirrorTranscriptDelta = (
  mirror: ConversationMirror,
  id: string,
  delta: string,
): ConversationMirror =>
  updateItem(mirror, id, (m) => {
    if (m.item.type !== "message") return m
    const text = m.item.content + delta
    return {
      ...m,
      item: withText(m.item, text),
      marks: [...m.marks, { atMs: m.audioMs, length: text.length }],
    }
  })

/** The whole transcript (or text) of item `id` (a `.done` event): replaces what the deltas built. */
export const mirrorTranscriptDone = (
  mirror: ConversationMirror,
  id: string,
  text: string,
): ConversationMirror =>
  updateItem(mirror, id, (m) => (m.item.type === "message" ? { ...m, item: withText(m.item, text) } : m))

/** A user item's input transcript arrived. */
export const mirrorInputTranscript = (
  mirror: ConversationMirror,
  id: string,
  text: string,
): ConversationMirror =>
  updateItem(mirror, id, (m) => ({ ...m, item: withText(m.item, text), pendingTranscript: false }))

/** Assistant audio of item `id` arrived (`ms` more of it). */
export const mirrorAudio = (mirror: ConversationMirror, id: string, ms: number): ConversationMirror =>
  updateItem(mirror, id, (m) => ({ ...m, audioMs: m.audioMs + ms, hasAudio: true }))

/** A function call's arguments are complete. */
export const mirrorArguments = (mirror: ConversationMirror, id: string, args: string): ConversationMirror =>
  updateItem(mirror, id, (m) =>
    m.item.type === "function_call" ? { ...m, item: trustedChatItem({ ...m.item, arguments: args }) } : m,
  )

/**
 * The transcript heard of an assistant item played to `audioEndMs`: the pieces whose audio
 * ended by then (a piece ends where the next began, the last at the audio received).
 */
export const heardTranscript = (item: MirrorItem, audioEndMs: number): string => {
  let length = 0
  for (let i = 0; i < item.marks.length; i++) {
    const end = item.marks[i + 1]?.atMs ?? item.audioMs
    if (end > audioEndMs) break
    length = item.marks[i]?.length ?? length
  }
  return item.item.type === "message" ? item.item.content.slice(0, length) : ""
}

/** The server truncated item `id` at `audioEndMs`: its audio and transcript end there. */
export const mirrorTruncated = (
  mirror: ConversationMirror,
  id: string,
  audioEndMs: number,
): ConversationMirror =>
  updateItem(mirror, id, (m) => {
    const text = heardTranscript(m, audioEndMs)
    return {
      ...m,
      item: withText(m.item, text),
      audioMs: Math.min(m.audioMs, audioEndMs),
      marks: m.marks.filter((mark) => mark.length <= text.length),
    }
  })

/**
 * The position a truncate may name: the played milliseconds, an integer, never negative and
 * never beyond the audio received for the item (the server refuses an `audio_end_ms` past it).
 * A non-finite played position counts as all of the audio received (NaN as none).
 */
export const clampTruncateMs = (playedMs: number, receivedMs: number): number => {
  const bound = Math.max(0, Math.floor(Number.isFinite(receivedMs) ? receivedMs : 0))
  if (Number.isNaN(playedMs)) return 0
  return Math.max(0, Math.min(bound, Math.floor(playedMs)))
}

/** The conversation as chat items, in server order. */
export const mirrorChatItems = (mirror: ConversationMirror): readonly ChatItem[] => mirror.map((m) => m.item)
