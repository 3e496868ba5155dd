/**
 * The delay a service asks for before a new attempt, read from the response headers every
 * OpenAI client layer sees (REST answers, WebSocket error events that carry headers).
 * @module
 */

/**
 * Reads a server-requested retry delay from `retry-after-ms` (milliseconds) or `retry-after`
 * (seconds, or an HTTP date compared with `nowMs`), in milliseconds; `retry-after-ms` wins when
 * both are readable. Undefined when absent, unreadable or negative.
 *
 * @param get looks a header up by its lower-case name (e.g. `(name) => headers.get(name)`)
 * @param nowMs the current time in epoch milliseconds, for an HTTP-date `retry-after`
 */
export const retryAfterMsFromHeaders = (
  get: (name: string) => string | null | undefined,
  nowMs: number = Date.now(),
): number | undefined => {
  const ms = get("retry-after-ms")
  if (ms != null && ms !== "") {
    const value = Number(ms)
    if (Number.isFinite(value) && value >= 0) return value
  }
  const after = get("retry-after")
  if (after == null || after === "") return undefined
  const seconds = Number(after)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined
  const date = Date.parse(after)
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : undefined
}
