/**
 * voxstate/machines: the session machines, pure XState v5 logic whose I/O actors are
 * supplied by `src/runtime` (or by tests, with `machine.provide`).
 * @module
 */

export * from "./lifecycle/sessionLifecycle.ts"
export * from "./responses/responsesChain.ts"
export * from "./transcription/transcriptionSession.ts"
