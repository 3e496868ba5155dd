/**
 * The budget and storage flags of `voxstate runner` and `voxstate cluster`: listed in --help,
 * and a CPU budget that is not a number refused with one line and exit code 2.
 */
import { describe, expect, it } from "vitest"
import { main } from "../../src/cli.ts"

const capture = () => {
  const out: string[] = []
  const err: string[] = []
  return { out, err, output: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } }
}

describe("voxstate runner and cluster: budget and storage", () => {
  it("lists --storage, --cpu-budget and --call-cost in --help", async () => {
    for (const command of ["runner", "cluster"]) {
      const io = capture()
      expect(await main([command, "--help"], io.output)).toBe(0)
      for (const flag of ["--storage", "--cpu-budget", "--call-cost", "--budget"])
        expect(io.out.join("\n")).toContain(flag)
    }
  })

  it("refuses a CPU budget that is not a number, and a storage kind it does not know", async () => {
    const io = capture()
    expect(await main(["runner", "--storage", "sqlite:x.db", "--cpu-budget", "most"], io.output)).toBe(2)
    expect(io.err.join("\n")).toContain("--cpu-budget expects a number from 0.001 to 1024, got 'most'")
    const kind = capture()
    expect(await main(["cluster", "--storage", "mysql"], kind.output)).toBe(2)
    expect(kind.err.join("\n")).toMatch(/storage/)
  })
})
