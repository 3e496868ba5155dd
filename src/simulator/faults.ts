/**
 * Fault injection, applied the same way to every WebSocket protocol: every server frame of a
 * connection goes through one send funnel that applies the connection's script (latency
 * before the first event, stall, scripted closes, malformed frames, unknown events, `error`
 * events) and the Realtime session cap, and records what was actually sent. Client frames
 * come in through the funnel too, so a `refuse` fault can answer a client event with an error
 * and keep it from the protocol handler.
 *
 * Triggers: a fault fires at the first moment all of its conditions hold: `afterEvents` (server
 * events sent), `afterClientEvents` (client events received, of `onType` when given; `onType`
 * alone means the first such event) and `afterMs` (since the connection opened). A fault with
 * no condition fires as the connection opens, before the handler's first event. Each fault
 * fires once, in script order.
 *
 * Close codes: 1006 destroys the socket without a close frame (`terminate`), 1005 sends a
 * close frame without a code, every other code a WebSocket may carry (1000-1003, 1007-1014,
 * 3000-4999) is sent as is; any code that cannot travel in a close frame (1004, 1015, out of
 * range) is also simulated by destroying the socket, the only way a client sees it.
 *
 * The Realtime session cap (`realtimeSessionMaxMs`) sends
 * `error{code:'session_expired'}` and then closes with 1000 (the service's close code after
 * this error is unconfirmed; 1000 is the simulator's choice).
 * @module
 */
import { Buffer } from "node:buffer"
import { STATUS_CODES } from "node:http"
import type { Duplex } from "node:stream"
import { type RawData, WebSocket } from "ws"
import { realtimeErrorEvent } from "./realtime/errors.ts"
import type {
  ConnectionFault,
  ConnectionKind,
  ConnectionScript,
  RecordedEvent,
  ScriptedServerError,
  SimulatorConnection,
} from "./types.ts"

/** A connection record whose mutable parts the server and the funnel update. */
export interface MutableConnection extends SimulatorConnection {
  open: boolean
}

/** Options of {@link createSendFunnel}. */
export interface SendFunnelOptions {
  readonly socket: WebSocket
  readonly kind: ConnectionKind
  readonly script: ConnectionScript
  readonly connection: MutableConnection
  readonly nextId: (prefix: string) => string
  /** Milliseconds since the simulator started (for `RecordedEvent.atMs`). */
  readonly now: () => number
  /** Realtime kinds: the session cap in milliseconds (`session_expired`), if any. */
  readonly sessionMaxMs?: number
  /** Told of every frame written, after it is recorded (the simulator's log). */
  readonly onSent?: (payload: unknown) => void
}

/** The per-connection funnel every server frame goes through. */
export interface SendFunnel {
  /**
   * Sends a frame (recorded as `payload`, or parsed from `text` when not given). Returns
   * `false` when the frame is dropped (closing, closed or stalled), `true` when it is written
   * or queued behind the first-event latency.
   */
  sendText(text: string, payload?: unknown): boolean
  /** Serializes and sends an event; the result as for `sendText`. */
  sendEvent(event: object): boolean
  /** Waits the scripted between-deltas latency, or one macrotask. */
  pace(): Promise<void>
  isOpen(): boolean
  onClientEvent(listener: (payload: unknown, parsed: boolean, text: string) => void): void
  /** Closes the connection as a scripted close would (1006 = destroy). */
  close(code: number, reason?: string): void
  /** Runs the faults that fire at open; call once the handler is attached. */
  start(): void
  /** Clears every timer and resolves pending `pace` calls. Idempotent. */
  dispose(): void
}

const REALTIME_KINDS: ReadonlySet<ConnectionKind> = new Set(["transcription", "realtime"])

/** Default `error.type` for a scripted error code. */
export const defaultErrorType = (code: string): string => {
  switch (code) {
    case "server_error":
    case "internal_error":
      return "server_error"
    case "rate_limit_exceeded":
      return "tokens"
    case "insufficient_quota":
      return "insufficient_quota"
    default:
      return "invalid_request_error"
  }
}

/** Default message for a scripted error code. */
export const defaultErrorMessage = (code: string): string => {
  switch (code) {
    case "session_expired":
      return "Your session hit the maximum duration of 60 minutes."
    case "rate_limit_exceeded":
      return "Rate limit reached. Please try again later."
    case "insufficient_quota":
      return "You exceeded your current quota, please check your plan and billing details."
    case "server_error":
      return "The server had an error while processing your request. Sorry about that!"
    case "websocket_connection_limit_reached":
      return "Responses websocket connection limit reached (60 minutes). Create a new websocket connection to continue."
    default:
      return `Simulated error: ${code}.`
  }
}

/** HTTP-like status carried by the nested Responses error shape. */
const statusForCode = (code: string): number => {
  switch (code) {
    case "rate_limit_exceeded":
    case "insufficient_quota":
      return 429
    case "server_error":
    case "internal_error":
      return 500
    default:
      return 400
  }
}

type RefuseFault = Extract<ConnectionFault, { type: "refuse" }>

/**
 * The `error` event a scripted `error` or `refuse` fault sends: the Realtime shape
 * (`{type:'error', event_id, error:{type, code, message, param, event_id}}`, where
 * `error.event_id` is `clientEventId`: the refused client event's id) on Realtime connections;
 * on the Responses socket the nested shape (`{type:'error', status, error:{type, code, message,
 * param, headers?}}`) or, with `shape: "flat"`, `{type:'error', code, message, param,
 * sequence_number}` where `sequence_number` is the number of events sent before it on the
 * connection. `status` and `headers` are sent in the nested shape only.
 */
export const faultErrorEvent = (
  kind: ConnectionKind,
  fault: ScriptedServerError,
  nextId: (prefix: string) => string,
  sentCount: number,
  clientEventId: string | null = null,
): object => {
  const type = fault.errorType ?? defaultErrorType(fault.code)
  const message = fault.message ?? defaultErrorMessage(fault.code)
  const param = fault.param ?? null
  if (REALTIME_KINDS.has(kind)) {
    return realtimeErrorEvent(nextId("event_"), {
      type,
      code: fault.code,
      message,
      param,
      event_id: clientEventId,
    })
  }
  if (fault.shape === "flat") {
    return { type: "error", code: fault.code, message, param, sequence_number: sentCount }
  }
  return {
    type: "error",
    status: fault.status ?? statusForCode(fault.code),
    error: {
      type,
      code: fault.code,
      message,
      param,
      ...(fault.headers === undefined ? {} : { headers: { ...fault.headers } }),
    },
  }
}

/** Whether a WebSocket close frame may carry `code` (RFC 6455 and the ws library). */
const isSendableCloseCode = (code: number): boolean =>
  (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
  (code >= 3000 && code <= 4999)

const DEFAULT_MALFORMED = '{"type":"response.output_audio.delta","delta":"AAAA'

/**
 * Creates the funnel of one WebSocket connection. It patches `socket.send` so frames sent
 * directly on the socket take the same path, records client frames, answers pings (except
 * while stalled) and arms the script's faults.
 */
export const createSendFunnel = (options: SendFunnelOptions): SendFunnel => {
  const { socket, kind, script, connection, nextId, now } = options
  const rawSend = socket.send.bind(socket)
  const openedAt = Date.now()
  const firstEventMs = script.latency?.firstEventMs ?? 0
  const betweenDeltasMs = script.latency?.betweenDeltasMs ?? 0
  const faults = (script.faults ?? []).filter((fault) => fault.type !== "reject" && fault.type !== "refuse")
  const refusals = (script.faults ?? [])
    .filter((fault): fault is RefuseFault => fault.type === "refuse")
    .map((fault) => ({ fault, remaining: fault.times ?? 1 }))
  const fired = faults.map(() => false)
  const timeReached = faults.map((fault) => !("afterMs" in fault) || fault.afterMs === undefined)
  const timers = new Set<NodeJS.Timeout>()
  const pendingPaces = new Set<() => void>()
  const listeners: Array<(payload: unknown, parsed: boolean, text: string) => void> = []
  const clientCounts = new Map<string, number>()
  const queue: Array<{ text: string; payload: unknown }> = []
  let clientTotal = 0
  let sentCount = 0
  let gateOpen = firstEventMs <= 0
  let pendingClose: { code: number; reason: string | undefined } | undefined
  let stalled = false
  let ended = false
  let disposed = false
  let started = false
  let checking = false

  const schedule = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      run()
    }, ms)
    timers.add(timer)
  }

  const isOpen = () => !ended && socket.readyState === WebSocket.OPEN

  const writeNow = (text: string, payload: unknown) => {
    rawSend(text)
    connection.sent.push(payload)
    options.onSent?.(payload)
    sentCount += 1
    check()
  }

  const sendText = (text: string, payload?: unknown): boolean => {
    if (!isOpen() || stalled) return false
    const recorded = payload === undefined ? parseOrRaw(text) : payload
    if (!gateOpen) {
      queue.push({ text, payload: recorded })
      return true
    }
    writeNow(text, recorded)
    return true
  }

  const sendEvent = (event: object) => sendText(JSON.stringify(event), event)

  const closeNow = (code: number, reason?: string) => {
    if (ended) return
    ended = true
    queue.length = 0
    if (socket.readyState === WebSocket.CLOSED) return
    if (code === 1005) socket.close()
    else if (isSendableCloseCode(code)) socket.close(code, reason)
    else socket.terminate()
  }

  /** Closes after the frames held by the first-event latency, or at once. */
  const close = (code: number, reason?: string) => {
    if (!gateOpen && queue.length > 0) pendingClose = { code, reason }
    else closeNow(code, reason)
  }

  const conditionsHold = (fault: ConnectionFault, index: number): boolean => {
    if (fault.type === "reject" || fault.type === "refuse") return false
    if (fault.afterEvents !== undefined && sentCount < fault.afterEvents) return false
    const wanted = fault.afterClientEvents ?? (fault.onType !== undefined ? 1 : undefined)
    if (wanted !== undefined) {
      const seen = fault.onType === undefined ? clientTotal : (clientCounts.get(fault.onType) ?? 0)
      if (seen < wanted) return false
    }
    return timeReached[index] === true
  }

  const fire = (fault: ConnectionFault) => {
    switch (fault.type) {
      case "reject":
      case "refuse":
        return
      case "close":
        closeNow(fault.code, fault.reason)
        return
      case "stall":
        stalled = true
        queue.length = 0
        return
      case "malformed":
        sendText(fault.text ?? DEFAULT_MALFORMED)
        return
      case "unknownEvent": {
        const type = fault.eventType ?? "simulator.unknown_event"
        sendEvent(
          REALTIME_KINDS.has(kind)
            ? { type, event_id: nextId("event_") }
            : { type, sequence_number: sentCount },
        )
        return
      }
      case "error":
        sendEvent(faultErrorEvent(kind, fault, nextId, sentCount))
        if (fault.closeCode !== undefined) closeNow(fault.closeCode, fault.code)
        return
    }
  }

  function check(): void {
    if (!started || checking || disposed) return
    checking = true
    try {
      let firedOne = true
      while (firedOne && isOpen()) {
        firedOne = false
        for (let i = 0; i < faults.length; i++) {
          const fault = faults[i]
          if (fault === undefined || fired[i] || !conditionsHold(fault, i)) continue
          fired[i] = true
          firedOne = true
          fire(fault)
          if (!isOpen()) break
        }
      }
    } finally {
      checking = false
    }
  }

  // Every frame sent on the socket, whoever sends it, goes through the funnel.
  socket.send = ((data: unknown) => {
    const text =
      typeof data === "string"
        ? data
        : Buffer.isBuffer(data)
          ? data.toString("utf8")
          : ArrayBuffer.isView(data)
            ? Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8")
            : String(data)
    sendText(text)
  }) as WebSocket["send"]

  socket.on("ping", (data: Buffer) => {
    if (!stalled && socket.readyState === WebSocket.OPEN) socket.pong(data)
  })

  socket.on("message", (data: RawData, isBinary: boolean) => {
    const buffer = toBuffer(data)
    const text = buffer.toString("utf8")
    let payload: unknown = text
    let parsed = false
    if (!isBinary) {
      try {
        payload = JSON.parse(text)
        parsed = true
      } catch {
        // Recorded and passed on as raw text: the handler answers with its own error.
      }
    }
    const type =
      parsed &&
      typeof payload === "object" &&
      payload !== null &&
      typeof (payload as { type?: unknown }).type === "string"
        ? (payload as { type: string }).type
        : "invalid"
    const seenOfType = (clientCounts.get(type) ?? 0) + 1
    const refusal = refusals.find(
      (r) => r.remaining > 0 && r.fault.onType === type && seenOfType >= (r.fault.afterClientEvents ?? 1),
    )
    if (refusal !== undefined) refusal.remaining -= 1
    const record: RecordedEvent = {
      atMs: now(),
      type,
      payload,
      bytes: buffer.byteLength,
      ...(refusal === undefined ? {} : { refused: true }),
    }
    connection.received.push(record)
    clientTotal += 1
    clientCounts.set(type, seenOfType)
    if (refusal !== undefined) {
      const eventId =
        typeof payload === "object" && payload !== null
          ? (payload as { event_id?: unknown }).event_id
          : undefined
      sendEvent(
        faultErrorEvent(kind, refusal.fault, nextId, sentCount, typeof eventId === "string" ? eventId : null),
      )
    }
    check()
    if (refusal !== undefined) return
    for (const listener of listeners) listener(payload, parsed, text)
  })

  return {
    sendText,
    sendEvent,
    isOpen,
    close,
    pace() {
      if (disposed) return Promise.resolve()
      if (betweenDeltasMs <= 0) return new Promise((resolve) => setImmediate(resolve))
      return new Promise((resolve) => {
        const done = () => {
          pendingPaces.delete(done)
          resolve()
        }
        pendingPaces.add(done)
        schedule(betweenDeltasMs, done)
      })
    },
    onClientEvent(listener) {
      listeners.push(listener)
    },
    start() {
      if (started) return
      started = true
      faults.forEach((fault, index) => {
        if (fault.afterMs !== undefined) {
          schedule(Math.max(0, fault.afterMs - (Date.now() - openedAt)), () => {
            timeReached[index] = true
            check()
          })
        }
      })
      if (!gateOpen) {
        schedule(firstEventMs, () => {
          gateOpen = true
          const pending = queue.splice(0)
          for (const frame of pending) {
            if (!isOpen() || stalled) break
            writeNow(frame.text, frame.payload)
          }
          if (pendingClose !== undefined) closeNow(pendingClose.code, pendingClose.reason)
        })
      }
      const maxMs = options.sessionMaxMs
      if (REALTIME_KINDS.has(kind) && maxMs !== undefined && Number.isFinite(maxMs)) {
        schedule(maxMs, () => {
          const minutes = maxMs / 60_000
          const span = Number.isInteger(minutes) ? `${minutes} minutes` : `${maxMs} milliseconds`
          sendEvent(
            realtimeErrorEvent(nextId("event_"), {
              type: "invalid_request_error",
              code: "session_expired",
              message: `Your session hit the maximum duration of ${span}.`,
              param: null,
              event_id: null,
            }),
          )
          closeNow(1000, "session_expired")
        })
      }
      check()
    },
    dispose() {
      if (disposed) return
      disposed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const resolve of [...pendingPaces]) resolve()
      queue.length = 0
    },
  }
}

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)

const parseOrRaw = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * Refuses a WebSocket upgrade (or answers a raw socket) with an HTTP status and body, then
 * destroys the socket, as the service does for a bad key, an unknown path or a scripted
 * `reject`.
 */
export const rejectUpgrade = (
  socket: Duplex,
  status: number,
  body: string,
  contentType = "application/json",
): void => {
  if (socket.destroyed) return
  const bytes = Buffer.from(body, "utf8")
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n` +
    "Connection: close\r\n" +
    `Content-Type: ${contentType}\r\n` +
    `Content-Length: ${bytes.byteLength}\r\n\r\n`
  socket.once("finish", () => socket.destroy())
  socket.once("error", () => socket.destroy())
  socket.end(Buffer.concat([Buffer.from(head, "latin1"), bytes]))
}
