/**
 * The one entry point of both agent modes: `createAgentSession({ agent, stt?, llm?, tts? })`
 * runs the pipeline (speech-to-text, a language model, text-to-speech), `createAgentSession({
 * agent, realtime })` one Realtime speech-to-speech session; both report the same `AgentEvent`s.
 * @module
 */
import {
  type AgentSession,
  type AgentSessionOptions,
  createAgentSession as createPipelineSession,
} from "./AgentSession.ts"
import {
  createRealtimeAgentSession,
  type RealtimeAgentSession,
  type RealtimeAgentSessionOptions,
} from "./RealtimeAgentSession.ts"

/**
 * Creates and starts an agent session: the pipeline, or one Realtime session (`realtime`).
 * @throws {OpenAIConfigError} when no credential or endpoint is configured
 */
export function createAgentSession(options: RealtimeAgentSessionOptions): RealtimeAgentSession
export function createAgentSession(options: AgentSessionOptions): AgentSession
export function createAgentSession(
  options: AgentSessionOptions | RealtimeAgentSessionOptions,
): AgentSession | RealtimeAgentSession {
  return "realtime" in options ? createRealtimeAgentSession(options) : createPipelineSession(options)
}
