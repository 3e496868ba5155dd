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
  /** True when a scripted `refuse` fault answered the event with an error instead of the handler. */
  readonly refused?: boolean
}

/** The record of one WebSocket connection (or of one HTTP request, kind `"http"`). */
export interface SimulatorConnection {
  /** 1 for the first connection or request the simulator saw, then counting up. */
  readonly id: number
  readonly kind: ConnectionKind | "http"
  /** The request's path and query, as sent (e.g. `/v1/realtime?intent=transcription`). */
  readonly path: string
  /** The upgrade's (or request's) headers, as received. */
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
  /** Whether the socket (or the HTTP exchange) is still open. */
  readonly open: boolean
}

/**
 * A fault to inject on a connection. Counts (`afterEvents`) are server events sent on that
 * connection before the fault fires; `afterMs` is wall time since the connection opened;
 * `afterClientEvents` counts client events received (of `onType`, when given).
 */
export interface FaultTrigger {
  /** Fire once this many server events have been sent on the connection. */
  readonly afterEvents?: number
  /** Fire this many milliseconds (wall time) after the connection opened. */
  readonly afterMs?: number
  /** Fire once this many client events (of `onType`, when given) have been received. */
  readonly afterClientEvents?: number
  /** Count only client events of this type; alone, it means the first such event. */
  readonly onType?: string
}

/**
 * The service error a scripted `error` or `refuse` fault sends, in the connection's protocol
 * shape (see `faultErrorEvent`). Defaults follow the code (`rate_limit_exceeded` → type
 * `tokens`, status 429, the service's message).
 */
export interface ScriptedServerError {
  readonly code: string
  /** `error.type`; default by code (`invalid_request_error`, `server_error`, `tokens`, ...). */
  readonly errorType?: string
  /** Default: the service's message for the code. */
  readonly message?: string
  readonly param?: string
  /** Responses nested shape only: the HTTP-like `status`; default by code (429, 500, else 400). */
  readonly status?: number
  /** Responses nested shape only: `error.headers`, e.g. `{ "retry-after-ms": "200" }`. */
  readonly headers?: Readonly<Record<string, string>>
  /** Responses socket only: the nested `{ status, error: { code } }` shape (default) or flat. */
  readonly shape?: "nested" | "flat"
}

/**
 * A fault a {@link ConnectionScript} injects on one WebSocket connection. `reject` refuses the
 * upgrade; `refuse` answers matching client events; every other kind fires when its
 * {@link FaultTrigger} conditions all hold (at once when it has none).
 */
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
      readonly closeCode?: number
    } & ScriptedServerError &
      FaultTrigger)
  /**
   * Refuse client events of `onType` instead of handling them: each is recorded (with
   * `refused: true`) and answered with the scripted error event (on Realtime with the
   * event's `event_id`), and the protocol handler never sees it, as when the service
   * rejects a request (a rate limit, `previous_response_not_found`). The connection stays
   * open. Refuses `times` events (default 1; `Infinity` for all), starting with the
   * `afterClientEvents`-th event of `onType` (default the first).
   */
  | ({
      readonly type: "refuse"
      readonly onType: string
      readonly times?: number
      readonly afterClientEvents?: number
    } & ScriptedServerError)

/** Latency injected on a connection, in milliseconds. Defaults are zero. */
export interface LatencyScript {
  /** Hold every server event until this long after the connection opened (pings are still answered). */
  readonly firstEventMs?: number
  /** Wait this long between the streamed deltas of a response or transcription. */
  readonly betweenDeltasMs?: number
  /**
   * Conversation sessions: deltas of a response still sent after its `response.cancel` before
   * it ends `cancelled` (as the service's deltas already under way do); a response that runs out
   * first ends `completed`. Default 0: the cancel lands at once.
   */
  readonly cancelAfterDeltas?: number
}

/** What happens on one connection: its faults, in order, and its latency. */
export interface ConnectionScript {
  readonly faults?: readonly ConnectionFault[]
  readonly latency?: LatencyScript
}

/** A scripted HTTP answer for one REST request. */
export interface HttpFault {
  /** HTTP status of the answer (ignored with `destroy`). */
  readonly status: number
  /**
   * Body of the answer: a string is sent as is, anything else as JSON. Default: the
   * service's `{ error: { message, type, param, code } }` body for the status.
   */
  readonly body?: unknown
  /** Extra headers, e.g. `retry-after-ms`. */
  readonly headers?: Readonly<Record<string, string>>
  /** Delay before answering, in milliseconds. */
  readonly delayMs?: number
  /** Destroy the socket instead of answering (a connection error). */
  readonly destroy?: boolean
  /**
   * Shape the route's own successful answer instead of replacing it (the `speech` route):
   * give `status: 200` and any of these. The other fields are then ignored.
   */
  readonly stream?: HttpAnswerShape
}

/** How a route's streamed answer misbehaves (see {@link HttpFault.stream}). Durations in ms. */
export interface HttpAnswerShape {
  /** Wait this long before the headers and the first byte of the body (a slow first byte). */
  readonly firstByteMs?: number
  /** Wait this long between body chunks. */
  readonly betweenChunksMs?: number
  /** Destroy the connection once this many body bytes are sent (a connection dropped mid-body). */
  readonly dropAfterBytes?: number
}

/** The REST endpoints a {@link HttpFault} can be queued for (`/audio/transcriptions`, `/audio/speech`, `/chat/completions`). */
export type RestEndpoint = "transcriptions" | "translations" | "speech" | "chat" | "responses" | "models"

/** The outcome of transcribing one turn (or one REST file): its text, or an object with more. */
export type TranscriptOutcome =
  | string
  | {
      readonly text: string
      /** ISO-639-1 code reported by `verbose_json` (REST); default the request's `language`, else `en`. */
      readonly language?: string
      /** Fail the transcription of this turn with this error instead. */
      readonly fail?: { readonly code: string; readonly message: string }
      /**
       * Milliseconds to wait before this transcript is sent. Realtime: after the commit, before
       * the turn's deltas and `completed` (turns with different delays complete out of order, as
       * the service's may). REST: before the answer (with `stream=true`, after the SSE headers,
       * before the first delta).
       */
      readonly delayMs?: number
      /**
       * 0..1: every token's logprob is `ln(confidence)` when logprobs are asked for.
       * Default: a deterministic value per word, between 0.82 and 0.99.
       */
      readonly confidence?: number
    }

/** What a transcript function of {@link Scenario.transcripts} is called with. */
export interface TranscriptRequest {
  /** Zero-based index of the committed turn on this connection (or REST request count). */
  readonly index: number
  /** The turn's audio, 24 kHz mono PCM16 (REST: decoded WAV resampled to 24 kHz mono). */
  readonly audio: Int16Array
  /** The transcription model of the session or request (an Azure deployment name on Azure paths). */
  readonly model: string
  /**
   * The words the audio carries when it is the simulated voice (`synthesizeSpeech`), joined
   * by spaces: what a listener heard. Absent for audio that carries none (a recording, noise).
   */
  readonly heard?: string
}

/** One function call of a scripted {@link ModelReply}. */
export interface ScriptedFunctionCall {
  readonly name: string
  /** The arguments as the JSON text the model streams (not parsed by the simulator). */
  readonly arguments: string
  /** The call's `call_id` (chat completions: the tool call's `id`); default a generated `call_…` id. */
  readonly callId?: string
}

/**
 * A scripted model answer for a Realtime conversation response, a Responses WebSocket
 * response or a chat completion: a text, one function call, or several function calls made
 * in the same response (parallel tool calls; at least one).
 */
export type ModelReply =
  | { readonly text: string }
  | { readonly functionCall: ScriptedFunctionCall }
  | { readonly functionCalls: readonly ScriptedFunctionCall[] }

/** What a reply function of {@link Scenario.replies} is called with. */
export interface ReplyRequest {
  /**
   * Zero-based index of the response: per Realtime connection, per simulator for the Responses
   * socket and for chat completions.
   */
  readonly index: number
  /** The conversation items the model sees for this response, in order. */
  readonly input: readonly unknown[]
}

/** The script of the simulated models. Mutable at run time (tests change it between steps). */
export interface Scenario {
  /**
   * Transcripts, or a function of the turn. A list is shared by every connection and REST
   * request of the simulator and consumed in order, one element per transcript actually
   * delivered: a turn takes the next element when it is committed (or the request arrives),
   * and gives it back if its connection closes (or its request ends) before its `completed`
   * (or `failed`, or REST answer) was sent; the next turn then takes the earliest element given
   * back. So a turn replayed after a reconnect gets the text its lost original would have had.
   * Replacing the list starts again from its first element. A turn whose audio is the simulated
   * voice is transcribed to the words it carries and takes no element; a function is called
   * with those words ({@link TranscriptRequest.heard}) and decides.
   */
  transcripts: readonly TranscriptOutcome[] | ((request: TranscriptRequest) => TranscriptOutcome)
  /**
   * Replies consumed response by response (one element per response started, whatever
   * becomes of it), or a function of the request.
   */
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
 * queued fault for the route's endpoint answers the request instead of `handle`, except one
 * with a `stream` shape, which `handle` receives as `ctx.shape`.
 */
export interface HttpRoute {
  readonly endpoint: RestEndpoint
  /**
   * HTTP method the route answers. When set, the router answers other methods on the route's
   * path with a 405 and an `Allow` header; when absent, the route sees every method and
   * answers them itself.
   */
  readonly method?: string
  /**
   * Path after `/v1` (OpenAI) or after `/openai/deployments/{d}` (Azure), e.g. `/audio/speech`;
   * a `{name}` segment matches any one segment, handed to `handle` as `ctx.params.name`.
   */
  readonly path: string
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RouteContext & {
      readonly connection: SimulatorConnection
      /** The path's `{name}` segments. */
      readonly params?: Readonly<Record<string, string>>
      readonly deployment?: string
      /** A scripted {@link HttpAnswerShape} for this request, for routes that stream their answer. */
      readonly shape?: HttpAnswerShape
    },
  ): Promise<void>
}

/** Options of `startSimulator`. Every field is optional; the defaults make a fast, well-behaved service. */
export interface SimulatorOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly port?: number
  /** Address to bind; default `127.0.0.1`. */
  readonly host?: string
  /** The key clients must present; `null` accepts any. Default `"sk-simulator"`. */
  readonly apiKey?: string | null
  /** Serve the legacy beta transcription shapes (Azure preview deployments). */
  readonly beta?: boolean
  /** Seed of the deterministic ids and pseudo-random parts; default 1. */
  readonly seed?: number
  /**
   * The initial transcripts and replies (see {@link Scenario}), and scripts queued for the first
   * connections of each kind and the first requests to each REST endpoint (as
   * `scenario.nextConnection` and `scenario.nextHttp` queue them); change them later on
   * `simulator.scenario`. Plain data: the JSON of `voxstate simulate --scenario FILE`.
   */
  readonly scenario?: ScenarioSetup
  /**
   * Serve HTTPS and WSS: `true` makes a self-signed certificate at start (`simulator.certificate`
   * is its PEM, for clients' `ca` or `NODE_EXTRA_CA_CERTS`), or give a certificate and its key.
   */
  readonly tls?: boolean | { readonly cert: string; readonly key: string }
  /**
   * Told one line per event worth a trace: each HTTP request with its status and time (and the
   * error's code and message for a 4xx/5xx), each WebSocket connection opened, refused (status
   * and message) or closed (code), and each `error` event sent (`voxstate simulate --log`).
   */
  readonly log?: (line: string) => void
  /** Realtime session cap in milliseconds (default 60 minutes): then `session_expired`. */
  readonly realtimeSessionMaxMs?: number
  /** Responses WebSocket: maximum open connections (default unlimited). */
  readonly responsesMaxConnections?: number
  /** Responses WebSocket: connection lifetime in milliseconds (default 60 minutes). */
  readonly responsesConnectionLifetimeMs?: number
}

/** What a simulator starts with: its transcripts, replies and queued scripts (see {@link SimulatorOptions.scenario}). */
export interface ScenarioSetup extends Partial<Pick<Scenario, "transcripts" | "replies">> {
  /** Scripts for the next connections of each kind, in order. */
  readonly connections?: Partial<Record<ConnectionKind, readonly ConnectionScript[]>>
  /** Scripted answers for the next requests to each REST endpoint, in order. */
  readonly http?: Partial<Record<RestEndpoint, readonly HttpFault[]>>
}

/** {@link SimulatorOptions} with every default filled in (`responsesMaxConnections` stays optional: no cap). */
export type ResolvedSimulatorOptions = Required<
  Omit<SimulatorOptions, "scenario" | "responsesMaxConnections" | "tls" | "log">
> & {
  readonly responsesMaxConnections: number | undefined
}

/** A running simulator. */
export interface Simulator {
  /** WebSocket base URL, `ws://127.0.0.1:PORT/v1`. */
  readonly url: string
  /** REST base URL, `http://127.0.0.1:PORT/v1` (`https://` and `wss://` with `tls`). */
  readonly httpUrl: string
  /** With `tls`: the PEM certificate clients must trust. */
  readonly certificate?: string
  /** The port the server listens on. */
  readonly port: number
  /** The key clients must present, or `null` when any is accepted. */
  readonly apiKey: string | null
  /** Every WebSocket connection and HTTP request so far, in arrival order. */
  readonly connections: readonly SimulatorConnection[]
  /** The live scenario: change transcripts, replies and scripts between steps of a test. */
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
  /**
   * Serializes one server event and sends it through the fault funnel. Returns `false` when
   * the frame was dropped (the connection is closing or closed, or stalled by a fault),
   * `true` when it was written or queued behind the first-event latency.
   */
  send(event: object): boolean
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
