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
import type { ModelReply, ScenarioSetup, Simulator } from "../../src/simulator/index.ts"
import { startSimulator } from "../../src/simulator/index.ts"
import { handlesBackTo, scriptedCaller, settledHandles } from "../../src/testing/index.ts"
import { eventually } from "../stt/transcriptionSessionHelpers.ts"

const open: { session: AgentSession; sim: Simulator }[] = []
afterEach(async () => {
  for (const { session, sim } of open.splice(0)) {
    await session.close()
    await sim.close()
  }
})

const call = async (
  transcripts: NonNullable<ScenarioSetup["transcripts"]>,
  replies: readonly ModelReply[],
  extra: Partial<Parameters<typeof createAgentSession>[0]> = {},
  connections: ScenarioSetup["connections"] = {},
) => {
  const sim = await startSimulator({ scenario: { transcripts, replies, connections } })
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

  it("a turn superseded while the model still streams sends response.cancel on the Responses socket", async () => {
    const reply = Array.from({ length: 60 }, (_, i) => `word${i}.`).join(" ")
    const { caller, session, sim, seen, seenState } = await call(
      ["tell me everything", "stop please"],
      [{ text: reply }, { text: "Sure." }],
      { minInterruptionMs: 300 },
      { responses: [{ latency: { betweenDeltasMs: 60 } }] },
    )
    caller.say("tell me everything")
    // The model streams for about 4 s (60 deltas, 60 ms apart): the caller speaks again meanwhile.
    await eventually(seenState("thinking"), 15_000)
    caller.say("stop please")
    await eventually(seen("interrupted"), 15_000)
    const responses = sim.connections.filter((c) => c.kind === "responses")
    const received = () => responses.flatMap((c) => c.received.map((e) => e.type))
    await eventually(() => received().includes("response.cancel"), 5_000)
    await eventually(seen("agent_transcript", 2), 15_000)
    assert.deepStrictEqual(received(), ["response.create", "response.cancel", "response.create"])
    // Nothing of the superseded reply was played, so none of it stays in the chat.
    assert.isFalse(session.chatContext.some((i) => "content" in i && i.content === reply))
    assert.deepInclude(session.chatContext.at(-1), { role: "assistant", content: "Sure." })
  }, 30_000)

  it("a Responses socket dropped mid-reply is reported; the chain reconnects for the next turn", async () => {
    const { caller, session, sim, seen, events } = await call(
      ["first question", "second question"],
      [{ text: "An answer that is cut by a dropped connection halfway through." }, { text: "Back again." }],
      {},
      { responses: [{ faults: [{ type: "close", code: 1006, afterEvents: 6 }] }] },
    )
    caller.say("first question")
    await eventually(seen("error"), 15_000)
    await eventually(seen("agent_transcript"), 15_000)
    caller.say("second question")
    await eventually(
      () => events.some((e) => e.type === "agent_transcript" && e.text === "Back again."),
      15_000,
    )
    assert.lengthOf(
      sim.connections.filter((c) => c.kind === "responses"),
      2,
    )
    assert.deepInclude(session.chatContext.at(-1), { role: "assistant", content: "Back again." })
  }, 30_000)

  it("runs two tools of one turn, a thrown error going back to the model as the tool's output", async () => {
    const { caller, session, seen, events } = await call(
      ["weather and news"],
      [
        {
          functionCalls: [
            { name: "get_weather", arguments: '{"city":"Oslo"}' },
            { name: "get_news", arguments: "{}" },
          ],
        },
        { text: "Snow in Oslo, and no news." },
      ],
      {
        agent: defineAgent({
          instructions: "Use the tools.",
          tools: [
            defineTool({ name: "get_weather", execute: () => ({ sky: "snow" }) }),
            defineTool({
              name: "get_news",
              execute: () => {
                throw new Error("the news service is down")
              },
            }),
          ],
        }),
      },
    )
    caller.say("weather and news")
    await eventually(seen("agent_transcript"), 15_000)
    assert.deepStrictEqual(
      events.flatMap((e) => (e.type === "tool_result" ? [e.name] : [])),
      ["get_weather", "get_news"],
    )
    const outputs = session.chatContext.filter((i) => i.type === "function_call_output")
    assert.lengthOf(outputs, 2)
    assert.include(JSON.stringify(outputs), "the news service is down")
    assert.deepInclude(session.chatContext.at(-1), {
      role: "assistant",
      content: "Snow in Oslo, and no news.",
    })
  }, 30_000)

  it("a caller cutting in during a tool call aborts the execution and cancels the round", async () => {
    const aborted: boolean[] = []
    const { caller, session, seen, seenState } = await call(
      ["look it up", "never mind"],
      [{ functionCall: { name: "lookup", arguments: "{}" } }, { text: "Okay." }],
      {
        agent: defineAgent({
          instructions: "Use the tool.",
          tools: [
            defineTool({
              name: "lookup",
              execute: (_args, { signal }) =>
                new Promise((_resolve, reject) => {
                  signal.addEventListener("abort", () => {
                    aborted.push(signal.aborted)
                    reject(new Error("aborted"))
                  })
                }),
            }),
          ],
        }),
      },
    )
    caller.say("look it up")
    await eventually(seenState("runningTools"), 15_000)
    caller.say("never mind")
    await eventually(seen("interrupted"), 15_000)
    assert.deepStrictEqual(aborted, [true])
    await eventually(seen("agent_transcript", 2), 15_000)
    assert.deepInclude(session.chatContext.at(-1), { role: "assistant", content: "Okay." })
  }, 30_000)

  it("hands the call to another agent: its instructions and tools on the socket, the chat kept", async () => {
    const { caller, session, sim, seen } = await call(
      ["I want a refund", "yes please"],
      [{ text: "Transferring you." }, { text: "Refund issued." }],
    )
    caller.say("I want a refund")
    await eventually(seen("agent_transcript"), 15_000)
    session.updateAgent(
      defineAgent({
        instructions: "You handle billing.",
        tools: [defineTool({ name: "refund", execute: () => "ok" })],
        greeting: "Billing here.",
      }),
    )
    await eventually(seen("agent_transcript", 2), 15_000)
    caller.say("yes please")
    await eventually(seen("agent_transcript", 3), 15_000)
    const creates = sim.connections
      .filter((c) => c.kind === "responses")
      .flatMap((c) => c.received.filter((e) => e.type === "response.create"))
    const last = creates.at(-1)?.payload as {
      instructions?: string
      tools?: { name: string }[]
      input?: unknown[]
    }
    assert.strictEqual(last.instructions, "You handle billing.")
    assert.deepStrictEqual(
      last.tools?.map((t) => t.name),
      ["refund"],
    )
    assert.include(JSON.stringify(session.chatContext), "I want a refund")
    assert.deepInclude(session.chatContext.at(-1), { role: "assistant", content: "Refund issued." })
  }, 30_000)

  it("a transcription socket dropped while the caller speaks reconnects; the turn is still heard and answered", async () => {
    const { caller, session, sim, seen } = await call(
      ["hello after a drop"],
      [{ text: "I heard you." }],
      {},
      { transcription: [{ faults: [{ type: "close", code: 1006, afterClientEvents: 15 }] }] },
    )
    caller.say("hello after a drop")
    await eventually(seen("agent_transcript"), 20_000)
    assert.isAtLeast(sim.connections.filter((c) => c.kind === "transcription").length, 2)
    assert.deepInclude(session.chatContext[0], { role: "user", content: "hello after a drop" })
    assert.deepInclude(session.chatContext.at(-1), { role: "assistant", content: "I heard you." })
  }, 30_000)

  it("speech over the agent that brings no transcript pauses it, then it resumes (a false interruption)", async () => {
    const reply =
      "A reply long enough to be talked over by some noise for a while and then to go on to its very end without a cut."
    const { caller, session, events, seen, seenState } = await call(
      // The second utterance is noise: no words.
      (request) => (request.index === 1 ? "" : (request.heard ?? "")),
      [{ text: reply }],
      { minInterruptionMs: 300, falseInterruptionMs: 800 },
    )
    caller.say("go on")
    await eventually(seenState("speaking"), 15_000)
    caller.say("background noise here")
    await eventually(seen("resumed"), 15_000)
    await eventually(seen("agent_transcript"), 20_000)
    assert.isFalse(events.some((e) => e.type === "interrupted"))
    assert.deepInclude(session.chatContext.at(-1), { role: "assistant", content: reply })
  }, 30_000)

  it("manual turns: commitUserTurn commits the transcription buffer and the agent answers", async () => {
    const { caller, session, sim, seen } = await call(["push to talk"], [{ text: "Heard you." }], {
      stt: { turnDetection: null },
    })
    caller.say("push to talk")
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    assert.isFalse(seen("agent_transcript")())
    session.commitUserTurn()
    await eventually(seen("agent_transcript"), 15_000)
    const received = sim.connections
      .filter((c) => c.kind === "transcription")
      .flatMap((c) => c.received.map((e) => e.type))
    assert.include(received, "input_audio_buffer.commit")
    assert.deepInclude(session.chatContext[0], { role: "user", content: "push to talk" })
    assert.deepInclude(session.chatContext.at(-1), { role: "assistant", content: "Heard you." })
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

  describe("teardown on real sockets leaves no socket, timer, fiber or child", () => {
    const states = [
      { name: "thinking", state: "thinking" },
      { name: "running a tool", state: "runningTools" },
      { name: "speaking", state: "speaking" },
    ] as const
    for (const { name, state } of states)
      it(`closes while ${name}`, async () => {
        const before = await settledHandles()
        const { caller, session, sim, seenState } = await call(
          ["hello there"],
          [
            state === "runningTools"
              ? { functionCall: { name: "wait", arguments: "{}" } }
              : {
                  text: "A reply that is long enough to still be going when the call ends, sentence after sentence.",
                },
          ],
          {
            agent: defineAgent({
              instructions: "Be brief.",
              tools: [
                defineTool({
                  name: "wait",
                  execute: (_args, { signal }) =>
                    new Promise((_resolve, reject) =>
                      signal.addEventListener("abort", () => reject(signal.reason)),
                    ),
                }),
              ],
            }),
          },
          state === "thinking" ? { responses: [{ latency: { betweenDeltasMs: 500 } }] } : {},
        )
        caller.say("hello there")
        await eventually(seenState(state), 15_000)
        await session.close()
        assert.strictEqual(session.runtime.activeFibers, 0)
        assert.strictEqual(session.runtime.clock.pendingTimers, 0)
        assert.deepStrictEqual(Object.keys(session.actor.getSnapshot().children), [])
        await eventually(() => sim.connections.every((c) => !c.open), 5_000)
        open.splice(0)
        await sim.close()
        await handlesBackTo(before)
      }, 30_000)
  })
})
