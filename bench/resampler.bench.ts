/**
 * The session input path: 48 kHz stereo → 24 kHz mono (mixdown + resample) in 20 ms chunks.
 * Speed (x-realtime, µs per chunk) and quality of voxstate's converter against two
 * baselines run in the same process: a naive linear interpolator (after voxstate's
 * `toMono`) and libsamplerate's SINC_FASTEST (WebAssembly, mixdown into its float input). `npm run bench -- resampler`
 */
import { cpus, loadavg } from "node:os"
import LibSampleRate from "@alexanderolsen/libsamplerate-js"
import { createPcmConverter, createResampler, toMono } from "../src/audio/index.ts"
import { concat, measureQuality, noise, type QualityFigures, tone } from "../test/audio/signals.ts"
import { quantile } from "./support.ts"

const fromHz = 48_000
const toHz = 24_000
const chunkFrames = fromHz / 50
const seconds = 20
const runs = 15
/**
 * Untimed warm-up of each implementation before any timing, in milliseconds of its own
 * running time. V8 needs some 15 000 pushes (a few hundred milliseconds) before the
 * kernels run their optimised code; with a single warm-up round the whole-run figures
 * measured half-optimised code while the per-chunk figures (taken later) did not.
 */
const warmupMs = 800

type Push = (chunk: Int16Array) => number

/** A speech-like stereo test signal: modulated harmonics plus noise, different per channel. */
const makeInput = (): Int16Array => {
  const n = fromHz * seconds
  const a = tone(180, fromHz, n, 6000)
  const b = tone(2300, fromHz, n, 3000)
  const c = noise(n, 1500, 42)
  const out = new Int16Array(2 * n)
  for (let i = 0; i < n; i++) {
    const env = 0.5 + 0.5 * Math.sin((2 * Math.PI * 3 * i) / fromHz)
    const l = env * (a[i]! + b[i]!) + c[i]!
    out[2 * i] = Math.round(l)
    out[2 * i + 1] = Math.round(0.8 * l - 0.3 * c[i]!)
  }
  return out
}

const clip = (v: number) => (v > 32767 ? 32767 : v < -32768 ? -32768 : v)

/**
 * The naive baseline: mixdown, then linear interpolation between neighbouring input
 * samples (no anti-alias filter), streamed with the last sample carried over.
 */
const createLinear = (inHz: number, outHz: number) => {
  const step = inHz / outHz
  let t = 0 // input time of the next output (in input samples since the start)
  let offset = 0 // input index of the chunk's first sample
  let prev = 0 // the sample before the chunk
  return (mono: Int16Array): Int16Array => {
    const n = mono.length
    const last = offset + n - 1
    // Outputs whose right neighbour x[⌊t⌋ + 1] has arrived.
    const count = Math.max(0, Math.ceil((last - t) / step))
    const out = new Int16Array(count)
    for (let o = 0; o < count; o++, t += step) {
      const i = Math.floor(t)
      const f = t - i
      const x0 = i < offset ? prev : mono[i - offset]!
      const x1 = mono[i + 1 - offset]!
      out[o] = clip(Math.round(x0 + f * (x1 - x0)))
    }
    offset += n
    if (n > 0) prev = mono[n - 1]!
    return out
  }
}

interface SpeedFigures {
  /**
   * Audio seconds per second of the process's CPU time, fastest and median whole run.
   * CPU time leaves out the time other processes held the core, so on a busy machine it
   * stays close to what an idle core gives, where wall-clock runs do not.
   */
  readonly xRealtimeCpuBest: number
  readonly xRealtimeCpuMedian: number
  /** Audio seconds per wall-clock second, fastest whole run. */
  readonly xRealtimeWallBest: number
  readonly p50Us: number
  readonly p99Us: number
}

/**
 * Streams the input through fresh instances of each implementation, taking turns so that
 * load from other processes falls on all of them alike: warm-up rounds first (see
 * `warmupMs`), then `runs` timed rounds. Whole runs give x-realtime; a second set of rounds
 * times every chunk for the percentiles (per-chunk timing adds its own overhead, so it is
 * kept out of the first).
 */
const measureSpeed = (
  input: Int16Array,
  impls: Record<string, () => Push>,
): { figures: Record<string, SpeedFigures>; warmup: number } => {
  const chunk = chunkFrames * 2
  const chunks = input.length / chunk
  const names = Object.keys(impls)
  const cpuMs = new Map(names.map((n) => [n, [] as number[]]))
  const wallMs = new Map(names.map((n) => [n, [] as number[]]))
  const perChunk = new Map(names.map((n) => [n, new Float64Array(chunks * runs)]))
  let sink = 0
  /** Streams the whole input through a fresh instance; returns the CPU and wall-clock milliseconds. */
  const wholeRun = (name: string): { cpu: number; wall: number } => {
    const push = impls[name]!()
    const cpuStart = process.cpuUsage()
    const start = performance.now()
    for (let c = 0; c < chunks; c++) sink += push(input.subarray(c * chunk, (c + 1) * chunk))
    const wall = performance.now() - start
    const { user, system } = process.cpuUsage(cpuStart)
    return { cpu: (user + system) / 1000, wall }
  }
  // No forced GC between runs: with a forced full collection before each run, whole runs
  // went at half the speed of the same chunks timed singly, and used more CPU time than
  // wall-clock time (collector threads busy during the run). One collection first clears
  // what earlier benchmarks in this process left.
  globalThis.gc?.()
  // Warm-up in turns too; an implementation stops once it has had its `warmupMs`.
  const warmedMs = new Map(names.map((n) => [n, 0]))
  let warmup = 0
  for (; names.some((n) => warmedMs.get(n)! < warmupMs); warmup++) {
    for (const name of names) {
      if (warmedMs.get(name)! < warmupMs) warmedMs.set(name, warmedMs.get(name)! + wholeRun(name).wall)
    }
  }
  for (let run = 0; run < runs; run++) {
    for (const name of names) {
      const { cpu, wall } = wholeRun(name)
      cpuMs.get(name)!.push(cpu)
      wallMs.get(name)!.push(wall)
    }
  }
  for (let run = 0; run < runs; run++) {
    for (const name of names) {
      const push = impls[name]!()
      const times = perChunk.get(name)!
      for (let c = 0; c < chunks; c++) {
        const t0 = performance.now()
        sink += push(input.subarray(c * chunk, (c + 1) * chunk))
        times[run * chunks + c] = (performance.now() - t0) * 1000
      }
    }
  }
  if (sink < 0) console.log(sink)
  const figures: Record<string, SpeedFigures> = {}
  for (const name of names) {
    const cpu = cpuMs.get(name)!.sort((a, b) => a - b)
    const wall = wallMs.get(name)!.sort((a, b) => a - b)
    const times = perChunk.get(name)!.sort()
    figures[name] = {
      xRealtimeCpuBest: (seconds * 1000) / cpu[0]!,
      xRealtimeCpuMedian: (seconds * 1000) / cpu[Math.floor(cpu.length / 2)]!,
      xRealtimeWallBest: (seconds * 1000) / wall[0]!,
      p50Us: quantile(times, 0.5),
      p99Us: quantile(times, 0.99),
    }
  }
  return { figures, warmup }
}

const fixed = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : String(v))

export default async () => {
  const input = makeInput()
  const src = await LibSampleRate.create(1, fromHz, toHz, {
    converterType: LibSampleRate.ConverterType.SRC_SINC_FASTEST,
  })

  const ours = (): Push => {
    const converter = createPcmConverter({ targetRateHz: toHz })
    return (chunk) => converter.push({ data: chunk, sampleRateHz: fromHz, channels: 2 }).length
  }
  const linear = (): Push => {
    const resample = createLinear(fromHz, toHz)
    return (chunk) => resample(toMono({ data: chunk, sampleRateHz: fromHz, channels: 2 })).length
  }
  const libsamplerate = (): Push => {
    const f32 = new Float32Array(chunkFrames)
    const out = new Float32Array(chunkFrames)
    const frames = { frames: 0 }
    return (chunk) => {
      for (let i = 0, j = 0; i < chunkFrames; i++, j += 2) f32[i] = (chunk[j]! + chunk[j + 1]!) / 65536
      src.full(f32, out, frames)
      const pcm = new Int16Array(frames.frames)
      for (let i = 0; i < frames.frames; i++) pcm[i] = clip(Math.round(out[i]! * 32768))
      return pcm.length
    }
  }

  const { figures: speed, warmup } = measureSpeed(input, {
    voxstate: ours,
    linear,
    "libsamplerate SINC_FASTEST": libsamplerate,
  })
  const base = speed.voxstate!
  console.log(
    `48 kHz stereo → 24 kHz mono, mixdown + resample, ${seconds} s streamed in 20 ms chunks; ${runs} timed runs each after ${warmupMs} ms of warm-up each (${warmup} rounds), one core`,
  )
  console.log(
    `load average ${loadavg()[0]!.toFixed(2)} on ${cpus().length} CPUs. x-realtime is audio time over the process's CPU time; the wall-clock column and p99 also count time lost to other processes`,
  )
  console.log(
    "impl                        x-realtime CPU best / median   wall best   p50 µs/chunk  p99 µs/chunk   voxstate speed-up (CPU best / p50)",
  )
  for (const [name, s] of Object.entries(speed)) {
    const xrt = `${fixed(s.xRealtimeCpuBest, 0)}x / ${fixed(s.xRealtimeCpuMedian, 0)}x`
    const speedup = `${fixed(base.xRealtimeCpuBest / s.xRealtimeCpuBest, 2)}x / ${fixed(s.p50Us / base.p50Us, 2)}x`
    console.log(
      `${name.padEnd(28)}${xrt.padStart(28)}${`${fixed(s.xRealtimeWallBest, 0)}x`.padStart(12)}${fixed(s.p50Us, 2).padStart(15)}${fixed(s.p99Us, 2).padStart(14)}${speedup.padStart(35)}`,
    )
  }

  const quality: Record<string, QualityFigures> = {
    voxstate: measureQuality(
      (x) => {
        const r = createResampler({ fromHz, toHz })
        return concat([r.push(x), r.flush()])
      },
      fromHz,
      toHz,
    ),
    linear: measureQuality((x) => createLinear(fromHz, toHz)(x), fromHz, toHz),
    "libsamplerate SINC_FASTEST": measureQuality(
      (x) => {
        const f = new Float32Array(x.length)
        for (let i = 0; i < x.length; i++) f[i] = x[i]! / 32768
        const y = src.simple(f)
        const pcm = new Int16Array(y.length)
        for (let i = 0; i < y.length; i++) pcm[i] = clip(Math.round(y[i]! * 32768))
        return pcm
      },
      fromHz,
      toHz,
    ),
  }
  src.destroy()
  const latencyMs = (createResampler({ fromHz, toHz }).delaySamples / fromHz) * 1000
  console.log(
    "\nquality, 48 → 24 kHz (SNR of a -6 dBFS 997 Hz tone; worst alias of 0 dBFS 13–23 kHz tones; output rounded to PCM16)",
  )
  console.log("impl                          SNR dB  worst alias dB (at Hz)  gain@10k dB  group delay ms")
  for (const [name, q] of Object.entries(quality)) {
    console.log(
      `${name.padEnd(30)}${fixed(q.snrDb).padStart(6)}${`${fixed(q.worstAliasDb)} (${q.worstAliasHz})`.padStart(24)}${fixed(q.gain10kDb, 4).padStart(13)}${fixed(q.groupDelayMs, 3).padStart(16)}`,
    )
  }
  console.log(`voxstate streaming latency (filter look-ahead held back by push): ${latencyMs.toFixed(2)} ms`)
}
