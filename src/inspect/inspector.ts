/**
 * The live inspector: an XState inspection observer that records what every inspected
 * session does (its state after each event, the event, its redacted context), and a local
 * HTTP + WebSocket server that shows it on a page (see `page.ts`).
 *
 * Each viewer has a bounded queue: when a browser reads slower than sessions write (or has
 * gone), records are dropped for that viewer only, counted, and the count is sent to the page
 * once it catches up. A session never waits for a viewer.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocket, WebSocketServer } from "ws"
import type { AnyActorLogic, InspectionEvent, Observer } from "xstate"
import { makeScrubber, type Scrubber } from "../transport/scrub.ts"
import { chartOf } from "./chart.ts"
import { layoutChart } from "./layout.ts"
import { PAGE_HTML } from "./page.ts"
import { redact } from "./redact.ts"
import { renderSvg } from "./render.ts"

/** One thing an inspected session did, as the page receives it. */
export interface InspectorRecord {
  /** Increasing across the inspector. */
  readonly seq: number
  /** Milliseconds since the epoch. */
  readonly at: number
  /** The root actor's session id: one line in the page's session list. */
  readonly session: string
  readonly machine: string
  /** The event that was processed (its type and redacted payload). */
  readonly event: { readonly type: string; readonly [key: string]: unknown }
  /** The state value after the event. */
  readonly value: unknown
  readonly status: string
  /** The redacted context after the event. */
  readonly context: unknown
}

/** Options of {@link createInspector}. */
export interface InspectorOptions {
  /** Port to listen on (default 0: a free one). */
  readonly port?: number
  /** Address to bind (default 127.0.0.1). */
  readonly host?: string
  /** Show texts (transcripts, prompts, deltas) on the page. Secrets are never shown. */
  readonly includeText?: boolean
  /** Secrets to remove wherever they appear (key-shaped strings are removed regardless). */
  readonly secrets?: Iterable<string>
  /** Records kept for a page opened later (default 5000; the oldest go first). */
  readonly historyLimit?: number
  /** Bytes a viewer may have unsent before records are dropped for it (default 1 MiB). */
  readonly viewerBufferBytes?: number
}

/** A running inspector. */
export interface Inspector {
  /** The page's address. */
  readonly url: string
  /** The inspection observer: `createActor(logic, { inspect: inspector.inspect })`, or the `inspect` option of every `create*`. */
  readonly inspect: Observer<InspectionEvent>
  /** Every record kept. */
  records(): readonly InspectorRecord[]
  /** Viewers connected now. */
  readonly viewers: number
  /** Closes the server and every viewer. Idempotent. */
  close(): Promise<void>
}

interface Viewer {
  readonly socket: WebSocket
  dropped: number
}

const machineOf = (logic: AnyActorLogic | undefined): { id: string; logic: AnyActorLogic } | undefined => {
  const m = logic as { id?: unknown; root?: unknown; config?: unknown } | undefined
  return m !== undefined && typeof m.id === "string" && m.root !== undefined
    ? { id: m.id, logic: logic as AnyActorLogic }
    : undefined
}

/** Starts an inspector (see the module's description). */
export const createInspector = async (options: InspectorOptions = {}): Promise<Inspector> => {
  const includeText = options.includeText === true
  const scrub: Scrubber = makeScrubber(options.secrets ?? [])
  const historyLimit = options.historyLimit ?? 5000
  const viewerBufferBytes = options.viewerBufferBytes ?? 1 << 20
  const history: InspectorRecord[] = []
  const machines = new Map<string, AnyActorLogic>()
  const charts = new Map<string, Promise<string>>()
  const viewers = new Set<Viewer>()
  let seq = 0

  const send = (viewer: Viewer, message: string): void => {
    if (viewer.socket.readyState !== WebSocket.OPEN) return
    if (viewer.socket.bufferedAmount > viewerBufferBytes) {
      viewer.dropped++
      return
    }
    if (viewer.dropped > 0) {
      viewer.socket.send(JSON.stringify({ type: "dropped", count: viewer.dropped }))
      viewer.dropped = 0
    }
    viewer.socket.send(message)
  }

  const broadcast = (message: unknown): void => {
    const text = JSON.stringify(message)
    for (const v of viewers) send(v, text)
  }

  const inspect: Observer<InspectionEvent> = {
    next(ev) {
      if (ev.type !== "@xstate.snapshot") return
      if (ev.actorRef.sessionId !== ev.rootId) return
      const session = ev.rootId
      const machine = machineOf((ev.actorRef as { logic?: AnyActorLogic }).logic)
      if (machine === undefined) return
      if (!machines.has(machine.id)) {
        machines.set(machine.id, machine.logic)
        broadcast({ type: "machine", id: machine.id })
      }
      const snapshot = ev.snapshot as { value?: unknown; status?: string; context?: unknown }
      const redactOptions = { includeText, scrub }
      const record: InspectorRecord = {
        seq: ++seq,
        at: Date.now(),
        session,
        machine: machine.id,
        event: redact(ev.event, redactOptions) as InspectorRecord["event"],
        value: snapshot.value ?? null,
        status: snapshot.status ?? "active",
        context: redact(snapshot.context, redactOptions),
      }
      history.push(record)
      if (history.length > historyLimit) history.splice(0, history.length - historyLimit)
      broadcast({ type: "record", record })
    },
  }

  const chartSvg = (id: string): Promise<string> | undefined => {
    const logic = machines.get(id)
    if (logic === undefined) return undefined
    let svg = charts.get(id)
    if (svg === undefined) {
      svg = layoutChart(chartOf(logic as never)).then(renderSvg)
      charts.set(id, svg)
    }
    return svg
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://inspector")
    if (url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
      res.end(PAGE_HTML)
      return
    }
    const chart = /^\/chart\/([^/]+)\.svg$/.exec(url.pathname)
    const svg = chart === null ? undefined : chartSvg(decodeURIComponent(chart[1] ?? ""))
    if (svg !== undefined) {
      svg.then(
        (text) => {
          res.writeHead(200, { "content-type": "image/svg+xml" })
          res.end(text)
        },
        (error: unknown) => {
          res.writeHead(500, { "content-type": "text/plain" })
          res.end(scrub(String(error)))
        },
      )
      return
    }
    res.writeHead(404, { "content-type": "text/plain" })
    res.end("not found")
  }

  const server: Server = createServer(handle)
  const wss = new WebSocketServer({ server, path: "/ws" })
  wss.on("connection", (socket) => {
    const viewer: Viewer = { socket, dropped: 0 }
    viewers.add(viewer)
    socket.on("close", () => viewers.delete(viewer))
    socket.on("error", () => viewers.delete(viewer))
    socket.send(JSON.stringify({ type: "hello", machines: [...machines.keys()], records: history }))
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  let closing: Promise<void> | undefined

  return {
    url: `http://${address.address}:${address.port}/`,
    inspect,
    records: () => history,
    get viewers() {
      return viewers.size
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const v of viewers) v.socket.terminate()
        wss.close()
        server.closeAllConnections()
        server.close(() => resolve())
      })
      return closing
    },
  }
}
