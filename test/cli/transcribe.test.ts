/**
 * `voxstate transcribe FILE` run as a real process from source against the simulator in
 * that process: a line per turn when streaming, one text in batch, `-o` writes a file,
 * progress on stderr (plain lines: stderr is a pipe here), a missing or broken file is one
 * line and exit code 1, a usage mistake exit code 2, `--help` lists the flags.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { encodeWav } from "../../src/audio/index.ts"
import { progressBar } from "../../src/cli/transcribe.ts"
import { concatPcm, silence, synthesizeSpeech } from "../../src/simulator/index.ts"

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "voxstate-transcribe-"))

/** Runs `voxstate ...args` with no credential in the environment (or with `extraEnv`). */
const voxstate = (args: readonly string[], extraEnv: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const env = { ...process.env }
    delete env.OPENAI_API_KEY
    Object.assign(env, extraEnv)
    execFile(process.execPath, [CLI, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }),
    )
  })

/** Two spoken turns with a pause between them, as a 48 kHz stereo WAV (any format is taken). */
const twoTurns = (): string => {
  const mono = concatPcm(
    silence(300),
    synthesizeSpeech("hello there my friend"),
    silence(1_200),
    synthesizeSpeech("how is the weather today"),
    silence(800),
  )
  // 24 kHz mono to 48 kHz stereo by repeating each sample (the session resamples and mixes down).
  const data = new Int16Array(mono.length * 4)
  for (let i = 0; i < mono.length; i++) data.fill(mono[i] ?? 0, i * 4, i * 4 + 4)
  const path = join(dir, "two.wav")
  writeFileSync(path, encodeWav({ data, sampleRateHz: 48_000, channels: 2 }))
  return path
}

describe("voxstate transcribe", () => {
  it("streams the file: one line per turn on stdout, progress lines on stderr", async () => {
    const result = await voxstate(["transcribe", twoTurns(), "--simulator"])
    expect(result.code).toBe(0)
    // The simulator's voice carries its words, and its transcriber hears them.
    expect(result.stdout).toBe("hello there my friend\nhow is the weather today\n")
    const progress = result.stderr.trim().split("\n")
    expect(progress[0]).toMatch(/^transcribe: 0% \(0\.0 s of \d+\.\d s\)$/)
    expect(progress.at(-1)).toMatch(/^transcribe: 100% \((\d+\.\d) s of \1 s\)$/)
  }, 40_000)

  it("sends the file in one batch request and writes the text with -o", async () => {
    const out = join(dir, "batch.txt")
    const result = await voxstate(["transcribe", twoTurns(), "--batch", "-o", out, "--simulate"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/gpt-4o-mini-transcribe \(simulator, batch\) → .*batch\.txt: 1 line\n$/)
    expect(readFileSync(out, "utf8")).toBe("hello there my friend how is the weather today\n")
    expect(result.stderr).toContain("transcribe: 100% (1 of 1 parts)")
  }, 40_000)

  it("reports a missing file and a file that is not WAV in one line, exit code 1", async () => {
    const missing = await voxstate(["transcribe", join(dir, "nope.wav"), "--simulator"])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^transcribe: cannot read .*nope\.wav: ENOENT\n$/)
    const text = join(dir, "text.wav")
    writeFileSync(text, "not audio at all")
    const broken = await voxstate(["transcribe", text, "--simulator"])
    expect(broken.code).toBe(1)
    expect(broken.stderr.trim().split("\n")).toHaveLength(1)
    expect(broken.stderr).toContain("is not a PCM16 WAV file")
  }, 40_000)

  it("reports a refused credential in one line with the key scrubbed, exit code 1", async () => {
    const key = "test-key-abcdef123456"
    // An endpoint that refuses the key and echoes it back, as some proxies do.
    const server = createServer((request, response) => {
      request.resume()
      request.on("end", () => {
        response.writeHead(401, { "content-type": "application/json" })
        response.end(
          JSON.stringify({
            error: { message: `Incorrect API key provided: ${key}`, code: "invalid_api_key" },
          }),
        )
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
    try {
      const { port } = server.address() as AddressInfo
      const result = await voxstate(["transcribe", twoTurns(), "--batch"], {
        OPENAI_API_KEY: key,
        OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
      })
      expect(result.code).toBe(1)
      expect(result.stdout).toBe("")
      const errors = result.stderr
        .split("\n")
        .filter((line) => line !== "" && !/^transcribe: \d+%/.test(line))
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatch(/^transcribe: /)
      expect(result.stderr).not.toContain(key)
      expect(errors[0]).toContain("401")
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }, 40_000)

  it("exits with code 2 without FILE, and lists its flags under --help", async () => {
    const usage = await voxstate(["transcribe"])
    expect(usage.code).toBe(2)
    expect(usage.stderr.trim().split("\n")).toHaveLength(1)
    const help = await voxstate(["transcribe", "--help"])
    expect(help.code).toBe(0)
    for (const flag of ["--batch", "--model", "--language", "--output", "-o", "--simulator"]) {
      expect(help.stdout).toContain(flag)
    }
  }, 40_000)

  it("draws the terminal's bar from the progress", () => {
    expect(progressBar({ done: 1.5, total: 3, unit: "s" })).toBe(
      `[${"#".repeat(15)}${"-".repeat(15)}]  50%  1.5 s of 3.0 s`,
    )
    expect(progressBar({ done: 2, total: 2, unit: "parts" })).toBe(`[${"#".repeat(30)}] 100%  2 of 2 parts`)
  })
})
