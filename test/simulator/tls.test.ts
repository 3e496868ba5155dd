/**
 * The simulator's TLS mode and its start-up scenario: a self-signed certificate made with
 * Node's crypto (checked as X.509), HTTPS and WSS served with it, the `openai` SDK's Realtime
 * client (which always speaks `wss://`) holding a conversation, a client that does not trust the
 * certificate refused; and scripts queued from `scenario.connections` / `scenario.http`.
 */
import { X509Certificate } from "node:crypto"
import { request } from "node:https"
import OpenAI from "openai"
import { OpenAIRealtimeWS } from "openai/realtime/ws"
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { startSimulator } from "../../src/simulator/index.ts"
import { createSelfSignedCertificate } from "../../src/simulator/tls.ts"
import type { Simulator, SimulatorOptions } from "../../src/simulator/types.ts"

const simulators: Simulator[] = []
afterEach(async () => {
  await Promise.all(simulators.splice(0).map((s) => s.close()))
})
const start = async (options: SimulatorOptions) => {
  const sim = await startSimulator(options)
  simulators.push(sim)
  return sim
}

/** GETs a path over HTTPS, trusting `ca`; resolves with the status and body. */
const getJson = (url: string, ca: string | undefined, key: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${key}` } }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        body += chunk
      })
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
    req.end()
  })

describe("createSelfSignedCertificate", () => {
  it("makes a self-signed X.509 certificate for localhost, 127.0.0.1, ::1 and the hosts asked for", () => {
    const now = new Date("2026-06-01T12:00:00Z")
    const { cert, key } = createSelfSignedCertificate({ hosts: ["sim.test", "10.1.2.3"], now })
    const x509 = new X509Certificate(cert)
    expect(x509.subject).toBe("CN=voxstate simulator")
    expect(x509.verify(x509.publicKey)).toBe(true)
    expect(x509.checkHost("localhost")).toBe("localhost")
    expect(x509.checkHost("sim.test")).toBe("sim.test")
    expect(x509.checkIP("127.0.0.1")).toBe("127.0.0.1")
    expect(x509.checkIP("::1")).toBe("::1")
    expect(x509.checkIP("10.1.2.3")).toBe("10.1.2.3")
    expect(new Date(x509.validFrom).getTime()).toBe(now.getTime() - 3_600_000)
    expect(new Date(x509.validTo).getTime()).toBe(now.getTime() + 30 * 86_400_000)
    expect(key).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    expect(() => createSelfSignedCertificate({ days: 0 })).toThrow(RangeError)
  })
})

describe("the simulator over TLS", () => {
  it("serves HTTPS with the certificate it made, and a client that does not trust it is refused", async () => {
    const sim = await start({ tls: true })
    expect(sim.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/v1$/)
    expect(sim.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1$/)
    const ok = await getJson(`${sim.httpUrl}/models/whisper-1`, sim.certificate, sim.apiKey ?? "")
    expect(ok.status).toBe(200)
    expect(JSON.parse(ok.body)).toMatchObject({ id: "whisper-1" })
    const refused = await getJson(`${sim.httpUrl}/models`, undefined, sim.apiKey ?? "").catch(
      (error: NodeJS.ErrnoException) => error,
    )
    expect((refused as NodeJS.ErrnoException).code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT")
  })

  it("holds a conversation with the openai SDK's Realtime client, which speaks wss:// only", async () => {
    const sim = await start({ tls: true, scenario: { replies: [{ text: "Secure hello." }] } })
    const client = new OpenAI({ apiKey: sim.apiKey ?? "unused", baseURL: sim.httpUrl })
    const rt = new OpenAIRealtimeWS({ model: "gpt-realtime", options: { ca: sim.certificate } }, client)
    try {
      const done = new Promise<OpenAI.Realtime.RealtimeServerEvent>((resolve, reject) => {
        rt.on("response.done", resolve)
        rt.on("error", reject)
      })
      await new Promise<void>((resolve, reject) => {
        rt.socket.once("open", () => resolve())
        rt.socket.once("error", reject)
      })
      expect(rt.url.protocol).toBe("wss:")
      rt.send({ type: "session.update", session: { type: "realtime", output_modalities: ["text"] } })
      rt.send({ type: "response.create" })
      const event = (await done) as OpenAI.Realtime.ResponseDoneEvent
      expect(event.response.status).toBe("completed")
      expect(JSON.stringify(event.response.output)).toContain("Secure hello.")
    } finally {
      rt.close()
    }
  })

  it("takes a certificate and key of its own", async () => {
    const mine = createSelfSignedCertificate({ commonName: "my simulator" })
    const sim = await start({ tls: mine })
    expect(sim.certificate).toBe(mine.cert)
    const ws = new WebSocket(`${sim.url}/realtime?intent=transcription`, {
      ca: mine.cert,
      headers: { authorization: `Bearer ${sim.apiKey}` },
    })
    const first = await new Promise<string>((resolve, reject) => {
      ws.once("message", (data: Buffer) => resolve(String(data)))
      ws.once("error", reject)
    })
    expect(JSON.parse(first).type).toBe("session.created")
    ws.close()
  })
})

describe("the start-up scenario", () => {
  it("queues connection scripts and REST answers given as plain data", async () => {
    const sim = await start({
      scenario: {
        transcripts: ["unused"],
        connections: { transcription: [{ faults: [{ type: "reject", status: 503 }] }] },
        http: { models: [{ status: 429, headers: { "retry-after": "1" } }] },
      },
    })
    const rejected = new WebSocket(`${sim.url}/realtime?intent=transcription`, {
      headers: { authorization: `Bearer ${sim.apiKey}` },
    })
    const status = await new Promise<number>((resolve) => {
      rejected.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0))
    })
    expect(status).toBe(503)
    const limited = await fetch(`${sim.httpUrl}/models`, {
      headers: { authorization: `Bearer ${sim.apiKey}` },
    })
    expect(limited.status).toBe(429)
    expect(limited.headers.get("retry-after")).toBe("1")
    const next = await fetch(`${sim.httpUrl}/models`, { headers: { authorization: `Bearer ${sim.apiKey}` } })
    expect(next.status).toBe(200)
  })
})
