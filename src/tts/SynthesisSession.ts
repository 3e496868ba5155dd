/**
 * A spoken reply as an actor: `SynthesisSession.logic(tts, { onAudio })` is the
 * {@link synthesisStreamMachine} with its `synthesis` actor supplied, a TTS stream whose
 * frames go straight to `onAudio` (never through the actor) while the machine sees segment
 * boundaries. A parent machine invokes it as a child and sends `TTS.TEXT`, `TTS.FLUSH`,
 * `TTS.END`; leaving the invoking state (barge-in) or `TTS.CANCEL` cancels every request.
 * `SynthesisSession.start` runs it alone.
 * @module
 */
import { type Actor, createActor, fromCallback, toPromise } from "xstate"
import {
  type SynthesisCommand,
  type SynthesisReport,
  type SynthesisStreamOutput,
  synthesisStreamMachine,
} from "../../machines/tts/synthesisStream.ts"
import type { SynthesizedAudio, SynthesizeOptions, TTS } from "./TTS.ts"

/** Options of {@link SynthesisSession.logic}. */
export interface SynthesisSessionOptions extends SynthesizeOptions {
  /** Receives every frame, in order, as soon as it is ready (the playback path). */
  readonly onAudio: (audio: SynthesizedAudio) => void
}

const logic = (tts: TTS, options: SynthesisSessionOptions) => {
  const { onAudio, ...streamOptions } = options
  return synthesisStreamMachine.provide({
    actors: {
      synthesis: fromCallback<SynthesisCommand>(({ sendBack, receive }) => {
        const stream = tts.stream(streamOptions)
        const report = (event: SynthesisReport) => sendBack(event)
        receive((command) => {
          try {
            if (command.type === "TTS.TEXT") stream.pushText(command.delta)
            else if (command.type === "TTS.FLUSH") stream.flush()
            else stream.endInput()
          } catch (error) {
            report({ type: "SYNTHESIS.FAILED", error })
          }
        })
        let stopped = false
        void (async () => {
          let segmentId: string | undefined
          try {
            for await (const event of stream) {
              if (event.type === "audio") {
                if (event.segmentId !== segmentId) {
                  segmentId = event.segmentId
                  report({ type: "SYNTHESIS.AUDIO_STARTED", segmentId })
                }
                onAudio(event)
              } else report({ type: "SYNTHESIS.SEGMENT_DONE", segment: event })
            }
            if (!stopped) report({ type: "SYNTHESIS.DONE" })
          } catch (error) {
            if (!stopped) report({ type: "SYNTHESIS.FAILED", error })
          }
        })()
        return () => {
          stopped = true
          void stream.cancel()
        }
      }),
    },
  })
}

/** The logic of a spoken reply, as actor logic for a parent to invoke. */
export type SynthesisSessionLogic = ReturnType<typeof logic>

/** Spoken replies as actors. */
export const SynthesisSession = {
  /** The provided {@link synthesisStreamMachine}: invoke it as a child, or `createActor` it. */
  logic,
  /**
   * Starts a reply actor alone; `done` resolves with its output (`done`, `cancelled` or
   * `failed` with the `TTSError`) once final.
   */
  start: (
    tts: TTS,
    options: SynthesisSessionOptions,
  ): { readonly actor: Actor<SynthesisSessionLogic>; readonly done: Promise<SynthesisStreamOutput> } => {
    const actor = createActor(logic(tts, options))
    const done = toPromise(actor)
    actor.start()
    return { actor, done }
  },
}
