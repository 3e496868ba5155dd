/**
 * The `socket` actor of the Responses chain machine: the one socket actor of
 * `src/runtime/socketActor.ts` on a WebSocket to `/v1/responses`, run on the LLM's
 * {@link SessionRuntime} (so `close()` can wait for the socket to be closed). Frames are
 * decoded and named at the edge; commands are encoded and written through the actor's wire, in order,
 * at the pace the socket takes them. Events in {@link REDUNDANT_RESPONSES_EVENTS} are not
 * passed on.
 * @module
 */
import type { AnyEventObject } from "xstate"
import type { ChatChunk } from "../../machines/responses/chunks.ts"
import type {
  ResponsesSocketCommand,
  ResponsesSocketEvent,
  ResponsesSocketInput,
} from "../../machines/responses/responsesChain.ts"
import { namedResponsesEvent } from "../../machines/responses/responsesServerEvents.ts"
import {
  decodeResponsesServerEventSync,
  encodeClientEvent,
  type ResponsesOutputTextDeltaEvent,
} from "../protocol/index.ts"
import type { SessionRuntime } from "../runtime/SessionRuntime.ts"
import { type ConnectionHandler, makeSocketActor, type Wire } from "../runtime/socketActor.ts"
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
 * Where the edge hands a turn's text: the streams of the turns being read, by turn id. Once a
 * text part of the turn's response is known to the machine (its first delta went through it),
 * the part's later deltas go from the socket straight to the turn's stream; the machine gets
 * them coalesced into one delta (progress only, `delivered`) before any other event, before
 * the connection's end, on `flush()` (a cancel reads the text so far), and whenever the
 * machine has heard nothing for a tenth of the event-gap wait, so the wait still sees the
 * stream alive (a silence is caught at most that much early). Without an open lane (a
 * parent invoking the chain reads `turn.chunk` events) every delta goes through the machine.
 * @internal
 */
export interface TurnLanes {
  /** Routes the text of `turnId` to `push` until the returned function is called. */
  open(turnId: string, push: (chunk: ChatChunk) => void): () => void
  /** Hands the text routed so far to the machine, at once. */
  flush(): void
}

/** Creates the {@link TurnLanes} of one chain; `eventGapTimeoutMs` is the chain's gap wait. */
export const createTurnLanes = (eventGapTimeoutMs: number): TurnLanes & LaneRouting => {
  const streams = new Map<string, (chunk: ChatChunk) => void>()
  let flushConnection: (() => void) | undefined
  return {
    open(turnId, push) {
      streams.set(turnId, push)
      return () => {
        if (streams.get(turnId) === push) streams.delete(turnId)
      }
    },
    flush: () => flushConnection?.(),
    streamOf: (turnId) => streams.get(turnId),
    attach(flush) {
      flushConnection = flush
      return () => {
        if (flushConnection === flush) flushConnection = undefined
      }
    },
    coalesceForMs: Math.min(1_000, eventGapTimeoutMs / 10),
  }
}

/** The connection's side of {@link TurnLanes}. */
interface LaneRouting {
  streamOf(turnId: string): ((chunk: ChatChunk) => void) | undefined
  /** The open connection's flush; returns a function that detaches it. */
  attach(flush: () => void): () => void
  /** Longest the machine goes without an event while text is routed past it. */
  readonly coalesceForMs: number
}

/** Text routed past the machine and not yet told to it: one text part's coalesced deltas. */
interface HeldText {
  readonly itemId: string
  readonly outputIndex: number
  readonly contentIndex: number
  readonly parts: string[]
}

/**
 * The command handler and inbound routing of one connection: sends the machine's commands and
 * routes the current turn's text deltas (see {@link TurnLanes}).
 */
const openResponsesConnection =
  (runtime: SessionRuntime<RealtimeSocket>, lanes: (TurnLanes & LaneRouting) | undefined) =>
  (wire: Wire, sendBack: (event: AnyEventObject) => void): ConnectionHandler<ResponsesSocketCommand> => {
    let turnId: string | undefined
    // Text parts (item and output index) whose first delta the machine has seen.
    const known = new Set<string>()
    let held: HeldText | undefined
    let lastToMachineMs = runtime.now()

    const flush = (): void => {
      const text = held
      if (text === undefined) return
      held = undefined
      lastToMachineMs = runtime.now()
      const event: ResponsesOutputTextDeltaEvent = {
        type: "response.output_text.delta",
        item_id: text.itemId,
        output_index: text.outputIndex,
        content_index: text.contentIndex,
        delta: text.parts.join(""),
      }
      sendBack({ type: "SERVER.RESPONSE_OUTPUT", event, delivered: true } satisfies ResponsesSocketEvent)
    }
    const detach = lanes?.attach(flush)

    return {
      receive(command) {
        if (command.event.type === "response.create") {
          flush()
          turnId = command.turnId
          known.clear()
        }
        wire.send(encodeClientEvent(command.event))
      },
      inbound(event) {
        const named = event as ResponsesSocketEvent
        if (
          lanes !== undefined &&
          named.type === "SERVER.RESPONSE_OUTPUT" &&
          named.event.type === "response.output_text.delta"
        ) {
          const delta = named.event
          const key = `${delta.output_index}\u0000${delta.item_id}`
          const stream = turnId === undefined ? undefined : lanes.streamOf(turnId)
          if (stream !== undefined && delta.delta.length > 0 && known.has(key)) {
            if (
              held !== undefined &&
              (held.itemId !== delta.item_id ||
                held.outputIndex !== delta.output_index ||
                held.contentIndex !== delta.content_index)
            )
              flush()
            held ??= {
              itemId: delta.item_id,
              outputIndex: delta.output_index,
              contentIndex: delta.content_index,
              parts: [],
            }
            held.parts.push(delta.delta)
            stream({ type: "text", delta: delta.delta })
            if (runtime.now() - lastToMachineMs >= lanes.coalesceForMs) flush()
            return undefined
          }
          known.add(key)
        }
        flush()
        lastToMachineMs = runtime.now()
        return event
      },
      ending: flush,
      dispose: () => detach?.(),
    }
  }

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
  lanes?: TurnLanes,
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
    open: openResponsesConnection(runtime, lanes as (TurnLanes & LaneRouting) | undefined),
  })
