/**
 * The front door: any number of them accept calls' media WebSockets (`/calls/<id>`), ask the
 * cluster where the call lives (its `Status`, answered by the owning runner) and hand the
 * connection there, so audio never travels through cluster messages.
 *
 * - `proxy` (default): the front door holds the caller's socket and pipes frames both ways to
 *   the runner's media endpoint, on the one media protocol (src/agent/mediaProtocol.ts). It
 *   keeps the caller's frames the call's stored checkpoint does not hold yet (a replay window,
 *   src/cluster/replayWindow.ts, let go of at each `checkpoint` event). When the runner goes
 *   (killed, or drained: close 1012) the caller's socket stays open: the front door asks
 *   again, reconnects to the call's new runner, sends it the frames from its checkpoint on
 *   (`audio_from`, then the frames at the rates they came at), and tells the caller
 *   `{"type":"reattached","gapMs":N,"replayedFrames":R,"lostFrames":L}`. So what the caller
 *   said while its runner died is transcribed once, on the new runner.
 * - `redirect`: the upgrade is answered `307` with the runner's media URL; the caller
 *   connects there itself (fewer hops, but the caller reconnects on a move, and resends the
 *   frames from the new `call_attached`'s `audioFrames` on, as the front door does: a
 *   {@link createReplayWindow} does that bookkeeping).
 * @module
 */
import { createServer, type IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import WebSocket, { WebSocketServer } from "ws"
import { CALL_RATE_HZ } from "../agent/audio.ts"
import { readControl } from "../agent/mediaProtocol.ts"
import { ClusterError } from "./ClusterError.ts"
import type { ClusterClient } from "./client.ts"
import { createReplayWindow } from "./replayWindow.ts"

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
  /**
   * Caller frames kept per call since its last stored checkpoint, replayed to the runner that
   * resumes it (default 1500: 30 s of 20 ms frames; past it the oldest go, counted in
   * `droppedFrames`).
   */
  readonly maxHeldFrames?: number
  /** End the call when the caller hangs up (default true). */
  readonly endOnHangUp?: boolean
}

/** A running front door. */
export interface FrontDoor {
  /** `ws://host:port`; calls are at `/calls/<id>`. */
  readonly url: string
  readonly port: number
  /**
   * Media connections re-attached after a move; caller frames let go of because a call's
   * window was full (`droppedFrames`), replayed to a new runner (`replayedFrames`), and needed
   * by a new runner but no longer kept (`lostFrames`: words lost).
   */
  readonly stats: () => FrontDoorStats
  close(): Promise<void>
}

/** The front door's counts, over every call it has carried. */
export interface FrontDoorStats {
  readonly reattached: number
  readonly droppedFrames: number
  readonly replayedFrames: number
  readonly lostFrames: number
  readonly open: number
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
  const maxHeld = options.maxHeldFrames ?? 1500
  const endOnHangUp = options.endOnHangUp ?? true
  let reattached = 0
  let droppedFrames = 0
  let replayedFrames = 0
  let lostFrames = 0
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
    const window = createReplayWindow(maxHeld)
    // The caller's text messages while no runner is attached, each with the frame it came before.
    const heldTexts: { text: Buffer; before: number; rateHz: number }[] = []
    let sentFrames = 0
    // Caller frames over the connection, never renumbered: where a held text stands among them.
    let pushed = 0
    let rateHz = CALL_RATE_HZ
    let upstream: WebSocket | undefined
    let callerGone = false
    let lostAt: number | undefined

    const toCaller = (data: WebSocket.RawData, binary: boolean) => {
      if (caller.readyState !== WebSocket.OPEN) return
      if (binary && caller.bufferedAmount > CALLER_HIGH_WATER_BYTES) return
      caller.send(data, { binary })
    }
    /** The runner's `checkpoint` (and `call_attached`) carry the caller frames the call holds. */
    const fromRunner = (data: WebSocket.RawData, binary: boolean) => {
      if (!binary) {
        const text = String(data)
        if (text.startsWith('{"type":"checkpoint"')) {
          const covered = (JSON.parse(text) as { audioFrames?: unknown }).audioFrames
          if (typeof covered === "number") window.ack(covered)
        }
      }
      toCaller(data, binary)
    }
    caller.on("message", (data: Buffer, binary: boolean) => {
      const open = upstream !== undefined && upstream.readyState === WebSocket.OPEN
      if (binary) {
        const before = window.dropped
        window.push(data, rateHz)
        pushed += 1
        droppedFrames += window.dropped - before
        if (open) {
          upstream?.send(data, { binary })
          sentFrames = window.next
        }
        return
      }
      // The rate the caller declares tags its frames, so a replay declares it again.
      const read = readControl(String(data), true)
      if ("message" in read && (read.message.type === "start" || read.message.type === "format"))
        rateHz = read.message.sampleRateHz ?? rateHz
      if (open) upstream?.send(data, { binary })
      else heldTexts.push({ text: data, before: pushed, rateHz })
    })
    caller.on("close", () => {
      callerGone = true
      upstream?.close(1000, "caller hung up")
      if (endOnHangUp && !closing) client.end(callId).catch(() => {})
    })
    caller.on("error", () => {})

    /**
     * Sends a new runner connection what it needs: `audio_from`, the frames from the index it
     * gave on at their rates (a `format` where the rate changes), the texts held, in order.
     */
    const replayTo = (socket: WebSocket, audioFrames: number | undefined) => {
      // A runner that gives no index is sent the frames it has not been sent.
      const replay = window.attach(audioFrames ?? sentFrames)
      lostFrames += replay.lost
      let current = CALL_RATE_HZ
      const format = (next: number) => {
        if (next === current) return
        current = next
        socket.send(JSON.stringify({ type: "format", sampleRateHz: next }))
      }
      if (audioFrames !== undefined) socket.send(JSON.stringify({ type: "audio_from", frame: replay.from }))
      const texts = heldTexts.splice(0)
      let t = 0
      // The frames kept are the last ones pushed.
      let at = pushed - replay.frames.length
      for (const frame of replay.frames) {
        for (; t < texts.length && (texts[t]?.before ?? 0) <= at; t++) {
          const held = texts[t] as (typeof texts)[number]
          socket.send(held.text, { binary: false })
          current = held.rateHz
        }
        format(frame.rateHz)
        socket.send(frame.data, { binary: true })
        at += 1
      }
      for (; t < texts.length; t++) {
        const held = texts[t] as (typeof texts)[number]
        socket.send(held.text, { binary: false })
        current = held.rateHz
      }
      format(rateHz)
      sentFrames = window.next
      return replay
    }

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
          let audioFrames: number | undefined
          try {
            const first = early[0]
            const attached = first !== undefined && !first.binary ? JSON.parse(String(first.data)) : undefined
            if (typeof attached?.audioFrames === "number") audioFrames = attached.audioFrames
          } catch {}
          for (const m of early) fromRunner(m.data, m.binary)
          socket.on("message", fromRunner)
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
          const replay = replayTo(socket, audioFrames)
          if (lostAt !== undefined) {
            reattached += 1
            replayedFrames += replay.frames.length
            toCaller(
              Buffer.from(
                JSON.stringify({
                  type: "reattached",
                  gapMs: Date.now() - lostAt,
                  replayedFrames: replay.frames.length,
                  lostFrames: replay.lost,
                }),
              ),
              false,
            )
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
    stats: () => ({ reattached, droppedFrames, replayedFrames, lostFrames, open: wss.clients.size }),
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
