import { describe, expect, it } from "vitest"
import { type AudioError, decodeWav, encodeWav, isAudioError, makeAudioFrame } from "../../src/audio/index.ts"
import { noise } from "./signals.ts"

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0))
const u16 = (v: number) => [v & 0xff, (v >> 8) & 0xff]
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]

/** A chunk with its header, pad byte added for odd sizes unless `declared` overrides the size. */
const chunk = (id: string, body: number[], declared = body.length) => [
  ...ascii(id),
  ...u32(declared),
  ...body,
  ...(body.length % 2 === 1 ? [0] : []),
]

const fmt = (o: { code?: number; channels?: number; rate?: number; bits?: number; align?: number } = {}) => {
  const { code = 1, channels = 1, rate = 16_000, bits = 16 } = o
  const align = o.align ?? (channels * bits) / 8
  return [...u16(code), ...u16(channels), ...u32(rate), ...u32(rate * align), ...u16(align), ...u16(bits)]
}

const extensible = (
  subformat: number,
  bits = 16,
  tail = [0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71],
) => [
  ...fmt({ code: 0xfffe, channels: 2, rate: 48_000, bits }),
  ...u16(22),
  ...u16(bits),
  ...u32(3),
  ...u16(subformat),
  ...tail,
]

const riff = (chunks: number[][], magic = "RIFF", form = "WAVE") => {
  const body = chunks.flat()
  return new Uint8Array([...ascii(magic), ...u32(4 + body.length), ...ascii(form), ...body])
}

const pcmBytes = (samples: number[]) => samples.flatMap((s) => u16(s & 0xffff))

const failure = (bytes: Uint8Array): AudioError => {
  try {
    decodeWav(bytes)
  } catch (e) {
    if (isAudioError(e)) return e
    throw e
  }
  throw new Error("decodeWav accepted the input")
}

describe("encodeWav / decodeWav", () => {
  it("round-trips mono and stereo PCM16", () => {
    for (const [rate, channels] of [
      [24_000, 1],
      [44_100, 2],
      [8000, 6],
    ] as const) {
      const frame = makeAudioFrame(noise(channels * 999, 32_767, rate), rate, channels)
      const decoded = decodeWav(encodeWav(frame))
      expect(decoded).toEqual(frame)
    }
  })

  it("writes the canonical 44-byte header", () => {
    const bytes = encodeWav(makeAudioFrame(new Int16Array([1, -1]), 24_000, 2))
    const expected = riff([
      chunk("fmt ", fmt({ channels: 2, rate: 24_000 })),
      chunk("data", pcmBytes([1, -1])),
    ])
    expect(Array.from(bytes)).toEqual(Array.from(expected))
    expect(bytes.length).toBe(48)
  })

  it("encodes the viewed samples of a subarray only", () => {
    const all = new Int16Array([9, 1, 2, 9])
    expect(decodeWav(encodeWav(makeAudioFrame(all.subarray(1, 3), 8000, 1))).data).toEqual(
      new Int16Array([1, 2]),
    )
  })

  it("skips LIST and odd-sized chunks (with their pad byte) before data", () => {
    const bytes = riff([
      chunk("fmt ", fmt({ rate: 22_050 })),
      chunk("LIST", ascii("INFOISFT\u0005\u0000\u0000\u0000voxs")),
      chunk("odd!", [1, 2, 3]),
      chunk("data", pcmBytes([100, -200, 300])),
    ])
    expect(decodeWav(bytes)).toEqual({
      data: new Int16Array([100, -200, 300]),
      sampleRateHz: 22_050,
      channels: 1,
    })
  })

  it("finds fmt after data, and ignores chunks after data", () => {
    const bytes = riff([chunk("data", pcmBytes([5, 6])), chunk("fmt ", fmt()), chunk("cue ", [0, 0, 0, 0])])
    expect(Array.from(decodeWav(bytes).data)).toEqual([5, 6])
  })

  it("reads a streaming data size (0xFFFFFFFF) as 'to the end of the file'", () => {
    const bytes = riff([chunk("fmt ", fmt()), [...ascii("data"), ...u32(0xffffffff), ...pcmBytes([7, 8, 9])]])
    expect(Array.from(decodeWav(bytes).data)).toEqual([7, 8, 9])
  })

  it("accepts WAVE_FORMAT_EXTENSIBLE with the PCM subformat", () => {
    const bytes = riff([chunk("fmt ", extensible(1)), chunk("data", pcmBytes([1, 2, 3, 4]))])
    expect(decodeWav(bytes)).toEqual({
      data: new Int16Array([1, 2, 3, 4]),
      sampleRateHz: 48_000,
      channels: 2,
    })
  })

  it("decodes from an unaligned view of a larger buffer", () => {
    const wav = encodeWav(makeAudioFrame(new Int16Array([1234, -4321]), 16_000, 1))
    const holder = new Uint8Array(wav.length + 1)
    holder.set(wav, 1)
    expect(Array.from(decodeWav(holder.subarray(1)).data)).toEqual([1234, -4321])
  })
})

describe("decodeWav rejects", () => {
  const data = chunk("data", pcmBytes([1, 2]))

  it.each([
    ["IEEE float", riff([chunk("fmt ", fmt({ code: 3, bits: 32 })), data]), "IEEE float"],
    ["8-bit PCM", riff([chunk("fmt ", fmt({ bits: 8 })), data]), "8-bit"],
    ["24-bit PCM", riff([chunk("fmt ", fmt({ bits: 24 })), data]), "24-bit"],
    ["µ-law", riff([chunk("fmt ", fmt({ code: 7, bits: 8 })), data]), "µ-law"],
    ["MP3", riff([chunk("fmt ", fmt({ code: 0x55, bits: 0 })), data]), "MPEG layer 3"],
    ["extensible float", riff([chunk("fmt ", extensible(3, 32)), data]), "IEEE float"],
    ["extensible 24-bit", riff([chunk("fmt ", extensible(1, 24)), data]), "24-bit"],
    [
      "extensible unknown GUID",
      riff([chunk("fmt ", extensible(1, 16, new Array(14).fill(1))), data]),
      "GUID",
    ],
    ["big-endian RIFX", riff([chunk("fmt ", fmt()), data], "RIFX"), "RIFX"],
    ["RF64", riff([chunk("fmt ", fmt()), data], "RF64"), "RF64"],
  ])("%s with UnsupportedWav naming it", (_name, bytes, found) => {
    const error = failure(bytes)
    expect(error.reason).toBe("UnsupportedWav")
    expect(error.message).toContain(found)
  })

  it.each([
    ["empty input", new Uint8Array(0), "truncated"],
    ["a header cut short", riff([chunk("fmt ", fmt()), data]).subarray(0, 10), "truncated"],
    ["bad RIFF magic", riff([chunk("fmt ", fmt()), data], "OggS"), "OggS"],
    ["bad WAVE magic", riff([chunk("fmt ", fmt()), data], "RIFF", "AVI "), "AVI "],
    ["a missing fmt chunk", riff([data]), "no fmt"],
    ["a missing data chunk", riff([chunk("fmt ", fmt()), chunk("LIST", [0, 0])]), "no data"],
    [
      "a data chunk cut short",
      riff([chunk("fmt ", fmt()), chunk("data", pcmBytes([1, 2, 3]), 100)]),
      "truncated",
    ],
    ["another chunk cut short", riff([chunk("fmt ", fmt()), chunk("LIST", [1, 2], 50)]), "truncated"],
    [
      "half a stereo frame of data",
      riff([chunk("fmt ", fmt({ channels: 2 })), chunk("data", pcmBytes([1]))]),
      "frames",
    ],
    ["an odd byte of data", riff([chunk("fmt ", fmt()), chunk("data", [1, 2, 3])]), "frames"],
    ["a short fmt chunk", riff([chunk("fmt ", fmt().slice(0, 14)), data]), "shorter than 16"],
    [
      "a short extensible fmt chunk",
      riff([chunk("fmt ", extensible(1).slice(0, 30)), data]),
      "shorter than 40",
    ],
    ["zero channels", riff([chunk("fmt ", fmt({ channels: 0, align: 0 })), data]), "0 channels"],
    ["a zero sample rate", riff([chunk("fmt ", fmt({ rate: 0 })), data]), "0 Hz"],
    [
      "a block align that disagrees",
      riff([chunk("fmt ", fmt({ channels: 2, align: 2 })), data]),
      "block align",
    ],
  ])("%s with MalformedWav", (_name, bytes, found) => {
    const error = failure(bytes)
    expect(error.reason).toBe("MalformedWav")
    expect(error.message).toContain(found)
  })
})
