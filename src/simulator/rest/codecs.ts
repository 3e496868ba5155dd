/**
 * The compressed audio the simulator's REST endpoints make and read: MP3 (encoded with
 * `@breezystack/lamejs`, decoded with `mpg123-decoder`) and FLAC (encoded here: fixed
 * predictors of order 0..4 and Rice-coded residuals, lossless; decoded with
 * `@wasm-audio-decoders/flac`). The decoders are WebAssembly modules, loaded on the first
 * upload that needs one. Opus and AAC have no encoder the simulator keeps: the speech
 * endpoint refuses them with a clear `unsupported_value` error.
 * @module
 */
import { type AudioFrame, fromFloat32 } from "../../audio/index.ts"

/** The compressed containers the simulator reads (besides WAV, which `decodeWav` reads). */
export type CompressedKind = "mp3" | "flac"

/** The container of an upload, told by its first bytes; `undefined` for anything else. */
export const sniffCompressed = (data: Uint8Array): CompressedKind | undefined => {
  if (data.length >= 4 && data[0] === 0x66 && data[1] === 0x4c && data[2] === 0x61 && data[3] === 0x43)
    return "flac"
  if (data.length >= 3 && data[0] === 0x49 && data[1] === 0x44 && data[2] === 0x33) return "mp3"
  // An MPEG audio frame sync: 11 set bits, layer bits not 00.
  if (
    data.length >= 2 &&
    data[0] === 0xff &&
    ((data[1] ?? 0) & 0xe0) === 0xe0 &&
    ((data[1] ?? 0) & 0x06) !== 0
  )
    return "mp3"
  return undefined
}

/** Interleaves decoded float channels into one frame. */
const interleave = (channels: readonly Float32Array[], samples: number, sampleRateHz: number): AudioFrame => {
  const count = Math.max(1, channels.length)
  const out = new Float32Array(samples * count)
  for (let c = 0; c < channels.length; c++) {
    const channel = channels[c]!
    for (let i = 0; i < samples; i++) out[i * count + c] = channel[i] ?? 0
  }
  return fromFloat32(out, sampleRateHz, count)
}

/**
 * Decodes an MP3 or FLAC file to PCM16 at its own rate and channel count.
 * @throws Error when the bytes hold no decodable audio
 */
export const decodeCompressed = async (kind: CompressedKind, data: Uint8Array): Promise<AudioFrame> => {
  if (kind === "mp3") {
    const { MPEGDecoder } = await import("mpg123-decoder")
    const decoder = new MPEGDecoder()
    await decoder.ready
    try {
      const decoded = decoder.decode(data)
      if (decoded.samplesDecoded === 0) throw new Error("no MPEG audio frame could be decoded")
      return interleave(decoded.channelData, decoded.samplesDecoded, decoded.sampleRate)
    } finally {
      decoder.free()
    }
  }
  const { FLACDecoder } = await import("@wasm-audio-decoders/flac")
  const decoder = new FLACDecoder()
  await decoder.ready
  try {
    const decoded = await decoder.decodeFile(data)
    if (decoded.samplesDecoded === 0) throw new Error("no FLAC frame could be decoded")
    return interleave(decoded.channelData, decoded.samplesDecoded, decoded.sampleRate)
  } finally {
    decoder.free()
  }
}

/** MP3 bit rate of the simulated voice, in kbit/s (mono). */
export const MP3_KBPS = 64
/** Samples handed to the MP3 encoder at a time (a multiple of its 1152-sample frame). */
const MP3_BLOCK = 1152 * 16

/** Encodes mono PCM16 as an MP3 stream (MPEG-2 Layer III at 24 kHz, {@link MP3_KBPS} kbit/s). */
export const encodeMp3 = async (samples: Int16Array, sampleRateHz: number): Promise<Uint8Array> => {
  const { Mp3Encoder } = await import("@breezystack/lamejs")
  const encoder = new Mp3Encoder(1, sampleRateHz, MP3_KBPS)
  const parts: Uint8Array[] = []
  for (let offset = 0; offset < samples.length; offset += MP3_BLOCK) {
    parts.push(encoder.encodeBuffer(samples.subarray(offset, offset + MP3_BLOCK)))
  }
  parts.push(encoder.flush())
  // The encoder hands back Int8Array views at times: concatenated as the bytes they are.
  return Buffer.concat(parts.map((p) => new Uint8Array(p.buffer, p.byteOffset, p.byteLength)))
}

// ---- FLAC ----

/** Samples per FLAC frame. */
const FLAC_BLOCK = 4096
/** The largest Rice parameter with the 4-bit parameter field (15 is the escape code). */
const MAX_RICE_PARAMETER = 14

/** The FLAC frame header's codes of the common sample rates; others are written in Hz. */
const RATE_CODES: ReadonlyMap<number, number> = new Map([
  [8000, 0b0100],
  [16000, 0b0101],
  [22050, 0b0110],
  [24000, 0b0111],
  [32000, 0b1000],
  [44100, 0b1001],
  [48000, 0b1010],
  [96000, 0b1011],
])

/** A big-endian bit writer. */
class BitWriter {
  private bytes = new Uint8Array(1 << 16)
  private length = 0
  private bit = 0
  private current = 0

  /** Writes the low `count` bits of `value` (count ≤ 32, value non-negative). */
  write(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) this.pushBit(Math.floor(value / 2 ** i) & 1)
  }

  /** Writes `count` zero bits then a one. */
  unary(count: number): void {
    for (let i = 0; i < count; i++) this.pushBit(0)
    this.pushBit(1)
  }

  /** Pads with zero bits to a byte boundary. */
  align(): void {
    while (this.bit !== 0) this.pushBit(0)
  }

  /** Bytes written so far (whole bytes only). */
  get byteLength(): number {
    return this.length
  }

  view(from = 0, to = this.length): Uint8Array {
    return this.bytes.subarray(from, to)
  }

  private pushBit(b: number): void {
    this.current = (this.current << 1) | b
    this.bit++
    if (this.bit === 8) {
      if (this.length === this.bytes.length) {
        const grown = new Uint8Array(this.bytes.length * 2)
        grown.set(this.bytes)
        this.bytes = grown
      }
      this.bytes[this.length++] = this.current
      this.current = 0
      this.bit = 0
    }
  }
}

const crc8 = (data: Uint8Array): number => {
  let crc = 0
  for (const byte of data) {
    crc ^= byte
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff
  }
  return crc
}

const crc16 = (data: Uint8Array): number => {
  let crc = 0
  for (const byte of data) {
    crc ^= byte << 8
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

/** The residual of the fixed predictor of `order` at sample `n`. */
const fixedResidual = (x: Int16Array, n: number, order: number): number => {
  switch (order) {
    case 0:
      return x[n]!
    case 1:
      return x[n]! - x[n - 1]!
    case 2:
      return x[n]! - 2 * x[n - 1]! + x[n - 2]!
    case 3:
      return x[n]! - 3 * x[n - 1]! + 3 * x[n - 2]! - x[n - 3]!
    default:
      return x[n]! - 4 * x[n - 1]! + 6 * x[n - 2]! - 4 * x[n - 3]! + x[n - 4]!
  }
}

/** Zig-zag folding of a signed residual. */
const fold = (r: number): number => (r >= 0 ? 2 * r : -2 * r - 1)

/** Bits a block's residuals take with Rice parameter `k`. */
const riceBits = (folded: readonly number[], k: number): number => {
  let bits = 0
  for (const u of folded) bits += Math.floor(u / 2 ** k) + 1 + k
  return bits
}

/** One FLAC frame: header, a FIXED subframe (the cheapest order), padding, CRC-16. */
const writeFrame = (out: BitWriter, block: Int16Array, frameNumber: number, sampleRateHz: number): void => {
  const start = out.byteLength
  out.write(0b11111111111110, 14)
  out.write(0, 1) // reserved
  out.write(0, 1) // fixed block size
  out.write(0b0111, 4) // block size: 16 bits (size - 1) at the header's end
  // The rate in the header itself (decoders that take frames one by one never see STREAMINFO).
  const rateCode = RATE_CODES.get(sampleRateHz) ?? 0b1101
  out.write(rateCode, 4)
  out.write(0b0000, 4) // mono
  out.write(0b100, 3) // 16 bits per sample
  out.write(0, 1) // reserved
  writeUtf8Number(out, frameNumber)
  out.write(block.length - 1, 16)
  if (rateCode === 0b1101) out.write(sampleRateHz, 16)
  out.write(crc8(out.view(start)), 8)

  let best = { order: 0, k: 0, bits: Number.POSITIVE_INFINITY, folded: [] as number[] }
  for (let order = 0; order <= Math.min(4, block.length - 1); order++) {
    const folded: number[] = []
    for (let n = order; n < block.length; n++) folded.push(fold(fixedResidual(block, n, order)))
    // The best parameter is near log2 of the mean folded residual: try its neighbours.
    const mean = folded.reduce((a, u) => a + u, 0) / Math.max(1, folded.length)
    const guess = mean < 1 ? 0 : Math.floor(Math.log2(mean))
    for (let k = Math.max(0, guess - 1); k <= Math.min(MAX_RICE_PARAMETER, guess + 1); k++) {
      const bits = riceBits(folded, k) + order * 16
      if (bits < best.bits) best = { order, k, bits, folded }
    }
  }
  out.write(0, 1) // zero padding
  out.write(0b001000 | best.order, 6) // FIXED, order
  out.write(0, 1) // no wasted bits
  for (let i = 0; i < best.order; i++) out.write(block[i]! & 0xffff, 16)
  out.write(0b00, 2) // Rice, 4-bit parameters
  out.write(0, 4) // partition order 0
  out.write(best.k, 4)
  for (const u of best.folded) {
    out.unary(Math.floor(u / 2 ** best.k))
    if (best.k > 0) out.write(u % 2 ** best.k, best.k)
  }
  out.align()
  out.write(crc16(out.view(start)), 16)
}

/** The frame number in FLAC's UTF-8-like coding (up to 31 bits here). */
const writeUtf8Number = (out: BitWriter, value: number): void => {
  if (value < 0x80) {
    out.write(value, 8)
    return
  }
  const continuation: number[] = []
  let rest = value
  let firstBits = 6
  while (rest >= 2 ** firstBits) {
    continuation.unshift(0x80 | (rest & 0x3f))
    rest = Math.floor(rest / 64)
    firstBits--
  }
  const count = continuation.length + 1
  const lead = ((0xff << (8 - count)) & 0xff) | rest
  out.write(lead, 8)
  for (const byte of continuation) out.write(byte, 8)
}

/** Encodes mono PCM16 as a FLAC file (lossless; STREAMINFO without an MD5 signature). */
export const encodeFlac = (samples: Int16Array, sampleRateHz: number): Uint8Array => {
  if (!Number.isInteger(sampleRateHz) || sampleRateHz < 1 || sampleRateHz > 65_535)
    throw new RangeError(`FLAC: unsupported sample rate ${sampleRateHz} Hz`)
  const out = new BitWriter()
  out.write(0x664c6143, 32) // "fLaC"
  out.write(1, 1) // last metadata block
  out.write(0, 7) // STREAMINFO
  out.write(34, 24)
  out.write(FLAC_BLOCK, 16)
  out.write(FLAC_BLOCK, 16)
  out.write(0, 24) // min frame size unknown
  out.write(0, 24) // max frame size unknown
  out.write(sampleRateHz, 20)
  out.write(0, 3) // one channel
  out.write(15, 5) // 16 bits per sample
  out.write(Math.floor(samples.length / 2 ** 32), 4)
  out.write(samples.length % 2 ** 32, 32)
  for (let i = 0; i < 4; i++) out.write(0, 32) // MD5 unknown
  for (let offset = 0, frame = 0; offset < samples.length; offset += FLAC_BLOCK, frame++) {
    writeFrame(out, samples.subarray(offset, offset + FLAC_BLOCK), frame, sampleRateHz)
  }
  return out.view().slice()
}
