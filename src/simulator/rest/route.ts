/**
 * The frame shared by the simulator's REST routes: one method each, `POST` unless told
 * (the router answers other methods with a 405 and `Allow`), bounded body read (413 over 25 MiB),
 * recording of the request in its connection record, `x-request-id`, and translation of a
 * thrown {@link RestError} into the OpenAI error answer.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { HttpRoute, RestEndpoint } from "../types.ts"
import { MAX_BODY_BYTES, payloadTooLarge, readBody } from "./body.ts"
import { isRestError, openAIErrorBody, sendJson, sendRestError } from "./errors.ts"

/** The context a REST route receives (the third argument of `HttpRoute.handle`). */
export type RestContext = Parameters<HttpRoute["handle"]>[2]

/** What a route body handler gets: the request, the response, the context and the body bytes. */
export interface RestRequest {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly ctx: RestContext
  readonly body: Buffer
  /** The `x-request-id` this answer carries. */
  readonly requestId: string
  /** Records what the request asked for (the parsed body) in the connection record. */
  record(payload: unknown): void
}

/**
 * Builds an {@link HttpRoute} for `method` requests (`POST` by default): the body is read with the 25 MiB limit,
 * then `answer` runs; a {@link RestError} it throws becomes the error answer, any other
 * exception a 500 `server_error`.
 */
export const makeRestRoute = (
  endpoint: RestEndpoint,
  path: string,
  answer: (request: RestRequest) => Promise<void> | void,
  method: "POST" | "GET" = "POST",
): HttpRoute => ({
  endpoint,
  method,
  path,
  handle: async (req, res, ctx) => {
    const requestId = ctx.nextId("req_")
    res.setHeader("x-request-id", requestId)
    res.setHeader("openai-version", "2020-10-01")
    let recorded = false
    const record = (payload: unknown, bytes: number) => {
      if (recorded) return
      recorded = true
      ctx.connection.received.push({ atMs: ctx.now(), type: "http", payload, bytes })
    }
    try {
      const read = await readBody(req, MAX_BODY_BYTES)
      if (read._tag === "TooLarge") {
        record({ tooLarge: true, declaredBytes: read.declaredBytes ?? null }, read.receivedBytes)
        throw payloadTooLarge(MAX_BODY_BYTES)
      }
      const body = read.bytes
      await answer({ req, res, ctx, body, requestId, record: (payload) => record(payload, body.length) })
      record(null, body.length)
    } catch (error) {
      record(null, 0)
      if (res.destroyed) return
      if (isRestError(error)) {
        if (res.headersSent) res.end()
        else sendRestError(res, error)
        return
      }
      const message = error instanceof Error ? error.message : String(error)
      if (res.headersSent) res.destroy()
      else
        sendJson(
          res,
          500,
          openAIErrorBody(`The simulator failed: ${message}`, "server_error", null, "server_error"),
        )
    }
  },
})
