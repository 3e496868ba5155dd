import { it as effectIt } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { ChatChunk } from "../../machines/responses/chunks.ts"
import { ChatContext } from "../../src/llm/ChatContext.ts"
import { type CreateLLMOptions, createLLM, type LLM } from "../../src/llm/LLM.ts"
import { isLLMError, type LLMError } from "../../src/llm/LLMError.ts"
import { functionTool } from "../../src/llm/tools.ts"
import { type Simulator, type SimulatorOptions, startSimulator } from "../../src/simulator/index.ts"
import { RealtimeSocket } from "../../src/transport/index.ts"

let sim: Simulator
let llms: LLM[] = []

const start = async (options: SimulatorOptions = {}) => {
  sim = await startSimulator(options)
}

const llmFor = (options: CreateLLMOptions = {}): LLM => {
  const llm = createLLM({
    openai: { apiKey: sim.apiKey ?? "sk-simulator", baseUrl: sim.httpUrl },
    env: {},
    onWarning: () => undefined,
    ...options,
  })
  llms.push(llm)
  return llm
}

const responsesConnections = () => sim.connections.filter((c) => c.kind === "responses")

/** `response.create` frames received on all Responses sockets, with their byte sizes. */
const creates = () =>
  responsesConnections().flatMap((c) =>
    c.received
      .filter((e) => e.type === "response.create")
      .map((e) => ({ payload: e.payload as Record<string, unknown>, bytes: e.bytes })),
  )

const failureOf = async (
  chunks: AsyncIterable<ChatChunk>,
): Promise<{ chunks: ChatChunk[]; error: LLMError }> => {
  const seen: ChatChunk[] = []
  try {
    for await (const chunk of chunks) seen.push(chunk)
  } catch (error) {
    if (isLLMError(error)) return { chunks: seen, error }
    throw error
  }
  throw new Error(`the stream did not fail: ${JSON.stringify(seen)}`)
}

beforeEach(() => {
  llms = []
})

afterEach(async () => {
  await Promise.all(llms.map((llm) => llm.close()))
  await sim.close()
})

describe("Responses WebSocket LLM against the simulator", () => {
  it("holds a multi-turn conversation on one socket, sending only new items per turn", async () => {
    await start()
    sim.scenario.replies = ({ index }) => ({ text: `Reply number ${index} with some words in it.` })
    const llm = llmFor()
    const context = new ChatContext([{ role: "system", content: "You are a helpful assistant." }])
    for (let i = 0; i < 12; i++) {
      context.addUser(`Question ${i}: tell me something about the number ${i}.`)
      const turn = await llm.chat(context).collect()
      expect(turn.status).toBe("completed")
      expect(turn.text).toBe(`Reply number ${i} with some words in it.`)
      context.addOutput(turn.output)
    }
    expect(responsesConnections()).toHaveLength(1)
    const sent = creates()
    expect(sent).toHaveLength(12)
    expect(sent[0]?.payload.previous_response_id).toBeUndefined()
    for (const create of sent.slice(1)) {
      expect(create.payload.previous_response_id).toMatch(/^resp_/)
      expect(create.payload.input).toHaveLength(1)
    }
    // Bytes per turn stay flat as the conversation grows (turn 2 vs turn 12: same size ± digits).
    const second = sent[1]?.bytes ?? 0
    const last = sent[11]?.bytes ?? 0
    expect(Math.abs(last - second)).toBeLessThanOrEqual(8)
  })

  it("falls back to the full context when a message in the middle was edited", async () => {
    await start()
    const llm = llmFor()
    const context = new ChatContext([{ role: "system", content: "sys" }])
    const question = context.addUser("What is the capital of France?")
    context.addOutput((await llm.chat(context).collect()).output)
    context.addUser("And of Spain?")
    context.addOutput((await llm.chat(context).collect()).output)
    context.replace(question.id, { role: "user", content: "What is the capital of Italy?" })
    context.addUser("And of Portugal?")
    const turn = await llm.chat(context).collect()
    expect(turn.status).toBe("completed")
    const third = creates()[2]?.payload
    expect(third?.previous_response_id).toBeUndefined()
    expect(third?.input).toHaveLength(context.length)
  })

  it("resends the full context exactly once when the service lost the stored response (previous_response_not_found)", async () => {
    await start()
    const port = sim.port
    // store: true keeps the chain across sockets, so a new socket still chains.
    const llm = llmFor({ store: true })
    const context = new ChatContext([{ role: "user", content: "one" }])
    const first = await llm.chat(context).collect()
    context.addOutput(first.output)
    // The service restarts: the socket goes, and with it every stored response.
    await sim.close()
    await expect.poll(() => llm.actor?.getSnapshot().value).toBe("disconnected")
    sim = await startSimulator({ port })
    context.addUser("two")
    const turn = await llm.chat(context).collect()
    expect(turn.status).toBe("completed")
    const sent = creates()
    expect(sent).toHaveLength(2)
    expect(sent[0]?.payload).toMatchObject({ previous_response_id: first.responseId, store: true })
    expect(sent[0]?.payload.input).toHaveLength(1)
    expect(sent[1]?.payload.previous_response_id).toBeUndefined()
    expect(sent[1]?.payload.input).toHaveLength(3)
    const refusals = responsesConnections().flatMap((c) =>
      c.sent.filter((e) => (e as { type?: string }).type === "error"),
    )
    expect(refusals).toMatchObject([{ error: { code: "previous_response_not_found" } }])
    expect(responsesConnections()).toHaveLength(1)
  })

  it("resends the full context once when the service refuses the chained request with previous_response_not_found", async () => {
    await start()
    sim.scenario.replies = [{ text: "first answer" }, { text: "second answer" }]
    // The service refuses the second request, the first chained one, as if it had lost the
    // response it names; the refused request is never handled.
    sim.scenario.nextConnection("responses", {
      faults: [
        {
          type: "refuse",
          onType: "response.create",
          afterClientEvents: 2,
          code: "previous_response_not_found",
          param: "previous_response_id",
        },
      ],
    })
    const llm = llmFor()
    const context = new ChatContext([{ role: "user", content: "one" }])
    const first = await llm.chat(context).collect()
    context.addOutput(first.output)
    context.addUser("two")
    const turn = await llm.chat(context).collect()
    expect(turn.status).toBe("completed")
    // The refused request used no reply: the full resend gets the second one.
    expect(turn.text).toBe("second answer")
    const sent = creates()
    expect(sent).toHaveLength(3)
    expect(sent[1]?.payload.previous_response_id).toBe(first.responseId)
    expect(sent[1]?.payload.input).toHaveLength(1)
    expect(sent[2]?.payload.previous_response_id).toBeUndefined()
    expect(sent[2]?.payload.input).toHaveLength(3)
    const [socket] = responsesConnections()
    expect(responsesConnections()).toHaveLength(1)
    expect(socket?.received.map((e) => e.refused === true)).toEqual([false, true, false])
    expect(socket?.sent.filter((e) => (e as { type?: string }).type === "error")).toMatchObject([
      { status: 400, error: { code: "previous_response_not_found", param: "previous_response_id" } },
    ])
  })

  it("opens a new socket and resends in full after websocket_connection_limit_reached", async () => {
    await start()
    // The service caps the socket as the second request arrives (its 60-minute limit, say).
    sim.scenario.nextConnection("responses", {
      faults: [
        {
          type: "error",
          code: "websocket_connection_limit_reached",
          afterClientEvents: 2,
          onType: "response.create",
          closeCode: 1000,
        },
      ],
    })
    const llm = llmFor()
    const context = new ChatContext([{ role: "user", content: "one" }])
    context.addOutput((await llm.chat(context).collect()).output)
    context.addUser("two")
    const turn = await llm.chat(context).collect()
    expect(turn.status).toBe("completed")
    expect(responsesConnections()).toHaveLength(2)
    const sent = creates()
    expect(sent).toHaveLength(3)
    expect(sent[1]?.payload.previous_response_id).toMatch(/^resp_/)
    expect(sent[2]?.payload.previous_response_id).toBeUndefined()
    expect(sent[2]?.payload.input).toHaveLength(3)
  })

  it("fails with the cap error when a new socket is refused as well", async () => {
    await start({ responsesMaxConnections: 1 })
    const blocker = llmFor()
    await blocker.prewarm()
    const llm = llmFor()
    const { error } = await failureOf(llm.chat([{ role: "user", content: "hi" }]))
    expect(error.reason).toMatchObject({ _tag: "Server", code: "websocket_connection_limit_reached" })
    expect(error.attempts).toBe(2)
    expect(responsesConnections()).toHaveLength(3)
    await blocker.close()
    // With the cap free again, the next turn opens a new socket and succeeds.
    const turn = await llm.chat([{ role: "user", content: "again" }]).collect()
    expect(turn.status).toBe("completed")
  })

  it("replays a turn in full on a new socket when the socket drops after response.created, before output", async () => {
    await start()
    // created, in_progress, then the socket dies before the first output item.
    sim.scenario.nextConnection("responses", { faults: [{ type: "close", code: 1006, afterEvents: 2 }] })
    sim.scenario.replies = () => ({ text: "after the drop" })
    const llm = llmFor()
    const turn = await llm.chat([{ role: "user", content: "one" }]).collect()
    expect(turn.text).toBe("after the drop")
    expect(responsesConnections()).toHaveLength(2)
    const sent = creates()
    expect(sent).toHaveLength(2)
    expect(sent[1]?.payload.previous_response_id).toBeUndefined()
  })

  it("never replays a turn after text reached the caller", async () => {
    await start()
    // The first socket dies after 6 server events: created, in_progress, item added, part added, 2 deltas.
    sim.scenario.nextConnection("responses", { faults: [{ type: "close", code: 1006, afterEvents: 6 }] })
    sim.scenario.replies = [{ text: "This reply is long enough to be cut in the middle of it." }]
    const llm = llmFor()
    const { chunks, error } = await failureOf(llm.chat([{ role: "user", content: "talk" }]))
    expect(chunks.some((c) => c.type === "text")).toBe(true)
    expect(error.reason).toEqual({ _tag: "ConnectionLost", afterOutput: true })
    expect(creates()).toHaveLength(1)
  })

  it("replays a turn whose socket closed before response.created", async () => {
    await start()
    sim.scenario.nextConnection("responses", {
      faults: [{ type: "close", code: 1006, afterClientEvents: 1, onType: "response.create" }],
    })
    const llm = llmFor()
    const turn = await llm.chat([{ role: "user", content: "hello" }]).collect()
    expect(turn.status).toBe("completed")
    expect(responsesConnections()).toHaveLength(2)
    expect(creates()).toHaveLength(2)
  })

  it("fails a turn whose socket drops twice before output", async () => {
    await start()
    const fault = { type: "close" as const, code: 1006, afterClientEvents: 1, onType: "response.create" }
    sim.scenario.nextConnection("responses", { faults: [fault] })
    sim.scenario.nextConnection("responses", { faults: [fault] })
    const llm = llmFor()
    const { error } = await failureOf(llm.chat([{ role: "user", content: "hello" }]))
    expect(error.reason).toEqual({ _tag: "ConnectionLost", afterOutput: false })
    expect(error.attempts).toBe(2)
  })

  it("cancels during streaming: response.cancel names the response, and the next turn has no stale deltas", async () => {
    await start()
    sim.scenario.nextConnection("responses", { latency: { betweenDeltasMs: 5 } })
    sim.scenario.replies = [
      { text: "one two three four five six seven eight nine ten eleven twelve thirteen fourteen" },
      { text: "fresh answer" },
    ]
    const llm = llmFor()
    const first = llm.chat([{ role: "user", content: "count" }])
    const seen: ChatChunk[] = []
    for await (const chunk of first) {
      seen.push(chunk)
      if (chunk.type === "text") first.cancel()
    }
    expect(seen.at(-1)).toMatchObject({ type: "end", status: "cancelled" })
    const second = await llm.chat([{ role: "user", content: "again" }]).collect()
    expect(second.text).toBe("fresh answer")
    const cancel = responsesConnections()[0]?.received.find((e) => e.type === "response.cancel")
    const created = responsesConnections()[0]?.sent.find(
      (e) => (e as { type?: string }).type === "response.created",
    ) as { response: { id: string } } | undefined
    expect(cancel?.payload).toEqual({ type: "response.cancel", response_id: created?.response.id })
    expect(responsesConnections()).toHaveLength(1)
  })

  it("cancels before response.created: the cancel waits for the id", async () => {
    await start()
    sim.scenario.nextConnection("responses", { latency: { firstEventMs: 30, betweenDeltasMs: 5 } })
    const llm = llmFor()
    await llm.prewarm()
    const stream = llm.chat([{ role: "user", content: "hi" }])
    stream.cancel()
    const turn = await stream.collect()
    expect(turn).toMatchObject({ status: "cancelled", responseId: undefined })
    const next = await llm.chat([{ role: "user", content: "next" }]).collect()
    expect(next.status).toBe("completed")
    const received = responsesConnections()[0]?.received ?? []
    const types = received.map((e) => e.type)
    expect(types).toEqual(["response.create", "response.cancel", "response.create"])
    // The cancel went out only once the id was known, and names that response.
    const created = responsesConnections()[0]?.sent.find(
      (e) => (e as { type?: string }).type === "response.created",
    ) as { response: { id: string } } | undefined
    expect(created?.response.id).toMatch(/^resp_/)
    expect(received[1]?.payload).toEqual({ type: "response.cancel", response_id: created?.response.id })
  })

  it("sends nothing for a turn cancelled before it was sent", async () => {
    await start()
    const llm = llmFor()
    const controller = new AbortController()
    controller.abort()
    const turn = await llm.chat([{ role: "user", content: "never" }], { signal: controller.signal }).collect()
    expect(turn).toMatchObject({ status: "cancelled", responseId: undefined, output: [] })
    await llm.prewarm()
    // Neither a response.create nor a response.cancel: the server heard nothing.
    expect(responsesConnections().flatMap((c) => c.received)).toEqual([])
  })

  it("prewarms with generate:false and chains the first turn from the warmup", async () => {
    await start()
    const weather = functionTool({
      name: "get_weather",
      description: "Weather in a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    })
    const llm = llmFor({ tools: [weather] })
    const warmId = await llm.prewarm({ instructions: "You are a weather bot." })
    expect(warmId).toMatch(/^resp_/)
    const turn = await llm
      .chat([
        { role: "system", content: "You are a weather bot." },
        { role: "user", content: "hi" },
      ])
      .collect()
    expect(turn.status).toBe("completed")
    const [warmup, first] = creates()
    expect(warmup?.payload).toMatchObject({
      generate: false,
      tools: [{ type: "function", name: "get_weather" }],
    })
    expect(first?.payload).toMatchObject({
      previous_response_id: warmId,
      input: [{ type: "message", role: "user", content: "hi" }],
    })
  })

  it("streams tool calls once with parsed arguments, continues with the output, and reports usage", async () => {
    await start()
    sim.scenario.replies = [
      { functionCall: { name: "get_weather", arguments: '{"city":"Paris"}', callId: "call_w1" } },
      { text: "It is sunny in Paris." },
    ]
    const weather = functionTool({
      name: "get_weather",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    })
    const llm = llmFor({ tools: [weather] })
    const context = new ChatContext([{ role: "user", content: "Weather in Paris?" }])
    const first = await llm.chat(context).collect()
    expect(first.toolCalls).toEqual([
      {
        callId: "call_w1",
        name: "get_weather",
        arguments: { city: "Paris" },
        rawArguments: '{"city":"Paris"}',
      },
    ])
    expect(first.usage?.promptTokens).toBeGreaterThan(0)
    context.addOutput(first.output)
    context.addFunctionCallOutput("call_w1", { sky: "sunny" })
    const second = await llm.chat(context).collect()
    expect(second.text).toBe("It is sunny in Paris.")
    expect(second.usage?.cachedTokens).toBeGreaterThan(0)
    expect(creates()[1]?.payload).toMatchObject({
      input: [{ type: "function_call_output", call_id: "call_w1", output: '{"sky":"sunny"}' }],
    })
  })

  it("reports a tool call with invalid JSON arguments as an error chunk carrying the raw text", async () => {
    await start()
    sim.scenario.replies = [{ functionCall: { name: "f", arguments: "{not json", callId: "call_bad" } }]
    const llm = llmFor({ tools: [functionTool({ name: "f" })] })
    const chunks: ChatChunk[] = []
    for await (const chunk of llm.chat([{ role: "user", content: "x" }])) chunks.push(chunk)
    expect(chunks.find((c) => c.type === "error")).toMatchObject({
      reason: "InvalidToolArguments",
      callId: "call_bad",
      rawArguments: "{not json",
    })
    expect(chunks.some((c) => c.type === "tool_call")).toBe(false)
  })

  it("queues a second chat behind the first, or rejects it with whenBusy: reject", async () => {
    await start()
    const llm = llmFor()
    const a = llm.chat([{ role: "user", content: "a" }])
    const b = llm.chat([{ role: "user", content: "b" }])
    const [ta, tb] = await Promise.all([a.collect(), b.collect()])
    expect([ta.status, tb.status]).toEqual(["completed", "completed"])
    const strict = llmFor({ whenBusy: "reject" })
    const c = strict.chat([{ role: "user", content: "c" }])
    const { error } = await failureOf(strict.chat([{ role: "user", content: "d" }]))
    expect(error.reason._tag).toBe("Busy")
    expect((await c.collect()).status).toBe("completed")
  })

  it("fails a turn on a server error without retrying it", async () => {
    await start()
    sim.scenario.nextConnection("responses", {
      faults: [
        { type: "error", code: "server_error", errorType: "server_error", afterEvents: 2, shape: "flat" },
      ],
    })
    sim.scenario.replies = [{ text: "a long enough reply to be interrupted by the fault" }]
    const llm = llmFor()
    const { error } = await failureOf(llm.chat([{ role: "user", content: "x" }]))
    expect(error.reason).toMatchObject({ _tag: "Server", code: "server_error" })
    expect(creates()).toHaveLength(1)
  })

  it("sends system as developer and no temperature to a reasoning model, warning about the dropped option", async () => {
    await start()
    const warnings: string[] = []
    const llm = llmFor({
      model: "gpt-5-mini",
      temperature: 0.4,
      reasoningEffort: "low",
      verbosity: "low",
      onWarning: (w) => warnings.push(w),
    })
    const turn = await llm
      .chat([
        { role: "system", content: "Be brief." },
        { role: "user", content: "hi" },
      ])
      .collect()
    expect(turn.usage?.reasoningTokens).toBeGreaterThan(0)
    expect(warnings).toEqual([expect.stringMatching(/^temperature is not sent/)])
    const create = creates()[0]?.payload
    expect(create?.temperature).toBeUndefined()
    expect(create).toMatchObject({
      reasoning: { effort: "low" },
      text: { verbosity: "low" },
      input: [
        { type: "message", role: "developer", content: "Be brief." },
        { type: "message", role: "user", content: "hi" },
      ],
    })
  })

  it("talks to an Azure resource: /openai/v1/responses with an api-key and the deployment as model", async () => {
    await start()
    const llm = createLLM({
      openai: {
        azure: {
          endpoint: sim.httpUrl.replace(/\/v1$/, ""),
          apiKey: sim.apiKey ?? "",
          deployment: "chat-deploy",
        },
      },
      env: {},
    })
    llms.push(llm)
    expect(llm.model).toBe("chat-deploy")
    const turn = await llm.chat([{ role: "user", content: "hi" }]).collect()
    expect(turn.status).toBe("completed")
    const socket = responsesConnections()[0]
    expect(socket?.path).toBe("/openai/v1/responses")
    expect(socket?.headers["api-key"]).toBe(sim.apiKey)
    expect(socket?.headers.authorization).toBeUndefined()
    expect(creates()[0]?.payload.model).toBe("chat-deploy")
  })

  it.each([
    ["preview", "/openai/v1/responses?api-version=preview"],
    ["2025-04-01-preview", "/openai/responses?api-version=2025-04-01-preview"],
  ])("sends the Azure api-version %s on the Responses socket (%s)", async (apiVersion, path) => {
    await start()
    const llm = createLLM({
      openai: {
        azure: {
          endpoint: sim.httpUrl.replace(/\/v1$/, ""),
          apiKey: sim.apiKey ?? "",
          deployment: "chat-deploy",
          apiVersion,
        },
      },
      env: {},
    })
    llms.push(llm)
    const turn = await llm.chat([{ role: "user", content: "hi" }]).collect()
    expect(turn.status).toBe("completed")
    expect(responsesConnections().map((c) => c.path)).toEqual([path])
  })

  it("puts the sampling options, structured output, tools and the extra headers, query and body on the wire", async () => {
    await start()
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] }
    const weather = functionTool({
      name: "get_weather",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    })
    const llm = llmFor({
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 64,
      instructions: "Answer in JSON.",
      responseFormat: { name: "answer", schema, description: "One answer" },
      tools: [weather],
      toolChoice: { name: "get_weather" },
      parallelToolCalls: false,
      extraHeaders: { "x-trace": "abc" },
      extraQuery: { tenant: "t1" },
      extraBody: { metadata: { app: "voxstate" }, prompt_cache_key: "conv-1" },
    })
    await llm.chat([{ role: "user", content: "x" }]).collect()
    const socket = responsesConnections()[0]
    expect(socket?.headers["x-trace"]).toBe("abc")
    expect(socket?.path).toBe("/v1/responses?tenant=t1")
    expect(creates()[0]?.payload).toEqual({
      type: "response.create",
      model: "gpt-4.1-mini",
      store: false,
      instructions: "Answer in JSON.",
      temperature: 0.2,
      top_p: 0.9,
      max_output_tokens: 64,
      tools: [{ type: "function", name: "get_weather", parameters: weather.parameters, strict: false }],
      tool_choice: { type: "function", name: "get_weather" },
      parallel_tool_calls: false,
      text: {
        format: { type: "json_schema", name: "answer", schema, description: "One answer", strict: true },
      },
      metadata: { app: "voxstate" },
      prompt_cache_key: "conv-1",
      input: [{ type: "message", role: "user", content: "x" }],
    })
  })

  it("fails a chat and a prewarm at once when the chain actor was stopped from outside", async () => {
    await start()
    const llm = llmFor()
    llm.actor?.stop()
    const { error } = await failureOf(llm.chat([{ role: "user", content: "x" }]))
    expect(error).toMatchObject({ reason: { _tag: "Closed" }, retryable: false })
    await expect(llm.prewarm()).rejects.toMatchObject({ reason: { _tag: "Closed" } })
    expect(responsesConnections()).toHaveLength(0)
  })

  it("fails pending turns with Closed and closes the socket on close()", async () => {
    await start()
    sim.scenario.nextConnection("responses", { latency: { firstEventMs: 200 } })
    const llm = llmFor()
    const stream = llm.chat([{ role: "user", content: "x" }])
    await expect.poll(() => creates().length).toBe(1)
    await llm.close()
    const { error } = await failureOf(stream)
    expect(error.reason._tag).toBe("Closed")
    const { error: after } = await failureOf(llm.chat([{ role: "user", content: "y" }]))
    expect(after.reason._tag).toBe("Closed")
    // close() resolves once the socket is closed: the server has seen it go.
    await expect.poll(() => responsesConnections()[0]?.open, { timeout: 500 }).toBe(false)
  })
})

describe("Responses WebSocket LLM in virtual time", () => {
  const poll = (predicate: () => boolean) => Effect.promise(() => expect.poll(predicate).toBe(true))

  effectIt.effect("replaces its socket at an idle moment once it is older than rotateAfterMs", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => start())
      const llm = llmFor({ rotateAfterMs: 1_000, context: yield* Effect.context<RealtimeSocket>() })
      const context = new ChatContext([{ role: "user", content: "one" }])
      const first = yield* Effect.promise(() => llm.chat(context).collect())
      context.addOutput(first.output)
      yield* TestClock.adjust("999 millis")
      expect(responsesConnections()).toHaveLength(1)
      yield* TestClock.adjust("1 millis")
      // The old socket is closed normally and a new one opened, before any turn needs it.
      yield* poll(() => responsesConnections().length === 2 && responsesConnections()[0]?.open === false)
      expect(responsesConnections()[0]?.closeCode).toBe(1000)
      context.addUser("two")
      const second = yield* Effect.promise(() => llm.chat(context).collect())
      expect(second.status).toBe("completed")
      // store: false, so the new socket's cache is empty: the turn goes in full, on the new socket.
      const [old, fresh] = responsesConnections()
      expect(old?.received.map((e) => e.type)).toEqual(["response.create"])
      expect(fresh?.received.map((e) => e.type)).toEqual(["response.create"])
      const payload = fresh?.received[0]?.payload as Record<string, unknown>
      expect(payload.previous_response_id).toBeUndefined()
      expect(payload.input).toHaveLength(3)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  effectIt.effect(
    "waits out a WebSocket rate-limit refusal's retry-after-ms, then sends the request once more",
    () =>
      Effect.gen(function* () {
        yield* Effect.promise(() => start())
        sim.scenario.replies = [{ text: "after the wait" }]
        sim.scenario.nextConnection("responses", {
          faults: [
            {
              type: "refuse",
              onType: "response.create",
              code: "rate_limit_exceeded",
              status: 429,
              headers: { "retry-after-ms": "1500" },
            },
          ],
        })
        const llm = llmFor({ context: yield* Effect.context<RealtimeSocket>() })
        const done = llm.chat([{ role: "user", content: "hi" }]).collect()
        const refusalSent = () =>
          responsesConnections()[0]?.sent.some((e) => (e as { type?: string }).type === "error") === true
        yield* poll(refusalSent)
        yield* TestClock.adjust("1499 millis")
        // A few real macrotasks: a retry sent too early would have reached the simulator.
        yield* Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 20)))
        expect(creates()).toHaveLength(1)
        yield* TestClock.adjust("1 millis")
        const turn = yield* Effect.promise(() => done)
        expect(turn).toMatchObject({ status: "completed", text: "after the wait" })
        const [socket] = responsesConnections()
        expect(responsesConnections()).toHaveLength(1)
        expect(socket?.received.map((e) => e.refused === true)).toEqual([true, false])
        // The same request, sent once more.
        expect(creates()[1]?.payload).toEqual(creates()[0]?.payload)
      }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  effectIt.effect("does not rotate in the middle of a turn: the turn ends on its socket first", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => start())
      sim.scenario.nextConnection("responses", { latency: { betweenDeltasMs: 20 } })
      sim.scenario.replies = [{ text: "a reply long enough to still be streaming when the socket ages" }]
      const llm = llmFor({ rotateAfterMs: 1_000, context: yield* Effect.context<RealtimeSocket>() })
      const stream = llm.chat([{ role: "user", content: "talk" }])
      const iterator = stream[Symbol.asyncIterator]()
      const head = yield* Effect.promise(() => iterator.next())
      expect(head.value).toMatchObject({ type: "text" })
      yield* TestClock.adjust("1 second")
      let end: unknown
      for (;;) {
        const next = yield* Effect.promise(() => iterator.next())
        if (next.done === true) break
        end = next.value
      }
      expect(end).toMatchObject({ type: "end", status: "completed" })
      yield* poll(() => responsesConnections().length === 2)
      expect(responsesConnections()[0]?.received.map((e) => e.type)).toEqual(["response.create"])
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )
})
