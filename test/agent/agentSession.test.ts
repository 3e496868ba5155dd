/**
 * Whole calls against the simulator on real sockets: a scripted caller speaks (the
 * simulator's voice), the simulator's transcriber hears it, the Responses chain answers, the
 * speech endpoint speaks; the agent session runs every part on one runtime.
 */
import { afterEach, assert, describe, it } from "vitest"
import { wordsHeard } from "../../machines/agent/agentSession.ts"
import {
  type AgentEvent,
  type AgentSession,
  createAgentSession,
  defineAgent,
  defineTool,
} from "../../src/agent/index.ts"
import type { ModelReply, Simulator } from "../../src/simulator/index.ts"
import { startSimulator } from "../../src/simulator/index.ts"
import { scriptedCaller } from "../../src/testing/index.ts"
import { eventually } from "../stt/transcriptionSessionHelpers.ts"

const open: { session: AgentSession; sim: Simulator }[] = []
afterEach(async () => {
  for (const { session, sim } of open.splice(0)) {
    await session.close()
    await sim.close()
  }
})

const call = async (
  transcripts: readonly string[],
  replies: readonly ModelReply[],
  extra: Partial<Parameters<typeof createAgentSession>[0]> = {},
) => {
  const sim = await startSimulator({ scenario: { transcripts, replies } })
  const caller = scriptedCaller()
  const session = createAgentSession({
    agent: defineAgent({ instructions: "Be brief." }),
    openai: { apiKey: "sk-simulator", baseUrl: sim.httpUrl },
    env: {},
    input: caller,
    ...extra,
  })
  open.push({ session, sim })
  const events: AgentEvent[] = []
  void (async () => {
    for await (const event of session) events.push(event)
  })()
  const seen =
    (type: AgentEvent["type"], count = 1) =>
    () =>
      events.filter((e) => e.type === type).length >= count
  const seenState = (state: string) => () => events.some((e) => e.type === "agent_state" && e.state === state)
  return { sim, caller, session, events, seen, seenState }
}

describe("wordsHeard", () => {
  it("keeps whole words within the fraction", () => {
    assert.strictEqual(wordsHeard("one two three four", 0), "")
    assert.strictEqual(wordsHeard("one two three four", 0.5), "one two")
    assert.strictEqual(wordsHeard("one two three four", 0.45), "one two")
    assert.strictEqual(wordsHeard("one two three four", 0.1), "")
    assert.strictEqual(wordsHeard("one two three four", 1), "one two three four")
  })
})

describe("agent session against the simulator", () => {
  it("answers a plain turn and plays the reply to its end", async () => {
    const { caller, session, events, seen } = await call(["hello there"], [{ text: "Hi, how can I help?" }])
    caller.say("hello there")
    await eventually(seen("agent_transcript"), 15_000)
    const kinds = events.map((e) =>
      e.type === "agent_state" || e.type === "user_state" ? `${e.type}:${e.state}` : e.type,
    )
    assert.includeMembers(kinds, [
      "user_state:speaking",
      "user_state:endOfTurnPending",
      "user_transcript",
      "agent_state:thinking",
      "agent_state:speaking",
      "agent_state:idle",
      "metrics",
    ])
    assert.isBelow(kinds.indexOf("user_transcript"), kinds.indexOf("agent_state:speaking"))
    const chat = session.chat()
    assert.deepInclude(chat[0], { role: "user", content: "hello there" })
    const last = chat[chat.length - 1] as { role?: string; content?: string }
    assert.strictEqual(last.role, "assistant")
    assert.strictEqual(last.content, "Hi, how can I help?")
    const metrics = session.metrics()
    assert.lengthOf(metrics, 1)
    assert.isAtLeast(metrics[0]?.totalMs ?? -1, 0)
    // The reply was played out before it counted as spoken.
    const spoke = events.find((e) => e.type === "agent_transcript")
    assert(spoke?.type === "agent_transcript")
    assert.strictEqual(spoke.text, "Hi, how can I help?")
    assert.isFalse(spoke.interrupted)
    assert.isAtLeast(spoke.atMs + 1, session.output.agentEndMs())
    assert.isTrue(session.actor.getSnapshot().matches({ live: { agent: "idle" } }))
  }, 30_000)

  it("runs a tool and answers with its result in the context", async () => {
    const calls: unknown[] = []
    const { caller, session, seen, events } = await call(
      ["weather in Oslo"],
      [{ functionCall: { name: "get_weather", arguments: '{"city":"Oslo"}' } }, { text: "Snowing in Oslo." }],
      {
        agent: defineAgent({
          instructions: "Use the tool.",
          tools: [
            defineTool({
              name: "get_weather",
              parameters: { type: "object", properties: { city: { type: "string" } } },
              execute: (args) => {
                calls.push(args)
                return { sky: "snow" }
              },
            }),
          ],
        }),
      },
    )
    caller.say("weather in Oslo")
    await eventually(seen("agent_transcript"), 15_000)
    assert.deepStrictEqual(calls, [{ city: "Oslo" }])
    assert.isTrue(events.some((e) => e.type === "tool_called" && e.call.name === "get_weather"))
    const chat = session.chat()
    const output = chat.find((i) => i.type === "function_call_output") as { output: unknown } | undefined
    assert.isDefined(output)
    assert.include(JSON.stringify(output?.output), "snow")
    assert.isTrue(chat.some((i) => i.type === "function_call"))
  }, 30_000)

  it("stops speaking when the caller cuts in and keeps only the words heard", async () => {
    const reply =
      "This is a long answer that goes on and on about many things so that the caller has time to cut in before it ends."
    const { caller, session, events, seen, seenState } = await call(
      ["tell me everything", "stop please"],
      [{ text: reply }, { text: "Sure." }],
      { minInterruptionMs: 300 },
    )
    caller.say("tell me everything")
    await eventually(seenState("speaking"), 15_000)
    await new Promise((resolve) => setTimeout(resolve, 800))
    caller.say("stop please")
    await eventually(seen("interrupted"), 15_000)
    const cut = events.find((e) => e.type === "interrupted")
    assert(cut?.type === "interrupted")
    assert.isAbove(cut.heard.length, 0)
    assert.isBelow(cut.heard.length, reply.length)
    assert.isTrue(reply.startsWith(cut.heard))
    const assistant = session.chat().find((i) => "role" in i && i.role === "assistant") as { content: string }
    assert.strictEqual(assistant.content, cut.heard)
    // The agent's track ends where the caller cut in, not where the reply would have.
    assert.isBelow(session.output.agentEndMs(), cut.atMs + 50)
    await eventually(seen("agent_transcript"), 15_000)
    assert.isFalse(events.some((e) => e.type === "agent_transcript" && e.text === reply))
  }, 30_000)

  it("does not stop for speech shorter than minInterruptionMs", async () => {
    const reply = "A reply long enough to be talked over for a moment by the caller without stopping."
    const { caller, events, seen, seenState } = await call(["go on"], [{ text: reply }], {
      minInterruptionMs: 3_000,
    })
    caller.say("go on")
    await eventually(seenState("speaking"), 15_000)
    caller.say("mm")
    await eventually(seen("agent_transcript"), 20_000)
    assert.isFalse(events.some((e) => e.type === "interrupted"))
  }, 30_000)

  it("tears down mid-reply: no timer, fiber or socket is left", async () => {
    const { caller, session, sim, seenState } = await call(
      ["hello"],
      [{ text: "A reply that is still being spoken when the call ends, long enough to be cut." }],
    )
    caller.say("hello")
    await eventually(seenState("speaking"), 15_000)
    await session.close()
    await session.close()
    assert.strictEqual(session.runtime.activeFibers, 0)
    assert.strictEqual(session.runtime.clock.pendingTimers, 0)
    assert.strictEqual(session.actor.getSnapshot().status, "done")
    await eventually(() => sim.connections.every((c) => !c.open), 5_000)
  }, 30_000)
})
