/**
 * `serveAgent({ port, agent, ... })`: a WebSocket audio endpoint for a browser or a telephony
 * bridge, one agent session per connection, on the media protocol of `./mediaProtocol.ts`
 * (PCM16 frames both ways at the rate the client declares; JSON control messages `start`,
 * `format`, `say`, `interrupt`, `end`, `played`; every `AgentEvent` out, with `started`,
 * `reply`, `clear`, `error` and `closed`), the one a cluster's front door speaks too.
 *
 * Back-pressure: the agent's audio and events are written as they come; a client that lets
 * more than `maxBufferedBytes` pile up unsent (it does not read) is closed with 1008, and its
 * session ends. A connection closing, for any reason, ends its session and leaves nothing.
 * @module
 */
import type { AddressInfo } from "node:net"
import { type WebSocket, WebSocketServer } from "ws"
import type { AudioFrame } from "../audio/index.ts"
import { resolveOpenAIConfig, scrubberOf } from "../transport/index.ts"
import {
  type AgentSession,
  type AgentSessionOptions,
  createAgentSession as createPipelineSession,
} from "./AgentSession.ts"
import type { AudioInput } from "./audio.ts"
import { bytesOf, createMediaOutput, createMediaWire, errorJson, readControl } from "./mediaProtocol.ts"
import {
  createRealtimeAgentSession,
  type RealtimeAgentSession,
  type RealtimeAgentSessionOptions,
} from "./RealtimeAgentSession.ts"

/** The session options of each connection (either mode), without its audio. */
export type ServedSessionOptions =
  | Omit<AgentSessionOptions, "input" | "output">
  | Omit<RealtimeAgentSessionOptions, "input" | "output">

/** Options of {@link serveAgent}: where to listen, and the session each connection gets. */
export type ServeAgentOptions = ServedSessionOptions & {
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly port?: number
  /** Address to bind (default `127.0.0.1`). */
  readonly host?: string
  /** Bytes a connection may leave unsent before it counts as not reading (default 1 MiB, about 20 s of audio). */
  readonly maxBufferedBytes?: number
  /** Largest message accepted from a client (default 1 MiB). */
  readonly maxMessageBytes?: number
  /** How long a closing handshake may take before the socket is dropped, in ms (default 1000). */
  readonly closeTimeoutMs?: number
}

/** A running endpoint. */
export interface AgentServer {
  /** `ws://host:port`. */
  readonly url: string
  readonly port: number
  /** Connections with a live session now. */
  readonly sessions: number
  /** Closes every connection (each ends its session), then the listener. Idempotent. */
  close(): Promise<void>
}

/** The protocol's helpers, where they were first exported. @internal */
export { errorJson, eventJson } from "./mediaProtocol.ts"

/** The caller's audio as an `AudioInput` fed from the socket. */
const socketInput = () => {
  let sink: ((frame: AudioFrame) => void) | undefined
  let finished = false
  const input: AudioInput & { push(frame: AudioFrame): void } = {
    get finished() {
      return finished
    },
    start(next) {
      sink = next
    },
    stop() {
      sink = undefined
      finished = true
    },
    push(frame) {
      sink?.(frame)
    },
  }
  return input
}

/**
 * Starts the endpoint. Resolves once it listens.
 * @throws {OpenAIConfigError} when no credential or endpoint is configured (checked up front)
 */
export const serveAgent = async (options: ServeAgentOptions): Promise<AgentServer> => {
  const {
    port = 0,
    host = "127.0.0.1",
    maxBufferedBytes = 1 << 20,
    maxMessageBytes = 1 << 20,
    closeTimeoutMs = 1_000,
    ...sessionOptions
  } = options
  const scrub = scrubberOf(
    resolveOpenAIConfig(sessionOptions.openai ?? {}, sessionOptions.env ?? process.env),
  )
  const wss = new WebSocketServer({ port, host, maxPayload: maxMessageBytes })
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve)
    wss.once("error", reject)
  })
  const ended = new Set<Promise<void>>()
  let live = 0

  wss.on("connection", (ws: WebSocket) => {
    let session: AgentSession | RealtimeAgentSession | undefined
    let pumping: Promise<void> | undefined
    let ending: Promise<void> | undefined
    const input = socketInput()
    const wire = createMediaWire(ws, { scrub, maxBufferedBytes, overflow: "close", closeTimeoutMs })
    const output = createMediaOutput(() => wire)

    const end = (): Promise<void> => {
      ending ??= (async () => {
        input.stop()
        if (session !== undefined) {
          await session.close()
          // The session's last events (its `closed`) go out before the socket closes.
          await pumping
          live--
        }
        if (ws.readyState === ws.OPEN) {
          if (session === undefined) wire.sendText(JSON.stringify({ type: "closed" }))
          wire.close(1000, "the call ended")
        }
      })()
      ended.add(ending)
      return ending
    }

    const start = (sampleRateHz: number | undefined) => {
      if (session !== undefined)
        return wire.refuse("already_started", "This connection already has a session")
      if (sampleRateHz !== undefined) wire.setRate(sampleRateHz, (frame) => input.push(frame))
      try {
        session =
          "realtime" in sessionOptions
            ? createRealtimeAgentSession({ ...sessionOptions, input, output })
            : createPipelineSession({ ...sessionOptions, input, output })
      } catch (error) {
        wire.refuse("start_failed", errorJson(error).message)
        void end()
        return
      }
      live++
      wire.sendJson({ type: "started", sampleRateHz: wire.rateHz, channels: 1 })
      const events = session
      pumping = (async () => {
        for await (const event of events) wire.sendEvent(event)
      })().catch((error: unknown) => wire.refuse("session_failed", errorJson(error).message))
      // The session ended by itself (a fatal failure): the connection ends with it.
      void pumping.then(() => end())
    }

    const control = (text: string) => {
      const read = readControl(text, session !== undefined)
      if ("refused" in read) return wire.refuse(read.refused.code, read.refused.message)
      const m = read.message
      switch (m.type) {
        case "start":
          return start(m.sampleRateHz)
        case "format":
          return wire.setRate(m.sampleRateHz, (frame) => input.push(frame))
        case "end":
          return void end()
        case "played":
          return output.played(m.reply, m.ms)
        case "audio_from":
          // One connection, one session: there is nothing to resume; the frames come as new.
          return
        case "say":
          return session?.say(m.text)
        case "interrupt":
          return session?.interrupt()
      }
    }

    const audio = (bytes: Buffer) => {
      if (session === undefined) return wire.refuse("not_started", `Send {"type":"start"} before audio`)
      const frame = wire.callerAudio(bytes)
      if (frame !== undefined) input.push(frame)
    }
    ws.on("message", (data, isBinary) => {
      if (ending !== undefined) return
      const bytes = bytesOf(data)
      // Whatever a message makes the session throw is the client's answer, never the server's crash.
      try {
        if (isBinary) audio(bytes)
        else control(bytes.toString("utf8"))
      } catch (error) {
        const e = errorJson(error)
        wire.refuse(isBinary ? "invalid_audio" : "refused", e.message)
      }
    })
    ws.on("close", () => {
      wire.closed()
      void end()
    })
    ws.on("error", () => {
      ws.terminate()
    })
  })

  let closing: Promise<void> | undefined
  const address = wss.address() as AddressInfo
  return {
    url: `ws://${host.includes(":") ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    get sessions() {
      return live
    },
    close: () => {
      closing ??= (async () => {
        for (const client of wss.clients) client.close(1001, "the server is closing")
        const closed = new Promise<void>((resolve) => wss.close(() => resolve()))
        const dropAfter = setTimeout(() => {
          for (const client of wss.clients) client.terminate()
        }, closeTimeoutMs)
        await closed
        clearTimeout(dropAfter)
        await Promise.all([...ended])
      })()
      return closing
    },
  }
}
