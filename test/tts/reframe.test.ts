import { assert, describe, it } from "@effect/vitest"
import { isAudioError } from "../../src/audio/index.ts"
import { createSpeechReframer } from "../../src/tts/reframe.ts"

/** PCM16 bytes of `samples` samples whose values count up from 1. */
const pcm = (samples: number): Uint8Array => {
  const data = new Int16Array(samples)
  for (let i = 0; i < samples; i++) data[i] = (i % 30_000) + 1
  return new Uint8Array(data.buffer)
}

/** Pushes `bytes` in chunks of the given sizes (cycled), then ends; returns the frames. */
const reframe = (bytes: Uint8Array, sizes: readonly number[]) => {
  const frames: Array<{ data: Int16Array; final: boolean }> = []
  const reframer = createSpeechReframer(24_000, (data, final) => frames.push({ data, final }))
  let at = 0
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!
    reframer.push(bytes.subarray(at, at + size))
    at += size
  }
  reframer.end()
  return frames
}

describe("createSpeechReframer", () => {
  it("gives exact 480-sample frames across odd chunk boundaries, every sample in order", () => {
    const bytes = pcm(480 * 10 + 123)
    for (const sizes of [[1], [3, 7, 1001], [4097, 1531, 6143, 2049, 777], [959], [961], [bytes.length]]) {
      const frames = reframe(bytes, sizes)
      assert.lengthOf(frames, 11)
      frames.slice(0, -1).forEach((f) => {
        assert.strictEqual(f.data.length, 480)
        assert.isFalse(f.final)
      })
      assert.strictEqual(frames[10]?.data.length, 123)
      assert.isTrue(frames[10]?.final)
      const joined = new Int16Array(frames.reduce((n, f) => n + f.data.length, 0))
      let at = 0
      for (const f of frames) {
        joined.set(f.data, at)
        at += f.data.length
      }
      assert.deepStrictEqual(new Uint8Array(joined.buffer), bytes)
    }
  })

  it("marks the last whole frame final when the audio ends on a frame boundary", () => {
    const frames = reframe(pcm(480 * 4), [960])
    assert.deepStrictEqual(
      frames.map((f) => f.final),
      [false, false, false, true],
    )
  })

  it("lets a frame out as soon as its last byte arrives, unless it may be the last", () => {
    const out: boolean[] = []
    const reframer = createSpeechReframer(24_000, (_, final) => out.push(final))
    reframer.push(pcm(481))
    assert.deepStrictEqual(out, [false], "a byte beyond the frame proves more is coming")
    reframer.push(pcm(479))
    assert.deepStrictEqual(out, [false], "now on a boundary: held back")
    reframer.end()
    assert.deepStrictEqual(out, [false, true])
  })

  it("emits nothing for an empty segment and refuses one that ends inside a sample", () => {
    const none: unknown[] = []
    createSpeechReframer(24_000, (d) => none.push(d)).end()
    assert.lengthOf(none, 0)
    const reframer = createSpeechReframer(24_000, () => {})
    reframer.push(new Uint8Array(3))
    try {
      reframer.end()
      assert.fail("expected OddByteLength")
    } catch (error) {
      assert.isTrue(isAudioError(error) && error.reason === "OddByteLength")
    }
  })
})
