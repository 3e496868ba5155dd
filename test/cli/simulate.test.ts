/**
 * The `voxstate simulate` command: run as a real process from source, it prints its URLs,
 * serves clients and stops cleanly on SIGTERM / SIGINT; argument mistakes exit with code 2.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import type { AddressInfo } from "node:net"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { parseCommandLine } from "../../src/cli/program.ts"
import { simulateCommand, simulatorOptionsOf } from "../../src/cli/simulate.ts"
import { main } from "../../src/cli.ts"
import { connect } from "../simulator/realtimeTestClient.ts"

const parseSimulateArgs = async (args: string[]) =>
  simulatorOptionsOf(await parseCommandLine(simulateCommand, args))

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url))
const children: ChildProcess[] = []
/** The last line `simulate` prints once it listens. */
const READY = /Press Ctrl\+C to stop\.\n/

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL")
})

/** Spawns the CLI and resolves once it has printed `until`. */
const run = (args: string[], until: RegExp) => {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] })
  children.push(child)
  let stdout = ""
  let stderr = ""
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const ready = new Promise<string>((resolve, reject) => {
    const check = () => {
      if (until.test(stdout)) resolve(stdout)
    }
    child.stdout?.on("data", check)
    exited.then((code) =>
      reject(new Error(`exited with ${code} before printing ${until}: ${stdout}${stderr}`)),
    )
  })
  return { child, ready, exited, output: () => ({ stdout, stderr }) }
}

describe("voxstate simulate", () => {
  it("prints its URLs and key, serves clients, and stops on SIGTERM with code 0", async () => {
    const proc = run(["simulate", "--port", "0"], READY)
    const printed = await proc.ready
    const transcription = /(ws:\/\/127\.0\.0\.1:\d+\/v1\/realtime\?intent=transcription)/.exec(printed)?.[1]
    expect(printed).toMatch(
      /Realtime \(conversation\):\s+ws:\/\/127\.0\.0\.1:\d+\/v1\/realtime\?model=gpt-realtime/,
    )
    expect(printed).toMatch(/Responses WebSocket:\s+ws:\/\/127\.0\.0\.1:\d+\/v1\/responses/)
    expect(printed).toMatch(/REST base URL:\s+http:\/\/127\.0\.0\.1:\d+\/v1/)
    expect(printed).toContain("sk-simulator")
    expect(transcription).toBeDefined()
    const client = await connect(transcription ?? "", { Authorization: "Bearer sk-simulator" })
    await client.next("session.created")
    proc.child.kill("SIGTERM")
    expect(await proc.exited).toBe(0)
    expect((await client.closed).code).toBe(1006)
    expect(proc.output().stdout).toContain("Stopped (SIGTERM).")
  })

  it("takes a key, or none with --no-auth, and stops on SIGINT", async () => {
    const proc = run(["simulate", "--port", "0", "--no-auth", "--seed", "3"], READY)
    const printed = await proc.ready
    expect(printed).toContain("any (authentication off)")
    const url = /(ws:\/\/\S+\/v1\/realtime\?model=gpt-realtime)/.exec(printed)?.[1] ?? ""
    const client = await connect(url)
    await client.next("session.created")
    client.close()
    proc.child.kill("SIGINT")
    expect(await proc.exited).toBe(0)
  })

  it("exits with code 2 and the usage for an unknown command or option", async () => {
    const unknown = run(["serve"], /$^/)
    unknown.ready.catch(() => undefined)
    expect(await unknown.exited).toBe(2)
    expect(unknown.output().stderr).toMatch(/Unknown subcommand "serve"/)
    expect(unknown.output().stderr.trim().split("\n")).toHaveLength(1)
    const badPort = run(["simulate", "--port", "http"], /$^/)
    badPort.ready.catch(() => undefined)
    expect(await badPort.exited).toBe(2)
    expect(badPort.output().stderr).toContain("--port expects an integer from 0 to 65535, got 'http'")
    expect(badPort.output().stderr.trim().split("\n")).toHaveLength(1)
    const contradiction = run(["simulate", "--no-auth", "--api-key", "k"], /$^/)
    contradiction.ready.catch(() => undefined)
    expect(await contradiction.exited).toBe(2)
    expect(contradiction.output().stderr.trim()).toBe("--api-key and --no-auth cannot be used together")
  }, 90_000) // three processes, one after another: each starts from source, slow on a loaded machine
})

describe("argument parsing", () => {
  it("defaults to port 8787 on 127.0.0.1 with the default key", async () => {
    expect(await parseSimulateArgs([])).toEqual({
      port: 8787,
      host: "127.0.0.1",
      apiKey: "sk-simulator",
      beta: false,
      seed: 1,
      log: false,
      tls: false,
    })
  })

  it("reads every option and refuses contradictions", async () => {
    expect(
      await parseSimulateArgs([
        "--port",
        "9000",
        "--api-key",
        "k",
        "--beta",
        "--seed",
        "5",
        "--host",
        "0.0.0.0",
      ]),
    ).toMatchObject({
      port: 9000,
      apiKey: "k",
      beta: true,
      seed: 5,
      host: "0.0.0.0",
    })
    await expect(parseSimulateArgs(["--no-auth", "--api-key", "k"])).rejects.toThrow(
      "cannot be used together",
    )
    await expect(parseSimulateArgs(["--port", "70000"])).rejects.toThrow("--port expects an integer")
    await expect(parseSimulateArgs(["--port", "1.5"])).rejects.toThrow("--port expects an integer")
    await expect(parseSimulateArgs(["--bogus"])).rejects.toThrow("--bogus")
  })

  it("exits with code 1 and says why when the port is taken", async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    try {
      const port = (taken.address() as AddressInfo).port
      const errors: string[] = []
      const code = await main(["simulate", "--port", String(port)], {
        out: () => {},
        err: (l) => errors.push(l),
      })
      expect(code).toBe(1)
      expect(errors.join("\n")).toMatch(/Could not start the simulator: .*EADDRINUSE/)
    } finally {
      await new Promise((resolve) => taken.close(resolve))
    }
  })

  it("prints the usage for --help without starting anything", async () => {
    const lines: string[] = []
    const code = await main(["simulate", "--help"], { out: (l) => lines.push(l), err: (l) => lines.push(l) })
    expect(code).toBe(0)
    expect(lines).toHaveLength(1)
    for (const flag of ["--port", "--host", "--api-key", "--no-auth", "--beta", "--seed", "--help"]) {
      expect(lines[0]).toContain(flag)
    }
    expect(lines[0]).toContain("Starts the local OpenAI simulator")
  })

  it("prints the usage with exit code 2 when no command is given", async () => {
    const lines: string[] = []
    const capture = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) }
    expect(await main([], capture)).toBe(2)
    expect(lines.join("\n")).toContain("simulate")
  })
})

/** How long the openai Realtime client process may take for its exchange. */
const CLIENT_TIMEOUT_MS = 20_000
const CLIENT = fileURLToPath(new URL("../support/openaiRealtimeClient.ts", import.meta.url))

describe("voxstate --version", () => {
  it("prints the package's version", async () => {
    const lines: string[] = []
    expect(await main(["--version"], { out: (l) => lines.push(l), err: (l) => lines.push(l) })).toBe(0)
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string
    }
    expect(lines).toEqual([version])
  })
})

describe("voxstate simulate --tls, --scenario, --log", () => {
  it(
    "serves wss with a certificate file the openai SDK's Realtime client trusts through NODE_EXTRA_CA_CERTS",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "voxstate-cli-"))
      const scenario = join(dir, "scenario.json")
      writeFileSync(scenario, JSON.stringify({ replies: [{ text: "Scripted over TLS." }] }))
      const proc = run(["simulate", "--port", "0", "--tls", "--scenario", scenario, "--log"], READY)
      const printed = await proc.ready
      const rest = /REST base URL:\s+(https:\/\/127\.0\.0\.1:\d+\/v1)/.exec(printed)?.[1]
      const certificate = /TLS certificate:\s+(\S+)\s+\(trust it: NODE_EXTRA_CA_CERTS=(\S+)\)/.exec(printed)
      expect(printed).toMatch(
        /Realtime \(conversation\):\s+wss:\/\/127\.0\.0\.1:\d+\/v1\/realtime\?model=gpt-realtime/,
      )
      expect(rest).toBeDefined()
      expect(certificate?.[1]).toBe(certificate?.[2])
      const answer = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [CLIENT, rest ?? "", "sk-simulator", String(CLIENT_TIMEOUT_MS)],
          {
            env: { ...process.env, NODE_EXTRA_CA_CERTS: certificate?.[1] ?? "" },
            timeout: CLIENT_TIMEOUT_MS + 5_000,
          },
          (error, stdout, stderr) => resolve({ code: error === null ? 0 : 1, stdout, stderr }),
        )
      })
      expect(answer).toMatchObject({ code: 0, stdout: "wss: Scripted over TLS.\n" })
      // --log traced the connection on the simulator's side.
      expect(proc.output().stdout).toMatch(/#\d+ realtime upgrade \/v1\/realtime\?model=gpt-realtime → open/)
      proc.child.kill("SIGTERM")
      expect(await proc.exited).toBe(0)
    },
    CLIENT_TIMEOUT_MS + 20_000,
  )

  it("exits with code 2 and one line naming the problem for a bad scenario file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "voxstate-cli-"))
    const bad = join(dir, "bad.json")
    writeFileSync(bad, JSON.stringify({ transcript: ["typo"] }))
    const errors: string[] = []
    expect(
      await main(["simulate", "--port", "0", "--scenario", bad], {
        out: () => {},
        err: (l) => errors.push(l),
      }),
    ).toBe(2)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^--scenario .*bad\.json: not a scenario: .*\["transcript"\]/)
    const missing: string[] = []
    expect(
      await main(["simulate", "--scenario", join(dir, "none.json")], {
        out: () => {},
        err: (l) => missing.push(l),
      }),
    ).toBe(2)
    expect(missing[0]).toMatch(/none\.json: ENOENT/)
  })
})
