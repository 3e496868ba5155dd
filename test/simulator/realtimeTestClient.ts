/**
 * A small WebSocket client for the simulator's tests: connects with a key, records every
 * server event and waits for events in order.
 */
import { WebSocket } from "ws"
import { pcmToBase64 } from "../../src/simulator/index.ts"

// biome-ignore lint/suspicious/noExplicitAny: test events are free-form JSON
export type Ev = Record<string, any>

export interface TestClient {
  readonly ws: WebSocket
  /** Every frame received, parsed (or `{ type: "<raw>", raw }` when not JSON). */
  readonly events: Ev[]
  send(event: object): void
  /** Appends PCM16 audio, in chunks of `chunkMs` milliseconds. */
  appendAudio(samples: Int16Array, chunkMs?: number): void
  /**
   * Resolves with the first event after the previous `next` match that satisfies `match`
   * (a type or a predicate); rejects after `timeoutMs` listing the types seen.
   */
  next(match: string | ((event: Ev) => boolean), timeoutMs?: number): Promise<Ev>
  /** Events of a type received so far. */
  all(type: string): Ev[]
  /** Resolves when the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>
  close(): void
}

/** Connects to the simulator and waits for the socket to open. */
export const connect = async (url: string, headers: Record<string, string> = {}): Promise<TestClient> => {
  const ws = new WebSocket(url, { headers })
  const events: Ev[] = []
  const waiters = new Set<() => void>()
  let cursor = 0
  ws.on("message", (data) => {
    const text = String(data)
    try {
      events.push(JSON.parse(text) as Ev)
    } catch {
      events.push({ type: "<raw>", raw: text })
    }
    for (const wake of [...waiters]) wake()
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on("close", (code, reason) => {
      resolve({ code, reason: String(reason) })
      for (const wake of [...waiters]) wake()
    })
  })
  ws.on("error", () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve())
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
    ws.once("error", reject)
  })
  const matches = (match: string | ((event: Ev) => boolean), event: Ev) =>
    typeof match === "string" ? event.type === match : match(event)
  return {
    ws,
    events,
    closed,
    send: (event) => ws.send(JSON.stringify(event)),
    appendAudio(samples, chunkMs = 100) {
      const step = chunkMs * 24
      for (let i = 0; i < samples.length; i += step) {
        ws.send(
          JSON.stringify({
            type: "input_audio_buffer.append",
            audio: pcmToBase64(samples.subarray(i, i + step)),
          }),
        )
      }
    },
    next(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (let i = cursor; i < events.length; i++) {
            const event = events[i]
            if (event !== undefined && matches(match, event)) {
              cursor = i + 1
              waiters.delete(check)
              clearTimeout(timer)
              resolve(event)
              return true
            }
          }
          return false
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(
            new Error(
              `timed out waiting for ${String(match)}; seen: ${events.map((e) => e.type).join(", ")}`,
            ),
          )
        }, timeoutMs)
        if (!check()) waiters.add(check)
      })
    },
    all: (type) => events.filter((event) => event.type === type),
    close: () => ws.close(),
  }
}

/** Attempts an upgrade that should be refused; resolves with its HTTP status and body. */
export const refusedUpgrade = (url: string, headers: Record<string, string> = {}) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.on("error", () => {})
    ws.once("open", () => {
      ws.close()
      reject(new Error("the upgrade was accepted"))
    })
    ws.once("unexpected-response", (_req, res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        body += chunk
      })
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
      res.on("error", () => resolve({ status: res.statusCode ?? 0, body }))
    })
  })

/** The authorization header of the default key. */
export const AUTH = { Authorization: "Bearer sk-simulator" }
