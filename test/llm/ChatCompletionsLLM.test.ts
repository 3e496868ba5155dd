import { afterEach, describe, expect, it } from "vitest"
import type { ChatChunk } from "../../machines/responses/chunks.ts"
import { ChatContext } from "../../src/llm/ChatContext.ts"
import { type CreateLLMOptions, createLLM, type LLM } from "../../src/llm/LLM.ts"
import { isLLMError, type LLMError } from "../../src/llm/LLMError.ts"
import { functionTool } from "../../src/llm/tools.ts"
import { type Simulator, type SimulatorOptions, startSimulator } from "../../src/simulator/index.ts"

let sim: Simulator
const llms: LLM[] = []

const start = async (options: SimulatorOptions = {}) => {
  sim = await startSimulator(options)
}

const httpLLM = (options: CreateLLMOptions = {}): LLM => {
  const llm = createLLM({
    transport: "http",
    openai: { apiKey: sim.apiKey ?? "sk-simulator", baseUrl: sim.httpUrl },
    env: {},
    onWarning: () => undefined,
    ...options,
  })
  llms.push(llm)
  return llm
}

/** Chat-completions requests the simulator received, with their paths and headers. */
const requests = () =>
  sim.connections
    .filter((c) => c.kind === "http" && c.path.includes("/chat/completions"))
    .map((c) => ({
      path: c.path,
      headers: c.headers,
      body: c.received.find((e) => e.payload !== null)?.payload as Record<string, unknown>,
    }))

const failureOf = async (stream: AsyncIterable<ChatChunk>): Promise<LLMError> => {
  try {
    for await (const _ of stream) {
      // drained
    }
  } catch (error) {
    if (isLLMError(error)) return error
    throw error
  }
  throw new Error("the stream did not fail")
}

const weather = functionTool({
  name: "get_weather",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
})

afterEach(async () => {
  await Promise.all(llms.splice(0).map((llm) => llm.close()))
  await sim.close()
})

describe("HTTP chat completions LLM against the simulator", () => {
  it("streams text, then usage, then the end with the completion id", async () => {
    await start()
    sim.scenario.replies = [{ text: "Hello there, how can I help?" }]
    const llm = httpLLM()
    const chunks: ChatChunk[] = []
    for await (const chunk of llm.chat([{ role: "user", content: "hi" }])) chunks.push(chunk)
    const text = chunks.flatMap((c) => (c.type === "text" ? [c.delta] : [])).join("")
    expect(text).toBe("Hello there, how can I help?")
    expect(chunks.filter((c) => c.type === "text").length).toBeGreaterThan(1)
    const usage = chunks.find((c) => c.type === "usage")
    expect(usage?.type === "usage" && usage.usage.promptTokens).toBeGreaterThan(0)
    expect(chunks.at(-1)).toMatchObject({
      type: "end",
      status: "completed",
      responseId: expect.stringMatching(/^chatcmpl-/),
      output: [{ type: "message", role: "assistant", content: "Hello there, how can I help?" }],
    })
    expect(requests()[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
  })

  it("accumulates tool-call fragments by index and dispatches each call once with parsed arguments", async () => {
    await start()
    sim.scenario.replies = [
      {
        functionCall: { name: "get_weather", arguments: '{"city":"Reykjavik, Iceland"}', callId: "call_h1" },
      },
      { text: "Cold." },
    ]
    const llm = httpLLM({ tools: [weather] })
    const context = new ChatContext([{ role: "user", content: "Weather in Reykjavik?" }])
    const first = await llm.chat(context).collect()
    expect(first.toolCalls).toEqual([
      {
        callId: "call_h1",
        name: "get_weather",
        arguments: { city: "Reykjavik, Iceland" },
        rawArguments: '{"city":"Reykjavik, Iceland"}',
      },
    ])
    expect(first.usage?.completionTokens).toBeGreaterThan(0)
    context.addOutput(first.output)
    context.addFunctionCallOutput("call_h1", "-3°C")
    const second = await llm.chat(context).collect()
    expect(second.text).toBe("Cold.")
    expect(requests()[0]?.body.tools).toEqual([
      { type: "function", function: { name: "get_weather", parameters: weather.parameters, strict: false } },
    ])
    expect(requests()[1]?.body.messages).toEqual([
      { role: "user", content: "Weather in Reykjavik?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_h1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Reykjavik, Iceland"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_h1", content: "-3°C" },
    ])
  })

  it("reports tool-call arguments that are not JSON as an error chunk with the raw text", async () => {
    await start()
    sim.scenario.replies = [{ functionCall: { name: "get_weather", arguments: "{city:", callId: "call_x" } }]
    const llm = httpLLM({ tools: [weather] })
    const turn = await llm.chat([{ role: "user", content: "?" }]).collect()
    expect(turn.toolCalls).toEqual([])
    expect(turn.invalidToolCalls).toMatchObject([
      { callId: "call_x", name: "get_weather", arguments: "{city:" },
    ])
  })

  it("cancels a request in flight through an AbortSignal", async () => {
    await start()
    sim.scenario.nextHttp("chat", { status: 200, delayMs: 5_000, body: {} })
    const llm = httpLLM()
    const controller = new AbortController()
    const stream = llm.chat([{ role: "user", content: "slow" }], { signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    const turn = await stream.collect()
    expect(turn.status).toBe("cancelled")
  })

  it("cancels mid-stream: nothing after the cancel but the cancelled end", async () => {
    await start()
    sim.scenario.replies = [{ text: "one two three four five six seven eight nine ten" }]
    const llm = httpLLM()
    const stream = llm.chat([{ role: "user", content: "count" }])
    const seen: ChatChunk[] = []
    for await (const chunk of stream) {
      seen.push(chunk)
      if (chunk.type === "text") stream.cancel()
    }
    expect(seen.map((c) => c.type)).toEqual(["text", "end"])
    expect(seen[1]).toMatchObject({ type: "end", status: "cancelled" })
  })

  it("fails a request in flight with Closed on close(), and refuses new turns", async () => {
    await start()
    sim.scenario.nextHttp("chat", { status: 200, delayMs: 5_000, body: {} })
    const llm = httpLLM()
    const stream = llm.chat([{ role: "user", content: "slow" }])
    await llm.close()
    expect((await failureOf(stream)).reason._tag).toBe("Closed")
    expect((await failureOf(llm.chat([{ role: "user", content: "x" }]))).reason._tag).toBe("Closed")
  })

  const rateLimited = (headers: Record<string, string> = {}, code = "rate_limit_exceeded") => ({
    status: 429,
    headers,
    body: { error: { message: "Slow down", type: "requests", code, param: null } },
  })

  it("retries a rate-limited request once after the delay the service names, then streams", async () => {
    await start()
    sim.scenario.nextHttp("chat", rateLimited({ "retry-after-ms": "30" }))
    sim.scenario.replies = [{ text: "After the wait." }]
    const llm = httpLLM()
    const turn = await llm.chat([{ role: "user", content: "x" }]).collect()
    expect(turn).toMatchObject({ status: "completed", text: "After the wait." })
    expect(requests()).toHaveLength(2)
    expect(requests()[1]?.body).toMatchObject({ messages: [{ role: "user", content: "x" }], stream: true })
  })

  it("fails with a Server error carrying the HTTP status when the retry is rate limited too", async () => {
    await start()
    sim.scenario.nextHttp("chat", rateLimited())
    sim.scenario.nextHttp("chat", rateLimited({ "retry-after": "7" }))
    const llm = httpLLM({ rateLimitWaitMs: 5 })
    const error = await failureOf(llm.chat([{ role: "user", content: "x" }]))
    expect(error.reason).toMatchObject({
      _tag: "Server",
      status: 429,
      code: "rate_limit_exceeded",
      retryAfterMs: 7_000,
    })
    expect(error).toMatchObject({ retryable: true, attempts: 2 })
    expect(requests()).toHaveLength(2)
  })

  it("does not wait out a delay longer than rateLimitMaxWaitMs, nor retry an exhausted quota", async () => {
    await start()
    sim.scenario.nextHttp("chat", rateLimited({ "retry-after-ms": "60000" }))
    const llm = httpLLM({ rateLimitMaxWaitMs: 1_000 })
    const error = await failureOf(llm.chat([{ role: "user", content: "x" }]))
    expect(error.reason).toMatchObject({ code: "rate_limit_exceeded", retryAfterMs: 60_000 })
    expect(error.attempts).toBe(1)
    expect(requests()).toHaveLength(1)

    sim.scenario.nextHttp("chat", rateLimited({ "retry-after-ms": "1" }, "insufficient_quota"))
    const quota = await failureOf(llm.chat([{ role: "user", content: "y" }]))
    expect(quota).toMatchObject({
      reason: { _tag: "Server", status: 429, code: "insufficient_quota" },
      retryable: false,
      attempts: 1,
    })
    expect(requests()).toHaveLength(2)
  })

  it("ends a turn cancelled during the rate-limit wait without a second request", async () => {
    await start()
    sim.scenario.nextHttp("chat", rateLimited({ "retry-after-ms": "5000" }))
    const llm = httpLLM()
    const stream = llm.chat([{ role: "user", content: "x" }])
    await expect.poll(() => requests().length).toBe(1)
    stream.cancel()
    const turn = await stream.collect()
    expect(turn.status).toBe("cancelled")
    expect(requests()).toHaveLength(1)
  })

  it("fails with a Server error carrying the status of a refusal it does not retry", async () => {
    await start()
    sim.scenario.nextHttp("chat", {
      status: 400,
      body: {
        error: { message: "Bad", type: "invalid_request_error", code: "invalid_value", param: "model" },
      },
    })
    const llm = httpLLM()
    const error = await failureOf(llm.chat([{ role: "user", content: "x" }]))
    expect(error).toMatchObject({
      reason: { _tag: "Server", status: 400, code: "invalid_value" },
      retryable: false,
      attempts: 1,
    })
    expect(requests()).toHaveLength(1)
  })

  it("uses the developer role and drops temperature for reasoning models, saying so", async () => {
    await start()
    const warnings: string[] = []
    const llm = httpLLM({
      model: "o4-mini",
      temperature: 0.3,
      reasoningEffort: "low",
      onWarning: (w) => warnings.push(w),
    })
    const turn = await llm
      .chat([
        { role: "system", content: "Be brief." },
        { role: "user", content: "hi" },
      ])
      .collect()
    expect(turn.status).toBe("completed")
    expect(turn.usage?.reasoningTokens).toBeGreaterThan(0)
    expect(warnings.some((w) => w.startsWith("temperature"))).toBe(true)
    const body = requests()[0]?.body
    expect(body?.temperature).toBeUndefined()
    expect(body?.reasoning_effort).toBe("low")
    expect(body?.messages).toEqual([
      { role: "developer", content: "Be brief." },
      { role: "user", content: "hi" },
    ])
  })

  it("sends the sampling options, structured output and extra headers, query and body", async () => {
    await start()
    const llm = httpLLM({
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 64,
      frequencyPenalty: 0.1,
      presencePenalty: 0.2,
      seed: 7,
      responseFormat: { name: "answer", schema: { type: "object", properties: { a: { type: "string" } } } },
      extraHeaders: { "x-trace": "abc" },
      extraQuery: { tenant: "t1" },
      extraBody: { user: "u-1" },
      instructions: "Answer in JSON.",
    })
    await llm.chat([{ role: "user", content: "x" }]).collect()
    const request = requests()[0]
    expect(request?.body).toMatchObject({
      temperature: 0.2,
      top_p: 0.9,
      max_completion_tokens: 64,
      frequency_penalty: 0.1,
      presence_penalty: 0.2,
      seed: 7,
      user: "u-1",
      response_format: { type: "json_schema", json_schema: { name: "answer", strict: true } },
      messages: [
        { role: "system", content: "Answer in JSON." },
        { role: "user", content: "x" },
      ],
    })
    expect(request?.headers["x-trace"]).toBe("abc")
    expect(request?.path).toContain("tenant=t1")
  })

  it("talks to an Azure resource with an api-key header and the deployment as model", async () => {
    await start()
    const llm = createLLM({
      transport: "http",
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
    const turn = await llm.chat([{ role: "user", content: "hi" }]).collect()
    expect(turn.status).toBe("completed")
    const request = requests()[0]
    expect(request?.path).toMatch(/^\/openai\/v1\/chat\/completions/)
    expect(request?.headers["api-key"]).toBe(sim.apiKey)
    expect(request?.headers.authorization).toBeUndefined()
    expect(request?.body.model).toBe("chat-deploy")
  })

  it("ends with status incomplete when the completion hits the token limit", async () => {
    await start()
    sim.scenario.replies = [{ text: "one two three four five six seven eight nine ten eleven twelve" }]
    const llm = httpLLM({ maxOutputTokens: 2 })
    const turn = await llm.chat([{ role: "user", content: "count" }]).collect()
    expect(turn).toMatchObject({ status: "incomplete", reason: "max_output_tokens" })
  })
})
