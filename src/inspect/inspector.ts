/**
 * The live inspector: an XState inspection observer that records what every inspected
 * session does (its state after each event, the event, its redacted context; the events it
 * emits; the figures its facade reports as `voxstate.*` events, such as an agent turn's
 * latencies), and a local HTTP + WebSocket server that shows it on a page (see `page.ts`).
 *
 * Each viewer has a bounded queue: when a browser reads slower than sessions write (or has
 * gone), records are dropped for that viewer only, counted, and the count is sent to the page
 * once it catches up. A session never waits for a viewer.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocket, WebSocketServer } from "ws"
import type { AnyActorLogic, AnyStateMachine, InspectionEvent, Observer } from "xstate"
import { makeScrubber, type Scrubber } from "../transport/scrub.ts"
import { chartOf } from "./chart.ts"
import { PAGE_HTML } from "./page.ts"
import { redact } from "./redact.ts"
import { renderSvg } from "./render.ts"

/** What a record is: a transition (the state after an event), an event the session emitted, or a figure its facade measured. */
export type InspectorRecordKind = "transition" | "emitted" | "report"

/** One thing an inspected session did, as the page receives it. */
export interface InspectorRecord {
  /** Increasing across the inspector. */
  readonly seq: number
  /** Milliseconds since the epoch. */
  readonly at: number
  /** The root actor's session id: one line in the page's session list. */
  readonly session: string
  readonly machine: string
  readonly kind: InspectorRecordKind
  /** The event (processed, emitted or reported): its type and redacted payload. */
  readonly event: { readonly type: string; readonly [key: string]: unknown }
  /** The state value after the event (for `emitted` and `report`: the state it happened in). */
  readonly value: unknown
  readonly status: string
  /** The redacted context after a transition; `null` for the other kinds (the page shows the last transition's). */
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
  /** Records to start with (a saved log: `voxstate inspect FILE`); they are shown as they are. */
  readonly records?: Iterable<InspectorRecord>
  /** Machines whose charts the page can draw before a session of theirs is seen (by machine id). */
  readonly machines?: Iterable<AnyStateMachine>
  /**
   * Whether the server lets the process exit while it listens (default false). The
   * process-wide inspector of `VOXSTATE_INSPECT=1` sets it: it never keeps a process alive.
   */
  readonly unref?: boolean
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
  /** Records not sent to a viewer because it read too slowly, over the inspector's life. */
  readonly dropped: number
  /** Closes the server and every viewer. Idempotent. */
  close(): Promise<void>
}

/**
 * An inspector whose observer works at once, before its server listens: `ready` settles with
 * the page's address. @internal
 */
export interface OpeningInspector extends Omit<Inspector, "url"> {
  readonly ready: Promise<string>
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

/** The prefix of the events a facade reports about its root actor (see `SessionRuntime.report`). */
const REPORT_PREFIX = "voxstate."

/**
 * Laid-out charts, shared by every inspector of the process and keyed by the chart itself (its
 * states and transitions), so a machine is laid out once however many inspectors show it.
 */
const svgCache = new Map<string, Promise<string>>()

const svgOfMachine = (machine: AnyStateMachine): Promise<string> => {
  const chart = chartOf(machine)
  const key = JSON.stringify(chart)
  let svg = svgCache.get(key)
  if (svg === undefined) {
    // The layout engine loads with the first chart asked for, not with every session.
    svg = import("./layout.ts").then(async ({ layoutChart }) => renderSvg(await layoutChart(chart)))
    svg.catch(() => svgCache.delete(key))
    svgCache.set(key, svg)
  }
  return svg
}

/**
 * Whether a request's `Host` names a loopback address (a DNS name made to point at 127.0.0.1
 * by another site does not).
 */
const localHost = (host: string | undefined): boolean => {
  if (host === undefined) return false
  if (host === "::1") return true
  const name = /^\[.*\]$|^[^:]*$/.test(host) ? host : host.replace(/:\d+$/, "")
  return name === "localhost" || name === "[::1]" || /^127(\.\d{1,3}){3}$/.test(name)
}

/** Starts an inspector (see the module's description). */
export const createInspector = async (options: InspectorOptions = {}): Promise<Inspector> => {
  const opening = openInspector(options)
  const url = await opening.ready
  return {
    url,
    inspect: opening.inspect,
    records: opening.records,
    get viewers() {
      return opening.viewers
    },
    get dropped() {
      return opening.dropped
    },
    close: opening.close,
  }
}

/**
 * Opens an inspector: its observer records from the first call; the server listens in the
 * background (`ready`). A failure to listen rejects `ready`; recording goes on. @internal
 */
export const openInspector = (options: InspectorOptions = {}): OpeningInspector => {
  const includeText = options.includeText === true
  const scrub: Scrubber = makeScrubber(options.secrets ?? [])
  const redactOptions = { includeText, scrub }
  const historyLimit = options.historyLimit ?? 5000
  const viewerBufferBytes = options.viewerBufferBytes ?? 1 << 20
  const history: InspectorRecord[] = [...(options.records ?? [])]
  const machines = new Map<string, AnyActorLogic>()
  for (const m of options.machines ?? []) machines.set(m.id, m as AnyActorLogic)
  const charts = new Map<string, Promise<string>>()
  const viewers = new Set<Viewer>()
  /** The last transition's state value and status of each session. */
  const lastState = new Map<string, { value: unknown; status: string }>()
  let seq = history.reduce((max, r) => Math.max(max, r.seq), 0)
  let droppedTotal = 0

  const send = (viewer: Viewer, message: string): void => {
    if (viewer.socket.readyState !== WebSocket.OPEN) return
    if (viewer.socket.bufferedAmount > viewerBufferBytes) {
      viewer.dropped++
      droppedTotal++
      return
    }
    if (viewer.dropped > 0) {
      viewer.socket.send(JSON.stringify({ type: "dropped", count: viewer.dropped }))
      viewer.dropped = 0
    }
    viewer.socket.send(message)
  }

  const broadcast = (message: unknown): void => {
    if (viewers.size === 0) return
    const text = JSON.stringify(message)
    for (const v of viewers) send(v, text)
  }

  const keep = (record: InspectorRecord): void => {
    history.push(record)
    if (history.length > historyLimit) history.splice(0, history.length - historyLimit)
    broadcast({ type: "record", record })
  }

  const rootMachine = (ev: InspectionEvent): { id: string; logic: AnyActorLogic } | undefined => {
    if (ev.actorRef.sessionId !== ev.rootId) return undefined
    const machine = machineOf((ev.actorRef as { logic?: AnyActorLogic }).logic)
    if (machine !== undefined && !machines.has(machine.id)) {
      machines.set(machine.id, machine.logic)
      broadcast({ type: "machine", id: machine.id })
    }
    return machine
  }

  const note = (ev: InspectionEvent, kind: InspectorRecordKind, event: unknown): void => {
    const machine = rootMachine(ev)
    if (machine === undefined) return
    const state = lastState.get(ev.rootId)
    keep({
      seq: ++seq,
      at: Date.now(),
      session: ev.rootId,
      machine: machine.id,
      kind,
      event: redact(event, redactOptions) as InspectorRecord["event"],
      value: state?.value ?? null,
      status: state?.status ?? "active",
      context: null,
    })
  }

  const inspect: Observer<InspectionEvent> = {
    next(ev) {
      if (ev.type === "@xstate.snapshot") {
        const machine = rootMachine(ev)
        if (machine === undefined) return
        const snapshot = ev.snapshot as { value?: unknown; status?: string; context?: unknown }
        const value = snapshot.value ?? null
        const status = snapshot.status ?? "active"
        lastState.set(ev.rootId, { value, status })
        if (status !== "active") lastState.delete(ev.rootId)
        keep({
          seq: ++seq,
          at: Date.now(),
          session: ev.rootId,
          machine: machine.id,
          kind: "transition",
          event: redact(ev.event, redactOptions) as InspectorRecord["event"],
          value,
          status,
          context: redact(snapshot.context, redactOptions),
        })
      } else if (ev.type === "@xstate.action" && ev.action.type === "xstate.emit") {
        const emitted = (ev.action.params as { event?: unknown } | undefined)?.event
        if (emitted !== undefined) note(ev, "emitted", emitted)
      } else if (
        ev.type === "@xstate.event" &&
        ev.sourceRef === undefined &&
        ev.event.type.startsWith(REPORT_PREFIX)
      ) {
        note(ev, "report", ev.event)
      }
    },
  }

  const chartSvg = (id: string): Promise<string> | undefined => {
    const logic = machines.get(id)
    if (logic === undefined) return undefined
    let svg = charts.get(id)
    if (svg === undefined) {
      svg = svgOfMachine(logic as AnyStateMachine)
      charts.set(id, svg)
    }
    return svg
  }

  // Bound to loopback (the default), it answers only requests naming a loopback host.
  const loopbackBound = localHost(options.host ?? "127.0.0.1")
  const hostAllowed = (host: string | undefined): boolean => !loopbackBound || localHost(host)

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (!hostAllowed(req.headers.host)) {
      res.writeHead(421, { "content-type": "text/plain" })
      res.end("the inspector answers only to its own address")
      return
    }
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
  // Another site open in the same browser may not read the sessions: a page's socket must come
  // from the inspector's own page (a program without an Origin header is let in).
  const wss = new WebSocketServer({
    server,
    path: "/ws",
    verifyClient: ({ origin, req }: { origin: string | undefined; req: IncomingMessage }) =>
      hostAllowed(req.headers.host) && (origin === undefined || origin === `http://${req.headers.host}`),
  })
  if (options.unref === true) {
    server.unref()
    server.on("connection", (socket) => socket.unref())
  }
  wss.on("connection", (socket) => {
    const viewer: Viewer = { socket, dropped: 0 }
    viewers.add(viewer)
    socket.on("close", () => viewers.delete(viewer))
    socket.on("error", () => viewers.delete(viewer))
    socket.send(JSON.stringify({ type: "hello", machines: [...machines.keys()], records: history }))
  })
  const ready = new Promise<string>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject)
      const address = server.address() as AddressInfo
      resolve(`http://${address.address}:${address.port}/`)
    })
  })
  let closing: Promise<void> | undefined

  return {
    ready,
    inspect,
    records: () => history,
    get viewers() {
      return viewers.size
    },
    get dropped() {
      return droppedTotal
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const v of viewers) v.socket.terminate()
        wss.close()
        server.closeAllConnections()
        if (!server.listening) {
          resolve()
          return
        }
        server.close(() => resolve())
      })
      return closing
    },
  }
}
