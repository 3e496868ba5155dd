/**
 * Persist and resume of an agent call in realtime mode against the simulator on real sockets:
 * the call persisted mid-conversation and resumed in the same process on a new connection
 * (the conversation re-created on the server, so the next reply knows the earlier turns and
 * nothing is said twice), a tool call the first session was running answered by the resumed
 * one, and a pipeline snapshot refused by the realtime resume (and the other way round).
 */
import { afterEach, assert, describe, it } from "vitest"
import {
  type AgentEvent,
  createAgentSession,
  defineAgent,
  defineTool,
  type RealtimeAgentSession,
  resumeAgentSession,
} from "../../src/agent/index.ts"
import { isSnapshotError } from "../../src/persist/index.ts"
import type { ReplyRequest, Simulator } from "../../src/simulator/index.ts"
import { startSimulator } from "../../src/simulator/index.ts"
import { scriptedCaller } from "../../src/testing/index.ts"
import { eventually, receivedOf } from "../stt/transcriptionSessionHelpers.ts"

const open: RealtimeAgentSession[] = []
let sim: Simulator | undefined
afterEach(async () => {
  for (const session of open.splice(0)) await session.close()
  await sim?.close()
  sim = undefined
})

/** The user turns the model sees in a response's input (their text or transcript). */
const userTurnsOf = (request: ReplyRequest): string[] =>
  request.input.flatMap((item) => {
    const { type, role, content } = item as { type?: string; role?: string; content?: unknown }
    if (type !== "message" || role !== "user" || !Array.isArray(content)) return []
    return content.map((c) =>
      String((c as { text?: string; transcript?: string }).text ?? c.transcript ?? ""),
    )
  })

type Agent = ReturnType<typeof defineAgent>

const run = (s: Simulator, agent: Agent, snapshot?: unknown) => {
  const caller = scriptedCaller()
  const options = {
    agent,
    realtime: { turnDetection: { type: "server_vad" as const, silenceDurationMs: 300 }, seed: 1 },
    openai: { apiKey: "sk-simulator", baseUrl: s.httpUrl },
    env: {},
    input: caller,
  }
  const session = snapshot === undefined ? createAgentSession(options) : resumeAgentSession(snapshot, options)
  open.push(session)
  const events: AgentEvent[] = []
  void (async () => {
    for await (const event of session) events.push(event)
  })()
  const spoke = (count: number) => () =>
    events.filter((e) => e.type === "agent_transcript" && !e.interrupted).length >= count
  return { caller, session, events, spoke }
}

const lines = (session: RealtimeAgentSession): string[] =>
  session.chat().map((i) => (i.type === "message" ? `${i.role}:${String(i.content)}` : String(i.type)))

const realtimeConnections = (s: Simulator) => s.connections.filter((c) => c.path.includes("realtime"))

describe("agent persist and resume in realtime mode", () => {
  it("resumes mid-call on a new connection: the next reply knows the earlier turns, nothing said twice", async () => {
    sim = await startSimulator({
      scenario: {
        transcripts: ["hello there", "what did I say"],
        replies: (request) => ({ text: `Heard ${userTurnsOf(request).join(" then ")}.` }),
      },
    })
    const agent = defineAgent({ instructions: "Be brief.", greeting: "Welcome." })
    const first = run(sim, agent)
    await eventually(first.spoke(1), 15_000) // the greeting
    first.caller.say("hello there")
    await eventually(first.spoke(2), 15_000)
    await eventually(() => first.session.metrics().length === 2, 5_000)
    const snapshot = JSON.parse(JSON.stringify(first.session.persist()))
    assert.notInclude(JSON.stringify(snapshot), "sk-simulator")
    assert.strictEqual(snapshot.data.mode, "realtime")
    const before = lines(first.session)
    assert.deepStrictEqual(before.slice(-2), ["user:hello there", "assistant:Heard hello there."])
    await first.session.close()

    const second = run(sim, agent, snapshot)
    await eventually(() => lines(second.session).length === before.length, 15_000)
    assert.deepStrictEqual(lines(second.session), before)
    second.caller.say("what did I say")
    await eventually(second.spoke(1), 15_000)
    const said = second.events.filter((e) => e.type === "agent_transcript").map((e) => e.text)
    // The reply saw the turn of the first connection; no greeting and no old reply again.
    assert.deepStrictEqual(said, ["Heard hello there then what did I say."])
    assert.deepStrictEqual(lines(second.session), [
      ...before,
      "user:what did I say",
      "assistant:Heard hello there then what did I say.",
    ])
    // The new connection asked for no response of the old turns: only the caller's new turn's.
    const [, resumed] = realtimeConnections(sim)
    assert.isDefined(resumed)
    assert.lengthOf(receivedOf(resumed, "response.create"), 0)
    // Metrics go on from the snapshot's.
    assert.deepStrictEqual(
      second.session.metrics().map((m) => m.turn),
      [1, 2, 3],
    )
  }, 60_000)

  it("runs the tool call the first session had not answered, and the reply goes on", async () => {
    sim = await startSimulator({
      scenario: {
        transcripts: ["weather in Oslo"],
        replies: [
          { functionCall: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
          { text: "Snowing in Oslo." },
        ],
      },
    })
    const started: unknown[] = []
    let aborted = false
    const hanging = defineAgent({
      instructions: "Use the tool.",
      tools: [
        defineTool({
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          execute: (args, { signal }) => {
            started.push(args)
            return new Promise<never>((_, reject) =>
              signal.addEventListener("abort", () => {
                aborted = true
                reject(signal.reason)
              }),
            )
          },
        }),
      ],
    })
    const first = run(sim, hanging)
    first.caller.say("weather in Oslo")
    await eventually(
      () => first.session.actor.getSnapshot().matches({ live: { agent: "runningTools" } }),
      15_000,
    )
    await eventually(() => lines(first.session)[0] === "user:weather in Oslo", 5_000)
    const snapshot = JSON.parse(JSON.stringify(first.session.persist()))
    assert.deepStrictEqual(
      snapshot.data.restore.pendingCalls.map((c: { name: string }) => c.name),
      ["get_weather"],
    )
    await first.session.close()
    assert.isTrue(aborted)

    const calls: unknown[] = []
    const answering = defineAgent({
      instructions: "Use the tool.",
      tools: [
        defineTool({
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          execute: (args) => {
            calls.push(args)
            return { sky: "snow" }
          },
        }),
      ],
    })
    const second = run(sim, answering, snapshot)
    await eventually(second.spoke(1), 15_000)
    assert.deepStrictEqual(started, [{ city: "Oslo" }])
    assert.deepStrictEqual(calls, [{ city: "Oslo" }])
    const [, resumed] = realtimeConnections(sim)
    const outputs = receivedOf(resumed, "conversation.item.create").filter(
      (e) => (e.payload as { item?: { type?: string } }).item?.type === "function_call_output",
    )
    assert.lengthOf(outputs, 1)
    assert.include(JSON.stringify(outputs[0]?.payload), "snow")
    assert.deepStrictEqual(lines(second.session), [
      "user:weather in Oslo",
      "function_call",
      "function_call_output",
      "assistant:Snowing in Oslo.",
    ])
  }, 60_000)

  it("refuses a snapshot of the other mode with a typed error", async () => {
    sim = await startSimulator({ scenario: { replies: [] } })
    const agent = defineAgent({ instructions: "Be brief." })
    const first = run(sim, agent)
    const snapshot = first.session.persist()
    await first.session.close()
    const pipelineOptions = {
      agent,
      openai: { apiKey: "sk-simulator", baseUrl: sim.httpUrl },
      env: {},
    }
    let error: unknown
    try {
      resumeAgentSession(snapshot, pipelineOptions)
    } catch (e) {
      error = e
    }
    assert.isTrue(isSnapshotError(error))
    assert.deepInclude((error as { reason: unknown }).reason, { _tag: "Malformed", path: "data.mode" })
    const pipelineSnapshot = { ...snapshot, data: { ...snapshot.data, mode: undefined } }
    assert.throws(
      () =>
        resumeAgentSession(pipelineSnapshot, {
          agent,
          realtime: {},
          openai: pipelineOptions.openai,
          env: {},
        }),
      /pipeline agent's snapshot/,
    )
  }, 30_000)
})
