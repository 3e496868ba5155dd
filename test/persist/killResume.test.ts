/**
 * A call killed mid-conversation and resumed in another process: examples/resume-call.ts run
 * as it is against the simulator, its first worker killed with SIGKILL in the middle of a
 * turn, the second resuming from the SQLite store (and from files). The checkpoint never
 * holds the key.
 */
import { spawn } from "node:child_process"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"

let dir: string | undefined

afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

const run = (args: readonly string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=voxstate-source", "examples/resume-call.ts", "--simulator", ...args],
      { env: { ...process.env, OPENAI_API_KEY: "" }, stdio: ["ignore", "pipe", "pipe"] },
    )
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => {
      stdout += chunk
    })
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    child.on("error", reject)
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

describe("a call moved to another process", () => {
  for (const kind of ["sqlite", "files"] as const) {
    it(`resumes from the ${kind} store after the first process is killed mid-turn`, async () => {
      dir = await mkdtemp(join(tmpdir(), "voxstate-kill-"))
      const { code, stdout, stderr } = await run(["--store", dir, ...(kind === "sqlite" ? ["--sqlite"] : [])])
      expect(stderr).toBe("Using the voxstate simulator in this process (--simulator).\n")
      expect(code).toBe(0)
      expect(stdout).toContain("the first process ended with SIGKILL")
      const held = stdout.slice(stdout.indexOf("the conversation the server now holds"))
      expect(held.split("\n").slice(1, 5)).toEqual([
        "  user: A table for two tomorrow, please.",
        "  assistant: Booked: a table for two tomorrow at seven.",
        "  user: Could it be by the window?",
        "  assistant: Yes, by the window, for two, tomorrow at seven.",
      ])
      const stored =
        kind === "sqlite"
          ? await readFile(join(dir, "sessions.db"))
          : await readFile(join(dir, "call-1.snapshot.json"))
      expect(stored.includes("sk-simulator")).toBe(false)
    }, 60_000)
  }
})
