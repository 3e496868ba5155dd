import type { IncomingMessage } from "node:http"
import {
  Cause,
  Context,
  Deferred,
  Effect,
  Exit,
  Layer,
  Queue,
  Redacted,
  Scope,
  Semaphore,
  Stream,
} from "effect"
import WebSocket from "ws"
import type { SecretHeaders } from "./OpenAIConfig.ts"
import { scrubberOfConnection } from "./scrub.ts"
import { TransportError } from "./TransportError.ts"

/** Options for {@link RealtimeSocket} `connect`. Times are milliseconds, sizes bytes. */
export interface RealtimeSocketConnectOptions {
  /** `ws://` or `wss://` URL, e.g. from `realtimeUrl(config, { intent: "transcription" })`. */
  readonly url: string
  /** Handshake headers, e.g. `authHeaders(config)`; `Redacted` values are revealed only on the wire. */
  readonly headers?: SecretHeaders
  /** WebSocket subprotocols. Values starting `openai-insecure-api-key.` are treated as secrets. */
  readonly protocols?: ReadonlyArray<string>
  /** Handshake deadline on the Effect clock; default 10 000 ms. Fails with `Timeout` (`connect`). */
  readonly connectTimeoutMs?: number
  /** Time between heartbeat pings on the Effect clock; default 15 000 ms; 0 turns the heartbeat off. */
  readonly heartbeatIntervalMs?: number
  /**
   * How long to wait for a pong (or any frame) after a ping; default 10 000 ms. A half-open
   * socket is detected within `heartbeatIntervalMs + heartbeatTimeoutMs` and fails the
   * message stream with `Timeout` (`heartbeat`, retryable).
   */
  readonly heartbeatTimeoutMs?: number
  /**
   * `send` waits while more than this many bytes are queued for the network; default 262 144
   * (about 4 s of 24 kHz PCM16 audio in base64).
   */
  readonly highWaterMarkBytes?: number
  /**
   * After a close frame is sent, how long to wait for the peer's close frame before the TCP
   * socket is destroyed; default 2 000 ms. This grace period runs on real time (it is `ws`'s
   * own timer), so a scope closes even under a `TestClock`.
   */
  readonly closeTimeoutMs?: number
}

/** An open WebSocket, valid until the scope that `connect` ran in is closed. */
export interface SocketConnection {
  /** The URL this connection was opened with. */
  readonly url: string
  /**
   * Every text frame from the peer, in order, buffered from the moment the socket opened (so
   * nothing is lost before a consumer starts), with the connection's secrets scrubbed out. Consume it once. It ends when the socket closes
   * with 1000 or when this side closed it, and fails with a `Close`, `Read` or heartbeat
   * `Timeout` {@link TransportError} otherwise. Binary frames are decoded as UTF-8.
   */
  readonly messages: Stream.Stream<string, TransportError>
  /**
   * Hands every text frame to `listener` synchronously as it arrives (the frames already
   * buffered first, at once), instead of through `messages`, which then carries only the end
   * or the failure (consume it still). Saves a queue and a fiber hop per frame. Call it once.
   * Optional; a wrapper that changes `messages` must leave it out.
   */
  readonly deliver?: (listener: (text: string) => void) => void
  /**
   * Sends one text frame. Completes once the frame is queued for the network; while more than
   * `highWaterMarkBytes` are queued it first waits (woken by write completions, no polling)
   * until the queue drains below the mark. Frames from concurrent senders keep their order.
   * Fails with `Write` when the socket is not open.
   */
  send(text: string): Effect.Effect<void, TransportError>
  /**
   * Sends one text frame synchronously when it can leave at once (the socket is open, no
   * `send` is waiting and the queue is under `highWaterMarkBytes`) and returns true; otherwise
   * sends nothing and returns false (then use `send`). Optional: the hot path of a session
   * uses it to send without running an Effect per frame.
   */
  readonly sendNow?: (text: string) => boolean
  /**
   * Starts the closing handshake (default code 1000). The message stream then ends normally
   * whatever code is used. An invalid code or a reason over 123 bytes drops the connection
   * instead. Never fails.
   */
  close(code?: number, reason?: string): Effect.Effect<void>
  /** Bytes queued for the network but not yet written to the OS. */
  bufferedAmount(): number
}

/** The shape of the {@link RealtimeSocket} service. */
export interface RealtimeSocketShape {
  /**
   * Opens a WebSocket and waits for the handshake. Closing the scope closes the socket
   * (close 1000, then waits for the peer's close frame up to `closeTimeoutMs`) and removes
   * every listener and timer.
   *
   * Fails with `Open` (a rejected upgrade with its HTTP status and body, or a network error),
   * or `Timeout` (`connect`).
   */
  readonly connect: (
    options: RealtimeSocketConnectOptions,
  ) => Effect.Effect<SocketConnection, TransportError, Scope.Scope>
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 10_000
const DEFAULT_HIGH_WATER_MARK_BYTES = 256 * 1024
const DEFAULT_CLOSE_TIMEOUT_MS = 2_000
const MAX_REJECTION_BODY_CHARS = 4_096

/** Network failures that a later attempt can get past; protocol violations (`WS_ERR_*`) cannot. */
const isRetryableSocketError = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === "string") return !code.startsWith("WS_ERR_")
  const message = (error as { message?: unknown }).message
  return typeof message === "string" && /socket hang up|ECONNRESET|timed out/i.test(message)
}

const describe = (error: unknown): string => {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return typeof code === "string" && !error.message.includes(code)
      ? `${error.message} (${code})`
      : error.message
  }
  return String(error)
}

const toText = (data: WebSocket.RawData): string => {
  if (Buffer.isBuffer(data)) return data.toString("utf8")
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8")
  return Buffer.from(data).toString("utf8")
}

const plainHeaders = (headers: SecretHeaders | undefined): Record<string, string> => {
  const plain: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    plain[name] = Redacted.isRedacted(value) ? Redacted.value(value) : value
  }
  return plain
}

const positive = (value: number | undefined, fallback: number, name: string): number => {
  const chosen = value ?? fallback
  if (!Number.isFinite(chosen) || chosen < 0) {
    throw new RangeError(`${name} must be a finite number of milliseconds or bytes >= 0, got ${chosen}`)
  }
  return chosen
}

type Phase = "connecting" | "open" | "closing" | "closed"

/**
 * Opens a WebSocket on the `ws` package: the implementation behind {@link RealtimeSocket}'s
 * live layer, usable directly where no service is wanted. See {@link RealtimeSocketShape}.
 */
export const connectWebSocket = (
  options: RealtimeSocketConnectOptions,
): Effect.Effect<SocketConnection, TransportError, Scope.Scope> =>
  Effect.gen(function* () {
    // Every text the server supplies (frames included) is scrubbed of the connection's secrets here.
    const scrub = scrubberOfConnection(options.headers, options.protocols)
    const settings = yield* Effect.try({
      try: () => ({
        connectTimeoutMs: positive(options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, "connectTimeoutMs"),
        heartbeatIntervalMs: positive(
          options.heartbeatIntervalMs,
          DEFAULT_HEARTBEAT_INTERVAL_MS,
          "heartbeatIntervalMs",
        ),
        heartbeatTimeoutMs: positive(
          options.heartbeatTimeoutMs,
          DEFAULT_HEARTBEAT_TIMEOUT_MS,
          "heartbeatTimeoutMs",
        ),
        highWaterMarkBytes: Math.max(
          1,
          positive(options.highWaterMarkBytes, DEFAULT_HIGH_WATER_MARK_BYTES, "highWaterMarkBytes"),
        ),
        closeTimeoutMs: positive(options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS, "closeTimeoutMs"),
      }),
      catch: (error) => TransportError.unreachable(describe(error), false),
    })

    // Everything this connection owns lives in a child scope, so a failed attempt releases
    // it at once instead of leaving a finalizer in the caller's scope (retry loops).
    const scope = yield* Scope.fork(yield* Scope.Scope)

    const messages = yield* Queue.unbounded<string, TransportError | Cause.Done>()
    const opened = Deferred.makeUnsafe<void, TransportError>()
    const sendLock = yield* Semaphore.make(1)

    let phase: Phase = "connecting"
    let closedByUs = false
    let terminalError: TransportError | undefined
    let heardSincePing = true
    let queuedSenders = 0
    let rejectedStatus: number | undefined
    let rejectedBody = ""
    const drainWaiters = new Set<() => void>()
    const closeWaiters = new Set<() => void>()
    // The consumer of `deliver`, once it is set: frames go to it instead of the queue.
    let direct: ((text: string) => void) | undefined

    const notifyDrain = (): void => {
      if (drainWaiters.size === 0) return
      const waiting = [...drainWaiters]
      drainWaiters.clear()
      for (const wake of waiting) wake()
    }

    const failStream = (error: TransportError): void => {
      terminalError ??= error
      Queue.failCauseUnsafe(messages, Cause.fail(error))
    }

    // `closeTimeout` (ws >= 8.19) is missing from @types/ws, hence the widened type.
    const wsOptions: WebSocket.ClientOptions & { readonly closeTimeout: number } = {
      headers: plainHeaders(options.headers),
      // Base64 audio barely compresses; deflate would cost CPU on the hot path for little gain.
      perMessageDeflate: false,
      closeTimeout: settings.closeTimeoutMs,
    }
    // Listeners go on inside the acquire step, before anything can emit: an "error" without
    // a listener would be thrown by the EventEmitter.
    const wire = (socket: WebSocket): WebSocket => {
      socket.on("open", () => {
        phase = "open"
        Deferred.doneUnsafe(opened, Effect.void)
      })

      socket.on("unexpected-response", (_request: unknown, response: IncomingMessage) => {
        rejectedStatus = response.statusCode ?? 0
        response.setEncoding("utf8")
        const finish = (): void => {
          Deferred.doneUnsafe(
            opened,
            Effect.fail(TransportError.rejected(rejectedStatus ?? 0, scrub(rejectedBody.trim()))),
          )
          socket.terminate()
        }
        response.on("data", (chunk: string) => {
          if (rejectedBody.length < MAX_REJECTION_BODY_CHARS) {
            rejectedBody = (rejectedBody + chunk).slice(0, MAX_REJECTION_BODY_CHARS)
          }
        })
        response.once("end", finish)
        response.once("error", finish)
      })

      socket.on("error", (error: Error) => {
        if (phase === "connecting") {
          Deferred.doneUnsafe(
            opened,
            Effect.fail(TransportError.unreachable(scrub(describe(error)), isRetryableSocketError(error))),
          )
          return
        }
        if (!closedByUs) {
          failStream(TransportError.read(scrub(describe(error)), isRetryableSocketError(error)))
        }
      })

      socket.on("message", (data: WebSocket.RawData) => {
        heardSincePing = true
        const text = scrub(toText(data))
        if (direct === undefined) Queue.offerUnsafe(messages, text)
        else direct(text)
      })

      socket.on("pong", () => {
        heardSincePing = true
      })

      socket.on("close", (code: number, reason: Buffer) => {
        const wasConnecting = phase === "connecting"
        phase = "closed"
        if (wasConnecting) {
          Deferred.doneUnsafe(
            opened,
            Effect.fail(
              TransportError.unreachable(`the connection closed during the handshake (code ${code})`, true),
            ),
          )
        }
        if (closedByUs || code === 1000) Queue.endUnsafe(messages)
        else failStream(TransportError.closed(code, scrub(reason.toString("utf8"))))
        notifyDrain()
        const waiting = [...closeWaiters]
        closeWaiters.clear()
        for (const done of waiting) done()
      })
      return socket
    }

    const ws = yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          wire(
            new WebSocket(
              options.url,
              options.protocols === undefined ? undefined : [...options.protocols],
              wsOptions,
            ),
          ),
        catch: (error) => TransportError.unreachable(scrub(describe(error)), false),
      }),
      (socket) => shutdown(socket),
    ).pipe(Scope.provide(scope))

    function shutdown(socket: WebSocket): Effect.Effect<void> {
      return Effect.callback<void>((resume) => {
        closedByUs = true
        const release = (): void => {
          socket.removeAllListeners()
          resume(Effect.void)
        }
        if (phase === "closed") {
          release()
          return
        }
        closeWaiters.add(release)
        if (phase === "open") phase = "closing"
        beginClose(socket, 1000, undefined)
      })
    }

    const beginClose = (socket: WebSocket, code: number, reason: string | undefined): void => {
      if (socket.readyState === WebSocket.CONNECTING) {
        socket.terminate()
        return
      }
      if (socket.readyState !== WebSocket.OPEN) return
      try {
        socket.close(code, reason)
      } catch {
        // An invalid code or an over-long reason: drop the connection rather than keep it open.
        socket.terminate()
      }
    }

    yield* Deferred.await(opened).pipe(
      Effect.timeoutOrElse({
        duration: settings.connectTimeoutMs,
        orElse: () =>
          Effect.suspend(() => {
            const error =
              rejectedStatus === undefined
                ? TransportError.timeout("connect", settings.connectTimeoutMs)
                : TransportError.rejected(rejectedStatus, scrub(rejectedBody.trim()))
            Deferred.doneUnsafe(opened, Effect.fail(error))
            ws.terminate()
            return Effect.fail(error)
          }),
      }),
      Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void)),
    )

    const notOpen = (): TransportError => {
      const why =
        terminalError === undefined ? "the socket is not open" : `the socket failed: ${terminalError.message}`
      return TransportError.write(why, terminalError?.retryable ?? true)
    }

    // ws turns CLOSING as soon as the TCP socket ends or errors, before it emits "close".
    const isOpen = (): boolean => phase === "open" && ws.readyState === WebSocket.OPEN

    // A write asks for its completion only when the socket is at least half-way to the mark:
    // every write after the last one that asked left the total queued under half the mark, so
    // while `send` waits above the mark a write that will wake it is always pending, and the
    // steady path (far below the mark) pays no completion callback per frame. Text counts at
    // up to 3 bytes a UTF-16 unit.
    const completionFor = (text: string): (() => void) | undefined =>
      ws.bufferedAmount + 3 * text.length >= settings.highWaterMarkBytes / 2 ? notifyDrain : undefined

    const writeNow = (text: string): Effect.Effect<void, TransportError> =>
      Effect.suspend(() => {
        if (!isOpen()) return Effect.fail(notOpen())
        try {
          ws.send(text, completionFor(text))
        } catch (error) {
          return Effect.fail(TransportError.write(scrub(describe(error)), true))
        }
        return Effect.void
      })

    const waitForDrain = Effect.callback<void>((resume) => {
      const wake = (): void => resume(Effect.void)
      drainWaiters.add(wake)
      return Effect.sync(() => {
        drainWaiters.delete(wake)
      })
    })

    const waitBelowHighWater: Effect.Effect<void, TransportError> = Effect.suspend(() => {
      if (!isOpen()) return Effect.fail(notOpen())
      if (ws.bufferedAmount < settings.highWaterMarkBytes) return Effect.void
      return Effect.andThen(waitForDrain, waitBelowHighWater)
    })

    const send = (text: string): Effect.Effect<void, TransportError> =>
      Effect.suspend(() => {
        if (!isOpen()) return Effect.fail(notOpen())
        if (queuedSenders === 0 && ws.bufferedAmount < settings.highWaterMarkBytes) return writeNow(text)
        queuedSenders++
        return sendLock.withPermit(Effect.andThen(waitBelowHighWater, writeNow(text))).pipe(
          Effect.ensuring(
            Effect.sync(() => {
              queuedSenders--
            }),
          ),
        )
      })

    const sendNow = (text: string): boolean => {
      if (!isOpen() || queuedSenders > 0 || ws.bufferedAmount >= settings.highWaterMarkBytes) return false
      try {
        ws.send(text, completionFor(text))
      } catch {
        return false
      }
      return true
    }

    if (settings.heartbeatIntervalMs > 0) {
      const heartbeat = Effect.gen(function* () {
        while (true) {
          yield* Effect.sleep(settings.heartbeatIntervalMs)
          if (!isOpen()) return
          heardSincePing = false
          ws.ping(undefined, undefined, notifyDrain)
          yield* Effect.sleep(settings.heartbeatTimeoutMs)
          if (phase !== "open") return
          if (!heardSincePing) {
            failStream(TransportError.timeout("heartbeat", settings.heartbeatTimeoutMs))
            phase = "closing"
            ws.terminate()
            notifyDrain()
            return
          }
        }
      })
      yield* Effect.forkIn(heartbeat, scope)
    }

    const connection: SocketConnection = {
      url: options.url,
      messages: Stream.fromQueue(messages),
      send,
      sendNow,
      deliver: (listener) => {
        // Frames that arrived before the consumer go first, in order.
        while (Queue.sizeUnsafe(messages) > 0) {
          const next = Queue.takeUnsafe(messages)
          if (next === undefined || !Exit.isSuccess(next)) break
          listener(next.value)
        }
        direct = listener
      },
      close: (code, reason) =>
        Effect.sync(() => {
          closedByUs = true
          if (phase === "open") phase = "closing"
          beginClose(ws, code ?? 1000, reason)
          // Senders waiting for the buffer to drain fail now instead of at the end of the handshake.
          notifyDrain()
        }),
      bufferedAmount: () => ws.bufferedAmount,
    }
    return connection
  })

/**
 * The WebSocket transport as an Effect service, so sessions can be given a different
 * implementation in tests. `RealtimeSocket.layer` is the live implementation on the `ws`
 * package ({@link connectWebSocket}); it needs nothing else, so
 * `ManagedRuntime.make(RealtimeSocket.layer)` is enough to run sessions.
 */
export class RealtimeSocket extends Context.Service<RealtimeSocket, RealtimeSocketShape>()(
  "voxstate/RealtimeSocket",
) {
  /** The live implementation on the `ws` package. */
  static readonly live: RealtimeSocketShape = { connect: connectWebSocket }
  /** A layer providing {@link RealtimeSocket.live}. */
  static readonly layer: Layer.Layer<RealtimeSocket> = Layer.succeed(RealtimeSocket, RealtimeSocket.live)
}
