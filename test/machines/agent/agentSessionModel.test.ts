/**
 * Model-based tests of the agent session machine: its graph is explored with `xstate/graph`
 * (shortest paths over the state value and an abstraction of the context; delays and
 * children's completions given as the events they are), the paths must reach every state
 * node, every path replayed on a running actor must reach the same states, and closing the
 * actor at the end of every path stops every child it invoked.
 */
import { describe, expect, it } from "vitest"
import { type AnyStateNode, createActor, type SnapshotFrom } from "xstate"
import { getShortestPaths, getStateNodes } from "xstate/graph"
import {
  type AgentSessionEvent,
  agentSessionMachine,
  agentStateOf,
  userStateOf,
} from "../../../machines/agent/agentSession.ts"
import { GRAPH_TEST_TIMEOUT_MS } from "../../support/graphTests.ts"
import {
  delayEventsOf,
  pipelineActors,
  pipelineEvents,
  pipelineInput,
  pipelineStateKey,
} from "./modelSupport.ts"

const machine = agentSessionMachine.provide({ actors: pipelineActors() })
type Snapshot = SnapshotFrom<typeof machine>
const input = pipelineInput
const delayEvents = delayEventsOf<AgentSessionEvent>(machine)
const events = (snapshot: Snapshot): AgentSessionEvent[] =>
  pipelineEvents(snapshot, delayEvents, { interim: "wait", final: "wait", close: true })
const serializeState = (snapshot: Snapshot): string => pipelineStateKey(snapshot)

// Exploring and replaying the graph is pure CPU: a few seconds on a quiet machine, many times
// that on a loaded one, so these tests wait longer than the suite's default before timing out.
describe("agentSessionMachine model", { timeout: GRAPH_TEST_TIMEOUT_MS }, () => {
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
