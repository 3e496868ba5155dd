/**
 * `voxstate demo` against the simulator in-process: the call is printed live (a tool call,
 * one interruption, per-turn latency) and written as a stereo WAV with both sides in it.
 */
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { decodeWav } from "../../src/audio/index.ts"
import { main } from "../../src/cli.ts"

describe("voxstate demo", () => {
  it("runs the call, cuts the agent off once and writes a stereo WAV", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "voxstate-demo-")), "call.wav")
    const out: string[] = []
    const err: string[] = []
    // The inspector's page, fetched while the call runs (its address is the first line).
    let page: Promise<{ status: number; html: string }> | undefined
    const output = {
      out: (l: string) => {
        out.push(l)
        const url = /^Inspector: (http:\/\/127\.0\.0\.1:\d+\/) /.exec(l)?.[1]
        if (url !== undefined && page === undefined)
          page = fetch(url).then(async (r) => ({ status: r.status, html: await r.text() }))
      },
      err: (l: string) => err.push(l),
    }
    expect(await main(["demo", "-o", file, "--simulator"], output)).toBe(0)
    expect(err).toEqual([])
    expect(out[0]).toMatch(/^Inspector: http:\/\/127\.0\.0\.1:\d+\/ \(open it to watch the call live\)$/)
    const served = await page
    expect(served?.status).toBe(200)
    expect(served?.html).toContain("voxstate inspector")
    // No page watched it: the call ends and the command returns (no "stays until Ctrl+C").
    expect(out.some((l) => l.includes("until Ctrl+C"))).toBe(false)
    const text = out.join("\n")
    expect(text).toContain("tool:   get_weather")
    expect(text).toContain("(cut off)")
    expect(text).toMatch(/turn 1: transcript \d+ ms/)
    const wav = decodeWav(new Uint8Array(readFileSync(file)))
    expect(wav.channels).toBe(2)
    expect(wav.sampleRateHz).toBe(24_000)
    let left = 0
    let right = 0
    for (let i = 0; i < wav.data.length; i += 2) {
      left += Math.abs(wav.data[i] ?? 0)
      right += Math.abs(wav.data[i + 1] ?? 0)
    }
    expect(left).toBeGreaterThan(0)
    expect(right).toBeGreaterThan(0)
  }, 60_000)

  it("serves no inspector with --no-inspector", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "voxstate-demo-")), "call.wav")
    const out: string[] = []
    const output = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) }
    expect(await main(["demo", "-o", file, "--simulator", "--no-inspector"], output)).toBe(0)
    expect(out.some((l) => l.startsWith("Inspector:"))).toBe(false)
    expect(out.join("\n")).toContain("tool:   get_weather")
  }, 60_000)

  it("lists its flags with --help", async () => {
    const out: string[] = []
    const output = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) }
    expect(await main(["demo", "--help"], output)).toBe(0)
    expect(out.join("\n")).toContain("--output")
  })
})
