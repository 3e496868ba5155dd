/**
 * The inspector as a person sees it, in Debian's chromium driven by playwright-core: a
 * transcription session against the simulator is listed, its states light up as it moves,
 * the log grows, the slider shows an earlier state, and the API key is never in the page;
 * `voxstate demo --inspect` prints the page's address and the page shows the agent's call
 * live (listening, thinking, speaking, interrupted), both sides' transcripts and the latency
 * plot; the session saved as JSONL opens again with `voxstate inspect FILE`.
 * Without /usr/bin/chromium this fails (it does not skip): CI installs it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { assign, createActor, createMachine } from "xstate"
import { runCli } from "../../src/cli/program.ts"
import { rootCommand } from "../../src/cli.ts"
import { createInspector, type Inspector, parseInspectorLog } from "../../src/inspect/index.ts"
import { createRealtimeSession } from "../../src/realtime/index.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import { createTranscriptionSession } from "../../src/stt/index.ts"
import { collect, concat, finals, pushAudio, silenceAt, toneAt } from "../stt/transcriptionSessionHelpers.ts"

const CHROMIUM = "/usr/bin/chromium"
const PAGE_TIMEOUT_MS = 15_000
const SHOTS = join(import.meta.dirname, "../../test-output/inspector")

let browser: BrowserContext | undefined
let profile: string | undefined

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does)`)
  profile = mkdtempSync(join(tmpdir(), "voxstate-chromium-"))
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: PAGE_TIMEOUT_MS,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1400, height: 900 },
  })
}, 30_000)

afterAll(async () => {
  await browser?.close()
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true })
})

describe("the inspector page", () => {
  let sim: Simulator | undefined
  let inspector: Inspector | undefined
  afterAll(async () => {
    await inspector?.close()
    await sim?.close()
  })

  it("shows a transcription session moving through its chart, with time travel and no secret", async () => {
    sim = await startSimulator({ port: 0, scenario: { transcripts: ["first words", "second words"] } })
    inspector = await createInspector()
    const page = await browser!.newPage()
    page.setDefaultTimeout(PAGE_TIMEOUT_MS)
    await page.goto(inspector.url)
    await page.locator("#status", { hasText: "connected" }).waitFor()

    const session = createTranscriptionSession({
      openai: { apiKey: "sk-simulator", baseUrl: sim.url },
      env: {},
      inspect: inspector.inspect,
    })
    await page.locator("#sessions li", { hasText: "transcriptionSession" }).waitFor()
    await page.locator("#chart svg .vx-state.active").first().waitFor()
    const firstLog = await page.locator("#log li").count()

    pushAudio(session, concat(silenceAt(300), toneAt(900), silenceAt(900), toneAt(700), silenceAt(900)))
    session.endInput()
    const { events, error } = await collect(session)
    expect(error).toBeUndefined()
    expect(finals(events)).toEqual(["first words", "second words"])
    await session.done

    await page.locator("#current", { hasText: "closed" }).waitFor()
    const lastLog = await page.locator("#log li").count()
    expect(lastLog).toBeGreaterThan(firstLog)
    expect(
      await page.locator('#chart .vx-state.active[data-state="transcriptionSession.closed"]').count(),
    ).toBe(1)
    mkdirSync(SHOTS, { recursive: true })
    await page.screenshot({ path: join(SHOTS, "live.png") })

    // Time travel: the slider's first position shows the session's first state, not `closed`.
    await page.locator("#travel").fill("0")
    await page.locator("#position", { hasText: /^1 \// }).waitFor()
    const earlier = await page.locator("#current").textContent()
    expect(earlier).not.toContain("closed")
    expect(
      await page.locator('#chart .vx-state.active[data-state="transcriptionSession.closed"]').count(),
    ).toBe(0)
    expect(await page.locator("#log li.at").count()).toBe(1)

    // The filter narrows the log to matching events.
    await page.locator("#filter").fill("END_INPUT")
    await page.locator("#log li", { hasText: "END_INPUT" }).first().waitFor()
    const filtered = await page.locator("#log li").allTextContents()
    expect(filtered.length).toBeGreaterThan(0)
    expect(filtered.every((line) => line.includes("END_INPUT"))).toBe(true)
    await page.screenshot({ path: join(SHOTS, "travel.png") })

    const html = await page.content()
    expect(html).not.toContain("sk-simulator")
    expect(JSON.stringify(inspector.records())).not.toContain("sk-simulator")
    await page.close()
  }, 60_000)
})

/** Runs `voxstate ARGS` in this process until `stop()`; `url()` waits for the printed inspector address. */
const runCommand = (args: readonly string[]) => {
  const lines: string[] = []
  let stop: (signal: NodeJS.Signals) => void = () => undefined
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    stop = resolve
  })
  const exit = runCli(rootCommand, args, {
    output: { out: (l) => lines.push(l), err: (l) => lines.push(`ERR ${l}`) },
    stopped: () => stopped,
  })
  const waitForLine = async (pattern: RegExp, timeoutMs = PAGE_TIMEOUT_MS * 3): Promise<string> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const line = lines.find((l) => pattern.test(l))
      if (line !== undefined) return line
      if (Date.now() > deadline) throw new Error(`no line ${pattern} in:\n${lines.join("\n")}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }
  return {
    lines,
    exit,
    stop: () => stop("SIGTERM"),
    waitForLine,
    url: async () => /Inspector: (\S+)/.exec(await waitForLine(/^Inspector: /))?.[1] ?? "",
  }
}

const AGENT = "agentSession.live.agent"
const lit = (page: Page, state: string) => page.locator(`#chart .vx-state.active[data-state="${state}"]`)

describe("voxstate demo --inspect", () => {
  it("shows the demo call live: states lit as it moves, transcripts, latency plot, time travel, no secret", async () => {
    const dir = mkdtempSync(join(tmpdir(), "voxstate-demo-inspect-"))
    const demo = runCommand([
      "demo",
      "--inspect",
      "--inspect-text",
      "--simulator",
      "-o",
      join(dir, "call.wav"),
    ])
    const page = await browser!.newPage()
    page.setDefaultTimeout(PAGE_TIMEOUT_MS)
    try {
      const url = await demo.url()
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
      await page.goto(url)
      await page.locator("#status", { hasText: "connected" }).waitFor()

      // Live: the agent session is listed, idle lights first, then the reply is spoken.
      await page.locator("#sessions li", { hasText: "agentSession" }).waitFor()
      await lit(page, `${AGENT}.idle`).waitFor({ timeout: PAGE_TIMEOUT_MS * 2 })
      await lit(page, `${AGENT}.replying.voice.speaking`).waitFor({ timeout: PAGE_TIMEOUT_MS * 2 })
      const logWhileSpeaking = await page.locator("#log li").count()
      mkdirSync(SHOTS, { recursive: true })
      await page.screenshot({ path: join(SHOTS, "agent-speaking.png") })

      await demo.waitForLine(/^The call is over/, 90_000)
      await page.locator("#current", { hasText: "closed" }).waitFor()
      expect(await page.locator("#log li").count()).toBeGreaterThan(logWhileSpeaking)

      // Both sides of the conversation, the interruption marked.
      await page.locator("#transcripts li.user", { hasText: "What is the weather in Paris today?" }).waitFor()
      await page.locator("#transcripts li.agent.cut").first().waitFor()
      await page.locator("#transcripts li.agent", { hasText: "London is cloudy" }).waitFor()

      // The latency plot: one bar per measured turn, each with its segments.
      const turns = page.locator("#latency-plot g.turn")
      expect(await turns.count()).toBeGreaterThanOrEqual(2)
      expect(await page.locator("#latency-plot g.turn rect.segment").count()).toBeGreaterThanOrEqual(
        await turns.count(),
      )
      await page.screenshot({ path: join(SHOTS, "agent-call.png") })

      // Time travel: a past event in each state shows that state lit, and not the live one.
      // listening is the agent's `idle`, thinking its model `generating` while its voice is silent.
      for (const state of ["replying.model.generating", "interrupted", "idle"]) {
        await page
          .locator("#log li", { hasText: `agent.${state}` })
          .first()
          .click()
        await lit(page, `${AGENT}.${state}`).waitFor()
        expect(await page.locator("#position").textContent()).not.toContain("live")
        expect(await lit(page, "agentSession.closed").count()).toBe(0)
      }
      await page.screenshot({ path: join(SHOTS, "agent-travel.png") })
      await page.locator("#travel").fill("0")
      await page.locator("#position", { hasText: /^1 \// }).waitFor()
      expect(await page.locator("#transcripts li").count()).toBe(0)

      // The event log filtered by one type shows only that type.
      await page.locator("#types").selectOption("OUTPUT.STARTED")
      const filtered = await page.locator("#log li").allTextContents()
      expect(filtered.length).toBeGreaterThanOrEqual(2)
      expect(filtered.every((line) => line.includes("OUTPUT.STARTED"))).toBe(true)
      await page.locator("#types").selectOption("")

      expect(await page.content()).not.toContain("sk-simulator")

      // Saved as JSONL, opened again with `voxstate inspect FILE`.
      const download = page.waitForEvent("download")
      await page.locator("#save").click()
      const file = join(dir, "session.jsonl")
      await (await download).saveAs(file)
      const saved = parseInspectorLog(readFileSync(file, "utf8"))
      expect(saved.length).toBeGreaterThan(10)
      expect(new Set(saved.map((r) => r.machine))).toEqual(new Set(["agentSession"]))
      expect(readFileSync(file, "utf8")).not.toContain("sk-simulator")

      const reopened = runCommand(["inspect", file])
      try {
        const again = await browser!.newPage()
        again.setDefaultTimeout(PAGE_TIMEOUT_MS)
        await again.goto(await reopened.url())
        await again.locator("#sessions li", { hasText: "agentSession" }).waitFor()
        await lit(again, "agentSession.closed").waitFor()
        await again.locator("#latency-plot g.turn").first().waitFor()
        await again.locator("#log li", { hasText: `agent.interrupted` }).first().click()
        await lit(again, `${AGENT}.interrupted`).waitFor()
        await again.screenshot({ path: join(SHOTS, "reopened.png") })
        await again.close()
      } finally {
        reopened.stop()
        expect(await reopened.exit).toBe(0)
      }
    } finally {
      await page.close()
      demo.stop()
      rmSync(dir, { recursive: true, force: true })
    }
    expect(await demo.exit).toBe(0)
  }, 150_000)
})

describe("a page that cannot keep up", () => {
  it("is told how many events were dropped for it while the session went on", async () => {
    const inspector = await createInspector({ viewerBufferBytes: 64 * 1024, historyLimit: 100 })
    const page = await browser!.newPage()
    page.setDefaultTimeout(PAGE_TIMEOUT_MS)
    try {
      await page.goto(inspector.url)
      await page.locator("#status", { hasText: "connected" }).waitFor()
      const machine = createMachine({
        id: "noisy",
        context: { blob: "" },
        on: {
          TICK: { actions: assign({ blob: ({ event }) => (event as unknown as { blob: string }).blob }) },
        },
      })
      const actor = createActor(machine, { inspect: inspector.inspect }).start()
      // The page is busy (its script runs for seconds) while a burst of 20 000 events is written.
      const busy = page.evaluate(() => {
        const end = Date.now() + 4000
        while (Date.now() < end) {
          // Busy: the page reads nothing meanwhile.
        }
      })
      await new Promise((r) => setTimeout(r, 300))
      const blob = "x".repeat(390)
      for (let i = 0; i < 20_000; i++) actor.send({ type: "TICK", blob: `${i}${blob}` } as never)
      expect(actor.getSnapshot().status).toBe("active")
      const deadline = Date.now() + PAGE_TIMEOUT_MS
      while (inspector.dropped === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(inspector.dropped).toBeGreaterThan(0)
      await busy
      // Once the page has caught up, the next record brings the count with it.
      const dropped = page.locator("#dropped", { hasText: /\d+ events dropped/ })
      while ((await dropped.count()) === 0 && Date.now() < deadline) {
        actor.send({ type: "TICK", blob: "after" } as never)
        await new Promise((r) => setTimeout(r, 50))
      }
      await dropped.waitFor()
      const shown = Number(/(\d+) events dropped/.exec((await dropped.textContent()) ?? "")?.[1])
      expect(shown).toBeGreaterThan(0)
      expect(shown).toBeLessThanOrEqual(inspector.dropped)
      await page.screenshot({ path: join(SHOTS, "dropped.png") })
      actor.stop()
    } finally {
      await page.close()
      await inspector.close()
    }
  }, 60_000)
})

describe("a realtime session in the page", () => {
  it("shows the response region lit, the reply's transcript, and its audio folded in the log", async () => {
    const sim = await startSimulator({ port: 0, scenario: { replies: [{ text: "Hello there, friend." }] } })
    const inspector = await createInspector({ includeText: true })
    const page = await browser!.newPage()
    page.setDefaultTimeout(PAGE_TIMEOUT_MS)
    const session = createRealtimeSession({
      openai: { apiKey: "sk-simulator", baseUrl: sim.httpUrl },
      env: {},
      turnDetection: null,
      inspect: inspector.inspect,
    })
    try {
      await page.goto(inspector.url)
      await page.locator("#sessions li", { hasText: "realtime" }).waitFor()
      await lit(page, "realtime.online.streaming.response.idle").waitFor()
      const iterator = session[Symbol.asyncIterator]()
      const next = async (type: string) => {
        for (;;) {
          const e = await iterator.next()
          if (e.done === true) throw new Error(`ended before ${type}`)
          if (e.value.type === type) return
        }
      }
      await next("session_ready")
      session.sendText("Hi!")
      session.createResponse()
      await next("response_done")
      await page.locator("#transcripts li.agent", { hasText: "Hello there, friend." }).waitFor()
      // Audio arrives as many frames: the log shows each run of them as one folded line.
      const folded = page.locator("#log li.folded", { hasText: "audio" })
      await folded.first().waitFor()
      expect(await folded.first().textContent()).toMatch(/×\d+/)
      expect(await page.content()).not.toContain("sk-simulator")
      // Time travel to a record while the response was producing lights that state.
      await page.locator("#log li", { hasText: "response.responding.producing" }).first().click()
      await lit(page, "realtime.online.streaming.response.responding.producing").waitFor()
      mkdirSync(SHOTS, { recursive: true })
      await page.screenshot({ path: join(SHOTS, "realtime.png") })
    } finally {
      await session.close()
      await page.close()
      await inspector.close()
      await sim.close()
    }
  }, 60_000)
})
