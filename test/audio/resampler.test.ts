import { describe, expect, it } from "vitest"
import { halfBandFilter, polyphaseTable } from "../../src/audio/filterDesign.ts"
import { simdAvailable } from "../../src/audio/halfBandSimd.ts"
import { AudioError, createResampler, type ResamplerQuality } from "../../src/audio/index.ts"
import { createResamplerCore } from "../../src/audio/resampler.ts"
import { concat, measureQuality, noise, randomChunks, tone } from "./signals.ts"

const rates = [8000, 16000, 22050, 24000, 44100, 48000] as const
const pairs = rates.flatMap((fromHz) => rates.map((toHz) => [fromHz, toHz] as const))
const qualities: readonly ResamplerQuality[] = ["high", "medium", "low"]

const oneShot = (fromHz: number, toHz: number, input: Int16Array, quality: ResamplerQuality = "high") => {
  const r = createResampler({ fromHz, toHz, quality })
  return concat([r.push(input), r.flush()])
}

const streamed = (
  fromHz: number,
  toHz: number,
  input: Int16Array,
  sizes: number[],
  quality: ResamplerQuality,
) => {
  const r = createResampler({ fromHz, toHz, quality })
  const parts: Int16Array[] = []
  let at = 0
  for (const size of sizes) {
    parts.push(r.push(input.subarray(at, at + size)))
    at += size
  }
  parts.push(r.flush())
  return concat(parts)
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

describe("createResampler quality", () => {
  it("reaches the PCM16 floor for 48 kHz → 24 kHz", () => {
    const q = measureQuality((x) => oneShot(48_000, 24_000, x), 48_000, 24_000)
    expect(q.snrDb).toBeGreaterThanOrEqual(90)
    expect(q.worstAliasDb).toBeLessThanOrEqual(-90)
    expect(Math.abs(q.gain10kDb)).toBeLessThanOrEqual(0.05)
    expect(Math.abs(q.groupDelayMs)).toBeLessThanOrEqual(0.01)
  })

  it("holds back at most 3 ms of input on the 2:1 paths", () => {
    expect(createResampler({ fromHz: 48_000, toHz: 24_000 }).delaySamples / 48_000).toBeLessThanOrEqual(0.003)
    expect(createResampler({ fromHz: 24_000, toHz: 48_000 }).delaySamples / 24_000).toBeLessThanOrEqual(0.003)
  })

  it.each(pairs.filter(([a, b]) => a !== b))(
    "keeps %i → %i Hz near the PCM16 floor, flat and time-aligned",
    (fromHz, toHz) => {
      const q = measureQuality((x) => oneShot(fromHz, toHz, x), fromHz, toHz, 0.25)
      // Input and output rounding together: 89 dB is the floor when all input noise passes.
      expect(q.snrDb).toBeGreaterThanOrEqual(88.5)
      expect(q.worstAliasDb).toBeLessThanOrEqual(-90)
      if (!Number.isNaN(q.gain10kDb)) expect(Math.abs(q.gain10kDb)).toBeLessThanOrEqual(0.05)
      expect(Math.abs(q.groupDelayMs)).toBeLessThanOrEqual(0.01)
    },
  )

  it("trades quality for length at medium and low, still passing speech frequencies", () => {
    const high = createResampler({ fromHz: 44_100, toHz: 24_000, quality: "high" }).delaySamples
    const medium = createResampler({ fromHz: 44_100, toHz: 24_000, quality: "medium" }).delaySamples
    const low = createResampler({ fromHz: 44_100, toHz: 24_000, quality: "low" }).delaySamples
    expect(medium).toBeLessThan(high)
    expect(low).toBeLessThan(medium)
    for (const quality of ["medium", "low"] as const) {
      const out = oneShot(48_000, 24_000, tone(3000, 48_000, 12_000, 16_384), quality)
      const [a, b] = [1000, out.length - 1000]
      let peak = 0
      for (let i = a; i < b; i++) peak = Math.max(peak, Math.abs(out[i]!))
      expect(Math.abs(20 * Math.log10(peak / 16_384))).toBeLessThan(0.05)
    }
  })
})

describe("filter design", () => {
  it("makes the 2:1 filter half-band: only odd taps besides the centre, stopband ≥ 95 dB from 13 kHz", () => {
    const { odd, lastTap } = halfBandFilter("high")
    expect(lastTap).toBe(2 * odd.length - 1)
    const response = (f: number) => {
      let h = 0.5
      for (let j = 0; j < odd.length; j++)
        h += 2 * odd[j]! * Math.cos((2 * Math.PI * f * (2 * j + 1)) / 48_000)
      return h
    }
    for (let f = 13_000; f <= 24_000; f += 25)
      expect(20 * Math.log10(Math.abs(response(f)))).toBeLessThan(-95)
    for (let f = 0; f <= 10_000; f += 25) expect(Math.abs(20 * Math.log10(response(f)))).toBeLessThan(0.001)
  })

  it("normalises every polyphase row to unit DC gain and caches tables", () => {
    const t = polyphaseTable(160, 147, "high")
    expect(polyphaseTable(160, 147, "high")).toBe(t)
    for (let p = 0; p < t.phases; p++) {
      let sum = 0
      for (let k = 0; k < t.taps; k++) sum += t.table[p * t.taps + k]!
      expect(sum).toBeCloseTo(1, 12)
    }
  })
})

describe("createResampler streaming", () => {
  it("produces ⌈n · to / from⌉ samples, within 1 of round(n · to / from), for every rate pair", () => {
    for (const [fromHz, toHz] of pairs) {
      const g = gcd(fromHz, toHz)
      for (const n of [0, 1, 2, 3, 7, 77, 78, 147, 160, 441, 960, 4417]) {
        const out = oneShot(fromHz, toHz, noise(n, 8000, n))
        expect(out.length).toBe(Math.ceil((n * (toHz / g)) / (fromHz / g)))
        expect(Math.abs(out.length - Math.round((n * toHz) / fromHz))).toBeLessThanOrEqual(1)
      }
    }
  })

  it("gives output bit-identical to one-shot for random chunkings, every pair and quality", () => {
    let seed = 1
    for (const quality of qualities) {
      for (const [fromHz, toHz] of pairs) {
        const input = concat([noise(Math.round(fromHz * 0.06), 20_000, seed), tone(440, fromHz, 500, 30_000)])
        const whole = oneShot(fromHz, toHz, input, quality)
        for (const maxChunk of [1, 37, 1500]) {
          const out = streamed(fromHz, toHz, input, randomChunks(input.length, maxChunk, seed++), quality)
          expect(out).toEqual(whole)
        }
      }
    }
  })

  it("emits output on every push in proportion to its input (no bursts)", () => {
    for (const [fromHz, toHz] of [
      [48_000, 24_000],
      [24_000, 48_000],
      [44_100, 24_000],
      [16_000, 24_000],
    ] as const) {
      const r = createResampler({ fromHz, toHz })
      const chunk = fromHz / 50
      const input = noise(chunk * 20, 10_000, 7)
      const lengths: number[] = []
      for (let at = 0; at < input.length; at += chunk)
        lengths.push(r.push(input.subarray(at, at + chunk)).length)
      const expected = toHz / 50
      expect(lengths[0]).toBeGreaterThan(expected - Math.ceil((r.delaySamples * toHz) / fromHz) - 2)
      for (const n of lengths.slice(1)) expect(Math.abs(n - expected)).toBeLessThanOrEqual(1)
    }
  })

  it("runs the 2:1 paths on WebAssembly SIMD here, with output identical to the scalar kernels", () => {
    expect(simdAvailable).toBe(true)
    const input = concat([noise(30_000, 32_767, 31), tone(1000, 48_000, 3001, 32_767)])
    for (const [fromHz, toHz] of [
      [48_000, 24_000],
      [24_000, 48_000],
    ] as const) {
      for (const quality of qualities) {
        const outputs = [true, false].map((simd, seed) => {
          const core = createResamplerCore(fromHz, toHz, quality, simd)
          const parts: Int16Array[] = []
          let at = 0
          // Chunk sizes include 0–3 outputs (scalar tail only) and one large push (scratch growth).
          for (const size of [...randomChunks(input.length - 20_000, 9, seed), 20_000]) {
            const w = core.reserve(size)
            core.buffer.set(input.subarray(at, at + size), w)
            parts.push(core.commit(size))
            at += size
          }
          parts.push(core.flush())
          return concat(parts)
        })
        expect(outputs[0]).toEqual(outputs[1])
      }
    }
  })

  it("copies samples unchanged when fromHz equals toHz", () => {
    const input = noise(1000, 32_000, 3)
    const r = createResampler({ fromHz: 24_000, toHz: 24_000 })
    const out = r.push(input)
    expect(r.delaySamples).toBe(0)
    expect(out).toEqual(input)
    expect(out).not.toBe(input)
    expect(r.flush().length).toBe(0)
  })

  it("keeps the input samples on the even outputs of 1:2 (the half-band zeros)", () => {
    const input = noise(2000, 30_000, 11)
    const out = oneShot(24_000, 48_000, input)
    for (let i = 0; i < input.length; i++) expect(out[2 * i]).toBe(input[i])
  })

  it("keeps a constant signal constant away from the stream's edges", () => {
    for (const [fromHz, toHz] of [
      [44_100, 24_000],
      [48_000, 24_000],
      [8_000, 22_050],
    ] as const) {
      const out = oneShot(fromHz, toHz, new Int16Array(fromHz / 10).fill(-12_345))
      for (let i = 200; i < out.length - 200; i++) expect(out[i]).toBe(-12_345)
    }
  })

  it("clips overshoot to the PCM16 range instead of wrapping", () => {
    // A full-scale square wave overshoots by the Gibbs phenomenon after band-limiting.
    const input = new Int16Array(4800).map((_, i) => (Math.floor(i / 240) % 2 === 0 ? 32_767 : -32_768))
    const out = oneShot(48_000, 24_000, input)
    let clipped = 0
    for (let i = 200; i < out.length - 200; i++) {
      const high = Math.floor((2 * i) / 240) % 2 === 0
      const edge = (2 * i) % 240 < 40 || (2 * i) % 240 > 200
      if (!edge) expect(high ? out[i]! > 30_000 : out[i]! < -30_000).toBe(true)
      if (out[i] === 32_767 || out[i] === -32_768) clipped++
    }
    expect(clipped).toBeGreaterThan(0)
  })

  it("starts a new stream after flush, and reset drops buffered input", () => {
    const a = noise(3000, 15_000, 21)
    const b = noise(2000, 15_000, 22)
    const r = createResampler({ fromHz: 44_100, toHz: 24_000 })
    r.push(a)
    r.flush()
    expect(concat([r.push(b), r.flush()])).toEqual(oneShot(44_100, 24_000, b))
    r.push(a)
    r.reset()
    expect(concat([r.push(b), r.flush()])).toEqual(oneShot(44_100, 24_000, b))
    const h = createResampler({ fromHz: 48_000, toHz: 24_000 })
    h.push(a)
    h.reset()
    expect(concat([h.push(b), h.flush()])).toEqual(oneShot(48_000, 24_000, b))
  })

  it("rejects a rate that is not a positive integer with InvalidSampleRate", () => {
    for (const [fromHz, toHz] of [
      [0, 24_000],
      [-8000, 24_000],
      [44_100.5, 24_000],
      [48_000, Number.NaN],
    ]) {
      expect(() => createResampler({ fromHz: fromHz!, toHz: toHz! })).toThrow(
        expect.objectContaining({ _tag: "AudioError", reason: "InvalidSampleRate" }),
      )
    }
  })

  it("rejects a ratio whose table would be unreasonably large with UnsupportedRate", () => {
    let error: unknown
    try {
      createResampler({ fromHz: 44_100, toHz: 44_101 })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(AudioError)
    expect((error as AudioError).reason).toBe("UnsupportedRate")
    expect((error as AudioError).message).toContain("44101")
  })
})
