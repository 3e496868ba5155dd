/**
 * Fidelity: the `openai` package's own Responses WebSocket client (`ResponsesWS`), which
 * derives `ws://…/v1/responses` from the REST base URL, holds a chained conversation with
 * a tool call against the simulator, sees the nested errors as `WebSocketError`s, and
 * reconnects after a dropped socket (whose cache is then empty, as on the service).
 */
import OpenAI from "openai"
import type { ResponsesServerEvent } from "openai/resources/responses/responses"
import { ResponsesWS } from "openai/resources/responses/ws"
import { afterEach, describe, expect, it } from "vitest"
import { startSimulator } from "../../src/simulator/index.ts"
import type { ConnectionScript, Simulator } from "../../src/simulator/types.ts"

const simulators: Simulator[] = []
const sockets: ResponsesWS[] = []
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close({ code: 1000, reason: "test over" })
  await Promise.all(simulators.splice(0).map((s) => s.close()))
})

type AnyEvent = { type: string } & Record<string, unknown>

/** A ResponsesWS with every event and error queued, so a test can await the next terminal one. */
const open = async (
  options: ConstructorParameters<typeof ResponsesWS>[1] = {},
  script?: ConnectionScript,
) => {
  const sim = await startSimulator()
  simulators.push(sim)
  if (script !== undefined) sim.scenario.nextConnection("responses", script)
  const client = new OpenAI({ apiKey: sim.apiKey ?? "unused", baseURL: sim.httpUrl })
  const rws = new ResponsesWS(client, options)
  sockets.push(rws)
  const events: AnyEvent[] = []
  const errors: (Error & { error?: unknown })[] = []
  let wake: (() => void) | undefined
  rws.on("event", (event: ResponsesServerEvent) => {
    events.push(event as unknown as AnyEvent)
    wake?.()
  })
  rws.on("error", (error) => {
    errors.push(error)
    wake?.()
  })
  let cursor = 0
  /** Resolves with the events up to the next terminal one (completed, incomplete, failed or error). */
  const next = async (): Promise<AnyEvent[]> => {
    for (;;) {
      const i = events.findIndex(
        (e, index) =>
          index >= cursor &&
          (e.type === "response.completed" || e.type === "response.incomplete" || e.type === "error"),
      )
      if (i !== -1) {
        const slice = events.slice(cursor, i + 1)
        cursor = i + 1
        return slice
      }
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }
  }
  return { sim, rws, events, errors, next }
}

const completedResponse = (events: AnyEvent[]) => {
  const last = events.at(-1)!
  expect(last.type).toBe("response.completed")
  return last.response as OpenAI.Responses.Response
}

describe("openai ResponsesWS against the simulator", () => {
  it("chains a tool call and its output with previous_response_id and store false", async () => {
    const { sim, rws, next } = await open()
    const args = '{"city":"Paris"}'
    sim.scenario.replies = [
      { functionCall: { name: "get_weather", arguments: args, callId: "call_w1" } },
      { text: "It is 21 degrees in Paris." },
    ]
    const tools: OpenAI.Responses.FunctionTool[] = [
      { type: "function", name: "get_weather", parameters: { type: "object" }, strict: null },
    ]
    const turn1: OpenAI.Responses.ResponsesClientEvent = {
      type: "response.create",
      model: "gpt-4.1-mini",
      store: false,
      tools,
      input: "Weather in Paris?",
    }
    rws.send(turn1)
    const first = await next()
    const call = completedResponse(first).output[0]
    expect(call).toMatchObject({
      type: "function_call",
      call_id: "call_w1",
      name: "get_weather",
      arguments: args,
    })
    const deltas = first.filter((e) => e.type === "response.function_call_arguments.delta")
    expect(deltas.map((e) => e.delta).join("")).toBe(args)

    const turn2: OpenAI.Responses.ResponsesClientEvent = {
      type: "response.create",
      model: "gpt-4.1-mini",
      store: false,
      tools,
      previous_response_id: completedResponse(first).id,
      input: [{ type: "function_call_output", call_id: "call_w1", output: '{"celsius":21}' }],
    }
    rws.send(turn2)
    const second = completedResponse(await next())
    expect(second.output_text ?? (second.output[0] as { content: { text: string }[] }).content[0]!.text).toBe(
      "It is 21 degrees in Paris.",
    )
    expect(second.usage?.input_tokens_details.cached_tokens).toBeGreaterThan(0)
    // The bytes of each turn's response.create are on record, as the SDK serialized them.
    const responses = sim.connections.find((c) => c.kind === "responses")!
    const sizes = responses.received.filter((r) => r.type === "response.create").map((r) => r.bytes)
    expect(sizes).toEqual([turn1, turn2].map((e) => Buffer.byteLength(JSON.stringify(e))))
  })

  it("warms up with generate false and chains from the warmup", async () => {
    const { rws, next } = await open()
    rws.sendRaw(
      JSON.stringify({
        type: "response.create",
        model: "gpt-4.1-mini",
        store: false,
        generate: false,
        input: [{ type: "message", role: "system", content: [{ type: "input_text", text: "Be terse." }] }],
      }),
    )
    const warmup = completedResponse(await next())
    expect(warmup.output).toEqual([])
    rws.send({
      type: "response.create",
      model: "gpt-4.1-mini",
      store: false,
      previous_response_id: warmup.id,
      input: "hi",
    })
    expect(completedResponse(await next()).previous_response_id).toBe(warmup.id)
  })

  it("surfaces previous_response_not_found as a WebSocketError carrying the nested event", async () => {
    const { rws, errors, next } = await open()
    rws.send({
      type: "response.create",
      model: "gpt-4.1-mini",
      previous_response_id: "resp_unknown",
      input: "hi",
    })
    const [event] = await next()
    expect(event).toMatchObject({
      type: "error",
      status: 400,
      error: { code: "previous_response_not_found" },
    })
    expect(errors).toHaveLength(1)
    expect(errors[0]!.message).toBe("Previous response with id 'resp_unknown' not found.")
    expect(errors[0]!.error).toMatchObject({ error: { param: "previous_response_id" } })
  })

  it("cancels a response in flight with a raw response.cancel", async () => {
    const { sim, rws, next } = await open({}, { latency: { betweenDeltasMs: 10 } })
    sim.scenario.replies = [{ text: Array.from({ length: 50 }, (_, i) => `word${i}`).join(" ") }]
    rws.send({ type: "response.create", model: "gpt-4.1-mini", input: "talk a lot" })
    await new Promise<void>((resolve) => rws.once("response.output_text.delta", () => resolve()))
    rws.sendRaw(JSON.stringify({ type: "response.cancel" }))
    const ended = (await next()).at(-1)!
    expect(ended.type).toBe("response.incomplete")
    expect((ended.response as { status: string }).status).toBe("cancelled")
  })

  it("reconnects after a dropped socket, whose new connection no longer knows a store false response", async () => {
    const reconnecting: number[] = []
    const { sim, rws, next } = await open(
      {
        reconnect: {
          onReconnecting: (event) => void reconnecting.push(event.attempt),
          initialDelay: 10,
          maxDelay: 20,
        },
      },
      // The second response.create on the first socket destroys it (1006), as a network failure would.
      { faults: [{ type: "close", code: 1006, onType: "response.create", afterClientEvents: 2 }] },
    )
    rws.send({ type: "response.create", model: "gpt-4.1-mini", store: false, input: "first" })
    const first = completedResponse(await next())
    const reconnected = new Promise<void>((resolve) => rws.once("reconnected", () => resolve()))
    rws.send({
      type: "response.create",
      model: "gpt-4.1-mini",
      store: false,
      previous_response_id: first.id,
      input: "lost",
    })
    await reconnected
    expect(reconnecting).toEqual([1])
    const sockets = sim.connections.filter((c) => c.kind === "responses")
    expect(sockets.map((c) => c.closeCode)).toEqual([1006, undefined])
    rws.send({
      type: "response.create",
      model: "gpt-4.1-mini",
      store: false,
      previous_response_id: first.id,
      input: "next",
    })
    const [error] = await next()
    expect(error).toMatchObject({ type: "error", error: { code: "previous_response_not_found" } })
    rws.send({
      type: "response.create",
      model: "gpt-4.1-mini",
      store: false,
      input: "first and next, in full",
    })
    expect(completedResponse(await next()).status).toBe("completed")
  })
})
