/**
 * `voxstate speak TEXT -o FILE` against the simulator in-process: a WAV file with speech in
 * it; an empty text or a missing -o is one line and exit code 2; --help lists the flags.
 */
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { decodeWav } from "../../src/audio/index.ts"
import { main } from "../../src/cli.ts"

const capture = () => {
  const out: string[] = []
  const err: string[] = []
  return { out, err, output: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } }
}

describe("voxstate speak", () => {
  it("writes the speech of TEXT to a WAV file", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "voxstate-speak-")), "hello.wav")
    const io = capture()
    expect(
      await main(["speak", "Hello there, how are you today?", "-o", file, "--simulator"], io.output),
    ).toBe(0)
    const wav = decodeWav(new Uint8Array(readFileSync(file)))
    expect(wav.sampleRateHz).toBe(24_000)
    expect(wav.channels).toBe(1)
    expect(wav.data.length).toBeGreaterThan(24_000 * 0.5)
    expect(wav.data.some((s) => s !== 0)).toBe(true)
    expect(io.out.join("\n")).toMatch(/simulator\) → .*hello\.wav: \d+\.\d\d s/)
  })

  it("refuses an empty text and a missing -o with one line and exit code 2", async () => {
    const empty = capture()
    expect(await main(["speak", "  ", "-o", "x.wav", "--simulator"], empty.output)).toBe(2)
    expect(empty.err).toEqual(["speak: TEXT is empty"])
    const missing = capture()
    expect(await main(["speak", "Hi"], missing.output)).toBe(2)
    expect(missing.err).toHaveLength(1)
    expect(missing.err[0]).toContain("--output")
  })

  it("lists its flags under --help", async () => {
    const io = capture()
    expect(await main(["speak", "--help"], io.output)).toBe(0)
    for (const flag of ["--output", "-o", "--voice", "--model", "--instructions", "--simulator"]) {
      expect(io.out[0]).toContain(flag)
    }
  })
})
