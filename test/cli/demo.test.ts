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
    const output = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }
    expect(await main(["demo", "-o", file, "--simulator"], output)).toBe(0)
    expect(err).toEqual([])
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

  it("lists its flags with --help", async () => {
    const out: string[] = []
    const output = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) }
    expect(await main(["demo", "--help"], output)).toBe(0)
    expect(out.join("\n")).toContain("--output")
  })
})
