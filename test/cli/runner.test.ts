/**
 * `voxstate runner` and `voxstate cluster` as typed: a runner without a database is one line
 * and exit code 1; --help lists the flags of each.
 */
import { describe, expect, it } from "vitest"
import { main } from "../../src/cli.ts"

const capture = () => {
  const out: string[] = []
  const err: string[] = []
  return { out, err, output: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } }
}

describe("voxstate runner and cluster", () => {
  it("refuses a runner without a database with one line and exit code 1", async () => {
    const saved = process.env.VOXSTATE_DATABASE_URL
    delete process.env.VOXSTATE_DATABASE_URL
    try {
      const io = capture()
      expect(await main(["runner"], io.output)).toBe(1)
      expect(io.err).toEqual(["runner: --database or VOXSTATE_DATABASE_URL is required"])
    } finally {
      if (saved !== undefined) process.env.VOXSTATE_DATABASE_URL = saved
    }
  })

  it("refuses an agent module that exports no agent", async () => {
    const io = capture()
    expect(
      await main(
        ["runner", "--database", "postgres://x@127.0.0.1:1/x", "--agent", "package.json"],
        io.output,
      ),
    ).toBe(1)
    expect(io.err).toHaveLength(1)
    expect(io.err[0]).toMatch(/^runner: /)
  })

  it("lists the flags of runner and cluster in --help", async () => {
    const runner = capture()
    expect(await main(["runner", "--help"], runner.output)).toBe(0)
    const text = runner.out.join("\n")
    for (const flag of ["--database", "--budget", "--media-port", "--agent"]) expect(text).toContain(flag)
    const cluster = capture()
    expect(await main(["cluster", "--help"], cluster.output)).toBe(0)
    for (const flag of ["--runners", "--budget", "--port", "--database"])
      expect(cluster.out.join("\n")).toContain(flag)
  })
})
