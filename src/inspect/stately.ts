/**
 * Forwards inspection events to a Stately Inspector listening on a WebSocket (the server of
 * `@statelyai/inspect`'s `createWebSocketInspector`), for people who already use it. It
 * speaks that package's messages over `ws` itself, because the package's own client retries
 * forever when nothing listens and holds the process open.
 *
 * Nothing forwards unless {@link createStatelyForwarder} is called. It never keeps a process
 * alive (its socket and timers are unref'd), gives up after `maxAttempts` failed connections,
 * keeps at most `maxQueued` events while connecting, drops events (counted) while the socket's
 * unsent bytes pass `bufferBytes`, and redacts every snapshot and event as the voxstate
 * inspector does (secrets always, texts unless `includeText`).
 * @module
 */
import { connect as netConnect } from "node:net"
import { connect as tlsConnect } from "node:tls"
import { WebSocket } from "ws"
import type { AnyActorLogic, AnyStateMachine, InspectionEvent, Observer } from "xstate"
import { makeScrubber } from "../transport/scrub.ts"
import { chartOf } from "./chart.ts"
import { redact } from "./redact.ts"
import { renderConfigJson } from "./render.ts"

/** The `@statelyai/inspect` release whose WebSocket messages these are. */
export const STATELY_PROTOCOL_VERSION = "0.7.2"

/** Options of {@link createStatelyForwarder}. */
export interface StatelyForwarderOptions {
  /** The Stately Inspector's WebSocket address (for example `ws://localhost:8080`). */
  readonly url: string
  /** Forward texts (transcripts, prompts, deltas); secrets are removed regardless. */
  readonly includeText?: boolean
  /** Secrets to remove wherever they appear (key-shaped strings are removed regardless). */
  readonly secrets?: Iterable<string>
  /** Connections tried before it gives up (default 3). */
  readonly maxAttempts?: number
  /** Wait between two connection attempts (default 1000 ms). */
  readonly retryDelayMs?: number
  /** Longest a connection attempt may take (default 5000 ms). */
  readonly connectTimeoutMs?: number
  /** Events kept while connecting (default 1000; the oldest go first). */
  readonly maxQueued?: number
  /** Unsent bytes on the socket past which events are dropped (default 1 MiB). */
  readonly bufferBytes?: number
}

/** Where a forwarder stands. */
export type StatelyForwarderStatus = "connecting" | "open" | "gave-up" | "closed"

/** A running forwarder. */
export interface StatelyForwarder {
  /** The inspection observer: the `inspect` option of a `create*`, or of `createActor`. */
  readonly inspect: Observer<InspectionEvent>
  readonly status: StatelyForwarderStatus
  /** Events not forwarded: the queue was full, the socket too slow, or it gave up. */
  readonly dropped: number
  /** Closes the socket and stops forwarding. Idempotent. */
  close(): Promise<void>
}

interface ActorRefLike {
  readonly sessionId: string
  readonly id?: string
  readonly logic?: unknown
  readonly _parent?: { readonly sessionId: string } | undefined
}

const definitionOf = (logic: unknown, name: string): string => {
  const m = logic as { id?: unknown; root?: unknown } | undefined
  if (m !== undefined && typeof m.id === "string" && m.root !== undefined) {
    return JSON.stringify(renderConfigJson(chartOf(logic as AnyStateMachine)))
  }
  return JSON.stringify({ id: name })
}

/** Starts forwarding to the Stately Inspector at `options.url` (see the module's description). */
export const createStatelyForwarder = (options: StatelyForwarderOptions): StatelyForwarder => {
  const redactOptions = {
    includeText: options.includeText === true,
    scrub: makeScrubber(options.secrets ?? []),
  }
  const maxAttempts = options.maxAttempts ?? 3
  const retryDelayMs = options.retryDelayMs ?? 1000
  const maxQueued = options.maxQueued ?? 1000
  const bufferBytes = options.bufferBytes ?? 1 << 20
  const secure = options.url.startsWith("wss:")
  let status: StatelyForwarderStatus = "connecting"
  let socket: WebSocket | undefined
  let attempts = 0
  let retry: NodeJS.Timeout | undefined
  let dropped = 0
  let counter = 0
  const queue: string[] = []

  const connectOnce = (): void => {
    attempts++
    const ws = new WebSocket(options.url, {
      handshakeTimeout: options.connectTimeoutMs ?? 5000,
      // The socket never holds the process open.
      createConnection: ((connectOptions: object) => {
        const s = secure ? tlsConnect(connectOptions) : netConnect(connectOptions as never)
        s.unref()
        return s
      }) as never,
    })
    socket = ws
    ws.on("open", () => {
      if (status !== "connecting") return
      status = "open"
      for (const message of queue.splice(0)) write(message)
    })
    ws.on("message", () => {
      // The inspector's messages to the inspected app are not acted on.
    })
    ws.on("error", () => {
      // A failed attempt ends in `close`, where it is retried or given up.
    })
    ws.on("close", () => {
      if (socket !== ws || status === "closed") return
      socket = undefined
      if (attempts >= maxAttempts) {
        status = "gave-up"
        dropped += queue.length
        queue.length = 0
        return
      }
      status = "connecting"
      retry = setTimeout(connectOnce, retryDelayMs)
      retry.unref()
    })
  }

  const write = (message: string): void => {
    if (socket === undefined || socket.readyState !== WebSocket.OPEN || socket.bufferedAmount > bufferBytes) {
      dropped++
      return
    }
    socket.send(message)
  }

  const forward = (message: Record<string, unknown>): void => {
    if (status === "closed" || status === "gave-up") {
      dropped++
      return
    }
    const text = JSON.stringify({
      ...message,
      id: `${++counter}`,
      createdAt: Date.now().toString(),
      _version: STATELY_PROTOCOL_VERSION,
    })
    if (status === "open") {
      write(text)
      return
    }
    queue.push(text)
    if (queue.length > maxQueued) {
      queue.shift()
      dropped++
    }
  }

  const snapshotOf = (snapshot: unknown): unknown => {
    const s = snapshot as { value?: unknown; status?: unknown; context?: unknown } | undefined
    return {
      ...(s?.value === undefined ? {} : { value: s.value }),
      status: typeof s?.status === "string" ? s.status : "active",
      context: redact(s?.context, redactOptions),
    }
  }

  const inspect: Observer<InspectionEvent> = {
    next(ev) {
      const actor = ev.actorRef as unknown as ActorRefLike
      switch (ev.type) {
        case "@xstate.actor": {
          const logic = actor.logic as AnyActorLogic | undefined
          const configId = (logic as { id?: unknown } | undefined)?.id
          const name =
            actor.id === undefined || actor.id === actor.sessionId
              ? typeof configId === "string"
                ? configId
                : actor.sessionId
              : actor.id
          forward({
            type: "@xstate.actor",
            name,
            sessionId: actor.sessionId,
            rootId: ev.rootId,
            parentId: actor._parent?.sessionId,
            definition: definitionOf(logic, name),
            // Registered before its first snapshot exists: the snapshot event follows.
            snapshot: { status: "active" },
          })
          return
        }
        case "@xstate.event":
          forward({
            type: "@xstate.event",
            sessionId: actor.sessionId,
            rootId: ev.rootId,
            sourceId: (ev.sourceRef as ActorRefLike | undefined)?.sessionId,
            event: redact(ev.event, redactOptions),
          })
          return
        case "@xstate.snapshot":
          forward({
            type: "@xstate.snapshot",
            sessionId: actor.sessionId,
            rootId: ev.rootId,
            event: redact(ev.event, redactOptions),
            snapshot: snapshotOf(ev.snapshot),
          })
          return
        default:
          return
      }
    },
  }

  connectOnce()

  return {
    inspect,
    get status() {
      return status
    },
    get dropped() {
      return dropped
    },
    close() {
      if (status === "closed") return Promise.resolve()
      status = "closed"
      if (retry !== undefined) clearTimeout(retry)
      dropped += queue.length
      queue.length = 0
      const ws = socket
      socket = undefined
      if (ws === undefined || ws.readyState === WebSocket.CLOSED) return Promise.resolve()
      return new Promise<void>((resolve) => {
        ws.once("close", () => resolve())
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate()
        else ws.close(1000)
      })
    },
  }
}
