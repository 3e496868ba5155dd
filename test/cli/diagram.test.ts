/**
 * `voxstate diagram MACHINE --format …`: SVG, Mermaid and JSON of a shipped machine on stdout
 * or in a file; an unknown machine or format is one line and exit code 2.
 */
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { main } from "../../src/cli.ts"

const capture = () => {
  const out: string[] = []
  const err: string[] = []
  return { out, err, output: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } }
}

describe("voxstate diagram", () => {
  it("prints Mermaid and JSON, and writes SVG to a file", async () => {
    const mermaid = capture()
    expect(await main(["diagram", "transcription", "--format", "mermaid"], mermaid.output)).toBe(0)
    expect(mermaid.out.join("\n")).toMatch(/^stateDiagram-v2\n/)
    expect(mermaid.out.join("\n")).toContain("transcriptionSession_online")

    const json = capture()
    expect(await main(["diagram", "responses", "--format", "json"], json.output)).toBe(0)
    const config = JSON.parse(json.out.join("\n")) as { id: string; states: Record<string, unknown> }
    expect(config.id).toBe("responsesChain")
    expect(Object.keys(config.states).length).toBeGreaterThan(1)

    const file = join(mkdtempSync(join(tmpdir(), "voxstate-diagram-")), "tts.svg")
    const svg = capture()
    expect(await main(["diagram", "synthesis", "--format", "svg", "-o", file], svg.output)).toBe(0)
    expect(readFileSync(file, "utf8")).toMatch(
      /^<svg[\s\S]*data-state="synthesisStream.speaking"[\s\S]*<\/svg>$/,
    )
  })

  it("refuses an unknown machine and an unknown format with one line and exit code 2", async () => {
    const machine = capture()
    expect(await main(["diagram", "nope"], machine.output)).toBe(2)
    expect(machine.err).toHaveLength(1)
    expect(machine.err[0]).toContain("unknown machine 'nope'")
    const format = capture()
    expect(await main(["diagram", "transcription", "--format", "png"], format.output)).toBe(2)
    expect(format.err).toHaveLength(1)
  })
})
