/**
 * The Responses WebSocket (`/v1/responses`) of a running simulator, on real sockets.
 */
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { startSimulator } from "../../src/simulator/index.ts"
import { RESPONSES_STORE_CAPACITY } from "../../src/simulator/responses.ts"
import type { ConnectionScript, Simulator, SimulatorOptions } from "../../src/simulator/types.ts"

type Event = Record<string, unknown> & { type: string }

const simulators: Simulator[] = []
afterEach(async () => {
  await Promise.all(simulators.splice(0).map((s) => s.close()))
})

const start = async (options: SimulatorOptions = {}): Promise<Simulator> => {
  const sim = await startSimulator(options)
  simulators.push(sim)
  return sim
}

/** A client socket that queues every server event, so tests can await the next ones. */
interface Client {
  readonly socket: WebSocket
  readonly events: Event[]
  send(event: Record<string, unknown>): void
  /** Resolves with the events received up to and including the first matching one. */
  until(predicate: (event: Event) => boolean): Promise<Event[]>
  /** Resolves with the close code. */
  closed(): Promise<number>
}

const connect = async (h: Simulator, script?: ConnectionScript, azure = false): Promise<Client> => {
  if (script !== undefined) h.scenario.nextConnection("responses", script)
  const socket = azure
    ? new WebSocket(`${h.url.replace(/\/v1$/, "")}/openai/v1/responses`, {
        headers: { "api-key": h.apiKey ?? "" },
      })
    : new WebSocket(`${h.url}/responses`, { headers: { authorization: `Bearer ${h.apiKey}` } })
  const events: Event[] = []
  let cursor = 0
  const waiters: (() => void)[] = []
  let closeCode: number | undefined
  socket.on("message", (data) => {
    events.push(JSON.parse(String(data)) as Event)
    for (const w of waiters.splice(0)) w()
  })
  socket.on("close", (code) => {
    closeCode = code
    for (const w of waiters.splice(0)) w()
  })
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve())
    socket.once("error", reject)
  })
  return {
    socket,
    events,
    send: (event) => socket.send(JSON.stringify(event)),
    until: (predicate) =>
      new Promise((resolve, reject) => {
        const check = () => {
          for (let i = cursor; i < events.length; i++) {
            if (predicate(events[i]!)) {
              const slice = events.slice(cursor, i + 1)
              cursor = i + 1
              resolve(slice)
              return
            }
          }
          if (closeCode !== undefined)
            reject(new Error(`socket closed (${closeCode}) before the awaited event`))
          else waiters.push(check)
        }
        check()
      }),
    closed: () =>
      new Promise((resolve) => {
        if (closeCode !== undefined) resolve(closeCode)
        else socket.once("close", (code) => resolve(code))
      }),
  }
}

const terminal = (e: Event) =>
  e.type === "response.completed" ||
  e.type === "response.incomplete" ||
  e.type === "response.failed" ||
  e.type === "error"

const create = (client: Client, body: Record<string, unknown>) => {
  client.send({ type: "response.create", model: "gpt-4.1-mini", ...body })
  return client.until(terminal)
}

const responseOf = (events: Event[]) => events.at(-1)!.response as Record<string, unknown> & { id: string }

const user = (text: string) => ({ type: "message", role: "user", content: [{ type: "input_text", text }] })

describe("Responses WebSocket: streaming", () => {
  it("streams a text response with sequence numbers and completes with usage", async () => {
    const h = await start()
    h.scenario.replies = [{ text: "Hello there friend." }]
    const client = await connect(h)
    const events = await create(client, { input: "Hi", instructions: "Be brief." })
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ])
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
    const itemId = (events[2]!.item as { id: string }).id
    expect(
      events.filter((e) => e.type === "response.output_text.delta").every((e) => e.item_id === itemId),
    ).toBe(true)
    expect(events[7]).toMatchObject({ text: "Hello there friend." })
    const response = responseOf(events)
    expect(response).toMatchObject({
      object: "response",
      status: "completed",
      model: "gpt-4.1-mini",
      instructions: "Be brief.",
      store: true,
      output: [
        {
          id: itemId,
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "Hello there friend." }],
        },
      ],
      // "Be brief." is 3 tokens; the input item is 4 + 1; the reply 3 words of 5 tokens.
      usage: {
        input_tokens: 8,
        output_tokens: 5,
        total_tokens: 13,
        input_tokens_details: { cached_tokens: 0 },
      },
    })
    expect(response.id).toMatch(/^resp_/)
  })

  it("streams a function call: added with empty arguments, deltas keyed by item_id, done, item done", async () => {
    const h = await start()
    const args = '{"city":"Paris","unit":"celsius"}'
    h.scenario.replies = [{ functionCall: { name: "get_weather", arguments: args, callId: "call_1" } }]
    const client = await connect(h)
    const events = await create(client, {
      input: "Weather in Paris?",
      tools: [{ type: "function", name: "get_weather", parameters: { type: "object" }, strict: null }],
    })
    const added = events.find((e) => e.type === "response.output_item.added")!
    expect(added.item).toMatchObject({
      type: "function_call",
      call_id: "call_1",
      name: "get_weather",
      arguments: "",
    })
    const itemId = (added.item as { id: string }).id
    const deltas = events.filter((e) => e.type === "response.function_call_arguments.delta")
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.every((d) => d.item_id === itemId)).toBe(true)
    expect(deltas.map((d) => d.delta).join("")).toBe(args)
    expect(events.find((e) => e.type === "response.function_call_arguments.done")).toMatchObject({
      item_id: itemId,
      arguments: args,
    })
    expect(events.find((e) => e.type === "response.output_item.done")!.item).toMatchObject({
      status: "completed",
      arguments: args,
    })
    expect(responseOf(events).output).toHaveLength(1)
  })

  it("streams several function calls as output items 0, 1, ... of one response, and chains their outputs", async () => {
    const h = await start()
    const calls = [
      { name: "get_weather", arguments: '{"city":"Paris"}', callId: "call_a" },
      { name: "get_time", arguments: '{"zone":"Europe/Paris"}', callId: "call_b" },
    ]
    const seen: unknown[][] = []
    h.scenario.replies = (request) => {
      seen.push([...request.input])
      return request.index === 0 ? { functionCalls: calls } : { text: "Sunny at noon." }
    }
    const client = await connect(h)
    const events = await create(client, { input: "Weather and time?", store: false })
    const added = events.filter((e) => e.type === "response.output_item.added")
    expect(added.map((e) => [e.output_index, (e.item as { call_id: string }).call_id])).toEqual([
      [0, "call_a"],
      [1, "call_b"],
    ])
    // The first call is done before the second is added.
    const types = events.map((e) => `${e.type}:${String(e.output_index ?? "")}`)
    expect(types.indexOf("response.output_item.done:0")).toBeLessThan(
      types.indexOf("response.output_item.added:1"),
    )
    for (const [index, call] of calls.entries()) {
      const itemId = (added[index]!.item as { id: string }).id
      const deltas = events.filter(
        (e) => e.type === "response.function_call_arguments.delta" && e.item_id === itemId,
      )
      expect(deltas.every((d) => d.output_index === index)).toBe(true)
      expect(deltas.map((d) => d.delta).join("")).toBe(call.arguments)
    }
    const response = responseOf(events)
    expect(events.at(-1)!.type).toBe("response.completed")
    expect(response.output).toMatchObject([
      { type: "function_call", call_id: "call_a", status: "completed", arguments: calls[0]!.arguments },
      { type: "function_call", call_id: "call_b", status: "completed", arguments: calls[1]!.arguments },
    ])
    const answer = await create(client, {
      previous_response_id: response.id,
      store: false,
      input: [
        { type: "function_call_output", call_id: "call_a", output: "sunny" },
        { type: "function_call_output", call_id: "call_b", output: "12:00" },
      ],
    })
    expect(answer.at(-1)!.type).toBe("response.completed")
    expect(seen[1]?.slice(-4)).toMatchObject([
      { type: "function_call", call_id: "call_a" },
      { type: "function_call", call_id: "call_b" },
      { type: "function_call_output", call_id: "call_a" },
      { type: "function_call_output", call_id: "call_b" },
    ])
  })

  it("fails the response with response.failed for an empty functionCalls reply", async () => {
    const h = await start()
    h.scenario.replies = [{ functionCalls: [] }]
    const client = await connect(h)
    const events = await create(client, { input: "Anything" })
    expect(events.at(-1)).toMatchObject({
      type: "response.failed",
      response: { status: "failed", error: { code: "server_error" } },
    })
  })

  it("ends with response.incomplete at max_output_tokens", async () => {
    const h = await start()
    h.scenario.replies = [{ text: "word ".repeat(40).trim() }]
    const client = await connect(h)
    const events = await create(client, { input: "Talk", max_output_tokens: 16 })
    const response = responseOf(events)
    expect(events.at(-1)!.type).toBe("response.incomplete")
    expect(response).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
    })
    expect((response.usage as { output_tokens: number }).output_tokens).toBe(16)
  })
})

describe("Responses WebSocket: chaining", () => {
  it("chains on the connection's latest response and counts the chain as cached input", async () => {
    const h = await start()
    const inputs: unknown[][] = []
    h.scenario.replies = (request) => {
      inputs.push([...request.input])
      return { text: `reply ${request.index}` }
    }
    const client = await connect(h)
    const first = responseOf(await create(client, { input: [user("one")], store: false }))
    const second = await create(client, {
      input: [user("two")],
      previous_response_id: first.id,
      store: false,
    })
    expect(inputs[1]).toEqual([
      user("one"),
      expect.objectContaining({
        type: "message",
        role: "assistant",
        content: [expect.objectContaining({ text: "reply 0" })],
      }),
      user("two"),
    ])
    const usage = responseOf(second).usage as {
      input_tokens: number
      input_tokens_details: { cached_tokens: number }
    }
    const firstUsage = first.usage as { input_tokens: number; output_tokens: number }
    // The chain is the first input (5 tokens) and its output (4 + 2 tokens); the new input adds 5.
    expect(usage.input_tokens_details.cached_tokens).toBe(
      firstUsage.input_tokens + 4 + firstUsage.output_tokens,
    )
    expect(usage.input_tokens).toBe(usage.input_tokens_details.cached_tokens + 5)
    expect(responseOf(second).previous_response_id).toBe(first.id)
  })

  it("with store false, chains only the latest response of the same connection", async () => {
    const h = await start()
    const a = await connect(h)
    const first = responseOf(await create(a, { input: "one", store: false }))
    const second = responseOf(await create(a, { input: "two", store: false, previous_response_id: first.id }))
    const stale = await create(a, { input: "three", store: false, previous_response_id: first.id })
    expect(stale.at(-1)).toEqual({
      type: "error",
      status: 400,
      error: {
        type: "invalid_request_error",
        code: "previous_response_not_found",
        message: `Previous response with id '${first.id}' not found.`,
        param: "previous_response_id",
      },
    })
    const b = await connect(h)
    const elsewhere = await create(b, { input: "four", previous_response_id: second.id })
    expect((elsewhere.at(-1)!.error as { code: string }).code).toBe("previous_response_not_found")
    const again = await create(a, { input: "five", store: false, previous_response_id: second.id })
    expect(again.at(-1)!.type).toBe("response.completed")
  })

  it("with store true, chains any stored response, from any connection", async () => {
    const h = await start()
    const a = await connect(h)
    const first = responseOf(await create(a, { input: "one" }))
    await create(a, { input: "two" })
    const fromOld = await create(a, { input: "three", previous_response_id: first.id })
    expect(fromOld.at(-1)!.type).toBe("response.completed")
    const b = await connect(h)
    const fromOther = await create(b, { input: "four", previous_response_id: first.id })
    expect(fromOther.at(-1)!.type).toBe("response.completed")
  })

  it("answers previous_response_not_found for an unknown id and for an evicted one", async () => {
    const h = await start()
    const client = await connect(h)
    const unknown = await create(client, { input: "x", previous_response_id: "resp_doesnotexist" })
    expect(unknown.at(-1)).toMatchObject({
      type: "error",
      status: 400,
      error: { code: "previous_response_not_found", param: "previous_response_id" },
    })
    const oldest = responseOf(await create(client, { input: "first", generate: false }))
    for (let i = 0; i < RESPONSES_STORE_CAPACITY; i++)
      await create(client, { input: `n${i}`, generate: false })
    const evicted = await create(client, { input: "x", previous_response_id: oldest.id })
    expect((evicted.at(-1)!.error as { code: string }).code).toBe("previous_response_not_found")
  })

  it("answers a generate:false warmup with created and completed, no output, and chains from it", async () => {
    const h = await start()
    const inputs: unknown[][] = []
    h.scenario.replies = (request) => {
      inputs.push([...request.input])
      return { text: "ok" }
    }
    const client = await connect(h)
    const system = {
      type: "message",
      role: "system",
      content: [{ type: "input_text", text: "You are terse." }],
    }
    const warmup = await create(client, { input: [system], generate: false, store: false })
    expect(warmup.map((e) => e.type)).toEqual(["response.created", "response.completed"])
    expect(responseOf(warmup)).toMatchObject({ status: "completed", output: [], usage: { output_tokens: 0 } })
    expect(inputs).toHaveLength(0)
    const next = await create(client, {
      input: [user("hi")],
      previous_response_id: responseOf(warmup).id,
      store: false,
    })
    expect(next.at(-1)!.type).toBe("response.completed")
    expect(inputs[0]).toEqual([system, user("hi")])
  })
})

describe("Responses WebSocket: limits and errors", () => {
  it("refuses a second response.create while one is in flight and finishes the first", async () => {
    const h = await start()
    h.scenario.replies = [{ text: "a fairly long answer with several words in it" }]
    const client = await connect(h, { latency: { betweenDeltasMs: 5 } })
    client.send({ type: "response.create", model: "gpt-4.1-mini", input: "one" })
    client.send({ type: "response.create", model: "gpt-4.1-mini", input: "two" })
    const events = await client.until((e) => e.type === "response.completed")
    const errors = events.filter((e) => e.type === "error")
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ status: 400, error: { code: "response_already_in_progress" } })
    expect(events.filter((e) => e.type === "response.created")).toHaveLength(1)
  })

  it("stops a response on response.cancel and keeps its id chainable with the partial output", async () => {
    const h = await start()
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ")
    const inputs: unknown[][] = []
    h.scenario.replies = (request) => {
      inputs.push([...request.input])
      return { text: request.index === 0 ? words : "after" }
    }
    const client = await connect(h, { latency: { betweenDeltasMs: 10 } })
    client.send({ type: "response.create", model: "gpt-4.1-mini", input: "talk" })
    await client.until((e) => e.type === "response.output_text.delta")
    client.send({ type: "response.cancel" })
    const rest = await client.until(terminal)
    const ended = rest.at(-1)!
    expect(ended.type).toBe("response.incomplete")
    const response = ended.response as {
      id: string
      status: string
      output: { status: string; content: { text: string }[] }[]
    }
    expect(response.status).toBe("cancelled")
    const partial = response.output[0]!.content[0]!.text
    expect(response.output[0]!.status).toBe("incomplete")
    expect(partial.length).toBeGreaterThan(0)
    expect(partial.length).toBeLessThan(words.length)
    expect(rest.some((e) => e.type === "response.output_text.done")).toBe(false)
    const next = await create(client, { input: "continue", previous_response_id: response.id })
    expect(next.at(-1)!.type).toBe("response.completed")
    expect(inputs[1]![1]).toMatchObject({ role: "assistant", content: [{ text: partial }] })
  })

  it("ignores response.cancel when nothing is in flight", async () => {
    const h = await start()
    const client = await connect(h)
    client.send({ type: "response.cancel" })
    const events = await create(client, { input: "hi" })
    expect(events[0]!.type).toBe("response.created")
    expect(events.at(-1)!.type).toBe("response.completed")
  })

  it("refuses the connection beyond the cap with websocket_connection_limit_reached, then accepts after a close", async () => {
    const h = await start({ responsesMaxConnections: 1 })
    const first = await connect(h)
    const second = await connect(h)
    const [error] = await second.until((e) => e.type === "error")
    expect(error).toMatchObject({ status: 429, error: { code: "websocket_connection_limit_reached" } })
    expect(await second.closed()).toBe(1000)
    first.socket.close()
    await first.closed()
    // The server sees the close a moment after the client does; retry until it has.
    let third = await connect(h)
    while (third.events.length === 0) {
      const settled = await Promise.race([
        third.closed().then(() => "closed" as const),
        create(third, { input: "hi" }).then(() => "served" as const),
      ])
      if (settled === "served") break
      third = await connect(h)
    }
    expect(third.events.at(-1)!.type).toBe("response.completed")
  })

  it("ends a connection at its lifetime with websocket_connection_limit_reached and a close", async () => {
    const h = await start({ responsesConnectionLifetimeMs: 50 })
    const client = await connect(h)
    const [error] = await client.until((e) => e.type === "error")
    expect(error).toMatchObject({
      type: "error",
      status: 400,
      error: { type: "invalid_request_error", code: "websocket_connection_limit_reached" },
    })
    expect(await client.closed()).toBe(1000)
  })

  it("answers invalid frames with nested errors and keeps the connection open", async () => {
    const h = await start()
    const client = await connect(h)
    client.socket.send("{not json")
    client.send({ type: "response.steer", previous_response_id: "resp_x", input: "hi" })
    client.send({ type: "response.create", input: "no model" })
    client.send({
      type: "response.create",
      model: "m",
      tools: [{ type: "function", function: { name: "f" } }],
    })
    client.send({ type: "response.create", model: "m", stream: true })
    const errors = await client.until((e) => (e.error as { param?: string } | undefined)?.param === "stream")
    expect(errors.map((e) => (e.error as { code: string }).code)).toEqual([
      "invalid_json",
      "invalid_value",
      "missing_required_parameter",
      "missing_required_parameter",
      "unknown_parameter",
    ])
    expect((errors[3]!.error as { param: string }).param).toBe("tools[0].name")
    expect((await create(client, { input: "still open" })).at(-1)!.type).toBe("response.completed")
  })

  it("fails the response with response.failed when the scenario's reply function throws", async () => {
    const h = await start()
    h.scenario.replies = () => {
      throw new Error("no script for this")
    }
    const client = await connect(h)
    client.send({ type: "response.create", model: "gpt-4.1-mini", input: "hi" })
    const events = await client.until((e) => e.type === "response.failed")
    expect(events.at(-1)!.response).toMatchObject({
      status: "failed",
      error: { code: "server_error", message: "The scenario's reply failed: no script for this" },
    })
    h.scenario.replies = [{ text: "recovered" }]
    expect((await create(client, { input: "again" })).at(-1)!.type).toBe("response.completed")
  })

  it("records each response.create with its size in bytes", async () => {
    const h = await start()
    const client = await connect(h)
    await create(client, { input: "short" })
    await create(client, { input: "a much longer input ".repeat(20) })
    const creates = h.connections
      .find((c) => c.kind === "responses")!
      .received.filter((r) => r.type === "response.create")
    expect(creates).toHaveLength(2)
    expect(creates[1]!.bytes).toBeGreaterThan(creates[0]!.bytes + 300)
  })

  it("serves the Azure v1 path with an api-key header", async () => {
    const h = await start()
    h.scenario.replies = [{ text: "from azure" }]
    const client = await connect(h, undefined, true)
    const events = await create(client, { model: "my-deployment", input: "hi" })
    expect(responseOf(events)).toMatchObject({ status: "completed", model: "my-deployment" })
  })

  it("lets a scripted 1006 drop the socket in the middle of a response", async () => {
    const h = await start()
    h.scenario.replies = [{ text: "one two three four five six" }]
    const client = await connect(h, { faults: [{ type: "close", code: 1006, afterEvents: 5 }] })
    client.send({ type: "response.create", model: "gpt-4.1-mini", input: "hi" })
    expect(await client.closed()).toBe(1006)
    expect(client.events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
    ])
  })
})
