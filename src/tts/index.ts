/**
 * voxstate/tts: the text-to-speech contract (`TTS`, `SynthesisStream`, `SynthesizeStream`,
 * `SynthesizedAudio`), `createTTS` over REST `POST /audio/speech`, the streaming sentence
 * tokenizer, the StreamAdapter and the fallback chain.
 * @module
 */

export * from "./effect.ts"
export * from "./FallbackTTS.ts"
export * from "./OpenAITTS.ts"
export * from "./pipeline.ts"
export * from "./reframe.ts"
export * from "./StreamAdapter.ts"
export * from "./SynthesisSession.ts"
export * from "./sentences.ts"
export type * from "./TTS.ts"
export * from "./TTSError.ts"
