import { describe, expect, it } from "vitest"
import {
  AudioError,
  createFormatGuard,
  isAudioError,
  makeAudioFrame,
  toMono,
  validateAudioFrame,
} from "../../src/audio/index.ts"

const reasonOf = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (e) {
    return isAudioError(e) ? e.reason : `not an AudioError: ${String(e)}`
  }
  return undefined
}

describe("AudioFrame validation", () => {
  it("accepts interleaved PCM16 whose length is a multiple of the channel count", () => {
    const data = new Int16Array([1, 2, 3, 4])
    const frame = makeAudioFrame(data, 48_000, 2)
    expect(frame).toEqual({ data, sampleRateHz: 48_000, channels: 2 })
    expect(frame.data).toBe(data)
    expect(validateAudioFrame(frame)).toBe(frame)
  })

  it("rejects a length that is not a multiple of the channel count with ChannelMismatch", () => {
    expect(reasonOf(() => makeAudioFrame(new Int16Array(5), 48_000, 2))).toBe("ChannelMismatch")
  })

  it("rejects zero, negative, fractional and non-finite rates with InvalidSampleRate", () => {
    for (const rate of [0, -16_000, 16_000.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(reasonOf(() => makeAudioFrame(new Int16Array(2), rate, 1))).toBe("InvalidSampleRate")
    }
  })

  it("rejects zero, negative and fractional channel counts with InvalidChannels", () => {
    for (const channels of [0, -1, 1.5]) {
      expect(reasonOf(() => makeAudioFrame(new Int16Array(2), 16_000, channels))).toBe("InvalidChannels")
    }
  })

  it("is an Error subclass carrying a tag, a reason and a message", () => {
    let caught: unknown
    try {
      makeAudioFrame(new Int16Array(3), 16_000, 2)
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(Error)
    expect(caught).toBeInstanceOf(AudioError)
    const error = caught as AudioError
    expect(error._tag).toBe("AudioError")
    expect(error.message).toContain("3 samples")
  })
})

describe("createFormatGuard", () => {
  it("fixes the format on the first frame and rejects a rate or channel change with FormatChanged", () => {
    const guard = createFormatGuard()
    guard.check(makeAudioFrame(new Int16Array(4), 48_000, 2))
    guard.check(makeAudioFrame(new Int16Array(8), 48_000, 2))
    expect(reasonOf(() => guard.check(makeAudioFrame(new Int16Array(4), 44_100, 2)))).toBe("FormatChanged")
    expect(reasonOf(() => guard.check(makeAudioFrame(new Int16Array(4), 48_000, 1)))).toBe("FormatChanged")
  })

  it("names both formats in the FormatChanged message", () => {
    const guard = createFormatGuard()
    guard.check({ data: new Int16Array(2), sampleRateHz: 48_000, channels: 2 })
    let message = ""
    try {
      guard.check({ data: new Int16Array(2), sampleRateHz: 16_000, channels: 1 })
    } catch (e) {
      message = (e as AudioError).message
    }
    expect(message).toContain("48000")
    expect(message).toContain("16000")
  })

  it("validates each frame it checks", () => {
    const guard = createFormatGuard()
    expect(reasonOf(() => guard.check({ data: new Int16Array(3), sampleRateHz: 48_000, channels: 2 }))).toBe(
      "ChannelMismatch",
    )
  })

  it("accepts any format again after reset", () => {
    const guard = createFormatGuard()
    guard.check(makeAudioFrame(new Int16Array(4), 48_000, 2))
    guard.reset()
    expect(() => guard.check(makeAudioFrame(new Int16Array(4), 16_000, 1))).not.toThrow()
  })
})

describe("toMono", () => {
  it("averages stereo pairs, rounding halves away from zero", () => {
    const frame = makeAudioFrame(new Int16Array([1, 2, -1, -2, 3, 3, -3, 2, 0, 1, 0, -1]), 16_000, 2)
    expect(Array.from(toMono(frame))).toEqual([2, -2, 3, -1, 1, -1])
  })

  it("stays in range at the PCM16 extremes", () => {
    const frame = makeAudioFrame(
      new Int16Array([32_767, 32_767, -32_768, -32_768, 32_767, -32_768]),
      16_000,
      2,
    )
    expect(Array.from(toMono(frame))).toEqual([32_767, -32_768, -1])
  })

  it("averages any channel count with correct rounding", () => {
    // (1+1+0)/3 = 0.67 → 1; (-1-1+0)/3 → -1; (1+0+0)/3 = 0.33 → 0; (32767·3)/3
    const frame = makeAudioFrame(
      new Int16Array([1, 1, 0, -1, -1, 0, 1, 0, 0, 32_767, 32_767, 32_767]),
      8000,
      3,
    )
    expect(Array.from(toMono(frame))).toEqual([1, -1, 0, 32_767])
    const quad = makeAudioFrame(new Int16Array([1, 2, 2, 1, -1, -2, -2, -1]), 8000, 4)
    expect(Array.from(toMono(quad))).toEqual([2, -2])
  })

  it("copies mono input instead of aliasing it", () => {
    const data = new Int16Array([5, -5])
    const out = toMono(makeAudioFrame(data, 8000, 1))
    expect(out).toEqual(data)
    out[0] = 0
    expect(data[0]).toBe(5)
  })

  it("rejects an invalid frame", () => {
    expect(reasonOf(() => toMono({ data: new Int16Array(3), sampleRateHz: 8000, channels: 2 }))).toBe(
      "ChannelMismatch",
    )
  })
})
