/**
 * voxstate/machines: the session machines, pure XState v5 logic whose I/O actors are
 * supplied by `src/runtime` (or by tests, with `machine.provide`).
 * @module
 */

export * from "./responsesChain.ts"
export * from "./sessionLifecycle.ts"
export * from "./transcriptionSession.ts"
export * from "./tts/synthesisStream.ts"
