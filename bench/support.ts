/**
 * Helpers shared by the benchmarks (not a benchmark itself: bench/run.ts loads only
 * `*.bench.ts` files).
 */
import { spawn } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector"
import { dirname, join } from "node:path"
import type { EventLoopUtilization } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import WebSocket from "ws"
import { synthesizeSpeech } from "../src/simulator/index.ts"

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

/** `durationMs` of the simulator's synthetic voice saying `text` (then silence), as interleaved stereo at `rateHz`. */
export const stereoVoice = (
  text: string,
  rateHz: number,
  durationMs: number,
  tailSilenceMs = 0,
): Int16Array => {
  const voice = synthesizeSpeech(text, { sampleRateHz: rateHz })
  const mono = new Int16Array((rateHz * durationMs) / 1000)
  const room = Math.max(0, mono.length - (rateHz * tailSilenceMs) / 1000)
  mono.set(voice.subarray(0, Math.min(voice.length, room)))
  const stereo = new Int16Array(mono.length * 2)
  for (let i = 0; i < mono.length; i++) {
    stereo[2 * i] = mono[i] ?? 0
    stereo[2 * i + 1] = mono[i] ?? 0
  }
  return stereo
}

/** Calls `tick(i)` for i = 0..count-1 every `periodMs`, on a drift-corrected schedule. */
export const paced = (count: number, periodMs: number, tick: (i: number) => void): Promise<void> =>
  new Promise((resolve) => {
    const start = performance.now()
    let i = 0
    const step = (): void => {
      while (i < count && performance.now() >= start + i * periodMs) tick(i++)
      if (i >= count) resolve()
      else setTimeout(step, Math.max(0, start + i * periodMs - performance.now()))
    }
    step()
  })

/** The session counts named on the command line (`npm run bench -- sessions 10 100`), else `defaults`. */
export const countsFromArgv = (defaults: readonly number[]): readonly number[] => {
  const wanted = process.argv
    .slice(2)
    .map(Number)
    .filter((v) => Number.isInteger(v) && v > 0)
  return wanted.length > 0 ? wanted : defaults
}

/** The value of a `name=value` argument on the command line (`appendMs=20`), if any. */
export const argOf = (name: string): string | undefined => {
  const prefix = `${name}=`
  return process.argv
    .slice(2)
    .find((a) => a.startsWith(prefix))
    ?.slice(prefix.length)
}

/** `v` with `digits` decimals, or `-` when it is not a finite number. */
export const fixed = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : "-")

/** Resolves once `predicate` holds, checking every 10 ms; rejects after `timeoutMs`. */
export const waitFor = async (predicate: () => boolean, what: string, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen in ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Options of {@link openRawSocket}. */
export interface RawSocketOptions {
  /** The WebSocket URL. */
  readonly url: string
  readonly apiKey: string
  /** The `session.update` sent on `session.created`; the promise resolves on `session.updated`. */
  readonly sessionUpdate: unknown
  /** Every server frame after `session.updated`, parsed. */
  readonly onEvent: (event: { readonly type: string; readonly [key: string]: unknown }, at: number) => void
}

/** A raw `ws` client of the Realtime socket, configured by one `session.update`: the baselines' client. */
export const openRawSocket = (options: RawSocketOptions): Promise<WebSocket> =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(options.url, {
      headers: { Authorization: `Bearer ${options.apiKey}` },
      perMessageDeflate: false,
    })
    let configured = false
    ws.on("message", (data) => {
      const at = performance.now()
      const event = JSON.parse(String(data)) as { type: string }
      if (configured) options.onEvent(event, at)
      else if (event.type === "session.created") ws.send(JSON.stringify(options.sessionUpdate))
      else if (event.type === "session.updated") {
        configured = true
        resolve(ws)
      }
    })
    ws.once("error", reject)
  })

/** Closes raw sockets (1000) and resolves once every one has closed. */
export const closeRawSockets = (sockets: readonly WebSocket[]): Promise<void> =>
  Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve()
          ws.once("close", () => resolve())
          ws.close(1000)
        }),
    ),
  ).then(() => undefined)

/** Event-loop utilization (0..1) between two readings of `performance.eventLoopUtilization()`. */
export const eluSince = (start: EventLoopUtilization): number =>
  performance.eventLoopUtilization(start).utilization

export type { EventLoopUtilization }

/**
 * Runs `work` under the V8 CPU profiler when the command line has `cpuprof=DIR` and writes
 * `DIR/<name>.cpuprofile` (for the phase a benchmark measures, without its set-up); otherwise
 * just runs it.
 */
export const profiled = async <A>(name: string, work: () => Promise<A>): Promise<A> => {
  const dir = argOf("cpuprof")
  if (dir === undefined) return work()
  const session = new Session()
  session.connect()
  const post = (method: string): Promise<unknown> =>
    new Promise((resolve, reject) =>
      session.post(method, (error, result) => (error === null ? resolve(result) : reject(error))),
    )
  await post("Profiler.enable")
  await post("Profiler.start")
  try {
    return await work()
  } finally {
    const { profile } = (await post("Profiler.stop")) as { profile: unknown }
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
    session.disconnect()
  }
}
