import { describe, expect, it } from "vitest"
import {
  type AudioFrame,
  decodeWav,
  encodeWav,
  fromFloat32,
  isAudioError,
  makeAudioFrame,
  validateAudioFrame,
} from "../../src/audio/index.ts"
import { createBatchSTT } from "../../src/stt/BatchSTT.ts"
import { createFallbackAdapter } from "../../src/stt/FallbackAdapter.ts"
import { streamingSTT } from "../../src/stt/STT.ts"
import { createStreamAdapter } from "../../src/stt/StreamAdapter.ts"
import { createTranscriptionSession } from "../../src/stt/TranscriptionSession.ts"
import { createFakeSTT } from "../../src/testing/index.ts"

const reasonOf = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (error) {
    if (isAudioError(error)) return error.reason
    return `not an AudioError: ${error instanceof Error ? error.name : typeof error}`
  }
  return undefined
}

/** Frames that are not PCM16 frames, as a caller might pass them from untyped code. */
const badFrames: ReadonlyArray<readonly [string, unknown]> = [
  ["Float32Array data", { data: new Float32Array([0.5, -0.5]), sampleRateHz: 16_000, channels: 1 }],
  [
    "Float32Array of NaN and Infinity",
    { data: new Float32Array([Number.NaN, Number.POSITIVE_INFINITY]), sampleRateHz: 16_000, channels: 1 },
  ],
  ["null data", { data: null, sampleRateHz: 16_000, channels: 1 }],
  ["an array of numbers", { data: [1, 2], sampleRateHz: 16_000, channels: 1 }],
  ["a Uint8Array", { data: new Uint8Array(4), sampleRateHz: 16_000, channels: 1 }],
  ["a null frame", null],
]

describe("audio input types", () => {
  it.each(badFrames)("validateAudioFrame rejects %s with InvalidInput", (_name, frame) => {
    expect(reasonOf(() => validateAudioFrame(frame as AudioFrame))).toBe("InvalidInput")
  })

  it("fromFloat32 scales [-1, 1] to PCM16, rounds half away from zero and clips", () => {
    const frame = fromFloat32(new Float32Array([0, 0.5, -0.5, 1, -1, 1.5, -2, 1 / 32767]), 16_000)
    expect([...frame.data]).toEqual([0, 16384, -16384, 32767, -32767, 32767, -32768, 1])
    expect(frame.sampleRateHz).toBe(16_000)
    expect(fromFloat32(new Float32Array(4), 48_000, 2).channels).toBe(2)
  })

  it("fromFloat32 rejects NaN, Infinity and non-float input", () => {
    expect(reasonOf(() => fromFloat32(new Float32Array([0, Number.NaN]), 16_000))).toBe("InvalidInput")
    expect(reasonOf(() => fromFloat32(new Float32Array([Number.NEGATIVE_INFINITY]), 16_000))).toBe(
      "InvalidInput",
    )
    expect(reasonOf(() => fromFloat32(new Int16Array(2) as unknown as Float32Array, 16_000))).toBe(
      "InvalidInput",
    )
  })

  it("decodeWav rejects an ArrayBuffer or a string with InvalidInput", () => {
    const wav = encodeWav(makeAudioFrame(new Int16Array(4), 16_000, 1))
    expect(reasonOf(() => decodeWav(wav.buffer as unknown as Uint8Array))).toBe("InvalidInput")
    expect(reasonOf(() => decodeWav("RIFF....WAVE" as unknown as Uint8Array))).toBe("InvalidInput")
    expect(reasonOf(() => decodeWav(null as unknown as Uint8Array))).toBe("InvalidInput")
    expect(decodeWav(new Uint8Array(wav.buffer)).data).toHaveLength(4)
  })

  it("every stream() rejects a bad frame with AudioError, and still takes good ones", async () => {
    const fake = () => createFakeSTT({ label: "fake" })
    const stts = {
      streamAdapter: createStreamAdapter({ stt: fake() }),
      fallback: createFallbackAdapter({ stts: [fake(), fake()] }),
      batch: createBatchSTT({
        openai: { apiKey: "sk-unused-test-key", baseUrl: "http://127.0.0.1:9/v1" },
        env: {},
      }),
      streaming: streamingSTT({
        label: "session",
        createStream: () =>
          createTranscriptionSession({
            apiKey: "sk-unused-test-key",
            baseUrl: "ws://127.0.0.1:9/v1",
            env: {},
          }),
      }),
    }
    for (const [name, stt] of Object.entries(stts)) {
      const stream = stt.stream()
      for (const [frameName, frame] of badFrames) {
        expect(
          reasonOf(() => stream.pushFrame(frame as AudioFrame)),
          `${name}: ${frameName}`,
        ).toBe("InvalidInput")
      }
      stream.pushFrame(makeAudioFrame(new Int16Array(320), 16_000, 1))
      await stream.close()
      await stt.close()
    }
  })

  it("a transcription session rejects a Float32Array frame and pushPcm16 of a non-byte value", async () => {
    const session = createTranscriptionSession({
      apiKey: "sk-unused-test-key",
      baseUrl: "ws://127.0.0.1:9/v1",
      env: {},
    })
    expect(
      reasonOf(() =>
        session.pushFrame({
          data: new Float32Array(4) as unknown as Int16Array,
          sampleRateHz: 24_000,
          channels: 1,
        }),
      ),
    ).toBe("InvalidInput")
    expect(reasonOf(() => session.pushPcm16("abcd" as unknown as Uint8Array, 24_000))).toBe("InvalidInput")
    expect(session.pushedSamples).toBe(0)
    await session.close()
  })
})
