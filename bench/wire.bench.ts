/**
 * The per-frame wire cost of the session input path: one 20 ms frame of 48 kHz stereo →
 * mixdown + resample to 24 kHz mono → base64 → `input_audio_buffer.append` JSON text.
 * Each stage is timed alone, then the whole path, and the event encode is compared with
 * `JSON.stringify` of the event object. `npm run bench -- wire`
 */
import { Buffer } from "node:buffer"
import { createPcmConverter, pcm16ToBase64 } from "../src/audio/index.ts"
import { encodeAudioAppend } from "../src/protocol/index.ts"
import { noise, tone } from "../test/audio/signals.ts"

const fromHz = 48_000
const frameSamples = (fromHz / 50) * 2
const frames = 2000
const runs = 11
/** Each step is first run untimed for at least this long, so V8 has optimised it. */
const warmupMs = 500

/** Mean CPU µs per frame: of the fastest run (the least disturbed by other load) and the median run. */
interface PerFrame {
  readonly best: number
  readonly median: number
}

/**
 * Mean CPU µs per frame of `step` over `runs` runs, after at least `warmupMs` of warm-up
 * runs. CPU time (of the whole process) rather than wall-clock time, so that time other
 * processes hold the core does not count.
 */
const perFrameUs = (step: (frame: number) => number): PerFrame => {
  const means: number[] = []
  let sink = 0
  // One forced GC before the warm-up, none between timed runs (see resampler.bench.ts).
  globalThis.gc?.()
  const warmupStart = performance.now()
  for (let run = 0; run < 2 || performance.now() - warmupStart < warmupMs; run++) {
    for (let f = 0; f < frames; f++) sink += step(f)
  }
  for (let run = 0; run < runs; run++) {
    const start = process.cpuUsage()
    for (let f = 0; f < frames; f++) sink += step(f)
    const { user, system } = process.cpuUsage(start)
    means.push((user + system) / frames)
  }
  if (sink < 0) console.log(sink)
  means.sort((a, b) => a - b)
  return { best: means[0]!, median: means[Math.floor(means.length / 2)]! }
}

export default async () => {
  const n = (frameSamples / 2) * frames
  const a = tone(220, fromHz, n, 8000)
  const b = noise(n, 2000, 7)
  const input = new Int16Array(2 * n)
  for (let i = 0; i < n; i++) {
    input[2 * i] = a[i]! + b[i]!
    input[2 * i + 1] = a[i]! - b[i]!
  }
  const frameAt = (f: number) => input.subarray(f * frameSamples, (f + 1) * frameSamples)

  // Precomputed inputs of the later stages, so each stage is timed alone.
  const pre = createPcmConverter({ targetRateHz: 24_000 })
  const mono24k: Int16Array[] = []
  for (let f = 0; f < frames; f++)
    mono24k.push(pre.push({ data: frameAt(f), sampleRateHz: fromHz, channels: 2 }))
  const b64 = mono24k.map((m) => pcm16ToBase64(m))

  let converter = createPcmConverter({ targetRateHz: 24_000 })
  const convert = perFrameUs((f) => {
    if (f === 0) converter = createPcmConverter({ targetRateHz: 24_000 })
    return converter.push({ data: frameAt(f), sampleRateHz: fromHz, channels: 2 }).length
  })
  const base64 = perFrameUs((f) => pcm16ToBase64(mono24k[f]!).length)
  const encode = perFrameUs((f) => encodeAudioAppend(b64[f]!).length)
  const stringify = perFrameUs(
    (f) => JSON.stringify({ type: "input_audio_buffer.append", audio: b64[f]! }).length,
  )
  // A concatenated string is a rope until read; ws turns text into UTF-8 bytes before
  // sending, so time that too for a like-for-like figure.
  const encodeBytes = perFrameUs((f) => Buffer.from(encodeAudioAppend(b64[f]!)).length)
  const stringifyBytes = perFrameUs(
    (f) => Buffer.from(JSON.stringify({ type: "input_audio_buffer.append", audio: b64[f]! })).length,
  )
  const whole = perFrameUs((f) => {
    if (f === 0) converter = createPcmConverter({ targetRateHz: 24_000 })
    const mono = converter.push({ data: frameAt(f), sampleRateHz: fromHz, channels: 2 })
    return Buffer.from(encodeAudioAppend(pcm16ToBase64(mono))).length
  })
  const wholeStringify = perFrameUs((f) => {
    if (f === 0) converter = createPcmConverter({ targetRateHz: 24_000 })
    const mono = converter.push({ data: frameAt(f), sampleRateHz: fromHz, channels: 2 })
    return Buffer.from(JSON.stringify({ type: "input_audio_buffer.append", audio: pcm16ToBase64(mono) }))
      .length
  })

  const row = (name: string, us: PerFrame, note = "") =>
    console.log(
      `${name.padEnd(48)}${us.best.toFixed(2).padStart(9)} µs${us.median.toFixed(2).padStart(9)} µs${note}`,
    )
  console.log(
    `one 20 ms frame (48 kHz stereo in, 24 kHz mono out, ${b64[0]!.length} base64 chars); mean CPU time per frame over ${runs} runs after ${warmupMs} ms of warm-up each; ratios from the best runs`,
  )
  console.log(`${"stage".padEnd(48)}${"best".padStart(12)}${"median".padStart(12)}`)
  row("mixdown + resample (createPcmConverter)", convert)
  row("base64 (pcm16ToBase64)", base64)
  row("event encode (encodeAudioAppend)", encode, "   (a rope: not yet flattened)")
  row("event encode (JSON.stringify baseline)", stringify)
  row("event encode + UTF-8 bytes (encodeAudioAppend)", encodeBytes)
  row(
    "event encode + UTF-8 bytes (JSON.stringify)",
    stringifyBytes,
    `   encodeAudioAppend path ${(stringifyBytes.best / encodeBytes.best).toFixed(2)}x faster`,
  )
  row("whole path, encodeAudioAppend, to bytes", whole, `   = ${Math.round(20_000 / whole.best)}x realtime`)
  row(
    "whole path, JSON.stringify, to bytes",
    wholeStringify,
    `   encodeAudioAppend path ${(wholeStringify.best / whole.best).toFixed(2)}x faster`,
  )
}
