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

/** Resolves after the event loop has had a turn, so consecutive writes go out as separate chunks. */
export const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Resolves after `ms` milliseconds (immediately, after one event-loop turn, for 0). */
export const sleep = (ms: number): Promise<void> =>
  ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : nextTick()
