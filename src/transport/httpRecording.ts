/**
 * Record and replay for the REST client: a `fetch` that writes every request and every
 * piece of its answer, with times, into a recording (recording.ts), and a `fetch` that
 * answers from a recording instead of the network. Give either to the `openai` client
 * (`makeOpenAIClient(config, { fetch })`, `OpenAIHttp.layer({ fetch })`, or a ready `client`
 * to `createTTS`, `createBatchSTT`, `createLLM({ transport: "http" })`). Credentials never
 * reach a recording: headers are not written, and the URL and JSON bodies go through the
 * scrubber of the request's own credential headers.
 * @module
 */
import { Buffer } from "node:buffer"
import type { Recorder } from "./recording.ts"
import {
  firstDifference,
  type HttpRecordingLine,
  type IdBook,
  type Recording,
  ReplayError,
  short,
  valueAt,
} from "./replay.ts"
import { makeScrubber } from "./scrub.ts"

/** The answer headers a recording keeps (what clients read: type, request id, retry hints). */
const KEPT_HEADERS = ["content-type", "x-request-id", "retry-after", "retry-after-ms", "x-should-retry"]

const SECRET_HEADER = /^(authorization|api-key|x-api-key|proxy-authorization|cookie)$/i

const headerSecrets = (headers: Headers): string[] => {
  const secrets: string[] = []
  headers.forEach((value, name) => {
    if (!SECRET_HEADER.test(name)) return
    secrets.push(value)
    const bearer = /^\s*bearer\s+(.+)$/i.exec(value)
    if (bearer?.[1] !== undefined) secrets.push(bearer[1])
  })
  return secrets
}

/** The body of a request as a recording keeps it. */
const bodyPart = async (
  request: Request,
  scrub: (text: string) => string,
): Promise<{ readonly frame?: unknown; readonly text?: string; readonly bodyBytes?: number }> => {
  if (request.body === null) return {}
  const type = request.headers.get("content-type") ?? ""
  const bytes = new Uint8Array(await request.clone().arrayBuffer())
  if (!/json|text/i.test(type)) return { bodyBytes: bytes.length }
  const text = scrub(Buffer.from(bytes).toString("utf8"))
  try {
    return { frame: JSON.parse(text) }
  } catch {
    return { text }
  }
}

/**
 * `inner` (default the global `fetch`) with every exchange recorded: the request, the answer's
 * status and headers, each body chunk as it arrives (base64), its end or failure. The caller
 * reads exactly what `inner` gives, as it streams.
 */
export const recordingFetch = (recorder: Recorder, inner: typeof fetch = globalThis.fetch): typeof fetch =>
  (async (input: Request | string | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    const scrub = makeScrubber(headerSecrets(request.headers))
    const conn = recorder.nextConnection()
    recorder.writeAt(Date.now(), {
      conn,
      dir: "request",
      method: request.method,
      url: scrub(request.url),
      ...(await bodyPart(request, scrub)),
    })
    let response: Response
    try {
      response = await inner(request)
    } catch (error) {
      recorder.writeAt(Date.now(), {
        conn,
        dir: "error",
        message: scrub(String((error as Error)?.message ?? error)),
      })
      throw error
    }
    const headers: Record<string, string> = {}
    for (const name of KEPT_HEADERS) {
      const value = response.headers.get(name)
      if (value !== null) headers[name] = value
    }
    recorder.writeAt(Date.now(), { conn, dir: "response", status: response.status, headers })
    if (response.body === null) {
      recorder.writeAt(Date.now(), { conn, dir: "done" })
      return response
    }
    const tap = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        recorder.writeAt(Date.now(), { conn, dir: "chunk", base64: Buffer.from(chunk).toString("base64") })
        controller.enqueue(chunk)
      },
      flush() {
        recorder.writeAt(Date.now(), { conn, dir: "done" })
      },
    })
    const body = response.body.pipeThrough(tap)
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
  }) as typeof fetch

/** Options of {@link makeFetchReplay}. */
export interface FetchReplayOptions {
  /** `"recorded"` (default): body chunks at the recorded gaps (real time); `"immediate"`: at once. */
  readonly pace?: "recorded" | "immediate"
}

/** A REST replay: the `fetch` to give the client, and its verdict. */
export interface FetchReplay {
  readonly fetch: typeof fetch
  /** The first divergence, once there is one. */
  readonly failure: () => ReplayError | undefined
  /** Fails (rejects) with the first divergence, or `Unsent` for a recorded request never made. */
  readonly verify: () => Promise<void>
}

interface Exchange {
  readonly request: Extract<HttpRecordingLine, { dir: "request" }>
  readonly rest: readonly HttpRecordingLine[]
}

const pathOf = (url: string): string => {
  try {
    const parsed = new URL(url)
    return parsed.pathname
  } catch {
    return url
  }
}

/**
 * Answers the REST client from `recording`: each request is matched with the first unused
 * recorded one of the same method and path; its JSON body is compared field by field (ids the
 * client made up bound to the recorded ones), a binary body by size. A difference rejects the
 * request with a {@link ReplayError} `Diverged` naming the recorded line (the client reports
 * a connection error), and `failure()` / `verify()` give it.
 */
export const makeFetchReplay = (recording: Recording, options: FetchReplayOptions = {}): FetchReplay => {
  const pace = options.pace ?? "recorded"
  const exchanges = new Map<number, Exchange>()
  for (const entry of recording.http) {
    if (entry.dir === "request") exchanges.set(entry.conn, { request: entry, rest: [] })
    else (exchanges.get(entry.conn)?.rest as HttpRecordingLine[] | undefined)?.push(entry)
  }
  const used = new Set<number>()
  const ids: IdBook = { bound: new Map(), fromServer: new Set() }
  let firstFailure: ReplayError | undefined
  const diverge = (error: ReplayError): ReplayError => {
    firstFailure ??= error
    return error
  }
  const sleep = (ms: number) =>
    pace === "recorded" && ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve()

  const replayFetch = (async (input: Request | string | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    const path = pathOf(request.url)
    const match = [...exchanges].find(
      ([n, e]) => !used.has(n) && e.request.method === request.method && pathOf(e.request.url) === path,
    )
    if (match === undefined) {
      throw diverge(
        new ReplayError({
          reason: { _tag: "NoConnection", connection: used.size },
          message: `the client sent ${request.method} ${path}, which the recording does not have (or has no more of)`,
        }),
      )
    }
    const [conn, exchange] = match
    used.add(conn)
    const sent = await bodyPart(request, (text) => text)
    const recorded = exchange.request
    const difference =
      recorded.bodyBytes !== undefined || sent.bodyBytes !== undefined
        ? recorded.bodyBytes === sent.bodyBytes
          ? undefined
          : {
              path: "$.body.length",
              expected: `${recorded.bodyBytes} bytes`,
              actual: `${sent.bodyBytes} bytes`,
            }
        : (() => {
            const at = firstDifference(recorded.frame ?? recorded.text, sent.frame ?? sent.text, "$", ids)
            return at === undefined
              ? undefined
              : {
                  path: at,
                  expected: short(valueAt(recorded.frame ?? recorded.text, at)),
                  actual: short(valueAt(sent.frame ?? sent.text, at)),
                }
          })()
    if (difference !== undefined) {
      throw diverge(
        new ReplayError({
          reason: { _tag: "Diverged", connection: conn, line: recorded.line, ...difference },
          message: `replay diverged at line ${recorded.line} (request ${conn}, ${recorded.method} ${path}): ${difference.path} was ${difference.actual}, recorded ${difference.expected}`,
        }),
      )
    }
    const failed = exchange.rest.find((e) => e.dir === "error")
    const head = exchange.rest.find((e) => e.dir === "response")
    if (head === undefined || head.dir !== "response") {
      await sleep((failed?.t ?? recorded.t) - recorded.t)
      throw new TypeError(`fetch failed: ${failed?.dir === "error" ? failed.message : "no answer recorded"}`)
    }
    await sleep(head.t - recorded.t)
    let last = head.t
    const parts = exchange.rest.filter((e) => e.dir === "chunk" || e.dir === "done" || e.dir === "error")
    let next = 0
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const part = parts[next++]
        if (part === undefined) {
          controller.close()
          return
        }
        await sleep(part.t - last)
        last = part.t
        if (part.dir === "chunk") controller.enqueue(new Uint8Array(Buffer.from(part.base64, "base64")))
        else if (part.dir === "error") controller.error(new TypeError(`terminated: ${part.message}`))
        else controller.close()
      },
    })
    const noBody = head.status === 204 || head.status === 304 || request.method === "HEAD"
    return new Response(noBody ? null : body, { status: head.status, headers: head.headers })
  }) as typeof fetch

  return {
    fetch: replayFetch,
    failure: () => firstFailure,
    verify: async () => {
      if (firstFailure !== undefined) throw firstFailure
      for (const [conn, exchange] of exchanges) {
        if (used.has(conn)) continue
        throw new ReplayError({
          reason: {
            _tag: "Unsent",
            connection: conn,
            line: exchange.request.line,
            expected: `${exchange.request.method} ${pathOf(exchange.request.url)}`,
          },
          message: `the client never sent the request recorded at line ${exchange.request.line} (${exchange.request.method} ${pathOf(exchange.request.url)})`,
        })
      }
    },
  }
}
