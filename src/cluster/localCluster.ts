/**
 * A local cluster for development and tests: its storage (a throwaway PostgreSQL, or a SQLite
 * file in a temporary directory with `storage: "sqlite"`, unless a URL is given), N runner
 * processes (`voxstate runner`, each its own event loop), a cluster client
 * and a front door in this process. Runners can be added, drained (SIGTERM) or killed
 * (SIGKILL) one by one; `stop()` leaves no process, socket or row behind.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { ClusterError } from "./ClusterError.ts"
import { type ClusterClient, connectCluster } from "./client.ts"
import type { ClusterTimings } from "./config.ts"
import { type FrontDoor, type FrontDoorOptions, startFrontDoor } from "./frontDoor.ts"
import { type LocalPostgres, startLocalPostgres } from "./localPostgres.ts"
import { sqliteUrl } from "./storage.ts"

/** A runner process of a {@link LocalCluster}. */
export interface RunnerProcess {
  readonly pid: number
  /** The cluster address, `host:port`. */
  readonly address: string
  readonly mediaUrl: string
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<number | NodeJS.Signals>
  /** SIGKILL: the runner dies without a word. */
  kill(): Promise<void>
  /** SIGTERM: the runner drains (calls leave at quiet moments) and exits. */
  drain(): Promise<void>
}

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /** Runner processes to start (default 2). */
  readonly runners?: number
  /** Calls per runner at most, whatever its CPU (the runner's default: 1000). */
  readonly budget?: number
  /** Each runner's CPU budget, in cores (the runner's default: 0.7). */
  readonly cpuBudget?: number
  /** The CPU each call is counted for, in cores (the runner's default: the benchmark's figure). */
  readonly callCost?: number
  /**
   * The throwaway storage made when no `databaseUrl` is given: a PostgreSQL server (default)
   * or a SQLite file that every runner process opens.
   */
  readonly storage?: "postgres" | "sqlite"
  /** An existing storage, `postgres://...` or `sqlite:FILE`; default a throwaway one. */
  readonly databaseUrl?: string
  /** The runners' environment (their OpenAI endpoint); default `process.env`. */
  readonly env?: Record<string, string | undefined>
  /** A module exporting `agent` (a `defineAgent` result) for the runners; default a plain agent. */
  readonly agentModule?: string
  readonly timings?: Partial<ClusterTimings>
  /** The front door's options besides the client (default: proxy on a free port). */
  readonly frontDoor?: Omit<FrontDoorOptions, "client">
  /** Lines the runners write on stderr. */
  readonly onRunnerLog?: (pid: number, line: string) => void
}

/** A running local cluster. */
export interface LocalCluster {
  readonly databaseUrl: string
  readonly client: ClusterClient
  readonly frontDoor: FrontDoor
  /** The runner processes alive, in start order. */
  readonly runners: () => readonly RunnerProcess[]
  /** Starts one more runner process. */
  addRunner(): Promise<RunnerProcess>
  /** Drains every runner, closes the front door and client, stops a throwaway database. */
  stop(): Promise<void>
}

const cliPath = (): string => {
  const own = import.meta.url
  return fileURLToPath(new URL(own.endsWith(".ts") ? "../cli.ts" : "../cli.js", own))
}

/** Spawns `voxstate runner` and resolves once it prints its ready line. @internal */
export const spawnRunner = (options: {
  readonly databaseUrl: string
  readonly budget?: number
  readonly cpuBudget?: number
  readonly callCost?: number
  readonly env?: Record<string, string | undefined>
  readonly agentModule?: string
  readonly timings?: Partial<ClusterTimings>
  readonly onLog?: (pid: number, line: string) => void
}): Promise<RunnerProcess> => {
  const args = [cliPath(), "runner", "--storage", options.databaseUrl]
  if (options.budget !== undefined) args.push("--budget", String(options.budget))
  if (options.cpuBudget !== undefined) args.push("--cpu-budget", String(options.cpuBudget))
  if (options.callCost !== undefined) args.push("--call-cost", String(options.callCost))
  if (options.agentModule !== undefined) args.push("--agent", options.agentModule)
  const env = {
    ...(options.env ?? process.env),
    PATH: process.env.PATH,
    ...(options.timings === undefined ? {} : { VOXSTATE_CLUSTER_TIMINGS: JSON.stringify(options.timings) }),
  }
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env })
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? code ?? 0)),
  )
  let stderr = ""
  child.stderr?.setEncoding("utf8")
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
    for (const line of chunk.split("\n")) if (line.trim() !== "") options.onLog?.(child.pid ?? -1, line)
  })
  return new Promise((resolve, reject) => {
    let buffer = ""
    child.stdout?.setEncoding("utf8")
    child.stdout?.on("data", (chunk: string) => {
      buffer += chunk
      let newline = buffer.indexOf("\n")
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim()
        buffer = buffer.slice(newline + 1)
        newline = buffer.indexOf("\n")
        if (!line.startsWith("{")) continue
        try {
          const ready = JSON.parse(line) as { type?: string; runner?: string; media?: string }
          if (ready.type !== "ready" || ready.runner === undefined || ready.media === undefined) continue
          const pid = child.pid ?? -1
          const signal = async (name: NodeJS.Signals) => {
            if (child.exitCode === null && child.signalCode === null) child.kill(name)
            await exited
          }
          resolve({
            pid,
            address: ready.runner,
            mediaUrl: ready.media,
            exited,
            kill: () => signal("SIGKILL"),
            drain: () => signal("SIGTERM"),
          })
        } catch {
          // not the ready line
        }
      }
    })
    exited.then((code) =>
      reject(
        new ClusterError({ reason: "Runner", message: `The runner exited (${code}): ${stderr.trim()}` }),
      ),
    )
  })
}

/**
 * Starts a local cluster.
 * @throws {ClusterError} `Storage` when the storage cannot start, `Runner` when a runner cannot
 */
export const startLocalCluster = async (options: LocalClusterOptions = {}): Promise<LocalCluster> => {
  const throwaway = options.databaseUrl === undefined
  const postgres: LocalPostgres | undefined =
    throwaway && options.storage !== "sqlite" ? await startLocalPostgres() : undefined
  // The SQLite file and its WAL and shared-memory files, in a directory of their own.
  const sqliteDir =
    throwaway && options.storage === "sqlite" ? mkdtempSync(join(tmpdir(), "voxstate-sqlite-")) : undefined
  const databaseUrl =
    options.databaseUrl ??
    postgres?.url ??
    (sqliteDir === undefined ? "" : sqliteUrl(join(sqliteDir, "cluster.db")))
  const alive: RunnerProcess[] = []
  const addRunner = async () => {
    const runner = await spawnRunner({
      databaseUrl,
      ...(options.budget === undefined ? {} : { budget: options.budget }),
      ...(options.cpuBudget === undefined ? {} : { cpuBudget: options.cpuBudget }),
      ...(options.callCost === undefined ? {} : { callCost: options.callCost }),
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.agentModule === undefined ? {} : { agentModule: options.agentModule }),
      ...(options.timings === undefined ? {} : { timings: options.timings }),
      ...(options.onRunnerLog === undefined ? {} : { onLog: options.onRunnerLog }),
    })
    alive.push(runner)
    void runner.exited.then(() => {
      const i = alive.indexOf(runner)
      if (i >= 0) alive.splice(i, 1)
    })
    return runner
  }
  let client: ClusterClient | undefined
  let frontDoor: FrontDoor | undefined
  const stopAll = async () => {
    await frontDoor?.close()
    await Promise.all([...alive].map((r) => r.drain()))
    await client?.close()
    await postgres?.stop()
    if (sqliteDir !== undefined) rmSync(sqliteDir, { recursive: true, force: true })
  }
  try {
    // The first runner creates the cluster's tables; the others start beside each other.
    await addRunner()
    await Promise.all(Array.from({ length: Math.max(0, (options.runners ?? 2) - 1) }, () => addRunner()))
    client = await connectCluster({
      databaseUrl,
      ...(options.timings === undefined ? {} : { timings: options.timings }),
    })
    frontDoor = await startFrontDoor({ ...options.frontDoor, client })
  } catch (error) {
    await stopAll()
    throw error
  }
  const ready = { client, frontDoor }
  let stopping: Promise<void> | undefined
  return {
    databaseUrl,
    client: ready.client,
    frontDoor: ready.frontDoor,
    runners: () => [...alive],
    addRunner,
    stop: () => {
      stopping ??= stopAll()
      return stopping
    },
  }
}
