/**
 * A call resumed on a runner before its media is attached: the resumed session answers at once
 * the turn its checkpoint left unanswered, and the caller, attaching after that reply ended,
 * still gets it (the reply announced, the agent's audio, its transcript) after `call_attached`.
 * In-process: two call hosts (the dead runner, the new one), the simulator, real sockets.
 */
import { createServer, type Server } from "node:http"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { WebSocketServer } from "ws"
import { DEFAULT_RUNNER_AGENT } from "../../src/cli/runner.ts"
import type { CallCheckpoint } from "../../src/cluster/CallStore.ts"
import { type CallHost, createCallHost } from "../../src/cluster/callHost.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import { wordsIn } from "../../src/testing/index.ts"
import { noScrubbing } from "../../src/transport/scrub.ts"
import {
  agentReplies,
  connectCaller,
  finalTranscripts,
  type MediaCaller,
  userTextsOf,
} from "./mediaCaller.ts"

let sim: Simulator
const servers: { http: Server; wss: WebSocketServer }[] = []
const callers: MediaCaller[] = []
const hosts: CallHost[] = []

/** A call host with its media endpoint on 127.0.0.1, as a runner has. */
const hostWithMedia = async (saved: CallCheckpoint[]) => {
  const host = createCallHost({
    agent: DEFAULT_RUNNER_AGENT,
    env: { OPENAI_API_KEY: sim.apiKey ?? "", OPENAI_BASE_URL: sim.httpUrl },
    scrub: noScrubbing,
    save: async (checkpoint) => {
      saved.push(checkpoint)
    },
    remove: async () => {},
  })
  hosts.push(host)
  const http = createServer()
  const wss = new WebSocketServer({ server: http })
  wss.on("connection", (socket, request) => {
    const live = host.get(decodeURIComponent(request.url?.split("/").at(-1) ?? ""))
    if (live === undefined) socket.close(4404, "call not here")
    else live.attach(socket)
  })
  servers.push({ http, wss })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  const address = http.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return { host, url: (callId: string) => `ws://127.0.0.1:${port}/calls/${callId}` }
}

beforeAll(async () => {
  sim = await startSimulator({
    scenario: {
      transcripts: (request) => wordsIn(request.audio, 24_000).join(" ") || "(silence)",
      replies: (request) => ({ text: `Heard ${userTextsOf(request.input).join(", ")}.` }),
    },
  })
}, 60_000)

afterAll(async () => {
  await Promise.all(callers.map((c) => c.hangUp()))
  await Promise.all(hosts.map((h) => h.leaveAll()))
  for (const { http, wss } of servers) {
    wss.close()
    await new Promise((resolve) => http.close(resolve))
  }
  await sim?.close()
}, 60_000)

describe("a call resumed before its media is attached", () => {
  it("holds what the resumed call says until the caller attaches, then sends it", async () => {
    const callId = "call_detached_resume"
    const saved: CallCheckpoint[] = []
    const first = await hostWithMedia(saved)
    first.host.run(callId, undefined, undefined)
    const before = await connectCaller(first.url(callId))
    callers.push(before)
    await before.until((events) => events.some((e) => e.type === "call_attached"))
    // The caller's word is transcribed and checkpointed; its runner is gone before the reply.
    await before.speak("alpha")
    await before.until(() => finalTranscripts(before).length >= 1 && saved.length >= 1, 30_000)
    const checkpoint = saved[0] as CallCheckpoint
    await before.hangUp()
    await first.host.leaveAll()

    // The new runner resumes the call from that checkpoint with no media yet: it answers the
    // turn at once, into no connection, and the reply ends before the caller is back.
    const next = await hostWithMedia([])
    const live = next.host.run(callId, checkpoint, undefined)
    const deadline = Date.now() + 30_000
    let spoke = false
    while (Date.now() < deadline) {
      if (live.agentState() === "speaking") spoke = true
      if (spoke && live.agentState() === "idle") break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    assert.isTrue(spoke && live.agentState() === "idle", `agent ${live.agentState()}`)

    const after = await connectCaller(next.url(callId))
    callers.push(after)
    await after.until(() => agentReplies(after).length >= 1, 10_000)
    const types = after.events.map((e) => e.type)
    assert.strictEqual(types[0], "call_attached")
    assert.strictEqual(types[1], "call_resumed")
    assert.isAbove(types.indexOf("reply"), 1)
    assert.deepStrictEqual(agentReplies(after), ["Heard alpha."])
    assert.isAbove(after.audioBytes(), 24_000)
  }, 90_000)
})
