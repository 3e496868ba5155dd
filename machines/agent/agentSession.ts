/**
 * A voice agent's conversation as a machine (pipeline mode: speech-to-text, a language model,
 * text-to-speech). Two parallel regions: `user` (silent, or speaking as the transcriber hears)
 * and `agent` (listening, thinking, running tools, speaking). The three children are the
 * facades' own logic, supplied by src/agent through `provide`: `stt` and `llm` live for the
 * whole session, `tts` is invoked per reply while the agent responds, so leaving `responding`
 * (an interruption) cancels the reply's synthesis. Barge-in is a policy of named guards and a
 * named delay: the caller's speech must last `minInterruption` before the agent stops.
 * @module
 */
import {
  type AnyActorLogic,
  assertEvent,
  assign,
  emit,
  fromCallback,
  fromPromise,
  raise,
  setup,
} from "xstate"
import type { ChatItem, ChatItemInput } from "../responses/chatItems.ts"
import type { ChatChunk, ToolCall } from "../responses/chunks.ts"

/** A relayed child event (the parent sees `<id>.<type>` with the child's event inside). */
interface Relayed<T extends string, E> {
  readonly type: T
  readonly event: E
}

/** What the caller was heard to say (a final transcript). */
interface FinalTranscript {
  readonly type: "final_transcript"
  readonly alternatives: readonly { readonly text: string }[]
}

/** Events the machine takes. */
export type AgentSessionEvent =
  | Relayed<"stt.start_of_speech", { readonly type: "start_of_speech" }>
  | Relayed<"stt.end_of_speech", { readonly type: "end_of_speech" }>
  | Relayed<"stt.final_transcript", FinalTranscript>
  | Relayed<"llm.turn.chunk", { readonly turnId: string; readonly chunk: ChatChunk }>
  | Relayed<"llm.turn.failed", { readonly turnId: string; readonly error: unknown }>
  /** The reply's audio reached the output (the first frame of a reply). */
  | { readonly type: "OUTPUT.STARTED" }
  /** Raised by the `user` region once the caller has spoken for `minInterruption`. */
  | { readonly type: "BARGE_IN" }
  /** Says a line without the model (a greeting). */
  | { readonly type: "SAY"; readonly text: string }
  | { readonly type: "CLOSE" }

/** Events the machine emits (the facade turns them into `AgentEvent`s). */
export type AgentSessionEmitted =
  | { readonly type: "user_speech_started" }
  | { readonly type: "user_transcript"; readonly text: string }
  | { readonly type: "agent_thinking"; readonly turnId: string }
  | { readonly type: "agent_text"; readonly delta: string }
  | { readonly type: "tool_called"; readonly call: ToolCall }
  | { readonly type: "agent_speech_started" }
  | { readonly type: "agent_spoke"; readonly text: string }
  | { readonly type: "agent_interrupted"; readonly heard: string; readonly said: string }
  | { readonly type: "error"; readonly error: unknown }

/** The outputs of a turn's tool calls (what `runTools` resolves with). */
export type ToolOutputs = readonly ChatItemInput[]

/** Input of the machine. */
export interface AgentSessionInput {
  /** How long the caller's speech must last before the agent stops speaking, in ms. */
  readonly minInterruptionMs: number
  /** Whether the caller can interrupt at all. */
  readonly allowInterruptions: boolean
  /** Tool rounds per turn before the agent answers without tools. */
  readonly maxToolRounds: number
  /** The inputs of the `stt` and `llm` children (the facades' `input`). */
  readonly sttInput: unknown
  readonly llmInput: unknown
  /** The conversation so far when the call resumes elsewhere (default none). */
  readonly history?: readonly (ChatItem | ChatItemInput)[]
}

/** The machine's context. */
export interface AgentSessionContext extends AgentSessionInput {
  /** The conversation so far, as the model sees it. */
  readonly items: readonly (ChatItem | ChatItemInput)[]
  /** The reply being spoken (text sent to synthesis). */
  readonly reply: string
  readonly pendingCalls: readonly ToolCall[]
  readonly turnOutput: readonly ChatItem[]
  readonly toolRounds: number
  readonly turnCount: number
  /** The words of the interrupted reply the caller heard. */
  readonly heard: string
  /** The reply's audio has reached the output. */
  readonly audible: boolean
  /** The id of the model turn in flight. */
  readonly turnId: string | undefined
}

const textOf = (event: FinalTranscript): string => event.alternatives[0]?.text.trim() ?? ""

/** Cuts `text` to the words within `fraction` of it (whole words only). */
export const wordsHeard = (text: string, fraction: number): string => {
  if (fraction >= 1) return text
  if (fraction <= 0) return ""
  const limit = Math.floor(text.length * fraction)
  const cut = text.slice(0, limit)
  const next = text.charAt(limit)
  if (next === "" || /\s/.test(next)) return cut.trimEnd()
  const lastSpace = cut.search(/\s\S*$/)
  return lastSpace < 0 ? "" : cut.slice(0, lastSpace).trimEnd()
}

/**
 * The agent session machine. Its children and I/O actions are placeholders: src/agent's
 * `createAgentSession` provides `stt`, `llm`, `tts` (the facades' logic), `relayStt`,
 * `relayLlm`, `runTools`, `measureHeard`, and the actions `sendChat`, `sendText`, `endText`,
 * `clearOutput`.
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
    relayLlm: fromCallback(() => () => {}) as AnyActorLogic,
    /** Resolves with the part of the reply the caller heard (0..1), measured at the output. */
    measureHeard: fromPromise<number, void>(async () => 1),
    /** Resolves once the output has played the reply's last frame. */
    playout: fromPromise<void, void>(async () => {}),
    runTools: fromPromise<ToolOutputs, { readonly calls: readonly ToolCall[] }>(async () => []),
  },
  actions: {
    /** Sends the model a turn over `context.items` (provided: `{ type: "CHAT", request }` to `llm`). */
    sendChat: (_args, _params: { readonly turnId: string }) => {},
    /** Sends a reply's text to synthesis (provided: `TTS.TEXT` to `tts`). */
    sendText: (_args, _params: { readonly delta: string }) => {},
    /** No more text for this reply (provided: `TTS.END` to `tts`). */
    endText: () => {},
    /** Drops what the output has not played yet (provided). */
    clearOutput: () => {},
    recordUserTurn: assign(({ context, event }) => {
      assertEvent(event, "stt.final_transcript")
      return {
        items: [...context.items, { role: "user" as const, content: textOf(event.event) }],
        turnCount: context.turnCount + 1,
        toolRounds: 0,
        reply: "",
        turnId: `turn_${context.turnCount + 1}`,
      }
    }),
    startToolRound: assign(({ context }) => ({
      toolRounds: context.toolRounds + 1,
      turnId: `turn_${context.turnCount}_tools_${context.toolRounds + 1}`,
    })),
    appendText: assign({
      reply: ({ context, event }) => {
        assertEvent(event, "llm.turn.chunk")
        return event.event.chunk.type === "text" ? context.reply + event.event.chunk.delta : context.reply
      },
    }),
    collectCall: assign(({ context, event }) => {
      assertEvent(event, "llm.turn.chunk")
      const chunk = event.event.chunk
      return chunk.type === "tool_call" ? { pendingCalls: [...context.pendingCalls, chunk.call] } : {}
    }),
    recordOutput: assign(({ context, event }) => {
      assertEvent(event, "llm.turn.chunk")
      const chunk = event.event.chunk
      if (chunk.type !== "end") return {}
      return { turnOutput: chunk.output, items: [...context.items, ...chunk.output] }
    }),
    sayLine: assign(({ context, event }) => {
      assertEvent(event, "SAY")
      return {
        reply: event.text,
        items: [...context.items, { role: "assistant" as const, content: event.text }],
      }
    }),
    /** The reply's assistant message becomes the words the caller heard. */
    cutToHeard: assign(({ context }, params: { readonly fraction: number }) => {
      const heard = wordsHeard(context.reply, params.fraction)
      const items = [...context.items]
      for (let i = items.length - 1; i >= 0; i--) {
        const item = items[i]
        if (item !== undefined && (item.type === undefined || item.type === "message") && "role" in item) {
          if (item.role === "assistant") {
            items[i] = { ...item, content: heard }
            break
          }
          if (item.role === "user") {
            items.push({ role: "assistant", content: heard })
            break
          }
        }
      }
      return { items, heard }
    }),
    clearReply: assign({ reply: "", heard: "", pendingCalls: [], turnOutput: [], audible: false }),
  },
  guards: {
    heardWords: ({ event }) => {
      assertEvent(event, "stt.final_transcript")
      return textOf(event.event) !== ""
    },
    isText: ({ context, event }) =>
      event.type === "llm.turn.chunk" &&
      event.event.turnId === context.turnId &&
      event.event.chunk.type === "text",
    isToolCall: ({ context, event }) =>
      event.type === "llm.turn.chunk" &&
      event.event.turnId === context.turnId &&
      event.event.chunk.type === "tool_call",
    isEnd: ({ context, event }) =>
      event.type === "llm.turn.chunk" &&
      event.event.turnId === context.turnId &&
      event.event.chunk.type === "end",
    isCurrentTurn: ({ context, event }) =>
      (event.type === "llm.turn.chunk" || event.type === "llm.turn.failed") &&
      event.event.turnId === context.turnId,
    endsWithCalls: ({ context, event }) =>
      event.type === "llm.turn.chunk" &&
      event.event.chunk.type === "end" &&
      event.event.turnId === context.turnId &&
      context.pendingCalls.length > 0 &&
      context.toolRounds < context.maxToolRounds,
    interruptionsAllowed: ({ context }) => context.allowInterruptions,
    agentAudible: ({ context }) => context.audible,
  },
  delays: {
    minInterruption: ({ context }) => context.minInterruptionMs,
  },
}).createMachine({
  id: "agentSession",
  context: ({ input }) => ({
    ...input,
    items: input.history ?? [],
    reply: "",
    heard: "",
    audible: false,
    pendingCalls: [],
    turnOutput: [],
    toolRounds: 0,
    turnCount: 0,
    turnId: undefined,
  }),
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
    { src: "relayLlm" },
  ],
  initial: "live",
  states: {
    live: {
      type: "parallel",
      on: { CLOSE: { target: "closed" } },
      states: {
        user: {
          initial: "silent",
          states: {
            silent: {
              on: {
                "stt.start_of_speech": { target: "speaking", actions: emit({ type: "user_speech_started" }) },
              },
            },
            speaking: {
              description: "The caller is speaking; past `minInterruption` it may cut the agent off.",
              on: { "stt.end_of_speech": { target: "silent" } },
              after: {
                minInterruption: {
                  guard: "interruptionsAllowed",
                  target: "holdingFloor",
                  actions: raise({ type: "BARGE_IN" }),
                },
              },
            },
            holdingFloor: {
              description: "The caller has spoken long enough to interrupt.",
              on: { "stt.end_of_speech": { target: "silent" } },
            },
          },
        },
        agent: {
          initial: "listening",
          states: {
            listening: {
              description: "Waiting for the caller's words.",
              on: {
                "stt.final_transcript": {
                  guard: "heardWords",
                  target: "responding",
                  actions: [
                    "recordUserTurn",
                    emit(({ event }) => ({ type: "user_transcript" as const, text: textOf(event.event) })),
                  ],
                },
                SAY: { target: "responding.saying", actions: "sayLine" },
              },
            },
            interrupted: {
              description:
                "The caller cut the agent off: synthesis is cancelled, the output cleared, the reply cut to the words heard.",
              entry: "clearOutput",
              invoke: {
                src: "measureHeard",
                onDone: {
                  target: "listening",
                  actions: [
                    { type: "cutToHeard", params: ({ event }) => ({ fraction: event.output }) },
                    emit(({ context }) => ({
                      type: "agent_interrupted" as const,
                      heard: context.heard,
                      said: context.reply,
                    })),
                    "clearReply",
                  ],
                },
                onError: { target: "listening", actions: "clearReply" },
              },
              on: {
                "stt.final_transcript": {
                  guard: "heardWords",
                  target: "responding",
                  actions: [
                    "recordUserTurn",
                    emit(({ event }) => ({ type: "user_transcript" as const, text: textOf(event.event) })),
                  ],
                },
              },
            },
            responding: {
              description: "A reply: the model thinks (and may run tools), the reply's synthesis runs.",
              invoke: { id: "tts", systemId: "tts", src: "tts" },
              initial: "thinking",
              on: {
                "OUTPUT.STARTED": {
                  actions: [assign({ audible: true }), emit({ type: "agent_speech_started" })],
                },
                BARGE_IN: { guard: "agentAudible", target: "interrupted" },
                "xstate.done.actor.tts": { target: ".playingOut" },
                "stt.final_transcript": {
                  guard: "heardWords",
                  target: ".thinking",
                  reenter: true,
                  actions: [
                    "clearOutput",
                    "recordUserTurn",
                    emit(({ event }) => ({ type: "user_transcript" as const, text: textOf(event.event) })),
                  ],
                },
              },
              states: {
                thinking: {
                  entry: [
                    { type: "sendChat", params: ({ context }) => ({ turnId: context.turnId ?? "turn_0" }) },
                    emit(({ context }) => ({
                      type: "agent_thinking" as const,
                      turnId: context.turnId ?? "turn_0",
                    })),
                  ],
                  on: {
                    "llm.turn.chunk": [
                      { guard: "endsWithCalls", target: "runningTools", actions: "recordOutput" },
                      {
                        guard: "isEnd",
                        target: "speaking",
                        actions: ["recordOutput", "endText"],
                      },
                      {
                        guard: "isText",
                        actions: [
                          "appendText",
                          {
                            type: "sendText",
                            params: ({ event }) => ({
                              delta: event.event.chunk.type === "text" ? event.event.chunk.delta : "",
                            }),
                          },
                          emit(({ event }) => ({
                            type: "agent_text" as const,
                            delta: event.event.chunk.type === "text" ? event.event.chunk.delta : "",
                          })),
                        ],
                      },
                      {
                        guard: "isToolCall",
                        actions: [
                          "collectCall",
                          emit(({ event }) => ({
                            type: "tool_called" as const,
                            call: (event.event.chunk as Extract<ChatChunk, { type: "tool_call" }>).call,
                          })),
                        ],
                      },
                    ],
                    "llm.turn.failed": {
                      guard: "isCurrentTurn",
                      target: "#agentSession.live.agent.listening",
                      actions: emit(({ event }) => ({ type: "error" as const, error: event.event.error })),
                    },
                  },
                },
                runningTools: {
                  invoke: {
                    src: "runTools",
                    input: ({ context }) => ({ calls: context.pendingCalls }),
                    onDone: {
                      target: "thinking",
                      reenter: true,
                      actions: [
                        assign(({ context, event }) => ({
                          items: [...context.items, ...event.output],
                          pendingCalls: [],
                        })),
                        "startToolRound",
                      ],
                    },
                    onError: {
                      target: "#agentSession.live.agent.listening",
                      actions: emit(({ event }) => ({ type: "error" as const, error: event.error })),
                    },
                  },
                },
                saying: {
                  entry: [
                    { type: "sendText", params: ({ context }) => ({ delta: context.reply }) },
                    "endText",
                  ],
                  always: { target: "speaking" },
                },
                speaking: {
                  description: "All text is with synthesis; the rest of the reply is being synthesized.",
                },
                playingOut: {
                  description: "Synthesis is done; the output is still playing the reply.",
                  invoke: {
                    src: "playout",
                    onDone: {
                      target: "#agentSession.live.agent.listening",
                      actions: [
                        emit(({ context }) => ({ type: "agent_spoke" as const, text: context.reply })),
                        "clearReply",
                      ],
                    },
                  },
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
