/**
 * Model-based round trips of the pipeline agent's snapshots: at every state reached by the
 * shortest paths of the machine's graph (`xstate/graph`, over the state value and a small
 * abstraction of the context, with a small fixed event set), the context is persisted
 * (`agentRestoreOf`, through JSON) and a new actor started from it (`input.restore`). Every
 * word the caller said on the path is kept, in order (in the chat or as the turn to answer);
 * a reply in progress is dropped, never half kept; the resumed actor's first model round asks
 * about exactly the restored chat plus the waiting words, and the turn count goes on.
 */
import { describe, expect, it } from "vitest"
import { createActor, fromCallback, type SnapshotFrom } from "xstate"
import { getShortestPaths } from "xstate/graph"
import {
  type AgentSessionEvent,
  agentRestoreOf,
  agentSessionMachine,
  agentStateOf,
  type LlmTurnInput,
} from "../../../machines/agent/agentSession.ts"
import { wordsOf } from "../../../machines/agent/turnRules.ts"
import { GRAPH_TEST_TIMEOUT_MS } from "../../support/graphTests.ts"
import {
  delayEventsOf,
  pipelineActors,
  pipelineEvents,
  pipelineInput,
  pipelineStateKey,
  textOfFinal,
} from "./modelSupport.ts"

const machineWith = (rounds: LlmTurnInput[]) =>
  agentSessionMachine.provide({
    actors: pipelineActors(
      fromCallback<{ readonly type: string }, LlmTurnInput>(({ input }) => {
        rounds.push(input)
        return () => {}
      }),
    ),
  })
const machine = machineWith([])
type Snapshot = SnapshotFrom<typeof machine>
const input = pipelineInput
const delayEvents = delayEventsOf<AgentSessionEvent>(machine)

/** A small fixed event set; each final transcript names the turn it came in, so words can be told apart. */
const events = (snapshot: Snapshot): AgentSessionEvent[] =>
  pipelineEvents(snapshot, delayEvents, {
    interim: "um",
    final: `w${snapshot.context.turnCount}`,
    close: false,
  })

const serializeState = (snapshot: Snapshot): string =>
  pipelineStateKey(snapshot, snapshot.context.replySource, Math.min(snapshot.context.turnCount, 2))

const userWords = (items: readonly unknown[]): string[] =>
  items.flatMap((item) => {
    const { role, content } = item as { role?: string; content?: unknown }
    return role === "user" && typeof content === "string" ? wordsOf(content) : []
  })

// Exploring and replaying the graph is pure CPU: a few seconds on a quiet machine, many times
// that on a loaded one, so these tests wait longer than the suite's default before timing out.
describe("agentSessionMachine persist round trips", { timeout: GRAPH_TEST_TIMEOUT_MS }, () => {
  const paths = getShortestPaths(machine, {
    input,
    events,
    serializeState,
    serializeEvent: (event) => JSON.stringify(event),
    limit: 200_000,
  })

  it("keeps every word and drops the reply in progress at every reachable state", () => {
    let compared = 0
    let answered = 0
    for (const path of paths) {
      const original = createActor(machine, { input }).start()
      const said: string[] = []
      for (const step of path.steps) {
        if ((step.event.type as string) === "xstate.init") continue
        if (step.event.type === "stt.final_transcript") said.push(...wordsOf(textOfFinal(step.event)))
        original.send(step.event)
      }
      const snapshot = original.getSnapshot()
      if (snapshot.status !== "active") {
        original.stop()
        continue
      }
      const replying = agentStateOf(snapshot) !== "idle"
      const restore = JSON.parse(JSON.stringify(agentRestoreOf(snapshot.context, replying)))
      const where = JSON.stringify(snapshot.value)

      // Every word the caller said, in order: in the chat, or as the turn answered first.
      expect([...userWords(restore.items), ...wordsOf(restore.pendingTurn)], where).toEqual(said)
      // A reply in progress is dropped whole: the chat ends where that reply began.
      if (replying) {
        expect(restore.items.length, where).toBeLessThanOrEqual(snapshot.context.replyFrom)
        expect(restore.items, where).toEqual(snapshot.context.items.slice(0, restore.items.length))
      } else {
        expect(restore.items, where).toEqual(snapshot.context.items)
      }

      const rounds: LlmTurnInput[] = []
      const resumed = createActor(machineWith(rounds), { input: { ...input, restore } }).start()
      if (restore.pendingTurn === "") {
        expect(agentStateOf(resumed.getSnapshot()), where).toBe("idle")
        expect(rounds, where).toEqual([])
      } else {
        // The waiting words are answered at once, after exactly the restored chat.
        expect(
          rounds.map((r) => r.items),
          where,
        ).toEqual([[...restore.items, { role: "user", content: restore.pendingTurn }]])
        expect(resumed.getSnapshot().context.turnCount, where).toBe(restore.turnCount + 1)
        answered++
      }
      original.stop()
      resumed.stop()
      compared++
    }
    expect(compared).toBeGreaterThan(50)
    expect(answered).toBeGreaterThan(10)
  })
})
