/**
 * voxstate: a TypeScript runtime for voice agents on OpenAI's speech stack.
 *
 * Every session is an XState actor; every transport, codec and clock is an Effect service.
 * @module
 */
export * from "./agent/index.ts"
export * from "./audio/index.ts"
export * from "./clock/index.ts"
export * from "./llm/index.ts"
export * from "./persist/index.ts"
export * from "./protocol/index.ts"
export * from "./realtime/index.ts"
export * from "./runtime/index.ts"
export * from "./stt/index.ts"
export * from "./telemetry/index.ts"
export * from "./transport/index.ts"
export * from "./tts/index.ts"
