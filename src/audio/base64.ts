import { Buffer } from "node:buffer"
import { audioError } from "./AudioError.ts"

// Byte order: PCM16 on the wire (OpenAI audio, WAV) is little-endian, and these
// functions reinterpret Int16Array memory as bytes directly. That is correct on
// little-endian hosts only (x86, ARM as Node runs it), which is every Node target.

/**
 * Encodes PCM16 samples as base64 of their little-endian bytes, without copying the samples.
 *
 * @param samples any Int16Array, including a subarray view
 */
export const pcm16ToBase64 = (samples: Int16Array): string =>
  Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString("base64")

/**
 * Views little-endian PCM16 bytes as samples. Shares memory with `bytes` when its
 * `byteOffset` is even, and copies only when the view is unaligned.
 *
 * @throws {AudioError} `OddByteLength` when `bytes.byteLength` is odd
 */
export const pcm16FromBytes = (bytes: Uint8Array): Int16Array => {
  if (!(bytes instanceof Uint8Array)) {
    throw audioError(
      "InvalidInput",
      `PCM16 bytes must be a Uint8Array, got ${bytes === null ? "null" : typeof bytes}`,
    )
  }
  if (bytes.byteLength % 2 !== 0) {
    throw audioError("OddByteLength", `PCM16 needs an even number of bytes, got ${bytes.byteLength}`)
  }
  if (bytes.byteOffset % 2 === 0) {
    return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2)
  }
  const out = new Int16Array(bytes.byteLength / 2)
  new Uint8Array(out.buffer).set(bytes)
  return out
}

/**
 * Decodes base64 (as in `input_audio_buffer.append` / `response.output_audio.delta`)
 * into PCM16 samples, copying only if the decoded bytes are unaligned. The result may be
 * a view into Node's shared buffer pool (its `.buffer` is larger than the samples); use
 * `.slice()` for an array that owns its memory. Characters outside the base64 alphabet are
 * skipped, as Node's decoder does.
 *
 * @throws {AudioError} `OddByteLength` when the decoded byte count is odd
 */
export const base64ToPcm16 = (b64: string): Int16Array => pcm16FromBytes(Buffer.from(b64, "base64"))
