import { Exit, Schema } from "effect"
import type {
  ChatCompletionFunctionTool,
  ChatCompletionToolChoiceOption,
} from "openai/resources/chat/completions/completions"
import type {
  FunctionTool as ResponsesFunctionTool,
  ToolChoiceFunction,
  ToolChoiceOptions,
} from "openai/resources/responses/responses"
import { invalidRequest } from "./LLMError.ts"

/**
 * Function tools: a name, a description and a JSON Schema of the arguments, written by hand
 * ({@link functionTool}) or derived from an Effect Schema ({@link schemaTool}), and their two
 * wire shapes (flat on the Responses API, nested under `function` on chat completions).
 * @module
 */

/** A JSON Schema object (draft 2020-12 as far as OpenAI reads it). */
export type JsonSchema = { readonly [key: string]: unknown }

/** The outcome of decoding tool arguments. */
export type DecodeResult<A> =
  | { readonly ok: true; readonly value: A }
  | { readonly ok: false; readonly message: string }

/** A function the model may call. */
export interface FunctionTool<A = unknown> {
  readonly type: "function"
  /** a-z, A-Z, 0-9, `_` and `-`, at most 64 characters. */
  readonly name: string
  readonly description?: string
  /** JSON Schema of the arguments object. */
  readonly parameters: JsonSchema
  /**
   * Strict mode: the model's arguments always match `parameters`. Needs
   * `additionalProperties: false` and every property required ({@link strictJsonSchema}
   * makes a schema so).
   */
  readonly strict: boolean
  /**
   * Checks parsed arguments against the tool's schema (a tool from {@link schemaTool} decodes
   * with the Effect Schema; a hand-written one accepts any object).
   */
  readonly decode: (args: unknown) => DecodeResult<A>
}

/** Which tool the model must use: any or none (`auto`), none, at least one, or the one named. */
export type ToolChoice = "auto" | "none" | "required" | { readonly name: string }

const NAME = /^[A-Za-z0-9_-]{1,64}$/

const checkName = (name: string): void => {
  if (!NAME.test(name)) {
    throw invalidRequest(
      `Invalid tool name ${JSON.stringify(name)}: use 1-64 characters from a-z, A-Z, 0-9, _ and -`,
    )
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The schema in OpenAI's strict form: every object closed (`additionalProperties: false`) and
 * every property required. Optional properties must then accept `null` to stay optional in
 * meaning (Effect's JSON Schema already writes `Schema.optional(X)` as `anyOf: [X, null]`).
 * Nested objects, array items, `anyOf`/`oneOf`/`allOf` branches and `$defs` are rewritten too.
 */
export const strictJsonSchema = (schema: JsonSchema): JsonSchema => {
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit)
    if (!isRecord(node)) return node
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) {
      if (key === "properties" && isRecord(value)) {
        out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visit(v)]))
      } else if (key === "$defs" && isRecord(value)) {
        out.$defs = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visit(v)]))
      } else if (["items", "anyOf", "oneOf", "allOf", "prefixItems", "not"].includes(key)) {
        out[key] = visit(value)
      } else {
        out[key] = value
      }
    }
    if (node.type === "object" || isRecord(node.properties)) {
      out.additionalProperties = false
      out.required = Object.keys(isRecord(node.properties) ? node.properties : {})
    }
    return out
  }
  return visit(schema) as JsonSchema
}

/**
 * A tool from a hand-written JSON Schema. `parameters` defaults to an object with no
 * properties. With `strict: true` the schema is passed through {@link strictJsonSchema}.
 * @throws {LLMError} `InvalidRequest` for an invalid name or a `parameters` that is not an object schema.
 */
export const functionTool = (definition: {
  readonly name: string
  readonly description?: string
  readonly parameters?: JsonSchema
  readonly strict?: boolean
}): FunctionTool => {
  checkName(definition.name)
  const parameters = definition.parameters ?? { type: "object", properties: {} }
  if (!isRecord(parameters))
    throw invalidRequest(`Tool ${definition.name}: parameters must be a JSON Schema object`)
  const strict = definition.strict ?? false
  return {
    type: "function",
    name: definition.name,
    ...(definition.description === undefined ? {} : { description: definition.description }),
    parameters: strict ? strictJsonSchema(parameters) : parameters,
    strict,
    decode: (args) =>
      isRecord(args) ? { ok: true, value: args } : { ok: false, message: "arguments must be a JSON object" },
  }
}

/**
 * A tool whose arguments are described by an Effect Schema (a `Schema.Struct`): its JSON
 * Schema comes from `Schema.toJsonSchemaDocument` (definitions inlined as `$defs`), and
 * `decode` checks the model's arguments with the schema's JSON codec, so a tool handler gets
 * typed values. `strict` defaults to true (see {@link strictJsonSchema}). Prefer
 * `Schema.Finite` or `Schema.Int` to `Schema.Number` for numbers: the JSON form of
 * `Schema.Number` also admits the strings `"NaN"` and `"Infinity"`.
 * @throws {LLMError} `InvalidRequest` for an invalid name or a schema that is not an object.
 */
export const schemaTool = <S extends Schema.Codec<unknown, unknown, never, never>>(definition: {
  readonly name: string
  readonly description?: string
  readonly schema: S
  readonly strict?: boolean
}): FunctionTool<S["Type"]> => {
  checkName(definition.name)
  const strict = definition.strict ?? true
  const document = Schema.toJsonSchemaDocument(definition.schema, strict ? { onExcessProperty: "error" } : {})
  const root = document.schema as JsonSchema
  if (root.type !== "object") {
    throw invalidRequest(
      `Tool ${definition.name}: the schema must describe an object, got ${String(root.type)}`,
    )
  }
  const definitions = document.definitions as Record<string, unknown>
  const withDefs: JsonSchema = Object.keys(definitions).length === 0 ? root : { ...root, $defs: definitions }
  const decodeExit = Schema.decodeUnknownExit(Schema.toCodecJson(definition.schema))
  return {
    type: "function",
    name: definition.name,
    ...(definition.description === undefined ? {} : { description: definition.description }),
    parameters: strict ? strictJsonSchema(withDefs) : withDefs,
    strict,
    decode: (args) => {
      const exit = decodeExit(args)
      if (Exit.isSuccess(exit)) return { ok: true, value: exit.value as S["Type"] }
      const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
      return {
        ok: false,
        message:
          failure !== undefined && failure._tag === "Fail" ? failure.error.message : "invalid arguments",
      }
    },
  }
}

/** The tool in the Responses API shape: `{type:'function', name, description, parameters, strict}`. */
export const toResponsesTool = (tool: FunctionTool): ResponsesFunctionTool => ({
  type: "function",
  name: tool.name,
  ...(tool.description === undefined ? {} : { description: tool.description }),
  parameters: tool.parameters as Record<string, unknown>,
  strict: tool.strict,
})

/** The tool in the chat-completions shape: `{type:'function', function:{name, description, parameters, strict}}`. */
export const toChatCompletionTool = (tool: FunctionTool): ChatCompletionFunctionTool => ({
  type: "function",
  function: {
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    parameters: tool.parameters as Record<string, unknown>,
    strict: tool.strict,
  },
})

/** A tool choice in the Responses API shape. */
export const toResponsesToolChoice = (choice: ToolChoice): ToolChoiceOptions | ToolChoiceFunction =>
  typeof choice === "string" ? choice : { type: "function", name: choice.name }

/** A tool choice in the chat-completions shape. */
export const toChatCompletionToolChoice = (choice: ToolChoice): ChatCompletionToolChoiceOption =>
  typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } }
