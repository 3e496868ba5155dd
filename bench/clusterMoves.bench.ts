/**
 * `npm run bench cluster` (or `clusterMoves`): what a caller hears when its call moves, and
 * what keeping its audio for the move costs.
 *
 * 1. The replay window's cost per frame: 20 ms frames (960 bytes) through the front door
 *    (proxy) to an echoing media endpoint that acknowledges a checkpoint every 250 frames
 *    (5 s), with the window (the default) and without it (`keepCallerAudio: false`),
 *    alternated in rounds: round trip p50 and the process's CPU time per frame, the window
 *    as ratios against without.
 *    `part=window` runs this part alone.
 * 2. Moves on a local cluster (2 runner processes, a throwaway PostgreSQL, the simulator in
 *    this process), `movecalls=N` calls (default 4): one runner killed (SIGKILL) as its
 *    callers finish a word, then, on a third runner started for them, a drain. Printed: the
 *    gap each caller's media had (`reattached.gapMs`), the frames replayed and lost, and the
 *    time from the end of the word said at the kill to its reply, against a turn of the same
 *    calls before (a ratio). `part=moves` runs this part alone.
 */
import { createServer } from "node:http"
import WebSocket, { WebSocketServer } from "ws"
import type { ClusterClient } from "../src/cluster/client.ts"
import { startFrontDoor } from "../src/cluster/frontDoor.ts"
import { startLocalCluster } from "../src/cluster/localCluster.ts"
import { startLocalPostgres } from "../src/cluster/localPostgres.ts"
import { createReplayWindow } from "../src/cluster/replayWindow.ts"
import { startSimulator } from "../src/simulator/index.ts"
import { wordsIn } from "../src/testing/index.ts"
import { connectCaller, type MediaCaller, userTextsOf } from "../test/cluster/mediaCaller.ts"
import { argOf, fixed, quantile } from "./support.ts"

const frames = Number(argOf("frames") ?? 2000)
const moveCalls = Number(argOf("movecalls") ?? 4)

/** A media endpoint that attaches at 0, echoes frames, and acknowledges every `ackEvery`. */
const startAckingEcho = async (ackEvery: number) => {
  const http = createServer()
  const wss = new WebSocketServer({ server: http })
  wss.on("connection", (socket) => {
    let count = 0
    socket.send(JSON.stringify({ type: "call_attached", audioFrames: 0 }))
    socket.on("message", (data: Buffer, binary: boolean) => {
      if (!binary) return
      count += 1
      if (count % ackEvery === 0) socket.send(JSON.stringify({ type: "checkpoint", audioFrames: count }))
      socket.send(data, { binary })
    })
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

/** Opens `url` and waits for its first message (`call_attached`). */
const open = (url: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    ws.once("message", () => resolve(ws))
    ws.once("error", reject)
  })

/** `count` frames one at a time (the next once the echo is back; text messages ignored). */
const roundTrips = async (ws: WebSocket, count: number) => {
  const frame = Buffer.alloc(960)
  const times: number[] = []
  const cpu = process.cpuUsage()
  for (let i = 0; i < count; i++) {
    const sent = performance.now()
    await new Promise<void>((resolve) => {
      const echoed = (_data: unknown, binary: boolean) => {
        if (!binary) return
        ws.off("message", echoed)
        resolve()
      }
      ws.on("message", echoed)
      ws.send(frame, { binary: true })
    })
    times.push(performance.now() - sent)
  }
  const used = process.cpuUsage(cpu)
  return { times, cpuUsPerFrame: (used.user + used.system) / count }
}

const windowCost = async () => {
  const echo = await startAckingEcho(250)
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
  const kept = await startFrontDoor({ client: where, endOnHangUp: false })
  const bare = await startFrontDoor({ client: where, endOnHangUp: false, keepCallerAudio: false })
  try {
    const withWindow = await open(`${kept.url}/calls/kept`)
    const without = await open(`${bare.url}/calls/bare`)
    await roundTrips(withWindow, 200)
    await roundTrips(without, 200)
    const rounds = 10
    const figures = { kept: { times: [] as number[], cpu: 0 }, bare: { times: [] as number[], cpu: 0 } }
    for (let r = 0; r < rounds; r++) {
      for (const [name, ws] of [
        ["kept", withWindow],
        ["bare", without],
      ] as const) {
        const run = await roundTrips(ws, Math.ceil(frames / rounds))
        figures[name].times.push(...run.times)
        figures[name].cpu += run.cpuUsPerFrame / rounds
      }
    }
    withWindow.terminate()
    without.terminate()
    const p50 = (xs: number[]) =>
      quantile(
        [...xs].sort((a, b) => a - b),
        0.5,
      )
    const keptP50 = p50(figures.kept.times)
    const bareP50 = p50(figures.bare.times)
    console.log(`replay window, ${frames} frames of 960 bytes through the proxy, a checkpoint every 250:`)
    console.log(
      `  without window  round trip p50 ${fixed(bareP50, 3)} ms, CPU ${fixed(figures.bare.cpu, 1)} us/frame (the whole process: client, proxy, echo; noisy)`,
    )
    console.log(
      `  with window     round trip p50 ${fixed(keptP50, 3)} ms (${fixed(keptP50 / bareP50, 2)}x), ` +
        `CPU ${fixed(figures.kept.cpu, 1)} us/frame (${fixed(figures.kept.cpu / figures.bare.cpu, 2)}x)`,
    )
  } finally {
    await kept.close()
    await bare.close()
    await echo.close()
  }
  // The window's own work per frame, alone: a push, and a checkpoint every 250 frames.
  const window = createReplayWindow(1500)
  window.attach(0)
  const frame = Buffer.alloc(960)
  const count = 2_000_000
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    window.push(frame, 24_000)
    if (i % 250 === 249) window.ack(i + 1)
  }
  const nsPerFrame = ((performance.now() - started) * 1e6) / count
  console.log(`  the window alone: ${fixed(nsPerFrame, 0)} ns per frame (push, a checkpoint every 250)`)
}

const heard = (caller: MediaCaller) => caller.events.filter((e) => e.type === "agent_transcript").length
const gaps = (caller: MediaCaller) => caller.events.filter((e) => e.type === "reattached")

/** Speaks `word` and resolves with the time from the word's end to the reply's transcript. */
const turn = async (caller: MediaCaller, word: string, onWordEnd?: () => void) => {
  const before = heard(caller)
  let wordEndAt = 0
  await caller.speak(word, {
    onWordEnd: () => {
      wordEndAt = Date.now()
      onWordEnd?.()
    },
  })
  await caller.until(() => heard(caller) > before, 60_000)
  return Date.now() - wordEndAt
}

const moves = async () => {
  const postgres = await startLocalPostgres()
  const sim = await startSimulator({
    scenario: {
      transcripts: (request) => wordsIn(request.audio, 24_000).join(" ") || "(silence)",
      replies: (request) => ({ text: `Heard ${userTextsOf(request.input).join(", ")}.` }),
    },
  })
  const cluster = await startLocalCluster({
    runners: 2,
    databaseUrl: postgres.url,
    env: { OPENAI_API_KEY: sim.apiKey ?? "", OPENAI_BASE_URL: sim.httpUrl },
    ...(argOf("logs") === undefined
      ? {}
      : { onRunnerLog: (pid: number, line: string) => console.log(`[${pid}] ${line}`) }),
  })
  const settle = async (runners: number) => {
    for (;;) {
      const loads = await cluster.client.runners()
      if (loads.length === runners && loads.every((r) => r.shards.length === 60 / runners)) return
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
  try {
    await settle(2)
    const victim = cluster.runners()[0]
    if (victim === undefined) return
    // Calls on the runner to be killed only (placed until enough land there).
    const mine: MediaCaller[] = []
    const mineIds: string[] = []
    const others: string[] = []
    while (mine.length < moveCalls) {
      const status = await cluster.client.place()
      if (status.runner !== victim.address) {
        others.push(status.callId)
        continue
      }
      const caller = await connectCaller(`${cluster.frontDoor.url}/calls/${status.callId}`)
      await caller.until((events) => events.some((e) => e.type === "call_attached"))
      mine.push(caller)
      mineIds.push(status.callId)
    }
    const usual = await Promise.all(mine.map((c) => turn(c, "alpha")))
    let killed = false
    const afterKill = await Promise.all(
      mine.map((c) =>
        turn(c, "bravo", () => {
          if (killed) return
          killed = true
          void victim.kill()
        }),
      ),
    )
    await Promise.all(mine.map((c) => c.until(() => gaps(c).length >= 1, 60_000)))
    const killGaps = mine.map((c) => gaps(c)[0]?.gapMs ?? Number.NaN)
    const replayed = mine.map((c) => Number(gaps(c)[0]?.replayedFrames ?? Number.NaN))
    const lost = mine.map((c) => Number(gaps(c)[0]?.lostFrames ?? Number.NaN))
    // The drain: a fresh runner joins (the shards it takes move their calls at a quiet moment
    // too), then the runner holding the calls is drained.
    await cluster.addRunner()
    await settle(2)
    const where = await Promise.all(mineIds.map(async (id) => (await cluster.client.status(id)).runner))
    const holder = cluster.runners().find((r) => where.includes(r.address))
    if (holder === undefined) return
    const before = mine.map((c) => gaps(c).length)
    await holder.drain()
    const movedByDrain = mine.map((_c, i) => i).filter((i) => where[i] === holder.address)
    await Promise.all(
      movedByDrain.map((i) =>
        mine[i]?.until(() => gaps(mine[i] as MediaCaller).length > (before[i] ?? 0), 60_000),
      ),
    )
    const drainGaps = movedByDrain.map(
      (i) => gaps(mine[i] as MediaCaller)[before[i] ?? 0]?.gapMs ?? Number.NaN,
    )
    const afterDrain = await Promise.all(mine.map((c) => turn(c, "charlie")))
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
    const p50 = (xs: number[]) => quantile(sorted(xs), 0.5)
    const max = (xs: number[]) => Math.max(...xs)
    console.log(`moves, ${moveCalls} calls on the runner that moves them (2 runner processes):`)
    console.log(
      `  kill (SIGKILL at a word's end): media gap p50 ${fixed(p50(killGaps), 0)} ms max ${fixed(max(killGaps), 0)} ms; ` +
        `frames replayed p50 ${fixed(p50(replayed), 0)}, lost ${lost.reduce((a, b) => a + b, 0)}`,
    )
    console.log(
      `  word end to reply: a usual turn p50 ${fixed(p50(usual), 0)} ms; the word said at the kill ` +
        `p50 ${fixed(p50(afterKill), 0)} ms (${fixed(p50(afterKill) / p50(usual), 2)}x)`,
    )
    console.log(
      `  drain (SIGTERM, quiet moment) of ${movedByDrain.length} calls: media gap p50 ${fixed(p50(drainGaps), 0)} ms max ${fixed(max(drainGaps), 0)} ms; ` +
        `next turn p50 ${fixed(p50(afterDrain), 0)} ms (${fixed(p50(afterDrain) / p50(usual), 2)}x a usual turn)`,
    )
    await Promise.all([...others].map((id) => cluster.client.end(id).catch(() => {})))
    await Promise.all(mine.map((c) => c.hangUp()))
  } finally {
    await cluster.stop()
    await sim.close()
    await postgres.stop()
  }
}

export default async (): Promise<void> => {
  // `part=window` or `part=moves` runs one of the two.
  const part = argOf("part")
  if (part !== "moves") await windowCost()
  if (part !== "window") await moves()
}
