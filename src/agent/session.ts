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
  resumeAgentSession as resumePipelineSession,
} from "./AgentSession.ts"
import {
  createRealtimeAgentSession,
  type RealtimeAgentSession,
  type RealtimeAgentSessionOptions,
  resumeRealtimeAgentSession,
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

/**
 * Continues a persisted call (`session.persist()`) in this or another process on new
 * connections, in the mode the options name: the pipeline's chat, or the Realtime
 * conversation re-created on the server. The agent, its tools and the credential come from
 * `options`.
 * @throws {SnapshotError} for a snapshot of another version, kind or mode, or a malformed one
 * @throws {OpenAIConfigError} when no credential or endpoint is configured
 */
export function resumeAgentSession(
  snapshot: unknown,
  options: RealtimeAgentSessionOptions,
): RealtimeAgentSession
export function resumeAgentSession(snapshot: unknown, options: AgentSessionOptions): AgentSession
export function resumeAgentSession(
  snapshot: unknown,
  options: AgentSessionOptions | RealtimeAgentSessionOptions,
): AgentSession | RealtimeAgentSession {
  return "realtime" in options
    ? resumeRealtimeAgentSession(snapshot, options)
    : resumePipelineSession(snapshot, options)
}
