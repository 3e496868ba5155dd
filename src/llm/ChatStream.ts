import type { ChatChunk, TokenUsage, ToolCall } from "../../machines/responses/chunks.ts"
import { type Channel, createChannel } from "../runtime/channel.ts"
import type { FunctionCallItem } from "./ChatContext.ts"
import type { ChatStream, ChatTurn } from "./contract.ts"
import { LLMError } from "./LLMError.ts"

/**
 * The plumbing behind every {@link ChatStream}: the runtime's channel, which a transport
 * fills (chunks, then an `end` chunk or a failure) and the caller drains with `for await`.
 * @module
 */

/**
 * The producer side of a chat stream.
 * @internal
 */
export interface ChatSink {
  /** Adds a chunk; an `end` chunk finishes the stream. Ignored once finished. */
  push(chunk: ChatChunk): void
  /** Finishes the stream with an error, thrown after the chunks already buffered. Ignored once finished. */
  fail(error: LLMError): void
  /** True once an `end` chunk or a failure was pushed. */
  readonly finished: boolean
}

/**
 * Creates a chat stream and its sink. `cancel` is called (at most once) when the caller
 * cancels the stream or stops iterating before the end; the transport then ends the stream
 * with a `cancelled` end chunk (or stops it). `detach` runs once when the stream finished,
 * to release the transport's listeners. The chunks flow through the runtime's one channel
 * (`src/runtime/channel.ts`) and follow its consumer rule; a stream is iterated once.
 * @internal
 */
export const createChatStream = (
  turnId: string,
  hooks: { readonly cancel: () => void; readonly detach?: () => void },
  turn: { readonly toolNames?: ReadonlySet<string> } = {},
): { readonly stream: ChatStream; readonly sink: ChatSink } => {
  // A call_id the model repeats is one call: handed out once, once in the output.
  const seenCalls = new Set<string>()
  let finished = false
  let consumed = false
  let cancelRequested = false

  const finish = (): void => {
    if (finished) return
    finished = true
    hooks.detach?.()
  }

  const cancel = (): void => {
    if (finished || cancelRequested) return
    cancelRequested = true
    // Whatever the caller has not read yet is dropped: after a cancel only the end comes.
    channel.retain((chunk) => chunk.type === "end")
    hooks.cancel()
  }

  /** The chunk as the caller gets it: duplicates dropped, a call of an unknown tool flagged. */
  const vet = (chunk: ChatChunk): ChatChunk | undefined => {
    if (chunk.type === "tool_call" || chunk.type === "error") {
      const callId = chunk.type === "tool_call" ? chunk.call.callId : chunk.callId
      if (callId.length > 0) {
        if (seenCalls.has(callId)) return undefined
        seenCalls.add(callId)
      }
      const names = turn.toolNames
      if (chunk.type === "tool_call" && names !== undefined && !names.has(chunk.call.name)) {
        return {
          type: "error",
          reason: "UnknownTool",
          callId: chunk.call.callId,
          name: chunk.call.name,
          rawArguments: chunk.call.rawArguments,
          message: `The model called ${chunk.call.name} (${chunk.call.callId}), which is not one of this turn's tools${names.size === 0 ? " (none were offered)" : `: ${[...names].join(", ")}`}`,
        }
      }
      return chunk
    }
    if (chunk.type === "end") {
      const calls = new Set<string>()
      const output = chunk.output.filter((item) => {
        if (item.type !== "function_call") return true
        if (calls.has(item.callId)) return false
        calls.add(item.callId)
        return true
      })
      return output.length === chunk.output.length ? chunk : { ...chunk, output }
    }
    return chunk
  }

  const channel: Channel<ChatChunk> = createChannel<ChatChunk>({ onReturn: cancel })

  const sink: ChatSink = {
    push(raw) {
      if (finished || (cancelRequested && raw.type !== "end")) return
      const chunk = vet(raw)
      if (chunk === undefined) return
      channel.push(chunk)
      if (chunk.type === "end") {
        finish()
        channel.end()
      }
    },
    fail(error) {
      if (finished) return
      finish()
      channel.fail(error)
    },
    get finished() {
      return finished
    },
  }

  const stream: ChatStream = {
    turnId,
    cancel,
    [Symbol.asyncIterator]() {
      if (consumed) {
        throw new LLMError({
          reason: { _tag: "InvalidRequest" },
          message: "A chat stream can be iterated only once",
          retryable: false,
        })
      }
      consumed = true
      return channel[Symbol.asyncIterator]()
    },
    async collect() {
      let text = ""
      const toolCalls: ToolCall[] = []
      const invalid: FunctionCallItem[] = []
      let usage: TokenUsage | undefined
      for await (const chunk of stream) {
        switch (chunk.type) {
          case "text":
            text += chunk.delta
            break
          case "tool_call":
            toolCalls.push(chunk.call)
            break
          case "error":
            invalid.push({
              type: "function_call",
              id: chunk.callId,
              callId: chunk.callId,
              name: chunk.name,
              arguments: chunk.rawArguments,
            })
            break
          case "usage":
            usage = chunk.usage
            break
          case "end": {
            const turn: ChatTurn = {
              text,
              toolCalls,
              invalidToolCalls: invalid,
              usage,
              responseId: chunk.responseId,
              status: chunk.status,
              reason: chunk.reason,
              output: chunk.output,
            }
            return turn
          }
        }
      }
      throw new LLMError({
        reason: { _tag: "ConnectionLost", afterOutput: text.length > 0 || toolCalls.length > 0 },
        message: "The chat stream ended without an end chunk",
        retryable: true,
      })
    },
  }
  return { stream, sink }
}

/**
 * A stream that fails at once with `error` (e.g. a chat on a closed LLM).
 * @internal
 */
export const failedChatStream = (turnId: string, error: LLMError): ChatStream => {
  const { stream, sink } = createChatStream(turnId, { cancel: () => undefined })
  sink.fail(error)
  return stream
}
