/**
 * A spoken reply as an actor: `SynthesisSession.logic(runtime, { openai, env, onAudio })`
 * gives the {@link synthesisStreamMachine} with its `synthesis` actor supplied, a TTS stream
 * whose frames go straight to `onAudio` (never through the actor) while the machine sees
 * segment boundaries. A parent machine invokes `parts.logic` as a child on the runtime's clock
 * and sends `TTS.TEXT`, `TTS.FLUSH`, `TTS.END`; leaving the invoking state (barge-in) or
 * `TTS.CANCEL` cancels every request. `SynthesisSession.start` runs it alone as a root actor.
 * @module
 */
import { type Actor, createActor, fromCallback, toPromise } from "xstate"
import {
  type SynthesisCommand,
  type SynthesisReport,
  type SynthesisStreamOutput,
  synthesisStreamMachine,
} from "../../machines/tts/synthesisStream.ts"
import { rootActorOptions, type SessionRuntime } from "../runtime/SessionRuntime.ts"
import { createTTS, type TTSOptions } from "./OpenAITTS.ts"
import type { SynthesizedAudio, SynthesizeOptions, TTS } from "./TTS.ts"

/**
 * Options of {@link SynthesisSession.logic}: the endpoint (`openai` + `env`, and the rest of
 * `createTTS`'s options under `speech`), or a ready `tts` (a fallback chain, a fake), the
 * per-reply synthesis options, and the playback sink.
 */
export interface SynthesisSessionOptions extends SynthesizeOptions, Pick<TTSOptions, "openai" | "env"> {
  /** Receives every frame, in order, as soon as it is ready (the playback path). */
  readonly onAudio: (audio: SynthesizedAudio) => void
  /** The TTS to speak with; default `createTTS({ openai, env, ...speech })`. */
  readonly tts?: TTS
  /** `createTTS` options besides the endpoint (model, timeouts, label...), when no `tts` is given. */
  readonly speech?: Omit<TTSOptions, "openai" | "env">
}

const provide = (tts: TTS, onAudio: (audio: SynthesizedAudio) => void, streamOptions: SynthesizeOptions) =>
  synthesisStreamMachine.provide({
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

/** The logic of a spoken reply, as actor logic for a parent to invoke. */
export type SynthesisSessionLogic = ReturnType<typeof provide>

/**
 * A spoken reply as parts a parent machine invokes as a child on the runtime's clock
 * (`invoke: { src: parts.logic }`): the logic and the TTS it speaks with.
 */
export interface SynthesisSessionParts {
  /** The provided machine. */
  readonly logic: SynthesisSessionLogic
  /** The TTS the reply speaks with (the given one, or the one built from `openai` + `env`). */
  readonly tts: TTS
}

const partsOf = (options: SynthesisSessionOptions): SynthesisSessionParts => {
  const { onAudio, tts: given, speech, openai, env, ...streamOptions } = options
  const tts =
    given ??
    createTTS({
      ...speech,
      ...(openai === undefined ? {} : { openai }),
      ...(env === undefined ? {} : { env }),
    })
  return { logic: provide(tts, onAudio, streamOptions), tts }
}

/** Spoken replies as actors. */
export const SynthesisSession = {
  /**
   * The provided {@link synthesisStreamMachine} as parts (see {@link SynthesisSessionParts}) for
   * a parent machine on `runtime` (its clock) to invoke as a child.
   * @throws {OpenAIConfigError} when no `tts` is given and no credential or endpoint is configured
   */
  logic: <R>(_runtime: SessionRuntime<R>, options: SynthesisSessionOptions): SynthesisSessionParts =>
    partsOf(options),
  /**
   * Starts a reply actor alone; `done` resolves with its output (`done`, `cancelled` or
   * `failed` with the `TTSError`) once final. It reports to the runtime's inspection observer
   * (`makeSessionRuntime(context, { inspect })`, or the process-wide one of `VOXSTATE_INSPECT=1`).
   */
  start: <R>(
    runtime: SessionRuntime<R>,
    options: SynthesisSessionOptions,
  ): { readonly actor: Actor<SynthesisSessionLogic>; readonly done: Promise<SynthesisStreamOutput> } => {
    const actor = createActor(partsOf(options).logic, rootActorOptions(runtime))
    const done = toPromise(actor)
    actor.start()
    return { actor, done }
  },
}
