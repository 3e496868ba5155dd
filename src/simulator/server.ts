/**
 * The simulator's server: one `node:http` server whose `upgrade` requests go to a `ws`
 * server in no-server mode. It authenticates, routes by path (OpenAI and Azure shapes),
 * records every connection and request, applies connection scripts and HTTP faults, and
 * closes everything on `close()`.
 *
 * Paths:
 * - Realtime (WebSocket): `/v1/realtime?intent=transcription` or `?model=...` (neither is a
 *   400; `intent=transcription` beside a `model` is a transcription session, as OpenAI accepts
 *   it, the `model` unused), Azure GA `/openai/v1/realtime?model=<deployment>|intent=`,
 *   Azure preview (beta protocol) `/openai/realtime?api-version=...&deployment=...`.
 * - Responses (WebSocket): `/v1/responses`, Azure `/openai/v1/responses` (`?api-version=`
 *   optional) and the dated `/openai/responses?api-version=` (without it a 404, as on Azure).
 *   A request on these paths that is not an upgrade goes to the `/responses` REST route (the
 *   Responses API over HTTP). A Realtime path asked without an upgrade is a 426.
 * - REST: `/v1/<path>`, Azure `/openai/v1/<path>` and `/openai/deployments/{d}/<path>?api-version=`
 *   (a dated path without `api-version` is a 404, as on Azure). An unknown path is a 404
 *   (`Invalid URL (METHOD /path)`); a known path asked with another method than its route's is
 *   a 405 with an `Allow` header (the simulator's choice: the service's own answer to a wrong
 *   method is unconfirmed and may be the 404).
 *
 * Authentication: the configured key as `Authorization: Bearer <key>` (OpenAI and Azure
 * paths), `api-key: <key>` (Azure paths), or the browser subprotocol
 * `openai-insecure-api-key.<key>` (WebSocket). A missing or wrong key is a 401 with the
 * service's JSON error body, on the upgrade or on the request. `apiKey: null` accepts anything.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import { type WebSocket, WebSocketServer } from "ws"
import { createSendFunnel, type MutableConnection, rejectUpgrade } from "./faults.ts"
import { handleRealtimeConnection, type RealtimeRouting } from "./realtime/index.ts"
import { sleepWhileOpen } from "./rest/sse.ts"
import { createIdGenerator, createScenario, takeConnectionScript, takeHttpFault } from "./scenario.ts"
import { createSelfSignedCertificate } from "./tls.ts"
import type {
  ConnectionKind,
  ConnectionScript,
  HttpFault,
  HttpRoute,
  ResolvedSimulatorOptions,
  RestEndpoint,
  RouteContext,
  Scenario,
  Simulator,
  SimulatorConnection,
  SimulatorOptions,
  WebSocketContext,
  WebSocketHandler,
} from "./types.ts"

/** Default key clients must present. */
export const DEFAULT_API_KEY = "sk-simulator"

/** Default Realtime session cap and Responses connection lifetime: 60 minutes. */
export const SIXTY_MINUTES_MS = 60 * 60 * 1000

/** The protocol handlers the server routes to. */
export interface SimulatorRoutes {
  readonly restRoutes: readonly HttpRoute[]
  readonly responses: WebSocketHandler | undefined
}

/** Fills in the defaults of the options. */
export const resolveSimulatorOptions = (options: SimulatorOptions = {}): ResolvedSimulatorOptions => ({
  port: options.port ?? 0,
  host: options.host ?? "127.0.0.1",
  apiKey: options.apiKey === undefined ? DEFAULT_API_KEY : options.apiKey,
  beta: options.beta ?? false,
  seed: options.seed ?? 1,
  realtimeSessionMaxMs: options.realtimeSessionMaxMs ?? SIXTY_MINUTES_MS,
  responsesMaxConnections: options.responsesMaxConnections,
  responsesConnectionLifetimeMs: options.responsesConnectionLifetimeMs ?? SIXTY_MINUTES_MS,
})

/** Where a request goes. */
type Target =
  | { readonly _tag: "Realtime"; readonly azure: boolean; readonly preview: boolean }
  | { readonly _tag: "Responses"; readonly azure: boolean; readonly dated: boolean }
  | {
      readonly _tag: "Rest"
      readonly azure: boolean
      readonly path: string
      readonly deployment: string | undefined
    }
  | { readonly _tag: "Unknown"; readonly azure: boolean }

const classify = (url: URL): Target => {
  const path = url.pathname.replace(/\/+$/, "") || "/"
  if (path === "/v1/realtime") return { _tag: "Realtime", azure: false, preview: false }
  if (path === "/openai/v1/realtime") return { _tag: "Realtime", azure: true, preview: false }
  if (path === "/openai/realtime") return { _tag: "Realtime", azure: true, preview: true }
  if (path === "/v1/responses") return { _tag: "Responses", azure: false, dated: false }
  if (path === "/openai/v1/responses") return { _tag: "Responses", azure: true, dated: false }
  if (path === "/openai/responses") return { _tag: "Responses", azure: true, dated: true }
  const deployment = /^\/openai\/deployments\/([^/]+)(\/.+)$/.exec(path)
  if (deployment !== null) {
    return {
      _tag: "Rest",
      azure: true,
      path: deployment[2] ?? "/",
      deployment: decodeURIComponent(deployment[1] ?? ""),
    }
  }
  if (path.startsWith("/openai/v1/"))
    return { _tag: "Rest", azure: true, path: path.slice("/openai/v1".length), deployment: undefined }
  if (path.startsWith("/v1/"))
    return { _tag: "Rest", azure: false, path: path.slice("/v1".length), deployment: undefined }
  return { _tag: "Unknown", azure: path.startsWith("/openai/") }
}

/**
 * Matches a request path against a route path whose `{name}` segments match any one
 * segment: the named segments (decoded), or `undefined` when the path is another.
 */
export const matchRoutePath = (
  routePath: string,
  path: string,
): Readonly<Record<string, string>> | undefined => {
  const want = routePath.split("/")
  const have = path.split("/")
  if (want.length !== have.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!
    const actual = have[i]!
    if (segment.startsWith("{") && segment.endsWith("}")) {
      if (actual.length === 0) return undefined
      try {
        params[segment.slice(1, -1)] = decodeURIComponent(actual)
      } catch {
        return undefined
      }
    } else if (segment !== actual) return undefined
  }
  return params
}

/** `code: message` of an OpenAI or Azure error body (JSON text), or its first 200 characters. */
const errorSummary = (body: string): string => {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }
    const error = parsed.error
    if (error !== undefined && typeof error.message === "string") {
      return typeof error.code === "string" ? `${error.code}: ${error.message}` : error.message
    }
  } catch {
    // Not JSON: the text itself.
  }
  return body.slice(0, 200)
}

/** A server event's error summary when it is an `error` event (either shape), else undefined. */
const errorEventSummary = (payload: unknown): string | undefined => {
  if (typeof payload !== "object" || payload === null) return undefined
  const event = payload as {
    type?: unknown
    error?: { code?: unknown; message?: unknown }
    code?: unknown
    message?: unknown
  }
  if (event.type !== "error") return undefined
  const code = event.error?.code ?? event.code
  const message = event.error?.message ?? event.message
  return `${typeof code === "string" ? `${code}: ` : ""}${typeof message === "string" ? message : ""}`
}

const openAIError = (message: string, type: string, code: string | null, param: string | null = null) =>
  JSON.stringify({ error: { message, type, param, code } })

const azureError = (code: string, message: string) => JSON.stringify({ error: { code, message } })

/** Azure's answer to a dated path (or the preview Realtime one) without `api-version`. */
const missingApiVersion = {
  status: 404,
  body: azureError(
    "MissingApiVersionParameter",
    "The api-version query parameter (?api-version=) is required for all requests.",
  ),
} as const

const maskKey = (key: string): string =>
  key.length <= 8
    ? "*".repeat(key.length)
    : `${key.slice(0, 6)}${"*".repeat(Math.min(20, key.length - 10))}${key.slice(-4)}`

const headerValue = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** The key a request presents, and how. */
const presentedKey = (req: IncomingMessage, azure: boolean): string | undefined => {
  const authorization = headerValue(req, "authorization")
  const bearer = authorization === undefined ? undefined : /^Bearer\s+(.+)$/i.exec(authorization.trim())?.[1]
  if (bearer !== undefined) return bearer
  if (azure) {
    const apiKey = headerValue(req, "api-key")
    if (apiKey !== undefined) return apiKey
  }
  const protocols = headerValue(req, "sec-websocket-protocol")
  if (protocols !== undefined) {
    for (const protocol of protocols.split(",")) {
      const trimmed = protocol.trim()
      if (trimmed.startsWith("openai-insecure-api-key."))
        return trimmed.slice("openai-insecure-api-key.".length)
    }
  }
  return undefined
}

/** `undefined` when the request may pass, else the 401 body. */
const authenticate = (req: IncomingMessage, azure: boolean, apiKey: string | null): string | undefined => {
  if (apiKey === null) return undefined
  const key = presentedKey(req, azure)
  if (key === apiKey) return undefined
  if (azure) {
    return azureError(
      "401",
      "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
    )
  }
  if (key === undefined) {
    return openAIError(
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      "invalid_request_error",
      null,
    )
  }
  return openAIError(
    `Incorrect API key provided: ${maskKey(key)}.`,
    "invalid_request_error",
    "invalid_api_key",
  )
}

/** Default body of a scripted HTTP fault or rejected upgrade without one. */
const defaultFaultBody = (status: number): string => {
  if (status === 429) {
    return openAIError("Rate limit reached. Please try again later.", "requests", "rate_limit_exceeded")
  }
  if (status === 503) {
    return openAIError("The engine is currently overloaded, please try again later.", "server_error", null)
  }
  if (status >= 500) {
    return openAIError(
      "The server had an error while processing your request. Sorry about that!",
      "server_error",
      null,
    )
  }
  if (status === 401)
    return openAIError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
  if (status === 403)
    return openAIError("You are not allowed to access this resource.", "invalid_request_error", null)
  if (status === 404)
    return openAIError("The requested resource was not found.", "invalid_request_error", null)
  return openAIError(`Simulated HTTP ${status}.`, "invalid_request_error", null)
}

class ConnectionRecord implements MutableConnection {
  readonly id: number
  readonly kind: SimulatorConnection["kind"]
  readonly path: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly received: SimulatorConnection["received"] = []
  readonly sent: unknown[] = []
  closeCode: number | undefined = undefined
  httpStatus: number | undefined = undefined
  open = false
  constructor(id: number, kind: SimulatorConnection["kind"], req: IncomingMessage) {
    this.id = id
    this.kind = kind
    this.path = req.url ?? "/"
    this.headers = { ...req.headers }
  }
}

/**
 * Starts a simulator with the given protocol handlers. `startSimulator` (in `index.ts`)
 * passes the REST routes and the Responses handler; tests may pass others.
 */
export const startSimulatorWith = async (
  routes: SimulatorRoutes,
  options: SimulatorOptions = {},
): Promise<Simulator> => {
  const resolved = resolveSimulatorOptions(options)
  const log = options.log
  const scenario: Scenario = createScenario({
    seed: resolved.seed,
    ...(options.scenario?.transcripts === undefined ? {} : { transcripts: options.scenario.transcripts }),
    ...(options.scenario?.replies === undefined ? {} : { replies: options.scenario.replies }),
  })
  for (const [kind, scripts] of Object.entries(options.scenario?.connections ?? {})) {
    for (const script of scripts ?? []) scenario.nextConnection(kind as ConnectionKind, script)
  }
  for (const [endpoint, faults] of Object.entries(options.scenario?.http ?? {})) {
    for (const fault of faults ?? []) scenario.nextHttp(endpoint as RestEndpoint, fault)
  }
  const tls =
    options.tls === true
      ? createSelfSignedCertificate({ hosts: [resolved.host] })
      : options.tls === false
        ? undefined
        : options.tls
  const startedAt = performance.now()
  const connections: ConnectionRecord[] = []
  const sockets = new Set<Socket | Duplex>()
  const wsClosed = new Set<Promise<void>>()
  let idSeed = scenario.seed
  let ids = createIdGenerator(idSeed)
  let closing: Promise<void> | undefined

  const nextId = (prefix: string): string => {
    if (scenario.seed !== idSeed) {
      idSeed = scenario.seed
      ids = createIdGenerator(idSeed)
    }
    return ids(prefix)
  }

  const record = (kind: SimulatorConnection["kind"], req: IncomingMessage): ConnectionRecord => {
    const entry = new ConnectionRecord(connections.length + 1, kind, req)
    connections.push(entry)
    return entry
  }

  const routeContext: RouteContext = {
    scenario,
    options: resolved,
    now: () => performance.now() - startedAt,
    record,
    nextId,
    connections,
  }

  // ---- HTTP ----

  const sendHttp = (
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) => {
    if (res.headersSent || res.destroyed) return
    res.writeHead(status, { "content-type": "application/json", ...headers })
    res.end(body)
  }

  const applyHttpFault = async (fault: HttpFault, req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    // The wait ends early when the exchange closes (client gone, or close()), timer and all.
    if (!(await sleepWhileOpen(res, fault.delayMs ?? 0))) return
    if (fault.destroy === true) {
      req.socket.destroy()
      return
    }
    const body =
      fault.body === undefined
        ? defaultFaultBody(fault.status)
        : typeof fault.body === "string"
          ? fault.body
          : JSON.stringify(fault.body)
    sendHttp(res, fault.status, body, { ...(fault.headers ?? {}) })
  }

  const handleRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://simulator.invalid")
    const target = classify(url)
    const connection = record("http", req)
    connection.open = true
    const started = performance.now()
    let errorBody = ""
    if (log !== undefined) {
      // Keep the body of an error answer for the log line.
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
      res.end = ((...args: unknown[]) => {
        const [chunk] = args
        if (res.statusCode >= 400 && (typeof chunk === "string" || Buffer.isBuffer(chunk)))
          errorBody = String(chunk)
        return end(...args)
      }) as typeof res.end
    }
    res.on("close", () => {
      connection.open = false
      connection.httpStatus = res.statusCode
      if (log === undefined) return
      const ms = Math.round(performance.now() - started)
      const outcome = res.writableFinished ? String(res.statusCode) : `${res.statusCode} (cut off)`
      log(
        `#${connection.id} ${req.method ?? "GET"} ${url.pathname}${url.search} → ${outcome} in ${ms} ms` +
          (res.statusCode >= 400 && errorBody !== "" ? ` ${errorSummary(errorBody)}` : ""),
      )
    })
    const refusal = authenticate(req, target.azure, resolved.apiKey)
    if (refusal !== undefined) {
      req.resume()
      sendHttp(res, 401, refusal)
      return
    }
    const invalidUrl = () => {
      req.resume()
      sendHttp(
        res,
        404,
        target.azure
          ? azureError("404", "Resource not found")
          : openAIError(
              `Invalid URL (${req.method ?? "GET"} ${url.pathname})`,
              "invalid_request_error",
              null,
            ),
      )
    }
    const serveRest = (rest: Extract<Target, { _tag: "Rest" }>) =>
      serveRestIn(req, res, url, connection, rest, invalidUrl)
    if (target._tag === "Responses") {
      // The Responses API over HTTP: the `/responses` REST route.
      if (target.dated && !url.searchParams.has("api-version")) {
        req.resume()
        sendHttp(res, missingApiVersion.status, missingApiVersion.body)
        return
      }
      serveRest({ _tag: "Rest", azure: target.azure, path: "/responses", deployment: undefined })
      return
    }
    if (target._tag === "Realtime") {
      req.resume()
      sendHttp(
        res,
        426,
        openAIError(
          "This endpoint speaks WebSocket; send an upgrade request.",
          "invalid_request_error",
          null,
        ),
        {
          upgrade: "websocket",
        },
      )
      return
    }
    if (target._tag === "Unknown") {
      invalidUrl()
      return
    }
    serveRest(target)
  }

  const serveRestIn = (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    connection: ConnectionRecord,
    target: Extract<Target, { _tag: "Rest" }>,
    invalidUrl: () => void,
  ) => {
    if (target.deployment !== undefined && !url.searchParams.has("api-version")) {
      req.resume()
      sendHttp(res, missingApiVersion.status, missingApiVersion.body)
      return
    }
    const match = routes.restRoutes
      .map((candidate) => ({ route: candidate, params: matchRoutePath(candidate.path, target.path) }))
      .find((candidate) => candidate.params !== undefined)
    if (match?.params === undefined) {
      invalidUrl()
      return
    }
    const { route, params } = { route: match.route, params: match.params }
    if (route.method !== undefined && route.method !== req.method) {
      req.resume()
      const method = req.method ?? "GET"
      const message = `Method ${method} is not allowed for ${url.pathname}; use ${route.method}.`
      sendHttp(
        res,
        405,
        target.azure
          ? azureError("405", message)
          : openAIError(message, "invalid_request_error", "method_not_allowed"),
        { allow: route.method },
      )
      return
    }
    const fault = takeHttpFault(scenario, route.endpoint)
    const run = async () => {
      if (fault !== undefined && fault.stream === undefined) {
        connection.received.push({
          atMs: routeContext.now(),
          type: "http",
          payload: { scriptedFault: fault.status },
          bytes: 0,
        })
        await applyHttpFault(fault, req, res)
        return
      }
      await route.handle(req, res, {
        ...routeContext,
        connection,
        params,
        ...(target.deployment === undefined ? {} : { deployment: target.deployment }),
        ...(fault?.stream === undefined ? {} : { shape: fault.stream }),
      })
    }
    run().catch((cause: unknown) => {
      if (res.headersSent) res.destroy()
      else
        sendHttp(
          res,
          500,
          openAIError(`The simulator failed: ${String(cause)}`, "server_error", "server_error"),
        )
    })
  }

  // ---- WebSocket ----

  const wss = new WebSocketServer({
    noServer: true,
    autoPong: false,
    // Browsers require the server to pick one of the subprotocols they offer.
    handleProtocols: (protocols) => (protocols.has("realtime") ? "realtime" : ([...protocols][0] ?? false)),
  })

  const attach = (
    socket: WebSocket,
    kind: ConnectionKind,
    connection: ConnectionRecord,
    script: ConnectionScript,
    url: URL,
    deployment: string | undefined,
    handler: (socket: WebSocket, ctx: WebSocketContext) => void,
  ) => {
    connection.open = true
    socket.on("error", () => {
      // A protocol error from the client; the close that follows is recorded.
    })
    const closed: Promise<void> = new Promise<void>((resolve) => {
      socket.once("close", (code: number) => {
        connection.closeCode = code
        connection.open = false
        log?.(`#${connection.id} ${kind} closed ${code}`)
        funnel.dispose()
        wsClosed.delete(closed)
        resolve()
      })
    })
    wsClosed.add(closed)
    const funnel = createSendFunnel({
      socket,
      kind,
      script,
      connection,
      nextId,
      now: routeContext.now,
      ...(log === undefined
        ? {}
        : {
            onSent: (payload: unknown) => {
              const summary = errorEventSummary(payload)
              if (summary !== undefined) log(`#${connection.id} ${kind} sent error ${summary}`)
            },
          }),
      ...(kind === "responses" ? {} : { sessionMaxMs: resolved.realtimeSessionMaxMs }),
    })
    const ctx: WebSocketContext = {
      ...routeContext,
      connection,
      script,
      url,
      ...(deployment === undefined ? {} : { deployment }),
      send: funnel.sendEvent,
      pace: funnel.pace,
      isOpen: funnel.isOpen,
      close: funnel.close,
      onClientEvent: funnel.onClientEvent,
    }
    funnel.start()
    if (!funnel.isOpen()) return
    try {
      handler(socket, ctx)
    } catch (cause) {
      ctx.send({
        type: "error",
        error: { type: "server_error", code: "server_error", message: String(cause) },
      })
      funnel.close(1011, "server_error")
    }
  }

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy())
    const url = new URL(req.url ?? "/", "http://simulator.invalid")
    const target = classify(url)
    if (target._tag !== "Realtime" && target._tag !== "Responses") {
      log?.(`upgrade ${url.pathname}${url.search} → refused 404 (no WebSocket endpoint there)`)
      rejectUpgrade(
        socket,
        404,
        target.azure
          ? azureError("404", "Resource not found")
          : openAIError(`Invalid URL (GET ${url.pathname})`, "invalid_request_error", null),
      )
      return
    }
    const params = url.searchParams
    let kind: ConnectionKind
    let routing: RealtimeRouting | undefined
    let deployment: string | undefined
    let badRequest: { status: number; body: string } | undefined
    if (target._tag === "Responses") {
      kind = "responses"
      if (target.dated && !params.has("api-version")) badRequest = missingApiVersion
    } else {
      const model = params.get("model") ?? undefined
      const intent = params.get("intent") ?? undefined
      deployment = params.get("deployment") ?? (target.azure && model !== undefined ? model : undefined)
      const betaHeader = (headerValue(req, "openai-beta") ?? "")
        .split(",")
        .some((v) => v.trim() === "realtime=v1")
      if (target.preview && !params.has("api-version")) {
        badRequest = missingApiVersion
      } else if (target.preview && deployment === undefined) {
        badRequest = {
          status: 404,
          body: azureError("DeploymentNotFound", "The API deployment for this resource does not exist."),
        }
      } else if (intent !== undefined && intent !== "transcription") {
        badRequest = {
          status: 400,
          body: openAIError(
            `Invalid value: '${intent}'. Supported values are: 'transcription'.`,
            "invalid_request_error",
            "invalid_value",
            "intent",
          ),
        }
      } else if (intent === undefined && model === undefined && !target.preview) {
        badRequest = {
          status: 400,
          body: openAIError(
            "Missing required parameter: 'model'.",
            "invalid_request_error",
            "missing_required_parameter",
            "model",
          ),
        }
      }
      const mode = intent === "transcription" ? "transcription" : "conversation"
      kind = mode === "transcription" ? "transcription" : "realtime"
      routing = { mode, model: model ?? deployment, preview: target.preview, betaHeader }
    }
    const connection = record(kind, req)
    const refuse = (status: number, body: string) => {
      connection.httpStatus = status
      log?.(
        `#${connection.id} ${kind} upgrade ${url.pathname}${url.search} → refused ${status} ${errorSummary(body)}`,
      )
      rejectUpgrade(socket, status, body)
    }
    const refusal = authenticate(req, target.azure, resolved.apiKey)
    if (refusal !== undefined) {
      refuse(401, refusal)
      return
    }
    if (badRequest !== undefined) {
      refuse(badRequest.status, badRequest.body)
      return
    }
    const handler: ((s: WebSocket, c: WebSocketContext) => void) | undefined =
      routing === undefined
        ? routes.responses
        : (s, c) => {
            handleRealtimeConnection(s, c, routing)
          }
    if (handler === undefined) {
      refuse(404, openAIError(`Invalid URL (GET ${url.pathname})`, "invalid_request_error", null))
      return
    }
    const script = takeConnectionScript(scenario, kind)
    const reject = script.faults?.find((fault) => fault.type === "reject")
    if (reject !== undefined && reject.type === "reject") {
      refuse(reject.status, reject.body ?? defaultFaultBody(reject.status))
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      log?.(`#${connection.id} ${kind} upgrade ${url.pathname}${url.search} → open`)
      attach(ws, kind, connection, script, url, deployment, handler)
    })
  }

  const server =
    tls === undefined
      ? createServer(handleRequest)
      : createHttpsServer({ cert: tls.cert, key: tls.key }, handleRequest)
  server.on("connection", (socket: Socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  server.on("upgrade", handleUpgrade)

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(resolved.port, resolved.host, () => {
      server.off("error", reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : resolved.port
  const host = resolved.host.includes(":") ? `[${resolved.host}]` : resolved.host

  const secure = tls === undefined ? "" : "s"
  return {
    url: `ws${secure}://${host}:${port}/v1`,
    httpUrl: `http${secure}://${host}:${port}/v1`,
    ...(tls === undefined ? {} : { certificate: tls.cert }),
    port,
    apiKey: resolved.apiKey,
    get connections() {
      return connections
    },
    scenario,
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
        for (const client of wss.clients) client.terminate()
        for (const socket of sockets) socket.destroy()
        server.closeAllConnections()
        await Promise.all([...wsClosed])
        await new Promise<void>((resolve) => wss.close(() => resolve()))
        await serverClosed
      })()
      return closing
    },
  }
}
