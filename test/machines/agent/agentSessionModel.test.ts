/**
 * Model-based tests of the agent session machine: its graph is explored with `xstate/graph`
 * (shortest paths over the state value and an abstraction of the context; delays and
 * children's completions given as the events they are), the paths must reach every state
 * node, every path replayed on a running actor must reach the same states, and closing the
 * actor at the end of every path stops every child it invoked.
 */
import { describe, expect, it } from "vitest"
import { type AnyStateNode, createActor, fromCallback, fromPromise, type SnapshotFrom } from "xstate"
import { getShortestPaths, getStateNodes } from "xstate/graph"
import {
  type AgentSessionEvent,
  type AgentSessionInput,
  agentSessionMachine,
  agentStateOf,
  type ToolOutput,
  userStateOf,
} from "../../../machines/agent/agentSession.ts"
import type { ToolCall } from "../../../machines/responses/chunks.ts"

// Children that never finish on their own: their completions are events of the model.
const never = <T, I>() => fromPromise<T, I>(() => new Promise<T>(() => {}))
const machine = agentSessionMachine.provide({
  actors: {
    stt: fromCallback(() => () => {}),
    llm: fromCallback(() => () => {}),
    tts: fromCallback(() => () => {}),
    relayStt: fromCallback(() => () => {}),
    llmTurn: fromCallback(() => () => {}),
    runTools: never<readonly ToolOutput[], { readonly calls: readonly ToolCall[] }>(),
    playout: never<void, void>(),
    measurePlayed: never<string, { readonly reply: string }>(),
  },
})
type Snapshot = SnapshotFrom<typeof machine>

const input: AgentSessionInput = {
  settings: {
    // Long delays: a replayed path sends the delays' events itself, before any timer fires.
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

/** The events of every `after` of the machine (`xstate.after.<delay>.<state id>`). */
const delayEvents = getStateNodes(machine.root).flatMap((node) =>
  node.after.map((t) => ({ type: t.eventType }) as unknown as AgentSessionEvent),
)

const speech = (type: "interim_transcript" | "final_transcript", text: string) =>
  ({ type: `stt.${type}`, event: { type, alternatives: [{ text }] } }) as AgentSessionEvent

const events = (snapshot: Snapshot): AgentSessionEvent[] => {
  const c = snapshot.context
  const turnId = c.turnId
  const done = (id: string, output: unknown) =>
    ({ type: `xstate.done.actor.${id}`, output }) as unknown as AgentSessionEvent
  const all: AgentSessionEvent[] = [
    { type: "stt.start_of_speech", event: { type: "start_of_speech" } },
    { type: "stt.end_of_speech", event: { type: "end_of_speech" } },
    speech("interim_transcript", "wait"),
    speech("final_transcript", "wait"),
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
    { type: "CLOSE" },
  ]
  // The application's replies are asked for while the agent is idle (a queue would not end).
  if (snapshot.matches({ live: { agent: "idle" } })) {
    all.push({ type: "SAY", text: "Hi.", allowInterruptions: false })
    all.push({ type: "GENERATE_REPLY", instructions: "Greet." })
  }
  return all.filter(
    (e) => e.type !== "LLM.CHUNK" || e.chunk.type !== "tool_call" || c.pendingCalls.length === 0,
  )
}

const serializeState = (snapshot: Snapshot): string => {
  const c = snapshot.context
  return JSON.stringify([
    snapshot.value,
    snapshot.status,
    c.userText !== "",
    c.pendingTurn !== "",
    c.pendingCalls.length,
    c.toolSteps,
    c.replyInterruptible,
  ])
}

describe("agentSessionMachine model", () => {
  const paths = getShortestPaths(machine, {
    input,
    events,
    serializeState,
    serializeEvent: (event) => JSON.stringify(event),
    limit: 200_000,
  })
  const visited = new Set<string>()

  it("replays every shortest path on a running actor, and CLOSE at its end stops every child", () => {
    expect(paths.length).toBeGreaterThan(50)
    for (const path of paths) {
      for (const node of path.state._nodes as AnyStateNode[]) visited.add(node.id)
      const actor = createActor(machine, { input }).start()
      for (const step of path.steps) {
        if ((step.event.type as string) === "xstate.init") continue
        actor.send(step.event)
        expect(JSON.stringify(actor.getSnapshot().value)).toBe(JSON.stringify(step.state.value))
      }
      // The reported states are defined in every state.
      expect(["idle", "thinking", "runningTools", "speaking"]).toContain(agentStateOf(actor.getSnapshot()))
      expect(["silent", "speaking", "endOfTurnPending"]).toContain(userStateOf(actor.getSnapshot()))
      actor.send({ type: "CLOSE" })
      const closed = actor.getSnapshot()
      expect(closed.status).toBe("done")
      expect(Object.keys(closed.children)).toEqual([])
      actor.stop()
    }
  })

  it("reaches every state node but the transient ones (left by `always` in the same step)", () => {
    const all = getStateNodes(machine.root)
      .filter(
        (n) => n.always === undefined || n.always.length === 0 || n.always.some((t) => t.guard !== undefined),
      )
      .map((n) => n.id)
    expect(all.filter((id) => !visited.has(id))).toEqual([])
  })

  it("a reply that holds the floor is never left for a new transcript", () => {
    for (const path of paths) {
      const steps = path.steps
      for (let i = 1; i < steps.length; i++) {
        const before = steps[i - 1]?.state
        const step = steps[i]
        if (before === undefined || step === undefined) continue
        const holding = before.matches({ live: { agent: "replying" } }) && !before.context.replyInterruptible
        const transcriptEvent =
          step.event.type === "stt.final_transcript" || (step.event.type as string).includes("Endpointing")
        if (holding && transcriptEvent) expect(step.state.matches({ live: { agent: "replying" } })).toBe(true)
      }
    }
  })
})
