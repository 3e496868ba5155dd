import { describe, expect, it } from "vitest"
import { createReplayBuffer } from "../../src/stt/replayBuffer.ts"

/** A small seeded generator (mulberry32), so a failure names its seed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

describe("the chunked replay buffer", () => {
  it("agrees with a plain array model under random pushes, releases, views and copies", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const next = random(seed)
      const capacity = 1 + Math.floor(next() * 60)
      const chunk = 1 + Math.floor(next() * 16)
      const buffer = createReplayBuffer({ capacitySamples: capacity, chunkSamples: chunk })
      // The model: every sample ever pushed (sample s has the value s mod 30 000) and the window.
      let start = 0
      let end = 0
      for (let step = 0; step < 300; step++) {
        const what = next()
        if (what < 0.6) {
          const n = Math.floor(next() * 2.5 * capacity)
          const samples = Int16Array.from({ length: n }, (_, i) => (end + i) % 30_000)
          const { droppedSamples } = buffer.push(samples)
          const newEnd = end + n
          const newStart = Math.max(start, newEnd - capacity)
          expect(droppedSamples, `seed ${seed}`).toBe(newStart - start)
          start = newStart
          end = newEnd
        } else if (what < 0.8) {
          const to = start + Math.floor(next() * (end - start + 3))
          buffer.release(to)
          start = Math.max(start, Math.min(to, end))
        } else if (what < 0.85) {
          buffer.clear()
          start = end
        } else {
          const from = start + Math.floor(next() * (end - start + 1))
          const to = from + Math.floor(next() * (end - from + 1))
          const expected = Array.from({ length: to - from }, (_, i) => (from + i) % 30_000)
          expect([...buffer.view(from, to)], `seed ${seed}`).toEqual(expected)
          expect([...buffer.copy(from, to)], `seed ${seed}`).toEqual(expected)
        }
        expect([buffer.startSample, buffer.endSample], `seed ${seed}`).toEqual([start, end])
      }
      if (start > 0) expect(() => buffer.view(start - 1, start)).toThrow(RangeError)
      expect(() => buffer.view(start, end + 1)).toThrow(RangeError)
    }
  })

  it("keeps a copy valid after the ring reuses its chunks", () => {
    const buffer = createReplayBuffer({ capacitySamples: 8, chunkSamples: 4 })
    buffer.push(Int16Array.of(1, 2, 3, 4, 5, 6))
    const kept = buffer.copy(2, 6)
    buffer.release(6)
    buffer.push(Int16Array.of(9, 9, 9, 9, 9, 9, 9, 9))
    expect([...kept]).toEqual([3, 4, 5, 6])
    expect([...buffer.view(6, 14)]).toEqual([9, 9, 9, 9, 9, 9, 9, 9])
  })

  it("refuses a chunk size that is not a positive integer", () => {
    expect(() => createReplayBuffer({ capacitySamples: 8, chunkSamples: 0 })).toThrow(RangeError)
    expect(() => createReplayBuffer({ capacitySamples: 8, chunkSamples: 1.5 })).toThrow(RangeError)
  })
})
