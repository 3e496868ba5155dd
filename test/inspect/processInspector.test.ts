/**
 * `VOXSTATE_INSPECT=1`: a process's sessions report to one process-wide inspector whose
 * address is printed on stderr, without any `inspect` option; the inspector never keeps the
 * process alive once its sessions are over.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import type { InspectorRecord } from "../../src/inspect/index.ts"

const CHILD = join(import.meta.dirname, "fixtures/inspectedProcess.ts")
const WAIT_MS = 20_000

const waitFor = async (check: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + WAIT_MS
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe("VOXSTATE_INSPECT=1", () => {
  it("attaches the process-wide inspector to every session, prints its address and lets the process exit", async () => {
    const child = spawn(process.execPath, [CHILD], {
      env: { ...process.env, VOXSTATE_INSPECT: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c
    })
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c
    })
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    try {
      await waitFor(
        () => /voxstate inspector: http:\/\/127\.0\.0\.1:\d+\//.test(stderr),
        "the inspector's address",
      )
      await waitFor(() => /session \S+/.test(stdout), "the session")
      const url = /voxstate inspector: (\S+)/.exec(stderr)?.[1] ?? ""
      const sessionId = /session (\S+)/.exec(stdout)?.[1] ?? ""

      const page = await fetch(url)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain("voxstate inspector")

      const records: InspectorRecord[] = []
      const viewer = new WebSocket(`${url.replace(/^http/, "ws")}ws`)
      viewer.on("message", (data) => {
        const msg = JSON.parse(String(data)) as {
          type: string
          records?: InspectorRecord[]
          record?: InspectorRecord
        }
        if (msg.type === "hello") records.push(...(msg.records ?? []))
        if (msg.type === "record" && msg.record !== undefined) records.push(msg.record)
      })
      await waitFor(() => records.some((r) => r.session === sessionId), "the session's records")
      expect(records.find((r) => r.session === sessionId)?.machine).toBe("transcriptionSession")

      // The session ends; the viewer stays connected, and the process still exits by itself.
      child.stdin.write("end\n")
      const code = await Promise.race([
        exited,
        new Promise((r) => setTimeout(() => r("still running"), WAIT_MS)),
      ])
      expect(code).toBe(0)
      expect(stdout).toContain("closed")
      expect(records.some((r) => r.session === sessionId && r.status === "done")).toBe(true)
      viewer.terminate()
    } finally {
      child.kill()
    }
  }, 60_000)
})
