import { Buffer } from "node:buffer"
import { describe, expect, it } from "vitest"
import { base64ToPcm16, isAudioError, pcm16FromBytes, pcm16ToBase64 } from "../../src/audio/index.ts"
import { noise } from "./signals.ts"

describe("PCM16 base64", () => {
  it("round-trips samples through little-endian base64", () => {
    const samples = noise(4801, 32_767, 5)
    samples[0] = -32_768
    samples[1] = 32_767
    const b64 = pcm16ToBase64(samples)
    expect(b64).toBe(Buffer.from(new Uint8Array(samples.buffer)).toString("base64"))
    expect(base64ToPcm16(b64)).toEqual(samples)
  })

  it("encodes little-endian bytes", () => {
    expect(pcm16ToBase64(new Int16Array([0x0102, -2]))).toBe(
      Buffer.from([0x02, 0x01, 0xfe, 0xff]).toString("base64"),
    )
  })

  it("encodes only the viewed samples of a subarray", () => {
    const all = new Int16Array([1, 2, 3, 4, 5, 6])
    const view = all.subarray(2, 5)
    expect(base64ToPcm16(pcm16ToBase64(view))).toEqual(new Int16Array([3, 4, 5]))
  })

  it("encodes an empty array as an empty string and back", () => {
    expect(pcm16ToBase64(new Int16Array(0))).toBe("")
    expect(base64ToPcm16("").length).toBe(0)
  })

  it("rejects an odd decoded byte length with OddByteLength", () => {
    let reason: string | undefined
    try {
      base64ToPcm16(Buffer.from([1, 2, 3]).toString("base64"))
    } catch (e) {
      if (isAudioError(e)) reason = e.reason
    }
    expect(reason).toBe("OddByteLength")
  })
})

describe("pcm16FromBytes", () => {
  it("shares memory with an aligned view", () => {
    const bytes = new Uint8Array([0, 0, 1, 0, 2, 0, 3, 0])
    const samples = pcm16FromBytes(bytes.subarray(2))
    expect(Array.from(samples)).toEqual([1, 2, 3])
    bytes[2] = 9
    expect(samples[0]).toBe(9)
  })

  it("copies an unaligned view and reads it correctly", () => {
    const bytes = new Uint8Array([0xaa, 0x34, 0x12, 0xff, 0xff, 0x00])
    const view = bytes.subarray(1, 5)
    expect(view.byteOffset % 2).toBe(1)
    const samples = pcm16FromBytes(view)
    expect(Array.from(samples)).toEqual([0x1234, -1])
    bytes[1] = 0
    expect(samples[0]).toBe(0x1234)
  })

  it("rejects an odd byte count with OddByteLength", () => {
    expect(() => pcm16FromBytes(new Uint8Array(3))).toThrow(
      expect.objectContaining({ reason: "OddByteLength" }),
    )
  })
})
