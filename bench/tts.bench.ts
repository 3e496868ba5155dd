/**
 * Text-to-speech against the simulator in a child process (so this process's time is the
 * client's own), each figure against a raw `fetch` of the very same request in the same run:
 *
 * 1. Latency: from `pushText` of a sentence's last token (and the end of input that cuts it)
 *    to its first frame, against a raw `fetch` from the request to the first 960 bytes
 *    (one 20 ms frame) of its body. Medians and p95 of sequential rounds.
 *    Also with `chunked: true` mid-stream: from the token that ends a sentence (and the first
 *    character of the next, which the tokenizer needs to cut) to that sentence's first frame.
 * 2. CPU per frame of the reading and reframing path (body chunks → exact 20 ms frames →
 *    `SynthesizedAudio` events in text order), against a raw `fetch` that only reads the body:
 *    `process.cpuUsage()` over whole syntheses, divided by the frames.
 *    The reframer alone, in process, over the simulator's odd chunk sizes: against the seed's
 *    way (a leftover buffer concatenated with each chunk, frames sliced and copied out).
 * 3. N = 100 concurrent streams: wall time until all have finished and the p50/p95 of their
 *    first frames, against 100 concurrent raw fetches.
 *
 * `npm run bench -- tts`
 */
import { createSpeechReframer, createTTS, type SynthesizeStream } from "../src/index.ts"
import { SPEECH_CHUNK_BYTES, synthesizeSpeech } from "../src/simulator/index.ts"
import { quantile, startChildSimulator } from "./support.ts"

const API_KEY = "sk-simulator"
const ROUNDS = 30
const CONCURRENT = 100
const FRAME_BYTES = 960
const SENTENCE = "The quick brown fox jumps over the lazy dog near the quiet river bank."
const PARAGRAPH = Array.from({ length: 6 }, () => SENTENCE).join(" ")

const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b)
const median = (values: readonly number[]) => quantile(sorted(values), 0.5)
const p95 = (values: readonly number[]) => quantile(sorted(values), 0.95)
const fmt = (ms: number) => `${ms.toFixed(2)} ms`

/** The request createTTS sends for `text` (default model and voice). */
const body = (text: string) =>
  JSON.stringify({ model: "gpt-4o-mini-tts", input: text, voice: "ash", response_format: "pcm" })

/**
 * A raw fetch: milliseconds to the first 960 bytes, and to the end of the body; the bytes read.
 * Like the TTS here (`maxRetry: 1`), it tries once more when the request fails before its
 * answer (a pooled keep-alive socket that the server closed just as it was reused).
 */
const rawFetch = async (
  httpUrl: string,
  text: string,
): Promise<{ firstMs: number; totalMs: number; bytes: number }> => {
  const started = performance.now()
  const send = () =>
    fetch(`${httpUrl}/audio/speech`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: body(text),
    })
  const response = await send().catch(send)
  let bytes = 0
  let firstMs = -1
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength
    if (firstMs < 0 && bytes >= FRAME_BYTES) firstMs = performance.now() - started
  }
  return { firstMs, totalMs: performance.now() - started, bytes }
}

const RETRY_ONCE = { maxRetry: 1, retryIntervalMs: 0, jitter: false } as const

const ttsFor = (httpUrl: string) =>
  createTTS({ openai: { apiKey: API_KEY, baseUrl: httpUrl }, env: {}, connectOptions: RETRY_ONCE })

/** Pushes `text` token by token, the last token (and the end of input) timed; resolves at its first frame. */
const lastTokenToFirstFrame = async (stream: SynthesizeStream, text: string): Promise<number> => {
  const tokens = text.match(/\S+\s*/g) ?? []
  for (const token of tokens.slice(0, -1)) stream.pushText(token)
  const started = performance.now()
  stream.pushText(tokens[tokens.length - 1] ?? "")
  stream.endInput()
  let first = -1
  for await (const event of stream) {
    if (first < 0 && event.type === "audio") first = performance.now() - started
  }
  return first
}

export default async function bench(): Promise<void> {
  const sim = await startChildSimulator()
  try {
    const tts = ttsFor(sim.httpUrl)
    // Warm both paths (connections, JIT).
    for (let i = 0; i < 5; i++) {
      await lastTokenToFirstFrame(tts.stream(), SENTENCE)
      await rawFetch(sim.httpUrl, SENTENCE)
    }

    // 1. Last token to first frame.
    const ours: number[] = []
    const raw: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      ours.push(await lastTokenToFirstFrame(tts.stream(), SENTENCE))
      raw.push((await rawFetch(sim.httpUrl, SENTENCE)).firstMs)
    }
    console.log(`last token → first frame (${ROUNDS} rounds, one ${SENTENCE.length}-character sentence)`)
    console.log(`  voxstate: p50 ${fmt(median(ours))}, p95 ${fmt(p95(ours))}`)
    console.log(`  raw fetch to the first 960 bytes: p50 ${fmt(median(raw))}, p95 ${fmt(p95(raw))}`)
    console.log(`  ratio of medians: ${(median(ours) / median(raw)).toFixed(2)}x`)

    const chunkedTts = createTTS({
      openai: { apiKey: API_KEY, baseUrl: sim.httpUrl },
      env: {},
      chunked: true,
      connectOptions: RETRY_ONCE,
    })
    const midStream: number[] = []
    for (let i = 0; i < ROUNDS + 5; i++) {
      const stream = chunkedTts.stream()
      const tokens = SENTENCE.match(/\S+\s*/g) ?? []
      for (const token of tokens.slice(0, -1)) stream.pushText(token)
      const started = performance.now()
      stream.pushText(`${tokens[tokens.length - 1] ?? ""} `)
      stream.pushText("And")
      let first = -1
      for await (const event of stream) {
        if (event.type === "audio") {
          first = performance.now() - started
          break
        }
      }
      if (i >= 5) midStream.push(first)
    }
    console.log(
      `  chunked, mid-stream (the next sentence's first token cuts it): p50 ${fmt(median(midStream))}, p95 ${fmt(p95(midStream))}; ratio to raw ${(median(midStream) / median(raw)).toFixed(2)}x`,
    )

    // 2. CPU per frame.
    const cpuRuns = 10
    let frames = 0
    const ourCpu = process.cpuUsage()
    for (let i = 0; i < cpuRuns; i++) {
      for await (const event of tts.synthesize(PARAGRAPH)) if (event.type === "audio") frames++
    }
    const ourMicros = process.cpuUsage(ourCpu)
    let rawBytes = 0
    const rawCpu = process.cpuUsage()
    for (let i = 0; i < cpuRuns; i++) rawBytes += (await rawFetch(sim.httpUrl, PARAGRAPH)).bytes
    const rawMicros = process.cpuUsage(rawCpu)
    const perFrame = (usage: NodeJS.CpuUsage, n: number) => (usage.user + usage.system) / n
    const ourPerFrame = perFrame(ourMicros, frames)
    const rawPerFrame = perFrame(rawMicros, rawBytes / FRAME_BYTES)
    console.log(
      `CPU per 20 ms frame (${cpuRuns} syntheses of ${PARAGRAPH.length} characters, ${frames} frames)`,
    )
    console.log(`  voxstate (read, reframe, events): ${ourPerFrame.toFixed(2)} µs`)
    console.log(`  raw fetch (read only): ${rawPerFrame.toFixed(2)} µs`)
    console.log(
      `  ratio: ${(ourPerFrame / rawPerFrame).toFixed(2)}x; reframing costs ${(ourPerFrame - rawPerFrame).toFixed(2)} µs a frame`,
    )

    const body = (() => {
      const samples = synthesizeSpeech(PARAGRAPH.repeat(4))
      return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength)
    })()
    const chunks: Uint8Array[] = []
    for (let at = 0, i = 0; at < body.length; i++) {
      const size = SPEECH_CHUNK_BYTES[i % SPEECH_CHUNK_BYTES.length] ?? 4097
      chunks.push(body.subarray(at, at + size))
      at += size
    }
    const reframerRun = () => {
      let n = 0
      const reframer = createSpeechReframer(24_000, () => void n++)
      for (const chunk of chunks) reframer.push(chunk)
      reframer.end()
      return n
    }
    const leftoverRun = () => {
      let n = 0
      let leftover: Buffer = Buffer.alloc(0)
      for (const chunk of chunks) {
        leftover = Buffer.concat([leftover, chunk])
        while (leftover.length >= FRAME_BYTES) {
          const frame = new Int16Array(480)
          new Uint8Array(frame.buffer).set(leftover.subarray(0, FRAME_BYTES))
          leftover = leftover.subarray(FRAME_BYTES)
          n++
        }
      }
      if (leftover.length > 0) n++
      return n
    }
    const timePerFrame = (run: () => number) => {
      for (let i = 0; i < 20; i++) run()
      const times: number[] = []
      for (let i = 0; i < 50; i++) {
        const started = performance.now()
        const n = run()
        times.push(((performance.now() - started) * 1000) / n)
      }
      return median(times)
    }
    const reframerUs = timePerFrame(reframerRun)
    const leftoverUs = timePerFrame(leftoverRun)
    console.log(
      `  the reframer alone: ${reframerUs.toFixed(3)} µs a frame; the seed's leftover concat: ${leftoverUs.toFixed(3)} µs (${(reframerUs / leftoverUs).toFixed(2)}x)`,
    )

    // 3. N concurrent streams.
    const concurrentOurs = async () => {
      const started = performance.now()
      const firsts = await Promise.all(
        Array.from({ length: CONCURRENT }, () => lastTokenToFirstFrame(tts.stream(), SENTENCE)),
      )
      return { wallMs: performance.now() - started, firsts }
    }
    const concurrentRaw = async () => {
      const started = performance.now()
      const results = await Promise.all(
        Array.from({ length: CONCURRENT }, () => rawFetch(sim.httpUrl, SENTENCE)),
      )
      return { wallMs: performance.now() - started, firsts: results.map((r) => r.firstMs) }
    }
    await concurrentOurs()
    await concurrentRaw()
    const a = await concurrentOurs()
    const b = await concurrentRaw()
    console.log(`${CONCURRENT} concurrent streams of one sentence`)
    console.log(
      `  voxstate: all done in ${fmt(a.wallMs)}, first frame p50 ${fmt(median(a.firsts))}, p95 ${fmt(p95(a.firsts))}`,
    )
    console.log(
      `  raw fetch: all done in ${fmt(b.wallMs)}, first 960 bytes p50 ${fmt(median(b.firsts))}, p95 ${fmt(p95(b.firsts))}`,
    )
    console.log(
      `  ratio of wall times: ${(a.wallMs / b.wallMs).toFixed(2)}x; of p50 first frames: ${(median(a.firsts) / median(b.firsts)).toFixed(2)}x`,
    )
    await tts.close()
  } finally {
    await sim.stop()
  }
}
