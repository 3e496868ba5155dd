/**
 * The front door: any number of them accept calls' media WebSockets (`/calls/<id>`), ask the
 * cluster where the call lives (its `Status`, answered by the owning runner) and hand the
 * connection there, so audio never travels through cluster messages.
 *
 * - `proxy` (default): the front door holds the caller's socket and pipes frames both ways to
 *   the runner's media endpoint. When the runner goes (killed, or drained: close 1012) the
 *   caller's socket stays open: the front door asks again, reconnects to the call's new
 *   runner and tells the caller `{"type":"reattached","gapMs":N}`. The caller's audio of
 *   the gap is held (bounded) and sent on.
 * - `redirect`: the upgrade is answered `307` with the runner's media URL; the caller
 *   connects there itself (fewer hops, but the caller reconnects on a move).
 * @module
 */
import { createServer, type IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import WebSocket, { WebSocketServer } from "ws"
import { ClusterError } from "./ClusterError.ts"
import type { ClusterClient } from "./client.ts"

/** Options of {@link startFrontDoor}. */
export interface FrontDoorOptions {
  readonly client: ClusterClient
  /** Port (default 0: a free port). */
  readonly port?: number
  readonly host?: string
  /** How media reaches the runner (default `proxy`). */
  readonly mode?: "proxy" | "redirect"
  /** How long a caller's socket waits for its call to come back after a move, in ms (default 30 000). */
  readonly reattachTimeoutMs?: number
  /** Caller frames held while the runner is being reached (default 250, 5 s of 20 ms frames). */
  readonly maxHeldFrames?: number
  /** End the call when the caller hangs up (default true). */
  readonly endOnHangUp?: boolean
}

/** A running front door. */
export interface FrontDoor {
  /** `ws://host:port`; calls are at `/calls/<id>`. */
  readonly url: string
  readonly port: number
  /** Media connections re-attached after a move, and caller frames dropped while held. */
  readonly stats: () => { readonly reattached: number; readonly droppedFrames: number; readonly open: number }
  close(): Promise<void>
}

/** Unsent bytes to the caller above which the agent's frames are dropped. */
const CALLER_HIGH_WATER_BYTES = 1 << 20

const callIdOf = (url: string | undefined): string | undefined => {
  const match = /^\/calls\/([^/?]+)/.exec(url ?? "")
  return match?.[1] === undefined ? undefined : decodeURIComponent(match[1])
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** How long the front door waits for a runner to take a media connection, in ms. */
const ATTACH_TIMEOUT_MS = 5000

/**
 * Connects to a runner's media endpoint and waits for its first message (`call_attached`);
 * a runner that does not hold the call closes with 4404 instead. The listener is there from
 * the start: the runner's first frame can arrive in the same read as the handshake.
 */
const attachTo = (url: string) =>
  new Promise<{ socket: WebSocket; early: { data: WebSocket.RawData; binary: boolean }[] }>(
    (resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false })
      const early: { data: WebSocket.RawData; binary: boolean }[] = []
      const timer = setTimeout(() => {
        socket.terminate()
        reject(new Error("the runner did not take the media connection in time"))
      }, ATTACH_TIMEOUT_MS)
      socket.on("error", () => {})
      socket.on("message", (data: WebSocket.RawData, binary: boolean) => {
        early.push({ data, binary })
        if (early.length === 1) {
          clearTimeout(timer)
          resolve({ socket, early })
        }
      })
      socket.once("close", (code) => {
        clearTimeout(timer)
        reject(new Error(`the runner closed the media connection (${code})`))
      })
    },
  )

/**
 * Starts a front door.
 * @throws {ClusterError} `Media` when the port is taken
 */
export const startFrontDoor = async (options: FrontDoorOptions): Promise<FrontDoor> => {
  const client = options.client
  const mode = options.mode ?? "proxy"
  const reattachTimeoutMs = options.reattachTimeoutMs ?? 30_000
  const maxHeld = options.maxHeldFrames ?? 250
  const endOnHangUp = options.endOnHangUp ?? true
  let reattached = 0
  let droppedFrames = 0
  let closing = false
  const http = createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket only: /calls/<id>\n")
  })
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 })
  const upstreams = new Set<WebSocket>()

  const reject = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
  }

  http.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const callId = callIdOf(request.url)
    if (callId === undefined) return reject(socket, 404, "Not Found")
    if (mode === "redirect") {
      client.status(callId).then(
        (status) =>
          socket.end(
            `HTTP/1.1 307 Temporary Redirect\r\nlocation: ${status.mediaUrl}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
          ),
        () => reject(socket, 404, "Not Found"),
      )
      return
    }
    wss.handleUpgrade(request, socket, head, (caller) => proxy(callId, caller))
  })

  const proxy = (callId: string, caller: WebSocket) => {
    const held: { data: Buffer; binary: boolean }[] = []
    let upstream: WebSocket | undefined
    let callerGone = false
    let lostAt: number | undefined

    const toCaller = (data: WebSocket.RawData, binary: boolean) => {
      if (caller.readyState !== WebSocket.OPEN) return
      if (binary && caller.bufferedAmount > CALLER_HIGH_WATER_BYTES) return
      caller.send(data, { binary })
    }
    caller.on("message", (data: Buffer, binary: boolean) => {
      if (upstream !== undefined && upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary })
      else {
        held.push({ data, binary })
        if (held.length > maxHeld) {
          held.shift()
          droppedFrames += 1
        }
      }
    })
    caller.on("close", () => {
      callerGone = true
      upstream?.close(1000, "caller hung up")
      if (endOnHangUp && !closing) client.end(callId).catch(() => {})
    })
    caller.on("error", () => {})

    const connect = async (): Promise<void> => {
      const deadline = Date.now() + reattachTimeoutMs
      while (!callerGone && !closing) {
        try {
          const status = await client.status(callId)
          const { socket, early } = await attachTo(status.mediaUrl)
          if (callerGone || closing) {
            socket.close(1000)
            return
          }
          upstream = socket
          upstreams.add(socket)
          socket.removeAllListeners("close")
          socket.removeAllListeners("message")
          for (const m of early) toCaller(m.data, m.binary)
          socket.on("message", toCaller)
          socket.on("close", (code) => {
            upstreams.delete(socket)
            if (upstream === socket) upstream = undefined
            if (callerGone || closing) return
            if (code === 1000) {
              caller.close(1000, "call ended")
              return
            }
            lostAt = Date.now()
            void connect()
          })
          for (const frame of held.splice(0)) socket.send(frame.data, { binary: frame.binary })
          if (lostAt !== undefined) {
            reattached += 1
            toCaller(Buffer.from(JSON.stringify({ type: "reattached", gapMs: Date.now() - lostAt })), false)
            lostAt = undefined
          }
          return
        } catch (error) {
          if (error instanceof ClusterError && error.reason === "CallNotFound" && lostAt === undefined) {
            caller.close(4404, "no such call")
            return
          }
          if (Date.now() > deadline) {
            caller.close(1011, "the call's runner cannot be reached")
            return
          }
          await sleep(100)
        }
      }
    }
    void connect()
  }

  const port = await new Promise<number>((resolve, reject) => {
    http.once("error", (e) =>
      reject(new ClusterError({ reason: "Media", message: `front door: ${e.message}` })),
    )
    http.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      const address = http.address()
      resolve(typeof address === "object" && address !== null ? address.port : 0)
    })
  })
  const host = options.host ?? "127.0.0.1"
  let closed: Promise<void> | undefined
  return {
    url: `ws://${host}:${port}`,
    port,
    stats: () => ({ reattached, droppedFrames, open: wss.clients.size }),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        closing = true
        for (const u of upstreams) u.terminate()
        for (const c of wss.clients) c.terminate()
        wss.close()
        http.close(() => resolve())
        http.closeAllConnections()
      })
      return closed
    },
  }
}
