/**
 * The `socket` actor of the Responses chain machine: the one socket actor of
 * `src/runtime/socketActor.ts` on a WebSocket to `/v1/responses`, run on the LLM's
 * {@link SessionRuntime} (so `close()` can wait for the socket to be closed). Frames are
 * decoded and named at the edge; commands are encoded and written through the actor's wire, in order,
 * at the pace the socket takes them. Events in {@link REDUNDANT_RESPONSES_EVENTS} are not
 * passed on.
 * @module
 */
import type {
  ResponsesSocketCommand,
  ResponsesSocketEvent,
  ResponsesSocketInput,
} from "../../machines/responses/responsesChain.ts"
import { namedResponsesEvent } from "../../machines/responses/responsesServerEvents.ts"
import { decodeResponsesServerEventSync, encodeClientEvent } from "../protocol/index.ts"
import type { SessionRuntime } from "../runtime/SessionRuntime.ts"
import { makeSocketActor } from "../runtime/socketActor.ts"
import { RealtimeSocket, type RealtimeSocketConnectOptions } from "../transport/index.ts"

/**
 * Server events that carry nothing the chain needs: progress markers and the `.done` events
 * whose content `response.output_item.done` repeats with authority. They are dropped at the
 * edge, which spares the machine a transition per event (about a third of a text response).
 * @internal
 */
export const REDUNDANT_RESPONSES_EVENTS: ReadonlySet<string> = new Set([
  "response.in_progress",
  "response.queued",
  "response.content_part.added",
  "response.content_part.done",
  "response.output_text.done",
])

const eventType = (text: string): string | undefined => /^\{"type":"([^"]+)"/.exec(text)?.[1]

const NOTHING: readonly ResponsesSocketEvent[] = []

/**
 * Creates the `socket` actor logic (for `responsesChainMachine.provide({ actors: { socket } })`).
 * `connectOptions` is read for every new socket. Sends back what the one socket actor sends:
 * `SOCKET.OPEN`, one named server event per decoded frame (`SERVER.RESPONSE_CREATED`,
 * `SERVER.RESPONSE_DONE`, `SERVER.ERROR`, `SERVER.RESPONSE_OUTPUT`), `SOCKET.PROTOCOL_ERROR` for a frame that
 * does not decode (skipped), and one `SOCKET.FAILED` at the end (`close_1000` after a normal
 * close). Nothing is sent back after the actor is stopped; stopping it closes the socket.
 * @internal
 */
export const makeResponsesSocketActor = (
  runtime: SessionRuntime<RealtimeSocket>,
  connectOptions: () => RealtimeSocketConnectOptions,
) =>
  makeSocketActor<RealtimeSocket, ResponsesSocketCommand, ResponsesSocketInput>({
    runtime,
    connect: () => RealtimeSocket.use((socket) => socket.connect(connectOptions())),
    decode: (text) => {
      // A cheap look at a leading "type" skips decoding what would be dropped anyway.
      const type = eventType(text)
      if (type !== undefined && REDUNDANT_RESPONSES_EVENTS.has(type)) return NOTHING
      return [namedResponsesEvent(decodeResponsesServerEventSync(text))]
    },
    open: (wire) => ({
      receive: (command) => wire.send(encodeClientEvent(command.event)),
      dispose: () => undefined,
    }),
  })
