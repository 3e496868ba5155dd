/**
 * The Stately adapter against a real WebSocket server on 127.0.0.1 standing in for the
 * Stately Inspector: it receives the actor registration (with a definition Stately imports),
 * events and snapshots, redacted; with nothing listening the forwarder gives up after its
 * attempts; in neither case does it keep the process alive.
 */
import { spawn } from "node:child_process"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { WebSocketServer } from "ws"
import { assign, createActor, createMachine } from "xstate"
import { createStatelyForwarder } from "../../src/inspect/index.ts"

const WAIT_MS = 10_000
const CHILD = join(import.meta.dirname, "fixtures/statelyProcess.ts")

const until = async (check: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + WAIT_MS
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const startReceiver = async () => {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" })
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()))
  const messages: Record<string, unknown>[] = []
  wss.on("connection", (socket) =>
    socket.on("message", (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>)),
  )
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
  const close = () =>
    new Promise<void>((r) => {
      for (const client of wss.clients) client.terminate()
      wss.close(() => r())
    })
  return { wss, messages, url, close }
}

/** A port with nothing listening: one a server had, closed again. */
const deadPort = async (): Promise<number> => {
  const r = await startReceiver()
  const port = (r.wss.address() as AddressInfo).port
  await r.close()
  return port
}

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c()
})

describe("createStatelyForwarder", () => {
  it("forwards the actor, its events and snapshots in Stately's messages, redacted", async () => {
    const receiver = await startReceiver()
    closers.push(receiver.close)
    const forwarder = createStatelyForwarder({ url: receiver.url })
    closers.push(forwarder.close)
    const machine = createMachine({
      id: "door",
      initial: "shut",
      context: { apiKey: "sk-door-secret-123", transcript: "" },
      states: {
        shut: { on: { OPEN: { target: "open", guard: "unlocked" } } },
        open: {
          on: {
            SAY: {
              actions: assign({ transcript: ({ event }) => (event as unknown as { text: string }).text }),
            },
          },
        },
      },
    }).provide({ guards: { unlocked: () => true } })
    const actor = createActor(machine, { inspect: forwarder.inspect }).start()
    actor.send({ type: "OPEN" })
    actor.send({ type: "SAY", text: "a private sentence" } as never)
    await until(() => receiver.messages.filter((m) => m.type === "@xstate.snapshot").length >= 3, "snapshots")
    expect(forwarder.status).toBe("open")

    const registration = receiver.messages.find(
      (m) => m.type === "@xstate.actor" && m.sessionId === actor.sessionId,
    )
    expect(registration?.name).toBe("door")
    expect(registration?.rootId).toBe(actor.sessionId)
    const definition = JSON.parse(String(registration?.definition)) as {
      id: string
      initial: string
      states: Record<string, { on?: Record<string, { target?: string; guard?: string }[]> }>
    }
    expect(definition.id).toBe("door")
    expect(definition.initial).toBe("shut")
    expect(definition.states.shut?.on?.OPEN?.[0]).toEqual({ target: "#door.open", guard: "unlocked" })

    const events = receiver.messages
      .filter((m) => m.type === "@xstate.event")
      .map((m) => (m.event as { type: string }).type)
    expect(events).toEqual(expect.arrayContaining(["OPEN", "SAY"]))
    const last = receiver.messages.filter((m) => m.type === "@xstate.snapshot").at(-1) as {
      snapshot: { value: unknown; status: string; context: Record<string, unknown> }
      _version: string
      createdAt: string
    }
    expect(last.snapshot.value).toBe("open")
    expect(last.snapshot.status).toBe("active")
    expect(typeof last._version).toBe("string")
    expect(Number(last.createdAt)).toBeGreaterThan(0)
    const all = JSON.stringify(receiver.messages)
    expect(all).not.toContain("sk-door-secret")
    expect(all).not.toContain("a private sentence")
    actor.stop()
  })

  it("gives up after its attempts when nothing listens, and drops what it could not send", async () => {
    const port = await deadPort()
    const forwarder = createStatelyForwarder({
      url: `ws://127.0.0.1:${port}`,
      maxAttempts: 2,
      retryDelayMs: 20,
    })
    closers.push(forwarder.close)
    const actor = createActor(createMachine({ id: "idle" }), { inspect: forwarder.inspect }).start()
    await until(() => forwarder.status === "gave-up", "giving up")
    expect(forwarder.dropped).toBeGreaterThan(0)
    actor.stop()
  })

  for (const target of ["a live inspector", "nothing listening"] as const) {
    it(`never keeps the process alive (${target})`, async () => {
      let url: string
      let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined
      if (target === "a live inspector") {
        receiver = await startReceiver()
        closers.push(receiver.close)
        url = receiver.url
      } else {
        url = `ws://127.0.0.1:${await deadPort()}`
      }
      const child = spawn(process.execPath, [CHILD, url], { stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      child.stdout.setEncoding("utf8").on("data", (c: string) => {
        stdout += c
      })
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
      try {
        const code = await Promise.race([
          exited,
          new Promise((r) => setTimeout(() => r("still running"), WAIT_MS)),
        ])
        expect(code).toBe(0)
        expect(stdout).toContain(target === "a live inspector" ? "sent open" : "sent")
        if (receiver !== undefined)
          expect(receiver.messages.some((m) => m.type === "@xstate.snapshot")).toBe(true)
      } finally {
        child.kill()
      }
    }, 30_000)
  }
})
