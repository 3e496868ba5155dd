/**
 * Voice agents on a call: define an agent and its tools, run it on a call's audio with
 * {@link createAgentSession} (the pipeline, or one Realtime session), read what happens as
 * {@link AgentEvent}s.
 * @module
 */
export type {
  AgentEvent,
  AgentSession,
  AgentSessionOptions,
  TurnMetrics,
} from "./AgentSession.ts"
export {
  type AudioInput,
  type AudioOutput,
  CALL_RATE_HZ,
  createCallRecorder,
  FRAME_MS,
  samplesInput,
  wavFileInput,
} from "./audio.ts"
export { type Agent, type AgentTool, defineAgent, defineTool } from "./define.ts"
export { type DemoOptions, type DemoResult, runDemo } from "./demo.ts"
export type {
  AgentRealtimeOptions,
  RealtimeAgentSession,
  RealtimeAgentSessionOptions,
} from "./RealtimeAgentSession.ts"
export {
  type AgentServer,
  type ServeAgentOptions,
  type ServedSessionOptions,
  serveAgent,
} from "./serve.ts"
export { createAgentSession } from "./session.ts"
