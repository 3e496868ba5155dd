import type { ChatItem } from "./chatItems.ts"

/**
 * What a `chat()` stream yields, on both transports: text deltas, tool calls (each once,
 * arguments parsed), an error chunk for tool-call arguments that are not JSON, the token
 * usage, and the end of the turn.
 * @module
 */

/** Token counts of one response. */
export interface TokenUsage {
  /** Input tokens, the cached ones included. */
  readonly promptTokens: number
  /** Output tokens, the reasoning ones included. */
  readonly completionTokens: number
  readonly totalTokens: number
  /** Input tokens served from the prompt cache. */
  readonly cachedTokens: number
  /** Output tokens spent on reasoning (reasoning models). */
  readonly reasoningTokens: number
}

/** A tool call the model made, with its arguments parsed from JSON. */
export interface ToolCall {
  /** Pairs the call with its output (`call_id`). */
  readonly callId: string
  readonly name: string
  /** The parsed arguments (`{}` when the model sent none). */
  readonly arguments: unknown
  /** The JSON text as the model wrote it. */
  readonly rawArguments: string
}

/** How a turn ended: fully, cut short by the service (`reason` says why), or cancelled by the caller. */
export type ChatEndStatus = "completed" | "incomplete" | "cancelled"

/** One piece of a chat stream. */
export type ChatChunk =
  /** A piece of the assistant's reply text. */
  | { readonly type: "text"; readonly delta: string }
  /** A complete tool call; dispatched once per call. */
  | { readonly type: "tool_call"; readonly call: ToolCall }
  /**
   * A tool call that cannot be run as it is: `InvalidToolArguments` (arguments that are not
   * valid JSON; `rawArguments` is the text as the model wrote it) or `UnknownTool` (a name
   * that is not among the turn's tools). The call is still part of the turn's `output` (so
   * the chain stays valid); answer it with a function output that says what was wrong.
   */
  | {
      readonly type: "error"
      readonly reason: "InvalidToolArguments" | "UnknownTool"
      readonly callId: string
      readonly name: string
      readonly rawArguments: string
      readonly message: string
    }
  /** Token usage of the response (before `end`; absent when the service sent none). */
  | { readonly type: "usage"; readonly usage: TokenUsage }
  /**
   * The last chunk. `responseId` is the service's id of the response (a chat completion id on
   * the HTTP transport), absent when the turn was cancelled before the service named it.
   * `output` holds the assistant message and function calls of the turn, in the model's
   * order: append them to the context (`context.addOutput(end.output)`) to continue.
   */
  | {
      readonly type: "end"
      readonly responseId: string | undefined
      readonly status: ChatEndStatus
      /** Why the response is `incomplete` (`max_output_tokens`, `content_filter`, ...). */
      readonly reason?: string
      readonly output: readonly ChatItem[]
    }

/**
 * Parses tool-call arguments. Empty text is `{}`; text that is not JSON returns the
 * parser's message instead.
 */
export const parseToolArguments = (
  raw: string,
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string } => {
  if (raw.trim().length === 0) return { ok: true, value: {} }
  try {
    return { ok: true, value: JSON.parse(raw) as unknown }
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) }
  }
}

/** The chunk for a finished function call: a `tool_call`, or an `error` chunk when its arguments are not JSON. */
export const toolCallChunk = (call: {
  readonly callId: string
  readonly name: string
  readonly arguments: string
}): ChatChunk => {
  const parsed = parseToolArguments(call.arguments)
  return parsed.ok
    ? {
        type: "tool_call",
        call: { callId: call.callId, name: call.name, arguments: parsed.value, rawArguments: call.arguments },
      }
    : {
        type: "error",
        reason: "InvalidToolArguments",
        callId: call.callId,
        name: call.name,
        rawArguments: call.arguments,
        message: `Arguments of ${call.name} (${call.callId}) are not valid JSON: ${parsed.message}`,
      }
}
