/**
 * The Responses socket's server events as the chain machine sees them, named at the edge:
 * the socket actor turns every decoded frame into one of these, so the machine's states
 * react to meanings (`SERVER.RESPONSE_CREATED`, `SERVER.ERROR { code, retryAfterMs }`,
 * `SERVER.RESPONSE_DONE { status }`) instead of re-classifying raw frames in guards. Each
 * carries the decoded frame (`event`) for the rules that read its content (response
 * progress, the chain's output).
 * @module
 */
import { type ResponsesResponse, type ResponsesServerEvent, serverErrorOf } from "../../src/protocol/index.ts"
import { headerReader, serverRetryAfterMs } from "./chainFailure.ts"
import type { ResponseProgress } from "./responseProgress.ts"

/** How a response ended: its own status, `failed` for `response.failed` whatever it says. */
export type ResponseDoneStatus = "completed" | "incomplete" | "failed" | "cancelled"

/** The server events of the Responses socket, named. */
export type ResponsesServerNamedEvent =
  /** `response.created`: the response exists and has an id. */
  | {
      readonly type: "SERVER.RESPONSE_CREATED"
      readonly responseId: string
      readonly event: ResponsesServerEvent
    }
  /**
   * `response.completed`, `response.incomplete` or `response.failed`. `progress`: the turn's
   * output as the socket's edge folded it while streaming it to the caller itself (see
   * `SERVER.RESPONSE_OUTPUT`), what the response's end reads instead of the machine's own.
   */
  | {
      readonly type: "SERVER.RESPONSE_DONE"
      readonly responseId: string
      readonly status: ResponseDoneStatus
      readonly response: ResponsesResponse
      readonly event: ResponsesServerEvent
      readonly progress?: ResponseProgress
    }
  /**
   * An `error` event (flat or nested): the service's code, message, HTTP-like status and
   * type, and the delay it asked for (`retry-after-ms` / `retry-after` in `error.headers`).
   */
  | {
      readonly type: "SERVER.ERROR"
      readonly code: string | undefined
      readonly message: string
      readonly status: number | undefined
      readonly errorType: string | undefined
      readonly retryAfterMs: number | undefined
      /** Reads `error.headers` case-insensitively (undefined when the error carries none). */
      readonly headers: ((name: string) => string | undefined) | undefined
      readonly event: ResponsesServerEvent
    }
  /**
   * Anything else: output items, text and argument deltas, unknown events. With `progress`,
   * the socket's edge has already folded `event` and those before it into the turn's progress
   * (`advanceProgress`) and handed their chunks to the turn's stream: the machine takes the
   * progress as it is and emits nothing again.
   */
  | {
      readonly type: "SERVER.RESPONSE_OUTPUT"
      readonly event: ResponsesServerEvent
      readonly progress?: ResponseProgress
    }

/** Names one decoded Responses server frame (see {@link ResponsesServerNamedEvent}). */
export const namedResponsesEvent = (event: ResponsesServerEvent): ResponsesServerNamedEvent => {
  switch (event.type) {
    case "response.created":
      return { type: "SERVER.RESPONSE_CREATED", responseId: event.response.id, event }
    case "response.completed":
    case "response.incomplete":
    case "response.failed": {
      const { response } = event
      const status: ResponseDoneStatus =
        event.type === "response.failed" || response.status === "failed"
          ? "failed"
          : response.status === "cancelled"
            ? "cancelled"
            : response.status === "incomplete" || event.type === "response.incomplete"
              ? "incomplete"
              : "completed"
      return { type: "SERVER.RESPONSE_DONE", responseId: response.id, status, response, event }
    }
    case "error": {
      const info = serverErrorOf(event)
      const headers = info?.headers === undefined ? undefined : headerReader(info.headers)
      return {
        type: "SERVER.ERROR",
        code: info?.code,
        message: info?.message ?? "The service reported an error",
        status: info?.status,
        errorType: info?.type,
        retryAfterMs: serverRetryAfterMs(headers),
        headers,
        event,
      }
    }
    default:
      return { type: "SERVER.RESPONSE_OUTPUT", event }
  }
}
