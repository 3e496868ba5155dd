/**
 * The Responses API in WebSocket mode (`/v1/responses`), and over HTTP (`responsesRoute`,
 * the same streaming core, see its description): `response.create` streams a
 * response as bare JSON frames (`response.created` → `response.in_progress` →
 * `response.output_item.added` → `response.content_part.added` → `response.output_text.delta`*
 * → `.output_text.done` → `.content_part.done` → `.output_item.done` → `response.completed`,
 * or the `function_call_arguments.delta/done` pair for a function call), each with a
 * `sequence_number` counted per response from 0.
 *
 * Chaining: every response's context (its chain, its new input, its output) becomes the
 * connection's latest response; `store: true` (the default) responses also enter a bounded
 * store shared by the simulator's connections (the 1000 most recently used). With
 * `store: false` only the connection's latest response can be chained. An unknown or evicted
 * `previous_response_id` gets the nested error
 * `{type:'error', status:400, error:{type:'invalid_request_error', code:'previous_response_not_found', param:'previous_response_id'}}`.
 * `instructions` are not carried over. `generate: false` (warmup) answers `response.created`
 * and `response.completed` with no output; its id chains like any other.
 *
 * Simulator choices where the service's behaviour is unconfirmed (⚠):
 * - A second `response.create` while one is in flight is refused with the nested error code
 *   `response_already_in_progress` (status 400); the first response continues. `stream_id`
 *   lanes are not simulated (the id is echoed on the response's events).
 * - `response.cancel` (with no `response_id`, or the in-flight one's) stops the response and
 *   ends it with `response.incomplete` whose `response.status` is `"cancelled"` and whose
 *   output holds what was streamed (items with status `incomplete`); the cancelled response
 *   is chainable. A cancel with nothing in flight (or another id) is ignored, without an event.
 * - The connection cap (`responsesMaxConnections`) is enforced as the socket opens: the
 *   connection beyond it gets the nested error `websocket_connection_limit_reached`
 *   (status 429) and a close with code 1000. The lifetime (`responsesConnectionLifetimeMs`,
 *   60 minutes by default) ends with the same code (status 400) and a close with code 1000;
 *   a response in flight at that moment is dropped without a terminal event.
 * - Unparseable frames get the nested error `invalid_json`; unknown event types (including
 *   `response.steer`, not simulated) get `invalid_value` with `param: 'type'`.
 * - A scenario reply function that throws, or a malformed reply, ends the response with
 *   `response.failed` (`response.error.code: 'server_error'`); the connection stays open.
 * - A reply with several function calls (`functionCalls`, parallel tool calls) streams one
 *   `function_call` output item after the other (`output_index` 0, 1, ...) in one response.
 *
 * Usage is approximate (see `rest/text.ts`): `input_tokens` counts the instructions and the
 * whole context (chain + new input); `cached_tokens` is the chained prefix (plus the
 * instructions when they equal the previous response's).
 * @module
 */
import type { WebSocket } from "ws"
import { parseJsonObject } from "./rest/body.ts"
import { isReasoningModel } from "./rest/chat.ts"
import { restError, sendJson } from "./rest/errors.ts"
import { makeRestRoute } from "./rest/route.ts"
import { itemText, nextRequestIndex } from "./rest/scripted.ts"
import { nextTick, startSse, writeSseEvent } from "./rest/sse.ts"
import { countTextTokens, splitFragments, truncateDeltas } from "./rest/text.ts"
import { functionCallsOf, resolveReply } from "./scenario.ts"
import type {
  HttpRoute,
  ModelReply,
  Scenario,
  ScriptedFunctionCall,
  WebSocketContext,
  WebSocketHandler,
} from "./types.ts"

/** How many `store: true` responses a simulator keeps for chaining across connections. */
export const RESPONSES_STORE_CAPACITY = 1000
/** The largest delay `setTimeout` honours, in milliseconds. */
const MAX_TIMER_MS = 2 ** 31 - 1
/** Reasoning tokens reported by the simulated reasoning models per response. */
const REASONING_TOKENS = 64

/** A response the next one can chain from: what the model saw and said. */
/** @internal */
export interface ChainedResponse {
  readonly id: string
  /** The conversation items: chain + input + output. */
  readonly context: readonly unknown[]
  readonly instructions: string | null
}

/** State a simulator's Responses connections share. */
interface SharedState {
  open: number
  /** LRU: a Map iterates in insertion order; a hit is re-inserted at the end. */
  readonly store: Map<string, ChainedResponse>
}

const sharedStates = new WeakMap<Scenario, SharedState>()

const sharedStateOf = (scenario: Scenario): SharedState => {
  let state = sharedStates.get(scenario)
  if (state === undefined) {
    state = { open: 0, store: new Map() }
    sharedStates.set(scenario, state)
  }
  return state
}

const storeGet = (state: SharedState, id: string): ChainedResponse | undefined => {
  const hit = state.store.get(id)
  if (hit !== undefined) {
    state.store.delete(id)
    state.store.set(id, hit)
  }
  return hit
}

const storePut = (state: SharedState, response: ChainedResponse): void => {
  state.store.delete(response.id)
  state.store.set(response.id, response)
  while (state.store.size > RESPONSES_STORE_CAPACITY) {
    const oldest = state.store.keys().next().value
    if (oldest === undefined) break
    state.store.delete(oldest)
  }
}

/** The nested error shape of a refused request (no response created). */
const requestError = (
  status: number,
  code: string,
  message: string,
  param: string | null,
  type = "invalid_request_error",
) => ({
  type: "error",
  status,
  error: { type, code, message, param },
})

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Input items as the model sees them: a string is one user message; a bare `{role, content}` gets `type: 'message'`. */
const normalizeInput = (input: unknown): unknown[] => {
  if (input === undefined || input === null) return []
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }]
  return (input as unknown[]).map((item) =>
    isRecord(item) && item.type === undefined && typeof item.role === "string"
      ? { type: "message", ...item }
      : item,
  )
}

/** Approximate tokens of one item: 4 per item plus its text (or its JSON for other item types). */
const itemTokens = (item: unknown): number => {
  if (!isRecord(item)) return 4 + countTextTokens(String(item))
  switch (item.type) {
    case "message":
      return 4 + countTextTokens(itemText(item))
    case "function_call":
      return 4 + countTextTokens(`${String(item.name)}${String(item.arguments)}`)
    case "function_call_output":
      return 4 + countTextTokens(typeof item.output === "string" ? item.output : JSON.stringify(item.output))
    default:
      return 4 + countTextTokens(JSON.stringify(item))
  }
}

const tokensOf = (items: readonly unknown[]): number =>
  items.reduce<number>((acc, item) => acc + itemTokens(item), 0)

/** Validation of `response.create`: the first problem as a nested error, or the parsed request. */
/** @internal */
export interface CreateRequest {
  readonly model: string
  readonly input: unknown[]
  readonly instructions: string | null
  readonly previousResponseId: string | null
  readonly store: boolean
  readonly generate: boolean
  readonly tools: readonly unknown[]
  readonly maxOutputTokens: number | undefined
  readonly streamId: string | undefined
  readonly raw: Record<string, unknown>
}

const parseCreate = (
  event: Record<string, unknown>,
  deployment: string | undefined,
  transport: "websocket" | "http" = "websocket",
): CreateRequest | ReturnType<typeof requestError> => {
  const model = event.model ?? deployment
  if (model === undefined) {
    return requestError(400, "missing_required_parameter", "Missing required parameter: 'model'.", "model")
  }
  if (typeof model !== "string" || model.length === 0) {
    return requestError(400, "invalid_type", "Invalid type for 'model': expected a string.", "model")
  }
  const input = event.input
  if (input !== undefined && input !== null && typeof input !== "string" && !Array.isArray(input)) {
    return requestError(
      400,
      "invalid_type",
      "Invalid type for 'input': expected a string or an array of items.",
      "input",
    )
  }
  const instructions = event.instructions ?? null
  if (instructions !== null && typeof instructions !== "string") {
    return requestError(
      400,
      "invalid_type",
      "Invalid type for 'instructions': expected a string.",
      "instructions",
    )
  }
  const previous = event.previous_response_id ?? null
  if (previous !== null && typeof previous !== "string") {
    return requestError(
      400,
      "invalid_type",
      "Invalid type for 'previous_response_id': expected a string.",
      "previous_response_id",
    )
  }
  const store = event.store ?? true
  if (typeof store !== "boolean") {
    return requestError(400, "invalid_type", "Invalid type for 'store': expected a boolean.", "store")
  }
  const generate = event.generate ?? true
  if (typeof generate !== "boolean") {
    return requestError(400, "invalid_type", "Invalid type for 'generate': expected a boolean.", "generate")
  }
  const tools = event.tools ?? []
  if (!Array.isArray(tools)) {
    return requestError(400, "invalid_type", "Invalid type for 'tools': expected an array.", "tools")
  }
  for (let i = 0; i < tools.length; i++) {
    const tool: unknown = tools[i]
    if (isRecord(tool) && tool.type === "function" && typeof tool.name !== "string") {
      // The Chat Completions shape ({ type, function: { name } }) is the usual mistake here.
      return requestError(
        400,
        "missing_required_parameter",
        `Missing required parameter: 'tools[${i}].name'.`,
        `tools[${i}].name`,
      )
    }
  }
  const max = event.max_output_tokens
  if (max !== undefined && max !== null && (typeof max !== "number" || max < 16)) {
    return requestError(
      400,
      "integer_below_min_value",
      "Invalid 'max_output_tokens': expected a value >= 16.",
      "max_output_tokens",
    )
  }
  if (transport === "websocket" && (event.stream !== undefined || event.background !== undefined)) {
    const param = event.stream !== undefined ? "stream" : "background"
    return requestError(
      400,
      "unknown_parameter",
      `Unknown parameter: '${param}' is not supported in WebSocket mode.`,
      param,
    )
  }
  if (transport === "http") {
    for (const param of ["type", "generate", "stream_id"]) {
      if (event[param] !== undefined)
        return requestError(400, "unknown_parameter", `Unknown parameter: '${param}'.`, param)
    }
    if (event.stream !== undefined && event.stream !== null && typeof event.stream !== "boolean") {
      return requestError(400, "invalid_type", "Invalid type for 'stream': expected a boolean.", "stream")
    }
    if (event.background === true) {
      return requestError(
        400,
        "unsupported_value",
        "The simulator does not run background responses; leave 'background' out.",
        "background",
      )
    }
  }
  return {
    model,
    input: normalizeInput(input),
    instructions,
    previousResponseId: previous,
    store,
    generate,
    tools,
    maxOutputTokens: typeof max === "number" ? max : undefined,
    streamId: typeof event.stream_id === "string" ? event.stream_id : undefined,
    raw: event,
  }
}

/** @internal Where a response's events go: the socket, or an HTTP answer (SSE or one JSON body). */
export interface ResponseSink {
  /** Sends one event (its `sequence_number` already set). */
  send(event: Record<string, unknown>): void
  /** Waits before the next delta (the socket's scripted latency; a turn of the loop over HTTP). */
  pace(): Promise<void>
  /** False once the client is gone: the response stops without a terminal event. */
  isOpen(): boolean
}

/** @internal What {@link streamResponse} needs: the request, its chain, and where the events go. */
export interface ResponseRun {
  readonly request: CreateRequest
  readonly chain: ChainedResponse | null
  readonly flight: InFlight
  readonly scenario: Scenario
  readonly nextId: (prefix: string) => string
  readonly sink: ResponseSink
  /** Keeps the response for chaining (the connection's latest, the store). */
  readonly remember: (chained: ChainedResponse) => void
}

/** The response in flight on a connection. */
/** @internal */
export interface InFlight {
  readonly id: string
  cancelled: boolean
  dropped: boolean
}

/**
 * The `/v1/responses` WebSocket handler (see the module description). Registers itself on
 * the socket; the server has already authenticated, recorded and scripted the connection.
 */
export const handleResponsesConnection: WebSocketHandler = (
  socket: WebSocket,
  ctx: WebSocketContext,
): void => {
  const shared = sharedStateOf(ctx.scenario)
  const cap = ctx.options.responsesMaxConnections
  if (cap !== undefined && shared.open >= cap) {
    ctx.send(
      requestError(
        429,
        "websocket_connection_limit_reached",
        `Too many concurrent Responses websocket connections (limit ${cap}). Close a connection or retry later.`,
        null,
      ),
    )
    ctx.close(1000, "websocket_connection_limit_reached")
    return
  }
  shared.open += 1
  let latest: ChainedResponse | undefined
  let inFlight: InFlight | undefined

  const lifetimeMs = ctx.options.responsesConnectionLifetimeMs
  // Beyond the largest timer delay (about 24.8 days) a lifetime is as good as none.
  const lifetime =
    lifetimeMs <= MAX_TIMER_MS
      ? setTimeout(() => {
          if (inFlight !== undefined) inFlight.dropped = true
          const minutes = lifetimeMs / 60_000
          const span = Number.isInteger(minutes) ? `${minutes} minutes` : `${lifetimeMs} ms`
          ctx.send(
            requestError(
              400,
              "websocket_connection_limit_reached",
              `Responses websocket connection limit reached (${span}). Create a new websocket connection to continue.`,
              null,
            ),
          )
          ctx.close(1000, "websocket_connection_limit_reached")
        }, lifetimeMs)
      : undefined
  lifetime?.unref()

  socket.on("close", () => {
    shared.open -= 1
    if (lifetime !== undefined) clearTimeout(lifetime)
    if (inFlight !== undefined) inFlight.dropped = true
  })

  ctx.onClientEvent((event, parsed) => {
    if (!parsed) {
      ctx.send(requestError(400, "invalid_json", "The frame could not be parsed as JSON.", null))
      return
    }
    if (!isRecord(event) || typeof event.type !== "string") {
      ctx.send(requestError(400, "missing_required_parameter", "Missing required parameter: 'type'.", "type"))
      return
    }
    switch (event.type) {
      case "response.create":
        onCreate(event)
        return
      case "response.cancel": {
        const target = event.response_id
        if (inFlight !== undefined && (target === undefined || target === null || target === inFlight.id)) {
          inFlight.cancelled = true
        }
        return
      }
      default:
        ctx.send(
          requestError(
            400,
            "invalid_value",
            `Invalid value: '${event.type}'. Supported values are: 'response.create' and 'response.cancel'.`,
            "type",
          ),
        )
    }
  })

  const resolveChain = (previousId: string | null): ChainedResponse | null | undefined => {
    if (previousId === null) return null
    if (latest !== undefined && latest.id === previousId) return latest
    return storeGet(shared, previousId)
  }

  const onCreate = (event: Record<string, unknown>): void => {
    const request = parseCreate(event, ctx.deployment)
    if ("type" in request) {
      ctx.send(request)
      return
    }
    if (inFlight !== undefined) {
      ctx.send(
        requestError(
          400,
          "response_already_in_progress",
          `A response (${inFlight.id}) is already in progress on this connection. Wait for it to finish or cancel it.`,
          null,
        ),
      )
      return
    }
    const chain = resolveChain(request.previousResponseId)
    if (chain === undefined) {
      ctx.send(
        requestError(
          400,
          "previous_response_not_found",
          `Previous response with id '${request.previousResponseId}' not found.`,
          "previous_response_id",
        ),
      )
      return
    }
    const flight: InFlight = { id: ctx.nextId("resp_"), cancelled: false, dropped: false }
    inFlight = flight
    streamResponse({
      request,
      chain,
      flight,
      scenario: ctx.scenario,
      nextId: ctx.nextId,
      sink: { send: ctx.send, pace: ctx.pace, isOpen: ctx.isOpen },
      remember: (chained) => {
        latest = chained
        if (request.store) storePut(shared, chained)
      },
    })
      .catch((cause: unknown) => {
        // A bug of the simulator itself: reported as a flat streaming error, never unhandled.
        ctx.send({
          type: "error",
          code: "server_error",
          message: `The simulator failed: ${cause instanceof Error ? cause.message : String(cause)}`,
          param: null,
        })
      })
      .finally(() => {
        if (inFlight === flight) inFlight = undefined
      })
  }
}

/**
 * @internal
 * Streams one response (see the module description) to its sink: the same events, replies
 * and tool calls over the socket and over HTTP.
 */
export const streamResponse = async (run: ResponseRun): Promise<void> => {
  const { request, chain, flight, sink, scenario, nextId } = run
  const chainItems = chain?.context ?? []
  const context = [...chainItems, ...request.input]
  let sequence = 0
  const emit = (payload: Record<string, unknown>) => {
    sink.send({
      ...payload,
      sequence_number: sequence++,
      ...(request.streamId === undefined ? {} : { stream_id: request.streamId }),
    })
  }
  const createdAt = Math.floor(Date.now() / 1000)
  const snapshot = (status: string, output: unknown[], usage: unknown, incomplete: unknown = null) => ({
    id: flight.id,
    object: "response",
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: incomplete,
    instructions: request.instructions,
    max_output_tokens: request.maxOutputTokens ?? null,
    model: request.model,
    output,
    parallel_tool_calls: request.raw.parallel_tool_calls ?? true,
    previous_response_id: request.previousResponseId,
    reasoning: { effort: null, summary: null },
    store: request.store,
    temperature: request.raw.temperature ?? 1,
    text: request.raw.text ?? { format: { type: "text" } },
    tool_choice: request.raw.tool_choice ?? "auto",
    tools: request.tools,
    top_p: request.raw.top_p ?? 1,
    truncation: "disabled",
    usage,
    user: null,
    metadata: request.raw.metadata ?? {},
  })
  const instructionTokens = request.instructions === null ? 0 : countTextTokens(request.instructions)
  const inputTokens = instructionTokens + tokensOf(context)
  const cachedTokens =
    chain === null
      ? 0
      : tokensOf(chainItems) +
        (chain.instructions !== null && chain.instructions === request.instructions ? instructionTokens : 0)
  const usageFor = (outputTokens: number) => {
    const reasoning = isReasoningModel(request.model) && outputTokens > 0 ? REASONING_TOKENS : 0
    return {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: cachedTokens },
      output_tokens: outputTokens + reasoning,
      output_tokens_details: { reasoning_tokens: reasoning },
      total_tokens: inputTokens + outputTokens + reasoning,
    }
  }
  const remember = (output: readonly unknown[]) => {
    const chained: ChainedResponse = {
      id: flight.id,
      context: [...context, ...output],
      instructions: request.instructions,
    }
    run.remember(chained)
  }
  const stopped = () => flight.dropped || !sink.isOpen()

  emit({ type: "response.created", response: snapshot("in_progress", [], null) })
  if (!request.generate) {
    remember([])
    emit({ type: "response.completed", response: snapshot("completed", [], usageFor(0)) })
    return
  }
  emit({ type: "response.in_progress", response: snapshot("in_progress", [], null) })

  const instructionsItem =
    request.instructions === null
      ? []
      : [{ type: "message", role: "developer", content: request.instructions }]
  let reply: ModelReply
  let calls: readonly ScriptedFunctionCall[] | undefined
  try {
    reply = resolveReply(scenario, {
      index: nextRequestIndex(scenario, "responses"),
      input: [...instructionsItem, ...context],
    })
    calls = functionCallsOf(reply)
  } catch (cause) {
    // A scenario function that throws fails this response, as a model error would.
    const message = `The scenario's reply failed: ${cause instanceof Error ? cause.message : String(cause)}`
    emit({
      type: "response.failed",
      response: { ...snapshot("failed", [], usageFor(0)), error: { code: "server_error", message } },
    })
    return
  }

  const finish = (items: readonly Record<string, unknown>[], outputTokens: number, truncated: boolean) => {
    remember(items)
    if (flight.cancelled) {
      emit({
        type: "response.incomplete",
        response: snapshot("cancelled", [...items], usageFor(outputTokens)),
      })
    } else if (truncated) {
      emit({
        type: "response.incomplete",
        response: snapshot("incomplete", [...items], usageFor(outputTokens), {
          reason: "max_output_tokens",
        }),
      })
    } else {
      emit({
        type: "response.completed",
        response: snapshot("completed", [...items], usageFor(outputTokens)),
      })
    }
  }

  if (calls !== undefined) {
    // Several calls (parallel tool calls) are output items one after the other.
    const output: Record<string, unknown>[] = []
    let tokens = 0
    for (const [outputIndex, call] of calls.entries()) {
      const { name, arguments: args } = call
      const item = {
        id: nextId("fc_"),
        type: "function_call",
        status: "in_progress",
        call_id: call.callId ?? nextId("call_"),
        name,
        arguments: "",
      }
      emit({ type: "response.output_item.added", output_index: outputIndex, item })
      let sent = ""
      for (const piece of splitFragments(args, 4)) {
        await sink.pace()
        if (stopped()) return
        if (flight.cancelled) break
        sent += piece
        emit({
          type: "response.function_call_arguments.delta",
          item_id: item.id,
          output_index: outputIndex,
          delta: piece,
        })
      }
      tokens += countTextTokens(name) + countTextTokens(sent)
      if (flight.cancelled) {
        output.push({ ...item, status: "incomplete", arguments: sent })
        finish(output, tokens, false)
        return
      }
      emit({
        type: "response.function_call_arguments.done",
        item_id: item.id,
        output_index: outputIndex,
        name,
        arguments: args,
      })
      const done = { ...item, status: "completed", arguments: args }
      emit({ type: "response.output_item.done", output_index: outputIndex, item: done })
      output.push(done)
    }
    finish(output, tokens, false)
    return
  }
  if (!("text" in reply)) return

  const { deltas, truncated } = truncateDeltas(reply.text, request.maxOutputTokens)
  const itemId = nextId("msg_")
  const message = (status: string, content: unknown[]) => ({
    id: itemId,
    type: "message",
    status,
    role: "assistant",
    content,
  })
  const part = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] })
  emit({ type: "response.output_item.added", output_index: 0, item: message("in_progress", []) })
  emit({
    type: "response.content_part.added",
    item_id: itemId,
    output_index: 0,
    content_index: 0,
    part: part(""),
  })
  let text = ""
  for (const delta of deltas) {
    await sink.pace()
    if (stopped()) return
    if (flight.cancelled) break
    text += delta
    emit({
      type: "response.output_text.delta",
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta,
      logprobs: [],
    })
  }
  if (flight.cancelled) {
    finish([message("incomplete", [part(text)])], countTextTokens(text), false)
    return
  }
  emit({
    type: "response.output_text.done",
    item_id: itemId,
    output_index: 0,
    content_index: 0,
    text,
    logprobs: [],
  })
  emit({
    type: "response.content_part.done",
    item_id: itemId,
    output_index: 0,
    content_index: 0,
    part: part(text),
  })
  const status = truncated ? "incomplete" : "completed"
  const done = message(status, [part(text)])
  emit({ type: "response.output_item.done", output_index: 0, item: done })
  finish([done], countTextTokens(text), truncated)
}

/** The terminal events of a response. */
const TERMINAL_EVENTS: ReadonlySet<unknown> = new Set([
  "response.completed",
  "response.incomplete",
  "response.failed",
])

/**
 * `POST /v1/responses` over HTTP: the same request, replies, tool calls and chaining as the
 * socket (`store: true` responses chain across both), answered as SSE (`stream: true`:
 * `event: <type>` and `data: <event>` per event) or as the final response object. A refused
 * request is the REST error answer (`{ error: { message, type, param, code } }`, with the
 * socket's status and code). Not simulated over HTTP: `background` responses (400), and the
 * socket-only `generate` and `stream_id` (400 `unknown_parameter`).
 */
export const responsesRoute: HttpRoute = makeRestRoute("responses", "/responses", async (exchange) => {
  const { res, ctx, body, record } = exchange
  const json = parseJsonObject(body)
  record(json)
  const request = parseCreate(json, ctx.deployment, "http")
  if ("type" in request) {
    throw restError(request.status, request.error.message, {
      type: request.error.type,
      code: request.error.code,
      param: request.error.param,
    })
  }
  const shared = sharedStateOf(ctx.scenario)
  const chain = request.previousResponseId === null ? null : storeGet(shared, request.previousResponseId)
  if (chain === undefined) {
    throw restError(400, `Previous response with id '${request.previousResponseId}' not found.`, {
      code: "previous_response_not_found",
      param: "previous_response_id",
    })
  }
  const flight: InFlight = { id: ctx.nextId("resp_"), cancelled: false, dropped: false }
  const open = () => !res.destroyed && !res.writableEnded
  const run = {
    request,
    chain,
    flight,
    scenario: ctx.scenario,
    nextId: ctx.nextId,
    remember: (chained: ChainedResponse) => {
      if (request.store) storePut(shared, chained)
    },
  }
  if (request.raw.stream === true) {
    startSse(res)
    await streamResponse({
      ...run,
      sink: { send: (event) => writeSseEvent(res, String(event.type), event), pace: nextTick, isOpen: open },
    })
    res.end()
    return
  }
  let terminal: Record<string, unknown> | undefined
  await streamResponse({
    ...run,
    sink: {
      send: (event) => {
        if (TERMINAL_EVENTS.has(event.type)) terminal = event
      },
      pace: () => Promise.resolve(),
      isOpen: open,
    },
  })
  if (terminal !== undefined) sendJson(res, 200, terminal.response)
})
