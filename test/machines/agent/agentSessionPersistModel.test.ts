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
import { createActor, fromCallback, fromPromise, type SnapshotFrom } from "xstate"
import { getShortestPaths, getStateNodes } from "xstate/graph"
import {
  type AgentSessionEvent,
  type AgentSessionInput,
  agentRestoreOf,
  agentSessionMachine,
  agentStateOf,
  type LlmTurnInput,
  type ToolOutput,
} from "../../../machines/agent/agentSession.ts"
import { wordsOf } from "../../../machines/agent/turnRules.ts"
import type { ToolCall } from "../../../machines/responses/chunks.ts"

const never = <T, I>() => fromPromise<T, I>(() => new Promise<T>(() => {}))
const machineWith = (rounds: LlmTurnInput[]) =>
  agentSessionMachine.provide({
    actors: {
      stt: fromCallback(() => () => {}),
      llm: fromCallback(() => () => {}),
      tts: fromCallback(() => () => {}),
      relayStt: fromCallback(() => () => {}),
      llmTurn: fromCallback<{ readonly type: string }, LlmTurnInput>(({ input }) => {
        rounds.push(input)
        return () => {}
      }),
      runTools: never<readonly ToolOutput[], { readonly calls: readonly ToolCall[] }>(),
      playout: never<void, void>(),
      measurePlayed: never<string, { readonly reply: string }>(),
    },
  })
const machine = machineWith([])
type Snapshot = SnapshotFrom<typeof machine>

const input: AgentSessionInput = {
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

const delayEvents = getStateNodes(machine.root).flatMap((node) =>
  node.after.map((t) => ({ type: t.eventType }) as unknown as AgentSessionEvent),
)

const speech = (type: "interim_transcript" | "final_transcript", text: string) =>
  ({ type: `stt.${type}`, event: { type, alternatives: [{ text }] } }) as AgentSessionEvent

/** A small fixed event set; each final transcript names the turn it came in, so words can be told apart. */
const events = (snapshot: Snapshot): AgentSessionEvent[] => {
  const c = snapshot.context
  const turnId = c.turnId
  const done = (id: string, output: unknown) =>
    ({ type: `xstate.done.actor.${id}`, output }) as unknown as AgentSessionEvent
  const all: AgentSessionEvent[] = [
    { type: "stt.start_of_speech", event: { type: "start_of_speech" } },
    { type: "stt.end_of_speech", event: { type: "end_of_speech" } },
    speech("interim_transcript", "um"),
    speech("final_transcript", `w${c.turnCount}`),
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
  ]
  // The application's replies, asked for while the agent is idle (so they start at once).
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
    c.replySource,
    Math.min(c.turnCount, 2),
  ])
}

const userWords = (items: readonly unknown[]): string[] =>
  items.flatMap((item) => {
    const { role, content } = item as { role?: string; content?: unknown }
    return role === "user" && typeof content === "string" ? wordsOf(content) : []
  })

describe("agentSessionMachine persist round trips", () => {
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

const textOfFinal = (event: AgentSessionEvent): string =>
  (event as unknown as { event: { alternatives: { text: string }[] } }).event.alternatives[0]?.text ?? ""
