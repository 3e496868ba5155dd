/**
 * The `socket` actor of a session machine: one WebSocket connection as an XState callback
 * actor running an Effect program. It connects through the `RealtimeSocket` service,
 * decodes every frame at the edge and sends the resulting events back to the machine,
 * and hands the machine's commands to a protocol-specific handler that writes through a
 * {@link Wire}. Stopping the actor interrupts the program, whose scope closes the socket.
 *
 * The one socket actor of every WebSocket session: the transcription session, the Responses
 * chain and any later Realtime session supply their connect, decoder and command handler;
 * the failure mapping ({@link failureOfTransportError}) and the send path with back-pressure
 * (the {@link Wire}) are this file's.
 * @module
 */
import { Clock, Effect, type Scope, Stream } from "effect"
import { type AnyEventObject, type EventObject, fromCallback } from "xstate"
import type { SessionSocketInput, SocketFailure } from "../../machines/lifecycle/sessionLifecycle.ts"
import { isProtocolError } from "../protocol/index.ts"
import { closeCodeName, type SocketConnection, type TransportError } from "../transport/index.ts"
import type { SessionRuntime } from "./SessionRuntime.ts"

/** A connection's outgoing side, usable synchronously from XState actions. */
export interface Wire {
  /**
   * Sends a text frame: at once when nothing is queued and the socket's buffer is under the
   * mark, otherwise behind the frames already queued (order is always kept). A frame sent
   * while the socket is closing is dropped; the connection's failure reaches the machine.
   */
  send(text: string): void
  /** True when a frame sent now leaves at once (nothing queued, buffer under the mark). */
  readonly ready: boolean
  /**
   * Calls `listener` once the queued frames have been written (at once when nothing is
   * queued). A sender that finds the wire not `ready` sends one more frame, which queues,
   * and then waits here: progress is paced by the socket's write completions, never polled.
   */
  whenReady(listener: () => void): void
  /** Bytes queued in the socket (not yet written to the OS). */
  bufferedAmount(): number
}

/** The protocol side of a connection: what to do with the machine's commands. */
export interface ConnectionHandler<TCommand> {
  receive(command: TCommand): void
  /**
   * What the connection knows about a decoded event before the machine gets it (for example
   * a server offset clamped to the audio this connection actually sent); `undefined` when
   * the connection handled the event itself (it reaches the machine later, or never). Optional.
   */
  inbound?(event: EventObject): EventObject | undefined
  /** The connection ended (the socket's end is reported right after): hand on what is held back. Optional. */
  ending?(): void
  /** The connection is ending; release timers and listeners. Called once. */
  dispose(): void
}

/** Options of {@link makeSocketActor}. */
export interface SocketActorOptions<R, TCommand extends EventObject, TInput = SessionSocketInput> {
  readonly runtime: SessionRuntime<R>
  /** Opens the connection (typically `RealtimeSocket.connect` with the session's URL and headers). */
  readonly connect: (input: TInput) => Effect.Effect<SocketConnection, TransportError, Scope.Scope | R>
  /**
   * Turns one text frame into machine events, stamped with `atMs`.
   * @throws {ProtocolError} for a frame that cannot be decoded (reported, then skipped)
   */
  readonly decode: (text: string, atMs: number) => readonly EventObject[]
  /** Creates the command handler once the connection is open. */
  readonly open: (wire: Wire, sendBack: (event: AnyEventObject) => void) => ConnectionHandler<TCommand>
  /** The wire's mark, in bytes: above it, frames queue instead of going out at once (default 65 536). */
  readonly highWaterMarkBytes?: number
}

/**
 * The one mapping of a {@link TransportError} to the failure a session machine sees: a
 * stable code (`connect_failed`, `http_401`, `close_1006`, `connect_timeout`,
 * `heartbeat_timeout`, `socket_read_error`, `socket_write_error`), the message, the
 * transport's `retryable` flag, whether the socket had opened, and the close code or
 * upgrade status.
 */
export const failureOfTransportError = (error: TransportError): SocketFailure => {
  const reason = error.reason
  const base = { message: error.message, retryable: error.retryable }
  switch (reason._tag) {
    case "Open":
      return {
        ...base,
        code: reason.status === undefined ? "connect_failed" : `http_${reason.status}`,
        opened: false,
        ...(reason.status === undefined ? {} : { status: reason.status }),
      }
    case "Close":
      return { ...base, code: `close_${reason.code}`, opened: true, closeCode: reason.code }
    case "Timeout":
      return reason.phase === "connect"
        ? { ...base, code: "connect_timeout", opened: false }
        : { ...base, code: "heartbeat_timeout", opened: true }
    case "Read":
      return { ...base, code: "socket_read_error", opened: true }
    case "Write":
      return { ...base, code: "socket_write_error", opened: true }
  }
}

/**
 * The failure of a socket the server closed normally (1000): retryable, the session did not end it.
 * @internal
 */
export const normalCloseFailure = (): SocketFailure => ({
  code: "close_1000",
  message: `The server closed the connection (${closeCodeName(1000)})`,
  retryable: true,
  opened: true,
  closeCode: 1000,
})

/** The longest description of a defect a failure carries, in characters. */
const DEFECT_MESSAGE_LIMIT = 256

/**
 * The failure recorded when a connection's handling threw (a defect: a bug in a decoder, a
 * handler or the transport): the connection ends, reported as retryable, never silently.
 * `opened` says whether the socket had opened before.
 */
export const failureOfDefect = (defect: unknown, opened = true): SocketFailure => {
  const what = defect instanceof Error ? `${defect.name}: ${defect.message}` : String(defect)
  const bounded = what.length > DEFECT_MESSAGE_LIMIT ? `${what.slice(0, DEFECT_MESSAGE_LIMIT)}…` : what
  return {
    code: "socket_defect",
    message: `The connection's handling failed unexpectedly (${bounded})`,
    retryable: true,
    opened,
  }
}

const DEFAULT_HIGH_WATER_MARK_BYTES = 64 * 1024

/** Builds the {@link Wire} of an open connection. */
const makeWire = <R>(runtime: SessionRuntime<R>, connection: SocketConnection, markBytes: number): Wire => {
  const queue: string[] = []
  const listeners: (() => void)[] = []
  let draining = false

  const notify = (): void => {
    const waiting = listeners.splice(0)
    for (const listener of waiting) listener()
  }

  const drain = Effect.gen(function* () {
    while (queue.length > 0) {
      const text = queue.shift()
      if (text !== undefined) yield* connection.send(text)
    }
  }).pipe(
    Effect.ignore,
    Effect.ensuring(
      Effect.sync(() => {
        draining = false
        notify()
      }),
    ),
  )

  const wire: Wire = {
    get ready() {
      return !draining && connection.bufferedAmount() < markBytes
    },
    send(text) {
      if (wire.ready) {
        // Under the mark the frame leaves synchronously: through the transport's direct send
        // when it has one (no Effect run per frame), else its Effect, which completes at once.
        if (connection.sendNow?.(text) === true) return
        try {
          runtime.runSync(connection.send(text))
        } catch {
          // Closing or closed: the message stream reports why.
        }
        return
      }
      queue.push(text)
      if (!draining) {
        draining = true
        runtime.fork(drain)
      }
    },
    whenReady(listener) {
      // Waiting happens only behind queued frames (the transport wakes the drain on write
      // completions); with nothing queued the caller is told at once and sends, which queues.
      if (!draining) {
        listener()
        return
      }
      listeners.push(listener)
    },
    bufferedAmount: () => connection.bufferedAmount(),
  }
  return wire
}

/**
 * Creates the `socket` actor logic of a session machine (for `machine.provide({ actors: { socket } })`).
 *
 * Events sent back: `SOCKET.OPEN`, the decoded server events, `SOCKET.PROTOCOL_ERROR` for a
 * frame that does not decode, and `SOCKET.FAILED` when the connection cannot be opened or
 * ends (a clean close by the server is `close_1000`, retryable: the session did not end it;
 * a defect in the connection's handling is `socket_defect`, retryable).
 * Nothing is sent back after the actor is stopped.
 */
export const makeSocketActor = <R, TCommand extends EventObject, TInput = SessionSocketInput>(
  options: SocketActorOptions<R, TCommand, TInput>,
) =>
  fromCallback<TCommand, TInput>(({ input, sendBack, receive }) => {
    const { runtime } = options
    let stopped = false
    let handler: ConnectionHandler<TCommand> | undefined
    const early: TCommand[] = []
    const back = (event: AnyEventObject): void => {
      if (!stopped) sendBack(event)
    }

    receive((command) => {
      if (stopped) return
      if (handler === undefined) early.push(command)
      else handler.receive(command)
    })

    const program = Effect.scoped(
      Effect.gen(function* () {
        const connection = yield* options.connect(input)
        const wire = makeWire(
          runtime,
          connection,
          options.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK_BYTES,
        )
        handler = options.open(wire, back)
        for (const command of early.splice(0)) handler.receive(command)
        back({ type: "SOCKET.OPEN", atMs: runtime.now() })
        // The fiber's own clock (a TestClock under test): no nested run per frame.
        const clock = yield* Clock.clockWith(Effect.succeed)
        const onFrame = (text: string): void => {
          const atMs = clock.currentTimeMillisUnsafe()
          let events: readonly EventObject[]
          try {
            events = options.decode(text, atMs)
          } catch (error) {
            if (!isProtocolError(error)) throw error
            back({ type: "SOCKET.PROTOCOL_ERROR", message: error.message, atMs })
            return
          }
          const current = handler
          for (const event of events) {
            const passed = current?.inbound === undefined ? event : current.inbound(event)
            if (passed !== undefined) back(passed)
          }
        }
        if (connection.deliver === undefined) {
          yield* Stream.runForEach(connection.messages, (text) => Effect.sync(() => onFrame(text)))
        } else {
          // Frames come straight from the socket's callback (no queue, no fiber hop); the
          // stream still says how the connection ended. A defect in the handling ends it
          // as it would in the stream: nothing after it is handled, the socket is closed.
          let defect: { readonly cause: unknown } | undefined
          connection.deliver((text) => {
            if (defect !== undefined || stopped) return
            try {
              onFrame(text)
            } catch (cause) {
              defect = { cause }
              runtime.fork(connection.close(1011))
            }
          })
          yield* Stream.runDrain(connection.messages)
          if (defect !== undefined) return yield* Effect.die(defect.cause)
        }
        handler.ending?.()
        back({ type: "SOCKET.FAILED", failure: normalCloseFailure(), atMs: runtime.now() })
      }),
    ).pipe(
      Effect.catch((error: TransportError) =>
        Effect.sync(() => {
          handler?.ending?.()
          back({ type: "SOCKET.FAILED", failure: failureOfTransportError(error), atMs: runtime.now() })
        }),
      ),
      Effect.catchDefect((defect) =>
        Effect.sync(() =>
          back({
            type: "SOCKET.FAILED",
            failure: failureOfDefect(defect, handler !== undefined),
            atMs: runtime.now(),
          }),
        ),
      ),
      Effect.ensuring(
        Effect.sync(() => {
          handler?.dispose()
          handler = undefined
        }),
      ),
    )

    const fiber = runtime.fork(program)
    return () => {
      stopped = true
      fiber.interruptUnsafe()
    }
  })
