/**
 * The `inspect` option of every `create*`, against the simulator on real sockets: each kind
 * of session reports its root actor to the inspector under its machine's id, and a
 * synthesis session started on a runtime made with `inspect` reports through the runtime.
 */
import { Context } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createAgentSession, defineAgent } from "../../src/agent/index.ts"
import { createInspector, type Inspector } from "../../src/inspect/index.ts"
import { createLLM } from "../../src/llm/index.ts"
import { createRealtimeSession } from "../../src/realtime/index.ts"
import { makeSessionRuntime } from "../../src/runtime/index.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import { createTranscriptionSession } from "../../src/stt/index.ts"
import { RealtimeSocket } from "../../src/transport/index.ts"
import { SynthesisSession } from "../../src/tts/index.ts"

const WAIT_MS = 10_000

let sim: Simulator
let inspector: Inspector
beforeAll(async () => {
  sim = await startSimulator({ port: 0 })
  inspector = await createInspector()
})
afterAll(async () => {
  await inspector.close()
  await sim.close()
})

const machineOf = async (sessionId: string): Promise<string> => {
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const record = inspector.records().find((r) => r.session === sessionId)
    if (record !== undefined) return record.machine
    if (Date.now() > deadline) throw new Error(`no record of ${sessionId}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe("the inspect option", () => {
  const endpoint = () => ({ openai: { apiKey: "sk-simulator", baseUrl: sim.httpUrl }, env: {} })

  it("of createTranscriptionSession", async () => {
    const session = createTranscriptionSession({ ...endpoint(), inspect: inspector.inspect })
    expect(await machineOf(session.actor.sessionId)).toBe("transcriptionSession")
    await session.close()
  })

  it("of createLLM", async () => {
    const llm = createLLM({ ...endpoint(), inspect: inspector.inspect })
    const actor = llm.actor
    expect(actor).toBeDefined()
    expect(await machineOf(actor?.sessionId ?? "")).toBe("responsesChain")
    await llm.close()
  })

  it("of createRealtimeSession", async () => {
    const session = createRealtimeSession({ ...endpoint(), inspect: inspector.inspect })
    expect(await machineOf(session.actor.sessionId)).toBe("realtime")
    await session.close()
  })

  it("of createAgentSession", async () => {
    const session = createAgentSession({
      agent: defineAgent({ instructions: "Be brief.", tools: [] }),
      ...endpoint(),
      inspect: inspector.inspect,
    })
    expect(await machineOf(session.actor.sessionId)).toBe("agentSession")
    await session.close()
  })

  it("of a synthesis session, through its runtime", async () => {
    const runtime = makeSessionRuntime(Context.make(RealtimeSocket, RealtimeSocket.live), {
      inspect: inspector.inspect,
    })
    const reply = SynthesisSession.start(runtime, { ...endpoint(), onAudio: () => undefined })
    expect(await machineOf(reply.actor.sessionId)).toBe("synthesisStream")
    reply.actor.send({ type: "TTS.CANCEL" } as never)
    reply.actor.stop()
    await runtime.shutdown()
  })

  it("false: none, whatever the environment says", async () => {
    const before = inspector.records().length
    const session = createTranscriptionSession({ ...endpoint(), inspect: false })
    await session.close()
    expect(
      inspector
        .records()
        .slice(before)
        .some((r) => r.session === session.actor.sessionId),
    ).toBe(false)
  })
})
