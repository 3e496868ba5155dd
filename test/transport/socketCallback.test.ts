import { assert, describe, it } from "@effect/vitest"
import { Effect, ManagedRuntime } from "effect"
import { openSocketCallback, RealtimeSocket, type TransportError } from "../../src/transport/index.ts"
import { closedPort, serverSawClose, testWsServer } from "./servers.ts"

/** Runs `body` with a RealtimeSocket runtime and a real ws server, disposing both afterwards. */
const withRuntime = <A>(
  body: (
    runtime: ManagedRuntime.ManagedRuntime<RealtimeSocket, never>,
    server: Effect.Success<ReturnType<typeof testWsServer>>,
  ) => Promise<A>,
): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* testWsServer()
        const runtime = ManagedRuntime.make(RealtimeSocket.layer)
        yield* Effect.addFinalizer(() => Effect.promise(() => runtime.dispose()))
        return yield* Effect.promise(() => body(runtime, server))
      }),
    ),
  )

const ended = () => {
  let resolve!: (error: TransportError | undefined) => void
  const promise = new Promise<TransportError | undefined>((r) => {
    resolve = r
  })
  return { promise, onEnd: (error?: TransportError) => resolve(error) }
}

describe("openSocketCallback", () => {
  it("writes frames sent before the handshake once it opens, in order, and reports replies", () =>
    withRuntime(async (runtime, server) => {
      server.wss.on("connection", (socket) => {
        socket.on("message", (data) => {
          socket.send(`echo:${String(data)}`)
          if (String(data) === "third") socket.close(1000)
        })
      })
      const received: Array<string> = []
      const events: Array<string> = []
      const end = ended()
      const handle = openSocketCallback(
        runtime,
        { url: server.url },
        {
          onOpen: () => events.push("open"),
          onMessage: (text) => received.push(text),
          onEnd: end.onEnd,
        },
      )
      handle.send("first")
      handle.send("second")
      handle.send("third")
      assert.isUndefined(await end.promise)
      assert.deepStrictEqual(events, ["open"])
      assert.deepStrictEqual(received, ["echo:first", "echo:second", "echo:third"])
    }))

  it("closes after the frames already queued and then ends normally", () =>
    withRuntime(async (runtime, server) => {
      const got: Array<string> = []
      const closeSeen = new Promise<{ code: number; reason: string }>((resolve) => {
        server.wss.on("connection", (socket) => {
          socket.on("message", (data) => got.push(String(data)))
          void Effect.runPromise(serverSawClose(socket)).then(resolve)
        })
      })
      const end = ended()
      const handle = openSocketCallback(
        runtime,
        { url: server.url },
        { onMessage: () => {}, onEnd: end.onEnd },
      )
      handle.send("a")
      handle.send("b")
      handle.close(4002, "done")
      handle.send("ignored after close")
      assert.isUndefined(await end.promise)
      assert.deepStrictEqual(await closeSeen, { code: 4002, reason: "done" })
      assert.deepStrictEqual(got, ["a", "b"])
    }))

  it("reports a retryable Close error when the server closes with 1011", () =>
    withRuntime(async (runtime, server) => {
      server.wss.on("connection", (socket) => socket.close(1011, "overloaded"))
      const end = ended()
      openSocketCallback(runtime, { url: server.url }, { onMessage: () => {}, onEnd: end.onEnd })
      const error = await end.promise
      assert.deepStrictEqual(error?.reason, { _tag: "Close", code: 1011, closeReason: "overloaded" })
      assert.isTrue(error?.retryable)
    }))

  it("reports an Open error when the connection cannot be opened, without calling onOpen", () =>
    withRuntime(async (runtime) => {
      const end = ended()
      let opened = false
      openSocketCallback(
        runtime,
        { url: `ws://127.0.0.1:${await Effect.runPromise(closedPort)}/v1` },
        { onOpen: () => (opened = true), onMessage: () => {}, onEnd: end.onEnd },
      )
      const error = await end.promise
      assert.strictEqual(error?.reason._tag, "Open")
      assert.isFalse(opened)
    }))

  it("dispose closes the socket with 1000 and silences every callback", () =>
    withRuntime(async (runtime, server) => {
      // Wrapped in an object: resolving with a bare promise would wait for that promise.
      const connected = new Promise<{ closed: Promise<{ code: number; reason: string }> }>((resolve) => {
        server.wss.on("connection", (socket) => {
          resolve({ closed: Effect.runPromise(serverSawClose(socket)) })
          socket.send("hello")
        })
      })
      let calls = 0
      let handle: ReturnType<typeof openSocketCallback> | undefined
      const firstMessage = new Promise<void>((resolve) => {
        handle = openSocketCallback(
          runtime,
          { url: server.url },
          {
            onMessage: () => {
              calls++
              resolve()
            },
            onEnd: () => calls++,
          },
        )
      })
      const { closed } = await connected
      await firstMessage
      handle!.dispose()
      handle!.dispose()
      assert.strictEqual((await closed).code, 1000)
      handle!.send("after dispose")
      assert.strictEqual(calls, 1)
      assert.strictEqual(handle!.bufferedAmount(), 0)
    }))
})
