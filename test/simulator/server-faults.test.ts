/**
 * Fault injection against real sockets: every fault kind of a connection script, the
 * Realtime session cap, latency, and the order in which scripts are consumed.
 */
import { afterEach, describe, expect, it } from "vitest"
import {
  type ConnectionScript,
  concatPcm,
  SIXTY_MINUTES_MS,
  type Simulator,
  type SimulatorOptions,
  silence,
  startSimulator,
  tone,
} from "../../src/simulator/index.ts"
import { AUTH, connect, refusedUpgrade, type TestClient } from "./realtimeTestClient.ts"

let sim: Simulator | undefined
const clients: TestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await sim?.close()
  sim = undefined
})

/** Starts a simulator, queues `script` for the next transcription connection and opens it. */
const openScripted = async (
  script: ConnectionScript,
  options: SimulatorOptions = {},
  query = "intent=transcription",
) => {
  sim ??= await startSimulator(options)
  sim.scenario.nextConnection(query.startsWith("intent") ? "transcription" : "realtime", script)
  const client = await connect(`${sim.url}/realtime?${query}`, AUTH)
  clients.push(client)
  return client
}

const manual = {
  type: "session.update",
  session: { type: "transcription", audio: { input: { turn_detection: null } } },
}

/** Sends a ping and resolves whether a pong came back within `ms`. */
const pongWithin = (client: TestClient, ms: number) =>
  new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      client.ws.off("pong", onPong)
      resolve(false)
    }, ms)
    const onPong = () => {
      clearTimeout(timer)
      resolve(true)
    }
    client.ws.once("pong", onPong)
    client.ws.ping()
  })

describe("scripted closes", () => {
  it("closes with the scripted code after N server events", async () => {
    const client = await openScripted({
      faults: [{ type: "close", code: 1011, reason: "boom", afterEvents: 1 }],
    })
    await client.next("session.created")
    expect(await client.closed).toEqual({ code: 1011, reason: "boom" })
    expect(client.events).toHaveLength(1)
    await expect.poll(() => sim?.connections[0]?.closeCode).toBe(1011)
  })

  it("destroys the socket without a close frame for 1006 after N client events of a type", async () => {
    const client = await openScripted({
      faults: [{ type: "close", code: 1006, afterClientEvents: 2, onType: "input_audio_buffer.append" }],
    })
    await client.next("session.created")
    client.send({ type: "input_audio_buffer.clear" })
    await client.next("input_audio_buffer.cleared")
    client.appendAudio(silence(100))
    client.send({ type: "input_audio_buffer.clear" })
    await client.next("input_audio_buffer.cleared")
    client.appendAudio(silence(100))
    expect((await client.closed).code).toBe(1006)
    await expect.poll(() => sim?.connections[0]?.closeCode).toBe(1006)
    expect(sim?.connections[0]?.received.map((e) => e.type)).toEqual([
      "input_audio_buffer.clear",
      "input_audio_buffer.append",
      "input_audio_buffer.clear",
      "input_audio_buffer.append",
    ])
  })

  it("closes at a scripted moment", async () => {
    const client = await openScripted({ faults: [{ type: "close", code: 4001, afterMs: 40 }] })
    await client.next("session.created")
    expect((await client.closed).code).toBe(4001)
  })

  it("sends a close frame without a code for 1005", async () => {
    const client = await openScripted({ faults: [{ type: "close", code: 1005, afterEvents: 1 }] })
    expect((await client.closed).code).toBe(1005)
  })

  it("fires a fault with no trigger as the connection opens, before any event", async () => {
    const client = await openScripted({ faults: [{ type: "close", code: 1013 }] })
    expect((await client.closed).code).toBe(1013)
    expect(client.events).toEqual([])
  })

  it("fires on the first client event of a type given onType alone", async () => {
    const client = await openScripted({
      faults: [{ type: "close", code: 4002, onType: "input_audio_buffer.commit" }],
    })
    await client.next("session.created")
    client.appendAudio(silence(100))
    client.send({ type: "input_audio_buffer.commit" })
    expect((await client.closed).code).toBe(4002)
  })
})

describe("stall", () => {
  it("stops sending and answering pings while the socket stays open", async () => {
    const client = await openScripted({
      faults: [{ type: "stall", afterClientEvents: 1, onType: "input_audio_buffer.clear" }],
    })
    await client.next("session.created")
    expect(await pongWithin(client, 2000)).toBe(true)
    client.send({ type: "input_audio_buffer.clear" })
    client.send({ type: "input_audio_buffer.clear" })
    expect(await pongWithin(client, 200)).toBe(false)
    expect(client.all("input_audio_buffer.cleared")).toEqual([])
    expect(client.ws.readyState).toBe(client.ws.OPEN)
    // The server still records what the client sends.
    await expect.poll(() => sim?.connections[0]?.received.length).toBe(2)
    expect(sim?.connections[0]?.open).toBe(true)
  })
})

describe("bad frames", () => {
  it("sends a frame that is not JSON", async () => {
    const client = await openScripted({ faults: [{ type: "malformed", afterEvents: 1 }] })
    const raw = await client.next("<raw>")
    expect(() => JSON.parse(raw.raw)).toThrow()
    expect(client.events[0]?.type).toBe("session.created")
    expect(sim?.connections[0]?.sent[1]).toBe(raw.raw)
  })

  it("sends a scripted text as the malformed frame", async () => {
    const client = await openScripted({ faults: [{ type: "malformed", text: "}{", afterEvents: 1 }] })
    expect((await client.next("<raw>")).raw).toBe("}{")
  })

  it("sends an event of an unknown type", async () => {
    const client = await openScripted({
      faults: [{ type: "unknownEvent", eventType: "session.teleported", afterEvents: 1 }],
    })
    const unknown = await client.next("session.teleported")
    expect(unknown.event_id).toMatch(/^event_/)
    client.send({ type: "input_audio_buffer.clear" })
    await client.next("input_audio_buffer.cleared")
  })
})

describe("error events", () => {
  it("sends an error with the scripted code, then closes with the scripted code", async () => {
    const client = await openScripted({
      faults: [{ type: "error", code: "rate_limit_exceeded", afterEvents: 1, closeCode: 1011 }],
    })
    await client.next("session.created")
    const error = await client.next("error")
    expect(error.error).toMatchObject({ code: "rate_limit_exceeded", type: "tokens", param: null })
    expect(error.error.message).toContain("Rate limit")
    expect((await client.closed).code).toBe(1011)
  })

  it("leaves the session open after an error without a close code", async () => {
    const client = await openScripted({
      faults: [{ type: "error", code: "server_error", message: "Transient.", afterClientEvents: 1 }],
    })
    await client.next("session.created")
    client.send(manual)
    const error = await client.next("error")
    expect(error.error).toMatchObject({ type: "server_error", code: "server_error", message: "Transient." })
    await client.next("session.updated")
    client.send({ type: "input_audio_buffer.clear" })
    await client.next("input_audio_buffer.cleared")
  })

  it("ends a Realtime session at the session cap with session_expired and a close", async () => {
    const client = await openScripted({}, { realtimeSessionMaxMs: 60 })
    await client.next("session.created")
    const error = await client.next("error")
    expect(error.error).toMatchObject({ code: "session_expired", type: "invalid_request_error" })
    expect(error.error.message).toContain("maximum duration")
    expect((await client.closed).code).toBe(1000)
  })

  it("caps sessions at 60 minutes by default, as expires_at announces", async () => {
    sim = await startSimulator()
    expect(SIXTY_MINUTES_MS).toBe(3_600_000)
    for (const query of ["intent=transcription", "model=gpt-realtime"]) {
      const client = await connect(`${sim.url}/realtime?${query}`, AUTH)
      clients.push(client)
      const created = await client.next("session.created")
      expect(Math.abs(created.session.expires_at - (Date.now() + SIXTY_MINUTES_MS) / 1000)).toBeLessThan(5)
    }
  })

  it("works the same on a conversation session", async () => {
    const client = await openScripted(
      { faults: [{ type: "error", code: "session_expired", afterEvents: 1, closeCode: 1000 }] },
      {},
      "model=gpt-realtime",
    )
    await client.next("session.created")
    expect((await client.next("error")).error.message).toBe(
      "Your session hit the maximum duration of 60 minutes.",
    )
    expect((await client.closed).code).toBe(1000)
  })

  it("uses the Responses shapes on the Responses socket: nested by default, flat on request", async () => {
    sim = await startSimulator()
    sim.scenario.nextConnection("responses", {
      faults: [
        { type: "error", code: "rate_limit_exceeded", afterMs: 0 },
        { type: "error", code: "server_error", shape: "flat", afterEvents: 1 },
        { type: "unknownEvent", afterEvents: 2 },
      ],
    })
    const client = await connect(`${sim.url}/responses`, AUTH)
    clients.push(client)
    const nested = await client.next("error")
    expect(nested).toMatchObject({ status: 429, error: { code: "rate_limit_exceeded", type: "tokens" } })
    const flat = await client.next("error")
    expect(flat).toMatchObject({ code: "server_error", sequence_number: 1, param: null })
    expect(await client.next("simulator.unknown_event")).toMatchObject({ sequence_number: 2 })
  })
})

describe("refused client events", () => {
  const openResponses = async (script: ConnectionScript) => {
    sim ??= await startSimulator()
    sim.scenario.nextConnection("responses", script)
    const client = await connect(`${sim.url}/responses`, AUTH)
    clients.push(client)
    return client
  }
  const create = (input: string) => ({ type: "response.create", model: "gpt-4.1-mini", input })

  it("answers a refused response.create with the nested error, status and headers, and never handles it", async () => {
    sim = await startSimulator({ scenario: { replies: [{ text: "first reply" }, { text: "second reply" }] } })
    const client = await openResponses({
      faults: [
        {
          type: "refuse",
          onType: "response.create",
          code: "rate_limit_exceeded",
          status: 429,
          headers: { "retry-after-ms": "40" },
        },
      ],
    })
    client.send(create("refused"))
    const refused = await client.next("error")
    expect(refused).toEqual({
      type: "error",
      status: 429,
      error: {
        type: "tokens",
        code: "rate_limit_exceeded",
        message: "Rate limit reached. Please try again later.",
        param: null,
        headers: { "retry-after-ms": "40" },
      },
    })
    // Refused once (times defaults to 1): the next create is handled, and it gets the first
    // scripted reply, which the refused one never consumed.
    client.send(create("handled"))
    const completed = await client.next("response.completed")
    expect(completed.response.output[0].content[0].text).toBe("first reply")
    expect(client.all("response.created")).toHaveLength(1)
    expect(client.events[0]?.type).toBe("error")
    const received = sim.connections[0]?.received ?? []
    expect(received.map((e) => [e.type, e.refused === true])).toEqual([
      ["response.create", true],
      ["response.create", false],
    ])
  })

  it("refuses from the afterClientEvents-th event of its type, times times, in the flat shape", async () => {
    const client = await openResponses({
      faults: [
        {
          type: "refuse",
          onType: "response.create",
          code: "previous_response_not_found",
          message: "Previous response with id 'resp_x' not found.",
          param: "previous_response_id",
          shape: "flat",
          afterClientEvents: 2,
          times: 2,
        },
      ],
    })
    const outcome = async (input: string) => {
      client.send(create(input))
      return (await client.next((e) => e.type === "error" || e.type === "response.completed")).type
    }
    expect([await outcome("1"), await outcome("2"), await outcome("3"), await outcome("4")]).toEqual([
      "response.completed",
      "error",
      "error",
      "response.completed",
    ])
    expect(client.all("error")[0]).toMatchObject({
      code: "previous_response_not_found",
      param: "previous_response_id",
      message: "Previous response with id 'resp_x' not found.",
    })
    expect(client.all("error")[0]?.status).toBeUndefined()
    expect(client.all("response.created")).toHaveLength(2)
  })

  it("leaves events of other types alone and keeps the connection open", async () => {
    const client = await openResponses({
      faults: [
        { type: "refuse", onType: "response.cancel", code: "server_error", times: Number.POSITIVE_INFINITY },
      ],
    })
    client.send({ type: "response.cancel" })
    expect(await client.next("error")).toMatchObject({ status: 500, error: { code: "server_error" } })
    client.send({ type: "response.cancel" })
    await client.next("error")
    client.send(create("still open"))
    expect((await client.next("response.completed")).response.status).toBe("completed")
  })

  it("answers a refused Realtime event in the Realtime shape, naming its event_id, without applying it", async () => {
    const client = await openScripted({
      faults: [{ type: "refuse", onType: "session.update", code: "invalid_value", message: "Not now." }],
    })
    await client.next("session.created")
    client.send({ ...manual, event_id: "evt_client_1" })
    const refused = await client.next("error")
    expect(refused.error).toEqual({
      type: "invalid_request_error",
      code: "invalid_value",
      message: "Not now.",
      param: null,
      event_id: "evt_client_1",
    })
    client.send(manual)
    const updated = await client.next("session.updated")
    expect(client.all("session.updated")).toHaveLength(1)
    expect(updated.session.audio.input.turn_detection).toBeNull()
  })
})

describe("rejected upgrades", () => {
  it("refuses the upgrade with the scripted status and body, once", async () => {
    sim = await startSimulator()
    sim.scenario.nextConnection("realtime", {
      faults: [{ type: "reject", status: 503, body: '{"error":"busy"}' }],
    })
    const refused = await refusedUpgrade(`${sim.url}/realtime?model=gpt-realtime`, AUTH)
    expect(refused).toEqual({ status: 503, body: '{"error":"busy"}' })
    expect(sim.connections[0]).toMatchObject({ kind: "realtime", httpStatus: 503, open: false })
    const next = await connect(`${sim.url}/realtime?model=gpt-realtime`, AUTH)
    clients.push(next)
    await next.next("session.created")
  })

  it("gives the service's JSON error body when no body is scripted", async () => {
    sim = await startSimulator()
    sim.scenario.nextConnection("transcription", { faults: [{ type: "reject", status: 429 }] })
    const refused = await refusedUpgrade(`${sim.url}/realtime?intent=transcription`, AUTH)
    expect(refused.status).toBe(429)
    expect(JSON.parse(refused.body).error.code).toBe("rate_limit_exceeded")
  })

  it("consumes scripts per kind, in order", async () => {
    sim = await startSimulator()
    sim.scenario.nextConnection("transcription", { faults: [{ type: "reject", status: 500 }] })
    sim.scenario.nextConnection("transcription", { faults: [{ type: "reject", status: 502 }] })
    const realtime = await connect(`${sim.url}/realtime?model=gpt-realtime`, AUTH)
    clients.push(realtime)
    await realtime.next("session.created")
    expect((await refusedUpgrade(`${sim.url}/realtime?intent=transcription`, AUTH)).status).toBe(500)
    expect((await refusedUpgrade(`${sim.url}/realtime?intent=transcription`, AUTH)).status).toBe(502)
    const ok = await connect(`${sim.url}/realtime?intent=transcription`, AUTH)
    clients.push(ok)
    await ok.next("session.created")
  })
})

describe("latency", () => {
  it("holds the first event for firstEventMs while the socket answers pings", async () => {
    const openedAt = Date.now()
    const client = await openScripted({ latency: { firstEventMs: 300 } })
    expect(await pongWithin(client, 5000)).toBe(true)
    expect(client.events).toEqual([])
    await client.next("session.created")
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(290)
  })

  it("spaces deltas by betweenDeltasMs", async () => {
    const client = await openScripted(
      { latency: { betweenDeltasMs: 50 } },
      { scenario: { transcripts: ["a b c d"] } },
    )
    await client.next("session.created")
    client.send(manual)
    await client.next("session.updated")
    client.appendAudio(concatPcm(tone(200), silence(100)))
    client.send({ type: "input_audio_buffer.commit" })
    const first = await client.next("conversation.item.input_audio_transcription.delta")
    const firstAt = Date.now()
    await client.next("conversation.item.input_audio_transcription.completed")
    // Three more deltas and the completed event, each after a 50 ms pause.
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(4 * 50 - 10)
    expect(first.delta).toBe("a")
  })
})
