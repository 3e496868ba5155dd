/**
 * What the agent machines' model-based tests share: the I/O faked by actors that never end on
 * their own (the model's done events stand for their ends), the pipeline machine's input and
 * its event set, and the events of every `after` of a machine.
 */
import {
  type AnyActorLogic,
  type AnyStateMachine,
  fromCallback,
  fromPromise,
  type SnapshotFrom,
} from "xstate"
import { getStateNodes } from "xstate/graph"
import type {
  AgentSessionEvent,
  AgentSessionInput,
  agentSessionMachine,
  ToolOutput,
} from "../../../machines/agent/agentSession.ts"
import type { ToolCall } from "../../../machines/responses/chunks.ts"

/** An I/O actor that never ends by itself. */
export const never = <T, I>() => fromPromise<T, I>(() => new Promise<T>(() => {}))

/** The events of every `after` of `machine` (`xstate.after.<delay>.<state id>`). */
export const delayEventsOf = <E>(machine: AnyStateMachine): E[] =>
  getStateNodes(machine.root).flatMap((node) =>
    node.after.map((t) => ({ type: t.eventType }) as unknown as E),
  )

/** The pipeline machine's actors, faked; `llmTurn` may be a spy. */
export const pipelineActors = (llmTurn: AnyActorLogic = fromCallback(() => () => {})) => ({
  stt: fromCallback(() => () => {}),
  llm: fromCallback(() => () => {}),
  tts: fromCallback(() => () => {}),
  relayStt: fromCallback(() => () => {}),
  llmTurn,
  runTools: never<readonly ToolOutput[], { readonly calls: readonly ToolCall[] }>(),
  playout: never<void, void>(),
  measurePlayed: never<string, { readonly reply: string }>(),
})

/** The realtime machine's actors, faked. */
export const realtimeActors = () => ({
  realtime: fromCallback(() => () => {}),
  relayRealtime: fromCallback(() => () => {}),
  playback: fromCallback(() => () => {}),
  playout: never<void, void>(),
  measureHeard: never<string, { readonly itemId: string | undefined; readonly audioEndMs: number }>(),
  runTools: never<readonly ToolOutput[], { readonly calls: readonly ToolCall[] }>(),
})

/** The pipeline machine's input: long delays, so a replayed path sends the delays' events itself. */
export const pipelineInput: AgentSessionInput = {
  settings: {
    minEndpointingMs: 60_000,
    maxEndpointingMs: 120_000,
    minInterruptionMs: 60_000,
    minInterruptionWords: 0,
    falseInterruptionMs: 60_000,
    allowInterruptions: true,
    maxToolSteps: 1,
    toolFillerMs: 60_000,
    toolFiller: "One moment.",
  },
  instructions: "Be brief.",
  sttInput: undefined,
  llmInput: undefined,
}

const speech = (type: "interim_transcript" | "final_transcript", text: string) =>
  ({ type: `stt.${type}`, event: { type, alternatives: [{ text }] } }) as AgentSessionEvent

/** The words a `stt.final_transcript` event carries. */
export const textOfFinal = (event: AgentSessionEvent): string =>
  (event as unknown as { event: { alternatives: { text: string }[] } }).event.alternatives[0]?.text ?? ""

/**
 * The pipeline model's event set at `snapshot`: the caller's speech (an interim `interim`, a
 * final `final`), every delay, the model's chunks and failure, the children's ends, the
 * application's calls (its replies only while the agent is idle: a queue would not end), and
 * `CLOSE` when `close`. A tool call is offered only while none is pending.
 */
export const pipelineEvents = (
  snapshot: SnapshotFrom<typeof agentSessionMachine>,
  delayEvents: readonly AgentSessionEvent[],
  options: { readonly interim: string; readonly final: string; readonly close: boolean },
): AgentSessionEvent[] => {
  const c = snapshot.context
  const turnId = c.turnId
  const done = (id: string, output: unknown) =>
    ({ type: `xstate.done.actor.${id}`, output }) as unknown as AgentSessionEvent
  const all: AgentSessionEvent[] = [
    { type: "stt.start_of_speech", event: { type: "start_of_speech" } },
    { type: "stt.end_of_speech", event: { type: "end_of_speech" } },
    speech("interim_transcript", options.interim),
    speech("final_transcript", options.final),
    ...delayEvents,
    { type: "LLM.CHUNK", turnId, chunk: { type: "text", delta: "Hello" } },
    {
      type: "LLM.CHUNK",
      turnId,
      chunk: { type: "tool_call", call: { callId: "c1", name: "t", arguments: {}, rawArguments: "{}" } },
    },
    { type: "LLM.CHUNK", turnId, chunk: { type: "end", responseId: "r", status: "completed", output: [] } },
    { type: "LLM.FAILED", turnId, error: new Error("lost") },
    { type: "OUTPUT.STARTED" },
    done("tts", { outcome: "done", segments: [] }),
    done("playout", undefined),
    done("measurePlayed", "Hel"),
    done("runTools", [{ callId: "c1", name: "t", output: 1 }]),
    { type: "INTERRUPT" },
    { type: "USER.COMMIT" },
    ...(options.close ? [{ type: "CLOSE" } as const] : []),
  ]
  if (snapshot.matches({ live: { agent: "idle" } })) {
    all.push({ type: "SAY", text: "Hi.", allowInterruptions: false })
    all.push({ type: "GENERATE_REPLY", instructions: "Greet." })
  }
  return all.filter(
    (e) => e.type !== "LLM.CHUNK" || e.chunk.type !== "tool_call" || c.pendingCalls.length === 0,
  )
}

/** The abstraction of the pipeline machine's context both models explore (`extra` adds to it). */
export const pipelineStateKey = (
  snapshot: SnapshotFrom<typeof agentSessionMachine>,
  ...extra: readonly unknown[]
): string => {
  const c = snapshot.context
  return JSON.stringify([
    snapshot.value,
    snapshot.status,
    c.userText !== "",
    c.pendingTurn !== "",
    c.pendingCalls.length,
    c.toolSteps,
    c.replyInterruptible,
    ...extra,
  ])
}
