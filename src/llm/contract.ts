/**
 * The LLM contract: what every chat model in voxstate is ({@link LLM}), what `chat()`
 * returns ({@link ChatStream}) and what a whole turn gathers into ({@link ChatTurn}). Both
 * transports implement it; the chunks themselves are the chain machine's data
 * (`machines/responses/chunks.ts`).
 * @module
 */
import type { Actor } from "xstate"
import type { FunctionCallItem } from "../../machines/responses/chatItems.ts"
import type { ChatChunk, ChatEndStatus, TokenUsage, ToolCall } from "../../machines/responses/chunks.ts"
import type { ResponsesChainMachine } from "../../machines/responses/responsesChain.ts"
import type { ChatContext, ChatItem, ChatItemInput } from "./ChatContext.ts"
import type { ChatOptions } from "./options.ts"
import type { FunctionTool } from "./tools.ts"

/** The chunks of one turn gathered together (see `ChatStream.collect`). */
export interface ChatTurn {
  /** The reply text (all text deltas). */
  readonly text: string
  /** Tool calls with parseable arguments, in order. */
  readonly toolCalls: readonly ToolCall[]
  /** Function calls whose arguments were not JSON. */
  readonly invalidToolCalls: readonly FunctionCallItem[]
  readonly usage: TokenUsage | undefined
  readonly responseId: string | undefined
  readonly status: ChatEndStatus
  readonly reason: string | undefined
  /** The turn's output items, to append to the context. */
  readonly output: readonly ChatItem[]
}

/**
 * The result of `llm.chat(...)`: an async iterable of {@link ChatChunk}s, iterated once
 * (a second `[Symbol.asyncIterator]()` throws `LLMError` `InvalidRequest`); reads of that
 * iterator follow the runtime channel's rule, the one of `SpeechStream` (each chunk to one
 * read, in order; waiting reads complete at the end).
 * The request is sent as soon as `chat` is called; chunks wait in order until read. Breaking
 * out of the loop cancels the turn. The iteration throws `LLMError` when the turn fails.
 */
export interface ChatStream extends AsyncIterable<ChatChunk> {
  /** The id of this turn (local, for logs and inspection). */
  readonly turnId: string
  /**
   * Cancels the turn: chunks not read yet are dropped and the stream ends with an `end`
   * chunk of status `cancelled`. The service is told to stop (Responses: `response.cancel`
   * for this response id; HTTP: the request is aborted). Safe to call at any time, also
   * after the end.
   */
  cancel(): void
  /** Reads the whole stream and gathers it into a {@link ChatTurn}. Throws `LLMError` on failure. */
  collect(): Promise<ChatTurn>
}

/** What `prewarm` may seed the chain with. */
export interface PrewarmOptions {
  /** Sent as a system message; the first turn chains from it when its context starts with the same system message. */
  readonly instructions?: string
  /** Tools to pre-build request state for (the default: the LLM's tools). */
  readonly tools?: readonly FunctionTool[]
}

/** A chat model. */
export interface LLM {
  /** `websocket` (Responses API) or `http` (chat completions). */
  readonly transport: "websocket" | "http"
  /** The model (or Azure deployment) the requests name. */
  readonly model: string
  /**
   * Starts a turn over `context` (a {@link ChatContext} or a plain array of items) and
   * returns its chunks as an async iterable (see {@link ChatStream}). The request goes out at
   * once (or once the turn before it ends). Malformed items fail the stream with
   * `LLMError` (`InvalidRequest`).
   */
  chat(context: ChatContext | readonly (ChatItemInput | ChatItem)[], options?: ChatOptions): ChatStream
  /**
   * Opens the connection ahead of the first turn and, with `instructions` or tools, sends a
   * `generate: false` request whose response id seeds the chain. Resolves with that id
   * (undefined when only connecting). A no-op on the HTTP transport.
   * @throws {LLMError} when the socket cannot be opened or the warmup is refused.
   */
  prewarm(options?: PrewarmOptions): Promise<string | undefined>
  /** Fails pending turns with `Closed`, closes the socket and waits until it is closed. Idempotent. */
  close(): Promise<void>
  /** The chain machine's actor (WebSocket transport), for inspection; undefined over HTTP. */
  readonly actor: Actor<ResponsesChainMachine> | undefined
}
