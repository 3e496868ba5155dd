/**
 * The media protocol: the agent's audio on one WebSocket, spoken alike by `serveAgent` (one
 * process) and by a cluster runner's media endpoint behind the front door (`voxstate/cluster`),
 * so one client talks to either. This module is that protocol's one copy: the control
 * messages read, the messages written, the rate conversion both ways, and the call's audio
 * output that announces replies and cut-offs.
 *
 * The wire, on one WebSocket:
 * - binary frames, both ways: PCM16 little-endian mono, 24 kHz unless the client declared
 *   another rate (`start` or `format`); the caller's audio in, the agent's voice out. An odd
 *   number of bytes is refused with an `error` message (the frame is dropped, the call goes on).
 * - JSON text frames in: `{"type":"start","sampleRateHz"?:16000}` starts the session (answered
 *   `started`); `{"type":"format","sampleRateHz":8000}` declares another rate;
 *   `{"type":"say","text":"…"}`, `{"type":"interrupt"}`, `{"type":"end"}` (the session ends,
 *   then the socket closes 1000); `{"type":"played","reply":3,"ms":1200}`: the client has
 *   played 1200 ms of reply 3 (optional; without it the played position is modelled as
 *   playback from arrival).
 * - JSON text frames out: `{"type":"started","sampleRateHz":24000,"channels":1}`, every
 *   `AgentEvent` as JSON (errors as `{ code, message }`), `{"type":"reply","reply":3}` before a
 *   reply's audio, `{"type":"clear"}` when the agent is cut off (drop the audio not played yet),
 *   `{"type":"error","error":{"code","message"}}` for a message refused, and `{"type":"closed"}`
 *   last. Every text out passes the credential scrubber.
 *
 * Extras of the cluster (a client of `serveAgent` never sees them, a client of the cluster may
 * ignore them): the call is started by the cluster, so `start` is optional there (it declares
 * the rate and is answered `started`); out, `call_attached` (first, with `audioFrames`: the
 * index of the next caller frame the call expects), `call_resumed`, `checkpoint` (with
 * `audioFrames`: the caller frames the call's stored checkpoint holds, so frames before it need
 * never be sent again), `call_moving`, `call_ended`, and from the front door `reattached`; in,
 * `{"type":"audio_from","frame":N}`: the next binary frame is the call's caller frame N (frames
 * the call already holds are skipped, so a replay is never heard twice).
 * @module
 */
import type { WebSocket } from "ws"
import { type AudioFrame, createPcmConverter, makeAudioFrame, type PcmConverter } from "../audio/index.ts"
import type { Scrubber } from "../transport/index.ts"
import type { AgentEvent } from "./AgentSession.ts"
import { type AudioOutput, CALL_RATE_HZ, createCallRecorder } from "./audio.ts"

/** A message refused, as the client reads it. */
export interface WireError {
  readonly code: string
  readonly message: string
}

/** A control message a client sends, checked. */
export type ControlMessage =
  | { readonly type: "start"; readonly sampleRateHz?: number }
  | { readonly type: "format"; readonly sampleRateHz: number }
  | { readonly type: "say"; readonly text: string }
  | { readonly type: "interrupt" }
  | { readonly type: "end" }
  | { readonly type: "played"; readonly reply: number; readonly ms: number }
  | { readonly type: "audio_from"; readonly frame: number }

const MAX_RATE_HZ = 192_000

/** The JSON form of an error: its code (tag, or name) and message. */
export const errorJson = (error: unknown): WireError => {
  if (typeof error === "object" && error !== null) {
    const e = error as { code?: unknown; _tag?: unknown; name?: unknown; message?: unknown }
    const code = [e.code, e._tag, e.name].find((c) => typeof c === "string") as string | undefined
    return { code: code ?? "error", message: typeof e.message === "string" ? e.message : String(error) }
  }
  return { code: "error", message: String(error) }
}

/** An `AgentEvent` as the text frame a client reads, credentials scrubbed. */
export const eventJson = (event: AgentEvent, scrub: Scrubber): string => {
  const wire = event.type === "error" ? { ...event, error: errorJson(event.error) } : event
  return scrub(JSON.stringify(wire))
}

/** Why `value` cannot be the connection's rate (an integer the resampler converts both ways), or undefined. */
export const rateProblem = (value: unknown): string | undefined => {
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
 * Reads a control message. `started`: whether the connection has a session, which `say`,
 * `interrupt` (and any other type) need; `start`, `format`, `end`, `played` and `audio_from`
 * are read before it. A refusal comes back as a {@link WireError}.
 */
export const readControl = (
  text: string,
  started: boolean,
): { readonly message: ControlMessage } | { readonly refused: WireError } => {
  const refused = (code: string, message: string) => ({ refused: { code, message } })
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return refused("invalid_json", "A text message must be a JSON object")
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    typeof (parsed as { type?: unknown }).type !== "string"
  )
    return refused("invalid_message", "A control message is a JSON object with a string `type`")
  const m = parsed as { readonly type: string; readonly [key: string]: unknown }
  switch (m.type) {
    case "start": {
      if (m.sampleRateHz === undefined) return { message: { type: "start" } }
      const problem = rateProblem(m.sampleRateHz)
      if (problem !== undefined) return refused("invalid_rate", problem)
      return { message: { type: "start", sampleRateHz: m.sampleRateHz as number } }
    }
    case "format": {
      const problem = rateProblem(m.sampleRateHz)
      if (problem !== undefined) return refused("invalid_rate", problem)
      return { message: { type: "format", sampleRateHz: m.sampleRateHz as number } }
    }
    case "end":
      return { message: { type: "end" } }
    case "played":
      if (typeof m.ms !== "number" || !Number.isFinite(m.ms) || m.ms < 0 || typeof m.reply !== "number")
        return refused("invalid_message", "played needs `reply` (a number) and `ms` (a number >= 0)")
      return { message: { type: "played", reply: m.reply, ms: m.ms } }
    case "audio_from":
      if (typeof m.frame !== "number" || !Number.isSafeInteger(m.frame) || m.frame < 0)
        return refused("invalid_message", "audio_from needs `frame` (an integer >= 0)")
      return { message: { type: "audio_from", frame: m.frame } }
  }
  if (!started) return refused("not_started", `Send {"type":"start"} before ${m.type}`)
  switch (m.type) {
    case "say":
      if (typeof m.text !== "string" || m.text.trim() === "")
        return refused("invalid_message", "say needs a non-empty `text`")
      return { message: { type: "say", text: m.text } }
    case "interrupt":
      return { message: { type: "interrupt" } }
    default:
      return refused("unknown_message", `Unknown message type ${JSON.stringify(m.type).slice(0, 40)}`)
  }
}

/** Options of {@link createMediaWire}. */
export interface MediaWireOptions {
  readonly scrub: Scrubber
  /** Bytes the connection may leave unsent before it counts as not reading. */
  readonly maxBufferedBytes: number
  /**
   * Past `maxBufferedBytes`: `close` the connection (1008, a client that does not read) or
   * `drop` the agent's frames until it drains (a front door between, which reads).
   */
  readonly overflow: "close" | "drop"
  /** How long a closing handshake may take before the socket is dropped, in ms (default 1000). */
  readonly closeTimeoutMs?: number
}

/** One connection's side of the protocol: what goes out, at the client's rate. */
export interface MediaWire {
  readonly socket: WebSocket
  /** The rate the client declared (24 kHz until it declares another). */
  readonly rateHz: number
  sendText(text: string): void
  /** Sends `value` as JSON, scrubbed. */
  sendJson(value: Record<string, unknown>): void
  sendEvent(event: AgentEvent): void
  refuse(code: string, message: string): void
  /** The agent's frame (24 kHz) at the client's rate. */
  sendAgentAudio(frame: AudioFrame): void
  /** The agent was cut off: the audio not sent yet is dropped, `clear` tells the client. */
  clearAgentAudio(): void
  /**
   * The caller's binary frame as 24 kHz audio (undefined when the resampler keeps it for the
   * next one); an odd number of bytes is refused and yields undefined.
   */
  callerAudio(bytes: Buffer): AudioFrame | undefined
  /** Declares a new rate; what the resampler holds of the old one goes to `flushTo`. */
  setRate(next: number, flushTo: (frame: AudioFrame) => void): void
  /** Closes the socket (handshake bounded by `closeTimeoutMs`). */
  close(code: number, reason: string): void
  /** Cancels the pending terminate once the socket closed. */
  closed(): void
}

/** What an output sends on a connection (a {@link MediaWire}, or what holds for the next one). */
export type MediaSender = Pick<MediaWire, "sendText" | "sendAgentAudio" | "clearAgentAudio">

/** Reads a binary message's bytes (a `ws` message may come as a list of chunks). */
export const bytesOf = (data: unknown): Buffer =>
  Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)

/** The protocol's side of one connection. */
export const createMediaWire = (ws: WebSocket, options: MediaWireOptions): MediaWire => {
  const { scrub, maxBufferedBytes, overflow, closeTimeoutMs = 1_000 } = options
  let rateHz = CALL_RATE_HZ
  let toCall: PcmConverter = createPcmConverter({ targetRateHz: CALL_RATE_HZ })
  let toClient: PcmConverter | undefined
  let dropTimer: NodeJS.Timeout | undefined

  const close = (code: number, reason: string) => {
    if (ws.readyState === ws.OPEN) ws.close(code, reason)
    dropTimer ??= setTimeout(() => ws.terminate(), closeTimeoutMs)
  }
  /** Whether a write may go out now (a client past the limit is closed, or its write dropped). */
  const writable = () => {
    if (ws.readyState !== ws.OPEN) return false
    if (ws.bufferedAmount <= maxBufferedBytes) return true
    if (overflow === "close") close(1008, "the client does not read")
    return false
  }
  const sendText = (text: string) => {
    if (ws.readyState !== ws.OPEN) return
    // Events are small and few: past the limit only a closing client loses them.
    if (overflow === "close" && !writable()) return
    ws.send(text)
  }
  const sendJson = (value: Record<string, unknown>) => sendText(scrub(JSON.stringify(value)))
  return {
    socket: ws,
    get rateHz() {
      return rateHz
    },
    sendText,
    sendJson,
    sendEvent: (event) => sendText(eventJson(event, scrub)),
    refuse: (code, message) => sendJson({ type: "error", error: { code, message } }),
    sendAgentAudio(frame) {
      const samples = toClient === undefined ? frame.data : toClient.push(frame)
      if (samples.length === 0 || !writable()) return
      ws.send(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength))
    },
    clearAgentAudio() {
      toClient?.reset()
      sendText(JSON.stringify({ type: "clear" }))
    },
    callerAudio(bytes) {
      if (bytes.length % 2 !== 0) {
        sendJson({
          type: "error",
          error: {
            code: "invalid_audio",
            message: `An audio frame is PCM16: an even number of bytes, got ${bytes.length}`,
          },
        })
        return undefined
      }
      const samples = new Int16Array(bytes.length / 2)
      new Uint8Array(samples.buffer).set(bytes)
      if (rateHz === CALL_RATE_HZ) return makeAudioFrame(samples, CALL_RATE_HZ, 1)
      const mono = toCall.push(makeAudioFrame(samples, rateHz, 1))
      return mono.length > 0 ? makeAudioFrame(mono, CALL_RATE_HZ, 1) : undefined
    },
    setRate(next, flushTo) {
      if (next === rateHz) return
      rateHz = next
      // Audio already in goes through at its own rate; the new rate starts a new stream.
      const tail = toCall.flush()
      if (tail.length > 0) flushTo(makeAudioFrame(tail, CALL_RATE_HZ, 1))
      toCall = createPcmConverter({ targetRateHz: CALL_RATE_HZ })
      toClient = next === CALL_RATE_HZ ? undefined : createPcmConverter({ targetRateHz: next })
    },
    close,
    closed() {
      if (dropTimer !== undefined) clearTimeout(dropTimer)
    },
  }
}

/** The call's audio output on the protocol (see {@link createMediaOutput}). */
export interface MediaOutput extends AudioOutput {
  /** The reply being spoken (counted from 1; 0 before the first). */
  readonly reply: number
  /** The client reports it played `ms` of reply `reply` (a report of a reply over changes nothing). */
  played(reply: number, ms: number): void
}

/**
 * The call's output on whichever connection `wire()` gives now (none: the audio is only
 * recorded): the timeline (what was played when) is the recorder's; the agent's audio also
 * goes out as it comes, each reply announced (`reply`), a cut-off told (`clear`). No pause: the
 * client plays what it has (a false interruption resumes nothing), and a cut-off tells it to
 * drop the rest. A client that reports what it played (`played`, for the reply `reply`
 * announced) is believed over the recorder's model. `recordCaller: false` keeps no caller
 * track (a call that can last for hours); `pausable` lets the session pause the recorder's
 * timeline while the caller may be cutting in.
 */
export const createMediaOutput = (
  wire: () => MediaSender | undefined,
  options: { readonly recordCaller?: boolean; readonly pausable?: boolean } = {},
): MediaOutput => {
  const recorder = createCallRecorder()
  const recordCaller = options.recordCaller ?? true
  let reply = 0
  let reportedMs: number | undefined
  // Pausing holds the timeline only (the audio has gone out already), as the recorder models it.
  const pausing =
    options.pausable === true && recorder.pause !== undefined && recorder.resume !== undefined
      ? { pause: recorder.pause.bind(recorder), resume: recorder.resume.bind(recorder) }
      : {}
  return {
    ...pausing,
    get reply() {
      return reply
    },
    played(n, ms) {
      if (n === reply) reportedMs = Math.max(reportedMs ?? 0, ms)
    },
    caller: (frame, atMs) => {
      if (recordCaller) recorder.caller(frame, atMs)
    },
    beginReply: () => {
      recorder.beginReply()
      reply += 1
      reportedMs = undefined
      wire()?.sendText(JSON.stringify({ type: "reply", reply }))
    },
    playedMs: (atMs) => reportedMs ?? recorder.playedMs(atMs),
    agentEndMs: () => recorder.agentEndMs(),
    wav: () => recorder.wav(),
    save: (path) => recorder.save(path),
    agent(frame, atMs) {
      recorder.agent(frame, atMs)
      wire()?.sendAgentAudio(frame)
    },
    clear(atMs) {
      recorder.clear(atMs)
      wire()?.clearAgentAudio()
    },
  }
}
