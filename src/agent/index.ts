/**
 * Voice agents on a call (pipeline mode): define an agent and its tools, run it on a call's
 * audio with {@link createAgentSession}, read what happens as {@link AgentEvent}s.
 * @module
 */
export {
  type AgentEvent,
  type AgentSession,
  type AgentSessionOptions,
  type AgentSnapshot,
  type AgentSnapshotData,
  createAgentSession,
  resumeAgentSession,
  type TurnMetrics,
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
