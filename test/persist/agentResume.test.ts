/**
 * Persist and resume of an agent call against the simulator: the chat carried to a new
 * session (its first model request holds the whole conversation), and a caller's turn whose
 * reply was still being made answered by the resumed session without being said again.
 */
import { afterEach, describe, expect, it } from "vitest"
import {
  type AgentEvent,
  type AgentSession,
  createAgentSession,
  defineAgent,
  resumeAgentSession,
} from "../../src/agent/index.ts"
import { type ModelReply, type Simulator, startSimulator } from "../../src/simulator/index.ts"
import { createFakeTTS, scriptedCaller } from "../../src/testing/index.ts"
import { eventually } from "../stt/transcriptionSessionHelpers.ts"

const open: { session: AgentSession; sim: Simulator }[] = []
afterEach(async () => {
  for (const { session, sim } of open.splice(0)) {
    await session.close()
    await sim.close()
  }
})

const start = (sim: Simulator, snapshot?: unknown) => {
  const caller = scriptedCaller()
  const options = {
    agent: defineAgent({ instructions: "Be brief." }),
    openai: { apiKey: "sk-simulator", baseUrl: sim.httpUrl },
    env: {},
    input: caller,
    tts: createFakeTTS(),
  }
  const session = snapshot === undefined ? createAgentSession(options) : resumeAgentSession(snapshot, options)
  open.push({ session, sim })
  const events: AgentEvent[] = []
  void (async () => {
    for await (const event of session) events.push(event)
  })()
  return { caller, session, events }
}

const said = (session: AgentSession) =>
  session.chat().map((i) => {
    const { role, content } = i as { role?: string; content?: unknown }
    return `${role}:${String(content)}`
  })

const responsesCreates = (sim: Simulator) =>
  sim.connections
    .filter((c) => c.kind === "responses")
    .flatMap((c) =>
      c.received.filter((e) => e.type === "response.create").map((e) => e.payload as { input?: unknown[] }),
    )

describe("agent persist and resume", () => {
  it("carries the chat to a new session, whose first request holds the whole conversation", async () => {
    const replies: ModelReply[] = [{ text: "Hi there." }, { text: "Sunny." }]
    const sim = await startSimulator({ scenario: { transcripts: ["hello there", "weather today"], replies } })
    const first = start(sim)
    first.caller.say("hello there")
    await eventually(() => first.events.some((e) => e.type === "agent_transcript"), 15_000)
    await eventually(() => first.session.actor.getSnapshot().context.items.length === 2, 5_000)
    const snapshot = JSON.parse(JSON.stringify(first.session.persist()))
    expect(JSON.stringify(snapshot)).not.toContain("sk-simulator")
    await first.session.close()

    const second = start(sim, snapshot)
    second.caller.say("weather today")
    await eventually(() => second.events.some((e) => e.type === "agent_transcript"), 15_000)
    await eventually(() => said(second.session).length === 4, 5_000)
    expect(said(second.session)).toEqual([
      "user:hello there",
      "assistant:Hi there.",
      "user:weather today",
      "assistant:Sunny.",
    ])
    const creates = responsesCreates(sim)
    expect(creates.at(-1)?.input?.length).toBeGreaterThanOrEqual(3)
    expect(second.session.persist().data.metrics.length).toBe(2)
  }, 40_000)

  it("answers in the new session a turn whose reply was still being made, without the caller saying it again", async () => {
    const sim = await startSimulator({
      scenario: {
        transcripts: ["hello there"],
        replies: [{ text: "Lost with the first process, word by word." }, { text: "Hello again." }],
        // The first model connection answers slowly: the reply is still being made when persisted.
        connections: { responses: [{ latency: { betweenDeltasMs: 400 } }] },
      },
    })
    const first = start(sim)
    first.caller.say("hello there")
    await eventually(
      () => first.events.some((e) => e.type === "agent_state" && e.state === "thinking"),
      15_000,
    )
    const snapshot = first.session.persist()
    expect(snapshot.data.restore.pendingTurn).toBe("hello there")
    expect(snapshot.data.restore.items).toEqual([])
    await first.session.close()

    const second = start(sim, snapshot)
    await eventually(() => second.events.some((e) => e.type === "agent_transcript"), 15_000)
    await eventually(() => said(second.session).length === 2, 5_000)
    expect(said(second.session)[0]).toBe("user:hello there")
    expect(second.events.some((e) => e.type === "user_transcript")).toBe(false)
  }, 40_000)
})

describe("agent persist and resume of the caller's audio", () => {
  it("hears in the new session what the caller said before the move and was not transcribed yet", async () => {
    const sim = await startSimulator({
      scenario: { transcripts: ["hello there"], replies: [{ text: "Hello again." }] },
    })
    const first = start(sim)
    first.caller.say("hello there")
    await eventually(
      () => first.events.some((e) => e.type === "user_state" && e.state === "speaking"),
      15_000,
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    const snapshot = JSON.parse(JSON.stringify(first.session.persist()))
    expect(first.events.some((e) => e.type === "user_transcript")).toBe(false)
    expect(snapshot.data.speech.tail.length).toBeGreaterThan(0)
    await first.session.close()

    // The new session's caller says nothing: the words come from the snapshot.
    const second = start(sim, snapshot)
    await eventually(() => second.events.some((e) => e.type === "agent_transcript"), 15_000)
    await eventually(() => said(second.session).length === 2, 5_000)
    // The simulator hears the tone words: the ones spoken before the move, and no others.
    const [user, reply] = said(second.session)
    expect(user).toMatch(/^user:hello/)
    expect(reply).toBe("assistant:Hello again.")
  }, 40_000)
})
