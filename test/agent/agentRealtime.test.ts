/**
 * The agent in realtime mode against the simulator on real sockets: a scripted caller speaks
 * (the simulator's voice), the simulator's server VAD takes the turn and its model answers
 * with audio; a plain turn, barge-in truncated at what was played, a tool call, a handoff,
 * say/generateReply, and teardown in every state of the agent.
 */
import { afterEach, assert, describe, it } from "vitest"
import {
  type AgentEvent,
  createAgentSession,
  defineAgent,
  defineTool,
  type RealtimeAgentSession,
} from "../../src/agent/index.ts"
import type { ConnectionFault, LatencyScript, ModelReply, Simulator } from "../../src/simulator/index.ts"
import { startSimulator } from "../../src/simulator/index.ts"
import { scriptedCaller } from "../../src/testing/index.ts"
import { eventually, receivedOf } from "../stt/transcriptionSessionHelpers.ts"

const open: { session: RealtimeAgentSession; sim: Simulator }[] = []
afterEach(async () => {
  for (const { session, sim } of open.splice(0)) {
    await session.close()
    await sim.close()
  }
})

const LONG =
  "This is a long answer that goes on and on about many things so that the caller has time to cut in before it ends."

const weatherTool = (calls: unknown[]) =>
  defineTool({
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    execute: (args) => {
      calls.push(args)
      return { sky: "snow" }
    },
  })

const call = async (
  transcripts: readonly string[],
  replies: readonly ModelReply[],
  extra: {
    readonly agent?: ReturnType<typeof defineAgent>
    readonly latency?: LatencyScript
    readonly maxToolSteps?: number
    readonly allowInterruptions?: boolean
    readonly faults?: readonly ConnectionFault[]
    readonly textOnly?: boolean
  } = {},
) => {
  const sim = await startSimulator({
    scenario: {
      transcripts,
      replies,
      ...(extra.latency === undefined && extra.faults === undefined
        ? {}
        : {
            connections: {
              realtime: [
                {
                  ...(extra.latency === undefined ? {} : { latency: extra.latency }),
                  ...(extra.faults === undefined ? {} : { faults: extra.faults }),
                },
              ],
            },
          }),
    },
  })
  const caller = scriptedCaller()
  const session = createAgentSession({
    agent: extra.agent ?? defineAgent({ instructions: "Be brief." }),
    realtime: {
      turnDetection: { type: "server_vad", silenceDurationMs: 300 },
      seed: 1,
      ...(extra.textOnly === true ? { outputModalities: ["text"] as const } : {}),
    },
    openai: { apiKey: "sk-simulator", baseUrl: sim.httpUrl },
    env: {},
    input: caller,
    ...(extra.maxToolSteps === undefined ? {} : { maxToolSteps: extra.maxToolSteps }),
    ...(extra.allowInterruptions === undefined ? {} : { allowInterruptions: extra.allowInterruptions }),
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
  /** The agent's reply played to its end (`count` of them). */
  const spoke =
    (count = 1) =>
    () =>
      events.filter((e) => e.type === "agent_transcript" && !e.interrupted).length >= count
  /** The agent's audio reached the output. */
  const speaking = () => events.some((e) => e.type === "agent_state" && e.state === "speaking")
  const connection = () => sim.connections.find((c) => c.path.includes("realtime"))
  return { sim, caller, session, events, seen, spoke, speaking, connection }
}

const messages = (session: RealtimeAgentSession): string[][] =>
  session.chat().map((i) => (i.type === "message" ? [i.role, String(i.content)] : [String(i.type)]))

describe("agent session in realtime mode against the simulator", () => {
  it("answers a spoken turn with audio, plays it out, and reports the turn's latency", async () => {
    const { caller, session, events, spoke } = await call(["hello there"], [{ text: "Hi, how can I help?" }])
    caller.say("hello there")
    await eventually(spoke(), 15_000)
    const states = events.flatMap((e) =>
      e.type === "user_state" || e.type === "agent_state" ? [`${e.type}:${e.state}`] : [],
    )
    assert.includeMembers(states, ["user_state:speaking", "agent_state:thinking", "agent_state:speaking"])
    assert.isBelow(states.indexOf("user_state:speaking"), states.indexOf("agent_state:speaking"))
    assert.deepInclude(
      events.find((e) => e.type === "user_transcript" && e.final),
      { text: "hello there", final: true },
    )
    assert.isTrue(events.some((e) => e.type === "metrics"))
    const said = events.find((e) => e.type === "agent_transcript")
    assert(said?.type === "agent_transcript")
    assert.deepInclude(said, { text: "Hi, how can I help?", interrupted: false })
    assert.isAtLeast(said.atMs + 1, session.output.agentEndMs())
    assert.deepStrictEqual(messages(session), [
      ["user", "hello there"],
      ["assistant", "Hi, how can I help?"],
    ])
    const [m] = session.metrics()
    assert.isDefined(m)
    assert.isAtLeast(m?.totalMs ?? -1, 0)
    assert.isDefined(m?.ttsFirstAudioMs)
    assert.isTrue(session.actor.getSnapshot().matches({ live: { agent: "listening" } }))
  }, 30_000)

  it("is cut off by the caller's speech: output cleared, the item truncated at what was played", async () => {
    const { caller, session, events, connection, seen, spoke, speaking } = await call(
      ["tell me everything", "stop please"],
      [{ text: LONG }, { text: "Sure." }],
    )
    caller.say("tell me everything")
    await eventually(speaking, 15_000)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    caller.say("stop please")
    await eventually(seen("interrupted"), 15_000)
    const cut = events.find((e) => e.type === "interrupted")
    assert(cut?.type === "interrupted")
    assert.isBelow(cut.heard.length, LONG.length)
    assert.isTrue(LONG.startsWith(cut.heard))
    // The truncate names a played position within the audio received, not the whole reply.
    await eventually(() => receivedOf(connection(), "conversation.item.truncate").length > 0, 5_000)
    const [truncate] = receivedOf(connection(), "conversation.item.truncate")
    const audioEndMs = (truncate?.payload as { audio_end_ms?: number } | undefined)?.audio_end_ms ?? -1
    assert.isAbove(audioEndMs, 500)
    assert.isBelow(audioEndMs, 4_000)
    // The agent's track ends where the caller cut in.
    assert.isBelow(session.output.agentEndMs(), cut.atMs + 50)
    assert.isTrue(events.some((e) => e.type === "agent_transcript" && e.interrupted && e.text === cut.heard))
    await eventually(spoke(), 15_000)
    assert.isFalse(events.some((e) => e.type === "agent_transcript" && e.text === LONG))
    await eventually(
      () => messages(session).some(([role, text]) => role === "assistant" && text !== LONG),
      5_000,
    )
    const assistant = messages(session).find(([role]) => role === "assistant")
    assert.isTrue(LONG.startsWith(String(assistant?.[1])))
    assert.isBelow(String(assistant?.[1]).length, LONG.length)
  }, 30_000)

  it("is cut off mid-response: the server cancels it, the item is truncated at what was played", async () => {
    const { caller, session, events, connection, seen, spoke, speaking } = await call(
      ["tell me everything", "stop please"],
      [{ text: LONG }, { text: "Sure." }],
      { latency: { betweenDeltasMs: 60 } },
    )
    caller.say("tell me everything")
    await eventually(speaking, 15_000)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    // Still generating when the caller cuts in.
    assert.isTrue(session.actor.getSnapshot().matches({ live: { agent: { speaking: "streaming" } } }))
    caller.say("stop please")
    await eventually(seen("interrupted"), 15_000)
    await eventually(() => receivedOf(connection(), "conversation.item.truncate").length > 0, 5_000)
    const sent = (connection()?.sent ?? []) as { type?: string; response?: { status?: string } }[]
    await eventually(
      () => sent.some((e) => e.type === "response.done" && e.response?.status === "cancelled"),
      5_000,
    )
    const cut = events.find((e) => e.type === "interrupted")
    assert(cut?.type === "interrupted")
    assert.isTrue(LONG.startsWith(cut.heard))
    assert.isBelow(cut.heard.length, LONG.length)
    await eventually(spoke(), 15_000)
  }, 30_000)

  it("holds the floor with allowInterruptions: false: the reply plays to its end over the caller", async () => {
    const { caller, events, spoke, speaking, connection } = await call(
      ["tell me everything", "wait"],
      [{ text: LONG }, { text: "Yes?" }],
      { allowInterruptions: false },
    )
    caller.say("tell me everything")
    await eventually(speaking, 15_000)
    await new Promise((resolve) => setTimeout(resolve, 800))
    caller.say("wait")
    await eventually(spoke(2), 20_000)
    assert.isFalse(events.some((e) => e.type === "interrupted"))
    assert.lengthOf(receivedOf(connection(), "conversation.item.truncate"), 0)
    const said = events.flatMap((e) => (e.type === "agent_transcript" ? [e.text] : []))
    assert.deepStrictEqual(said, [LONG, "Yes?"])
    const update = receivedOf(connection(), "session.update")[0]?.payload as {
      session?: { audio?: { input?: { turn_detection?: { interrupt_response?: boolean } } } }
    }
    assert.strictEqual(update.session?.audio?.input?.turn_detection?.interrupt_response, false)
  }, 30_000)

  it("holds the floor for one say: allowInterruptions false turns cancel-on-speech off for it, then on", async () => {
    const { session, events, spoke, speaking, caller, connection } = await call(
      ["wait"],
      [{ text: LONG }, { text: "Yes?" }],
    )
    await eventually(() => receivedOf(connection(), "session.update").length > 0, 5_000)
    session.say(LONG, { allowInterruptions: false })
    await eventually(speaking, 15_000)
    await new Promise((resolve) => setTimeout(resolve, 800))
    caller.say("wait")
    await eventually(spoke(2), 20_000)
    assert.isFalse(events.some((e) => e.type === "interrupted"))
    const said = events.flatMap((e) => (e.type === "agent_transcript" ? [e.text] : []))
    assert.deepStrictEqual(said, [LONG, "Yes?"])
    const flags = receivedOf(connection(), "session.update").map(
      (e) =>
        (
          e.payload as {
            session?: { audio?: { input?: { turn_detection?: { interrupt_response?: boolean } } } }
          }
        ).session?.audio?.input?.turn_detection?.interrupt_response,
    )
    // The session's own setting, off for the floor-holding reply, back to the session's own.
    assert.deepStrictEqual(flags, [undefined, false, undefined])
    // The cut-off is the server's again: a later reply is interruptible.
    assert.isFalse(session.actor.getSnapshot().context.holdingFloor)
  }, 30_000)

  it("runs the agent's tool on the model's function call and answers with its result", async () => {
    const calls: unknown[] = []
    const { caller, session, events, connection, spoke } = await call(
      ["weather in Oslo"],
      [{ functionCall: { name: "get_weather", arguments: '{"city":"Oslo"}' } }, { text: "Snowing in Oslo." }],
      { agent: defineAgent({ instructions: "Use the tool.", tools: [weatherTool(calls)] }) },
    )
    caller.say("weather in Oslo")
    await eventually(spoke(), 15_000)
    assert.deepStrictEqual(calls, [{ city: "Oslo" }])
    const called = events.find((e) => e.type === "tool_called")
    assert(called?.type === "tool_called")
    assert.strictEqual(called.call.name, "get_weather")
    assert.deepInclude(
      events.find((e) => e.type === "tool_result"),
      { name: "get_weather", output: { sky: "snow" } },
    )
    const output = receivedOf(connection(), "conversation.item.create").find(
      (e) => (e.payload as { item?: { type?: string } }).item?.type === "function_call_output",
    )
    assert.include(JSON.stringify(output?.payload), "snow")
    // The session asked for the next response once the output was in.
    assert.lengthOf(receivedOf(connection(), "response.create"), 1)
    assert.deepStrictEqual(
      messages(session).map((m) => m[0]),
      ["user", "function_call", "function_call_output", "assistant"],
    )
  }, 30_000)

  it("sends a throwing tool's error back to the model, and past maxToolSteps asks for an answer without tools", async () => {
    const { caller, events, spoke, connection } = await call(
      ["weather twice"],
      [
        { functionCall: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
        { functionCall: { name: "get_weather", arguments: '{"city":"Bergen"}' } },
        { text: "I could not get the weather." },
      ],
      {
        maxToolSteps: 1,
        agent: defineAgent({
          instructions: "Use the tool.",
          tools: [
            defineTool({
              name: "get_weather",
              parameters: { type: "object", properties: { city: { type: "string" } } },
              execute: () => {
                throw new Error("the weather service is down")
              },
            }),
          ],
        }),
      },
    )
    caller.say("weather twice")
    await eventually(spoke(), 15_000)
    const results = events.filter((e) => e.type === "tool_result")
    assert.lengthOf(results, 2)
    assert.deepInclude(results[0], { output: { error: "the weather service is down" } })
    const outputs = receivedOf(connection(), "conversation.item.create").filter(
      (e) => (e.payload as { item?: { type?: string } }).item?.type === "function_call_output",
    )
    assert.lengthOf(outputs, 2)
    assert.include(JSON.stringify(outputs[0]?.payload), "the weather service is down")
    // One response after the first round; past the last round, one that may not call tools.
    const creates = receivedOf(connection(), "response.create").map(
      (e) => (e.payload as { response?: { tool_choice?: unknown } }).response?.tool_choice,
    )
    assert.deepStrictEqual(creates, [undefined, "none"])
  }, 30_000)

  it("cancels the tools when the caller speaks while they run: signal aborted, the model told", async () => {
    let aborted = false
    const { caller, session, spoke, connection } = await call(
      ["weather", "never mind"],
      [{ functionCall: { name: "slow", arguments: "{}" } }, { text: "Okay." }],
      {
        agent: defineAgent({
          instructions: "Use the tool.",
          tools: [
            defineTool({
              name: "slow",
              execute: (_args, { signal }) =>
                new Promise((resolve) => {
                  signal.addEventListener("abort", () => {
                    aborted = true
                    resolve("too late")
                  })
                }),
            }),
          ],
        }),
      },
    )
    caller.say("weather")
    await eventually(() => session.actor.getSnapshot().matches({ live: { agent: "runningTools" } }), 15_000)
    caller.say("never mind")
    await eventually(() => aborted, 15_000)
    await eventually(spoke(), 15_000)
    const output = receivedOf(connection(), "conversation.item.create").find(
      (e) => (e.payload as { item?: { type?: string } }).item?.type === "function_call_output",
    )
    assert.include(JSON.stringify(output?.payload), "cancelled")
    // The cancelled round asked for no response of its own: the caller's turn got the one.
    assert.lengthOf(receivedOf(connection(), "response.create"), 0)
  }, 30_000)

  it("answers in text with outputModalities text: the reply's text is its transcript, no audio", async () => {
    const { caller, events, session } = await call(["hello"], [{ text: "Hello in text." }], {
      textOnly: true,
    })
    caller.say("hello")
    await eventually(() => events.some((e) => e.type === "agent_transcript"), 15_000)
    assert.deepInclude(
      events.find((e) => e.type === "agent_transcript"),
      {
        text: "Hello in text.",
        interrupted: false,
      },
    )
    assert.isFalse(events.some((e) => e.type === "agent_state" && e.state === "speaking"))
    assert.strictEqual(session.output.agentEndMs(), 0)
  }, 30_000)

  it("runs two tools of one response and answers once both are in", async () => {
    const calls: unknown[] = []
    const { caller, events, spoke, connection } = await call(
      ["weather in two cities"],
      [
        {
          functionCalls: [
            { name: "get_weather", arguments: '{"city":"Oslo"}' },
            { name: "get_weather", arguments: '{"city":"Rome"}' },
          ],
        },
        { text: "Snow and snow." },
      ],
      { agent: defineAgent({ instructions: "Use the tool.", tools: [weatherTool(calls)] }) },
    )
    caller.say("weather in two cities")
    await eventually(spoke(), 15_000)
    assert.sameDeepMembers(calls, [{ city: "Oslo" }, { city: "Rome" }])
    assert.lengthOf(
      events.filter((e) => e.type === "tool_result"),
      2,
    )
    // Both outputs in, then one response.
    assert.lengthOf(receivedOf(connection(), "response.create"), 1)
  }, 30_000)

  it("recovers when the connection drops as a reply begins: the session reconnects, the call goes on", async () => {
    const { session, events, sim } = await call([], [{ text: "Lost." }, { text: "Back again." }], {
      faults: [{ type: "close", code: 1006, onType: "response.create" }],
    })
    await eventually(() => sim.connections.some((c) => c.path.includes("realtime") && c.open), 5_000)
    session.say("Lost.")
    await eventually(() => sim.connections.filter((c) => c.path.includes("realtime")).length >= 2, 15_000)
    await eventually(() => session.actor.getSnapshot().matches({ live: { agent: "listening" } }), 15_000)
    // The reply lost with the connection is reported cut off (nothing of it was heard).
    assert.deepInclude(
      events.find((e) => e.type === "interrupted"),
      { heard: "" },
    )
    session.say("Back again.")
    await eventually(
      () => events.some((e) => e.type === "agent_transcript" && e.text === "Back again."),
      15_000,
    )
    assert.isFalse(events.some((e) => e.type === "closed"))
  }, 30_000)

  it("hands the call to another agent: new instructions and tools, the conversation kept", async () => {
    const calls: unknown[] = []
    const { caller, session, connection, spoke } = await call(
      ["hello", "weather in Oslo"],
      [
        { text: "Hello." },
        { functionCall: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
        { text: "Snow." },
      ],
    )
    caller.say("hello")
    await eventually(spoke(), 15_000)
    session.updateAgent(
      defineAgent({ instructions: "You are the weather desk.", tools: [weatherTool(calls)] }),
    )
    await eventually(() => {
      const updates = receivedOf(connection(), "session.update")
      const last = updates.at(-1)?.payload as { session?: { instructions?: string; tools?: unknown[] } }
      return last?.session?.instructions === "You are the weather desk." && last.session.tools?.length === 1
    }, 5_000)
    caller.say("weather in Oslo")
    await eventually(spoke(2), 15_000)
    assert.deepStrictEqual(calls, [{ city: "Oslo" }])
    assert.deepStrictEqual(messages(session).slice(0, 2), [
      ["user", "hello"],
      ["assistant", "Hello."],
    ])
  }, 30_000)

  it("asks for replies itself: generateReply with instructions, say with the line to say", async () => {
    const { session, connection, spoke } = await call([], [{ text: "Welcome." }, { text: "Bye now." }])
    session.generateReply({ instructions: "Greet the caller." })
    await eventually(spoke(), 15_000)
    session.say("Bye now.")
    await eventually(spoke(2), 15_000)
    const creates = receivedOf(connection(), "response.create").map(
      (e) => (e.payload as { response?: { instructions?: string } }).response?.instructions ?? "",
    )
    assert.strictEqual(creates[0], "Greet the caller.")
    assert.include(creates[1], '"Bye now."')
  }, 30_000)
})

describe("agent session in realtime mode: entering", () => {
  it("greets and runs onEnter at start, and again for the agent a handoff brings in", async () => {
    const entered: unknown[] = []
    const { session, spoke, connection } = await call([], [{ text: "Hello." }, { text: "Weather desk." }], {
      agent: defineAgent({
        instructions: "Be brief.",
        greeting: "Hello.",
        onEnter: (s) => {
          entered.push(s)
        },
      }),
    })
    await eventually(spoke(), 15_000)
    assert.deepStrictEqual(entered, [session])
    session.updateAgent(
      defineAgent({
        instructions: "Weather.",
        greeting: "Weather desk.",
        onEnter: (s) => void entered.push(s),
      }),
    )
    await eventually(spoke(2), 15_000)
    assert.lengthOf(entered, 2)
    assert.strictEqual(session.agent.instructions, "Weather.")
    const creates = receivedOf(connection(), "response.create").map(
      (e) => (e.payload as { response?: { instructions?: string } }).response?.instructions ?? "",
    )
    assert.include(creates[0], '"Hello."')
    assert.include(creates[1], '"Weather desk."')
    assert.throws(() => session.start(), /already started/)
  }, 30_000)
})

describe("agent session in realtime mode: teardown", () => {
  const states: [string, (c: Awaited<ReturnType<typeof call>>) => Promise<void>][] = [
    [
      "listening",
      async ({ connection }) => eventually(() => receivedOf(connection(), "session.update").length > 0),
    ],
    [
      "thinking",
      async ({ caller, session }) => {
        caller.say("hello")
        await eventually(() => session.actor.getSnapshot().matches({ live: { agent: "thinking" } }), 15_000)
      },
    ],
    [
      "speaking",
      async ({ caller, speaking }) => {
        caller.say("hello")
        await eventually(speaking, 15_000)
      },
    ],
    [
      "runningTools",
      async ({ caller, session }) => {
        caller.say("weather")
        await eventually(
          () => session.actor.getSnapshot().matches({ live: { agent: "runningTools" } }),
          15_000,
        )
      },
    ],
  ]
  for (const [name, reach] of states) {
    it(`close() while ${name} leaves no timer, fiber or socket`, async () => {
      const held = new Promise<never>(() => {})
      const c = await call(
        ["hello"],
        name === "runningTools"
          ? [{ functionCall: { name: "slow", arguments: "{}" } }]
          : [{ text: LONG }, { text: LONG }],
        {
          agent: defineAgent({
            instructions: "Be brief.",
            tools: [defineTool({ name: "slow", execute: () => held })],
          }),
          // The first audio is held back, so the agent stays a while in `thinking`.
          ...(name === "thinking" ? { latency: { betweenDeltasMs: 2_000 } } : {}),
        },
      )
      await reach(c)
      await c.session.close()
      await c.session.close()
      assert.deepStrictEqual(c.session.resources, { fibers: 0, timers: 0 })
      assert.strictEqual(c.session.actor.getSnapshot().status, "done")
      await eventually(() => c.sim.connections.every((x) => !x.open), 5_000)
    }, 30_000)
  }
})
