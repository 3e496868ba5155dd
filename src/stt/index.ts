/**
 * voxstate/stt: the speech-to-text contract (`STT`, `SpeechEvent`, `SpeechStream`), batch
 * transcription over REST, the StreamAdapter and FallbackAdapter, retries and splitting.
 * @module
 */
export * from "./BatchSTT.ts"
export * from "./FallbackAdapter.ts"
export * from "./retry.ts"
export type * from "./SpeechEvent.ts"
export * from "./STT.ts"
export * from "./StreamAdapter.ts"
export * from "./split.ts"
export * from "./TranscriptionSession.ts"
