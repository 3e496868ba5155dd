import { Effect, Stream } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { connectWebSocket } from "../../src/transport/index.ts"
import { type HostileServer, startHostileServer } from "../support/hostileServer.ts"

let server: HostileServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

describe("SocketConnection.deliver", () => {
  it("hands frames buffered before it first, in order, then each frame as it arrives; the stream still ends", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        c.send({ n: 1 })
        c.send({ n: 2 })
        // Later frames, after the client has started its direct delivery.
        setTimeout(() => {
          c.send({ n: 3 })
          c.send({ n: 4 })
          c.socket.close(1000)
        }, 100)
      },
    })
    const url = `${server.url}/realtime`
    const seen = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const connection = yield* connectWebSocket({ url })
          // Let the first frames reach the connection's buffer before anyone reads.
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
          const texts: string[] = []
          connection.deliver?.((text) => texts.push(text))
          const afterDeliver = texts.length
          const streamed: string[] = []
          yield* Stream.runForEach(connection.messages, (text) => Effect.sync(() => streamed.push(text)))
          return { texts, afterDeliver, streamed }
        }),
      ),
    )
    expect(seen.afterDeliver).toBe(2)
    expect(seen.texts.map((t) => (JSON.parse(t) as { n: number }).n)).toEqual([1, 2, 3, 4])
    // The stream carries no frame any more: it only ended (normally, on 1000).
    expect(seen.streamed).toEqual([])
  })
})
