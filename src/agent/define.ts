/**
 * An agent as data: its instructions, its tools (each a function tool and the code that runs
 * it), an optional greeting.
 * @module
 */
import { type FunctionTool, functionTool, type JsonSchema } from "../llm/tools.ts"

/** A tool the agent may call: the model sees `tool`, the session runs `execute`. */
export interface AgentTool {
  readonly tool: FunctionTool
  /** Runs the call with its parsed arguments; the result is sent back to the model (JSON). */
  readonly execute: (args: unknown) => unknown
}

/** Defines a tool; `parameters` is a JSON Schema of the arguments object. */
export const defineTool = (definition: {
  readonly name: string
  readonly description?: string
  readonly parameters?: JsonSchema
  readonly execute: (args: unknown) => unknown
}): AgentTool => ({
  tool: functionTool({
    name: definition.name,
    ...(definition.description === undefined ? {} : { description: definition.description }),
    ...(definition.parameters === undefined ? {} : { parameters: definition.parameters }),
  }),
  execute: definition.execute,
})

/** An agent: what it is told, what it can do, what it says first. */
export interface Agent {
  readonly instructions: string
  readonly tools: readonly AgentTool[]
  readonly greeting?: string
}

/**
 * Defines an agent.
 * @throws {TypeError} for two tools of one name
 */
export const defineAgent = (definition: {
  readonly instructions: string
  readonly tools?: readonly AgentTool[]
  readonly greeting?: string
}): Agent => {
  const tools = definition.tools ?? []
  const names = new Set<string>()
  for (const t of tools) {
    if (names.has(t.tool.name)) throw new TypeError(`Two tools are named ${t.tool.name}`)
    names.add(t.tool.name)
  }
  return {
    instructions: definition.instructions,
    tools,
    ...(definition.greeting === undefined ? {} : { greeting: definition.greeting }),
  }
}
