import { Cause, Effect, Exit, type ManagedRuntime, Queue, Stream } from "effect"
import { RealtimeSocket, type RealtimeSocketConnectOptions } from "./RealtimeSocket.ts"
import { isTransportError, TransportError } from "./TransportError.ts"

/** What {@link openSocketCallback} reports. Every callback runs on the Effect runtime's fiber. */
export interface SocketCallbacks {
  /** The handshake finished; frames sent earlier are now being written. */
  readonly onOpen?: () => void
  /** One text frame from the peer. */
  readonly onMessage: (text: string) => void
  /**
   * Called once when the connection is over: with no argument after a normal end (a 1000 close
   * or {@link SocketHandle.close}), or with the {@link TransportError} that ended it (`Open`
   * when it never opened). Not called after {@link SocketHandle.dispose}.
   */
  readonly onEnd: (error?: TransportError) => void
}

/** A plain handle on a socket run by {@link openSocketCallback}. */
export interface SocketHandle {
  /**
   * Queues one text frame. Frames are written in order, once the socket is open, at the pace
   * the network takes them (the high-water mark applies). A failed write ends the connection
   * through `onEnd`.
   */
  send(text: string): void
  /** Closes the socket after the frames already queued (default code 1000); `onEnd()` follows. */
  close(code?: number, reason?: string): void
  /** Stops everything now: the socket is closed, no callback runs any more. Safe to call twice. */
  dispose(): void
  /** Bytes queued by `ws` for the network (0 before the socket opens). */
  bufferedAmount(): number
}

type Outbound =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Close"; readonly code: number | undefined; readonly reason: string | undefined }

const asTransportError = (cause: Cause.Cause<unknown>): TransportError => {
  const error = Cause.squash(cause)
  if (isTransportError(error)) return error
  return TransportError.read(
    `the socket program failed: ${error instanceof Error ? error.message : String(error)}`,
    false,
  )
}

/**
 * Runs a {@link RealtimeSocket} connection on `runtime` and reports through plain callbacks:
 * the bridge for XState `fromCallback` actors, e.g.
 * `fromCallback(({ sendBack, receive }) => { const socket = openSocketCallback(runtime, options,
 * { onMessage: (text) => sendBack(decode(text)), onEnd: (error) => sendBack({ type: "SOCKET.CLOSED", error }) });
 * receive((event) => socket.send(encode(event))); return () => socket.dispose() })`.
 */
export const openSocketCallback = (
  runtime: ManagedRuntime.ManagedRuntime<RealtimeSocket, unknown>,
  options: RealtimeSocketConnectOptions,
  callbacks: SocketCallbacks,
): SocketHandle => {
  let disposed = false
  let buffered: () => number = () => 0
  const outbound = Effect.runSync(Queue.unbounded<Outbound>())

  const guarded =
    <Args extends ReadonlyArray<unknown>>(f: (...args: Args) => void) =>
    (...args: Args): void => {
      if (!disposed) f(...args)
    }
  const onOpen = guarded(() => callbacks.onOpen?.())
  const onMessage = guarded((text: string) => callbacks.onMessage(text))

  const program = Effect.scoped(
    Effect.gen(function* () {
      const socket = yield* RealtimeSocket
      const connection = yield* socket.connect(options)
      buffered = () => connection.bufferedAmount()
      onOpen()
      // After a close request the writer stops taking frames; the reader then ends with the close.
      const writer: Effect.Effect<never, TransportError> = Effect.flatMap(Queue.take(outbound), (item) =>
        item._tag === "Text"
          ? Effect.andThen(connection.send(item.text), writer)
          : Effect.andThen(connection.close(item.code, item.reason), Effect.never),
      )
      const reader = Stream.runForEach(connection.messages, (text) => Effect.sync(() => onMessage(text)))
      yield* Effect.raceFirst(reader, writer)
    }),
  )

  const fiber = runtime.runFork(program)
  fiber.addObserver((exit) => {
    buffered = () => 0
    if (disposed) return
    disposed = true
    if (Exit.isSuccess(exit)) callbacks.onEnd()
    else if (!Cause.hasInterruptsOnly(exit.cause)) callbacks.onEnd(asTransportError(exit.cause))
  })

  return {
    send(text) {
      if (!disposed) Queue.offerUnsafe(outbound, { _tag: "Text", text })
    },
    close(code, reason) {
      if (!disposed) Queue.offerUnsafe(outbound, { _tag: "Close", code, reason })
    },
    dispose() {
      if (disposed) return
      disposed = true
      fiber.interruptUnsafe()
    },
    bufferedAmount: () => buffered(),
  }
}
