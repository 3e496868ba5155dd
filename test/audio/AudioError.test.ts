import { Buffer } from "node:buffer"
import { describe, expect, it } from "vitest"
import {
  type AudioErrorReason,
  base64ToPcm16,
  createEnergyVad,
  createFormatGuard,
  createResampler,
  decodeWav,
  encodeWav,
  isAudioError,
  makeAudioFrame,
} from "../../src/audio/index.ts"

const reasonOf = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (e) {
    return isAudioError(e) ? e.reason : "other"
  }
  return undefined
}

describe("AudioError reasons", () => {
  const wav = encodeWav(makeAudioFrame(new Int16Array(4), 16_000, 1))
  const float = wav.slice()
  float[20] = 3
  const triggers: Record<AudioErrorReason, () => unknown> = {
    ChannelMismatch: () => makeAudioFrame(new Int16Array(3), 16_000, 2),
    InvalidSampleRate: () => makeAudioFrame(new Int16Array(2), 0, 1),
    InvalidChannels: () => makeAudioFrame(new Int16Array(2), 16_000, 0),
    FormatChanged: () => {
      const guard = createFormatGuard()
      guard.check(makeAudioFrame(new Int16Array(2), 16_000, 1))
      guard.check(makeAudioFrame(new Int16Array(2), 24_000, 1))
    },
    OddByteLength: () => base64ToPcm16(Buffer.from([1]).toString("base64")),
    UnsupportedWav: () => decodeWav(float),
    MalformedWav: () => decodeWav(wav.subarray(0, 40)),
    UnsupportedRate: () => createResampler({ fromHz: 48_000, toHz: 47_999 }),
    InvalidOption: () => createEnergyVad({ sampleRateHz: 16_000, thresholdDbfs: Number.NaN }),
    InvalidInput: () => makeAudioFrame(new Float32Array(2) as unknown as Int16Array, 16_000, 1),
  }

  it.each(Object.entries(triggers))("raises %s from the public API", (reason, trigger) => {
    expect(reasonOf(trigger)).toBe(reason)
  })
})
