/**
 * An agent as data: its instructions, its tools (each a function tool and the code that runs
 * it), an optional greeting and an `onEnter` hook run when it takes the conversation.
 * @module
 */
import { Schema } from "effect"
import type { ToolOutput } from "../../machines/agent/agentSession.ts"
import type { ChatItem, ChatItemInput } from "../../machines/responses/chatItems.ts"
import type { ToolCall } from "../../machines/responses/chunks.ts"
import { type FunctionTool, functionTool, type JsonSchema, schemaTool } from "../llm/tools.ts"

/** Options of a reply the application asks for. */
export interface ReplyOptions {
  /** Whether the caller can cut this reply off (default: the session's `allowInterruptions`). */
  readonly allowInterruptions?: boolean
}

/** How a reply the application asked for ended: the words the caller heard. */
export interface SpokenReply {
  readonly text: string
  /** Cut off (by the caller, `interrupt()`), or never spoken (the session closed first). */
  readonly interrupted: boolean
}

/** What an agent's code (its tools, its `onEnter`) can do with the session it runs in. */
export interface AgentControls {
  /** The conversation as the model sees it (an interrupted reply cut to the words heard). */
  readonly chatContext: readonly (ChatItem | ChatItemInput)[]
  /** The agent in charge now. */
  readonly agent: Agent
  /** Has the agent say `text` (no model turn), after what it is saying. */
  say(text: string, options?: ReplyOptions): void
  /** Has the model reply now, with `instructions` added for this reply. */
  generateReply(options?: ReplyOptions & { readonly instructions?: string }): void
  /** Stops the agent's reply now, whatever it allows; the chat keeps the words played. */
  interrupt(): void
  /** Hands the conversation to `agent` (its instructions and tools), keeping the chat; runs its `onEnter`. */
  updateAgent(agent: Agent): void
}

/** What a tool execution gets besides its arguments. */
export interface ToolContext {
  /** Aborted when the caller interrupts the turn (or the session closes): stop the work. */
  readonly signal: AbortSignal
  /** The session the tool runs in. */
  readonly session: AgentControls
}

/** A tool the agent may call: the model sees `tool`, the session runs `execute`. */
export interface AgentTool {
  readonly tool: FunctionTool
  /**
   * Runs the call with its decoded arguments; the result (or the thrown error's message, as
   * `{ error }`) goes back to the model as JSON.
   */
  readonly execute: (args: unknown, context: ToolContext) => unknown
}

/**
 * Defines a tool. `parameters` is an Effect Schema of the arguments object (arguments are
 * decoded with it, so `execute` gets typed values) or a JSON Schema (arguments are passed as
 * the model wrote them); none: no arguments.
 * @throws {LLMError} `InvalidRequest` for an invalid name or parameters that are not an object schema
 */
export const defineTool = <S extends Schema.Codec<unknown, unknown, never, never>>(definition: {
  readonly name: string
  readonly description?: string
  readonly parameters?: S | JsonSchema
  readonly execute: (args: S["Type"], context: ToolContext) => unknown
}): AgentTool => {
  const common = {
    name: definition.name,
    ...(definition.description === undefined ? {} : { description: definition.description }),
  }
  const parameters = definition.parameters
  const tool: FunctionTool =
    parameters !== undefined && Schema.isSchema(parameters)
      ? (schemaTool({ ...common, schema: parameters as S }) as FunctionTool)
      : functionTool({
          ...common,
          ...(parameters === undefined ? {} : { parameters: parameters as JsonSchema }),
        })
  return { tool, execute: definition.execute as AgentTool["execute"] }
}

/** An agent: what it is told, what it can do, what it says first, what it does on taking over. */
export interface Agent {
  readonly instructions: string
  readonly tools: readonly AgentTool[]
  readonly greeting?: string
  /**
   * Runs when the agent takes the conversation: at `start`, and on `session.updateAgent` (a
   * handoff), with the session (say a line, generate a reply). A thrown error or rejection
   * becomes the session's `error` event.
   */
  readonly onEnter?: (session: AgentControls) => void | Promise<void>
}

/**
 * Defines an agent.
 * @throws {TypeError} for two tools of one name
 */
export const defineAgent = (definition: {
  readonly instructions: string
  readonly tools?: readonly AgentTool[]
  readonly greeting?: string
  readonly onEnter?: (session: AgentControls) => void | Promise<void>
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
    ...(definition.onEnter === undefined ? {} : { onEnter: definition.onEnter }),
  }
}

/**
 * Runs a round of the model's tool calls with the agent's tools, all at once: each call's result,
 * or what the model should see instead (no such tool, arguments that do not decode, the error a
 * tool threw). `signal` is the tools' `signal` (aborted when the round is left).
 * @internal
 */
export const runToolCalls = (
  calls: readonly ToolCall[],
  tools: ReadonlyMap<string, AgentTool>,
  context: ToolContext,
): Promise<readonly ToolOutput[]> =>
  Promise.all(
    calls.map(async (call): Promise<ToolOutput> => {
      const answer = (output: unknown): ToolOutput => ({ callId: call.callId, name: call.name, output })
      const tool = tools.get(call.name)
      if (tool === undefined) return answer({ error: `No tool named ${call.name}` })
      const decoded = tool.tool.decode(call.arguments)
      if (!decoded.ok) return answer({ error: `Invalid arguments: ${decoded.message}` })
      try {
        return answer((await tool.execute(decoded.value, context)) ?? null)
      } catch (error) {
        return answer({ error: error instanceof Error ? error.message : String(error) })
      }
    }),
  )

/**
 * What an agent does on taking the conversation: says its greeting, then runs its `onEnter`
 * (a throw or rejection goes to `onError`).
 * @internal
 */
export const enterAgent = (agent: Agent, session: AgentControls, onError: (error: unknown) => void): void => {
  if (agent.greeting !== undefined) session.say(agent.greeting)
  if (agent.onEnter === undefined) return
  try {
    void Promise.resolve(agent.onEnter(session)).catch(onError)
  } catch (error) {
    onError(error)
  }
}
