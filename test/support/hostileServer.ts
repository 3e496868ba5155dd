/**
 * A small misbehaving OpenAI stand-in for regression tests: a real HTTP + WebSocket server
 * on 127.0.0.1 whose every reply is written by the test. Each WebSocket connection is handed
 * to `onConnection` with what the client sent so far; HTTP requests go to `onHttp`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocket, WebSocketServer } from "ws"

/** One client connection as the hostile server sees it. */
export interface HostileConnection {
  /** 0-based number of this connection. */
  readonly index: number
  readonly socket: WebSocket
  readonly request: IncomingMessage
  /** Client frames received, parsed (non-JSON frames as `{ type: "<unparsed>", text }`). */
  readonly received: Array<{ readonly type: string; readonly [key: string]: unknown }>
  /** Sends an object as JSON, or a string as it is. Ignored once the socket is closed. */
  send(frame: unknown): void
  /** Calls `listener` for every client frame from now on. */
  onFrame(listener: (frame: { readonly type: string; readonly [key: string]: unknown }) => void): void
}

/** A request body read whole. */
export interface HostileRequest {
  readonly request: IncomingMessage
  readonly body: Buffer
  /** 0-based number of this HTTP request. */
  readonly index: number
}

export interface HostileServerOptions {
  readonly onConnection?: (connection: HostileConnection) => void
  readonly onHttp?: (request: HostileRequest, response: ServerResponse) => void
}

export interface HostileServer {
  /** `ws://127.0.0.1:PORT/v1`, for `baseUrl` of WebSocket clients. */
  readonly url: string
  /** `http://127.0.0.1:PORT/v1`, for `baseUrl` of REST clients. */
  readonly httpUrl: string
  readonly connections: HostileConnection[]
  readonly requests: HostileRequest[]
  /** Client frames of every connection, in order. */
  framesOfType(type: string): Array<{ readonly type: string; readonly [key: string]: unknown }>
  close(): Promise<void>
}

/** Starts a hostile server on an ephemeral port of 127.0.0.1. */
export const startHostileServer = async (options: HostileServerOptions = {}): Promise<HostileServer> => {
  const connections: HostileConnection[] = []
  const requests: HostileRequest[] = []
  const http: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const entry: HostileRequest = { request, body: Buffer.concat(chunks), index: requests.length }
      requests.push(entry)
      if (options.onHttp === undefined) {
        response.writeHead(404).end()
        return
      }
      options.onHttp(entry, response)
    })
  })
  const wss = new WebSocketServer({ server: http })
  wss.on("connection", (socket, request) => {
    const listeners: Array<(frame: { readonly type: string; readonly [key: string]: unknown }) => void> = []
    const connection: HostileConnection = {
      index: connections.length,
      socket,
      request,
      received: [],
      send(frame) {
        if (socket.readyState !== WebSocket.OPEN) return
        socket.send(typeof frame === "string" ? frame : JSON.stringify(frame))
      },
      onFrame(listener) {
        listeners.push(listener)
      },
    }
    connections.push(connection)
    socket.on("message", (data) => {
      const text = data.toString()
      let frame: { readonly type: string; readonly [key: string]: unknown }
      try {
        frame = JSON.parse(text) as { readonly type: string }
      } catch {
        frame = { type: "<unparsed>", text }
      }
      connection.received.push(frame)
      for (const listener of listeners) listener(frame)
    })
    socket.on("error", () => undefined)
    options.onConnection?.(connection)
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  const { port } = http.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/v1`,
    httpUrl: `http://127.0.0.1:${port}/v1`,
    connections,
    requests,
    framesOfType: (type) => connections.flatMap((c) => c.received.filter((f) => f.type === type)),
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}

/** A GA transcription session object, as `session.created` / `session.updated` carry it. */
export const transcriptionSessionObject = {
  type: "transcription",
  object: "realtime.transcription_session",
  id: "sess_hostile",
  audio: {
    input: {
      format: { type: "audio/pcm", rate: 24_000 },
      transcription: { model: "gpt-4o-transcribe" },
      turn_detection: null,
    },
  },
}

/**
 * Answers the transcription handshake like a real server: `session.created` at once and
 * `session.updated` for every `session.update`.
 */
export const answerTranscriptionHandshake = (connection: HostileConnection): void => {
  connection.send({ type: "session.created", event_id: "ev_created", session: transcriptionSessionObject })
  connection.onFrame((frame) => {
    if (frame.type === "session.update") {
      connection.send({
        type: "session.updated",
        event_id: "ev_updated",
        session: transcriptionSessionObject,
      })
    }
  })
}
