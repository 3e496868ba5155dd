/**
 * What the live inspector costs the sessions it watches: N = 50 concurrent transcription
 * sessions stream 3 s of real-time-paced 24 kHz audio (20 ms frames) to the simulator (in a
 * child process, so this process's CPU time is the clients' own), end their input and drain.
 * Three ways, in the same run, each three times in turn (A B C A B C A B C, the median kept):
 *   A. no inspector (the baseline),
 *   B. an inspector attached, no page open,
 *   C. an inspector attached and Debian's chromium viewing its page (playwright-core).
 * Reported: this process's CPU per session (the browser's own CPU is another process and is
 * not counted), records kept, and the ratios B/A and C/A, which are the figures. The chart a
 * page asks for is laid out once per process (ELK, then cached): a warm-up run with a page
 * pays it, and its CPU time is reported on its own line, not spread over the sessions.
 *
 * `npm run bench inspect` (N from `INSPECT_BENCH_N`, default 50)
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium } from "playwright-core"
import type { AnyStateMachine } from "xstate"
import { transcriptionSessionMachine } from "../machines/index.ts"
import { createTranscriptionSession, type TranscriptionSession } from "../src/index.ts"
import { createInspector, diagramOf, type Inspector } from "../src/inspect/index.ts"
import { synthesizeSpeech } from "../src/simulator/index.ts"
import { startChildSimulator } from "./support.ts"

const N = Number(process.env.INSPECT_BENCH_N ?? "50")
const ROUNDS = 3
const RATE_HZ = 24_000
const FRAME_MS = 20
const AUDIO_MS = 3_000
const FRAMES = AUDIO_MS / FRAME_MS
const FRAME_SAMPLES = (RATE_HZ * FRAME_MS) / 1000
const API_KEY = "sk-simulator"
const CHROMIUM = "/usr/bin/chromium"

type Mode = "none" | "inspector" | "inspector+browser"

const makeAudio = (): Int16Array => {
  const voice = synthesizeSpeech("The inspector watches every session.", { sampleRateHz: RATE_HZ })
  const audio = new Int16Array((RATE_HZ * AUDIO_MS) / 1000)
  audio.set(voice.subarray(0, Math.min(voice.length, audio.length - RATE_HZ / 2)))
  return audio
}

const waitFor = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setTimeout(r, 5))
}

/** Calls `tick(i)` for i = 0..count-1 every `periodMs`, on a drift-corrected schedule. */
const paced = (count: number, periodMs: number, tick: (i: number) => void): Promise<void> =>
  new Promise((resolve) => {
    const start = performance.now()
    let i = 0
    const step = (): void => {
      while (i < count && performance.now() >= start + i * periodMs) tick(i++)
      if (i >= count) resolve()
      else setTimeout(step, Math.max(0, start + i * periodMs - performance.now()))
    }
    step()
  })

/** Runs N sessions and returns this process's CPU time per session in ms, from connect to drained. */
const runSessions = async (
  url: string,
  audio: Int16Array,
  inspector: Inspector | undefined,
): Promise<number> => {
  const cpu0 = process.cpuUsage()
  const sessions: TranscriptionSession[] = []
  for (let i = 0; i < N; i++) {
    sessions.push(
      createTranscriptionSession({
        apiKey: API_KEY,
        baseUrl: url,
        env: {},
        turnDetection: { type: "server_vad" },
        inspect: inspector?.inspect ?? false,
      }),
    )
  }
  const ended = sessions.map(async (session) => {
    for await (const _ of session) {
      // Read so nothing queues up.
    }
  })
  await waitFor(() => sessions.every((s) => s.actor.getSnapshot().matches({ online: "streaming" })))
  await paced(FRAMES, FRAME_MS, (f) => {
    const frame = audio.subarray(f * FRAME_SAMPLES, (f + 1) * FRAME_SAMPLES)
    for (const session of sessions) session.pushFrame({ data: frame, sampleRateHz: RATE_HZ, channels: 1 })
  })
  for (const session of sessions) session.endInput()
  await Promise.all(ended)
  await Promise.all(sessions.map((s) => s.close()))
  const cpu = process.cpuUsage(cpu0)
  return (cpu.user + cpu.system) / 1000 / N
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

export default async function inspectBench(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium`)
  const sim = await startChildSimulator()
  const profile = mkdtempSync(join(tmpdir(), "voxstate-bench-chromium-"))
  let browser: BrowserContext | undefined
  const audio = makeAudio()
  const results: Record<Mode, number[]> = { none: [], inspector: [], "inspector+browser": [] }
  const records: Record<Mode, number[]> = { none: [], inspector: [], "inspector+browser": [] }
  const dropped: number[] = []
  let layoutMs = Number.NaN
  try {
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
      viewport: { width: 1400, height: 900 },
    })
    // The one-time chart layout, measured alone (the page's first chart request then hits the cache).
    const layoutCpu0 = process.cpuUsage()
    await diagramOf(transcriptionSessionMachine as unknown as AnyStateMachine, "svg")
    const layoutCpu = process.cpuUsage(layoutCpu0)
    layoutMs = (layoutCpu.user + layoutCpu.system) / 1000
    // A warm-up run with a page, so the measured ones pay for no module loading, JIT or layout.
    const warm = await createInspector()
    const warmPage = await browser.newPage()
    await warmPage.goto(warm.url)
    await runSessions(sim.httpUrl, audio, warm)
    await warmPage.locator("#chart svg").waitFor()
    await warmPage.close()
    await warm.close()
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ["none", "inspector", "inspector+browser"] as const) {
        global.gc?.()
        const inspector = mode === "none" ? undefined : await createInspector()
        const page = mode === "inspector+browser" ? await browser.newPage() : undefined
        if (page !== undefined && inspector !== undefined) {
          await page.goto(inspector.url)
          await page.locator("#status", { hasText: "connected" }).waitFor()
        }
        results[mode].push(await runSessions(sim.httpUrl, audio, inspector))
        records[mode].push(inspector?.records().length ?? 0)
        if (page !== undefined && inspector !== undefined) {
          // The page has drawn the last session it was sent.
          await page.locator("#sessions li").first().waitFor()
          dropped.push(inspector.dropped)
          await page.close()
        }
        await inspector?.close()
      }
    }
  } finally {
    await browser?.close()
    rmSync(profile, { recursive: true, force: true })
    await sim.stop()
  }
  const base = median(results.none)
  console.log(
    `N = ${N} transcription sessions, ${AUDIO_MS / 1000} s of audio each; CPU of this process per session`,
  )
  for (const mode of ["none", "inspector", "inspector+browser"] as const) {
    const cpu = median(results[mode])
    console.log(
      `  ${mode.padEnd(18)} ${cpu.toFixed(2).padStart(8)} ms/session  ratio ${(cpu / base).toFixed(2)}  ` +
        `(runs: ${results[mode].map((v) => v.toFixed(2)).join(", ")}; records kept: ${median(records[mode])})`,
    )
  }
  console.log(`  records dropped for the page: ${dropped.join(", ")}`)
  console.log(`  the chart's layout, once per machine and process: ${layoutMs.toFixed(0)} ms CPU`)
}
