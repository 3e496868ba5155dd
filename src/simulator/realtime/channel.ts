/**
 * The Realtime side of a connection's send funnel: server events get their `event_id`, and
 * refused client events become `error` events naming the offending client `event_id`.
 * @module
 */
import type { WebSocketContext } from "../types.ts"
import { invalidValue, missingParameter, RealtimeRequestError, realtimeErrorEvent } from "./errors.ts"

/** Sends Realtime server events on one connection. */
export interface RealtimeChannel {
  readonly ctx: WebSocketContext
  /** Sends `{type, event_id, ...fields}`; `false` when the frame was dropped (see `WebSocketContext.send`). */
  emit(type: string, fields?: object): boolean
  /** Sends the `error` event for a refused client event. */
  fail(error: RealtimeRequestError, clientEventId: string | null): void
  /** Reports a bug of the simulator itself as a `server_error` event, so it never goes unseen. */
  internalError(cause: unknown): void
}

/** Creates the channel of one Realtime connection. */
export const createRealtimeChannel = (ctx: WebSocketContext): RealtimeChannel => ({
  ctx,
  emit(type, fields = {}) {
    return ctx.send({ type, event_id: ctx.nextId("event_"), ...fields })
  },
  fail(error, clientEventId) {
    ctx.send(
      realtimeErrorEvent(ctx.nextId("event_"), {
        type: error.errorType,
        code: error.reason,
        message: error.message,
        param: error.param,
        event_id: clientEventId,
      }),
    )
  },
  internalError(cause) {
    ctx.send(
      realtimeErrorEvent(ctx.nextId("event_"), {
        type: "server_error",
        code: "server_error",
        message: `The simulator failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        param: null,
        event_id: null,
      }),
    )
  },
})

/** The `event_id` a client event carries, if any. */
export const clientEventIdOf = (payload: unknown): string | null => {
  if (typeof payload !== "object" || payload === null) return null
  const id = (payload as { event_id?: unknown }).event_id
  return typeof id === "string" ? id : null
}

/** A client event handler; throws `RealtimeRequestError` to refuse the event. */
export type ClientEventHandler = (event: Record<string, unknown>, clientEventId: string | null) => void

/**
 * Routes a connection's client events to `handlers` by `type`. A frame that is not a JSON
 * object is `invalid_json`; a missing `type` is `missing_required_parameter`; a type the
 * session does not handle is `invalid_value` on `type` listing the supported ones; a
 * `RealtimeRequestError` thrown by a handler becomes its `error` event; any other failure is
 * reported as `server_error`.
 */
export const dispatchClientEvents = (
  channel: RealtimeChannel,
  handlers: Readonly<Record<string, ClientEventHandler>>,
): void => {
  channel.ctx.onClientEvent((payload, parsed) => {
    if (!channel.ctx.isOpen()) return
    if (!parsed || typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      channel.fail(
        new RealtimeRequestError({
          reason: "invalid_json",
          message: "The client event is not a JSON object.",
          param: null,
          errorType: "invalid_request_error",
        }),
        null,
      )
      return
    }
    const event = payload as Record<string, unknown>
    const clientEventId = clientEventIdOf(event)
    try {
      if (event.type === undefined) throw missingParameter("type")
      const handler = typeof event.type === "string" ? handlers[event.type] : undefined
      if (handler === undefined) throw invalidValue("type", event.type, Object.keys(handlers))
      handler(event, clientEventId)
    } catch (cause) {
      if (cause instanceof RealtimeRequestError) channel.fail(cause, clientEventId)
      else channel.internalError(cause)
    }
  })
}
