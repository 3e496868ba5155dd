/**
 * createTTS under seeded REST faults against the simulator on real sockets: every request
 * of a chunked stream may meet a 429 with retry-after, a 503, a first byte slower than the
 * attempt timeout, or a connection dropped mid-body. Whatever happens, the audio out is the
 * expected audio or a prefix of it in whole frames (never a repeat, never a gap), a failure
 * is a typed `TTSError`, and no socket or timer is left behind.
 * `TTS_CHAOS_SEEDS=1-200 npx vitest run test/tts/tts-chaos.test.ts` explores more seeds.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { concatPcm16 } from "../../src/audio/index.ts"
import { startSimulator, synthesizeSpeech } from "../../src/simulator/index.ts"
import type { HttpFault, Simulator } from "../../src/simulator/types.ts"
import {
  collectSynthesis,
  handlesBackTo,
  settledHandles,
  synthesizedSamples,
} from "../../src/testing/index.ts"
import { createTTS, isTTSError } from "../../src/tts/index.ts"

const SENTENCES = [
  "Chaos starts with the first sentence here.",
  "The second sentence may meet a rate limit.",
  "A third one could lose its connection midway.",
  "And the last one arrives after a slow start.",
]

const seedsFromEnv = (): number[] => {
  const spec = process.env.TTS_CHAOS_SEEDS
  if (spec === undefined || spec === "") return Array.from({ length: 12 }, (_, i) => 100 + i)
  const [from, to] = spec.split("-").map(Number)
  return Array.from({ length: (to ?? from!) - from! + 1 }, (_, i) => from! + i)
}

/** A small deterministic generator (mulberry32). */
const random = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const faultFor = (next: () => number): HttpFault | undefined => {
  const roll = next()
  if (roll < 0.4) return undefined
  if (roll < 0.55) return { status: 429, headers: { "retry-after-ms": "5" } }
  if (roll < 0.7) return { status: 503 }
  if (roll < 0.85) return { status: 200, stream: { firstByteMs: 2_000 } }
  return { status: 200, stream: { dropAfterBytes: 1 + Math.floor(next() * 40_000) } }
}

let sim: Simulator | undefined
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

describe("createTTS under seeded REST faults", () => {
  for (const seed of seedsFromEnv()) {
    it(`seed ${seed}: the audio is whole or a whole-frame prefix, failures typed, nothing left`, async () => {
      sim = await startSimulator()
      const next = random(seed)
      const faults: HttpFault[] = []
      for (let i = 0; i < 12; i++) {
        const fault = faultFor(next)
        if (fault !== undefined) faults.push(fault)
        else break
      }
      for (const fault of faults) sim.scenario.nextHttp("speech", fault)
      const baseline = await settledHandles()
      const tts = createTTS({
        openai: { apiKey: sim.apiKey!, baseUrl: sim.httpUrl },
        env: {},
        chunked: true,
        minSentenceChars: 0,
        connectOptions: { maxRetry: 3, retryIntervalMs: 1, jitter: false, timeoutMs: 400 },
      })
      const stream = tts.stream()
      for (const token of SENTENCES.join(" ").match(/\S+\s*/g) ?? []) stream.pushText(token)
      stream.endInput()
      const { events, error } = await collectSynthesis(stream)
      const expected = concatPcm16(SENTENCES.map((s) => synthesizeSpeech(s, { seed: sim!.scenario.seed })))
      const got = synthesizedSamples(events)
      if (error === undefined) {
        assert.deepStrictEqual(got, expected)
      } else {
        assert.isTrue(isTTSError(error), `a typed error, got ${String(error)}`)
        assert.isAtMost(got.length, expected.length)
        assert.deepStrictEqual(got, expected.subarray(0, got.length), "a prefix: no repeat, no gap")
      }
      await tts.close()
      await sim.close()
      sim = undefined
      await handlesBackTo(baseline, 10_000)
    })
  }
})
