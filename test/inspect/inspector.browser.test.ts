/**
 * The inspector as a person sees it, in Debian's chromium driven by playwright-core: a
 * transcription session against the simulator is listed, its states light up as it moves,
 * the log grows, the slider shows an earlier state, and the API key is never in the page.
 * Without /usr/bin/chromium this fails (it does not skip): CI installs it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createInspector, type Inspector } from "../../src/inspect/index.ts"
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
