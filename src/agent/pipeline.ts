/**
 * The three parts of a pipeline agent as children of its machine: a speech-to-text that
 * emits speech events, a language model that takes turns and emits their chunks, a
 * text-to-speech. The OpenAI parts are the facades' own logic (the streaming transcription
 * session, the Responses chain over its socket, the TTS behind a synthesis session); the
 * scripted parts of `voxstate/testing` meet the same contracts on the session's clock.
 * @module
 */
import type { AnyActorLogic, AnyEventObject } from "xstate"
import type { ChatItem, ChatItemInput } from "../../machines/responses/chatItems.ts"
import type { AudioFrame } from "../audio/index.ts"
import { ResponsesChain, type ResponsesLLMOptions } from "../llm/ResponsesLLM.ts"
import type { FunctionTool } from "../llm/tools.ts"
import type { SessionRuntime } from "../runtime/SessionRuntime.ts"
import {
  type PendingSpeech,
  pendingSpeechOf,
  replayPendingSpeech,
  TranscriptionSession,
  type TranscriptionSessionContext,
  type TranscriptionSessionOptions,
} from "../stt/TranscriptionSession.ts"
import type { OpenAIConfigOptions } from "../transport/OpenAIConfig.ts"
import type { RealtimeSocket } from "../transport/RealtimeSocket.ts"

/** The endpoint every OpenAI part connects to (`openai:` + `env`, as elsewhere). */
export interface AgentEndpoint {
  readonly openai?: OpenAIConfigOptions
  readonly env?: Record<string, string | undefined>
}

/** A speech-to-text part on a session's runtime. */
export interface AgentSTTParts {
  /**
   * Actor logic that emits speech events (`start_of_speech`, `interim_transcript`,
   * `final_transcript`, `end_of_speech`, `error`), invoked for the whole session.
   */
  readonly logic: AnyActorLogic
  readonly input: unknown
  /** The caller's audio, straight to the part (never through an actor). */
  push(frame: AudioFrame): void
  /** The event that makes the part end its current segment now and transcribe it (manual turns). */
  commit(): AnyEventObject
  /**
   * For a snapshot: the caller's audio not transcribed yet, from the child's snapshot context
   * (JSON). A part without it keeps no audio across a resume.
   */
  pendingSpeech?(childContext: unknown): unknown
  /** On resume: sends what {@link pendingSpeech} kept again (`send` reaches the child). */
  replaySpeech?(pending: unknown, send: (event: AnyEventObject) => void): void
}

/** The speech-to-text of a pipeline agent. */
export interface AgentSTT {
  /** Builds the part on the session's runtime and clock. */
  readonly parts: (runtime: SessionRuntime<RealtimeSocket>, endpoint: AgentEndpoint) => AgentSTTParts
}

/** One model turn as the agent asks for it. */
export interface AgentTurnRequest {
  readonly turnId: string
  readonly items: readonly (ChatItem | ChatItemInput)[]
  readonly instructions: string
  /** The tools the model may call in this round (none once the turn's tool steps are spent). */
  readonly tools: readonly FunctionTool[]
}

/** A language-model part on a session's runtime. */
export interface AgentLLMParts {
  /**
   * Actor logic, invoked for the whole session, that takes the events of {@link chat} and
   * {@link cancel} and emits `turn.chunk` (`{ turnId, chunk }`, the `end` chunk last) and
   * `turn.failed` (`{ turnId, error }`) once its own recovery has given up.
   */
  readonly logic: AnyActorLogic
  readonly input: unknown
  /** The event that starts a turn. */
  chat(request: AgentTurnRequest): AnyEventObject
  /** The event that cancels a turn in flight (the model stops generating). */
  cancel(turnId: string): AnyEventObject
}

/** The language model of a pipeline agent. */
export interface AgentLLM {
  /** Builds the part on the session's runtime and clock. */
  readonly parts: (runtime: SessionRuntime<RealtimeSocket>, endpoint: AgentEndpoint) => AgentLLMParts
}

/** True for a ready part (`{ parts }`) rather than options of the OpenAI one. */
export const isPart = <P extends { readonly parts: unknown }>(value: P | object | undefined): value is P =>
  value !== undefined && typeof (value as { parts?: unknown }).parts === "function"

/** Options of {@link openaiSTT}: the streaming transcription session's, besides the endpoint. */
export type OpenAISTTOptions = Omit<TranscriptionSessionOptions, "openai" | "env" | "context">

/** The streaming transcription session (`gpt-4o-mini-transcribe` by default) as an agent's STT. */
export const openaiSTT = (options: OpenAISTTOptions = {}): AgentSTT => ({
  parts: (runtime, endpoint) => {
    const stt = TranscriptionSession.logic(runtime, { ...options, ...endpoint })
    return {
      logic: stt.logic,
      input: stt.input,
      push: (frame) => stt.audio.push(frame),
      commit: () => stt.flushEvent(),
      pendingSpeech: (context) => pendingSpeechOf(context as TranscriptionSessionContext, stt.audio),
      replaySpeech: (pending, send) => replayPendingSpeech(stt, pending as PendingSpeech, send),
    }
  },
})

/** Options of {@link openaiLLM}: the Responses chain's, besides the endpoint, instructions and tools. */
export type OpenAILLMOptions = Omit<
  ResponsesLLMOptions,
  "openai" | "env" | "instructions" | "tools" | "context"
>

/** The Responses API over its WebSocket (`gpt-4.1-mini` by default) as an agent's LLM. */
export const openaiLLM = (options: OpenAILLMOptions = {}): AgentLLM => ({
  parts: (runtime, endpoint) => {
    const chain = ResponsesChain.logic(runtime, { ...options, ...endpoint })
    return {
      logic: chain.logic,
      input: chain.input,
      chat: (turn) => {
        const request = chain.request(turn.items, { tools: turn.tools }, turn.turnId)
        return {
          type: "CHAT",
          request: { ...request, params: { ...request.params, instructions: turn.instructions } },
        }
      },
      cancel: (turnId) => ({ type: "CANCEL", turnId }),
    }
  },
})
