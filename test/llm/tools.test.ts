import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { isLLMError } from "../../src/llm/LLMError.ts"
import {
  functionTool,
  schemaTool,
  strictJsonSchema,
  toChatCompletionTool,
  toChatCompletionToolChoice,
  toResponsesTool,
  toResponsesToolChoice,
} from "../../src/llm/tools.ts"

describe("function tools", () => {
  it("derives the JSON Schema of a tool from an Effect Schema, strict by default", () => {
    const tool = schemaTool({
      name: "book_table",
      description: "Books a table",
      schema: Schema.Struct({
        restaurant: Schema.String.annotate({ description: "Restaurant name" }),
        guests: Schema.Int,
        note: Schema.optional(Schema.String),
      }),
    })
    expect(tool.strict).toBe(true)
    expect(tool.parameters).toMatchObject({
      type: "object",
      additionalProperties: false,
      required: ["restaurant", "guests", "note"],
      properties: {
        restaurant: { type: "string", description: "Restaurant name" },
        guests: { type: "integer" },
        note: { anyOf: [{ type: "string" }, { type: "null" }] },
      },
    })
  })

  it("decodes the model's arguments with the schema, null standing for a missing optional", () => {
    const tool = schemaTool({
      name: "book_table",
      schema: Schema.Struct({ guests: Schema.Finite, note: Schema.optional(Schema.String) }),
    })
    expect(tool.decode({ guests: 2, note: null })).toEqual({
      ok: true,
      value: { guests: 2, note: undefined },
    })
    const bad = tool.decode({ guests: "two" })
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.message).toContain("guests")
  })

  it("rejects a schema that is not an object and a bad tool name", () => {
    for (const make of [
      () => schemaTool({ name: "n", schema: Schema.String }),
      () => functionTool({ name: "has space" }),
      () => functionTool({ name: "x".repeat(65) }),
    ]) {
      let caught: unknown
      try {
        make()
      } catch (error) {
        caught = error
      }
      expect(isLLMError(caught) && caught.reason._tag).toBe("InvalidRequest")
    }
  })

  it("closes nested objects in strict mode", () => {
    const strict = strictJsonSchema({
      type: "object",
      properties: {
        address: { type: "object", properties: { city: { type: "string" } } },
        tags: { type: "array", items: { type: "object", properties: { k: { type: "string" } } } },
      },
    })
    expect(strict).toMatchObject({
      additionalProperties: false,
      required: ["address", "tags"],
      properties: {
        address: { additionalProperties: false, required: ["city"] },
        tags: { items: { additionalProperties: false, required: ["k"] } },
      },
    })
  })

  it("has a flat Responses shape and a nested chat-completions shape", () => {
    const tool = functionTool({
      name: "ping",
      description: "Pings",
      parameters: { type: "object", properties: {} },
    })
    expect(toResponsesTool(tool)).toEqual({
      type: "function",
      name: "ping",
      description: "Pings",
      parameters: { type: "object", properties: {} },
      strict: false,
    })
    expect(toChatCompletionTool(tool)).toEqual({
      type: "function",
      function: {
        name: "ping",
        description: "Pings",
        parameters: { type: "object", properties: {} },
        strict: false,
      },
    })
    expect(toResponsesToolChoice({ name: "ping" })).toEqual({ type: "function", name: "ping" })
    expect(toChatCompletionToolChoice({ name: "ping" })).toEqual({
      type: "function",
      function: { name: "ping" },
    })
    expect(toResponsesToolChoice("required")).toBe("required")
  })
})
