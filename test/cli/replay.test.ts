/**
 * `voxstate replay FILE`: a shipped recording printed as its conversation, `--frames` as its
 * frames; a file that is not a recording is one line and exit code 1.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { main } from "../../src/cli.ts"

const capture = () => {
  const out: string[] = []
  const err: string[] = []
  return { out, err, output: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } }
}

const fixture = (name: string) => join(import.meta.dirname, "..", "fixtures", "recordings", `${name}.jsonl`)

describe("voxstate replay", () => {
  it("prints the recorded agent turn: what was heard, the tool call, the reply", async () => {
    const run = capture()
    expect(await main(["replay", fixture("agent-turn")], run.output)).toBe(0)
    const text = run.out.join("\n")
    expect(text).toContain("heard         weather in Oslo")
    expect(text).toContain("tool call     get_weather")
    expect(text).toContain("assistant     Snowing in Oslo.")
    expect(text).toMatch(/caller audio {2}\d+\.\d\d s/)
    expect(text).toMatch(/#\d connected to \/v1\/responses/)
  })

  it("lists every frame with --frames", async () => {
    const run = capture()
    expect(await main(["replay", fixture("transcription"), "--frames"], run.output)).toBe(0)
    expect(run.out.some((l) => l.includes("-> session.update"))).toBe(true)
    expect(run.out.some((l) => l.includes("<- conversation.item.input_audio_transcription.completed"))).toBe(
      true,
    )
  })

  it("fails with one line for a file that is not a recording", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "voxstate-replay-")), "bad.jsonl")
    writeFileSync(file, '{"hello":1}\n')
    const run = capture()
    expect(await main(["replay", file], run.output)).toBe(1)
    expect(run.err).toHaveLength(1)
    expect(run.err[0]).toContain("line 1")
  })
})
