/**
 * A throwaway PostgreSQL server for a local cluster and its tests: `initdb` into a temporary
 * directory, `postgres` listening on 127.0.0.1 at a free port (trust authentication, no
 * fsync), stopped and its directory removed by `stop()`. It runs the binaries of the machine's
 * PostgreSQL package (`postgres` and `initdb` on the PATH, or under /usr/lib/postgresql/<n>/bin);
 * as root, the server runs as the `postgres` user, which PostgreSQL requires.
 * @module
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { promisify } from "node:util"
import { ClusterError } from "./ClusterError.ts"

const run = promisify(execFile)

/** A running local PostgreSQL. */
export interface LocalPostgres {
  /** `postgres://voxstate@127.0.0.1:PORT/voxstate`. */
  readonly url: string
  readonly port: number
  /** The server's process id. */
  readonly pid: number
  /** Stops the server (fast shutdown) and removes its directory. Idempotent. */
  stop(): Promise<void>
}

/** Options of {@link startLocalPostgres}. */
export interface LocalPostgresOptions {
  /** Directory of `initdb` and `postgres` (default: found on the PATH or under /usr/lib/postgresql). */
  readonly binDir?: string
  /** How long to wait for the server to accept connections, in ms (default 20 000). */
  readonly startTimeoutMs?: number
}

const findBinDir = (): string => {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    // The PATH holds links; the package's bin directory beside them has createdb too.
    if (dir !== "" && existsSync(join(dir, "postgres")) && existsSync(join(dir, "initdb")))
      return dirname(realpathSync(join(dir, "postgres")))
  }
  const root = "/usr/lib/postgresql"
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a))
    for (const v of versions) if (existsSync(join(root, v, "bin", "postgres"))) return join(root, v, "bin")
  }
  throw new ClusterError({ reason: "Storage", message: "No PostgreSQL binaries (postgres, initdb) found" })
}

/** A free TCP port on 127.0.0.1. @internal */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const asPostgresUser = (command: string, args: readonly string[]): [string, string[]] =>
  process.getuid?.() === 0
    ? ["setpriv", ["--reuid=postgres", "--regid=postgres", "--clear-groups", command, ...args]]
    : [command, [...args]]

/**
 * Starts a fresh PostgreSQL in a temporary directory.
 * @throws {ClusterError} `Storage` when the binaries are missing or the server does not start
 */
export const startLocalPostgres = async (options: LocalPostgresOptions = {}): Promise<LocalPostgres> => {
  const bin = options.binDir ?? findBinDir()
  const dir = mkdtempSync(join(tmpdir(), "voxstate-pg-"))
  const data = join(dir, "data")
  const cleanup = () => rmSync(dir, { recursive: true, force: true })
  try {
    if (process.getuid?.() === 0) {
      const { stdout } = await run("id", ["-u", "postgres"])
      const { stdout: gid } = await run("id", ["-g", "postgres"])
      chownSync(dir, Number(stdout.trim()), Number(gid.trim()))
    }
    const [initdb, initArgs] = asPostgresUser(join(bin, "initdb"), [
      "-D",
      data,
      "--auth=trust",
      "-U",
      "voxstate",
      "--no-sync",
      "-E",
      "UTF8",
    ])
    await run(initdb, initArgs)
  } catch (error) {
    cleanup()
    throw new ClusterError({ reason: "Storage", message: `initdb failed: ${String(error)}` })
  }
  const port = await freePort()
  const [postgres, args] = asPostgresUser(join(bin, "postgres"), [
    "-D",
    data,
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=300",
  ])
  const child: ChildProcess = spawn(postgres, args, { stdio: ["ignore", "ignore", "pipe"] })
  let log = ""
  child.stderr?.setEncoding("utf8")
  child.stderr?.on("data", (chunk: string) => {
    log = (log + chunk).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), options.startTimeoutMs ?? 20_000)
    const check = () => {
      if (log.includes("ready to accept connections")) {
        clearTimeout(timer)
        resolve(true)
      } else if (child.exitCode !== null) {
        clearTimeout(timer)
        resolve(false)
      } else setTimeout(check, 50)
    }
    check()
  })
  if (!ready) {
    child.kill("SIGKILL")
    await exited
    cleanup()
    throw new ClusterError({ reason: "Storage", message: `postgres did not start: ${log.trim()}` })
  }
  // createdb through the server itself: the `voxstate` role owns the `postgres` database.
  const [createdb, createArgs] = asPostgresUser(join(bin, "createdb"), [
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-U",
    "voxstate",
    "voxstate",
  ])
  try {
    await run(createdb, createArgs)
  } catch (error) {
    child.kill("SIGKILL")
    await exited
    cleanup()
    throw new ClusterError({ reason: "Storage", message: `createdb failed: ${String(error)}` })
  }
  let stopping: Promise<void> | undefined
  return {
    url: `postgres://voxstate@127.0.0.1:${port}/voxstate`,
    port,
    pid: child.pid ?? -1,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode === null) {
          // SIGINT is PostgreSQL's fast shutdown: open sessions are ended.
          child.kill("SIGINT")
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
          await exited
          clearTimeout(timer)
        }
        cleanup()
      })()
      return stopping
    },
  }
}
