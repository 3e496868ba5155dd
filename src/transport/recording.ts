/**
 * Recording real traffic: every frame of every WebSocket a session opens, each way, with its
 * time, as JSON lines. The recording layer wraps any {@link RealtimeSocketShape}; the replay
 * layer (replay.ts) serves a recording back in its place. Credentials never reach a
 * recording: headers are not written, and the URL and every frame go through the
 * connection's scrubber. Audio stays in the frames as the protocol's base64.
 * @module
 */
import { appendFileSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { Clock, Context, Effect, Layer, Stream } from "effect"
import { RealtimeSocket, type RealtimeSocketShape, type SocketConnection } from "./RealtimeSocket.ts"
import { scrubberOfConnection } from "./scrub.ts"
import type { TransportError } from "./TransportError.ts"

/** The name every recording's first line carries in `recording`. */
export const RECORDING_FORMAT = "voxstate.recording"

/** The version of the recording format this build writes and reads. */
export const RECORDING_VERSION = 1

/** The first line of a recording. `startedAtMs` is the clock's time of the first entry. */
export interface RecordingHeader {
  readonly recording: typeof RECORDING_FORMAT
  readonly version: typeof RECORDING_VERSION
  readonly startedAtMs: number
}

/** A transport failure as recorded (enough to fail the same way on replay). */
export interface RecordedFailure {
  readonly reason: TransportError["reason"]
  readonly message: string
  readonly retryable: boolean
}

/**
 * One recorded WebSocket entry. `t` is milliseconds since the recording started, `conn` the
 * connection's number in the order they were opened. A frame that is JSON is kept parsed in
 * `frame`; anything else verbatim in `text`.
 * - `open`: the handshake finished (`url` scrubbed).
 * - `refused`: the connection could not be opened.
 * - `out`: a frame the session sent; `in`: a frame the server sent.
 * - `close`: the session closed the connection; `end`: the server's stream ended normally;
 *   `fail`: it failed.
 */
export type SocketEntry =
  | { readonly t: number; readonly conn: number; readonly dir: "open"; readonly url: string }
  | {
      readonly t: number
      readonly conn: number
      readonly dir: "refused"
      readonly url: string
      readonly error: RecordedFailure
    }
  | {
      readonly t: number
      readonly conn: number
      readonly dir: "out" | "in"
      readonly frame?: unknown
      readonly text?: string
    }
  | {
      readonly t: number
      readonly conn: number
      readonly dir: "close"
      readonly code: number
      readonly reason?: string
    }
  | { readonly t: number; readonly conn: number; readonly dir: "end" }
  | { readonly t: number; readonly conn: number; readonly dir: "fail"; readonly error: RecordedFailure }

/**
 * One recorded HTTP exchange entry (the REST client's `fetch`); `conn` is the request's number.
 * - `request`: method, URL (scrubbed) and body (JSON in `frame`, other text in `text`, binary
 *   bodies such as uploads by size in `bodyBytes`).
 * - `response`: status and the headers a client reads (type, request id, retry hints).
 * - `chunk`: a piece of the body as it arrived, base64; `done`: the body ended; `error`: the
 *   request failed without an answer (or the body broke off).
 */
export type HttpEntry =
  | {
      readonly t: number
      readonly conn: number
      readonly dir: "request"
      readonly method: string
      readonly url: string
      readonly frame?: unknown
      readonly text?: string
      readonly bodyBytes?: number
    }
  | {
      readonly t: number
      readonly conn: number
      readonly dir: "response"
      readonly status: number
      readonly headers: Readonly<Record<string, string>>
    }
  | { readonly t: number; readonly conn: number; readonly dir: "chunk"; readonly base64: string }
  | { readonly t: number; readonly conn: number; readonly dir: "done" }
  | { readonly t: number; readonly conn: number; readonly dir: "error"; readonly message: string }

/** Any entry of a recording. */
export type RecordingEntry = SocketEntry | HttpEntry

/** Where recorded entries go. */
export interface Recorder {
  /** Numbers the next connection (0, 1, ...). */
  readonly nextConnection: () => number
  /** Writes one entry; `t` is taken from the Effect clock. */
  readonly write: (entry: DistributiveOmit<SocketEntry, "t">) => Effect.Effect<void>
  /** Writes one entry at `nowMs` (ms since the epoch), for recorders outside Effect. */
  readonly writeAt: (nowMs: number, entry: DistributiveOmit<RecordingEntry, "t">) => void
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

const framePart = (text: string): { readonly frame: unknown } | { readonly text: string } => {
  try {
    return { frame: JSON.parse(text) }
  } catch {
    return { text }
  }
}

const failureOf = (error: TransportError): RecordedFailure => ({
  reason: error.reason,
  message: error.message,
  retryable: error.retryable,
})

/**
 * A recorder appending JSON lines to `path` (its folder is created). Each line is written at
 * once, so a process killed mid-call leaves a readable recording of everything before.
 */
export const makeFileRecorder = (path: string): Recorder => {
  let startedAtMs: number | undefined
  let connections = 0
  const writeAt = (now: number, entry: DistributiveOmit<RecordingEntry, "t">): void => {
    if (startedAtMs === undefined) {
      startedAtMs = now
      mkdirSync(join(path, ".."), { recursive: true })
      const header: RecordingHeader = { recording: RECORDING_FORMAT, version: RECORDING_VERSION, startedAtMs }
      appendFileSync(path, `${JSON.stringify(header)}\n`)
    }
    appendFileSync(path, `${JSON.stringify({ t: now - startedAtMs, ...entry })}\n`)
  }
  return {
    nextConnection: () => connections++,
    writeAt,
    write: (entry) => Effect.map(Clock.currentTimeMillis, (now) => writeAt(now, entry)),
  }
}

let recordingCounter = 0

/**
 * The file a new recording in `directory` goes to: `<label>-<ISO time>-<pid>-<n>.jsonl`, so
 * every session of every process gets its own.
 */
export const recordingPathIn = (directory: string, label: string): string =>
  join(
    directory,
    `${label}-${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}-${recordingCounter++}.jsonl`,
  )

/**
 * `inner` with every connection recorded: the open (or refusal), each frame sent and
 * received, the session's close and the stream's end or failure. The session sees exactly
 * what `inner` gives.
 */
export const recordingSocket = (inner: RealtimeSocketShape, recorder: Recorder): RealtimeSocketShape => ({
  connect: (options) =>
    Effect.gen(function* () {
      const scrub = scrubberOfConnection(options.headers, options.protocols)
      const url = scrub(options.url)
      const conn = recorder.nextConnection()
      const connection = yield* inner
        .connect(options)
        .pipe(
          Effect.tapError((error) => recorder.write({ conn, dir: "refused", url, error: failureOf(error) })),
        )
      yield* recorder.write({ conn, dir: "open", url })
      const clock = yield* Clock.clockWith((c) => Effect.succeed(c))
      const live = connection
      // The live connection's fast paths stay fast paths: the session's socket path is the same
      // with recording on; each frame is written as it goes through them.
      const fastPaths: Pick<SocketConnection, "deliver" | "sendNow"> = {
        ...(live.deliver === undefined
          ? {}
          : {
              deliver: (listener: (text: string) => void) =>
                live.deliver?.((text) => {
                  recorder.writeAt(clock.currentTimeMillisUnsafe(), { conn, dir: "in", ...framePart(text) })
                  listener(text)
                }),
            }),
        ...(live.sendNow === undefined
          ? {}
          : {
              sendNow: (text: string) => {
                const sent = live.sendNow?.(text) === true
                if (sent)
                  recorder.writeAt(clock.currentTimeMillisUnsafe(), {
                    conn,
                    dir: "out",
                    ...framePart(scrub(text)),
                  })
                return sent
              },
            }),
      }
      const recorded: SocketConnection = {
        ...fastPaths,
        url: connection.url,
        messages: connection.messages.pipe(
          Stream.tap((text) => recorder.write({ conn, dir: "in", ...framePart(text) })),
          Stream.tapError((error) => recorder.write({ conn, dir: "fail", error: failureOf(error) })),
          Stream.onEnd(recorder.write({ conn, dir: "end" })),
        ),
        send: (text) =>
          Effect.andThen(
            recorder.write({ conn, dir: "out", ...framePart(scrub(text)) }),
            connection.send(text),
          ),
        close: (code, reason) =>
          Effect.andThen(
            recorder.write({
              conn,
              dir: "close",
              code: code ?? 1000,
              ...(reason === undefined ? {} : { reason }),
            }),
            connection.close(code, reason),
          ),
        bufferedAmount: () => connection.bufferedAmount(),
      }
      return recorded
    }),
})

/** Options of {@link socketFromEnvironment}. */
export interface RecordOptions {
  /**
   * A folder to record this session's traffic into (one JSONL file per session), or `false`
   * to record nothing even when `VOXSTATE_RECORD` is set. Default: `VOXSTATE_RECORD` from `env`,
   * else from the process environment (a debugging switch: it applies even when `env` is given
   * to keep the shell's credentials out).
   */
  readonly record?: string | false
  /** Where `VOXSTATE_RECORD` is read (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/**
 * The socket a session runs on when it is given none: `live`, recorded into
 * `options.record` or `VOXSTATE_RECORD` when one is set (the file named by `label`).
 * @internal
 */
export const socketFromEnvironment = (
  live: RealtimeSocketShape,
  label: string,
  options: RecordOptions = {},
): RealtimeSocketShape => {
  const directory = options.record ?? options.env?.VOXSTATE_RECORD ?? process.env.VOXSTATE_RECORD
  if (directory === undefined || directory === false || directory === "") return live
  return recordingSocket(live, makeFileRecorder(recordingPathIn(directory, label)))
}

/**
 * The services a session runs on when given none: the live {@link RealtimeSocket}, recorded
 * per {@link socketFromEnvironment}.
 * @internal
 */
export const liveSocketContext = (
  label: string,
  options: RecordOptions = {},
): Context.Context<RealtimeSocket> =>
  Context.make(RealtimeSocket, socketFromEnvironment(RealtimeSocket.live, label, options))

/**
 * A layer providing {@link RealtimeSocket} as the live socket recorded into the JSONL file
 * `path` (every connection of every session run on it).
 */
export const layerRecordingSocket = (path: string): Layer.Layer<RealtimeSocket> =>
  Layer.succeed(RealtimeSocket, recordingSocket(RealtimeSocket.live, makeFileRecorder(path)))
