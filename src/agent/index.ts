/**
 * Voice agents on a call: define an agent and its tools, run it on a call's audio with
 * {@link createAgentSession}, over an STT, an LLM and a TTS (OpenAI's by default, or any part
 * that meets {@link AgentSTT} / {@link AgentLLM}), or over one Realtime session; read what
 * happens as {@link AgentEvent}s. {@link serveAgent} puts agents behind a WebSocket audio endpoint.
 * @module
 */
export type { AgentState, UserState } from "../../machines/agent/agentSession.ts"
export type {
  AgentEvent,
  AgentSession,
  AgentSessionOptions,
  AgentSnapshot,
  AgentSnapshotData,
  TurnMetrics,
  TurnOptions,
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
export {
  type Agent,
  type AgentControls,
  type AgentTool,
  defineAgent,
  defineTool,
  type ReplyOptions,
  type SpokenReply,
  type ToolContext,
} from "./define.ts"
export { type DemoOptions, type DemoResult, runDemo } from "./demo.ts"
export {
  type AgentEndpoint,
  type AgentLLM,
  type AgentLLMParts,
  type AgentSTT,
  type AgentSTTParts,
  type AgentTurnRequest,
  type OpenAILLMOptions,
  type OpenAISTTOptions,
  openaiLLM,
  openaiSTT,
} from "./pipeline.ts"
export type {
  AgentRealtimeOptions,
  RealtimeAgentSession,
  RealtimeAgentSessionOptions,
  RealtimeAgentSnapshot,
  RealtimeAgentSnapshotData,
} from "./RealtimeAgentSession.ts"
export {
  type AgentServer,
  type ServeAgentOptions,
  type ServedSessionOptions,
  serveAgent,
} from "./serve.ts"
export { createAgentSession, resumeAgentSession } from "./session.ts"
