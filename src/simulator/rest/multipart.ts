/**
 * A `multipart/form-data` parser over a complete body (RFC 7578 / RFC 2046): the boundary
 * comes from the `Content-Type` header, each part's `Content-Disposition` gives its field
 * name and file name. Used by the transcription endpoint, whose body is already bounded.
 * @module
 */
import { Data } from "effect"

/**
 * Why a multipart body could not be read:
 * - `NotMultipart`: the content type is not `multipart/form-data`.
 * - `MissingBoundary`: the content type has no `boundary` parameter.
 * - `MissingDelimiter`: the body has no opening boundary line.
 * - `MissingTerminator`: the body ends before the closing `--boundary--` line.
 * - `MalformedPart`: a part without a blank line after its headers, or a malformed header.
 * - `MissingName`: a part whose `Content-Disposition` has no `name`.
 */
export type MultipartErrorReason =
  | "NotMultipart"
  | "MissingBoundary"
  | "MissingDelimiter"
  | "MissingTerminator"
  | "MalformedPart"
  | "MissingName"

/** A multipart body that could not be parsed. Never retryable: the request is malformed. */
export class MultipartError extends Data.TaggedError("MultipartError")<{
  readonly reason: MultipartErrorReason
  readonly message: string
}> {}

/** One part of a multipart body. */
export interface MultipartPart {
  /** The form field name (`name` of `Content-Disposition`). */
  readonly name: string
  /** The file name, for file parts. */
  readonly filename: string | undefined
  /** The part's `Content-Type`, lower-cased, when given. */
  readonly contentType: string | undefined
  /** Every header of the part, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>
  /** The part's bytes (a view into the body). */
  readonly data: Uint8Array
}

const CRLF = Buffer.from("\r\n")

/**
 * Splits a header value like `form-data; name="file"; filename="a b.wav"` into its first
 * token and its parameters (names lower-cased, quoted strings unescaped). An RFC 5987
 * `name*=UTF-8''...` parameter wins over the plain one.
 */
export const parseHeaderParams = (value: string): { value: string; params: Map<string, string> } => {
  const params = new Map<string, string>()
  let i = value.indexOf(";")
  const head = (i === -1 ? value : value.slice(0, i)).trim().toLowerCase()
  while (i !== -1 && i < value.length) {
    i++
    while (i < value.length && (value[i] === " " || value[i] === "\t")) i++
    const eq = value.indexOf("=", i)
    if (eq === -1) break
    const name = value.slice(i, eq).trim().toLowerCase()
    let j = eq + 1
    let param = ""
    if (value[j] === '"') {
      j++
      while (j < value.length && value[j] !== '"') {
        if (value[j] === "\\" && j + 1 < value.length) j++
        param += value[j]
        j++
      }
      j++
      const next = value.indexOf(";", j)
      i = next
    } else {
      const next = value.indexOf(";", j)
      param = (next === -1 ? value.slice(j) : value.slice(j, next)).trim()
      i = next
    }
    if (name.endsWith("*")) {
      const quote = param.indexOf("''")
      const encoded = quote === -1 ? param : param.slice(quote + 2)
      try {
        params.set(name.slice(0, -1), decodeURIComponent(encoded))
      } catch {
        params.set(name.slice(0, -1), encoded)
      }
    } else if (!params.has(name)) {
      params.set(name, param)
    }
    if (i === -1) break
  }
  return { value: head, params }
}

/**
 * The boundary of a `multipart/form-data` content type.
 * @throws MultipartError `NotMultipart` or `MissingBoundary`.
 */
export const boundaryOf = (contentType: string | undefined): string => {
  const { value, params } = parseHeaderParams(contentType ?? "")
  if (value !== "multipart/form-data") {
    throw new MultipartError({
      reason: "NotMultipart",
      message: `Expected multipart/form-data, got '${contentType ?? ""}'.`,
    })
  }
  const boundary = params.get("boundary")
  if (boundary === undefined || boundary.length === 0 || boundary.length > 200) {
    throw new MultipartError({
      reason: "MissingBoundary",
      message: "The multipart content type has no boundary.",
    })
  }
  return boundary
}

/**
 * Parses a complete multipart body delimited by `boundary`. Text before the first
 * delimiter (the preamble) and after the closing one (the epilogue) is ignored.
 * @throws MultipartError when the body is not well formed.
 */
export const parseMultipart = (body: Uint8Array, boundary: string): MultipartPart[] => {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  const delimiter = Buffer.from(`--${boundary}`)
  // Every delimiter after the first is preceded by CRLF, which belongs to it.
  const innerDelimiter = Buffer.concat([CRLF, delimiter])
  let pos: number
  if (buf.subarray(0, delimiter.length).equals(delimiter)) pos = 0
  else {
    const found = buf.indexOf(innerDelimiter)
    if (found === -1) {
      throw new MultipartError({ reason: "MissingDelimiter", message: "The body has no multipart boundary." })
    }
    pos = found + CRLF.length
  }
  const parts: MultipartPart[] = []
  for (;;) {
    pos += delimiter.length
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) return parts
    // Transport padding (spaces, tabs) may follow a delimiter before its CRLF.
    while (buf[pos] === 0x20 || buf[pos] === 0x09) pos++
    if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) {
      throw new MultipartError({
        reason: pos >= buf.length ? "MissingTerminator" : "MalformedPart",
        message: "A multipart boundary is not followed by a line break.",
      })
    }
    pos += 2
    const headerEnd = buf.indexOf("\r\n\r\n", pos)
    const next = buf.indexOf(innerDelimiter, pos)
    if (next === -1) {
      throw new MultipartError({
        reason: "MissingTerminator",
        message: "The multipart body has no closing boundary.",
      })
    }
    // A part with no headers starts directly with the blank line.
    const noHeaders = buf[pos] === 0x0d && buf[pos + 1] === 0x0a
    if (!noHeaders && (headerEnd === -1 || headerEnd > next)) {
      throw new MultipartError({
        reason: "MalformedPart",
        message: "A multipart part has no end of headers.",
      })
    }
    const headersText = noHeaders ? "" : buf.toString("utf8", pos, headerEnd)
    const dataStart = noHeaders ? pos + 2 : headerEnd + 4
    const headers: Record<string, string> = {}
    for (const line of headersText.split("\r\n")) {
      if (line.length === 0) continue
      const colon = line.indexOf(":")
      if (colon <= 0) {
        throw new MultipartError({ reason: "MalformedPart", message: `Malformed part header '${line}'.` })
      }
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    const disposition = parseHeaderParams(headers["content-disposition"] ?? "")
    const name = disposition.params.get("name")
    if (disposition.value !== "form-data" || name === undefined) {
      throw new MultipartError({ reason: "MissingName", message: "A multipart part has no form-data name." })
    }
    const contentType = headers["content-type"]
    parts.push({
      name,
      filename: disposition.params.get("filename"),
      contentType: contentType === undefined ? undefined : contentType.toLowerCase(),
      headers,
      data: buf.subarray(dataStart, next),
    })
    pos = next + CRLF.length
  }
}
