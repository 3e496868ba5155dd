/**
 * Server-sent events as the OpenAI REST endpoints stream them: `data: <json>` records
 * separated by a blank line, over a chunked `text/event-stream` body.
 * @module
 */
import type { ServerResponse } from "node:http"

/** Starts an SSE body (status 200, `text/event-stream`, no caching, chunked). */
export const startSse = (res: ServerResponse, headers: Readonly<Record<string, string>> = {}): void => {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    ...headers,
  })
  res.flushHeaders()
}

/** Writes one `data:` record holding `payload` as JSON (or the raw string, for `[DONE]`). */
export const writeSseData = (res: ServerResponse, payload: unknown): void => {
  if (res.destroyed || res.writableEnded) return
  res.write(`data: ${typeof payload === "string" ? payload : JSON.stringify(payload)}\n\n`)
}

/** Writes one named record: `event: <name>` then `data: <json>` (the Responses API's shape). */
export const writeSseEvent = (res: ServerResponse, name: string, payload: unknown): void => {
  if (res.destroyed || res.writableEnded) return
  res.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`)
}

/** Resolves after the event loop has had a turn, so consecutive writes go out as separate chunks. */
export const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Waits `ms` milliseconds while the answer `res` is still open: resolves `true` when the time
 * has passed, `false` as soon as the response closes first (client gone, simulator closed), so
 * no timer outlives the exchange. Resolves at once (`true`) for `ms <= 0` on an open response.
 */
export const sleepWhileOpen = (res: ServerResponse, ms: number): Promise<boolean> => {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false)
  if (ms <= 0) return Promise.resolve(true)
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      res.off("close", onClose)
      resolve(true)
    }, ms)
    res.once("close", onClose)
  })
}
