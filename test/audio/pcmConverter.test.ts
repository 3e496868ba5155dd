import { describe, expect, it } from "vitest"
import {
  type AudioFrame,
  createPcmConverter,
  createResampler,
  isAudioError,
  makeAudioFrame,
  toMono,
} from "../../src/audio/index.ts"
import { concat, noise, randomChunks } from "./signals.ts"

const reasonOf = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (e) {
    return isAudioError(e) ? e.reason : "other"
  }
  return undefined
}

/** The reference path: toMono, then a resampler over the whole stream. */
const reference = (frame: AudioFrame, targetRateHz: number) => {
  const r = createResampler({ fromHz: frame.sampleRateHz, toHz: targetRateHz })
  return concat([r.push(toMono(frame)), r.flush()])
}

describe("createPcmConverter", () => {
  it("equals toMono then resample, bit for bit, for any rate, channel count and chunking", () => {
    for (const [rate, channels] of [
      [48_000, 2],
      [44_100, 2],
      [16_000, 1],
      [24_000, 1],
      [24_000, 2],
      [8000, 3],
    ] as const) {
      const whole = makeAudioFrame(
        noise(channels * Math.round(rate * 0.1), 32_767, rate + channels),
        rate,
        channels,
      )
      const expected = reference(whole, 24_000)
      const converter = createPcmConverter({ targetRateHz: 24_000 })
      const parts: Int16Array[] = []
      let at = 0
      for (const frames of randomChunks(whole.data.length / channels, 700, rate)) {
        const data = whole.data.subarray(at, at + frames * channels)
        parts.push(converter.push(makeAudioFrame(data, rate, channels)))
        at += frames * channels
      }
      parts.push(converter.flush())
      expect(concat(parts)).toEqual(expected)
    }
  })

  it("rounds stereo mixdown halves away from zero before resampling", () => {
    const converter = createPcmConverter({ targetRateHz: 16_000 })
    const out = converter.push(makeAudioFrame(new Int16Array([1, 2, -1, -2, 3, 4]), 16_000, 2))
    expect(Array.from(out)).toEqual([2, -2, 4])
  })

  it("rejects a format change mid-stream with FormatChanged", () => {
    const converter = createPcmConverter({ targetRateHz: 24_000 })
    converter.push(makeAudioFrame(new Int16Array(960 * 2), 48_000, 2))
    expect(reasonOf(() => converter.push(makeAudioFrame(new Int16Array(960), 48_000, 1)))).toBe(
      "FormatChanged",
    )
    expect(reasonOf(() => converter.push(makeAudioFrame(new Int16Array(960 * 2), 44_100, 2)))).toBe(
      "FormatChanged",
    )
  })

  it("rejects an invalid frame", () => {
    const converter = createPcmConverter({ targetRateHz: 24_000 })
    expect(
      reasonOf(() => converter.push({ data: new Int16Array(3), sampleRateHz: 48_000, channels: 2 })),
    ).toBe("ChannelMismatch")
  })

  it("accepts a new format after flush or reset", () => {
    const converter = createPcmConverter({ targetRateHz: 24_000 })
    converter.push(makeAudioFrame(new Int16Array(960 * 2), 48_000, 2))
    converter.flush()
    const mono16k = makeAudioFrame(noise(1600, 10_000, 4), 16_000, 1)
    expect(concat([converter.push(mono16k), converter.flush()])).toEqual(reference(mono16k, 24_000))
    converter.push(makeAudioFrame(noise(2000, 10_000, 5), 48_000, 2))
    converter.reset()
    expect(concat([converter.push(mono16k), converter.flush()])).toEqual(reference(mono16k, 24_000))
  })

  it("drains each segment's tail into that segment, matching a resampler run per segment", () => {
    for (const [rate, channels] of [
      [48_000, 2],
      [44_100, 1],
      [16_000, 1],
    ] as const) {
      const segments = [0.05, 0.033, 0.071].map((seconds, i) =>
        makeAudioFrame(noise(channels * Math.round(rate * seconds), 20_000, 40 + i), rate, channels),
      )
      const converter = createPcmConverter({ targetRateHz: 24_000 })
      for (const [i, segment] of segments.entries()) {
        const parts: Int16Array[] = []
        let at = 0
        for (const frames of randomChunks(segment.data.length / channels, 500, rate + i)) {
          parts.push(
            converter.push(makeAudioFrame(segment.data.subarray(at, at + frames * channels), rate, channels)),
          )
          at += frames * channels
        }
        const tail = converter.drain()
        expect(tail.length).toBeGreaterThan(0)
        parts.push(tail)
        expect(concat(parts)).toEqual(reference(segment, 24_000))
      }
      expect(converter.drain().length).toBe(0)
    }
  })

  it("keeps the stream format after drain: a later change of rate or channels is FormatChanged", () => {
    const converter = createPcmConverter({ targetRateHz: 24_000 })
    converter.push(makeAudioFrame(noise(960 * 2, 10_000, 6), 48_000, 2))
    converter.drain()
    expect(reasonOf(() => converter.push(makeAudioFrame(new Int16Array(960 * 2), 44_100, 2)))).toBe(
      "FormatChanged",
    )
    expect(reasonOf(() => converter.push(makeAudioFrame(new Int16Array(960), 48_000, 1)))).toBe(
      "FormatChanged",
    )
    expect(converter.push(makeAudioFrame(new Int16Array(960 * 2), 48_000, 2)).length).toBeGreaterThan(0)
    converter.flush()
    expect(reasonOf(() => converter.push(makeAudioFrame(new Int16Array(960), 44_100, 1)))).toBeUndefined()
  })

  it("returns nothing from drain before any audio and leaves the format open", () => {
    const converter = createPcmConverter({ targetRateHz: 24_000 })
    expect(converter.drain().length).toBe(0)
    const mono16k = makeAudioFrame(noise(1600, 10_000, 8), 16_000, 1)
    expect(concat([converter.push(mono16k), converter.drain()])).toEqual(reference(mono16k, 24_000))
  })

  it("leaves the format open when the first frame's rate is refused", () => {
    const converter = createPcmConverter({ targetRateHz: 24_000 })
    expect(reasonOf(() => converter.push(makeAudioFrame(new Int16Array(441), 44_101, 1)))).toBe(
      "UnsupportedRate",
    )
    const mono16k = makeAudioFrame(noise(1600, 10_000, 9), 16_000, 1)
    expect(concat([converter.push(mono16k), converter.flush()])).toEqual(reference(mono16k, 24_000))
  })

  it("rejects a target rate that is not a positive integer", () => {
    expect(reasonOf(() => createPcmConverter({ targetRateHz: 0 }))).toBe("InvalidSampleRate")
  })
})
