import { Effect, Queue, Stream } from "effect"
import { fromCallback } from "xstate"
import type {
  ResponsesSocketCommand,
  ResponsesSocketEvent,
  ResponsesSocketInput,
  SocketEndInfo,
} from "../../machines/responses/responsesChain.ts"
import { decodeResponsesServerEventSync, encodeClientEvent, isProtocolError } from "../protocol/index.ts"
import type { SessionRuntime } from "../runtime/SessionRuntime.ts"
import { RealtimeSocket, type RealtimeSocketConnectOptions, type TransportError } from "../transport/index.ts"

/**
 * The `socket` actor of the Responses chain machine: one WebSocket to `/v1/responses`, run
 * as an Effect program on the LLM's {@link SessionRuntime} (so `close()` can wait for the
 * socket to be closed). Frames are decoded at the edge; commands are encoded and written in
 * order, at the pace the socket takes them. Events in {@link REDUNDANT_RESPONSES_EVENTS} are
 * not passed on.
 * @module
 */

/**
 * Server events that carry nothing the chain needs: progress markers and the `.done` events
 * whose content `response.output_item.done` repeats with authority. They are dropped at the
 * edge, which spares the machine a transition per event (about a third of a text response).
 */
export const REDUNDANT_RESPONSES_EVENTS: ReadonlySet<string> = new Set([
  "response.in_progress",
  "response.queued",
  "response.content_part.added",
  "response.content_part.done",
  "response.output_text.done",
])

const eventType = (text: string): string | undefined => /^\{"type":"([^"]+)"/.exec(text)?.[1]

/** What the machine learns about how a socket ended. */
export const socketEndOf = (error: TransportError): SocketEndInfo => {
  const reason = error.reason
  return {
    message: error.message,
    retryable: error.retryable,
    opened: reason._tag !== "Open" && !(reason._tag === "Timeout" && reason.phase === "connect"),
    ...(reason._tag === "Close" ? { closeCode: reason.code } : {}),
    ...(reason._tag === "Open" && reason.status !== undefined ? { status: reason.status } : {}),
  }
}

/**
 * Creates the `socket` actor logic (for `responsesChainMachine.provide({ actors: { socket } })`).
 * `connectOptions` is read for every new socket. Sends back `SOCKET.OPEN`, `SOCKET.EVENT` per
 * decoded frame, `SOCKET.PROTOCOL_ERROR` for a frame that does not decode (skipped), and one
 * `SOCKET.CLOSED` at the end (with `error` unless the socket closed normally). Nothing is sent
 * back after the actor is stopped; stopping it closes the socket.
 */
export const makeResponsesSocketActor = (
  runtime: SessionRuntime<RealtimeSocket>,
  connectOptions: () => RealtimeSocketConnectOptions,
) =>
  fromCallback<ResponsesSocketCommand, ResponsesSocketInput>(({ sendBack, receive }) => {
    let stopped = false
    const back = (event: ResponsesSocketEvent): void => {
      if (!stopped) sendBack(event)
    }
    const outbound = Effect.runSync(Queue.unbounded<string>())
    receive((command) => {
      if (!stopped) Queue.offerUnsafe(outbound, encodeClientEvent(command.event))
    })

    const program = Effect.scoped(
      Effect.gen(function* () {
        const socket = yield* RealtimeSocket
        const connection = yield* socket.connect(connectOptions())
        back({ type: "SOCKET.OPEN" })
        const writer: Effect.Effect<never, TransportError> = Effect.forever(
          Effect.flatMap(Queue.take(outbound), (text) => connection.send(text)),
        )
        const reader = Stream.runForEach(connection.messages, (text) =>
          Effect.sync(() => {
            // A cheap look at a leading "type" skips decoding what would be dropped anyway.
            const type = eventType(text)
            if (type !== undefined && REDUNDANT_RESPONSES_EVENTS.has(type)) return
            try {
              back({ type: "SOCKET.EVENT", event: decodeResponsesServerEventSync(text) })
            } catch (error) {
              if (!isProtocolError(error)) throw error
              back({ type: "SOCKET.PROTOCOL_ERROR", message: error.message })
            }
          }),
        )
        yield* Effect.raceFirst(reader, writer)
      }),
    ).pipe(
      Effect.matchEffect({
        onSuccess: () => Effect.sync(() => back({ type: "SOCKET.CLOSED" })),
        onFailure: (error: TransportError) =>
          Effect.sync(() => back({ type: "SOCKET.CLOSED", error: socketEndOf(error) })),
      }),
    )

    const fiber = runtime.fork(program)
    return () => {
      stopped = true
      fiber.interruptUnsafe()
    }
  })
