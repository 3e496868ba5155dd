/**
 * A harness for the Responses chain machine: a scripted `socket` actor that records what the
 * machine sends and lets a test play the server, a SimulatedClock for the named delays, and
 * builders of server frames (decoded by the protocol layer, as the real socket actor does).
 */
import { type Actor, createActor, fromCallback, SimulatedClock } from "xstate"
import type { ChatChunk } from "../../machines/responses/chunks.ts"
import {
  type ChainTurnRequest,
  type ResponsesChainEmitted,
  type ResponsesChainInput,
  type ResponsesSocketCommand,
  type ResponsesSocketEvent,
  type ResponsesSocketInput,
  type ResponsesTurnParams,
  responsesChainMachine,
} from "../../machines/responses/responsesChain.ts"
import { namedResponsesEvent } from "../../machines/responses/responsesServerEvents.ts"
import { type ChatItem, type ChatItemInput, toChatItem } from "../../src/llm/ChatContext.ts"
import {
  decodeResponsesServerEventSync,
  type ResponsesCreateClientEvent,
  type ResponsesSocketClientEvent,
} from "../../src/protocol/index.ts"

/** One fake socket: what the machine sent on it, and a way to answer. */
export interface FakeSocket {
  readonly generation: number
  readonly sent: ResponsesSocketClientEvent[]
  stopped: boolean
  reply(event: ResponsesSocketEvent): void
}

export const PARAMS: ResponsesTurnParams = { model: "gpt-4.1-mini", store: false }

let turnCounter = 0

/** A turn request over `items`. */
export const turn = (items: readonly (ChatItemInput | ChatItem)[], turnId?: string): ChainTurnRequest => ({
  turnId: turnId ?? `turn_${++turnCounter}`,
  items: items.map(toChatItem),
  params: PARAMS,
  developerRole: false,
})

/** A server frame as the socket actor sends it: decoded, then named at the edge. */
const frame = (payload: Record<string, unknown>): ResponsesSocketEvent =>
  namedResponsesEvent(decodeResponsesServerEventSync(JSON.stringify(payload)))

const response = (
  id: string,
  status: string,
  output: unknown[] = [],
  extra: Record<string, unknown> = {},
) => ({
  id,
  object: "response",
  status,
  output,
  ...extra,
})

/** Server frames, as decoded events. */
export const server = {
  created: (id: string) => frame({ type: "response.created", response: response(id, "in_progress") }),
  messageAdded: (itemId: string, index = 0) =>
    frame({
      type: "response.output_item.added",
      output_index: index,
      item: { type: "message", id: itemId, role: "assistant", status: "in_progress", content: [] },
    }),
  delta: (itemId: string, delta: string, index = 0) =>
    frame({
      type: "response.output_text.delta",
      item_id: itemId,
      output_index: index,
      content_index: 0,
      delta,
    }),
  messageDone: (itemId: string, text: string, index = 0) =>
    frame({
      type: "response.output_item.done",
      output_index: index,
      item: {
        type: "message",
        id: itemId,
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text }],
      },
    }),
  callAdded: (itemId: string, callId: string, name: string, index = 0) =>
    frame({
      type: "response.output_item.added",
      output_index: index,
      item: { type: "function_call", id: itemId, call_id: callId, name, arguments: "" },
    }),
  argsDelta: (itemId: string, delta: string, index = 0) =>
    frame({ type: "response.function_call_arguments.delta", item_id: itemId, output_index: index, delta }),
  callDone: (itemId: string, callId: string, name: string, args: string, index = 0) =>
    frame({
      type: "response.output_item.done",
      output_index: index,
      item: {
        type: "function_call",
        id: itemId,
        call_id: callId,
        name,
        arguments: args,
        status: "completed",
      },
    }),
  completed: (id: string, output: unknown[] = [], usage?: Record<string, unknown>) =>
    frame({
      type: "response.completed",
      response: response(id, "completed", output, usage === undefined ? {} : { usage }),
    }),
  cancelledEnd: (id: string, output: unknown[] = []) =>
    frame({ type: "response.incomplete", response: response(id, "cancelled", output) }),
  incomplete: (id: string, reason: string, output: unknown[] = []) =>
    frame({
      type: "response.incomplete",
      response: response(id, "incomplete", output, { incomplete_details: { reason } }),
    }),
  failed: (id: string, code: string) =>
    frame({
      type: "response.failed",
      response: response(id, "failed", [], { error: { code, message: `failed: ${code}` } }),
    }),
  nestedError: (code: string, status = 400) =>
    frame({
      type: "error",
      status,
      error: { type: "invalid_request_error", code, message: `error ${code}`, param: null },
    }),
  flatError: (code: string) => frame({ type: "error", code, message: `error ${code}`, param: null }),
  /** A request refused for a rate limit; `headers` as the service puts them in `error.headers`. */
  rateLimited: (headers?: Record<string, unknown>, code = "rate_limit_exceeded") =>
    frame({
      type: "error",
      status: 429,
      error: {
        type: "requests",
        code,
        message: `Rate limit reached (${code})`,
        param: null,
        ...(headers === undefined ? {} : { headers }),
      },
    }),
  messageItem: (itemId: string, text: string) => ({
    type: "message",
    id: itemId,
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text }],
  }),
  callItem: (itemId: string, callId: string, name: string, args: string) => ({
    type: "function_call",
    id: itemId,
    call_id: callId,
    name,
    arguments: args,
    status: "completed",
  }),
}

/** A running chain machine with fake sockets. */
export interface ChainHarness {
  readonly actor: Actor<typeof responsesChainMachine>
  readonly clock: SimulatedClock
  readonly sockets: FakeSocket[]
  readonly emitted: ResponsesChainEmitted[]
  /** The newest socket. */
  socket(): FakeSocket
  /** Opens the newest socket (answers the handshake). */
  open(): FakeSocket
  /** Sends a server frame on the newest socket. */
  reply(...events: ResponsesSocketEvent[]): void
  /** `response.create` events sent on every socket, in order. */
  creates(): ResponsesCreateClientEvent[]
  /** Chunks emitted for a turn. */
  chunks(turnId: string): ChatChunk[]
  /** Events emitted for a turn (chunks, failures, sends, retries). */
  events(turnId: string): ResponsesChainEmitted[]
  /** A short name of the current state, e.g. `online.link.ready.idle`. */
  state(): string
}

const flatten = (value: unknown, prefix = ""): string[] => {
  if (typeof value === "string") return [prefix === "" ? value : `${prefix}.${value}`]
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) =>
    flatten(child, prefix === "" ? key : `${prefix}.${key}`),
  )
}

/** Starts the machine with fake sockets and a simulated clock. */
export const startChain = (input: ResponsesChainInput = {}): ChainHarness => {
  const sockets: FakeSocket[] = []
  const socket = fromCallback<ResponsesSocketCommand, ResponsesSocketInput>(
    ({ sendBack, receive, input }) => {
      const fake: FakeSocket = {
        generation: input.generation,
        sent: [],
        stopped: false,
        reply: (event) => {
          if (!fake.stopped) sendBack(event)
        },
      }
      sockets.push(fake)
      receive((command) => {
        if (!fake.stopped) fake.sent.push(command.event)
      })
      return () => {
        fake.stopped = true
      }
    },
  )
  const clock = new SimulatedClock()
  const actor = createActor(responsesChainMachine.provide({ actors: { socket } }), { input, clock })
  const emitted: ResponsesChainEmitted[] = []
  actor.on("*", (event) => {
    emitted.push(event)
  })
  actor.start()
  const newest = (): FakeSocket => {
    const last = sockets.at(-1)
    if (last === undefined) throw new Error("no socket was opened")
    return last
  }
  return {
    actor,
    clock,
    sockets,
    emitted,
    socket: newest,
    open() {
      const s = newest()
      s.reply({ type: "SOCKET.OPEN" })
      return s
    },
    reply(...events) {
      for (const event of events) newest().reply(event)
    },
    creates: () =>
      sockets.flatMap((s) =>
        s.sent.filter((e): e is ResponsesCreateClientEvent => e.type === "response.create"),
      ),
    chunks: (turnId) =>
      emitted.flatMap((e) => (e.type === "turn.chunk" && e.turnId === turnId ? [e.chunk] : [])),
    events: (turnId) => emitted.filter((e) => "turnId" in e && e.turnId === turnId),
    state: () => flatten(actor.getSnapshot().value).join(" | "),
  }
}
