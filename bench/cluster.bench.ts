/**
 * `npm run bench cluster`: calls on runner processes, and the front door's hand-off.
 *
 * 1. Calls on 1 and then 2 runner processes (a throwaway PostgreSQL, the simulator in this
 *    process): `calls=N` (default 6) callers each speak a turn through the front door at the
 *    same time; printed per cluster: the event-loop utilization each runner reports over the
 *    turns, and the time from the end of a caller's speech to the reply's transcript (p50,
 *    p99). The 2-runner figures are ratios against the 1-runner run of the same work.
 * 2. The front door's cost per frame: a 20 ms frame (960 bytes) sent to a media endpoint that
 *    echoes it, directly and through the front door (proxy), round trip p50/p99 over
 *    `frames=N` (default 2000) frames, the proxy as a ratio against direct and the added
 *    one-way latency; and the connection set-up of a redirect against a direct connect.
 */
import { createServer } from "node:http"
import WebSocket, { WebSocketServer } from "ws"
import type { ClusterClient } from "../src/cluster/client.ts"
import { startFrontDoor } from "../src/cluster/frontDoor.ts"
import { startLocalCluster } from "../src/cluster/localCluster.ts"
import { startLocalPostgres } from "../src/cluster/localPostgres.ts"
import { startSimulator } from "../src/simulator/index.ts"
import { wordsIn } from "../src/testing/index.ts"
import { connectCaller, userTextsOf } from "../test/cluster/mediaCaller.ts"
import { argOf, fixed, quantile } from "./support.ts"

const callsPerRun = Number(argOf("calls") ?? 6)
const frames = Number(argOf("frames") ?? 2000)

interface RunFigures {
  readonly runners: number
  readonly elu: readonly number[]
  readonly p50Ms: number
  readonly p99Ms: number
}

const runCalls = async (runners: number): Promise<RunFigures> => {
  const postgres = await startLocalPostgres()
  const sim = await startSimulator({
    scenario: {
      transcripts: (request) => wordsIn(request.audio, 24_000).join(" ") || "(silence)",
      replies: (request) => ({ text: `Heard ${userTextsOf(request.input).join(", ")}.` }),
    },
  })
  const cluster = await startLocalCluster({
    runners,
    budget: callsPerRun,
    databaseUrl: postgres.url,
    env: { OPENAI_API_KEY: sim.apiKey ?? "", OPENAI_BASE_URL: sim.httpUrl },
  })
  try {
    // Shards settled: every shard owned, each runner its share.
    for (;;) {
      const loads = await cluster.client.runners()
      if (loads.length === runners && loads.every((r) => r.shards.length === 60 / runners)) break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const placed = []
    for (let i = 0; i < callsPerRun; i++) placed.push(await cluster.client.place())
    const callers = await Promise.all(
      placed.map((s) => connectCaller(`${cluster.frontDoor.url}/calls/${s.callId}`)),
    )
    await Promise.all(callers.map((c) => c.until((events) => events.some((e) => e.type === "call_attached"))))
    await new Promise((resolve) => setTimeout(resolve, 1000))
    // Each runner reports its event-loop utilization over every 500 ms: sample them during the turns.
    const samples = new Map<string, number[]>()
    let sampling = true
    const sampler = (async () => {
      let last = Date.now()
      while (sampling) {
        await new Promise((resolve) => setTimeout(resolve, 250))
        for (const r of await cluster.client.runners())
          if (r.seenAtMs > last) samples.set(r.address, [...(samples.get(r.address) ?? []), r.elu])
        last = Date.now() - 250
      }
    })()
    const latencies = await Promise.all(
      callers.map(async (caller) => {
        await caller.speak("alpha")
        const spokeAt = Date.now()
        await caller.until((events) => events.some((e) => e.type === "agent_transcript"), 60_000)
        return Date.now() - spokeAt
      }),
    )
    sampling = false
    await sampler
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
    const elu = [...samples.values()].map(mean)
    await Promise.all(placed.map((s) => cluster.client.end(s.callId)))
    await Promise.all(callers.map((c) => c.hangUp()))
    const sorted = [...latencies].sort((a, b) => a - b)
    return {
      runners,
      elu,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
    }
  } finally {
    await cluster.stop()
    await sim.close()
    await postgres.stop()
  }
}

/** A media endpoint that says it attached, then echoes every frame. */
const startEcho = async () => {
  const http = createServer()
  const wss = new WebSocketServer({ server: http })
  wss.on("connection", (socket) => {
    socket.send(JSON.stringify({ type: "call_attached" }))
    socket.on("message", (data: Buffer, binary: boolean) => socket.send(data, { binary }))
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", () => resolve()))
  const address = http.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate()
        wss.close()
        http.close(() => resolve())
      }),
  }
}

const open = (url: string, options: WebSocket.ClientOptions = {}) =>
  new Promise<{ ws: WebSocket; attachedMs: number }>((resolve, reject) => {
    const started = performance.now()
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options })
    ws.once("message", () => resolve({ ws, attachedMs: performance.now() - started }))
    ws.once("error", reject)
  })

const roundTrips = async (ws: WebSocket, count: number): Promise<number[]> => {
  const frame = Buffer.alloc(960)
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const sent = performance.now()
    await new Promise<void>((resolve) => {
      ws.once("message", () => resolve())
      ws.send(frame, { binary: true })
    })
    times.push(performance.now() - sent)
  }
  return times.sort((a, b) => a - b)
}

const handOff = async () => {
  const echo = await startEcho()
  // The front door asks the cluster where a call lives; here every call lives at the echo.
  const where = {
    status: async (callId: string) => ({
      callId,
      runner: "echo",
      mediaUrl: `${echo.url}/calls/${callId}`,
      turns: 0,
      resumes: 0,
      mediaAttached: false,
      agent: "idle",
    }),
    end: async () => {},
  } as unknown as ClusterClient
  const proxy = await startFrontDoor({ client: where, endOnHangUp: false })
  const redirect = await startFrontDoor({ client: where, mode: "redirect", endOnHangUp: false })
  try {
    const connects = { direct: [] as number[], proxy: [] as number[], redirect: [] as number[] }
    for (let i = 0; i < 50; i++) {
      for (const [name, url, options] of [
        ["direct", `${echo.url}/calls/c${i}`, {}],
        ["proxy", `${proxy.url}/calls/c${i}`, {}],
        ["redirect", `${redirect.url}/calls/c${i}`, { followRedirects: true }],
      ] as const) {
        const { ws, attachedMs } = await open(url, options)
        connects[name].push(attachedMs)
        ws.terminate()
      }
    }
    const direct = await open(`${echo.url}/calls/rtt`)
    const viaProxy = await open(`${proxy.url}/calls/rtt`)
    await roundTrips(direct.ws, 200)
    await roundTrips(viaProxy.ws, 200)
    const d = await roundTrips(direct.ws, frames)
    const p = await roundTrips(viaProxy.ws, frames)
    direct.ws.terminate()
    viaProxy.ws.terminate()
    const median = (xs: number[]) =>
      quantile(
        [...xs].sort((a, b) => a - b),
        0.5,
      )
    console.log(`front door, ${frames} frames of 960 bytes, round trip to an echoing media endpoint:`)
    console.log(`  direct  p50 ${fixed(quantile(d, 0.5), 3)} ms  p99 ${fixed(quantile(d, 0.99), 3)} ms`)
    console.log(
      `  proxy   p50 ${fixed(quantile(p, 0.5), 3)} ms  p99 ${fixed(quantile(p, 0.99), 3)} ms  ` +
        `(${fixed(quantile(p, 0.5) / quantile(d, 0.5), 2)}x direct; +${fixed((quantile(p, 0.5) - quantile(d, 0.5)) / 2, 3)} ms one way)`,
    )
    console.log("connection to first message, p50 of 50:")
    console.log(`  direct   ${fixed(median(connects.direct), 2)} ms`)
    console.log(
      `  proxy    ${fixed(median(connects.proxy), 2)} ms (${fixed(median(connects.proxy) / median(connects.direct), 2)}x)`,
    )
    console.log(
      `  redirect ${fixed(median(connects.redirect), 2)} ms (${fixed(median(connects.redirect) / median(connects.direct), 2)}x)`,
    )
  } finally {
    await proxy.close()
    await redirect.close()
    await echo.close()
  }
}

export default async (): Promise<void> => {
  await handOff()
  const one = await runCalls(1)
  const two = await runCalls(2)
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  console.log(`${callsPerRun} calls speaking one turn at once (simulator in this process):`)
  for (const run of [one, two]) {
    console.log(
      `  ${run.runners} runner(s): ELU per runner ${run.elu.map((e) => fixed(e, 2)).join(", ")}; ` +
        `end of speech to reply transcript p50 ${fixed(run.p50Ms, 0)} ms p99 ${fixed(run.p99Ms, 0)} ms`,
    )
  }
  console.log(
    `  2 runners vs 1: ELU per runner ${fixed(mean(two.elu) / mean(one.elu), 2)}x, ` +
      `reply p50 ${fixed(two.p50Ms / one.p50Ms, 2)}x`,
  )
}
