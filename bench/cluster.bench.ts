/**
 * `npm run bench cluster`: calls on runner processes, and the front door's hand-off.
 *
 * 1. Calls sustained, on 1 and then 2 runner processes (a throwaway `storage=postgres|sqlite`,
 *    default postgres; the simulator and the callers in this process). Calls are added
 *    `step=N` at a time (default 8) every `stepMs=N` (default 8000) up to `max=N` (default 120);
 *    every call is a real agent call on a runner, its caller streaming 20 ms frames all the time
 *    (silence between turns) and speaking a tone word as soon as the last reply has ended.
 *    Over the second half of each step: the voice-to-voice reply time (end of the word to the
 *    reply's first audio frame; p50, p95), each runner's event-loop utilization and CPU (as
 *    they report them), and this process's own event-loop utilization (the callers and the
 *    simulator: when it nears 1 the driver, not the runners, is what saturates).
 *    A step is saturated when its p95 exceeds the first step's p50 by more than 500 ms, when a
 *    runner's event-loop utilization exceeds 0.9, or when a turn gets no reply within 15 s; the
 *    calls sustained are those of the last step before. The 2-runner figures are ratios
 *    against the 1-runner run.
 * 2. `calls=N` (default 6) callers each speak a turn through the front door at the same time,
 *    on 1 and then 2 runners; printed per cluster: the event-loop utilization each runner
 *    reports over the turns, and the time from the end of a caller's speech to the reply's
 *    transcript (p50, p99). The 2-runner figures are ratios against the 1-runner run.
 * 3. The front door's cost per frame: a 20 ms frame (960 bytes) sent to a media endpoint that
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
import { speech, WORDS, wordsIn } from "../src/testing/index.ts"
import { connectCaller, userTextsOf } from "../test/cluster/mediaCaller.ts"
import { argOf, fixed, quantile } from "./support.ts"

const callsPerRun = Number(argOf("calls") ?? 6)
const frames = Number(argOf("frames") ?? 2000)
const rampStep = Number(argOf("step") ?? 8)
const rampStepMs = Number(argOf("stepMs") ?? 8000)
const rampMax = Number(argOf("max") ?? 120)
const rampStorage = argOf("storage") === "sqlite" ? "sqlite" : "postgres"

/** Added reply time (p95 over the first step's p50) past which a step is saturated, in ms. */
const LATENCY_BOUND_MS = 500
/** A runner's event-loop utilization past which a step is saturated. */
const ELU_BOUND = 0.9
/** A turn without a reply for this long saturates its step, in ms. */
const REPLY_TIMEOUT_MS = 15_000
const FRAME_BYTES = 960

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)

/** One caller of the ramp: streams frames on the shared clock, speaks when the last reply ended. */
interface RampCall {
  readonly ws: WebSocket
  /** Frames still to send of the current utterance. */
  queue: Buffer[]
  /** When the current turn's word ends (ms, performance clock); undefined between turns. */
  wordEndAt: number | undefined
  awaitingAudio: boolean
  nextTurnAt: number
  readonly latencies: { atMs: number; ms: number }[]
  missed: number
}

const utterance = (() => {
  const tone = Number(Object.entries(WORDS).find(([, name]) => name === "alpha")?.[0] ?? 200)
  const samples = speech([{ silenceMs: 200 }, { word: tone, ms: 400 }, { silenceMs: 1000 }], 24_000)
  const out: Buffer[] = []
  for (let at = 0; at < samples.length; at += 480) out.push(Buffer.from(samples.slice(at, at + 480).buffer))
  return out
})()
const SILENCE = Buffer.alloc(FRAME_BYTES)

const openRampCall = (url: string) =>
  new Promise<RampCall>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    const call: RampCall = {
      ws,
      queue: [],
      wordEndAt: undefined,
      awaitingAudio: false,
      nextTurnAt: performance.now() + 500,
      latencies: [],
      missed: 0,
    }
    ws.on("message", (data: Buffer, binary: boolean) => {
      const now = performance.now()
      if (binary) {
        if (call.awaitingAudio && call.wordEndAt !== undefined && now >= call.wordEndAt) {
          call.latencies.push({ atMs: now, ms: now - call.wordEndAt })
          call.awaitingAudio = false
        }
        return
      }
      const event = JSON.parse(String(data)) as { type?: string }
      if (event.type === "call_attached") resolve(call)
      else if (event.type === "agent_transcript" && call.wordEndAt !== undefined && !call.awaitingAudio) {
        // The reply has ended: the next turn a moment later.
        call.wordEndAt = undefined
        call.nextTurnAt = now + 300
      }
    })
    ws.once("error", reject)
  })

/** Sends every call's next frame each 20 ms on the wall clock, and starts turns when due. */
const startTicker = (calls: readonly RampCall[]) => {
  let running = true
  const started = performance.now()
  let tick = 0
  const loop = () => {
    if (!running) return
    const now = performance.now()
    for (const call of calls) {
      if (call.ws.readyState !== WebSocket.OPEN) continue
      if (call.wordEndAt === undefined && call.queue.length === 0 && now >= call.nextTurnAt) {
        call.queue = [...utterance]
        call.wordEndAt = now + 600
        call.awaitingAudio = true
      } else if (call.wordEndAt !== undefined && now - call.wordEndAt > REPLY_TIMEOUT_MS) {
        call.missed += 1
        call.wordEndAt = undefined
        call.awaitingAudio = false
        call.nextTurnAt = now
      }
      call.ws.send(call.queue.shift() ?? SILENCE, { binary: true })
    }
    tick += 1
    setTimeout(loop, Math.max(0, started + tick * 20 - performance.now()))
  }
  loop()
  return () => {
    running = false
  }
}

interface RampStep {
  readonly calls: number
  readonly p50Ms: number
  readonly p95Ms: number
  readonly missed: number
  /** Per runner: event-loop utilization and CPU (cores), means over the window. */
  readonly runners: readonly { readonly elu: number; readonly cpu: number; readonly calls: number }[]
  readonly driverElu: number
}

interface RampFigures {
  readonly runners: number
  readonly steps: readonly RampStep[]
  readonly sustained: RampStep | undefined
  readonly boundMs: number
  readonly saturatedBy: string
}

const ramp = async (runners: number): Promise<RampFigures> => {
  const postgres = rampStorage === "postgres" ? await startLocalPostgres() : undefined
  const sim = await startSimulator({
    scenario: {
      transcripts: (request) => wordsIn(request.audio, 24_000).join(" ") || "(silence)",
      // A short reply of constant length, whatever the turn.
      replies: (request) => ({ text: `Heard ${userTextsOf(request.input).at(-1) ?? ""}.` }),
    },
  })
  const cluster = await startLocalCluster({
    runners,
    // Placement must not refuse: the ramp looks for where the runners saturate.
    cpuBudget: 1024,
    budget: 100_000,
    ...(postgres === undefined ? { storage: "sqlite" as const } : { databaseUrl: postgres.url }),
    env: { OPENAI_API_KEY: sim.apiKey ?? "", OPENAI_BASE_URL: sim.httpUrl },
  })
  const calls: RampCall[] = []
  const stop = startTicker(calls)
  const steps: RampStep[] = []
  let sustained: RampStep | undefined
  let boundMs = Number.POSITIVE_INFINITY
  let saturatedBy = `not saturated at ${rampMax} calls`
  try {
    for (;;) {
      const loads = await cluster.client.runners()
      if (loads.length === runners && loads.every((r) => r.shards.length === 60 / runners)) break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    while (calls.length < rampMax) {
      for (let i = 0; i < rampStep && calls.length < rampMax; i++) {
        const status = await cluster.client.place()
        calls.push(await openRampCall(status.mediaUrl))
      }
      // The second half of the step is measured.
      await new Promise((resolve) => setTimeout(resolve, rampStepMs / 2))
      const from = performance.now()
      const missedBefore = calls.reduce((n, c) => n + c.missed, 0)
      let eluMark = performance.eventLoopUtilization()
      const samples = new Map<string, { elu: number[]; cpu: number[]; calls: number }>()
      const until = from + rampStepMs / 2
      while (performance.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 500))
        for (const r of await cluster.client.runners()) {
          const s = samples.get(r.address) ?? { elu: [], cpu: [], calls: 0 }
          s.elu.push(r.elu)
          s.cpu.push(r.cpu ?? 0)
          s.calls = r.calls
          samples.set(r.address, s)
        }
      }
      const driverElu = performance.eventLoopUtilization(eluMark).utilization
      eluMark = performance.eventLoopUtilization()
      const latencies = calls
        .flatMap((c) => c.latencies.filter((l) => l.atMs >= from).map((l) => l.ms))
        .sort((a, b) => a - b)
      const step: RampStep = {
        calls: calls.length,
        p50Ms: quantile(latencies, 0.5),
        p95Ms: quantile(latencies, 0.95),
        missed: calls.reduce((n, c) => n + c.missed, 0) - missedBefore,
        runners: [...samples.values()].map((s) => ({ elu: mean(s.elu), cpu: mean(s.cpu), calls: s.calls })),
        driverElu,
      }
      steps.push(step)
      console.log(
        `    ${runners} runner(s), ${step.calls} calls: reply p50 ${fixed(step.p50Ms, 0)} ms p95 ${fixed(step.p95Ms, 0)} ms` +
          `${step.missed > 0 ? `, ${step.missed} turns unanswered` : ""}; runners ELU ${step.runners.map((r) => fixed(r.elu, 2)).join(", ")}` +
          ` CPU ${step.runners.map((r) => fixed(r.cpu, 2)).join(", ")} cores; this process ELU ${fixed(driverElu, 2)}`,
      )
      if (steps.length === 1) boundMs = step.p50Ms + LATENCY_BOUND_MS
      const eluOver = step.runners.find((r) => r.elu > ELU_BOUND)
      if (step.missed > 0 || latencies.length === 0) saturatedBy = "turns unanswered"
      else if (step.p95Ms > boundMs)
        saturatedBy = `reply p95 ${fixed(step.p95Ms, 0)} ms > ${fixed(boundMs, 0)} ms`
      else if (eluOver !== undefined) saturatedBy = `runner ELU ${fixed(eluOver.elu, 2)} > ${ELU_BOUND}`
      else {
        sustained = step
        continue
      }
      break
    }
  } finally {
    stop()
    for (const c of calls) c.ws.terminate()
    await cluster.stop()
    await sim.close()
    await postgres?.stop()
  }
  return { runners, steps, sustained, boundMs, saturatedBy }
}

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

const printRamp = (one: RampFigures, two: RampFigures) => {
  console.log(
    `calls sustained (${rampStorage}; saturated: reply p95 > first step's p50 + ${LATENCY_BOUND_MS} ms, a runner's ELU > ${ELU_BOUND}, or a turn unanswered in ${REPLY_TIMEOUT_MS / 1000} s):`,
  )
  for (const run of [one, two]) {
    const s = run.sustained
    const cpuPerCall =
      s === undefined ? Number.NaN : s.runners.reduce((a, r) => a + r.cpu, 0) / Math.max(1, s.calls)
    console.log(
      `  ${run.runners} runner(s): ${s?.calls ?? 0} calls sustained (then ${run.saturatedBy})` +
        (s === undefined
          ? ""
          : `; at ${s.calls}: ELU per runner ${s.runners.map((r) => fixed(r.elu, 2)).join(", ")}, ` +
            `CPU per call ${fixed(cpuPerCall, 4)} cores, reply p50 ${fixed(s.p50Ms, 0)} ms p95 ${fixed(s.p95Ms, 0)} ms, this process ELU ${fixed(s.driverElu, 2)}`),
    )
  }
  const a = one.sustained
  const b = two.sustained
  if (a !== undefined && b !== undefined)
    console.log(
      `  2 runners vs 1: calls sustained ${fixed(b.calls / a.calls, 2)}x, ELU per runner at saturation ` +
        `${fixed(mean(b.runners.map((r) => r.elu)) / mean(a.runners.map((r) => r.elu)), 2)}x, reply p95 ${fixed(b.p95Ms / a.p95Ms, 2)}x`,
    )
}

export default async (): Promise<void> => {
  await handOff()
  const rampOne = await ramp(1)
  const rampTwo = await ramp(2)
  printRamp(rampOne, rampTwo)
  const one = await runCalls(1)
  const two = await runCalls(2)
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
