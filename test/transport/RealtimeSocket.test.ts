import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Redacted, Stream } from "effect"
import { TestClock } from "effect/testing"
import {
  connectWebSocket,
  RealtimeSocket,
  type SocketConnection,
  TransportError,
} from "../../src/transport/index.ts"
import {
  closedPort,
  httpResponse,
  serverSawClose,
  serverSawPing,
  testUpgradeServer,
  testWsServer,
} from "./servers.ts"

const SECRET = "test-key-0123456789abcdefSECRET"
const bearer = { Authorization: Redacted.make(`Bearer ${SECRET}`) }

/** Waits for a fiber to finish on its own, with the TestClock still (nothing to advance). */
const exitOf = <A, E>(fiber: Fiber.Fiber<A, E>) => Fiber.await(fiber)

describe("RealtimeSocket.connect", () => {
  it.effect("exchanges text frames with the server and sends the handshake headers", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      const connection = yield* connectWebSocket({
        url: `${server.url}/realtime?intent=transcription`,
        headers: { ...bearer, "OpenAI-Project": "proj_1" },
      })
      const { socket, request } = yield* server.nextConnection
      assert.strictEqual(request.headers.authorization, `Bearer ${SECRET}`)
      assert.strictEqual(request.headers["openai-project"], "proj_1")
      assert.strictEqual(request.url, "/v1/realtime?intent=transcription")
      socket.on("message", (data) => socket.send(`echo:${String(data)}`))

      yield* connection.send("one")
      yield* connection.send("two")
      const echoed = yield* connection.messages.pipe(Stream.take(2), Stream.runCollect)
      assert.deepStrictEqual(echoed, ["echo:one", "echo:two"])
    }),
  )

  it.effect("keeps frames that arrive before the stream is consumed", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      server.wss.on("connection", (socket) => {
        for (const n of [1, 2, 3]) socket.send(`early-${n}`)
        socket.close(1000)
      })
      const connection = yield* connectWebSocket({ url: server.url })
      const { socket } = yield* server.nextConnection
      yield* serverSawClose(socket)
      const all = yield* Stream.runCollect(connection.messages)
      assert.deepStrictEqual(all, ["early-1", "early-2", "early-3"])
    }),
  )

  it.effect("is provided by RealtimeSocket.layer", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      server.wss.on("connection", (socket) => socket.close(1000))
      const socketService = yield* RealtimeSocket
      const connection = yield* socketService.connect({ url: server.url })
      const all = yield* Stream.runCollect(connection.messages)
      assert.deepStrictEqual(all, [])
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )
})

describe("close codes", () => {
  const closeWith = (code: number, reason: string) =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      server.wss.on("connection", (socket) => {
        socket.send("last words")
        if (code === 1006) socket.terminate()
        // A close frame without a status code reaches the client as 1005.
        else if (code === 1005) socket.close()
        else socket.close(code, reason)
      })
      const connection = yield* connectWebSocket({ url: server.url })
      const received: Array<string> = []
      const exit = yield* connection.messages.pipe(
        Stream.runForEach((text) => Effect.sync(() => received.push(text))),
        Effect.exit,
      )
      return { exit, received }
    })

  it.effect("ends the message stream normally on 1000", () =>
    Effect.gen(function* () {
      const { exit, received } = yield* closeWith(1000, "bye")
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(received, ["last words"])
    }),
  )

  const failures: ReadonlyArray<{ code: number; reason: string; retryable: boolean }> = [
    { code: 1001, reason: "going away", retryable: true },
    { code: 1005, reason: "", retryable: true },
    { code: 1006, reason: "", retryable: true },
    { code: 1011, reason: "internal", retryable: true },
    { code: 1012, reason: "restarting", retryable: true },
    { code: 1013, reason: "try again later", retryable: true },
    { code: 1008, reason: "policy", retryable: false },
    { code: 4000, reason: "beta_api_shape_disabled", retryable: false },
  ]
  for (const { code, reason, retryable } of failures) {
    it.effect(
      `fails the stream with Close ${code} (${retryable ? "retryable" : "fatal"}) after delivering earlier frames`,
      () =>
        Effect.gen(function* () {
          const { exit, received } = yield* closeWith(code, reason)
          assert.deepStrictEqual(received, ["last words"])
          assert.isTrue(Exit.isFailure(exit))
          const error = yield* Effect.flip(exit)
          assert.instanceOf(error, TransportError)
          assert.deepStrictEqual(error.reason, { _tag: "Close", code, closeReason: reason })
          assert.strictEqual(error.retryable, retryable)
          assert.include(error.message, String(code))
        }),
    )
  }

  it.effect("scrubs the key from a close reason that echoes it", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      server.wss.on("connection", (socket) => socket.close(1008, `bad key ${SECRET}`))
      const connection = yield* connectWebSocket({ url: server.url, headers: bearer })
      const error = yield* Effect.flip(Stream.runDrain(connection.messages))
      assert.deepStrictEqual(error.reason, { _tag: "Close", code: 1008, closeReason: "bad key <redacted>" })
      for (const shown of [
        error.message,
        JSON.stringify(error),
        inspect(error, { depth: 10 }),
        String(error),
      ])
        assert.notInclude(shown, SECRET)
    }),
  )

  it.effect("fails the stream with a retryable Close 1006 when the server drops the TCP connection", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      const connection = yield* connectWebSocket({ url: server.url })
      const { request } = yield* server.nextConnection
      request.socket.destroy()
      const error = yield* Effect.flip(Stream.runDrain(connection.messages))
      assert.strictEqual(error.reason._tag, "Close")
      assert.isTrue(error.retryable)
    }),
  )
})

describe("read errors", () => {
  it.effect("fails the stream with a fatal Read when the server sends an invalid frame", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      const connection = yield* connectWebSocket({ url: server.url })
      const { request } = yield* server.nextConnection
      // An unmasked text frame whose payload is not UTF-8.
      request.socket.write(Buffer.from([0x81, 0x02, 0xff, 0xfe]))
      const error = yield* Effect.flip(Stream.runDrain(connection.messages))
      assert.strictEqual(error.reason._tag, "Read")
      assert.isFalse(error.retryable)
      assert.include(error.message, "UTF-8")
    }),
  )
})

describe("rejected upgrades", () => {
  it.effect("fails with Open 401, the body, a hint about the API key and no secret", () =>
    Effect.gen(function* () {
      const body = JSON.stringify({
        error: { message: `Incorrect API key provided: ${SECRET}`, code: "invalid_api_key" },
      })
      const server = yield* testUpgradeServer((_request, socket) =>
        socket.end(httpResponse(401, "Unauthorized", body)),
      )
      const error = yield* Effect.flip(connectWebSocket({ url: server.url, headers: bearer }))

      assert.strictEqual(error.reason._tag, "Open")
      assert.strictEqual(error.reason._tag === "Open" ? error.reason.status : undefined, 401)
      assert.include(error.reason._tag === "Open" ? error.reason.body : "", "invalid_api_key")
      assert.isFalse(error.retryable)
      assert.include(error.message, "401")
      assert.include(error.message, "API key")
      for (const shown of [
        error.message,
        JSON.stringify(error),
        inspect(error, { depth: 10 }),
        String(error),
      ]) {
        assert.notInclude(shown, SECRET)
      }
      assert.include(error.message, "<redacted>")
    }),
  )

  it.effect("scrubs an Authorization header given as a plain string, whole or as its token", () =>
    Effect.gen(function* () {
      const server = yield* testUpgradeServer((request, socket) =>
        socket.end(
          httpResponse(401, "Unauthorized", `got ${request.headers.authorization}; token ${SECRET}`),
        ),
      )
      const error = yield* Effect.flip(
        connectWebSocket({ url: server.url, headers: { Authorization: `Bearer ${SECRET}` } }),
      )
      assert.strictEqual(
        error.reason._tag === "Open" ? error.reason.body : "",
        "got <redacted>; token <redacted>",
      )
      for (const shown of [
        error.message,
        JSON.stringify(error),
        inspect(error, { depth: 10 }),
        String(error),
      ]) {
        assert.notInclude(shown, SECRET)
        assert.notInclude(shown, "Bearer")
      }
    }),
  )

  it.effect("scrubs a key sent as a subprotocol from the rejection", () =>
    Effect.gen(function* () {
      const server = yield* testUpgradeServer((_request, socket) =>
        socket.end(httpResponse(403, "Forbidden", `bad key ${SECRET}`)),
      )
      const error = yield* Effect.flip(
        connectWebSocket({ url: server.url, protocols: ["realtime", `openai-insecure-api-key.${SECRET}`] }),
      )
      assert.strictEqual(error.reason._tag === "Open" ? error.reason.body : "", "bad key <redacted>")
      assert.notInclude(JSON.stringify(error), SECRET)
      assert.include(error.message, "API key")
    }),
  )

  it.effect("fails with a retryable Open 503", () =>
    Effect.gen(function* () {
      const server = yield* testUpgradeServer((_request, socket) =>
        socket.end(httpResponse(503, "Service Unavailable", '{"error":"overloaded"}')),
      )
      const error = yield* Effect.flip(connectWebSocket({ url: server.url }))
      assert.deepStrictEqual(error.reason, { _tag: "Open", status: 503, body: '{"error":"overloaded"}' })
      assert.isTrue(error.retryable)
    }),
  )

  it.effect("fails with a fatal Open 404 for an unknown model", () =>
    Effect.gen(function* () {
      const server = yield* testUpgradeServer((_request, socket) =>
        socket.end(httpResponse(404, "Not Found", "")),
      )
      const error = yield* Effect.flip(connectWebSocket({ url: server.url }))
      assert.strictEqual(error.reason._tag === "Open" ? error.reason.status : undefined, 404)
      assert.isFalse(error.retryable)
    }),
  )

  it.effect("fails with a retryable Open and no status when nothing listens", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      const error = yield* Effect.flip(connectWebSocket({ url: `ws://127.0.0.1:${port}/v1/realtime` }))
      assert.deepStrictEqual(error.reason, { _tag: "Open" })
      assert.isTrue(error.retryable)
      assert.include(error.message, "ECONNREFUSED")
    }),
  )

  it.effect("fails with a fatal Open for a URL that is not a WebSocket URL", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(connectWebSocket({ url: "ftp://127.0.0.1/v1" }))
      assert.strictEqual(error.reason._tag, "Open")
      assert.isFalse(error.retryable)
    }),
  )

  it.effect("fails with a connect Timeout when the server never answers the upgrade", () =>
    Effect.gen(function* () {
      const server = yield* testUpgradeServer(() => {
        // Swallow the upgrade request: the handshake never completes.
      })
      const fiber = yield* Effect.forkChild(
        Effect.scoped(connectWebSocket({ url: server.url, connectTimeoutMs: 3000 })),
      )
      while (server.upgrades() === 0) yield* TestClock.withLive(Effect.sleep("5 millis"))
      yield* TestClock.adjust("2999 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.deepStrictEqual(error.reason, { _tag: "Timeout", phase: "connect" })
      assert.isTrue(error.retryable)
    }),
  )
})

describe("scope", () => {
  it.effect("releases the socket of an interrupted attempt at once, not when the caller's scope closes", () =>
    Effect.gen(function* () {
      const server = yield* testUpgradeServer(() => {
        // Never answer: the attempt hangs in the handshake until it is interrupted.
      })
      const attempt = yield* Effect.forkChild(
        connectWebSocket({ url: server.url, connectTimeoutMs: 60_000 }).pipe(Effect.timeout("1 second")),
      )
      while (server.upgrades() === 0) yield* TestClock.withLive(Effect.sleep("5 millis"))
      assert.strictEqual(server.openSockets(), 1)
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(attempt)
      assert.isTrue(Exit.isFailure(exit))
      // This test's scope is still open, yet the client has already dropped the TCP connection.
      for (let i = 0; i < 1000 && server.openSockets() > 0; i++)
        yield* TestClock.withLive(Effect.sleep("5 millis"))
      assert.strictEqual(server.openSockets(), 0)
    }),
  )

  it.effect("closes the socket with 1000 and removes every listener when the scope closes", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      let connection: SocketConnection | undefined
      const seen = yield* Effect.scoped(
        Effect.gen(function* () {
          connection = yield* connectWebSocket({ url: server.url, heartbeatIntervalMs: 1000 })
          const { socket } = yield* server.nextConnection
          return serverSawClose(socket)
        }),
      )
      const { code } = yield* seen
      assert.strictEqual(code, 1000)
      assert.strictEqual(server.wss.clients.size, 0)
      const sendError = yield* Effect.flip(connection!.send("too late"))
      assert.strictEqual(sendError.reason._tag, "Write")
      // The heartbeat fiber is gone with the scope: advancing time sends nothing and fails nothing.
      yield* TestClock.adjust("1 minute")
      const rest = yield* Stream.runCollect(connection!.messages)
      assert.deepStrictEqual(rest, [])
    }),
  )

  it.effect("ends the stream normally when this side closes with a non-1000 code", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      const connection = yield* connectWebSocket({ url: server.url })
      const { socket } = yield* server.nextConnection
      const seen = serverSawClose(socket)
      yield* connection.close(4001, "switching session")
      const exit = yield* Effect.exit(Stream.runDrain(connection.messages))
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(yield* seen, { code: 4001, reason: "switching session" })
    }),
  )

  it.effect("drops the connection when close is given an invalid code, and still ends the stream", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      const connection = yield* connectWebSocket({ url: server.url })
      const { socket } = yield* server.nextConnection
      const seen = serverSawClose(socket)
      yield* connection.close(1006)
      const exit = yield* Effect.exit(Stream.runDrain(connection.messages))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual((yield* seen).code, 1006)
    }),
  )
})

describe("heartbeat", () => {
  it.effect("fails the stream with a retryable heartbeat Timeout when pings go unanswered", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer({ autoPong: false })
      const connection = yield* connectWebSocket({
        url: server.url,
        heartbeatIntervalMs: 1000,
        heartbeatTimeoutMs: 500,
      })
      const { socket } = yield* server.nextConnection
      const pinged = serverSawPing(socket)
      const reader = yield* Effect.forkChild(Stream.runDrain(connection.messages))
      const closed = serverSawClose(socket)

      yield* TestClock.adjust("1000 millis")
      yield* pinged
      yield* TestClock.adjust("499 millis")
      assert.isUndefined(reader.pollUnsafe())
      yield* TestClock.adjust("1 millis")

      const error = yield* Effect.flip(Fiber.join(reader))
      assert.deepStrictEqual(error.reason, { _tag: "Timeout", phase: "heartbeat" })
      assert.isTrue(error.retryable)
      // The half-open socket is dropped, not kept around.
      assert.strictEqual((yield* closed).code, 1006)
    }),
  )

  it.effect("keeps a connection whose peer answers every ping with a pong", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      const connection = yield* connectWebSocket({
        url: server.url,
        heartbeatIntervalMs: 1000,
        heartbeatTimeoutMs: 500,
      })
      const { socket } = yield* server.nextConnection
      // The server auto-pongs before emitting "ping", then pings back. The client answers that
      // ping only after it has processed the pong before it (frames are handled in order), so
      // the server's "pong" event proves the client has seen our pong. No data frame is sent.
      let clientCaughtUp = 0
      socket.on("ping", () => socket.ping())
      socket.on("pong", () => clientCaughtUp++)
      const reader = yield* Effect.forkChild(Stream.runDrain(connection.messages))
      for (let round = 1; round <= 3; round++) {
        yield* TestClock.adjust("1000 millis")
        while (clientCaughtUp < round && reader.pollUnsafe() === undefined)
          yield* TestClock.withLive(Effect.sleep("2 millis"))
        yield* TestClock.adjust("500 millis")
      }
      assert.isUndefined(reader.pollUnsafe())
      yield* connection.close()
      assert.isTrue(Exit.isSuccess(yield* exitOf(reader)))
    }),
  )

  it.effect("counts any frame from the peer as a sign of life", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer({ autoPong: false })
      const connection = yield* connectWebSocket({
        url: server.url,
        heartbeatIntervalMs: 1000,
        heartbeatTimeoutMs: 500,
      })
      const { socket } = yield* server.nextConnection
      socket.on("ping", () => socket.send("busy streaming"))
      const pulled: Array<string> = []
      const reader = yield* Effect.forkChild(
        Stream.runForEach(connection.messages, (text) => Effect.sync(() => pulled.push(text))),
      )
      for (let round = 1; round <= 2; round++) {
        yield* TestClock.adjust("1000 millis")
        while (pulled.length < round && reader.pollUnsafe() === undefined)
          yield* TestClock.withLive(Effect.sleep("2 millis"))
        yield* TestClock.adjust("500 millis")
      }
      assert.isUndefined(reader.pollUnsafe())
      yield* connection.close()
      assert.isTrue(Exit.isSuccess(yield* exitOf(reader)))
    }),
  )

  it.effect("sends no pings when the heartbeat is off", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer({ autoPong: false })
      const connection = yield* connectWebSocket({ url: server.url, heartbeatIntervalMs: 0 })
      const { socket } = yield* server.nextConnection
      let pings = 0
      socket.on("ping", () => pings++)
      const reader = yield* Effect.forkChild(Stream.runDrain(connection.messages))
      yield* TestClock.adjust("10 minutes")
      socket.send("still here")
      socket.close(1000)
      assert.isTrue(Exit.isSuccess(yield* exitOf(reader)))
      assert.strictEqual(pings, 0)
    }),
  )
})

describe("backpressure", () => {
  it.effect(
    "makes send wait at the high-water mark while the peer stops reading, then resumes in order",
    () =>
      Effect.gen(function* () {
        const server = yield* testWsServer()
        const highWaterMarkBytes = 64 * 1024
        const connection = yield* connectWebSocket({
          url: server.url,
          highWaterMarkBytes,
          heartbeatIntervalMs: 0,
        })
        const { socket, request } = yield* server.nextConnection
        const received: Array<string> = []
        socket.on("message", (data) => received.push(String(data).slice(0, 12)))
        request.socket.pause()

        // Fill the kernel buffers until ws itself has to queue bytes.
        const chunk = "x".repeat(512 * 1024)
        let filled = 0
        while (connection.bufferedAmount() < highWaterMarkBytes) {
          yield* connection.send(chunk)
          filled++
          if (filled > 512) assert.fail("the paused peer never pushed back")
        }

        const blocked = yield* Effect.forkChild(
          Effect.forEach(["marker-0001", "marker-0002", "marker-0003"], (text) => connection.send(text), {
            concurrency: "unbounded",
            discard: true,
          }),
        )
        yield* TestClock.withLive(Effect.sleep("20 millis"))
        assert.isUndefined(blocked.pollUnsafe(), "send returned while the buffer was over the mark")
        assert.isAtLeast(connection.bufferedAmount(), highWaterMarkBytes)

        request.socket.resume()
        yield* Fiber.join(blocked)
        while (received.length < filled + 3) yield* TestClock.withLive(Effect.sleep("2 millis"))
        assert.deepStrictEqual(received.slice(filled), ["marker-0001", "marker-0002", "marker-0003"])
      }),
  )

  it.effect(
    "wakes a waiting send when the mark was reached by small frames (most sent without a completion callback)",
    () =>
      Effect.gen(function* () {
        const server = yield* testWsServer()
        const highWaterMarkBytes = 64 * 1024
        const connection = yield* connectWebSocket({
          url: server.url,
          highWaterMarkBytes,
          heartbeatIntervalMs: 0,
        })
        const { socket, request } = yield* server.nextConnection
        let received = 0
        let last = ""
        socket.on("message", (data) => {
          received++
          last = String(data)
        })
        request.socket.pause()

        // Frames of 2 KB, as live audio appends are: the kernel buffers fill first, then ws
        // queues, and only the frames sent past half the mark ask for their completion.
        const chunk = "a".repeat(2 * 1024)
        let sent = 0
        while (connection.bufferedAmount() < highWaterMarkBytes) {
          if (connection.sendNow?.(chunk) !== true) yield* connection.send(chunk)
          sent++
          if (sent > 100_000) assert.fail("the paused peer never pushed back")
        }
        assert.isFalse(connection.sendNow?.("over the mark") ?? false)
        const blocked = yield* Effect.forkChild(connection.send("the-last-one"))
        yield* TestClock.withLive(Effect.sleep("20 millis"))
        assert.isUndefined(blocked.pollUnsafe(), "send returned while the buffer was over the mark")

        request.socket.resume()
        yield* Fiber.join(blocked)
        while (received < sent + 1) yield* TestClock.withLive(Effect.sleep("2 millis"))
        assert.strictEqual(last, "the-last-one")
      }),
  )

  it.effect("fails a waiting send with Write when this side closes the socket", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      const connection = yield* connectWebSocket({
        url: server.url,
        highWaterMarkBytes: 1,
        heartbeatIntervalMs: 0,
        closeTimeoutMs: 10,
      })
      const { request } = yield* server.nextConnection
      request.socket.pause()
      const chunk = "y".repeat(512 * 1024)
      while (connection.bufferedAmount() < 1) yield* connection.send(chunk)
      const blocked = yield* Effect.forkChild(connection.send("never sent"))
      yield* Effect.yieldNow
      assert.isUndefined(blocked.pollUnsafe())

      yield* connection.close()
      const error = yield* Effect.flip(Fiber.join(blocked))
      assert.strictEqual(error.reason._tag, "Write")
    }),
  )

  it.effect("fails send with Write after the server closed the socket", () =>
    Effect.gen(function* () {
      const server = yield* testWsServer()
      server.wss.on("connection", (socket) => socket.close(1011, "boom"))
      const connection = yield* connectWebSocket({ url: server.url })
      yield* Effect.exit(Stream.runDrain(connection.messages))
      const error = yield* Effect.flip(connection.send("late"))
      assert.strictEqual(error.reason._tag, "Write")
      assert.include(error.message, "1011")
      assert.isTrue(error.retryable)
    }),
  )
})

describe("RealtimeSocket.layer", () => {
  it("runs on a ManagedRuntime built from the layer alone", async () => {
    const { ManagedRuntime } = await import("effect")
    const runtime = ManagedRuntime.make(Layer.mergeAll(RealtimeSocket.layer))
    try {
      const texts = await runtime.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const server = yield* testWsServer()
            server.wss.on("connection", (socket) => {
              socket.send("hello")
              socket.close(1000)
            })
            const socketService = yield* RealtimeSocket
            const connection = yield* socketService.connect({ url: server.url })
            return yield* Stream.runCollect(connection.messages)
          }),
        ),
      )
      assert.deepStrictEqual(texts, ["hello"])
    } finally {
      await runtime.dispose()
    }
  })
})
