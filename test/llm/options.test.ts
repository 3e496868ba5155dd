import { describe, expect, it } from "vitest"
import {
  chatCompletionParams,
  isReasoningModel,
  resolveLLMOptions,
  resolveTransportLLMOptions,
  responsesParams,
} from "../../src/llm/options.ts"
import { functionTool } from "../../src/llm/tools.ts"
import { resolveOpenAIConfig } from "../../src/transport/index.ts"

describe("LLM options", () => {
  it("recognizes the reasoning models", () => {
    for (const m of ["o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "GPT-5-nano"]) {
      expect(isReasoningModel(m)).toBe(true)
    }
    for (const m of ["gpt-4.1-mini", "gpt-4o", "gpt-5-chat-latest", "omni"])
      expect(isReasoningModel(m)).toBe(false)
  })

  it("drops sampling options for reasoning models and says so", () => {
    const resolved = resolveLLMOptions({
      model: "gpt-5",
      temperature: 0.5,
      topP: 0.9,
      reasoningEffort: "low",
    })
    expect(resolved.temperature).toBeUndefined()
    expect(resolved.topP).toBeUndefined()
    expect(resolved.reasoningEffort).toBe("low")
    expect(resolved.warnings).toHaveLength(2)
    expect(resolved.warnings[0]).toMatch(/^temperature is not sent: gpt-5 is a reasoning model/)
  })

  it("drops reasoning options for other models, and penalties and seed on the Responses API", () => {
    const resolved = resolveLLMOptions({
      model: "gpt-4.1",
      reasoningEffort: "high",
      verbosity: "low",
      seed: 1,
      frequencyPenalty: 0.5,
    })
    expect(resolved.warnings).toHaveLength(4)
    const http = resolveLLMOptions({ model: "gpt-4.1", transport: "http", seed: 1, frequencyPenalty: 0.5 })
    expect(http.warnings).toEqual([])
    expect(http.seed).toBe(1)
  })

  it("keeps verbosity for gpt-5 models and drops it for the o-series, saying so", () => {
    expect(resolveLLMOptions({ model: "gpt-5-mini", verbosity: "low" }).verbosity).toBe("low")
    const o3 = resolveLLMOptions({ model: "o3", verbosity: "low", reasoningEffort: "high" })
    expect(o3.verbosity).toBeUndefined()
    expect(o3.reasoningEffort).toBe("high")
    expect(o3.warnings).toEqual([expect.stringMatching(/^verbosity is not sent: o3 does not take it/)])
  })

  it("builds response.create parameters with tools, structured output and extra body last", () => {
    const tool = functionTool({ name: "f" })
    const resolved = resolveLLMOptions({
      model: "gpt-5",
      instructions: "Be brief.",
      maxOutputTokens: 100,
      reasoningEffort: "minimal",
      verbosity: "low",
      responseFormat: { name: "out", schema: { type: "object" } },
      parallelToolCalls: false,
      toolChoice: { name: "f" },
      store: true,
      extraBody: { metadata: { a: "1" }, store: false },
    })
    expect(responsesParams(resolved, { tools: [tool] })).toEqual({
      model: "gpt-5",
      store: false,
      instructions: "Be brief.",
      max_output_tokens: 100,
      tools: [{ type: "function", name: "f", parameters: { type: "object", properties: {} }, strict: false }],
      tool_choice: { type: "function", name: "f" },
      parallel_tool_calls: false,
      reasoning: { effort: "minimal" },
      text: {
        format: { type: "json_schema", name: "out", schema: { type: "object" }, strict: true },
        verbosity: "low",
      },
      metadata: { a: "1" },
    })
  })

  it("takes the Azure deployment as the default model and reports what the transport drops", () => {
    const azure = resolveOpenAIConfig(
      { azure: { endpoint: "https://r.openai.azure.com", apiKey: "k", deployment: "chat-deploy" } },
      {},
    )
    const warnings: string[] = []
    const onWarning = (w: string) => warnings.push(w)
    const ws = resolveTransportLLMOptions({ seed: 7, onWarning }, "websocket", azure)
    expect(ws.model).toBe("chat-deploy")
    expect(ws.seed).toBeUndefined()
    expect(warnings).toEqual([expect.stringMatching(/^seed is not sent: the Responses API/)])
    const http = resolveTransportLLMOptions({ model: "gpt-4o", seed: 7, onWarning }, "http", azure)
    expect([http.model, http.seed, warnings.length]).toEqual(["gpt-4o", 7, 1])
    expect(resolveTransportLLMOptions({}, "http", undefined).model).toBe("gpt-4.1-mini")
  })

  it("leaves tool_choice out when there are no tools", () => {
    const resolved = resolveLLMOptions({ toolChoice: "required" })
    expect(responsesParams(resolved)).not.toHaveProperty("tool_choice")
    expect(chatCompletionParams(resolved, [])).not.toHaveProperty("tool_choice")
  })
})
