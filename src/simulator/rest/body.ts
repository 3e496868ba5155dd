/**
 * Reading a REST request body with a size limit: the declared `Content-Length` is checked
 * first, then the bytes are counted as they stream in, so an oversized upload is never
 * buffered (the rest of it is read and dropped while the 413 is answered).
 * @module
 */
import type { IncomingMessage } from "node:http"
import { restError } from "./errors.ts"

/** The largest request body the REST endpoints accept, in bytes (25 MiB, as the service). */
export const MAX_BODY_BYTES = 25 * 1024 * 1024

/** The outcome of {@link readBody}: the bytes, or how many bytes arrived when the limit was passed. */
export type BodyRead =
  | { readonly _tag: "Complete"; readonly bytes: Buffer }
  | { readonly _tag: "TooLarge"; readonly declaredBytes: number | undefined; readonly receivedBytes: number }

/**
 * Reads the whole body of `req` when it fits in `maxBytes`. Over the limit (by the declared
 * `Content-Length`, or by the bytes counted as they arrive) it resolves `TooLarge` at once,
 * so the 413 can be answered while the client is still uploading; the rest of the body is
 * then read and dropped, so the client can finish its upload and read the answer on the
 * same connection. Rejects when the request is aborted before a result.
 */
export const readBody = (req: IncomingMessage, maxBytes: number = MAX_BODY_BYTES): Promise<BodyRead> =>
  new Promise((resolve, reject) => {
    const declared = req.headers["content-length"]
    const declaredBytes = declared === undefined ? undefined : Number.parseInt(declared, 10)
    let received = 0
    let tooLarge = false
    const chunks: Buffer[] = []
    const refuse = () => {
      tooLarge = true
      chunks.length = 0
      resolve({ _tag: "TooLarge", declaredBytes, receivedBytes: received })
    }
    req.on("data", (chunk: Buffer) => {
      received += chunk.length
      if (tooLarge) return
      if (received > maxBytes) refuse()
      else chunks.push(chunk)
    })
    req.on("end", () => {
      if (!tooLarge) resolve({ _tag: "Complete", bytes: Buffer.concat(chunks, received) })
    })
    req.on("error", reject)
    req.on("aborted", () => reject(new Error("request aborted")))
    if (declaredBytes !== undefined && Number.isFinite(declaredBytes) && declaredBytes > maxBytes) refuse()
  })

/** The 413 the service answers for a body over the limit. */
export const payloadTooLarge = (maxBytes: number = MAX_BODY_BYTES) =>
  restError(413, `Maximum content size limit (${maxBytes}) exceeded.`, {
    code: "payload_too_large",
    reason: "PayloadTooLarge",
  })

/** Parses a JSON request body; a 400 (`invalid_json`) when it is not a JSON object. */
export const parseJsonObject = (bytes: Buffer): Record<string, unknown> => {
  let value: unknown
  try {
    value = JSON.parse(bytes.toString("utf8"))
  } catch {
    throw restError(
      400,
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      { code: "invalid_json" },
    )
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw restError(400, "The request body must be a JSON object.", { code: "invalid_type" })
  }
  return value as Record<string, unknown>
}
