/**
 * A voice agent's conversation as a machine (realtime mode: one speech-to-speech Realtime
 * session hears the caller, thinks, calls tools and speaks). The same `user` and `agent`
 * regions as the pipeline machine, read off the Realtime session's events: the server's VAD
 * says when the caller speaks, a response is the agent thinking and then speaking, its
 * function calls are the agent running tools. The one child is the Realtime session's own
 * logic (supplied by src/agent through `provide`), invoked for the whole call on the same
 * clock; its emitted events reach this machine relayed as `realtime.<type>`.
 *
 * ```
 * user:  silent ⇄ speaking                       (input_speech_started / _stopped)
 * agent: starting ─ listening ─ thinking ─ speaking(streaming ─ playingOut) ─ listening
 *                                └─ runningTools ─ thinking (the outputs go back, a response follows)
 *        starting ─ runningTools   (a resumed call whose response left calls unanswered)
 *        any ── realtime.interrupted ──▶ interrupted ─▶ listening (output cleared, reply cut)
 * ```
 *
 * Barge-in is the server's: with `interrupt_response` the Realtime session cancels the
 * response on the caller's speech and truncates the assistant item at what was played (the
 * played position this machine reports while the agent speaks); once the response is done and
 * only the output still plays, this machine asks the session to interrupt.
 * @module
 */
import {
  type AnyActorLogic,
  assertEvent,
  assign,
  emit,
  enqueueActions,
  fromCallback,
  fromPromise,
  setup,
} from "xstate"
import type { RealtimeToolDefinition } from "../realtime/realtimeSession.ts"
import type { ToolCall } from "../responses/chunks.ts"
import type { AgentSessionEmitted, AgentState, ToolOutput, UserState } from "./agentSession.ts"

/** A relayed child event (the parent sees `realtime.<type>` with the child's event inside). */
interface Relayed<T extends string, E> {
  readonly type: T
  readonly event: E
}

/** The Realtime session's events this machine reads (the fields it uses). */
export type AgentRealtimeEvent =
  | Relayed<"realtime.input_speech_started", { readonly itemId: string }>
  | Relayed<"realtime.input_speech_stopped", { readonly itemId: string }>
  | Relayed<"realtime.input_transcript", { readonly text: string; readonly final: boolean }>
  | Relayed<
      "realtime.response_started",
      { readonly responseId: string; readonly requestId: string | undefined }
    >
  | Relayed<
      "realtime.audio",
      { readonly responseId: string; readonly itemId: string; readonly samples: Int16Array }
    >
  | Relayed<
      "realtime.output_transcript",
      {
        readonly responseId: string
        readonly delta: string
        readonly done: boolean
        readonly transcript?: string
      }
    >
  | Relayed<"realtime.text", { readonly responseId: string; readonly delta: string }>
  | Relayed<
      "realtime.function_call",
      {
        readonly responseId: string
        readonly callId: string
        readonly name: string
        readonly arguments: string
      }
    >
  | Relayed<"realtime.response_done", { readonly responseId: string; readonly status: string }>
  | Relayed<
      "realtime.interrupted",
      {
        readonly responseId: string | undefined
        readonly itemId: string | undefined
        readonly audioEndMs: number
      }
    >
  | Relayed<"realtime.error", { readonly error: { readonly message: string }; readonly fatal: boolean }>
  /** The output's played position of the reply's audio item, in ms (from the `playback` actor). */
  | { readonly type: "PLAYED"; readonly playedMs: number }
  /** Has the agent speak `text` (a response told to say it). */
  | { readonly type: "SAY"; readonly text: string; readonly allowInterruptions?: boolean }
  /** Asks for a reply now, with extra instructions for this one. */
  | {
      readonly type: "GENERATE_REPLY"
      readonly instructions: string | undefined
      readonly allowInterruptions?: boolean
    }
  /** Stops the agent: the response cancelled, the output cleared, the item cut at what was played. */
  | { readonly type: "INTERRUPT" }
  /** Another agent takes the call (new instructions and tools; the conversation stays). */
  | {
      readonly type: "UPDATE_AGENT"
      readonly instructions: string
      readonly tools: readonly RealtimeToolDefinition[]
    }
  | { readonly type: "CLOSE" }

/** Input of the machine. */
export interface AgentRealtimeInput {
  /** Tool rounds per turn; past them the model answers without tools. */
  readonly maxToolSteps: number
  /** Whether the caller can cut the agent off (also the session's `interrupt_response`). */
  readonly allowInterruptions: boolean
  /** The input of the `realtime` child (the facade's `input`). */
  readonly realtimeInput: unknown
  /** Continue a persisted call (see {@link agentRealtimeRestoreOf}). */
  readonly restore?: AgentRealtimeRestore
}

/**
 * What a persisted realtime agent call keeps of this machine (the conversation itself is the
 * Realtime session's): the replies asked for so far (request names stay unique) and the calls
 * of a response that had not been answered (the resumed agent runs them, then the reply goes on).
 */
export interface AgentRealtimeRestore {
  readonly requests: number
  readonly toolRounds: number
  readonly pendingCalls: readonly ToolCall[]
}

/**
 * The {@link AgentRealtimeRestore} of a running machine's snapshot. The calls of a response the
 * caller cut off are dropped with it (as `interrupted` does), not run on resume.
 */
export const agentRealtimeRestoreOf = (snapshot: {
  readonly context: AgentRealtimeContext
  matches(value: unknown): boolean
}): AgentRealtimeRestore => ({
  requests: snapshot.context.requests,
  toolRounds: snapshot.context.toolRounds,
  pendingCalls: snapshot.matches({ live: { agent: "interrupted" } }) ? [] : snapshot.context.pendingCalls,
})

/** The machine's context. */
export interface AgentRealtimeContext extends AgentRealtimeInput {
  /** The response being heard (its transcript so far in `reply`). */
  readonly responseId: string | undefined
  readonly reply: string
  /** The assistant audio item being played. */
  readonly audioItemId: string | undefined
  readonly pendingCalls: readonly ToolCall[]
  readonly toolRounds: number
  readonly heard: string
  /** Replies asked for so far (names each request: `reply_<n>`). */
  readonly requests: number
  /** The request of a reply that holds the floor (`allowInterruptions: false`), until it ends. */
  readonly floorRequestId: string | undefined
  /** The reply being played holds the floor: the caller's speech does not cut it. */
  readonly holdingFloor: boolean
}

/** The output a call gets when the caller cut in while it ran. */
export const CANCELLED_BY_CALLER = "The caller spoke before the call finished; it was cancelled."

const parsedArguments = (text: string): unknown => {
  try {
    return text.trim() === "" ? {} : JSON.parse(text)
  } catch {
    return text
  }
}

/** The `ChatChunk` form of a call (what `tool_called` carries in both modes). */
export const toolCallOf = (event: {
  readonly callId: string
  readonly name: string
  readonly arguments: string
}): ToolCall => ({
  callId: event.callId,
  name: event.name,
  arguments: parsedArguments(event.arguments),
  rawArguments: event.arguments,
})

/**
 * The realtime agent machine. Its children and I/O actions are placeholders: src/agent's
 * realtime mode provides `realtime` (the Realtime session's logic), `relayRealtime`,
 * `playback`, `playout`, `runTools`, `measureHeard`, and the actions `playAudio`,
 * `clearOutput`, `reportPlayback`, `sendToolOutputs`, `requestReply`, `requestSpeech`,
 * `interruptResponse`, `updateSession`.
 */
export const agentRealtimeMachine = setup({
  types: {
    context: {} as AgentRealtimeContext,
    events: {} as AgentRealtimeEvent,
    input: {} as AgentRealtimeInput,
    emitted: {} as AgentSessionEmitted,
  },
  actors: {
    realtime: fromCallback(() => () => {}) as AnyActorLogic,
    relayRealtime: fromCallback(() => () => {}) as AnyActorLogic,
    /** Sends `PLAYED` with the output's played position while the agent speaks. */
    playback: fromCallback(() => () => {}) as AnyActorLogic,
    /** Resolves once the output has played the reply's last frame. */
    playout: fromPromise<void, void>(async () => {}),
    /** Resolves with the words of the cut item the caller heard. */
    measureHeard: fromPromise<string, { readonly itemId: string | undefined; readonly audioEndMs: number }>(
      async () => "",
    ),
    runTools: fromPromise<readonly ToolOutput[], { readonly calls: readonly ToolCall[] }>(async () => []),
  },
  actions: {
    /** Plays a piece of the reply's audio (provided: to the output, on the call's timeline). */
    playAudio: (_args, _params: { readonly samples: Int16Array }) => {},
    /** Drops what the output has not played yet (provided). */
    clearOutput: () => {},
    /** Tells the session how much of item `itemId` was played (provided: `REPORT_PLAYBACK`). */
    reportPlayback: (_args, _params: { readonly itemId: string; readonly playedMs: number }) => {},
    /** Gives the session the calls' outputs (provided: `TOOL_OUTPUT`; `respond` asks for the next response). */
    sendToolOutputs: (
      _args,
      _params: { readonly outputs: readonly ToolOutput[]; readonly respond: boolean },
    ) => {},
    /** Asks for a response (provided: `CREATE_RESPONSE`); `toolChoice: "none"` past the tool rounds. */
    requestReply: (
      _args,
      _params: {
        readonly requestId: string
        readonly instructions: string | undefined
        readonly toolChoice: "none" | undefined
      },
    ) => {},
    /** Asks for a response that says `text` (provided: `CREATE_RESPONSE` with instructions to say it). */
    requestSpeech: (_args, _params: { readonly requestId: string; readonly text: string }) => {},
    /**
     * Turns the server's cancel-on-speech off for a reply that holds the floor, and back on
     * (provided: `UPDATE_SESSION` when the setting changes).
     */
    setInterruptResponse: (_args, _params: { readonly enabled: boolean }) => {},
    /** Asks the session to stop the response and truncate at what was played (provided: `INTERRUPT`). */
    interruptResponse: () => {},
    /** Changes the session's instructions and tools (provided: `UPDATE_SESSION`). */
    updateSession: (
      _args,
      _params: { readonly instructions: string; readonly tools: readonly RealtimeToolDefinition[] },
    ) => {},
    beginReply: assign(({ context, event }) => {
      assertEvent(event, "realtime.response_started")
      const holdingFloor =
        event.event.requestId !== undefined && event.event.requestId === context.floorRequestId
      return {
        responseId: event.event.responseId,
        reply: "",
        heard: "",
        audioItemId: undefined,
        holdingFloor,
        // The floor-holding reply was still playing out when this one began: its floor is over.
        floorRequestId: context.holdingFloor && !holdingFloor ? undefined : context.floorRequestId,
      }
    }),
    /** A request is named (`reply_<n>`); one that holds the floor is remembered. */
    nameRequest: assign(({ context, event }) => {
      const holds = "allowInterruptions" in event && event.allowInterruptions === false
      return {
        requests: context.requests + 1,
        ...(holds ? { floorRequestId: `reply_${context.requests + 1}` } : {}),
      }
    }),
    appendText: assign(({ context, event }) => {
      assertEvent(event, "realtime.text")
      return { reply: context.reply + event.event.delta }
    }),
    /** The reply's transcript grows as the model speaks. */
    appendTranscript: assign(({ context, event }) => {
      assertEvent(event, "realtime.output_transcript")
      const e = event.event
      return { reply: e.done ? (e.transcript ?? context.reply) : context.reply + e.delta }
    }),
    collectCall: assign(({ context, event }) => {
      assertEvent(event, "realtime.function_call")
      return { pendingCalls: [...context.pendingCalls, toolCallOf(event.event)] }
    }),
    noteAudioItem: assign(({ event }) => {
      assertEvent(event, "realtime.audio")
      return { audioItemId: event.event.itemId }
    }),
    clearReply: assign({
      responseId: undefined,
      reply: "",
      heard: "",
      audioItemId: undefined,
      pendingCalls: [],
    }),
  },
  guards: {
    isCurrentResponse: ({ context, event }) =>
      "event" in event &&
      typeof event.event === "object" &&
      event.event !== null &&
      "responseId" in event.event &&
      event.event.responseId === context.responseId,
    currentDoneWithText: ({ context, event }) =>
      event.type === "realtime.response_done" &&
      event.event.responseId === context.responseId &&
      context.reply.trim() !== "",
    currentDoneWithCalls: ({ context, event }) =>
      event.type === "realtime.response_done" &&
      event.event.responseId === context.responseId &&
      context.pendingCalls.length > 0,
    hasTranscript: ({ event }) =>
      event.type === "realtime.input_transcript" && event.event.text.trim() !== "",
    interruptionsAllowed: ({ context }) => context.allowInterruptions && !context.holdingFloor,
    /** A reply asked to hold the floor while the caller may otherwise cut the agent off. */
    holdsFloor: ({ context, event }) =>
      context.allowInterruptions && "allowInterruptions" in event && event.allowInterruptions === false,
    toolStepsLeft: ({ context }) => context.toolRounds < context.maxToolSteps,
    hasPendingCalls: ({ context }) => context.pendingCalls.length > 0,
  },
}).createMachine({
  id: "agentRealtime",
  context: ({ input }) => ({
    ...input,
    responseId: undefined,
    reply: "",
    audioItemId: undefined,
    pendingCalls: input.restore?.pendingCalls ?? [],
    toolRounds: input.restore?.toolRounds ?? 0,
    heard: "",
    requests: input.restore?.requests ?? 0,
    floorRequestId: undefined,
    holdingFloor: false,
  }),
  invoke: [
    {
      id: "realtime",
      systemId: "realtime",
      src: "realtime",
      input: ({ context }: { context: AgentRealtimeContext }) => context.realtimeInput,
    },
    { src: "relayRealtime" },
  ],
  initial: "live",
  states: {
    live: {
      type: "parallel",
      on: {
        CLOSE: { target: "closed" },
        // The session ended by itself (a fatal failure): the call is over.
        "xstate.done.actor.realtime": { target: "closed" },
        "realtime.error": {
          actions: emit(({ event }) => ({ type: "error" as const, error: event.event.error })),
        },
        UPDATE_AGENT: {
          actions: {
            type: "updateSession",
            params: ({ event }) => ({ instructions: event.instructions, tools: event.tools }),
          },
        },
      },
      states: {
        user: {
          initial: "silent",
          on: {
            "realtime.input_transcript": {
              guard: "hasTranscript",
              actions: emit(({ event }) => ({
                type: "user_transcript" as const,
                text: event.event.text.trim(),
                final: event.event.final,
              })),
            },
          },
          states: {
            silent: {
              on: {
                "realtime.input_speech_started": { target: "speaking" },
              },
            },
            speaking: {
              description: "The server's VAD hears the caller.",
              on: { "realtime.input_speech_stopped": { target: "silent" } },
            },
          },
        },
        agent: {
          initial: "starting",
          on: {
            // A response begins: one the server made on the caller's turn, or one asked for.
            "realtime.response_started": {
              target: ".thinking",
              reenter: true,
              actions: [
                "beginReply",
                {
                  type: "setInterruptResponse",
                  params: ({ context }) => ({ enabled: context.floorRequestId === undefined }),
                },
              ],
            },
            "realtime.interrupted": { target: ".interrupted" },
            INTERRUPT: { actions: "interruptResponse" },
            SAY: [
              {
                guard: "holdsFloor",
                actions: [
                  "nameRequest",
                  { type: "setInterruptResponse", params: { enabled: false } },
                  {
                    type: "requestSpeech",
                    params: ({ context, event }) => ({
                      requestId: `reply_${context.requests}`,
                      text: event.text,
                    }),
                  },
                ],
              },
              {
                actions: [
                  "nameRequest",
                  {
                    type: "requestSpeech",
                    params: ({ context, event }) => ({
                      requestId: `reply_${context.requests}`,
                      text: event.text,
                    }),
                  },
                ],
              },
            ],
            GENERATE_REPLY: [
              {
                guard: "holdsFloor",
                actions: [
                  "nameRequest",
                  { type: "setInterruptResponse", params: { enabled: false } },
                  {
                    type: "requestReply",
                    params: ({ context, event }) => ({
                      requestId: `reply_${context.requests}`,
                      instructions: event.instructions,
                      toolChoice: undefined,
                    }),
                  },
                ],
              },
              {
                actions: [
                  "nameRequest",
                  {
                    type: "requestReply",
                    params: ({ context, event }) => ({
                      requestId: `reply_${context.requests}`,
                      instructions: event.instructions,
                      toolChoice: undefined,
                    }),
                  },
                ],
              },
            ],
          },
          states: {
            starting: {
              description:
                "A new call listens; a resumed one whose response left calls unanswered runs them first.",
              always: [{ guard: "hasPendingCalls", target: "runningTools" }, { target: "listening" }],
            },
            listening: {
              description: "Waiting for the caller (or for a reply asked for).",
              entry: [
                // A floor-holding reply is over: the server cuts replies on speech again (unless
                // another reply that holds the floor is on its way).
                assign(({ context }) =>
                  context.holdingFloor
                    ? { toolRounds: 0, holdingFloor: false, floorRequestId: undefined }
                    : { toolRounds: 0 },
                ),
                {
                  type: "setInterruptResponse",
                  params: ({ context }) => ({ enabled: context.floorRequestId === undefined }),
                },
              ],
            },
            thinking: {
              description: "A response is on its way; no audio yet.",
              on: {
                "realtime.audio": {
                  guard: "isCurrentResponse",
                  target: "speaking",
                  actions: [
                    "noteAudioItem",
                    { type: "playAudio", params: ({ event }) => ({ samples: event.event.samples }) },
                  ],
                },
                "realtime.output_transcript": { guard: "isCurrentResponse", actions: "appendTranscript" },
                "realtime.function_call": {
                  guard: "isCurrentResponse",
                  actions: [
                    "collectCall",
                    emit(({ event }) => ({ type: "tool_called" as const, call: toolCallOf(event.event) })),
                  ],
                },
                // A text-only reply (`outputModalities: ["text"]`) comes as text deltas.
                "realtime.text": { guard: "isCurrentResponse", actions: "appendText" },
                "realtime.response_done": [
                  { guard: "currentDoneWithCalls", target: "runningTools" },
                  {
                    guard: "currentDoneWithText",
                    target: "listening",
                    actions: [
                      emit(({ context }) => ({
                        type: "agent_transcript" as const,
                        text: context.reply,
                        interrupted: false,
                      })),
                      "clearReply",
                    ],
                  },
                  { guard: "isCurrentResponse", target: "listening", actions: "clearReply" },
                ],
              },
            },
            speaking: {
              description: "The reply's audio goes to the output; its played position goes to the session.",
              invoke: { src: "playback" },
              initial: "streaming",
              on: {
                PLAYED: {
                  actions: {
                    type: "reportPlayback",
                    params: ({ context, event }) => ({
                      itemId: context.audioItemId ?? "",
                      playedMs: event.playedMs,
                    }),
                  },
                },
                "realtime.output_transcript": { guard: "isCurrentResponse", actions: "appendTranscript" },
              },
              states: {
                streaming: {
                  description: "The response is still producing audio.",
                  on: {
                    "realtime.audio": {
                      guard: "isCurrentResponse",
                      actions: [
                        "noteAudioItem",
                        { type: "playAudio", params: ({ event }) => ({ samples: event.event.samples }) },
                      ],
                    },
                    "realtime.function_call": {
                      guard: "isCurrentResponse",
                      actions: [
                        "collectCall",
                        emit(({ event }) => ({
                          type: "tool_called" as const,
                          call: toolCallOf(event.event),
                        })),
                      ],
                    },
                    "realtime.response_done": [
                      { guard: "currentDoneWithCalls", target: "#agentRealtime.live.agent.runningTools" },
                      { guard: "isCurrentResponse", target: "playingOut" },
                    ],
                  },
                },
                playingOut: {
                  description: "The response is done; the output is still playing it.",
                  invoke: {
                    id: "playout",
                    src: "playout",
                    onDone: {
                      target: "#agentRealtime.live.agent.listening",
                      actions: [
                        emit(({ context }) => ({
                          type: "agent_transcript" as const,
                          text: context.reply,
                          interrupted: false,
                        })),
                        "clearReply",
                      ],
                    },
                  },
                  on: {
                    // Nothing is generating: the session's VAD does not cut this audio, the agent does.
                    "realtime.input_speech_started": {
                      guard: "interruptionsAllowed",
                      actions: "interruptResponse",
                    },
                    // The next response (the caller's turn, the agent holding the floor) is queued
                    // after this one, which plays to its end.
                    "realtime.response_started": {
                      target: "#agentRealtime.live.agent.thinking",
                      actions: [
                        emit(({ context }) => ({
                          type: "agent_transcript" as const,
                          text: context.reply,
                          interrupted: false,
                        })),
                        "beginReply",
                        {
                          type: "setInterruptResponse",
                          params: ({ context }) => ({ enabled: context.floorRequestId === undefined }),
                        },
                      ],
                    },
                  },
                },
              },
            },
            runningTools: {
              description:
                "The response's function calls run; their outputs go back to the session. The caller speaking cancels them.",
              on: {
                // The caller takes the floor: the executions are aborted (leaving stops them), the
                // model is told the calls were cancelled, and the caller's turn gets the next response.
                "realtime.input_speech_started": {
                  guard: "interruptionsAllowed",
                  target: "listening",
                  actions: [
                    {
                      type: "sendToolOutputs",
                      params: ({ context }) => ({
                        outputs: context.pendingCalls.map((call) => ({
                          callId: call.callId,
                          name: call.name,
                          output: { error: CANCELLED_BY_CALLER },
                        })),
                        respond: false,
                      }),
                    },
                    "clearReply",
                  ],
                },
              },
              invoke: {
                id: "runTools",
                src: "runTools",
                input: ({ context }) => ({ calls: context.pendingCalls }),
                onDone: [
                  {
                    guard: "toolStepsLeft",
                    target: "thinking",
                    actions: [
                      enqueueActions(({ event, enqueue }) => {
                        for (const o of event.output)
                          enqueue.emit({
                            type: "tool_result",
                            callId: o.callId,
                            name: o.name,
                            output: o.output,
                          })
                      }),
                      {
                        type: "sendToolOutputs",
                        params: ({ event }) => ({ outputs: event.output, respond: true }),
                      },
                      assign(({ context }) => ({ pendingCalls: [], toolRounds: context.toolRounds + 1 })),
                    ],
                  },
                  {
                    target: "thinking",
                    actions: [
                      enqueueActions(({ event, enqueue }) => {
                        for (const o of event.output)
                          enqueue.emit({
                            type: "tool_result",
                            callId: o.callId,
                            name: o.name,
                            output: o.output,
                          })
                      }),
                      {
                        type: "sendToolOutputs",
                        params: ({ event }) => ({ outputs: event.output, respond: false }),
                      },
                      assign(({ context }) => ({ requests: context.requests + 1 })),
                      {
                        type: "requestReply",
                        params: ({ context }) => ({
                          requestId: `reply_${context.requests}`,
                          instructions: undefined,
                          toolChoice: "none" as const,
                        }),
                      },
                      assign({ pendingCalls: [] }),
                    ],
                  },
                ],
                onError: {
                  target: "listening",
                  actions: [
                    emit(({ event }) => ({ type: "error" as const, error: event.error })),
                    "clearReply",
                  ],
                },
              },
            },
            interrupted: {
              description:
                "The caller cut the agent off: the response is cancelled, the output cleared, the item cut at what was played.",
              entry: "clearOutput",
              invoke: {
                id: "measureHeard",
                src: "measureHeard",
                input: ({ event }) => {
                  assertEvent(event, "realtime.interrupted")
                  return { itemId: event.event.itemId, audioEndMs: event.event.audioEndMs }
                },
                onDone: {
                  target: "listening",
                  actions: [
                    assign({ heard: ({ event }) => event.output }),
                    emit(({ context }) => ({
                      type: "interrupted" as const,
                      heard: context.heard,
                      said: context.reply,
                    })),
                    emit(({ context }) => ({
                      type: "agent_transcript" as const,
                      text: context.heard,
                      interrupted: true,
                    })),
                    "clearReply",
                  ],
                },
                onError: { target: "listening", actions: "clearReply" },
              },
            },
          },
        },
      },
    },
    closed: { type: "final" },
  },
})

/** The agent's state in a snapshot of the realtime machine (the pipeline's names). */
export const realtimeAgentStateOf = (snapshot: { matches(value: unknown): boolean }): AgentState =>
  snapshot.matches({ live: { agent: "thinking" } })
    ? "thinking"
    : snapshot.matches({ live: { agent: "runningTools" } })
      ? "runningTools"
      : snapshot.matches({ live: { agent: "speaking" } })
        ? "speaking"
        : "idle"

/** What the caller is doing, from the realtime machine's state (the server's VAD). */
export const realtimeUserStateOf = (snapshot: { matches(value: unknown): boolean }): UserState =>
  snapshot.matches({ live: { user: "speaking" } }) ? "speaking" : "silent"
