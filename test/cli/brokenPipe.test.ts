/**
 * `voxstate ... | head`: the CLI typed into a pipe whose reader stops after the first line.
 * The write that finds the pipe closed (`EPIPE`) ends the command quietly with exit code 0, no
 * stack trace on stderr.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "voxstate-pipe-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A recording long enough that its frames overflow a pipe's buffer many times over. */
const longRecording = (): string => {
  const lines = [
    JSON.stringify({ recording: "voxstate.recording", version: 1, startedAtMs: 0 }),
    JSON.stringify({ t: 0, conn: 0, dir: "open", url: "ws://127.0.0.1:1/v1/realtime?model=gpt-realtime" }),
  ]
  for (let i = 0; i < 20_000; i++)
    lines.push(
      JSON.stringify({ t: i, conn: 0, dir: "out", frame: { type: "conversation.item.create", n: i } }),
    )
  const file = join(dir, "long.jsonl")
  writeFileSync(file, `${lines.join("\n")}\n`)
  return file
}

/** Runs `command` in bash; resolves with the CLI's exit status (first in the pipe), head's output and stderr. */
const shell = (command: string) =>
  new Promise<{ status: string; stdout: string; stderr: string }>((resolve, reject) =>
    execFile("bash", ["-c", command], { timeout: 30_000 }, (error, stdout, stderr) =>
      error?.killed ? reject(error) : resolve({ status: stdout.split("\n").at(-2) ?? "", stdout, stderr }),
    ),
  )

describe("the CLI into a pipe that closes early", () => {
  it("ends with exit code 0 and nothing on stderr when the reader is gone", async () => {
    const file = longRecording()
    const node = JSON.stringify(process.execPath)
    const { status, stdout, stderr } = await shell(
      `${node} ${JSON.stringify(CLI)} replay ${JSON.stringify(file)} --frames | head -n 1; echo "\${PIPESTATUS[0]}"`,
    )
    expect(stdout.split("\n")).toHaveLength(3) // head's one line, the status, the final newline
    expect(stderr).toBe("")
    expect(status).toBe("0")
  }, 60_000)
})
