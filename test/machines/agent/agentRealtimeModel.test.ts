/**
 * Model-based tests of the realtime agent machine: its graph is explored with `xstate/graph`
 * (shortest paths over the state value and an abstraction of the context, the Realtime
 * session and every I/O actor faked), the paths must reach every state node, every path
 * replayed on a running actor must reach the same states, and `CLOSE` from anywhere on a path
 * ends the machine.
 */
import { describe, expect, it } from "vitest"
import { type AnyStateNode, createActor, type SnapshotFrom } from "xstate"
import { getShortestPaths, getStateNodes } from "xstate/graph"
import {
  type AgentRealtimeEvent,
  type AgentRealtimeInput,
  agentRealtimeMachine,
  realtimeAgentStateOf,
  realtimeUserStateOf,
} from "../../../machines/agent/agentRealtime.ts"
import { GRAPH_TEST_TIMEOUT_MS } from "../../support/graphTests.ts"
import { realtimeActors } from "./modelSupport.ts"

const machine = agentRealtimeMachine.provide({
  actors: realtimeActors(),
})
type Snapshot = SnapshotFrom<typeof machine>

const inputs: Record<string, AgentRealtimeInput> = {
  interruptible: { maxToolSteps: 1, allowInterruptions: true, realtimeInput: {} },
  holdingTheFloor: { maxToolSteps: 1, allowInterruptions: false, realtimeInput: {} },
  // A resumed call whose response left a call unanswered starts by running it.
  resumedWithACall: {
    maxToolSteps: 1,
    allowInterruptions: true,
    realtimeInput: {},
    restore: {
      requests: 1,
      toolRounds: 0,
      pendingCalls: [{ callId: "c0", name: "t", arguments: {}, rawArguments: "{}" }],
    },
  },
}

const relayed = <T extends string, E>(type: T, event: E) => ({ type: `realtime.${type}` as const, event })

/** The events of the abstraction (a done event stands for each I/O actor's end). */
const events = (snapshot: Snapshot): AgentRealtimeEvent[] => {
  const responseId = snapshot.context.responseId ?? "resp_1"
  const all = [
    relayed("input_speech_started", { itemId: "u" }),
    relayed("input_speech_stopped", { itemId: "u" }),
    relayed("input_transcript", { text: "hi", final: true }),
    relayed("response_started", {
      responseId: snapshot.context.responseId === undefined ? "resp_1" : "resp_2",
      requestId: undefined,
    }),
    // The response a floor-holding request asked for.
    relayed("response_started", { responseId: "resp_floor", requestId: snapshot.context.floorRequestId }),
    relayed("audio", { responseId, itemId: "a", samples: new Int16Array(480) }),
    relayed("output_transcript", { responseId, delta: "Hi", done: false }),
    relayed("text", { responseId, delta: "Hi" }),
    relayed("function_call", { responseId, callId: "c", name: "t", arguments: "{}" }),
    relayed("response_done", { responseId, status: "completed" }),
    relayed("response_done", { responseId: "resp_stranger", status: "completed" }),
    relayed("interrupted", { responseId, itemId: "a", audioEndMs: 100 }),
    relayed("error", { error: { message: "x" }, fatal: false }),
    { type: "PLAYED", playedMs: 20 },
    { type: "SAY", text: "Hello." },
    { type: "SAY", text: "Hold on.", allowInterruptions: false },
    { type: "GENERATE_REPLY", instructions: undefined },
    { type: "INTERRUPT" },
    { type: "UPDATE_AGENT", instructions: "New.", tools: [] },
    { type: "xstate.done.actor.playout", output: undefined },
    { type: "xstate.done.actor.measureHeard", output: "Hi" },
    { type: "xstate.done.actor.runTools", output: [{ callId: "c", name: "t", output: 1 }] },
    { type: "CLOSE" },
  ] as AgentRealtimeEvent[]
  // One call per response keeps the abstraction finite.
  return all.filter((e) => e.type !== "realtime.function_call" || snapshot.context.pendingCalls.length === 0)
}

const serializeState = (snapshot: Snapshot): string => {
  const c = snapshot.context
  return JSON.stringify([
    snapshot.value,
    snapshot.status,
    c.responseId ?? null,
    c.pendingCalls.length,
    c.toolRounds,
    c.audioItemId !== undefined,
    c.floorRequestId !== undefined,
    c.holdingFloor,
  ])
}

// Exploring and replaying the graph is pure CPU: a few seconds on a quiet machine, many times
// that on a loaded one, so these tests wait longer than the suite's default before timing out.
describe("agentRealtimeMachine model", { timeout: GRAPH_TEST_TIMEOUT_MS }, () => {
  const visited = new Set<string>()
  for (const [name, input] of Object.entries(inputs)) {
    const paths = getShortestPaths(machine, {
      input,
      events,
      serializeState,
      serializeEvent: (event) => JSON.stringify(event, (_k, v) => (v instanceof Int16Array ? v.length : v)),
      limit: 20_000,
    })

    it(`replays every shortest path on a running actor, and CLOSE ends each (${name})`, () => {
      expect(paths.length).toBeGreaterThan(20)
      for (const path of paths) {
        for (const node of path.state._nodes as AnyStateNode[]) visited.add(node.id)
        const actor = createActor(machine, { input }).start()
        for (const step of path.steps) {
          if ((step.event.type as string) === "xstate.init") continue
          actor.send(step.event)
          const snapshot = actor.getSnapshot()
          expect(JSON.stringify(snapshot.value)).toBe(JSON.stringify(step.state.value))
          // The states the facade reports are always one of the contract's.
          expect(["idle", "thinking", "runningTools", "speaking"]).toContain(realtimeAgentStateOf(snapshot))
          expect(["silent", "speaking"]).toContain(realtimeUserStateOf(snapshot))
        }
        if (actor.getSnapshot().status === "active") actor.send({ type: "CLOSE" })
        expect(actor.getSnapshot().status).toBe("done")
        actor.stop()
      }
    })
  }

  it("reaches every state node", () => {
    const missing = getStateNodes(machine.root)
      // A transient state (eventless transitions only, like `agent.starting`) is never at rest.
      .filter((n) => n.always === undefined || n.always.length === 0)
      .map((n) => n.id)
      .filter((id) => !visited.has(id))
    expect(missing).toEqual([])
  })

  it("holds the floor: with allowInterruptions false, speech while playing out asks for no interruption", () => {
    const interruptions: unknown[] = []
    const held = machine.provide({ actions: { interruptResponse: () => void interruptions.push(1) } })
    for (const allowInterruptions of [true, false]) {
      const actor = createActor(held, {
        input: { maxToolSteps: 1, allowInterruptions, realtimeInput: {} },
      }).start()
      actor.send(relayed("response_started", { responseId: "r", requestId: undefined }))
      actor.send(relayed("audio", { responseId: "r", itemId: "a", samples: new Int16Array(480) }))
      actor.send(relayed("response_done", { responseId: "r", status: "completed" }))
      expect(actor.getSnapshot().matches({ live: { agent: { speaking: "playingOut" } } })).toBe(true)
      actor.send(relayed("input_speech_started", { itemId: "u" }))
      actor.stop()
    }
    expect(interruptions).toEqual([1])
  })

  it("holds the floor for one reply: cancel-on-speech off for it, on again once it has played", () => {
    const log: string[] = []
    const floor = machine.provide({
      actions: {
        interruptResponse: () => void log.push("interrupt"),
        setInterruptResponse: (_args, params: { readonly enabled: boolean }) =>
          void log.push(`interruptResponse:${params.enabled}`),
        requestSpeech: (_args, params: { readonly requestId: string; readonly text: string }) =>
          void log.push(`say:${params.requestId}`),
      },
    })
    const actor = createActor(floor, { input: inputs.interruptible as AgentRealtimeInput }).start()
    actor.send({ type: "SAY", text: "Hold on.", allowInterruptions: false })
    actor.send(relayed("response_started", { responseId: "r", requestId: "reply_1" }))
    actor.send(relayed("audio", { responseId: "r", itemId: "a", samples: new Int16Array(480) }))
    actor.send(relayed("response_done", { responseId: "r", status: "completed" }))
    actor.send(relayed("input_speech_started", { itemId: "u" }))
    expect(actor.getSnapshot().context.holdingFloor).toBe(true)
    actor.send({ type: "xstate.done.actor.playout", output: undefined } as unknown as AgentRealtimeEvent)
    expect(actor.getSnapshot().matches({ live: { agent: "listening" } })).toBe(true)
    expect(actor.getSnapshot().context.holdingFloor).toBe(false)
    actor.stop()
    // Listening and each reply's start state the setting they want (the facade sends only changes).
    expect(log).toEqual([
      "interruptResponse:true",
      "interruptResponse:false",
      "say:reply_1",
      "interruptResponse:false",
      "interruptResponse:true",
    ])
  })
})
