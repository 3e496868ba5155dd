import type { ChatChunk, TokenUsage, ToolCall } from "../../machines/responses/chunks.ts"
import type { FunctionCallItem } from "./ChatContext.ts"
import type { ChatStream, ChatTurn } from "./contract.ts"
import { LLMError } from "./LLMError.ts"

/**
 * The plumbing behind every {@link ChatStream}: a single-consumer buffer that a transport
 * fills (chunks, then an `end` chunk or a failure) and the caller drains with `for await`.
 * @module
 */

/** The producer side of a chat stream. */
export interface ChatSink {
  /** Adds a chunk; an `end` chunk finishes the stream. Ignored once finished. */
  push(chunk: ChatChunk): void
  /** Finishes the stream with an error, thrown after the chunks already buffered. Ignored once finished. */
  fail(error: LLMError): void
  /** True once an `end` chunk or a failure was pushed. */
  readonly finished: boolean
}

type Waiter = {
  readonly resolve: (result: IteratorResult<ChatChunk>) => void
  readonly reject: (error: unknown) => void
}

/**
 * Creates a chat stream and its sink. `cancel` is called (at most once) when the caller
 * cancels the stream or stops iterating before the end; the transport then ends the stream
 * with a `cancelled` end chunk (or stops it). `detach` runs once when the stream finished,
 * to release the transport's listeners.
 */
export const createChatStream = (
  turnId: string,
  hooks: { readonly cancel: () => void; readonly detach?: () => void },
): { readonly stream: ChatStream; readonly sink: ChatSink } => {
  const buffer: ChatChunk[] = []
  let failure: LLMError | undefined
  let finished = false
  let consumed = false
  let done = false
  let cancelRequested = false
  let waiter: Waiter | undefined

  const finish = (): void => {
    if (finished) return
    finished = true
    hooks.detach?.()
  }

  const settle = (): void => {
    if (waiter === undefined) return
    const current = waiter
    const chunk = buffer.shift()
    if (chunk !== undefined) {
      waiter = undefined
      if (chunk.type === "end") done = true
      current.resolve({ value: chunk, done: false })
      return
    }
    if (failure !== undefined) {
      waiter = undefined
      done = true
      current.reject(failure)
      return
    }
    if (done || finished) {
      waiter = undefined
      done = true
      current.resolve({ value: undefined, done: true })
    }
  }

  const cancel = (): void => {
    if (finished || cancelRequested) return
    cancelRequested = true
    // Whatever the caller has not read yet is dropped: after a cancel only the end comes.
    const end = buffer.filter((chunk) => chunk.type === "end")
    buffer.length = 0
    buffer.push(...end)
    hooks.cancel()
  }

  const sink: ChatSink = {
    push(chunk) {
      if (finished || (cancelRequested && chunk.type !== "end")) return
      buffer.push(chunk)
      if (chunk.type === "end") finish()
      settle()
    },
    fail(error) {
      if (finished) return
      failure = error
      finish()
      settle()
    },
    get finished() {
      return finished
    },
  }

  const iterator: AsyncIterator<ChatChunk> = {
    next() {
      if (done && buffer.length === 0) return Promise.resolve({ value: undefined, done: true })
      if (waiter !== undefined) {
        return Promise.reject(
          new LLMError({
            reason: { _tag: "InvalidRequest" },
            message: "A chat stream is read by one consumer at a time",
            retryable: false,
          }),
        )
      }
      return new Promise<IteratorResult<ChatChunk>>((resolve, reject) => {
        waiter = { resolve, reject }
        settle()
      })
    },
    return() {
      done = true
      buffer.length = 0
      cancel()
      return Promise.resolve({ value: undefined, done: true })
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
      return iterator
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

/** A stream that fails at once with `error` (e.g. a chat on a closed LLM). */
export const failedChatStream = (turnId: string, error: LLMError): ChatStream => {
  const { stream, sink } = createChatStream(turnId, { cancel: () => undefined })
  sink.fail(error)
  return stream
}
