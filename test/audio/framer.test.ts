import { describe, expect, it } from "vitest"
import { createFramer, isAudioError } from "../../src/audio/index.ts"
import { concat, noise, randomChunks } from "./signals.ts"

const bytesOf = (samples: Int16Array) =>
  new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength)

const reasonOf = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (e) {
    return isAudioError(e) ? e.reason : "other"
  }
  return undefined
}

describe("createFramer", () => {
  it("emits exact 20 ms frames for any chunking, odd byte splits included", () => {
    const samples = noise(24_000 + 123, 30_000, 9)
    const bytes = bytesOf(samples)
    for (const [seed, maxChunk] of [
      [1, 1],
      [2, 3],
      [3, 999],
      [4, 5000],
    ] as const) {
      const framer = createFramer({ sampleRateHz: 24_000 })
      expect(framer.samplesPerFrame).toBe(480)
      const frames: Int16Array[] = []
      let at = 0
      for (const size of randomChunks(bytes.length, maxChunk, seed)) {
        frames.push(...framer.push(bytes.subarray(at, at + size)))
        at += size
      }
      expect(frames.length).toBe(50)
      for (const f of frames) expect(f.length).toBe(480)
      expect(concat(frames)).toEqual(samples.subarray(0, 24_000))
      const tail = framer.flush("short")
      expect(tail).toEqual(samples.subarray(24_000))
    }
  })

  it("zero-pads the tail to a whole frame in pad mode", () => {
    const framer = createFramer({ sampleRateHz: 16_000, frameMs: 10 })
    expect(framer.push(bytesOf(new Int16Array([1, 2, 3])))).toEqual([])
    const tail = framer.flush("pad")!
    expect(tail.length).toBe(160)
    expect(Array.from(tail.subarray(0, 4))).toEqual([1, 2, 3, 0])
    expect(tail.subarray(3).every((s) => s === 0)).toBe(true)
  })

  it("returns undefined from flush when nothing is pending, and is empty after flush", () => {
    const framer = createFramer({ sampleRateHz: 8000 })
    expect(framer.flush("pad")).toBeUndefined()
    framer.push(bytesOf(new Int16Array(160)))
    expect(framer.flush("short")).toBeUndefined()
    framer.push(bytesOf(new Int16Array([7])))
    framer.flush("short")
    expect(framer.flush("pad")).toBeUndefined()
  })

  it("counts interleaved samples for stereo frames", () => {
    const framer = createFramer({ sampleRateHz: 48_000, channels: 2 })
    expect(framer.samplesPerFrame).toBe(1920)
    const frames = framer.push(bytesOf(noise(1920 * 2 + 2, 1000, 1)))
    expect(frames.map((f) => f.length)).toEqual([1920, 1920])
    expect(framer.flush("short")!.length).toBe(2)
  })

  it("rejects a tail that ends inside a sample with OddByteLength, in both modes", () => {
    for (const mode of ["pad", "short"] as const) {
      const framer = createFramer({ sampleRateHz: 24_000 })
      framer.push(new Uint8Array(5))
      expect(reasonOf(() => framer.flush(mode))).toBe("OddByteLength")
      expect(framer.flush(mode)).toBeUndefined()
    }
  })

  it("rejects a short tail that ends inside a stereo frame with ChannelMismatch, and pads it in pad mode", () => {
    const short = createFramer({ sampleRateHz: 24_000, channels: 2 })
    short.push(bytesOf(new Int16Array([1, 2, 3])))
    expect(reasonOf(() => short.flush("short"))).toBe("ChannelMismatch")
    const pad = createFramer({ sampleRateHz: 24_000, channels: 2 })
    pad.push(bytesOf(new Int16Array([1, 2, 3])))
    expect(pad.flush("pad")!.length).toBe(960)
  })

  it("drops pending bytes on reset", () => {
    const framer = createFramer({ sampleRateHz: 8000 })
    framer.push(new Uint8Array(101))
    framer.reset()
    const frames = framer.push(bytesOf(new Int16Array(160).fill(3)))
    expect(frames.length).toBe(1)
    expect(frames[0]!.every((s) => s === 3)).toBe(true)
  })

  it("rejects options that give no whole frame", () => {
    expect(reasonOf(() => createFramer({ sampleRateHz: 22_050, frameMs: 10 }))).toBe("InvalidSampleRate")
    expect(reasonOf(() => createFramer({ sampleRateHz: 0 }))).toBe("InvalidSampleRate")
    expect(reasonOf(() => createFramer({ sampleRateHz: 16_000, channels: 0 }))).toBe("InvalidChannels")
    expect(reasonOf(() => createFramer({ sampleRateHz: 16_000, frameMs: 0 }))).toBe("InvalidSampleRate")
  })
})
