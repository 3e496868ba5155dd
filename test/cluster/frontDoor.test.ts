/**
 * The front door on real sockets, with small media endpoints standing in for runners: frames
 * piped both ways, a redirect, an unknown call refused, and a call that moves (its runner's
 * socket closes 1012) re-attached on the next runner with the caller's frames of the gap
 * delivered there.
 */
import { createServer } from "node:http"
import { afterEach, assert, describe, it } from "vitest"
import WebSocket, { WebSocketServer } from "ws"
import { ClusterError } from "../../src/cluster/ClusterError.ts"
import type { ClusterClient } from "../../src/cluster/client.ts"
import { type FrontDoor, startFrontDoor } from "../../src/cluster/frontDoor.ts"
import type { CallStatus } from "../../src/cluster/VoiceCall.ts"
import { settledHandles } from "../../src/testing/index.ts"
import { connectCaller } from "./mediaCaller.ts"

/**
 * A media endpoint numbering frames as a runner does: it attaches at `audioFrames()`, records
 * every message (texts parsed), and `checkpoint(n)` tells the front door frames before n are held.
 */
const startNumberedEndpoint = async (audioFrames: () => number) => {
  const http = createServer()
  const wss = new WebSocketServer({ server: http })
  const received: ({ text: Record<string, unknown> } | { frame: number })[] = []
  wss.on("connection", (socket) => {
    socket.send(JSON.stringify({ type: "call_attached", audioFrames: audioFrames() }))
    socket.on("message", (data: Buffer, binary: boolean) => {
      received.push(binary ? { frame: data.readInt16LE(0) } : { text: JSON.parse(String(data)) })
    })
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", () => resolve()))
  const address = http.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    url: `ws://127.0.0.1:${port}`,
    received,
    checkpoint: (n: number) => {
      for (const c of wss.clients) c.send(JSON.stringify({ type: "checkpoint", audioFrames: n }))
    },
    kill: () => {
      for (const c of wss.clients) c.terminate()
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate()
        wss.close()
        http.close(() => resolve())
      }),
  }
}

/** A media endpoint that says it attached, then echoes binary frames and counts them. */
const startMediaEndpoint = async () => {
  const http = createServer()
  const wss = new WebSocketServer({ server: http })
  const received: Buffer[] = []
  wss.on("connection", (socket, request) => {
    socket.send(JSON.stringify({ type: "call_attached", path: request.url }))
    socket.on("message", (data: Buffer, binary: boolean) => {
      if (!binary) return
      received.push(data)
      socket.send(data, { binary: true })
    })
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", () => resolve()))
  const address = http.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    url: `ws://127.0.0.1:${port}`,
    received,
    /** Closes every media connection as a drained runner does. */
    moveAway: () => {
      for (const c of wss.clients) c.close(1012, "call moving")
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate()
        wss.close()
        http.close(() => resolve())
      }),
  }
}

const statusAt = (callId: string, mediaUrl: string): CallStatus => ({
  callId,
  runner: mediaUrl,
  mediaUrl: `${mediaUrl}/calls/${callId}`,
  turns: 0,
  resumes: 0,
  mediaAttached: false,
  agent: "idle",
})

/** Where calls live, as the cluster would answer; `ended` records the hang-ups. */
const directory = (where: () => string | undefined) => {
  const ended: string[] = []
  const client = {
    status: async (callId: string) => {
      const url = where()
      if (url === undefined) throw new ClusterError({ reason: "CallNotFound", message: `no ${callId}` })
      return statusAt(callId, url)
    },
    end: async (callId: string) => {
      ended.push(callId)
    },
  } as unknown as ClusterClient
  return { client, ended }
}

const doors: FrontDoor[] = []
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const d of doors.splice(0)) await d.close()
  for (const c of closers.splice(0)) await c()
})

const frame = (n: number) => Buffer.from(new Int16Array(480).fill(n).buffer)

describe("the front door", () => {
  it("pipes a call's frames both ways to the runner that owns it, and ends the call on hang-up", async () => {
    const baseline = await settledHandles()
    const runner = await startMediaEndpoint()
    closers.push(runner.close)
    const { client, ended } = directory(() => runner.url)
    const door = await startFrontDoor({ client })
    const caller = await connectCaller(`${door.url}/calls/call_a`)
    await caller.until((events) => events.some((e) => e.type === "call_attached"))
    assert.strictEqual(caller.events[0]?.path, "/calls/call_a")
    await caller.speak("alpha")
    await caller.until(() => caller.audioBytes() >= runner.received.reduce((n, b) => n + b.byteLength, 0))
    assert.isAbove(runner.received.length, 50)
    await caller.hangUp()
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepStrictEqual(ended, ["call_a"])
    await door.close()
    await runner.close()
    closers.length = 0
    doors.length = 0
    const now = await settledHandles()
    assert.isAtMost(now.sockets, baseline.sockets)
  })

  it("answers a redirect with the runner's media URL", async () => {
    const runner = await startMediaEndpoint()
    closers.push(runner.close)
    const door = await startFrontDoor({ client: directory(() => runner.url).client, mode: "redirect" })
    doors.push(door)
    const ws = new WebSocket(`${door.url}/calls/call_b`, { followRedirects: true })
    const first = await new Promise<string>((resolve, reject) => {
      ws.once("message", (data) => resolve(String(data)))
      ws.once("error", reject)
    })
    assert.include(first, "/calls/call_b")
    assert.strictEqual(ws.url, `${runner.url}/calls/call_b`)
    ws.terminate()
  })

  it("closes a caller of an unknown call with 4404", async () => {
    const door = await startFrontDoor({ client: directory(() => undefined).client })
    doors.push(door)
    const caller = await connectCaller(`${door.url}/calls/nobody`)
    await caller.until(() => caller.closed() !== undefined, 5000)
    assert.strictEqual(caller.closed()?.code, 4404)
  })

  it("re-attaches a moved call on its new runner with the frames of the gap", async () => {
    const first = await startMediaEndpoint()
    const second = await startMediaEndpoint()
    closers.push(first.close, second.close)
    let owner: string | undefined = first.url
    const door = await startFrontDoor({ client: directory(() => owner).client })
    doors.push(door)
    const caller = await connectCaller(`${door.url}/calls/call_c`)
    await caller.until((events) => events.some((e) => e.type === "call_attached"))
    // The call is between runners: the status is not answered until it resumes.
    owner = undefined
    first.moveAway()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const sent = [frame(1), frame(2), frame(3)]
    await caller.sendRaw(sent)
    owner = second.url
    await caller.until((events) => events.some((e) => e.type === "reattached"), 10_000)
    await caller.until(() => second.received.length >= 3, 5000)
    assert.deepStrictEqual(second.received.slice(0, 3), sent)
    assert.strictEqual(door.stats().reattached, 1)
    assert.isNumber(caller.events.find((e) => e.type === "reattached")?.gapMs)
  })

  it("replays to the next runner the caller's frames its checkpoint does not hold, at their rate", async () => {
    const first = await startNumberedEndpoint(() => 100)
    // The call resumes from a checkpoint holding frames up to 104.
    const second = await startNumberedEndpoint(() => 104)
    closers.push(first.close, second.close)
    let owner: string | undefined = first.url
    const door = await startFrontDoor({ client: directory(() => owner).client })
    doors.push(door)
    const caller = await connectCaller(`${door.url}/calls/call_d`)
    await caller.until((events) => events.some((e) => e.type === "call_attached"))
    // Frames 100..102 at 24 kHz, then 16 kHz declared, 103..107.
    await caller.sendRaw([frame(0), frame(1), frame(2)])
    await new Promise((resolve) => setTimeout(resolve, 50))
    caller.sendText(JSON.stringify({ type: "format", sampleRateHz: 16_000 }))
    await caller.sendRaw([frame(3), frame(4), frame(5), frame(6), frame(7)])
    await caller.until(() => first.received.length >= 9, 5000)
    first.checkpoint(102)
    await new Promise((resolve) => setTimeout(resolve, 50))
    owner = undefined
    first.kill()
    await new Promise((resolve) => setTimeout(resolve, 100))
    // Said during the gap: 108, 109, and a line.
    await caller.sendRaw([frame(8), frame(9)])
    caller.sendText(JSON.stringify({ type: "say", text: "hello" }))
    owner = second.url
    await caller.until((events) => events.some((e) => e.type === "reattached"), 10_000)
    await caller.until(() => second.received.length >= 9, 5000)
    assert.deepStrictEqual(second.received, [
      { text: { type: "audio_from", frame: 104 } },
      { text: { type: "format", sampleRateHz: 16_000 } },
      { frame: 4 },
      { frame: 5 },
      { frame: 6 },
      { frame: 7 },
      { frame: 8 },
      { frame: 9 },
      { text: { type: "say", text: "hello" } },
    ])
    // The lost runner's reply audio not played yet is dropped: `clear` before the re-attachment.
    const types = caller.events.map((e) => e.type)
    assert.isBelow(types.indexOf("clear"), types.indexOf("reattached"))
    assert.isAtLeast(types.indexOf("clear"), 0)
    const moved = caller.events.find((e) => e.type === "reattached")
    assert.strictEqual(moved?.replayedFrames, 6)
    assert.strictEqual(moved?.lostFrames, 0)
    assert.deepInclude(door.stats(), { reattached: 1, replayedFrames: 6, lostFrames: 0, droppedFrames: 0 })
  })
})
