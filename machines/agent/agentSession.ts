/**
 * A voice agent's conversation as a machine (pipeline mode: speech-to-text, a language model,
 * tools, text-to-speech). Two parallel regions read as the conversation's diagram:
 *
 * - `user`: silent, speaking, endOfTurnPending (endpointing: the turn ends `minEndpointing`
 *   after the end of speech and the last final transcript, and at most `maxEndpointing`
 *   after the end of speech), raising `USER_TURN_ENDED`.
 * - `agent`: idle, replying (three regions: `synthesis` synthesizing / playingOut, `model`
 *   generating / runningTools / saying / done, `voice` silent / speaking / paused), interrupted.
 *
 * The children: `stt` and `llm` live as long as the call (`live`); a reply invokes `tts` (its
 * synthesis), each model round invokes `llmTurn` (stopping it cancels the model's response),
 * running tools invokes `runTools` (stopping it aborts the executions' signal), playing out
 * invokes `playout`. Leaving a state stops what it invoked, so an interruption is one
 * transition out of `replying`. Barge-in is a policy of named guards and delays: the caller's
 * speech over the agent pauses the output; speech that ends before `minInterruption` resumes
 * it where it paused (a cough); longer speech interrupts once a transcript confirms it, and
 * resumes the output when none comes within `falseInterruption`; `minInterruptionWords` words
 * interrupt at once. Before any audio, a caller's turn that ends supersedes the reply. A reply
 * that does not allow interruptions holds the floor: a turn the caller ends meanwhile (like the
 * words of speech that only paused the agent) waits in `pendingTurn` and is answered once the
 * agent is idle, never by restarting the reply.
 * @module
 */
import {
  type AnyActorLogic,
  and,
  assertEvent,
  assign,
  emit,
  enqueueActions,
  fromCallback,
  fromPromise,
  raise,
  setup,
} from "xstate"
import type { ChatItem, ChatItemInput } from "../responses/chatItems.ts"
import type { ChatChunk, ToolCall } from "../responses/chunks.ts"
import { cutReplyToHeard, joinUtterances, wordsOf } from "./turnRules.ts"

/** A relayed child event (the parent sees `<id>.<type>` with the child's event inside). */
interface Relayed<T extends string, E> {
  readonly type: T
  readonly event: E
}

/** What the caller was heard to say (an interim or final transcript). */
interface Transcript {
  readonly type: "interim_transcript" | "final_transcript"
  readonly alternatives: readonly { readonly text: string }[]
}

/** A reply the application asked for, waiting for the agent to be idle. */
export type QueuedReply =
  | {
      readonly kind: "say"
      readonly text: string
      readonly allowInterruptions: boolean
      readonly replyId: string | undefined
    }
  | {
      readonly kind: "generate"
      readonly instructions: string | undefined
      readonly allowInterruptions: boolean
      readonly replyId: string | undefined
    }

/** Events the machine takes. */
export type AgentSessionEvent =
  | Relayed<"stt.start_of_speech", { readonly type: "start_of_speech" }>
  | Relayed<"stt.end_of_speech", { readonly type: "end_of_speech" }>
  | Relayed<"stt.interim_transcript", Transcript>
  | Relayed<"stt.final_transcript", Transcript>
  | Relayed<"stt.error", { readonly type: "error"; readonly error: unknown }>
  /** A caller's turn the transcriber could not transcribe (after its own retries). */
  | Relayed<"stt.transcription_failed", { readonly type: "transcription_failed"; readonly error: unknown }>
  /** A chunk of the model round `turnId` (sent back by `llmTurn`). */
  | { readonly type: "LLM.CHUNK"; readonly turnId: string; readonly chunk: ChatChunk }
  /** The model round `turnId` failed after its session's own recovery (sent back by `llmTurn`). */
  | { readonly type: "LLM.FAILED"; readonly turnId: string; readonly error: unknown }
  /** The reply's first frame reached the output. */
  | { readonly type: "OUTPUT.STARTED" }
  /** Raised by the `user` region once endpointing has ended the caller's turn. */
  | { readonly type: "USER_TURN_ENDED" }
  /** Says a line without the model. */
  | {
      readonly type: "SAY"
      readonly text: string
      readonly allowInterruptions?: boolean
      /** Names the reply in its `agent_transcript`. */
      readonly replyId?: string
    }
  /** Has the model reply now, with extra instructions for this reply. */
  | {
      readonly type: "GENERATE_REPLY"
      readonly instructions?: string
      readonly allowInterruptions?: boolean
      readonly replyId?: string
    }
  /** Stops the agent's reply now (the application's call, whatever the reply allows). */
  | { readonly type: "INTERRUPT" }
  /** The application ends the caller's turn now (manual turns, push-to-talk). */
  | { readonly type: "USER.COMMIT" }
  /** Another agent takes the conversation (a handoff): its instructions from now on. */
  | { readonly type: "AGENT.UPDATED"; readonly instructions: string }
  | { readonly type: "CLOSE" }

/** Events the machine emits (the facade turns them into `AgentEvent`s). */
export type AgentSessionEmitted =
  | { readonly type: "user_transcript"; readonly text: string; readonly final: boolean }
  | { readonly type: "tool_called"; readonly call: ToolCall }
  | { readonly type: "tool_result"; readonly callId: string; readonly name: string; readonly output: unknown }
  /** A reply's words as the caller heard them (all of it, or up to where it was cut off). */
  | {
      readonly type: "agent_transcript"
      readonly text: string
      readonly interrupted: boolean
      /** The `replyId` of the `SAY` or `GENERATE_REPLY` the reply answers; none for a caller's turn. */
      readonly replyId?: string
    }
  | { readonly type: "interrupted"; readonly heard: string; readonly said: string }
  /** The caller's speech over the agent turned out not to be an interruption: the output resumed. */
  | { readonly type: "resumed" }
  | { readonly type: "error"; readonly error: unknown }

/** What a tool execution returns to the model (what `runTools` resolves with, one per call). */
export interface ToolOutput {
  readonly callId: string
  readonly name: string
  /** The result, or `{ error }` with a thrown error's message. */
  readonly output: unknown
}

/** Input of a model round (`llmTurn`). */
export interface LlmTurnInput {
  readonly turnId: string
  readonly items: readonly (ChatItem | ChatItemInput)[]
  /** The agent's instructions, with the reply's extra instructions appended. */
  readonly instructions: string
  /** False once the turn's `maxToolSteps` rounds of tools have run: the model must answer. */
  readonly toolsAllowed: boolean
}

/** The session's turn-taking settings; times in ms. */
export interface TurnSettings {
  /** Least wait after the end of speech and the last final transcript before the turn ends. */
  readonly minEndpointingMs: number
  /** Longest wait after the end of speech before the turn ends. */
  readonly maxEndpointingMs: number
  /** Speech over the agent at least this long interrupts it. */
  readonly minInterruptionMs: number
  /** Transcribed words over the agent that interrupt it at once (0: words alone never do). */
  readonly minInterruptionWords: number
  /** Paused by speech that ended, the agent resumes when no transcript comes within this. */
  readonly falseInterruptionMs: number
  /** Whether replies allow interruptions unless they say otherwise. */
  readonly allowInterruptions: boolean
  /** Model rounds with tools per turn. */
  readonly maxToolSteps: number
  /** Tools running this long let the agent say `toolFiller`. */
  readonly toolFillerMs: number
  /** The line said while tools run long; undefined: none. */
  readonly toolFiller: string | undefined
}

/** Input of the machine. */
export interface AgentSessionInput {
  readonly settings: TurnSettings
  /** The agent's instructions. */
  readonly instructions: string
  /** The inputs of the `stt` and `llm` children. */
  readonly sttInput: unknown
  readonly llmInput: unknown
  /** Resume from a snapshot's {@link AgentRestore}: the chat so far, and the caller's words to answer first. */
  readonly restore?: AgentRestore
}

/** What an agent resumed from a snapshot starts with (see {@link agentRestoreOf}). */
export interface AgentRestore {
  readonly items: readonly (ChatItem | ChatItemInput)[]
  /** The caller's words not answered yet: the resumed session answers them first. */
  readonly pendingTurn: string
  readonly turnCount: number
}

/** The machine's context. */
export interface AgentSessionContext extends AgentSessionInput {
  /** The conversation so far, as the model sees it. */
  readonly items: readonly (ChatItem | ChatItemInput)[]
  /** Final transcripts of the caller's turn still being spoken. */
  readonly userText: string
  /** A caller's turn that ended and has not been answered yet. */
  readonly pendingTurn: string
  /** Replies the application asked for, in order. */
  readonly queue: readonly QueuedReply[]
  /** The text of the reply being spoken (all that went to synthesis). */
  readonly replyText: string
  /** Where the reply's items start in `items`. */
  readonly replyFrom: number
  readonly replyInterruptible: boolean
  /** Whom the reply answers: the caller's turn, or the application (`say`, `generateReply`). */
  readonly replySource: "caller" | "say" | "generate"
  /** The application's name for the reply (`SAY` / `GENERATE_REPLY`), echoed in its transcript. */
  readonly replyId: string | undefined
  /** Extra instructions of the reply (`generateReply`). */
  readonly replyInstructions: string | undefined
  readonly pendingCalls: readonly ToolCall[]
  /** Calls of the round that cannot run (arguments that are not JSON, an unknown tool), answered as such. */
  readonly refusedCalls: readonly ToolOutput[]
  /** Tool rounds run in this turn. */
  readonly toolSteps: number
  readonly turnCount: number
  /** The model round in flight. */
  readonly turnId: string
}

const textOf = (event: Transcript): string => event.alternatives[0]?.text.trim() ?? ""

const separated = (before: string, delta: string): string =>
  before === "" || /\s$/.test(before) || /^\s/.test(delta) ? delta : ` ${delta}`

/**
 * The agent session machine. Its children and I/O actions are placeholders that
 * `createAgentSession` (src/agent) provides: `stt`, `llm`, `tts`, `relayStt`,
 * `llmTurn`, `runTools`, `playout`, `measurePlayed`, and the actions `sendText`, `flushText`,
 * `endText`, `beginReply`, `pauseOutput`, `resumeOutput`, `clearOutput`.
 */
export const agentSessionMachine = setup({
  types: {
    context: {} as AgentSessionContext,
    events: {} as AgentSessionEvent,
    input: {} as AgentSessionInput,
    emitted: {} as AgentSessionEmitted,
  },
  actors: {
    stt: fromCallback(() => () => {}) as AnyActorLogic,
    llm: fromCallback(() => () => {}) as AnyActorLogic,
    tts: fromCallback(() => () => {}) as AnyActorLogic,
    relayStt: fromCallback(() => () => {}) as AnyActorLogic,
    /** One model round: sends it, sends back `LLM.CHUNK` / `LLM.FAILED`; stopped early, cancels it. */
    llmTurn: fromCallback<{ readonly type: string }, LlmTurnInput>(() => () => {}),
    /** Runs the calls; stopped early, aborts the executions' signal. */
    runTools: fromPromise<readonly ToolOutput[], { readonly calls: readonly ToolCall[] }>(async () => []),
    /** Resolves once the output has played the reply's last frame. */
    playout: fromPromise<void, void>(async () => {}),
    /** Resolves with how much of the reply the caller heard, and its words. */
    measurePlayed: fromPromise<string, { readonly reply: string }>(async () => ""),
  },
  actions: {
    /** Sends reply text to synthesis (provided: `TTS.TEXT` to `tts`). */
    sendText: (_args, _params: { readonly delta: string }) => {},
    /** Cuts a segment now (provided: `TTS.FLUSH` to `tts`), so a filler line is spoken at once. */
    flushText: () => {},
    /** No more text for this reply (provided: `TTS.END` to `tts`). */
    endText: () => {},
    /** A reply starts: its played position and latencies count from here (provided). */
    beginReply: (_args, _params: { readonly source: "caller" | "say" | "generate" }) => {},
    /** Holds the output where it is (provided). */
    pauseOutput: () => {},
    /** Plays the held output on (provided). */
    resumeOutput: () => {},
    /** Drops what the output has not played yet (provided). */
    clearOutput: () => {},
    /** Ends the transcriber's current segment now (provided: the STT's commit event to `stt`). */
    commitSpeech: () => {},
    hearFinal: assign({
      userText: ({ context, event }) => {
        assertEvent(event, "stt.final_transcript")
        return joinUtterances(context.userText, textOf(event.event))
      },
    }),
    emitInterim: emit(({ event }) => {
      assertEvent(event, "stt.interim_transcript")
      return { type: "user_transcript" as const, text: textOf(event.event), final: false }
    }),
    emitFinal: emit(({ event }) => {
      assertEvent(event, "stt.final_transcript")
      return { type: "user_transcript" as const, text: textOf(event.event), final: true }
    }),
    endUserTurn: assign(({ context }) => ({
      pendingTurn: joinUtterances(context.pendingTurn, context.userText),
      userText: "",
    })),
    enqueueSay: assign({
      queue: ({ context, event }) => {
        assertEvent(event, "SAY")
        const allowInterruptions = event.allowInterruptions ?? context.settings.allowInterruptions
        return [
          ...context.queue,
          { kind: "say" as const, text: event.text, allowInterruptions, replyId: event.replyId },
        ]
      },
    }),
    enqueueGenerate: assign({
      queue: ({ context, event }) => {
        assertEvent(event, "GENERATE_REPLY")
        const allowInterruptions = event.allowInterruptions ?? context.settings.allowInterruptions
        return [
          ...context.queue,
          {
            kind: "generate" as const,
            instructions: event.instructions,
            allowInterruptions,
            replyId: event.replyId,
          },
        ]
      },
    }),
    /** Starts answering the caller's ended turn: its words join the chat. */
    takeUserTurn: assign(({ context }) => ({
      items: [...context.items, { role: "user" as const, content: context.pendingTurn }],
      pendingTurn: "",
      replyFrom: context.items.length + 1,
      replyInterruptible: context.settings.allowInterruptions,
      replySource: "caller" as const,
      replyId: undefined,
      replyInstructions: undefined,
      ...newTurn(context),
    })),
    /** Starts the application's next reply. */
    takeQueued: assign(({ context }) => {
      const [next, ...queue] = context.queue
      if (next === undefined) return {}
      const said = next.kind === "say" ? [{ role: "assistant" as const, content: next.text }] : []
      return {
        queue,
        items: [...context.items, ...said],
        replyFrom: context.items.length,
        replyInterruptible: next.allowInterruptions,
        replySource: next.kind,
        replyId: next.replyId,
        replyInstructions: next.kind === "generate" ? next.instructions : undefined,
        ...newTurn(context),
        replyText: next.kind === "say" ? next.text : "",
      }
    }),
    startToolRound: assign(({ context }) => ({
      toolSteps: context.toolSteps + 1,
      turnId: `turn_${context.turnCount}_step_${context.toolSteps + 1}`,
    })),
    appendText: assign({
      replyText: ({ context, event }) => {
        assertEvent(event, "LLM.CHUNK")
        return event.chunk.type === "text"
          ? context.replyText + separated(context.replyText, event.chunk.delta)
          : context.replyText
      },
    }),
    collectCall: assign({
      pendingCalls: ({ context, event }) => {
        assertEvent(event, "LLM.CHUNK")
        return event.chunk.type === "tool_call"
          ? [...context.pendingCalls, event.chunk.call]
          : context.pendingCalls
      },
    }),
    /** A call the model wrote that cannot run: its answer says why (the model sees it). */
    collectRefusal: assign({
      refusedCalls: ({ context, event }) => {
        assertEvent(event, "LLM.CHUNK")
        const chunk = event.chunk
        return chunk.type === "error"
          ? [
              ...context.refusedCalls,
              { callId: chunk.callId, name: chunk.name, output: { error: chunk.message } },
            ]
          : context.refusedCalls
      },
    }),
    emitToolCalled: emit(({ event }) => {
      assertEvent(event, "LLM.CHUNK")
      return {
        type: "tool_called" as const,
        call: (event.chunk as Extract<ChatChunk, { type: "tool_call" }>).call,
      }
    }),
    recordOutput: assign({
      items: ({ context, event }) => {
        assertEvent(event, "LLM.CHUNK")
        return event.chunk.type === "end" ? [...context.items, ...event.chunk.output] : context.items
      },
    }),
    /** Calls past `maxToolSteps` are answered as not run, so the chat stays valid for the next turn. */
    refuseCalls: assign(({ context }) => ({
      items: [
        ...context.items,
        ...context.pendingCalls.map((call) => ({
          type: "function_call_output" as const,
          callId: call.callId,
          output: {
            error: `Not run: the turn reached its limit of ${context.settings.maxToolSteps} tool steps`,
          },
        })),
        ...context.refusedCalls.map((o) => ({
          type: "function_call_output" as const,
          callId: o.callId,
          output: o.output,
        })),
      ],
      pendingCalls: [],
      refusedCalls: [],
    })),
    recordToolOutputs: assign(({ context }, params: { readonly outputs: readonly ToolOutput[] }) => ({
      items: [
        ...context.items,
        ...[...context.refusedCalls, ...params.outputs].map((o) => ({
          type: "function_call_output" as const,
          callId: o.callId,
          output: o.output ?? null,
        })),
      ],
      pendingCalls: [],
      refusedCalls: [],
    })),
    sayFiller: assign(({ context }) => {
      const filler = context.settings.toolFiller ?? ""
      return {
        replyText: context.replyText + separated(context.replyText, filler),
        items: [...context.items, { role: "assistant" as const, content: filler }],
      }
    }),
    adoptInstructions: assign({
      instructions: ({ event }) => {
        assertEvent(event, "AGENT.UPDATED")
        return event.instructions
      },
    }),
    /** The reply's assistant messages become the words the caller heard. */
    cutToHeard: assign({
      items: ({ context }, params: { readonly heard: string }) =>
        cutReplyToHeard(context.items, context.replyFrom, params.heard),
    }),
    /** The reply's words as the caller heard them, named by its `replyId`. */
    emitTranscript: emit(({ context }, params: { readonly text: string; readonly interrupted: boolean }) => ({
      type: "agent_transcript" as const,
      text: params.text,
      interrupted: params.interrupted,
      ...(context.replyId === undefined ? {} : { replyId: context.replyId }),
    })),
    clearReply: assign({ replyText: "", pendingCalls: [], refusedCalls: [], replyInstructions: undefined }),
  },
  guards: {
    isText: ({ context, event }) =>
      event.type === "LLM.CHUNK" && event.turnId === context.turnId && event.chunk.type === "text",
    isToolCall: ({ context, event }) =>
      event.type === "LLM.CHUNK" && event.turnId === context.turnId && event.chunk.type === "tool_call",
    isEnd: ({ context, event }) =>
      event.type === "LLM.CHUNK" && event.turnId === context.turnId && event.chunk.type === "end",
    isCurrentFailure: ({ context, event }) => event.type === "LLM.FAILED" && event.turnId === context.turnId,
    hasCalls: ({ context }) => context.pendingCalls.length + context.refusedCalls.length > 0,
    isRefusedCall: ({ context, event }) =>
      event.type === "LLM.CHUNK" && event.turnId === context.turnId && event.chunk.type === "error",
    toolStepsLeft: ({ context }) => context.toolSteps < context.settings.maxToolSteps,
    heardWords: ({ event }) =>
      (event.type === "stt.final_transcript" || event.type === "stt.interim_transcript") &&
      textOf(event.event) !== "",
    /** The caller's words over the agent are enough to interrupt it at once (`minInterruptionWords` > 0). */
    interruptingWords: ({ context, event }) =>
      (event.type === "stt.final_transcript" || event.type === "stt.interim_transcript") &&
      context.settings.minInterruptionWords > 0 &&
      wordsOf(textOf(event.event)).length >= context.settings.minInterruptionWords,
    /** A transcript that confirms long speech over the agent as an interruption. */
    confirmingWords: ({ context, event }) =>
      (event.type === "stt.final_transcript" || event.type === "stt.interim_transcript") &&
      wordsOf(textOf(event.event)).length >= Math.max(1, context.settings.minInterruptionWords),
    /** The ended turn has the words to interrupt a reply (`minInterruptionWords`, when set). */
    turnInterrupts: ({ context }) =>
      context.pendingTurn !== "" &&
      wordsOf(context.pendingTurn).length >= context.settings.minInterruptionWords,
    userTranscriptPending: ({ context }) => context.userText !== "",
    userTurnWaiting: ({ context }) => context.pendingTurn !== "",
    sayQueued: ({ context }) => context.queue[0]?.kind === "say",
    generateQueued: ({ context }) => context.queue[0]?.kind === "generate",
    replyInterruptible: ({ context }) => context.replyInterruptible,
    /** The reply's synthesis ended failed (its output says so; what was spoken plays out). */
    synthesisFailed: ({ event }) =>
      (event as { readonly output?: { readonly outcome?: string } }).output?.outcome === "failed",
    hasFiller: ({ context }) =>
      context.settings.toolFiller !== undefined && context.settings.toolFiller !== "",
  },
  delays: {
    minEndpointing: ({ context }) => context.settings.minEndpointingMs,
    maxEndpointing: ({ context }) => context.settings.maxEndpointingMs,
    minInterruption: ({ context }) => context.settings.minInterruptionMs,
    falseInterruption: ({ context }) => context.settings.falseInterruptionMs,
    toolFiller: ({ context }) => context.settings.toolFillerMs,
  },
}).createMachine({
  id: "agentSession",
  context: ({ input }) => ({
    ...input,
    items: input.restore?.items ?? [],
    userText: "",
    pendingTurn: input.restore?.pendingTurn ?? "",
    queue: [],
    replyText: "",
    replyFrom: 0,
    replyInterruptible: input.settings.allowInterruptions,
    replySource: "caller",
    replyId: undefined,
    replyInstructions: undefined,
    pendingCalls: [],
    refusedCalls: [],
    toolSteps: 0,
    turnCount: input.restore?.turnCount ?? 0,
    turnId: `turn_${input.restore?.turnCount ?? 0}`,
  }),
  initial: "live",
  states: {
    live: {
      description: "The call: the transcriber and the model live as long as it does.",
      type: "parallel",
      invoke: [
        {
          id: "stt",
          systemId: "stt",
          src: "stt",
          input: ({ context }: { context: AgentSessionContext }) => context.sttInput,
        },
        {
          id: "llm",
          systemId: "llm",
          src: "llm",
          input: ({ context }: { context: AgentSessionContext }) => context.llmInput,
        },
        { src: "relayStt" },
      ],
      on: {
        CLOSE: { target: "closed" },
        SAY: { actions: "enqueueSay" },
        GENERATE_REPLY: { actions: "enqueueGenerate" },
        "AGENT.UPDATED": { actions: "adoptInstructions" },
        "stt.error": { actions: emit(({ event }) => ({ type: "error" as const, error: event.event.error })) },
        "stt.transcription_failed": {
          actions: emit(({ event }) => ({ type: "error" as const, error: event.event.error })),
        },
      },
      states: {
        user: {
          initial: "silent",
          on: { "USER.COMMIT": { target: ".committing" } },
          states: {
            silent: {
              description: "The caller is not speaking.",
              on: {
                "stt.start_of_speech": { target: "speaking" },
                // A final transcript after the turn ended (a late one) is a turn of its own.
                "stt.final_transcript": {
                  guard: "heardWords",
                  actions: ["hearFinal", "emitFinal", "endUserTurn", raise({ type: "USER_TURN_ENDED" })],
                },
              },
            },
            speaking: {
              description: "The caller is speaking (as the transcriber hears it).",
              on: {
                "stt.interim_transcript": { guard: "heardWords", actions: "emitInterim" },
                "stt.final_transcript": { guard: "heardWords", actions: ["hearFinal", "emitFinal"] },
                "stt.end_of_speech": { target: "endOfTurnPending" },
              },
            },
            committing: {
              description:
                "The application ended the caller's turn (manual turns): the transcriber's segment is committed; its final transcript ends the turn at once, `maxEndpointing` at the latest.",
              entry: "commitSpeech",
              on: {
                "stt.final_transcript": {
                  guard: "heardWords",
                  target: "silent",
                  actions: ["hearFinal", "emitFinal", "endUserTurn", raise({ type: "USER_TURN_ENDED" })],
                },
              },
              after: {
                maxEndpointing: [
                  {
                    guard: "userTranscriptPending",
                    target: "silent",
                    actions: ["endUserTurn", raise({ type: "USER_TURN_ENDED" })],
                  },
                  { target: "silent" },
                ],
              },
            },
            endOfTurnPending: {
              description:
                "Endpointing: the caller stopped; the turn ends `minEndpointing` after the end of speech and the last final transcript, at most `maxEndpointing` after the end of speech.",
              on: {
                "stt.start_of_speech": { target: "speaking" },
                "stt.interim_transcript": { guard: "heardWords", actions: "emitInterim" },
              },
              after: {
                maxEndpointing: [
                  {
                    guard: "userTranscriptPending",
                    target: "silent",
                    actions: ["endUserTurn", raise({ type: "USER_TURN_ENDED" })],
                  },
                  { target: "silent" },
                ],
              },
              initial: "settling",
              states: {
                settling: {
                  description:
                    "Waiting out `minEndpointing` since the end of speech or the last final transcript.",
                  on: {
                    "stt.final_transcript": {
                      guard: "heardWords",
                      target: "settling",
                      reenter: true,
                      actions: ["hearFinal", "emitFinal"],
                    },
                  },
                  after: {
                    minEndpointing: {
                      guard: "userTranscriptPending",
                      target: "#agentSession.live.user.silent",
                      actions: ["endUserTurn", raise({ type: "USER_TURN_ENDED" })],
                    },
                  },
                },
              },
            },
          },
        },
        agent: {
          initial: "idle",
          states: {
            idle: {
              description: "Nothing to say: waiting for the caller's turn or the application's reply.",
              always: [
                { guard: "sayQueued", target: "replying.model.saying", actions: "takeQueued" },
                { guard: "generateQueued", target: "replying", actions: "takeQueued" },
                { guard: "userTurnWaiting", target: "replying", actions: "takeUserTurn" },
              ],
            },
            replying: {
              description:
                "A reply: the model generates (and may run tools), synthesis speaks, the output plays.",
              type: "parallel",
              entry: { type: "beginReply", params: ({ context }) => ({ source: context.replySource }) },
              on: {
                INTERRUPT: { target: "interrupted" },
              },
              states: {
                synthesis: {
                  initial: "synthesizing",
                  states: {
                    synthesizing: {
                      description: "Synthesis turns the reply's text into frames for the output.",
                      invoke: {
                        id: "tts",
                        src: "tts",
                        onDone: [
                          {
                            guard: "synthesisFailed",
                            target: "playingOut",
                            actions: emit(({ event }) => ({
                              type: "error" as const,
                              error: (event.output as { readonly error?: unknown }).error,
                            })),
                          },
                          { target: "playingOut" },
                        ],
                        onError: {
                          target: "playingOut",
                          actions: emit(({ event }) => ({ type: "error" as const, error: event.error })),
                        },
                      },
                    },
                    playingOut: {
                      description: "Synthesis is done; the output plays the rest of the reply.",
                      invoke: {
                        id: "playout",
                        src: "playout",
                        onDone: {
                          target: "#agentSession.live.agent.idle",
                          actions: {
                            type: "emitTranscript",
                            params: ({ context }) => ({ text: context.replyText, interrupted: false }),
                          },
                        },
                        onError: {
                          target: "#agentSession.live.agent.idle",
                          actions: {
                            type: "emitTranscript",
                            params: ({ context }) => ({ text: context.replyText, interrupted: false }),
                          },
                        },
                      },
                    },
                  },
                },
                model: {
                  initial: "generating",
                  states: {
                    generating: {
                      description: "A model round streams; its text goes to synthesis as it comes.",
                      invoke: {
                        id: "llmTurn",
                        src: "llmTurn",
                        input: ({ context }) => ({
                          turnId: context.turnId,
                          items: context.items,
                          instructions:
                            context.replyInstructions === undefined
                              ? context.instructions
                              : `${context.instructions}\n\n${context.replyInstructions}`,
                          toolsAllowed: context.toolSteps < context.settings.maxToolSteps,
                        }),
                      },
                      on: {
                        "LLM.CHUNK": [
                          {
                            guard: "isText",
                            actions: [
                              {
                                type: "sendText",
                                params: ({ context, event }) => ({
                                  delta:
                                    event.chunk.type === "text"
                                      ? separated(context.replyText, event.chunk.delta)
                                      : "",
                                }),
                              },
                              "appendText",
                            ],
                          },
                          { guard: "isToolCall", actions: ["collectCall", "emitToolCalled"] },
                          { guard: "isRefusedCall", actions: "collectRefusal" },
                          {
                            guard: and(["isEnd", "hasCalls", "toolStepsLeft"]),
                            target: "runningTools",
                            actions: "recordOutput",
                          },
                          {
                            guard: and(["isEnd", "hasCalls"]),
                            target: "done",
                            actions: ["recordOutput", "refuseCalls", "endText"],
                          },
                          { guard: "isEnd", target: "done", actions: ["recordOutput", "endText"] },
                        ],
                        "LLM.FAILED": {
                          guard: "isCurrentFailure",
                          target: "done",
                          actions: [
                            emit(({ event }) => ({ type: "error" as const, error: event.error })),
                            "endText",
                          ],
                        },
                      },
                    },
                    runningTools: {
                      description: "The round's tool calls run; their results go back to the model.",
                      invoke: {
                        id: "runTools",
                        src: "runTools",
                        input: ({ context }) => ({ calls: context.pendingCalls }),
                        onDone: {
                          target: "generating",
                          reenter: true,
                          actions: [
                            { type: "recordToolOutputs", params: ({ event }) => ({ outputs: event.output }) },
                            enqueueActions(({ event, enqueue }) => {
                              for (const o of event.output)
                                enqueue.emit({
                                  type: "tool_result",
                                  callId: o.callId,
                                  name: o.name,
                                  output: o.output,
                                })
                            }),
                            "startToolRound",
                          ],
                        },
                        onError: {
                          target: "done",
                          actions: [
                            emit(({ event }) => ({ type: "error" as const, error: event.error })),
                            "endText",
                          ],
                        },
                      },
                      after: {
                        toolFiller: {
                          guard: "hasFiller",
                          actions: [
                            {
                              type: "sendText",
                              params: ({ context }) => ({
                                delta: separated(context.replyText, context.settings.toolFiller ?? ""),
                              }),
                            },
                            "flushText",
                            "sayFiller",
                          ],
                        },
                      },
                    },
                    saying: {
                      description: "A line the application gave: all of it goes to synthesis at once.",
                      entry: [
                        { type: "sendText", params: ({ context }) => ({ delta: context.replyText }) },
                        "endText",
                      ],
                      always: { target: "done" },
                    },
                    done: { type: "final", description: "All the reply's text is with synthesis." },
                  },
                },
                voice: {
                  initial: "silent",
                  states: {
                    silent: {
                      description:
                        "No audio of the reply has reached the output yet: a caller's turn that ends now supersedes the reply.",
                      on: {
                        "OUTPUT.STARTED": { target: "speaking" },
                        USER_TURN_ENDED: {
                          guard: and(["replyInterruptible", "turnInterrupts"]),
                          target: "#agentSession.live.agent.interrupted",
                        },
                      },
                    },
                    speaking: {
                      description: "The reply's audio is playing.",
                      on: {
                        "stt.start_of_speech": { guard: "replyInterruptible", target: "paused" },
                      },
                    },
                    paused: {
                      description:
                        "The caller speaks over the agent: the output is held until the speech proves an interruption (long enough and transcribed, or enough words) or not (short, or no transcript in time).",
                      entry: "pauseOutput",
                      exit: "resumeOutput",
                      on: {
                        "stt.interim_transcript": {
                          guard: "interruptingWords",
                          target: "#agentSession.live.agent.interrupted",
                        },
                        "stt.final_transcript": {
                          guard: "interruptingWords",
                          target: "#agentSession.live.agent.interrupted",
                        },
                      },
                      initial: "userSpeaking",
                      states: {
                        userSpeaking: {
                          description:
                            "The caller has spoken less than `minInterruption`: speech that ends now was a cough.",
                          on: {
                            "stt.end_of_speech": {
                              target: "#agentSession.live.agent.replying.voice.speaking",
                              actions: emit({ type: "resumed" as const }),
                            },
                          },
                          after: { minInterruption: { target: "longSpeech" } },
                        },
                        longSpeech: {
                          description:
                            "The caller has spoken `minInterruption`: a transcript makes it an interruption.",
                          on: {
                            "stt.interim_transcript": {
                              guard: "confirmingWords",
                              target: "#agentSession.live.agent.interrupted",
                            },
                            "stt.final_transcript": {
                              guard: "confirmingWords",
                              target: "#agentSession.live.agent.interrupted",
                            },
                            "stt.end_of_speech": { target: "awaitingTranscript" },
                          },
                        },
                        awaitingTranscript: {
                          description:
                            "Long speech ended: a transcript within `falseInterruption` makes it an interruption, none resumes the agent where it paused.",
                          on: {
                            "stt.start_of_speech": { target: "longSpeech" },
                            "stt.interim_transcript": {
                              guard: "confirmingWords",
                              target: "#agentSession.live.agent.interrupted",
                            },
                            "stt.final_transcript": {
                              guard: "confirmingWords",
                              target: "#agentSession.live.agent.interrupted",
                            },
                          },
                          after: {
                            falseInterruption: {
                              target: "#agentSession.live.agent.replying.voice.speaking",
                              actions: emit({ type: "resumed" as const }),
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
            interrupted: {
              description:
                "The caller (or the application) cut the agent off: the model round, the synthesis and the tools were stopped by leaving `replying`, the output is cleared, the reply is cut to the words the caller heard.",
              entry: "clearOutput",
              invoke: {
                id: "measurePlayed",
                src: "measurePlayed",
                input: ({ context }) => ({ reply: context.replyText }),
                onDone: {
                  target: "idle",
                  actions: [
                    { type: "cutToHeard", params: ({ event }) => ({ heard: event.output }) },
                    emit(({ context, event }) => ({
                      type: "interrupted" as const,
                      heard: event.output,
                      said: context.replyText,
                    })),
                    {
                      type: "emitTranscript",
                      params: ({ event }) => ({ text: event.output, interrupted: true }),
                    },
                    "clearReply",
                  ],
                },
                onError: {
                  target: "idle",
                  actions: [
                    { type: "emitTranscript", params: { text: "", interrupted: true } },
                    "clearReply",
                  ],
                },
              },
            },
          },
        },
      },
    },
    closed: { type: "final" },
  },
})

/** A new caller or application turn: its first model round and tool count. */
const newTurn = (context: AgentSessionContext) => ({
  turnCount: context.turnCount + 1,
  turnId: `turn_${context.turnCount + 1}`,
  toolSteps: 0,
  pendingCalls: [],
  refusedCalls: [],
  replyText: "",
})

/** What the agent is doing, from the machine's state (the facade reports its changes). */
export type AgentState = "idle" | "thinking" | "runningTools" | "speaking"

/** What the caller is doing, from the machine's state. */
export type UserState = "silent" | "speaking" | "endOfTurnPending"

/** The agent's state in a snapshot of the machine. */
export const agentStateOf = (snapshot: { matches(value: unknown): boolean }): AgentState => {
  const replying = { live: { agent: "replying" } }
  if (!snapshot.matches(replying)) return "idle"
  if (
    snapshot.matches({ live: { agent: { replying: { voice: "speaking" } } } }) ||
    snapshot.matches({ live: { agent: { replying: { voice: "paused" } } } }) ||
    snapshot.matches({ live: { agent: { replying: { synthesis: "playingOut" } } } })
  )
    return "speaking"
  if (snapshot.matches({ live: { agent: { replying: { model: "runningTools" } } } })) return "runningTools"
  return "thinking"
}

/** The caller's state in a snapshot of the machine. */
export const userStateOf = (snapshot: { matches(value: unknown): boolean }): UserState =>
  snapshot.matches({ live: { user: "speaking" } })
    ? "speaking"
    : snapshot.matches({ live: { user: "endOfTurnPending" } })
      ? "endOfTurnPending"
      : "silent"

export { wordsHeard } from "./turnRules.ts"

/**
 * The part of an agent's context a resumed session starts from. The caller's words are never
 * dropped: final transcripts of a turn still being spoken, a turn not answered yet and the
 * turn whose reply was in progress (`replying`) all become the turn the resumed session
 * answers first; the unfinished reply itself is dropped (it is generated again).
 */
export const agentRestoreOf = (context: AgentSessionContext, replying: boolean): AgentRestore => {
  const waiting = joinUtterances(context.pendingTurn, context.userText)
  if (!replying) return { items: context.items, pendingTurn: waiting, turnCount: context.turnCount }
  if (context.replySource !== "caller") {
    return {
      items: context.items.slice(0, context.replyFrom),
      pendingTurn: waiting,
      turnCount: context.turnCount,
    }
  }
  const turn = context.items[context.replyFrom - 1] as { readonly content?: unknown } | undefined
  const said = typeof turn?.content === "string" ? turn.content : ""
  return {
    items: context.items.slice(0, Math.max(0, context.replyFrom - 1)),
    pendingTurn: joinUtterances(said, waiting),
    turnCount: Math.max(0, context.turnCount - 1),
  }
}
