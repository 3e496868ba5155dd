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
import {
  advanceProgress,
  emptyProgress,
  type ResponseProgress,
} from "../../machines/responses/responseProgress.ts"
import type {
  ResponsesSocketCommand,
  ResponsesSocketEvent,
  ResponsesSocketInput,
} from "../../machines/responses/responsesChain.ts"
import { namedResponsesEvent } from "../../machines/responses/responsesServerEvents.ts"
import {
  decodeResponsesServerEventSync,
  encodeClientEvent,
  type ResponsesServerEvent,
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
 * Where the edge hands a turn's output: the streams of the turns being read, by turn id. Once
 * the turn's response is created (the machine hears `response.created`), the edge folds the
 * response's output events itself (`advanceProgress`, the machine's own rule) and hands their
 * chunks (text, tool calls) straight to the turn's stream. The machine hears of the response's
 * first output once the frames read with it are handled (its first-output wait ends; not at
 * all when one of them ends the response) and hears its terminal event, which carries the
 * edge's fold; it gets the fold alone (progress only) before any other event of the
 * connection, before the connection's end, on `flush()` (a cancel reads the output so far),
 * and whenever it has heard nothing for a tenth of the event-gap wait, so the wait still sees
 * the response alive (a silence is caught at most that much early). Without an open lane (a
 * parent invoking the chain reads `turn.chunk` events) every event goes through the machine.
 * @internal
 */
export interface TurnLanes {
  /** Routes the output of `turnId` to `push` until the returned function is called. */
  open(turnId: string, push: (chunk: ChatChunk) => void): () => void
  /** Hands the output routed so far to the machine, at once. */
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
  /** Longest the machine goes without an event while output is routed past it. */
  readonly coalesceForMs: number
}

/** The response of the turn being streamed past the machine. */
interface Lane {
  readonly push: (chunk: ChatChunk) => void
  /** The edge's fold of the response's events so far. */
  progress: ResponseProgress
  /** The last output event folded and not yet told to the machine. */
  untold: ResponsesServerEvent | undefined
  /**
   * The machine has heard of the response's output (its first-output wait is over), or will
   * once the frames that came with the first output are handled.
   */
  heard: boolean
}

/** A server event that answers what a response in progress owes (the machine's `isResponseProgress`). */
const isProgressEvent = (event: ResponsesServerEvent): boolean =>
  event.type !== "unknown" && event.type.startsWith("response.")

/**
 * The command handler and inbound routing of one connection: sends the machine's commands and
 * routes the current turn's output (see {@link TurnLanes}).
 */
const openResponsesConnection =
  (
    runtime: SessionRuntime<RealtimeSocket>,
    lanes: (TurnLanes & LaneRouting) | undefined,
    /** The time the frame being handled was read at (the socket actor's stamp). */
    frameAtMs: () => number,
  ) =>
  (wire: Wire, sendBack: (event: AnyEventObject) => void): ConnectionHandler<ResponsesSocketCommand> => {
    // The turn whose `response.create` was sent last (a warmup's has none).
    let turnId: string | undefined
    // Its response is not created yet: the next `response.created` is its own.
    let awaitingCreated = false
    let lane: Lane | undefined
    let lastToMachineMs = runtime.now()

    /** Tells the machine the fold it has not heard yet. */
    const flush = (): void => {
      const untold = lane?.untold
      if (lane === undefined || untold === undefined) return
      lane.untold = undefined
      lane.heard = true
      lastToMachineMs = runtime.now()
      sendBack({
        type: "SERVER.RESPONSE_OUTPUT",
        event: untold,
        progress: lane.progress,
      } satisfies ResponsesSocketEvent)
    }
    /** Ends the lane (the machine told first): what follows goes through the machine. */
    const closeLane = (): void => {
      flush()
      lane = undefined
    }
    const detach = lanes?.attach(flush)

    /** Routes one event of the lane's response; `true` when the machine need not hear it now. */
    const route = (routing: TurnLanes & LaneRouting, open: Lane, event: ResponsesSocketEvent): boolean => {
      if (event.type !== "SERVER.RESPONSE_OUTPUT") return false
      const server = event.event
      // Anything but the response's own progress (an unknown event) is nothing the turn is owed.
      if (!isProgressEvent(server)) return true
      const step = advanceProgress(open.progress, server)
      open.progress = step.progress
      open.untold = server
      for (const chunk of step.chunks) open.push(chunk)
      if (!open.heard) {
        // The first output: the machine hears of it once the frames read with it are handled
        // (a microtask), unless one of them ended the response, which then tells it all at once.
        open.heard = true
        queueMicrotask(() => {
          if (lane === open) flush()
        })
      } else if (frameAtMs() - lastToMachineMs >= routing.coalesceForMs) flush()
      return true
    }

    return {
      receive(command) {
        closeLane()
        if (command.event.type === "response.create") {
          turnId = command.turnId
          awaitingCreated = turnId !== undefined
        }
        wire.send(encodeClientEvent(command.event))
      },
      inbound(event) {
        if (lanes === undefined) return event
        const named = event as ResponsesSocketEvent
        if (lane !== undefined) {
          // The caller stopped reading (cancelled, detached): the machine takes over.
          if (turnId === undefined || lanes.streamOf(turnId) !== lane.push) closeLane()
          else if (route(lanes, lane, named)) return undefined
        }
        if (
          lane !== undefined &&
          named.type === "SERVER.RESPONSE_DONE" &&
          named.responseId === lane.progress.responseId
        ) {
          // The response's end reads the edge's fold: no event of its own for it.
          const progress = lane.progress
          lane = undefined
          lastToMachineMs = frameAtMs()
          return { ...named, progress } satisfies ResponsesSocketEvent
        }
        flush()
        if (named.type === "SERVER.RESPONSE_CREATED" && awaitingCreated) {
          awaitingCreated = false
          const push = turnId === undefined ? undefined : lanes.streamOf(turnId)
          if (push !== undefined) {
            lane = {
              push,
              progress: advanceProgress(emptyProgress, named.event).progress,
              untold: undefined,
              heard: false,
            }
          }
        }
        lastToMachineMs = frameAtMs()
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
) => {
  // Each frame's events reach the connection's routing right after its decoding: one clock read a frame.
  let frameAtMs = 0
  return makeSocketActor<RealtimeSocket, ResponsesSocketCommand, ResponsesSocketInput>({
    runtime,
    connect: () => RealtimeSocket.use((socket) => socket.connect(connectOptions())),
    decode: (text, atMs) => {
      frameAtMs = atMs
      // A cheap look at a leading "type" skips decoding what would be dropped anyway.
      const type = eventType(text)
      if (type !== undefined && REDUNDANT_RESPONSES_EVENTS.has(type)) return NOTHING
      return [namedResponsesEvent(decodeResponsesServerEventSync(text))]
    },
    open: openResponsesConnection(runtime, lanes as (TurnLanes & LaneRouting) | undefined, () => frameAtMs),
  })
}
