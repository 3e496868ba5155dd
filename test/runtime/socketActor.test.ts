import { Context } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { type AnyEventObject, assign, createActor, setup } from "xstate"
import { makeSessionRuntime } from "../../src/runtime/SessionRuntime.ts"
import { makeSocketActor } from "../../src/runtime/socketActor.ts"
import { RealtimeSocket } from "../../src/transport/index.ts"
import { type HostileServer, startHostileServer } from "../support/hostileServer.ts"

let server: HostileServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

const waitFor = async (check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe("makeSocketActor", () => {
  it("ends the connection as a reported, retryable socket_defect when its handling throws", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        c.send({ type: "fine" })
        c.send({ type: "poison" })
        c.send({ type: "after" })
      },
    })
    const url = `${server.url}/realtime`
    const runtime = makeSessionRuntime(Context.make(RealtimeSocket, RealtimeSocket.live))
    const socket = makeSocketActor<RealtimeSocket, { type: "noop" }>({
      runtime,
      connect: () => RealtimeSocket.use((s) => s.connect({ url })),
      decode: (text, atMs) => {
        const frame = JSON.parse(text) as { type: string }
        // A bug in a decoder (not a ProtocolError): it must not kill the connection silently.
        if (frame.type === "poison") throw new RangeError("Maximum call stack size exceeded")
        return [{ type: `SERVER.${frame.type}`, atMs }]
      },
      open: () => ({ receive: () => undefined, dispose: () => undefined }),
    })
    const parent = setup({
      types: { context: {} as { events: AnyEventObject[] }, events: {} as AnyEventObject },
      actors: { socket },
    }).createMachine({
      context: { events: [] },
      invoke: { src: "socket", input: { connection: 1 } },
      on: { "*": { actions: assign({ events: ({ context, event }) => [...context.events, event] }) } },
    })
    const actor = createActor(parent).start()
    const events = () => actor.getSnapshot().context.events
    await waitFor(() => events().some((e) => e.type === "SOCKET.FAILED"), "SOCKET.FAILED")
    const failed = events().find((e) => e.type === "SOCKET.FAILED")
    expect(failed?.failure).toMatchObject({ code: "socket_defect", retryable: true })
    expect(failed?.failure.message).toContain("RangeError")
    expect(events().map((e) => e.type)).toEqual(["SOCKET.OPEN", "SERVER.fine", "SOCKET.FAILED"])
    // The connection is closed, not left open behind a dead reader.
    await waitFor(() => server?.connections[0]?.socket.readyState === 3, "the server side to close")
    actor.stop()
    await runtime.shutdown()
  })
})
