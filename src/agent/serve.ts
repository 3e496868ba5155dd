/**
 * `serveAgent({ port, agent, ... })`: a WebSocket audio endpoint for a browser or a telephony
 * bridge, one agent session per connection.
 *
 * The wire, on one WebSocket:
 * - binary frames, both ways: PCM16 little-endian mono, 24 kHz unless the client declared
 *   another rate (`start` or `format`); the caller's audio in, the agent's voice out. An odd
 *   number of bytes is refused with an `error` message (the frame is dropped, the call goes on).
 * - JSON text frames in: `{"type":"start","sampleRateHz"?:16000}` starts the session;
 *   `{"type":"format","sampleRateHz":8000}` declares another rate; `{"type":"say","text":"…"}`,
 *   `{"type":"interrupt"}`, `{"type":"end"}` (the session ends, then the socket closes 1000);
 *   `{"type":"played","reply":3,"ms":1200}`: the client has played 1200 ms of reply 3 (optional;
 *   without it the played position is modelled as playback from arrival).
 * - JSON text frames out: `{"type":"started","sampleRateHz":24000,"channels":1}`, every
 *   `AgentEvent` as JSON (errors as `{ code, message }`), `{"type":"reply","reply":3}` before a
 *   reply's audio, `{"type":"clear"}` when the agent is cut off (drop the audio not played yet),
 *   `{"type":"error","error":{"code","message"}}` for a message refused, and `{"type":"closed"}`
 *   last. Every text out passes the credential scrubber.
 *
 * Back-pressure: the agent's audio and events are written as they come; a client that lets
 * more than `maxBufferedBytes` pile up unsent (it does not read) is closed with 1008, and its
 * session ends. A connection closing, for any reason, ends its session and leaves nothing.
 * @module
 */
import type { AddressInfo } from "node:net"
import { type WebSocket, WebSocketServer } from "ws"
import { type AudioFrame, createPcmConverter, makeAudioFrame, type PcmConverter } from "../audio/index.ts"
import { resolveOpenAIConfig, type Scrubber, scrubberOf } from "../transport/index.ts"
import {
  type AgentEvent,
  type AgentSession,
  type AgentSessionOptions,
  createAgentSession as createPipelineSession,
} from "./AgentSession.ts"
import { type AudioInput, type AudioOutput, CALL_RATE_HZ, createCallRecorder } from "./audio.ts"
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

/** A message refused, as the client reads it. */
interface WireError {
  readonly code: string
  readonly message: string
}

const MAX_RATE_HZ = 192_000

/** The JSON form of an error: its code (tag, or name) and message. @internal */
export const errorJson = (error: unknown): WireError => {
  if (typeof error === "object" && error !== null) {
    const e = error as { code?: unknown; _tag?: unknown; name?: unknown; message?: unknown }
    const code = [e.code, e._tag, e.name].find((c) => typeof c === "string") as string | undefined
    return { code: code ?? "error", message: typeof e.message === "string" ? e.message : String(error) }
  }
  return { code: "error", message: String(error) }
}

/** An `AgentEvent` as the text frame a client reads, credentials scrubbed. @internal */
export const eventJson = (event: AgentEvent, scrub: Scrubber): string => {
  const wire = event.type === "error" ? { ...event, error: errorJson(event.error) } : event
  return scrub(JSON.stringify(wire))
}

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

/** Why `value` cannot be the connection's rate (an integer the resampler converts both ways), or undefined. */
const rateProblem = (value: unknown): string | undefined => {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 8_000 || value > MAX_RATE_HZ)
    return `sampleRateHz must be an integer in 8000..${MAX_RATE_HZ}`
  try {
    createPcmConverter({ targetRateHz: CALL_RATE_HZ }).push(makeAudioFrame(new Int16Array(1), value, 1))
    createPcmConverter({ targetRateHz: value }).push(makeAudioFrame(new Int16Array(1), CALL_RATE_HZ, 1))
    return undefined
  } catch (error) {
    return `sampleRateHz ${value} cannot be converted: ${errorJson(error).message}`
  }
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
    let rateHz = CALL_RATE_HZ
    let toCall: PcmConverter = createPcmConverter({ targetRateHz: CALL_RATE_HZ })
    let toClient: PcmConverter | undefined
    let session: AgentSession | RealtimeAgentSession | undefined
    let pumping: Promise<void> | undefined
    let ending: Promise<void> | undefined
    let dropTimer: NodeJS.Timeout | undefined
    const input = socketInput()

    const overflowing = () => ws.bufferedAmount > maxBufferedBytes
    const drop = (code: number, reason: string) => {
      if (ws.readyState === ws.OPEN) ws.close(code, reason)
      dropTimer ??= setTimeout(() => ws.terminate(), closeTimeoutMs)
    }
    const sendText = (text: string) => {
      if (ws.readyState !== ws.OPEN) return
      if (overflowing()) return drop(1008, "the client does not read")
      ws.send(text)
    }
    const refuse = (code: string, message: string) =>
      sendText(scrub(JSON.stringify({ type: "error", error: { code, message } })))
    const sendAudio = (samples: Int16Array) => {
      if (samples.length === 0 || ws.readyState !== ws.OPEN) return
      if (overflowing()) return drop(1008, "the client does not read")
      ws.send(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength))
    }
    const setRate = (next: number) => {
      if (next === rateHz) return
      rateHz = next
      // Audio already in goes through at its own rate; the new rate starts a new stream.
      const tail = toCall.flush()
      if (tail.length > 0) input.push(makeAudioFrame(tail, CALL_RATE_HZ, 1))
      toCall = createPcmConverter({ targetRateHz: CALL_RATE_HZ })
      toClient = next === CALL_RATE_HZ ? undefined : createPcmConverter({ targetRateHz: next })
    }

    // The call's timeline (what was played when) is the recorder's; the audio also goes out on
    // the socket as it comes. No pause: the client plays what it has (a false interruption
    // resumes nothing), and a cut-off tells it to drop the rest. A client that reports what it
    // played (`played`, for the reply `reply` announced) is believed over the recorder's model.
    const recorder = createCallRecorder()
    let reply = 0
    let reportedMs: number | undefined
    const output: AudioOutput = {
      caller: (frame, atMs) => recorder.caller(frame, atMs),
      beginReply: () => {
        recorder.beginReply()
        reply += 1
        reportedMs = undefined
        sendText(JSON.stringify({ type: "reply", reply }))
      },
      playedMs: (atMs) => reportedMs ?? recorder.playedMs(atMs),
      agentEndMs: () => recorder.agentEndMs(),
      wav: () => recorder.wav(),
      save: (path) => recorder.save(path),
      agent(frame, atMs) {
        recorder.agent(frame, atMs)
        sendAudio(toClient === undefined ? frame.data : toClient.push(frame))
      },
      clear(atMs) {
        recorder.clear(atMs)
        toClient?.reset()
        sendText(JSON.stringify({ type: "clear" }))
      },
    }

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
          if (session === undefined) sendText(JSON.stringify({ type: "closed" }))
          ws.close(1000, "the call ended")
          dropTimer ??= setTimeout(() => ws.terminate(), closeTimeoutMs)
        }
      })()
      ended.add(ending)
      return ending
    }

    const start = (message: { readonly sampleRateHz?: unknown }) => {
      if (session !== undefined) return refuse("already_started", "This connection already has a session")
      if (message.sampleRateHz !== undefined) {
        const problem = rateProblem(message.sampleRateHz)
        if (problem !== undefined) return refuse("invalid_rate", problem)
        setRate(message.sampleRateHz as number)
      }
      try {
        session =
          "realtime" in sessionOptions
            ? createRealtimeAgentSession({ ...sessionOptions, input, output })
            : createPipelineSession({ ...sessionOptions, input, output })
      } catch (error) {
        refuse("start_failed", errorJson(error).message)
        void end()
        return
      }
      live++
      sendText(JSON.stringify({ type: "started", sampleRateHz: rateHz, channels: 1 }))
      const events = session
      pumping = (async () => {
        for await (const event of events) sendText(eventJson(event, scrub))
      })().catch((error: unknown) => refuse("session_failed", errorJson(error).message))
      // The session ended by itself (a fatal failure): the connection ends with it.
      void pumping.then(() => end())
    }

    const control = (text: string) => {
      let message: unknown
      try {
        message = JSON.parse(text)
      } catch {
        return refuse("invalid_json", "A text message must be a JSON object")
      }
      if (
        typeof message !== "object" ||
        message === null ||
        typeof (message as { type?: unknown }).type !== "string"
      )
        return refuse("invalid_message", "A control message is a JSON object with a string `type`")
      const m = message as { readonly type: string; readonly text?: unknown; readonly sampleRateHz?: unknown }
      switch (m.type) {
        case "start":
          return start(m)
        case "format": {
          const problem = rateProblem(m.sampleRateHz)
          if (problem !== undefined) return refuse("invalid_rate", problem)
          return setRate(m.sampleRateHz as number)
        }
        case "end":
          return void end()
        case "played": {
          const p = m as { readonly reply?: unknown; readonly ms?: unknown }
          if (typeof p.ms !== "number" || !Number.isFinite(p.ms) || p.ms < 0 || typeof p.reply !== "number")
            return refuse("invalid_message", "played needs `reply` (a number) and `ms` (a number >= 0)")
          // A report for a reply already over changes nothing.
          if (p.reply === reply) reportedMs = Math.max(reportedMs ?? 0, p.ms)
          return
        }
      }
      if (session === undefined) return refuse("not_started", `Send {"type":"start"} before ${m.type}`)
      switch (m.type) {
        case "say":
          if (typeof m.text !== "string" || m.text.trim() === "")
            return refuse("invalid_message", "say needs a non-empty `text`")
          return session.say(m.text)
        case "interrupt":
          return session.interrupt()
        default:
          return refuse("unknown_message", `Unknown message type ${JSON.stringify(m.type).slice(0, 40)}`)
      }
    }

    const audio = (bytes: Buffer) => {
      if (session === undefined) return refuse("not_started", `Send {"type":"start"} before audio`)
      if (bytes.length % 2 !== 0)
        return refuse(
          "invalid_audio",
          `An audio frame is PCM16: an even number of bytes, got ${bytes.length}`,
        )
      const samples = new Int16Array(bytes.length / 2)
      new Uint8Array(samples.buffer).set(bytes)
      const mono = toCall.push(makeAudioFrame(samples, rateHz, 1))
      if (mono.length > 0) input.push(makeAudioFrame(mono, CALL_RATE_HZ, 1))
    }
    ws.on("message", (data, isBinary) => {
      if (ending !== undefined) return
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
      // Whatever a message makes the session throw is the client's answer, never the server's crash.
      try {
        if (isBinary) audio(bytes)
        else control(bytes.toString("utf8"))
      } catch (error) {
        const e = errorJson(error)
        refuse(isBinary ? "invalid_audio" : "refused", e.message)
      }
    })
    ws.on("close", () => {
      if (dropTimer !== undefined) clearTimeout(dropTimer)
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
