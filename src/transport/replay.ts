/**
 * Replaying a recording (recording.ts) in place of the network: a {@link RealtimeSocketShape}
 * whose connections are the recorded ones, in order. The session's sent frames are matched
 * against the recorded ones (audio appends by length and position, JSON by type and fields,
 * ids the session made up bound to the recorded ones and rewritten in what the server says
 * next); the server's frames are answered once the frames recorded before them were sent, at
 * the recorded pace on the Effect clock (so a `TestClock` replays in virtual time) or at once.
 * The first difference is a {@link ReplayError} naming the recorded frame.
 * @module
 */
import { Cause, Clock, Data, Deferred, Effect, Layer, Queue, Stream } from "effect"
import { RealtimeSocket, type RealtimeSocketShape, type SocketConnection } from "./RealtimeSocket.ts"
import {
  type HttpEntry,
  RECORDING_FORMAT,
  RECORDING_VERSION,
  type RecordedFailure,
  type RecordingHeader,
  type SocketEntry,
} from "./recording.ts"
import { scrubberOfConnection } from "./scrub.ts"
import { TransportError } from "./TransportError.ts"

/**
 * Why a replay failed.
 * - `Unreadable`: a line of the recording is not a recording entry (`line`, 1-based).
 * - `UnknownVersion`: the recording is of another format version.
 * - `Diverged`: the session sent something else than the recorded frame at `line`: `path` is
 *   the first differing field (`$.type`, `$.audio.length`, ...), `expected`/`actual` short forms.
 * - `Unsent`: the session ended without sending the recorded frame at `line`.
 * - `NoConnection`: the session opened connection `connection`, which the recording lacks.
 */
export type ReplayErrorReason =
  | { readonly _tag: "Unreadable"; readonly line: number }
  | { readonly _tag: "UnknownVersion"; readonly version: unknown }
  | {
      readonly _tag: "Diverged"
      readonly connection: number
      readonly line: number
      readonly path: string
      readonly expected: string
      readonly actual: string
    }
  | { readonly _tag: "Unsent"; readonly connection: number; readonly line: number; readonly expected: string }
  | { readonly _tag: "NoConnection"; readonly connection: number }

/** The one error of replay. */
export class ReplayError extends Data.TaggedError("ReplayError")<{
  readonly reason: ReplayErrorReason
  readonly message: string
}> {}

/** True when `u` is a {@link ReplayError}. */
export const isReplayError = (u: unknown): u is ReplayError => u instanceof ReplayError

/** A recorded socket entry with the line it was read from. */
export type RecordingLine = SocketEntry & { readonly line: number }

/** A recorded HTTP entry with the line it was read from. */
export type HttpRecordingLine = HttpEntry & { readonly line: number }

type FrameLine = Extract<SocketEntry, { readonly dir: "out" | "in" }> & { readonly line: number }

/** A parsed recording: its header and its entries in file order. */
export interface Recording {
  readonly header: RecordingHeader
  /** The WebSocket entries, in file order. */
  readonly entries: ReadonlyArray<RecordingLine>
  /** The HTTP entries (the REST client's), in file order. */
  readonly http: ReadonlyArray<HttpRecordingLine>
}

/** Where a URL leads on its server: path and query, the host left out (it changes between runs). */
const targetOf = (url: string): string => {
  try {
    const parsed = new URL(url)
    parsed.searchParams.sort()
    return `${parsed.pathname}${parsed.search}`
  } catch {
    return url
  }
}

const urlOf = (entry: SocketEntry | undefined): string =>
  entry !== undefined && (entry.dir === "open" || entry.dir === "refused") ? entry.url : ""

const DIRECTIONS = new Set(["open", "refused", "out", "in", "close", "end", "fail"])
const HTTP_DIRECTIONS = new Set(["request", "response", "chunk", "done", "error"])

/**
 * Reads a recording's JSONL text. Throws {@link ReplayError} `Unreadable` (naming the line)
 * or `UnknownVersion`. A last line cut short (a killed process) is ignored.
 */
export const parseRecording = (text: string): Recording => {
  const lines = text.split("\n")
  const entries: Array<RecordingLine> = []
  const http: Array<HttpRecordingLine> = []
  let header: RecordingHeader | undefined
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]?.trim() ?? ""
    if (raw === "") continue
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch {
      if (index === lines.length - 1 || lines.slice(index + 1).every((l) => l.trim() === "")) break
      throw unreadable(index + 1)
    }
    if (header === undefined) {
      const h = value as Partial<RecordingHeader>
      if (h?.recording !== RECORDING_FORMAT) throw unreadable(index + 1)
      if (h.version !== RECORDING_VERSION) {
        throw new ReplayError({
          reason: { _tag: "UnknownVersion", version: h.version },
          message: `recording version ${JSON.stringify(h.version ?? null)} is not readable (reads ${RECORDING_VERSION})`,
        })
      }
      header = h as RecordingHeader
      continue
    }
    const entry = value as Partial<SocketEntry | HttpEntry>
    if (typeof entry.t !== "number" || typeof entry.conn !== "number") throw unreadable(index + 1)
    if (DIRECTIONS.has(String(entry.dir))) entries.push({ ...(entry as SocketEntry), line: index + 1 })
    else if (HTTP_DIRECTIONS.has(String(entry.dir))) http.push({ ...(entry as HttpEntry), line: index + 1 })
    else throw unreadable(index + 1)
  }
  if (header === undefined) throw unreadable(1)
  return { header, entries, http }
}

const unreadable = (line: number): ReplayError =>
  new ReplayError({
    reason: { _tag: "Unreadable", line },
    message: `line ${line} of the recording is not an entry`,
  })

/** The recorded frame's text, as the server sent it. @internal */
export const entryText = (entry: { readonly frame?: unknown; readonly text?: string }): string =>
  entry.text ?? JSON.stringify(entry.frame)

/** @internal */
export const short = (value: unknown): string => {
  const text = typeof value === "string" ? value : JSON.stringify(value)
  return text === undefined ? "undefined" : text.length > 80 ? `${text.slice(0, 77)}...` : text
}

const isIdKey = (key: string): boolean => key === "id" || key.endsWith("_id")

/** Base64 text's decoded length in bytes. */
const base64Bytes = (text: string): number => {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0
  return Math.floor((text.length * 3) / 4) - padding
}

/** The ids of one replay: recorded id → the one the session uses, and the ids the server made. */
/** @internal */
export interface IdBook {
  readonly bound: Map<string, string>
  readonly fromServer: Set<string>
}

const noteServerIds = (value: unknown, ids: IdBook): void => {
  if (Array.isArray(value)) {
    for (const item of value) noteServerIds(item, ids)
    return
  }
  if (typeof value !== "object" || value === null) return
  for (const [key, field] of Object.entries(value)) {
    if (typeof field === "string" && isIdKey(key)) ids.fromServer.add(field)
    else noteServerIds(field, ids)
  }
}

/** The recorded server frame with every bound id replaced by the session's own. */
const rewriteIds = (value: unknown, ids: IdBook): unknown => {
  if (ids.bound.size === 0) return value
  if (Array.isArray(value)) return value.map((item) => rewriteIds(item, ids))
  if (typeof value !== "object" || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    out[key] =
      typeof field === "string" && isIdKey(key) ? (ids.bound.get(field) ?? field) : rewriteIds(field, ids)
  }
  return out
}

/** The first path where `actual` differs from `expected`, binding ids the session made up. */
/** @internal */
export const firstDifference = (
  expected: unknown,
  actual: unknown,
  path: string,
  ids: IdBook,
  key = "",
): string | undefined => {
  if (typeof expected === "string" && typeof actual === "string" && isIdKey(key)) {
    const bound = ids.bound.get(expected)
    if (bound !== undefined) return bound === actual ? undefined : path
    if (expected === actual) return undefined
    // An id the server made must come back as it was; one the session made up is bound once.
    if (ids.fromServer.has(expected)) return path
    ids.bound.set(expected, actual)
    return undefined
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return path
    if (expected.length !== actual.length) return `${path}.length`
    for (let i = 0; i < expected.length; i++) {
      const at = firstDifference(expected[i], actual[i], `${path}[${i}]`, ids)
      if (at !== undefined) return at
    }
    return undefined
  }
  if (typeof expected === "object" && expected !== null) {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return path
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)])
    // The type first, so a different event is named as such.
    const ordered = keys.has("type") ? ["type", ...[...keys].filter((k) => k !== "type")] : [...keys]
    for (const name of ordered) {
      const at = firstDifference(
        (expected as Record<string, unknown>)[name],
        (actual as Record<string, unknown>)[name],
        `${path}.${name}`,
        ids,
        name,
      )
      if (at !== undefined) return at
    }
    return undefined
  }
  return Object.is(expected, actual) ? undefined : path
}

/** @internal */
export const valueAt = (value: unknown, path: string): unknown => {
  let at = value
  for (const part of path
    .replace(/^\$\.?/, "")
    .split(/\.|\[(\d+)\]/)
    .filter((p) => p !== undefined && p !== "")) {
    if (part === "length" && (Array.isArray(at) || typeof at === "string"))
      return (at as { length: number }).length
    at = typeof at === "object" && at !== null ? (at as Record<string, unknown>)[part] : undefined
  }
  return at
}

/** How a sent frame differs from the recorded one, or undefined when it matches. @internal */
export const compareSent = (
  expected: { readonly frame?: unknown; readonly text?: string },
  actualText: string,
  ids: IdBook,
  audioOffsetBytes: number,
): { readonly path: string; readonly expected: string; readonly actual: string } | undefined => {
  let actual: unknown
  try {
    actual = JSON.parse(actualText)
  } catch {
    return entryText(expected) === actualText
      ? undefined
      : { path: "$", expected: short(entryText(expected)), actual: short(actualText) }
  }
  if (expected.frame === undefined)
    return { path: "$", expected: short(expected.text), actual: short(actualText) }
  const recorded = expected.frame as Record<string, unknown>
  const sent = actual as Record<string, unknown>
  if (
    recorded.type === "input_audio_buffer.append" &&
    sent?.type === "input_audio_buffer.append" &&
    typeof recorded.audio === "string" &&
    typeof sent.audio === "string"
  ) {
    // Audio by length and position: the samples of a live caller never repeat exactly.
    const want = base64Bytes(recorded.audio)
    const got = base64Bytes(sent.audio)
    return want === got
      ? undefined
      : {
          path: "$.audio.length",
          expected: `${want} bytes at byte ${audioOffsetBytes}`,
          actual: `${got} bytes at byte ${audioOffsetBytes}`,
        }
  }
  const path = firstDifference(recorded, sent, "$", ids)
  return path === undefined
    ? undefined
    : { path, expected: short(valueAt(recorded, path)), actual: short(valueAt(sent, path)) }
}

/** Options of {@link makeSocketReplay}. */
export interface SocketReplayOptions {
  /**
   * `"recorded"` (default): each server frame comes as long after the previous entry as it
   * did when recorded, on the Effect clock. `"immediate"`: as soon as its turn comes.
   */
  readonly pace?: "recorded" | "immediate"
}

/** A replay: the socket to run a session on, and its verdict. */
export interface SocketReplay {
  /** The socket serving the recording. */
  readonly socket: RealtimeSocketShape
  /** The first divergence, once there is one. */
  readonly failure: () => ReplayError | undefined
  /**
   * After the session ended: fails with the first divergence, or `Unsent` for the first
   * recorded frame the session never sent.
   */
  readonly verify: Effect.Effect<void, ReplayError>
  /** Connections opened so far. */
  readonly connections: () => number
}

/** The audio bytes of an `input_audio_buffer.append` frame, or undefined for any other frame. */
const appendBytes = (frame: unknown): number | undefined => {
  const f = frame as { type?: unknown; audio?: unknown } | undefined
  return f?.type === "input_audio_buffer.append" && typeof f.audio === "string"
    ? base64Bytes(f.audio)
    : undefined
}

const parseOrUndefined = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const describeText = (text: string): string => {
  const type = (parseOrUndefined(text) as { type?: unknown } | undefined)?.type
  return typeof type === "string" ? type : short(text)
}

const describeSent = (entry: { readonly frame?: unknown; readonly text?: string }): string => {
  const type = (entry.frame as { type?: unknown } | undefined)?.type
  return typeof type === "string" ? type : short(entryText(entry))
}

/**
 * Serves `recording` as a socket. Connection `n` the session opens gets recorded connection
 * `n`; a refused recorded connection is refused again with the recorded error. On a
 * divergence the connection fails with a fatal `Read` {@link TransportError} whose message
 * names the recorded line, and `failure()` / `verify` give the {@link ReplayError}.
 */
export const makeSocketReplay = (recording: Recording, options: SocketReplayOptions = {}): SocketReplay => {
  const pace = options.pace ?? "recorded"
  const byConnection = new Map<number, Array<RecordingLine>>()
  for (const entry of recording.entries) {
    const list = byConnection.get(entry.conn) ?? []
    list.push(entry)
    byConnection.set(entry.conn, list)
  }
  const ids: IdBook = { bound: new Map(), fromServer: new Set() }
  let opened = 0
  const used = new Set<number>()
  let firstFailure: ReplayError | undefined
  /** Per connection, the line of the last recorded frame the session's sends have matched. */
  const progress = new Map<number, number>()

  const diverge = (error: ReplayError): ReplayError => {
    firstFailure ??= error
    return error
  }

  const toTransport = (error: RecordedFailure): TransportError => new TransportError(error)

  const connect: RealtimeSocketShape["connect"] = (connectOptions) =>
    Effect.gen(function* () {
      opened++
      // Connections are matched by target (path and query), in order: a parent opening
      // several sockets at once may open them in another order than when recorded.
      const target = targetOf(
        scrubberOfConnection(connectOptions.headers, connectOptions.protocols)(connectOptions.url),
      )
      const conn =
        [...byConnection.keys()].find(
          (n) => !used.has(n) && targetOf(urlOf(byConnection.get(n)?.[0])) === target,
        ) ?? -1
      used.add(conn)
      const entries = byConnection.get(conn)
      if (entries === undefined) {
        const error = diverge(
          new ReplayError({
            reason: { _tag: "NoConnection", connection: opened - 1 },
            message: `the session opened a connection to ${target} (its connection ${opened - 1}), which the recording does not have`,
          }),
        )
        return yield* Effect.fail(TransportError.unreachable(error.message, false))
      }
      const first = entries[0]
      if (first?.dir === "refused") return yield* Effect.fail(toTransport(first.error))
      progress.set(conn, 0)

      const messages = yield* Queue.unbounded<string, TransportError | Cause.Done>()
      const sends = yield* Queue.unbounded<string>()
      const closed = yield* Deferred.make<void>()
      let ended = false
      let audioRecorded = 0
      let audioSent = 0
      const divergence = (
        entry: RecordingLine,
        difference: { readonly path: string; readonly expected: string; readonly actual: string },
      ): ReplayError =>
        diverge(
          new ReplayError({
            reason: { _tag: "Diverged", connection: conn, line: entry.line, ...difference },
            message: `replay diverged at line ${entry.line} (connection ${conn}, ${describeSent(entry as FrameLine)}): ${difference.path} was ${difference.actual}, recorded ${difference.expected}`,
          }),
        )

      const failWith = (error: ReplayError): void => {
        ended = true
        Queue.failCauseUnsafe(messages, Cause.fail(TransportError.read(error.message, false)))
      }

      const walk = Effect.gen(function* () {
        // The recorded times are kept relative to an anchor: the connection's opening, moved to
        // a sent frame that came later than it was recorded (the frames after it keep their gaps).
        let anchorMs = yield* Clock.currentTimeMillis
        let anchorT = first?.t ?? 0
        for (const entry of entries) {
          if (ended) return
          switch (entry.dir) {
            case "in": {
              const wait = anchorMs + (entry.t - anchorT) - (yield* Clock.currentTimeMillis)
              if (pace === "recorded" && wait > 0) yield* Effect.sleep(wait)
              if (ended) return
              const frame = entry.frame === undefined ? undefined : rewriteIds(entry.frame, ids)
              if (frame !== undefined) noteServerIds(frame, ids)
              Queue.offerUnsafe(messages, frame === undefined ? (entry.text ?? "") : JSON.stringify(frame))
              break
            }
            case "out": {
              const recordedAudio = appendBytes(entry.frame)
              if (recordedAudio !== undefined) {
                // Audio is a stream: the session may cut it into other appends than were recorded
                // (a live input paced in real time), so what must match is how much was sent.
                // The server frames recorded after this append wait until that much has been.
                audioRecorded += recordedAudio
                while (audioSent < audioRecorded) {
                  const text = yield* Queue.take(sends)
                  const sentAudio = appendBytes(parseOrUndefined(text))
                  if (sentAudio === undefined) {
                    failWith(
                      divergence(entry, {
                        path: "$.type",
                        expected: `input_audio_buffer.append (audio up to byte ${audioRecorded})`,
                        actual: `${describeText(text)} at byte ${audioSent}`,
                      }),
                    )
                    return
                  }
                  audioSent += sentAudio
                }
                progress.set(conn, entry.line)
                break
              }
              const text = yield* Queue.take(sends)
              const sentAudio = appendBytes(parseOrUndefined(text))
              if (sentAudio !== undefined || audioSent !== audioRecorded) {
                failWith(
                  divergence(entry, {
                    path: "$.type",
                    expected: `${describeSent(entry)} after ${audioRecorded} bytes of audio`,
                    actual: `${sentAudio === undefined ? describeText(text) : "input_audio_buffer.append"} after ${audioSent + (sentAudio ?? 0)} bytes of audio`,
                  }),
                )
                return
              }
              const difference = compareSent(entry, text, ids, audioSent)
              if (difference !== undefined) {
                failWith(divergence(entry, difference))
                return
              }
              progress.set(conn, entry.line)
              break
            }
            case "close":
              yield* Deferred.await(closed)
              break
            case "end":
              ended = true
              Queue.endUnsafe(messages)
              return
            case "fail":
              ended = true
              Queue.failCauseUnsafe(messages, Cause.fail(toTransport(entry.error)))
              return
            default:
              break
          }
          if (entry.dir === "out") {
            const now = yield* Clock.currentTimeMillis
            if (now > anchorMs + (entry.t - anchorT)) {
              anchorMs = now
              anchorT = entry.t
            }
          }
        }
      })
      yield* Effect.forkScoped(walk)

      const connection: SocketConnection = {
        url: connectOptions.url,
        messages: Stream.fromQueue(messages),
        send: (text) =>
          Effect.suspend(() => {
            if (ended) return Effect.fail(TransportError.write("the socket is not open", true))
            Queue.offerUnsafe(sends, text)
            return Effect.void
          }),
        close: () =>
          Effect.sync(() => {
            Deferred.doneUnsafe(closed, Effect.void)
            if (!ended) {
              ended = true
              Queue.endUnsafe(messages)
            }
          }),
        bufferedAmount: () => 0,
      }
      return connection
    })

  return {
    socket: { connect },
    failure: () => firstFailure,
    connections: () => opened,
    verify: Effect.suspend(() => {
      if (firstFailure !== undefined) return Effect.fail(firstFailure)
      for (const conn of byConnection.keys()) {
        if (!used.has(conn)) {
          return Effect.fail(
            new ReplayError({
              reason: { _tag: "NoConnection", connection: conn },
              message: `the recording has connection ${conn}, which the session never opened`,
            }),
          )
        }
        // Audio left unsent at the end is a live input's tail; any other recorded frame is owed.
        const reached = progress.get(conn) ?? 0
        const missing = (byConnection.get(conn) ?? []).find(
          (e): e is FrameLine => e.dir === "out" && e.line > reached && appendBytes(e.frame) === undefined,
        )
        if (missing !== undefined) {
          return Effect.fail(
            new ReplayError({
              reason: {
                _tag: "Unsent",
                connection: conn,
                line: missing.line,
                expected: describeSent(missing),
              },
              message: `the session never sent the frame recorded at line ${missing.line} (connection ${conn}, ${describeSent(missing)})`,
            }),
          )
        }
      }
      return Effect.void
    }),
  }
}

/** A layer providing {@link RealtimeSocket} as `replay`'s socket (see {@link makeSocketReplay}). */
export const layerReplaySocket = (replay: SocketReplay): Layer.Layer<RealtimeSocket> =>
  Layer.succeed(RealtimeSocket, replay.socket)
