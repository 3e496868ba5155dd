/**
 * One media protocol: the same client, written against serveAgent's wire only, talks to a
 * single-process `serveAgent` and to a cluster's front door (a runner process behind it, on
 * PostgreSQL and the simulator): it declares 16 kHz, speaks, hears the reply announced and
 * its audio at its rate, has a line said, is refused an odd frame, ends the call.
 */
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import WebSocket from "ws"
import { type AgentServer, serveAgent } from "../../src/agent/index.ts"
import { DEFAULT_RUNNER_AGENT } from "../../src/cli/runner.ts"
import {
  type LocalCluster,
  type LocalPostgres,
  startLocalCluster,
  startLocalPostgres,
} from "../../src/cluster/index.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import { speech, WORDS, wordsIn } from "../../src/testing/index.ts"
import { userTextsOf } from "./mediaCaller.ts"

const RATE_HZ = 16_000
const FRAME_SAMPLES = RATE_HZ / 50

interface Message {
  readonly type: string
  readonly [key: string]: unknown
}

const toneOf = (word: string): number => {
  for (const [hz, name] of Object.entries(WORDS)) if (name === word) return Number(hz)
  throw new Error(`no tone word ${word}`)
}

/** What a serveAgent client sees of one call, whoever serves it. */
interface CallSeen {
  readonly started: Message | undefined
  readonly finals: readonly unknown[]
  readonly heard: readonly unknown[]
  readonly repliesAnnounced: number
  readonly audioBytes: number
  readonly audioEven: boolean
  readonly refusal: unknown
  readonly closeCode: number
}

/** The client: serveAgent's protocol, nothing of the cluster. */
const runCall = async (url: string): Promise<CallSeen> => {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  const messages: Message[] = []
  let audioBytes = 0
  let audioEven = true
  let audioBeforeReply = false
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)))
  ws.on("message", (data: Buffer, binary: boolean) => {
    if (binary) {
      audioBytes += data.byteLength
      if (data.byteLength % 2 !== 0) audioEven = false
      if (!messages.some((m) => m.type === "reply")) audioBeforeReply = true
    } else messages.push(JSON.parse(String(data)) as Message)
  })
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve())
    ws.once("error", reject)
  })
  const until = async (predicate: () => boolean, what: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(`${url}: no ${what}; messages: ${JSON.stringify(messages).slice(0, 600)}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  const send = (message: unknown) => ws.send(JSON.stringify(message))
  const heard = () => messages.filter((m) => m.type === "agent_transcript").map((m) => m.text)

  send({ type: "start", sampleRateHz: RATE_HZ })
  await until(() => messages.some((m) => m.type === "started"), "started")
  const samples = speech(
    [{ silenceMs: 200 }, { word: toneOf("alpha"), ms: 400 }, { silenceMs: 1000 }],
    RATE_HZ,
  )
  const began = Date.now()
  for (let i = 0, at = 0; at < samples.length; i++, at += FRAME_SAMPLES) {
    ws.send(Buffer.from(samples.slice(at, at + FRAME_SAMPLES).buffer))
    const wait = began + (i + 1) * 20 - Date.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  }
  await until(() => heard().length >= 1, "reply")
  send({ type: "played", reply: 1, ms: 10_000 })
  send({ type: "say", text: "One moment please." })
  await until(() => heard().includes("One moment please."), "said line")
  ws.send(Buffer.alloc(3))
  await until(() => messages.some((m) => m.type === "error"), "refusal")
  send({ type: "end" })
  const closeCode = await closed
  assert.isFalse(audioBeforeReply, `${url}: audio came before its reply was announced`)
  return {
    started: messages.find((m) => m.type === "started"),
    finals: messages.filter((m) => m.type === "user_transcript" && m.final === true).map((m) => m.text),
    heard: heard(),
    repliesAnnounced: messages.filter((m) => m.type === "reply").length,
    audioBytes,
    audioEven,
    refusal: (messages.find((m) => m.type === "error")?.error as { code?: unknown } | undefined)?.code,
    closeCode,
  }
}

let postgres: LocalPostgres
let sim: Simulator
let cluster: LocalCluster
let server: AgentServer

beforeAll(async () => {
  postgres = await startLocalPostgres()
  sim = await startSimulator({
    scenario: {
      transcripts: (request) => wordsIn(request.audio, 24_000).join(" ") || "(silence)",
      replies: (request) => ({ text: `Heard ${userTextsOf(request.input).join(", ")}.` }),
    },
  })
  const env = { OPENAI_API_KEY: sim.apiKey ?? "", OPENAI_BASE_URL: sim.httpUrl }
  server = await serveAgent({ agent: DEFAULT_RUNNER_AGENT, env })
  cluster = await startLocalCluster({ runners: 1, databaseUrl: postgres.url, env })
}, 120_000)

afterAll(async () => {
  await server?.close()
  await cluster?.stop()
  await sim?.close()
  await postgres?.stop()
}, 120_000)

describe("one media protocol", () => {
  it("one client talks alike to serveAgent and to the cluster's front door", async () => {
    const single = await runCall(`${server.url}/`)
    const placed = await cluster.client.place()
    const clustered = await runCall(`${cluster.frontDoor.url}/calls/${placed.callId}`)
    for (const seen of [single, clustered]) {
      assert.deepInclude(seen.started, { sampleRateHz: RATE_HZ, channels: 1 })
      assert.deepStrictEqual(seen.finals, ["alpha"])
      assert.deepStrictEqual(seen.heard, ["Heard alpha.", "One moment please."])
      assert.strictEqual(seen.repliesAnnounced, 2)
      assert.isTrue(seen.audioEven)
      assert.strictEqual(seen.refusal, "invalid_audio")
      assert.strictEqual(seen.closeCode, 1000)
    }
    // The agent's voice at the declared rate: about as many bytes from either.
    assert.isAbove(single.audioBytes, 0)
    const ratio = clustered.audioBytes / single.audioBytes
    assert.isAbove(ratio, 0.8, JSON.stringify([single.audioBytes, clustered.audioBytes]))
    assert.isBelow(ratio, 1.25, JSON.stringify([single.audioBytes, clustered.audioBytes]))
    // The call is over on the cluster too.
    assert.deepStrictEqual(await cluster.client.calls(), [])
  }, 120_000)
})
