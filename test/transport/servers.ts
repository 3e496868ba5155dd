import { createServer, type IncomingMessage, type Server } from "node:http"
import type { Socket } from "node:net"
import { Effect } from "effect"
import type * as Scope from "effect/Scope"
import { type WebSocket, WebSocketServer } from "ws"

/** One accepted server-side connection and the upgrade request that opened it. */
export interface Accepted {
  readonly socket: WebSocket
  readonly request: IncomingMessage
}

/** A real `ws` server on 127.0.0.1 with an ephemeral port, closed with the test's scope. */
export interface TestWsServer {
  readonly url: string
  readonly wss: WebSocketServer
  /** Resolves with the next connection the server accepts (in order of arrival). */
  readonly nextConnection: Effect.Effect<Accepted>
}

const listening = (server: Server | WebSocketServer): Promise<number> =>
  new Promise((resolve) => {
    server.once("listening", () => resolve((server.address() as { port: number }).port))
  })

/** Starts a `ws` server; `autoPong: false` makes a peer that never answers pings. */
export const testWsServer = (
  options: { readonly autoPong?: boolean } = {},
): Effect.Effect<TestWsServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, autoPong: options.autoPong ?? true })
      const port = await listening(wss)
      const arrived: Array<Accepted> = []
      const waiting: Array<(accepted: Accepted) => void> = []
      wss.on("connection", (socket, request) => {
        const accepted = { socket, request }
        const next = waiting.shift()
        if (next === undefined) arrived.push(accepted)
        else next(accepted)
      })
      const nextConnection = Effect.promise<Accepted>(
        () =>
          new Promise((resolve) => {
            const first = arrived.shift()
            if (first === undefined) waiting.push(resolve)
            else resolve(first)
          }),
      )
      return { url: `ws://127.0.0.1:${port}/v1`, wss, nextConnection }
    }),
    ({ wss }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            for (const client of wss.clients) client.terminate()
            wss.close(() => resolve())
          }),
      ),
  )

/** A plain HTTP server that answers every upgrade with `respond(request, socket)`. */
export const testUpgradeServer = (
  respond: (request: IncomingMessage, socket: Socket) => void,
): Effect.Effect<
  { readonly url: string; readonly upgrades: () => number; readonly openSockets: () => number },
  never,
  Scope.Scope
> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const server = createServer((_request, response) => {
        response.statusCode = 426
        response.end()
      })
      const sockets = new Set<Socket>()
      let upgrades = 0
      server.on("connection", (socket) => {
        sockets.add(socket)
        socket.once("close", () => sockets.delete(socket))
      })
      server.on("upgrade", (request, socket) => {
        upgrades++
        // After an upgrade Node leaves the socket half-open when the client ends it; close ours too.
        socket.once("end", () => socket.destroy())
        respond(request, socket as Socket)
      })
      server.listen(0, "127.0.0.1")
      const port = await listening(server)
      return {
        server,
        sockets,
        url: `ws://127.0.0.1:${port}/v1`,
        upgrades: () => upgrades,
        openSockets: () => sockets.size,
      }
    }),
    ({ server, sockets }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => resolve())
          }),
      ),
  )

/** A raw HTTP response with a JSON body, as OpenAI sends for a rejected upgrade. */
export const httpResponse = (status: number, statusText: string, body: string): string =>
  `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export const closedPort: Effect.Effect<number> = Effect.promise(async () => {
  const server = createServer()
  server.listen(0, "127.0.0.1")
  const port = await listening(server)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
})

/**
 * Starts listening for `close` on `socket` at once (not when the Effect runs) and resolves
 * with the code and reason the server saw.
 */
export const serverSawClose = (socket: WebSocket): Effect.Effect<{ code: number; reason: string }> => {
  const seen = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))
  })
  return Effect.promise(() => seen)
}

/** Starts listening for the next `ping` on `socket` at once and resolves when it arrives. */
export const serverSawPing = (socket: WebSocket): Effect.Effect<void> => {
  const seen = new Promise<void>((resolve) => {
    socket.once("ping", () => resolve())
  })
  return Effect.promise(() => seen)
}
