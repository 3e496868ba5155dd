/**
 * Model-based round trips of the realtime agent machine's snapshots: at every state reached by
 * the shortest paths of its graph, the context is persisted (`agentRealtimeRestoreOf`, through
 * JSON) and a new actor started from it (`input.restore`). The resumed actor runs the calls
 * the original had not answered, and from there the original (its response ended) and the
 * resumed one do the same: the same tool outputs sent back, the same results reported, the
 * next request named the same.
 */
import { describe, expect, it } from "vitest"
import { createActor, type SnapshotFrom } from "xstate"
import { getShortestPaths } from "xstate/graph"
import {
  type AgentRealtimeEvent,
  type AgentRealtimeInput,
  agentRealtimeMachine,
  agentRealtimeRestoreOf,
} from "../../../machines/agent/agentRealtime.ts"
import type { ToolOutput } from "../../../machines/agent/agentSession.ts"
import { GRAPH_TEST_TIMEOUT_MS } from "../../support/graphTests.ts"
import { realtimeActors } from "./modelSupport.ts"

/** The machine with its I/O faked; the provided actions write what they are asked to `log`. */
const machineLogging = (log: string[]) =>
  agentRealtimeMachine.provide({
    actors: realtimeActors(),
    actions: {
      sendToolOutputs: (
        _args,
        params: { readonly outputs: readonly ToolOutput[]; readonly respond: boolean },
      ) => void log.push(`outputs:${JSON.stringify(params)}`),
      requestReply: (
        _args,
        params: { readonly requestId: string; readonly toolChoice: "none" | undefined },
      ) => void log.push(`reply:${params.requestId}:${params.toolChoice ?? ""}`),
      requestSpeech: (_args, params: { readonly requestId: string; readonly text: string }) =>
        void log.push(`say:${params.requestId}:${params.text}`),
    },
  })
const explorer = machineLogging([])
type Snapshot = SnapshotFrom<typeof explorer>

const input: AgentRealtimeInput = { maxToolSteps: 1, allowInterruptions: true, realtimeInput: {} }
const relayed = <T extends string, E>(type: T, event: E) => ({ type: `realtime.${type}` as const, event })

const events = (snapshot: Snapshot): AgentRealtimeEvent[] => {
  const responseId = snapshot.context.responseId ?? "resp_1"
  const calls = snapshot.context.pendingCalls.length
  const all = [
    relayed("input_speech_started", { itemId: "u" }),
    relayed("input_speech_stopped", { itemId: "u" }),
    relayed("response_started", {
      responseId: snapshot.context.responseId === undefined ? "resp_1" : "resp_2",
      requestId: undefined,
    }),
    relayed("audio", { responseId, itemId: "a", samples: new Int16Array(480) }),
    relayed("function_call", { responseId, callId: `c${calls}`, name: "t", arguments: "{}" }),
    relayed("response_done", { responseId, status: "completed" }),
    relayed("interrupted", { responseId, itemId: "a", audioEndMs: 100 }),
    { type: "SAY", text: "Hello." },
    { type: "xstate.done.actor.playout", output: undefined },
    { type: "xstate.done.actor.measureHeard", output: "Hi" },
    {
      type: "xstate.done.actor.runTools",
      output: snapshot.context.pendingCalls.map((c) => ({ callId: c.callId, name: c.name, output: 1 })),
    },
  ] as AgentRealtimeEvent[]
  // At most two calls per response and two requests keep the abstraction finite.
  return all.filter(
    (e) =>
      (e.type !== "realtime.function_call" || calls < 2) &&
      (e.type !== "SAY" || snapshot.context.requests < 2),
  )
}

const serializeState = (snapshot: Snapshot): string => {
  const c = snapshot.context
  return JSON.stringify([
    snapshot.value,
    c.responseId ?? null,
    c.pendingCalls.map((call) => call.callId),
    c.toolRounds,
    Math.min(c.requests, 2),
    c.audioItemId !== undefined,
  ])
}

/** Runs the calls waiting in `actor` (its response ended first), then asks it to say a line. */
const continueFrom = (actor: ReturnType<typeof createActor<typeof explorer>>) => {
  // A cut-off reply drops its calls once the heard words are measured.
  if (actor.getSnapshot().matches({ live: { agent: "interrupted" } }))
    actor.send({ type: "xstate.done.actor.measureHeard", output: "" } as unknown as AgentRealtimeEvent)
  const c = actor.getSnapshot().context
  if (c.pendingCalls.length > 0 && !actor.getSnapshot().matches({ live: { agent: "runningTools" } }))
    actor.send(relayed("response_done", { responseId: c.responseId ?? "", status: "completed" }))
  if (actor.getSnapshot().matches({ live: { agent: "runningTools" } })) {
    const calls = actor.getSnapshot().context.pendingCalls
    actor.send({
      type: "xstate.done.actor.runTools",
      output: calls.map((call) => ({ callId: call.callId, name: call.name, output: 1 })),
    } as unknown as AgentRealtimeEvent)
  }
  actor.send({ type: "SAY", text: "After." })
}

// Exploring and replaying the graph is pure CPU: a few seconds on a quiet machine, many times
// that on a loaded one, so these tests wait longer than the suite's default before timing out.
describe("agentRealtimeMachine persist round trips", { timeout: GRAPH_TEST_TIMEOUT_MS }, () => {
  const paths = getShortestPaths(explorer, {
    input,
    events,
    serializeState,
    serializeEvent: (event) => JSON.stringify(event, (_k, v) => (v instanceof Int16Array ? v.length : v)),
    limit: 20_000,
  })

  it("resumes at every reachable state: unanswered calls run, then the same outputs and requests", () => {
    let withCalls = 0
    for (const path of paths) {
      if (!path.state.matches("live")) continue
      const originalLog: string[] = []
      const original = createActor(machineLogging(originalLog), { input }).start()
      const emittedBy = (actor: typeof original) => {
        const seen: string[] = []
        actor.on("*", (e) => void seen.push(JSON.stringify(e)))
        return seen
      }
      for (const step of path.steps)
        if ((step.event.type as string) !== "xstate.init") original.send(step.event)
      const persisted = JSON.parse(JSON.stringify(agentRealtimeRestoreOf(original.getSnapshot())))

      const resumedLog: string[] = []
      const resumed = createActor(machineLogging(resumedLog), {
        input: { ...input, restore: persisted },
      }).start()
      const pending = persisted.pendingCalls.length > 0
      if (pending) withCalls++
      expect(resumed.getSnapshot().matches({ live: { agent: pending ? "runningTools" : "listening" } })).toBe(
        true,
      )

      originalLog.length = 0
      const originalEmitted = emittedBy(original)
      const resumedEmitted = emittedBy(resumed)
      continueFrom(original)
      continueFrom(resumed)
      const label = JSON.stringify(path.state.value)
      expect(resumedLog, label).toEqual(originalLog)
      expect(
        resumedEmitted.filter((e) => e.includes('"tool_result"')),
        label,
      ).toEqual(originalEmitted.filter((e) => e.includes('"tool_result"')))
      original.stop()
      resumed.stop()
    }
    expect(paths.length).toBeGreaterThan(20)
    expect(withCalls).toBeGreaterThan(3)
  })
})
