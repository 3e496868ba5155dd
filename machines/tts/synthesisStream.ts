/**
 * One spoken reply as a machine, for a parent (the agent) to invoke as a child: text goes in
 * as events, the reply ends done, cancelled (barge-in) or failed. Two regions while speaking:
 * `input` (open until `TTS.END`) and `output` (silent, or audible while a segment's frames
 * flow). The frames themselves never pass through the machine: the `synthesis` actor (the
 * segment pipeline, supplied by src/tts) hands them to a sink and reports only segment
 * boundaries. Leaving `speaking` stops that actor, which cancels every request in flight.
 * @module
 */
import { assign, fromCallback, sendTo, setup } from "xstate"

/** What the machine keeps of a finished segment (a `SegmentMetrics` fits). Times in ms. */
export interface SpokenSegment {
  readonly segmentId: string
  readonly characters: number
  readonly audioDurationMs: number
  readonly ttffMs: number
}

/** Events a parent sends. */
export type SynthesisCommand =
  | { readonly type: "TTS.TEXT"; readonly delta: string }
  | { readonly type: "TTS.FLUSH" }
  | { readonly type: "TTS.END" }

/** Events the `synthesis` actor sends back. */
export type SynthesisReport =
  | { readonly type: "SYNTHESIS.AUDIO_STARTED"; readonly segmentId: string }
  | { readonly type: "SYNTHESIS.SEGMENT_DONE"; readonly segment: SpokenSegment }
  | { readonly type: "SYNTHESIS.DONE" }
  | { readonly type: "SYNTHESIS.FAILED"; readonly error: unknown }

/** Every event of {@link synthesisStreamMachine}. */
export type SynthesisStreamEvent = SynthesisCommand | { readonly type: "TTS.CANCEL" } | SynthesisReport

/** The machine's output once final. */
export interface SynthesisStreamOutput {
  readonly outcome: "done" | "cancelled" | "failed"
  readonly segments: readonly SpokenSegment[]
  /** The failure, when `outcome` is `failed`. */
  readonly error?: unknown
}

/** The machine's context: the segments spoken so far, the failure, how it ended. */
export interface SynthesisStreamContext {
  readonly segments: readonly SpokenSegment[]
  readonly error: unknown
  readonly outcome: SynthesisStreamOutput["outcome"]
}

/**
 * The spoken-reply machine. Its `synthesis` actor is a placeholder: provide a `fromCallback`
 * that takes the {@link SynthesisCommand}s and sends back {@link SynthesisReport}s
 * (`SynthesisSession.logic` in voxstate/tts does).
 */
export const synthesisStreamMachine = setup({
  types: {
    context: {} as SynthesisStreamContext,
    events: {} as SynthesisStreamEvent,
    output: {} as SynthesisStreamOutput,
  },
  actors: {
    synthesis: fromCallback<SynthesisCommand>(() => () => {}),
  },
  actions: {
    forwardToSynthesis: sendTo("synthesis", ({ event }) => event as SynthesisCommand),
    recordSegment: assign({
      segments: ({ context, event }) =>
        event.type === "SYNTHESIS.SEGMENT_DONE" ? [...context.segments, event.segment] : context.segments,
    }),
    recordError: assign({
      error: ({ event }) => (event.type === "SYNTHESIS.FAILED" ? event.error : undefined),
    }),
  },
}).createMachine({
  id: "synthesisStream",
  context: { segments: [], error: undefined, outcome: "done" },
  initial: "speaking",
  states: {
    speaking: {
      description: "The reply is being synthesized; frames flow to the sink outside the machine.",
      type: "parallel",
      invoke: { id: "synthesis", src: "synthesis" },
      on: {
        "TTS.CANCEL": { target: "cancelled" },
        "SYNTHESIS.DONE": { target: "done" },
        "SYNTHESIS.FAILED": { target: "failed", actions: "recordError" },
      },
      states: {
        input: {
          initial: "open",
          states: {
            open: {
              description: "Taking text: each delta and flush marker goes to the pipeline.",
              on: {
                "TTS.TEXT": { actions: "forwardToSynthesis" },
                "TTS.FLUSH": { actions: "forwardToSynthesis" },
                "TTS.END": { target: "ended", actions: "forwardToSynthesis" },
              },
            },
            ended: { description: "No more text; the rest is being spoken." },
          },
        },
        output: {
          initial: "silent",
          states: {
            silent: {
              description: "No segment's audio is flowing (before the first, or between two).",
              on: {
                "SYNTHESIS.AUDIO_STARTED": { target: "audible" },
                "SYNTHESIS.SEGMENT_DONE": { actions: "recordSegment" },
              },
            },
            audible: {
              description: "A segment's frames are flowing to the sink.",
              on: { "SYNTHESIS.SEGMENT_DONE": { target: "silent", actions: "recordSegment" } },
            },
          },
        },
      },
    },
    done: { type: "final", entry: assign({ outcome: "done" as const }) },
    cancelled: {
      type: "final",
      description: "Barge-in: every request was aborted, no frame follows.",
      entry: assign({ outcome: "cancelled" as const }),
    },
    failed: { type: "final", entry: assign({ outcome: "failed" as const }) },
  },
  output: ({ context }) => ({
    outcome: context.outcome,
    segments: context.segments,
    ...(context.outcome === "failed" ? { error: context.error } : {}),
  }),
})
