/**
 * `VOXSTATE_INSPECT=1 npm start` (the demo command in its own process): the inspector's
 * address is printed, the call starts once a viewer is connected and reaches it live, the
 * page stays served after the call, and Ctrl+C ends the process cleanly.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import type { InspectorRecord } from "../../src/inspect/index.ts"

const CLI = join(import.meta.dirname, "../../src/cli.ts")
const WAIT_MS = 60_000

describe("VOXSTATE_INSPECT=1 npm start", () => {
  it("prints the inspector's address and streams the demo call to a viewer", async () => {
    const dir = mkdtempSync(join(tmpdir(), "voxstate-start-inspect-"))
    const child = spawn(process.execPath, [CLI, "demo", "--simulator", "-o", join(dir, "call.wav")], {
      env: { ...process.env, VOXSTATE_INSPECT: "1", OPENAI_API_KEY: "" },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stdout = ""
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c
    })
    child.stderr.resume()
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    const until = async (check: () => boolean, what: string) => {
      const deadline = Date.now() + WAIT_MS
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${stdout}`)
        await new Promise((r) => setTimeout(r, 25))
      }
    }
    const viewer: { ws?: WebSocket } = {}
    try {
      await until(() => /Inspector: http:\/\/127\.0\.0\.1:\d+\//.test(stdout), "the address")
      const url = /Inspector: (\S+)/.exec(stdout)?.[1] ?? ""
      // Nothing has happened before a viewer is there: the call waits for the page.
      expect(stdout).not.toContain("caller:")
      const records: InspectorRecord[] = []
      const ws = new WebSocket(`${url.replace(/^http/, "ws")}ws`)
      viewer.ws = ws
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data)) as {
          type: string
          record?: InspectorRecord
          records?: InspectorRecord[]
        }
        if (msg.type === "record" && msg.record !== undefined) records.push(msg.record)
        if (msg.type === "hello") records.push(...(msg.records ?? []))
      })
      await until(() => stdout.includes("The call is over"), "the end of the call")
      const live = records.filter((r) => r.machine === "agentSession")
      expect(live.length).toBeGreaterThan(20)
      expect(live.some((r) => r.kind === "report" && r.event.type === "voxstate.metrics")).toBe(true)
      expect(live.at(-1)?.value).toBe("closed")
      // Texts stay redacted without --inspect-text.
      const shown = JSON.stringify(live)
      for (const words of ["Paris", "London", "weather in", "goodbye", "sunny"])
        expect(shown).not.toContain(words)
      expect((await fetch(url)).status).toBe(200)
      child.kill("SIGINT")
      expect(await exited).toBe(0)
    } finally {
      viewer.ws?.terminate()
      child.kill()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
