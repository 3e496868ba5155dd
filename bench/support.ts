/**
 * Helpers shared by the benchmarks (not a benchmark itself: bench/run.ts loads only
 * `*.bench.ts` files).
 */
import { spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/** A `voxstate simulate` running in a child process. */
export interface ChildSimulator {
  /** Its REST base URL, `http://127.0.0.1:PORT/v1` (the WebSocket routes are the same path on `ws:`). */
  readonly httpUrl: string
  /** Stops the child (SIGTERM) and resolves once it has exited. */
  stop(): Promise<void>
}

/**
 * Starts `voxstate simulate` on a free port in a child process, so that the benchmark's own
 * process spends its CPU time on the client alone. Resolves once the simulator has printed its
 * REST base URL; rejects if the child exits first.
 */
export const startChildSimulator = async (): Promise<ChildSimulator> => {
  const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.ts")
  const child = spawn(process.execPath, [cli, "simulate", "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const httpUrl = await new Promise<string>((resolve, reject) => {
    let out = ""
    child.stdout?.setEncoding("utf8")
    child.stdout?.on("data", (chunk: string) => {
      out += chunk
      const match = /REST base URL:\s+(\S+)/.exec(out)
      if (match?.[1] !== undefined) resolve(match[1])
    })
    child.once("exit", (code) => reject(new Error(`simulator exited with ${code}`)))
    child.once("error", reject)
  })
  return {
    httpUrl,
    stop: () => {
      child.kill("SIGTERM")
      return exited
    },
  }
}

/** The `q` quantile (0..1) of ascending `sorted` values: the one at index ⌊q·length⌋ (the last for q = 1); NaN when empty. */
export const quantile = (sorted: ArrayLike<number>, q: number): number =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN)
