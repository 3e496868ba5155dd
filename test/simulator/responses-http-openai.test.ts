/**
 * Fidelity: the `openai` package's REST client asks the Responses API over HTTP (streamed and
 * not) and lists the models, against the simulator: the same scripted replies and tool calls
 * as the socket, chaining by `previous_response_id` across HTTP and the socket, the REST
 * error answers the SDK raises as its typed errors.
 */
import OpenAI, { type BadRequestError, type NotFoundError } from "openai"
import { ResponsesWS } from "openai/resources/responses/ws"
import { afterEach, describe, expect, it } from "vitest"
import { startSimulator } from "../../src/simulator/index.ts"
import type { Simulator } from "../../src/simulator/types.ts"

const simulators: Simulator[] = []
afterEach(async () => {
  await Promise.all(simulators.splice(0).map((s) => s.close()))
})

const start = async () => {
  const sim = await startSimulator()
  simulators.push(sim)
  const client = new OpenAI({ apiKey: sim.apiKey ?? "unused", baseURL: sim.httpUrl, maxRetries: 0 })
  return { sim, client }
}

const tools: OpenAI.Responses.FunctionTool[] = [
  {
    type: "function",
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } } },
    strict: false,
  },
]

describe("openai REST client: responses over HTTP", () => {
  it("answers a text reply as one response object, with output_text and usage", async () => {
    const { sim, client } = await start()
    sim.scenario.replies = [{ text: "Hello from the simulator." }]
    const response = await client.responses.create({ model: "gpt-4.1-mini", input: "Hi!" })
    expect(response.status).toBe("completed")
    expect(response.output_text).toBe("Hello from the simulator.")
    expect(response.usage?.input_tokens).toBeGreaterThan(0)
    expect(sim.connections.at(-1)?.kind).toBe("http")
  })

  it("streams the socket's events as SSE, and a tool call the next request chains from", async () => {
    const { sim, client } = await start()
    const args = '{"city":"Paris"}'
    sim.scenario.replies = [
      { functionCall: { name: "get_weather", arguments: args, callId: "call_h1" } },
      { text: "It is 21 degrees in Paris." },
    ]
    const stream = await client.responses.create({
      model: "gpt-4.1-mini",
      input: "Weather in Paris?",
      tools,
      stream: true,
    })
    const types: string[] = []
    let completed: OpenAI.Responses.Response | undefined
    let argumentDeltas = ""
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === "response.function_call_arguments.delta") argumentDeltas += event.delta
      if (event.type === "response.completed") completed = event.response
    }
    expect(types.slice(0, 3)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
    ])
    expect(types.at(-1)).toBe("response.completed")
    expect(argumentDeltas).toBe(args)
    const call = completed?.output[0]
    expect(call).toMatchObject({
      type: "function_call",
      call_id: "call_h1",
      name: "get_weather",
      arguments: args,
    })

    // The SDK's stream helper assembles the same events into the final response.
    const followUp = await client.responses
      .stream({
        model: "gpt-4.1-mini",
        previous_response_id: completed!.id,
        input: [{ type: "function_call_output", call_id: "call_h1", output: '{"temp":21}' }],
        tools,
      })
      .finalResponse()
    expect(followUp.output_text).toBe("It is 21 degrees in Paris.")
    expect(followUp.previous_response_id).toBe(completed!.id)
    expect(followUp.usage?.input_tokens_details.cached_tokens).toBeGreaterThan(0)
  })

  it("chains a socket response from an HTTP one (store: true), with the same reply list", async () => {
    const { sim, client } = await start()
    sim.scenario.replies = [{ text: "First, over HTTP." }, { text: "Second, over the socket." }]
    const first = await client.responses.create({ model: "gpt-4.1-mini", input: "One" })
    const rws = new ResponsesWS(client)
    try {
      const done = new Promise<OpenAI.Responses.Response>((resolve, reject) => {
        rws.on("event", (event) => {
          if (event.type === "response.completed") resolve(event.response)
        })
        rws.on("error", reject)
      })
      rws.send({
        type: "response.create",
        model: "gpt-4.1-mini",
        previous_response_id: first.id,
        input: "Two",
      })
      const second = await done
      expect(second.previous_response_id).toBe(first.id)
      expect(second.output[0]).toMatchObject({ content: [{ text: "Second, over the socket." }] })
    } finally {
      rws.close({ code: 1000, reason: "test over" })
    }
  })

  it("raises the REST errors: an unknown previous response, store false, and socket-only parameters", async () => {
    const { client } = await start()
    const unknown = await client.responses
      .create({ model: "gpt-4.1-mini", input: "Hi", previous_response_id: "resp_nope" })
      .catch((e: unknown) => e)
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError)
    expect((unknown as BadRequestError).code).toBe("previous_response_not_found")
    const unstored = await client.responses.create({ model: "gpt-4.1-mini", input: "Hi", store: false })
    const notChained = await client.responses
      .create({ model: "gpt-4.1-mini", input: "Again", previous_response_id: unstored.id })
      .catch((e: unknown) => e)
    expect((notChained as BadRequestError).code).toBe("previous_response_not_found")
    const generate = await client.responses
      .create({ model: "gpt-4.1-mini", input: "Hi" }, { body: { model: "gpt-4.1-mini", generate: false } })
      .catch((e: unknown) => e)
    expect((generate as BadRequestError).param).toBe("generate")
    const noModel = await client.responses.create({ input: "Hi" } as never).catch((e: unknown) => e)
    expect((noModel as BadRequestError).code).toBe("missing_required_parameter")
  })
})

describe("openai REST client: models", () => {
  it("lists the models and retrieves one; an unknown one is a 404 model_not_found", async () => {
    const { client } = await start()
    const ids: string[] = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids).toEqual(expect.arrayContaining(["gpt-realtime", "gpt-4o-transcribe", "whisper-1", "gpt-4.1"]))
    const model = await client.models.retrieve("gpt-4o-mini-tts")
    expect(model).toMatchObject({ id: "gpt-4o-mini-tts", object: "model" })
    const missing = await client.models.retrieve("gpt-nothing").catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError)
    expect((missing as NotFoundError).code).toBe("model_not_found")
  })
})
