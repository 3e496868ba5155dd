import { audioError } from "./AudioError.ts"
import type { AudioFrame } from "./AudioFrame.ts"
import { validateAudioFrame } from "./AudioFrame.ts"

// WAV (RIFF/WAVE) is little-endian; sample bytes are copied to and from Int16Array memory
// directly, which assumes a little-endian host (every Node target).

const formatPcm = 0x0001
const formatExtensible = 0xfffe
// The 14 bytes after the 2-byte format code in KSDATAFORMAT_SUBTYPE_* GUIDs.
const guidTail = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]

const formatNames: Record<number, string> = {
  2: "Microsoft ADPCM",
  3: "IEEE float",
  6: "A-law",
  7: "µ-law",
  17: "IMA ADPCM",
  49: "GSM 6.10",
  80: "MPEG",
  85: "MPEG layer 3",
}

const formatName = (code: number) =>
  `${formatNames[code] ?? "format"} (0x${code.toString(16).padStart(4, "0")})`

const fourCC = (view: DataView, at: number) =>
  String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3))

const printable = (id: string) => JSON.stringify(id)

/**
 * Encodes a frame as a canonical 44-byte-header RIFF/WAVE file, PCM16 (format 1).
 *
 * @throws {AudioError} any reason of `validateAudioFrame`; `MalformedWav` when the data
 *   would exceed the 4 GiB a RIFF size field can describe
 */
export const encodeWav = (frame: AudioFrame): Uint8Array => {
  const { data, sampleRateHz, channels } = validateAudioFrame(frame)
  const dataBytes = data.byteLength
  if (dataBytes + 36 > 0xffffffff) {
    throw audioError("MalformedWav", `${dataBytes} bytes of audio do not fit in a RIFF file`)
  }
  const out = new Uint8Array(44 + dataBytes)
  const view = new DataView(out.buffer)
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i)
  }
  ascii(0, "RIFF")
  view.setUint32(4, 36 + dataBytes, true)
  ascii(8, "WAVE")
  ascii(12, "fmt ")
  view.setUint32(16, 16, true)
  view.setUint16(20, formatPcm, true)
  view.setUint16(22, channels, true)
  view.setUint32(24, sampleRateHz, true)
  view.setUint32(28, sampleRateHz * channels * 2, true)
  view.setUint16(32, channels * 2, true)
  view.setUint16(34, 16, true)
  ascii(36, "data")
  view.setUint32(40, dataBytes, true)
  out.set(new Uint8Array(data.buffer, data.byteOffset, dataBytes), 44)
  return out
}

interface Format {
  readonly channels: number
  readonly sampleRateHz: number
}

const readFormat = (view: DataView, at: number, size: number): Format => {
  if (size < 16) throw audioError("MalformedWav", `fmt chunk of ${size} bytes is shorter than 16`)
  const code = view.getUint16(at, true)
  const channels = view.getUint16(at + 2, true)
  const sampleRateHz = view.getUint32(at + 4, true)
  const blockAlign = view.getUint16(at + 12, true)
  const bits = view.getUint16(at + 14, true)
  let effective = code
  if (code === formatExtensible) {
    if (size < 40) {
      throw audioError("MalformedWav", `WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes is shorter than 40`)
    }
    effective = view.getUint16(at + 24, true)
    const known = guidTail.every((b, i) => view.getUint8(at + 26 + i) === b)
    if (!known)
      throw audioError("UnsupportedWav", "WAVE_FORMAT_EXTENSIBLE with a non-standard subformat GUID")
  }
  if (effective !== formatPcm) {
    throw audioError(
      "UnsupportedWav",
      `found ${formatName(effective)}, ${bits}-bit${code === formatExtensible ? " (extensible)" : ""}; only 16-bit PCM is supported`,
    )
  }
  if (bits !== 16) {
    throw audioError("UnsupportedWav", `found ${bits}-bit PCM; only 16-bit PCM is supported`)
  }
  if (channels === 0) throw audioError("MalformedWav", "fmt chunk declares 0 channels")
  if (sampleRateHz === 0) throw audioError("MalformedWav", "fmt chunk declares a sample rate of 0 Hz")
  if (blockAlign !== channels * 2) {
    throw audioError(
      "MalformedWav",
      `fmt chunk block align ${blockAlign} does not match ${channels} channels of 16 bits`,
    )
  }
  return { channels, sampleRateHz }
}

/**
 * Decodes a RIFF/WAVE file holding 16-bit PCM (format 1, or WAVE_FORMAT_EXTENSIBLE with
 * the PCM subformat). Chunks other than `fmt ` and `data` (LIST, fact, …) are skipped,
 * odd-sized chunks' pad bytes included. A `data` size of 0xFFFFFFFF (written by streaming
 * encoders that do not know the length) means "to the end of the file". The samples are
 * copied out of `bytes`.
 *
 * @throws {AudioError} `InvalidInput` when `bytes` is not a `Uint8Array` (an `ArrayBuffer`, a
 *   string); `UnsupportedWav` for another encoding (float, 8/24/32-bit,
 *   compressed, RIFX/RF64), naming what was found; `MalformedWav` for bad RIFF/WAVE magic,
 *   truncation, a missing `fmt ` or `data` chunk, or inconsistent fields
 */
export const decodeWav = (bytes: Uint8Array): AudioFrame => {
  if (!(bytes instanceof Uint8Array)) {
    const kind =
      bytes === null
        ? "null"
        : (bytes as unknown) instanceof ArrayBuffer
          ? "an ArrayBuffer (wrap it: new Uint8Array(buffer))"
          : typeof bytes
    throw audioError("InvalidInput", `decodeWav takes the file's bytes as a Uint8Array, got ${kind}`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const length = bytes.byteLength
  if (length < 12) throw audioError("MalformedWav", `truncated: ${length} bytes, a RIFF header needs 12`)
  const magic = fourCC(view, 0)
  if (magic === "RIFX" || magic === "RF64") {
    throw audioError("UnsupportedWav", `found a ${magic} file; only little-endian RIFF is supported`)
  }
  if (magic !== "RIFF") throw audioError("MalformedWav", `bad RIFF magic: found ${printable(magic)}`)
  const form = fourCC(view, 8)
  if (form !== "WAVE") throw audioError("MalformedWav", `bad WAVE magic: found ${printable(form)}`)

  let format: Format | undefined
  let dataAt = -1
  let dataBytes = 0
  let at = 12
  while (at + 8 <= length) {
    const id = fourCC(view, at)
    const size = view.getUint32(at + 4, true)
    const body = at + 8
    if (id === "data") {
      const open = size === 0xffffffff
      if (!open && body + size > length) {
        throw audioError(
          "MalformedWav",
          `truncated: data chunk declares ${size} bytes, ${length - body} present`,
        )
      }
      dataAt = body
      dataBytes = open ? length - body : size
      if (format !== undefined || open) break
    } else if (body + size > length) {
      throw audioError(
        "MalformedWav",
        `truncated: ${printable(id)} chunk declares ${size} bytes, ${length - body} present`,
      )
    } else if (id === "fmt ") {
      format = readFormat(view, body, size)
      if (dataAt >= 0) break
    }
    // Chunks are padded to an even length.
    at = body + size + (size & 1)
  }
  if (format === undefined) throw audioError("MalformedWav", "no fmt chunk")
  if (dataAt < 0) throw audioError("MalformedWav", "no data chunk")
  const frameBytes = format.channels * 2
  if (dataBytes % frameBytes !== 0) {
    throw audioError(
      "MalformedWav",
      `truncated: data chunk of ${dataBytes} bytes is not a whole number of ${frameBytes}-byte frames`,
    )
  }
  const data = new Int16Array(dataBytes / 2)
  new Uint8Array(data.buffer).set(bytes.subarray(dataAt, dataAt + dataBytes))
  return { data, sampleRateHz: format.sampleRateHz, channels: format.channels }
}
