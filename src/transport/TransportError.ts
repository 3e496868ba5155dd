import { Data } from "effect"
import { classifyOpenAIError } from "../protocol/openAIErrorPolicy.ts"

/**
 * Why a {@link TransportError} was raised.
 *
 * - `Open`: the WebSocket could not be opened. `status` and `body` are set when the server
 *   answered the upgrade request with a plain HTTP response (401, 404, 429, 503, ...);
 *   both are absent for network failures (refused, reset, DNS).
 * - `Read`: the socket failed while receiving (a malformed frame, a reset connection).
 * - `Write`: a frame could not be sent (the socket is closing or closed).
 * - `Close`: the peer closed the socket with a code other than 1000. `closeReason` is the
 *   UTF-8 reason the peer sent (often empty).
 * - `Timeout`: the handshake did not finish within the connect timeout (`phase: "connect"`),
 *   or the peer stopped answering heartbeat pings, i.e. a half-open socket
 *   (`phase: "heartbeat"`).
 */
export type TransportErrorReason =
  | { readonly _tag: "Open"; readonly status?: number; readonly body?: string }
  | { readonly _tag: "Read" }
  | { readonly _tag: "Write" }
  | { readonly _tag: "Close"; readonly code: number; readonly closeReason: string }
  | { readonly _tag: "Timeout"; readonly phase: "connect" | "heartbeat" }

/**
 * The one error of the transport layer. `retryable` says whether opening a new connection
 * and trying again can succeed (a dropped connection, a restarting server, a rate limit),
 * as opposed to a failure that repeats until something is changed (a bad API key, an
 * unknown model, a protocol violation).
 *
 * Messages never contain credentials: response bodies and error texts are scrubbed of the
 * secret header values that were sent.
 */
export class TransportError extends Data.TaggedError("TransportError")<{
  readonly reason: TransportErrorReason
  readonly retryable: boolean
  readonly message: string
}> {
  /**
   * A rejected upgrade (an HTTP `status` and the response `body`), classified by
   * {@link isRetryableOpenStatus}. 401 and 403 say to check the API key.
   */
  static rejected(status: number, body: string): TransportError {
    const hint =
      status === 401 || status === 403
        ? " (check the API key and, for Azure, the endpoint and its access rules)"
        : status === 404
          ? " (check the URL, the model or the deployment name)"
          : ""
    const shownBody = body.length > 0 ? `: ${body}` : ""
    return new TransportError({
      reason: { _tag: "Open", status, body },
      retryable: isRetryableOpenStatus(status),
      message: `WebSocket upgrade rejected with HTTP ${status}${hint}${shownBody}`,
    })
  }

  /** The socket could not be opened for a reason other than an HTTP response. */
  static unreachable(detail: string, retryable: boolean): TransportError {
    return new TransportError({
      reason: { _tag: "Open" },
      retryable,
      message: `WebSocket could not be opened: ${detail}`,
    })
  }

  /** The socket failed while reading. */
  static read(detail: string, retryable: boolean): TransportError {
    return new TransportError({
      reason: { _tag: "Read" },
      retryable,
      message: `WebSocket read failed: ${detail}`,
    })
  }

  /**
   * A frame could not be written. `retryable` follows the failure that closed the socket
   * (a new connection can usually take the frame).
   */
  static write(detail: string, retryable: boolean): TransportError {
    return new TransportError({
      reason: { _tag: "Write" },
      retryable,
      message: `WebSocket write failed: ${detail}`,
    })
  }

  /** The peer closed the socket with `code` (not 1000); classified by {@link isRetryableCloseCode}. */
  static closed(code: number, closeReason: string): TransportError {
    const shownReason = closeReason.length > 0 ? `: ${closeReason}` : ""
    return new TransportError({
      reason: { _tag: "Close", code, closeReason },
      retryable: isRetryableCloseCode(code),
      message: `WebSocket closed with code ${code} (${closeCodeName(code)})${shownReason}`,
    })
  }

  /** The handshake (`connect`) or a heartbeat pong (`heartbeat`) did not arrive within `ms` milliseconds. */
  static timeout(phase: "connect" | "heartbeat", ms: number): TransportError {
    return new TransportError({
      reason: { _tag: "Timeout", phase },
      retryable: true,
      message:
        phase === "connect"
          ? `WebSocket handshake did not finish within ${ms} ms`
          : `WebSocket peer did not answer a heartbeat ping within ${ms} ms (half-open connection)`,
    })
  }
}

/** True when `u` is a {@link TransportError}. */
export const isTransportError = (u: unknown): u is TransportError => u instanceof TransportError

/**
 * True for WebSocket close codes after which reconnecting can succeed: 1001 (going away),
 * 1005 (no status), 1006 (abnormal: the connection dropped), 1011 (server error),
 * 1012 (service restart), 1013 (try again later), 1015 (TLS failure).
 * False for everything else: 1000 is a normal end (not an error at all), 1002/1003/1007-1010
 * are protocol or policy violations, 4000 is the Realtime API's rejection, and unknown codes
 * are treated as fatal.
 */
export const isRetryableCloseCode = (code: number): boolean =>
  classifyOpenAIError({ source: "close", code }).retryable

/**
 * True for HTTP statuses of a rejected upgrade after which retrying can succeed:
 * 408 (request timeout), 409 (conflict), 429 (rate limited) and every 5xx, as
 * `classifyOpenAIError` says of every HTTP status. Other statuses (400, 401, 403, 404, ...)
 * repeat until the request or the credentials change.
 */
export const isRetryableOpenStatus = (status: number): boolean =>
  classifyOpenAIError({ source: "http", status }).retryable

const closeCodeNames: ReadonlyMap<number, string> = new Map([
  [1000, "normal closure"],
  [1001, "going away"],
  [1002, "protocol error"],
  [1003, "unsupported data"],
  [1005, "no status received"],
  [1006, "abnormal closure"],
  [1007, "invalid frame payload data"],
  [1008, "policy violation"],
  [1009, "message too big"],
  [1010, "mandatory extension"],
  [1011, "internal server error"],
  [1012, "service restart"],
  [1013, "try again later"],
  [1014, "bad gateway"],
  [1015, "TLS handshake failure"],
  [4000, "rejected by the Realtime API"],
])

/** A short English name for a WebSocket close code, for messages and logs ("abnormal closure"). */
export const closeCodeName = (code: number): string =>
  closeCodeNames.get(code) ?? (code >= 4000 && code <= 4999 ? "application-defined" : "unknown code")
