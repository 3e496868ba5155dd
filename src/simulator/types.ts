/**
 * Shared types of the OpenAI simulator: its options, the per-connection record, the
 * scenario (what the simulated model says and how the network misbehaves), and the
 * route interfaces through which each protocol plugs into the server.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { WebSocket } from "ws"

/** Which protocol a WebSocket connection speaks. */
export type ConnectionKind = "transcription" | "realtime" | "responses"

/** One client event or HTTP request as the simulator received it. */
export interface RecordedEvent {
  /** Milliseconds since the simulator started. */
  readonly atMs: number
  /** The event's `type` (for HTTP: `"http"`; `"invalid"` for a frame that is not a JSON object with a type). */
  readonly type: string
  /** The parsed JSON (or, for a frame that did not parse, the raw text). */
  readonly payload: unknown
  /** Size of the frame or body in bytes. */
  readonly bytes: number
}

/** The record of one WebSocket connection (or of one HTTP request, kind `"http"`). */
export interface SimulatorConnection {
  readonly id: number
  readonly kind: ConnectionKind | "http"
  readonly path: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  /** Every client event received, in order. */
  readonly received: RecordedEvent[]
  /** Every server event sent, in order (parsed). */
  readonly sent: unknown[]
  /** Set when the connection ended: the close code seen by the server (1006 when destroyed). */
  closeCode: number | undefined
  /**
   * HTTP status of a refused upgrade (401, 404, a scripted `reject`) or, for kind `"http"`,
   * of the answer once it is sent. `undefined` for an accepted WebSocket.
   */
  httpStatus: number | undefined
  readonly open: boolean
}

/**
 * A fault to inject on a connection. Counts (`afterEvents`) are server events sent on that
 * connection before the fault fires; `afterMs` is wall time since the connection opened;
 * `afterClientEvents` counts client events received (of `onType`, when given).
 */
export interface FaultTrigger {
  readonly afterEvents?: number
  readonly afterMs?: number
  readonly afterClientEvents?: number
  readonly onType?: string
}

export type ConnectionFault =
  /** Refuse the upgrade (or HTTP request) with a status and body. */
  | { readonly type: "reject"; readonly status: number; readonly body?: string }
  /** Close with a code; 1006 destroys the socket without a close frame. */
  | ({ readonly type: "close"; readonly code: number; readonly reason?: string } & FaultTrigger)
  /** Stop sending anything while the socket stays open (half-open / stalled server). */
  | ({ readonly type: "stall" } & FaultTrigger)
  /** Send a frame that is not JSON. */
  | ({ readonly type: "malformed"; readonly text?: string } & FaultTrigger)
  /** Send an event of an unknown type. */
  | ({ readonly type: "unknownEvent"; readonly eventType?: string } & FaultTrigger)
  /** Send an `error` event, then optionally close with a code. */
  | ({
      readonly type: "error"
      readonly code: string
      readonly errorType?: string
      readonly message?: string
      readonly param?: string
      readonly closeCode?: number
      /** Responses socket only: send the nested `{ error: { code } }` shape (default) or flat. */
      readonly shape?: "nested" | "flat"
    } & FaultTrigger)

/** Latency injected on a connection, in milliseconds. Defaults are zero. */
export interface LatencyScript {
  readonly firstEventMs?: number
  readonly betweenDeltasMs?: number
}

/** What happens on one connection. */
export interface ConnectionScript {
  readonly faults?: readonly ConnectionFault[]
  readonly latency?: LatencyScript
}

/** A scripted HTTP answer for one REST request. */
export interface HttpFault {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  /** Delay before answering, in milliseconds. */
  readonly delayMs?: number
  /** Destroy the socket instead of answering (a connection error). */
  readonly destroy?: boolean
}

export type RestEndpoint = "transcriptions" | "speech" | "chat"

/** The outcome of transcribing one turn (or one REST file). */
export type TranscriptOutcome =
  | string
  | {
      readonly text: string
      readonly language?: string
      /** Fail the transcription of this turn with this error instead. */
      readonly fail?: { readonly code: string; readonly message: string }
      /**
       * Milliseconds to wait after the commit before this turn's deltas and `completed` are sent
       * (Realtime only). Turns with different delays complete out of order, as the service may.
       */
      readonly delayMs?: number
      /**
       * 0..1: every token's logprob is `ln(confidence)` when logprobs are asked for.
       * Default: a deterministic value per word, between 0.82 and 0.99.
       */
      readonly confidence?: number
    }

export interface TranscriptRequest {
  /** Zero-based index of the committed turn on this connection (or REST request count). */
  readonly index: number
  /** The turn's audio, 24 kHz mono PCM16 (REST: decoded WAV resampled to 24 kHz mono). */
  readonly audio: Int16Array
  readonly model: string
}

/** A scripted model answer for a conversation (Realtime) or Responses turn. */
export type ModelReply =
  | { readonly text: string }
  | { readonly functionCall: { readonly name: string; readonly arguments: string; readonly callId?: string } }

export interface ReplyRequest {
  readonly index: number
  /** The conversation items the model sees for this response, in order. */
  readonly input: readonly unknown[]
}

/** The script of the simulated models. Mutable at run time (tests change it between steps). */
export interface Scenario {
  /** Transcripts consumed turn by turn, or a function of the turn. */
  transcripts: readonly TranscriptOutcome[] | ((request: TranscriptRequest) => TranscriptOutcome)
  /** Replies consumed response by response, or a function of the request. */
  replies: readonly ModelReply[] | ((request: ReplyRequest) => ModelReply)
  /** Seed for the deterministic pseudo-random parts (ids, jitter). */
  seed: number
  /** Scripts for the next connections of a kind, consumed in order. */
  readonly connectionScripts: Map<ConnectionKind, ConnectionScript[]>
  /** Scripted answers for the next requests to a REST endpoint, consumed in order. */
  readonly httpFaults: Map<RestEndpoint, HttpFault[]>
  /** Queue a script for the next connection of a kind. */
  nextConnection(kind: ConnectionKind, script: ConnectionScript): void
  /** Queue a scripted answer for the next request to a REST endpoint. */
  nextHttp(endpoint: RestEndpoint, fault: HttpFault): void
}

/** Context handed to every route: the shared scenario and recording helpers. */
export interface RouteContext {
  readonly scenario: Scenario
  readonly options: ResolvedSimulatorOptions
  /** Milliseconds since the simulator started. */
  now(): number
  /** Creates and registers the record of a new connection or request. */
  record(kind: SimulatorConnection["kind"], req: IncomingMessage): SimulatorConnection
  /** A deterministic id with a prefix (`item_`, `resp_`, `event_`, ...). */
  nextId(prefix: string): string
  /** Every connection and request recorded so far (e.g. to count open connections of a kind). */
  readonly connections: readonly SimulatorConnection[]
}

/**
 * A REST route. `handle` answers the request completely and pushes the request body into
 * `connection.received` (type `"http"`). Authentication, Azure path shapes and scripted
 * `HttpFault`s (from `scenario.nextHttp`) are applied by the router before `handle` runs: a
 * queued fault for the route's endpoint answers the request instead of `handle`.
 */
export interface HttpRoute {
  readonly endpoint: RestEndpoint
  /**
   * HTTP method the route answers. When set, the router answers other methods with a 404
   * (`Invalid URL`); when absent, the route sees every method and answers them itself.
   */
  readonly method?: string
  /** Path after `/v1` (OpenAI) or after `/openai/deployments/{d}` (Azure), e.g. `/audio/speech`. */
  readonly path: string
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RouteContext & { readonly connection: SimulatorConnection; readonly deployment?: string },
  ): Promise<void>
}

export interface SimulatorOptions {
  readonly port?: number
  readonly host?: string
  /** The key clients must present; `null` accepts any. Default `"sk-simulator"`. */
  readonly apiKey?: string | null
  /** Serve the legacy beta transcription shapes (Azure preview deployments). */
  readonly beta?: boolean
  readonly seed?: number
  readonly scenario?: Partial<Pick<Scenario, "transcripts" | "replies">>
  /** Realtime session cap in milliseconds (default 60 minutes): then `session_expired`. */
  readonly realtimeSessionMaxMs?: number
  /** Responses WebSocket: maximum open connections (default unlimited). */
  readonly responsesMaxConnections?: number
  /** Responses WebSocket: connection lifetime in milliseconds (default 60 minutes). */
  readonly responsesConnectionLifetimeMs?: number
}

export type ResolvedSimulatorOptions = Required<
  Omit<SimulatorOptions, "scenario" | "responsesMaxConnections">
> & {
  readonly responsesMaxConnections: number | undefined
}

/** A running simulator. */
export interface Simulator {
  /** WebSocket base URL, `ws://127.0.0.1:PORT/v1`. */
  readonly url: string
  /** REST base URL, `http://127.0.0.1:PORT/v1`. */
  readonly httpUrl: string
  readonly port: number
  readonly apiKey: string | null
  readonly connections: readonly SimulatorConnection[]
  readonly scenario: Scenario
  /** Ends every socket and the server. */
  close(): Promise<void>
}

/**
 * What a WebSocket handler gets besides the socket. Every frame a handler sends, whether
 * through `send` or `socket.send`, goes through the connection's fault funnel (first-event
 * latency, stall, close after N events, ...), so scripted faults apply to every protocol alike.
 * Client frames are recorded in `connection.received` before the handler's own `message`
 * listeners run.
 */
export interface WebSocketContext extends RouteContext {
  readonly connection: SimulatorConnection
  readonly script: ConnectionScript
  /** The upgrade request's URL (path and query). */
  readonly url: URL
  /** Azure deployment named in the URL (`deployment=` or `/deployments/{d}`), if any. */
  readonly deployment?: string
  /** Serializes one server event and sends it through the fault funnel. */
  send(event: object): void
  /**
   * Waits the scripted between-deltas latency (`script.latency.betweenDeltasMs`), or one
   * macrotask when none is scripted, so streaming interleaves with incoming client events.
   */
  pace(): Promise<void>
  /** `false` once the socket is closing or closed, or once a scripted fault ended it. */
  isOpen(): boolean
  /**
   * Closes the connection after the frames already sent or queued (first-event latency):
   * 1006 destroys the socket without a close frame, 1005 sends a close frame without a code.
   */
  close(code: number, reason?: string): void
  /**
   * Listens to client frames after they are recorded, with the payload already parsed
   * (`payload` is the raw text when the frame is not JSON, and `parsed` is then `false`).
   * An alternative to `socket.on("message")` that spares a second parse of large frames.
   */
  onClientEvent(listener: (payload: unknown, parsed: boolean, text: string) => void): void
}

/** A WebSocket protocol handler: owns the socket after the upgrade. */
export type WebSocketHandler = (socket: WebSocket, ctx: WebSocketContext) => void
