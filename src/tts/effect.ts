/**
 * The Effect form of a synthesis: a `SynthesisStream` as an Effect `Stream` whose
 * interruption cancels the synthesis (every request aborted, nothing left behind).
 * @module
 */
import { Effect, Stream } from "effect"
import type { SynthesisEvent, SynthesisStream } from "./TTS.ts"
import { isTTSError, type TTSError, toTTSError } from "./TTSError.ts"

/**
 * A synthesis as an Effect `Stream` of its events, failing with its `TTSError`. Interrupting
 * the stream (or ending it early, e.g. `Stream.take`) cancels the synthesis and waits for its
 * requests to be torn down.
 */
export const toSynthesisEffectStream = (
  synthesis: SynthesisStream,
  source = "tts",
): Stream.Stream<SynthesisEvent, TTSError> =>
  Stream.fromAsyncIterable(synthesis, (error) =>
    isTTSError(error) ? error : toTTSError(error, 0, source),
  ).pipe(Stream.ensuring(Effect.promise(() => synthesis.cancel())))
