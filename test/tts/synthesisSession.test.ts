/**
 * The spoken-reply machine alone (its synthesis actor faked), and SynthesisSession.logic over
 * real TTSs: frames to the sink, segment boundaries to the machine, and barge-in by a parent
 * that leaves the invoking state, aborting the HTTP request.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { Context } from "effect"
import { createActor, fromCallback, sendTo, setup, toPromise } from "xstate"
import { type SynthesisCommand, type SynthesisReport, synthesisStreamMachine } from "../../machines/index.ts"
import { concatPcm16 } from "../../src/audio/index.ts"
import { makeSessionRuntime } from "../../src/runtime/SessionRuntime.ts"
import { startSimulator } from "../../src/simulator/index.ts"
import type { Simulator } from "../../src/simulator/types.ts"
import { createFakeTTS, fakeVoice, ttsUnavailable } from "../../src/testing/index.ts"
import { createTTS, isTTSError, SynthesisSession, type SynthesizedAudio } from "../../src/tts/index.ts"
import { eventually } from "../stt/transcriptionSessionHelpers.ts"

/** A runtime on the live clock (the TTS requests are real HTTP to the simulator). */
const runtime = makeSessionRuntime(Context.empty())

let sim: Simulator | undefined
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

describe("synthesisStreamMachine", () => {
  it("forwards text to its synthesis actor and follows the segments: silent, audible, silent, done", async () => {
    const received: SynthesisCommand[] = []
    let report: ((event: SynthesisReport) => void) | undefined
    const machine = synthesisStreamMachine.provide({
      actors: {
        synthesis: fromCallback<SynthesisCommand>(({ sendBack, receive }) => {
          report = sendBack
          receive((command) => received.push(command))
          return () => {}
        }),
      },
    })
    const actor = createActor(machine).start()
    actor.send({ type: "TTS.TEXT", delta: "Hello. " })
    actor.send({ type: "TTS.FLUSH" })
    actor.send({ type: "TTS.END" })
    actor.send({ type: "TTS.TEXT", delta: "ignored after the end" })
    assert.deepStrictEqual(
      received.map((c) => c.type),
      ["TTS.TEXT", "TTS.FLUSH", "TTS.END"],
    )
    assert.deepStrictEqual(actor.getSnapshot().value, { speaking: { input: "ended", output: "silent" } })
    report?.({ type: "SYNTHESIS.AUDIO_STARTED", segmentId: "seg_0" })
    assert.deepStrictEqual(actor.getSnapshot().value, { speaking: { input: "ended", output: "audible" } })
    const segment = { segmentId: "seg_0", characters: 6, audioDurationMs: 500, ttffMs: 10 }
    report?.({ type: "SYNTHESIS.SEGMENT_DONE", segment })
    assert.deepStrictEqual(actor.getSnapshot().value, { speaking: { input: "ended", output: "silent" } })
    report?.({ type: "SYNTHESIS.DONE" })
    assert.deepStrictEqual(await toPromise(actor), { outcome: "done", segments: [segment] })
  })

  it("ends cancelled on TTS.CANCEL, stopping its synthesis actor", async () => {
    let stopped = false
    const machine = synthesisStreamMachine.provide({
      actors: {
        synthesis: fromCallback(() => () => {
          stopped = true
        }),
      },
    })
    const actor = createActor(machine).start()
    actor.send({ type: "TTS.CANCEL" })
    assert.strictEqual((await toPromise(actor)).outcome, "cancelled")
    assert.isTrue(stopped)
  })
})

describe("SynthesisSession.logic", () => {
  it("hands the frames to the sink in order, the machine seeing only segment boundaries", async () => {
    const frames: SynthesizedAudio[] = []
    const tts = createFakeTTS()
    const { actor, done } = SynthesisSession.start(runtime, { tts, onAudio: (a) => frames.push(a) })
    const states = new Set<string>()
    actor.subscribe((s) => states.add(JSON.stringify(s.value)))
    actor.send({ type: "TTS.TEXT", delta: "The first sentence is long enough. " })
    actor.send({ type: "TTS.TEXT", delta: "The second sentence is long enough too." })
    actor.send({ type: "TTS.END" })
    const output = await done
    assert.strictEqual(output.outcome, "done")
    assert.deepStrictEqual(
      output.segments.map((s) => s.segmentId),
      ["seg_0", "seg_1"],
    )
    assert.deepStrictEqual(
      concatPcm16(frames.map((f) => f.frame.data)),
      concatPcm16([
        fakeVoice("The first sentence is long enough."),
        fakeVoice("The second sentence is long enough too."),
      ]),
    )
    assert.isTrue(states.has(JSON.stringify({ speaking: { input: "ended", output: "audible" } })))
  })

  it("fails with the TTSError when a segment fails", async () => {
    const tts = createFakeTTS({ behaviour: () => ({ error: ttsUnavailable("fake-tts") }) })
    const { actor, done } = SynthesisSession.start(runtime, { tts, onAudio: () => {} })
    actor.send({ type: "TTS.TEXT", delta: "This will not be said." })
    actor.send({ type: "TTS.END" })
    const output = await done
    assert.strictEqual(output.outcome, "failed")
    assert.isTrue(isTTSError(output.error))
  })

  it("stops at once when the invoking parent leaves its state (barge-in), aborting the request", async () => {
    sim = await startSimulator()
    sim.scenario.nextHttp("speech", { status: 200, stream: { betweenChunksMs: 30 } })
    const tts = createTTS({ openai: { apiKey: sim.apiKey!, baseUrl: sim.httpUrl }, env: {} })
    let frames = 0
    const reply = SynthesisSession.logic(runtime, { tts, onAudio: () => void frames++ })
    const agent = setup({
      types: { events: {} as { type: "SAY"; text: string } | { type: "USER_SPEECH" } },
      actors: { reply: reply.logic },
    }).createMachine({
      initial: "speaking",
      states: {
        speaking: {
          invoke: { id: "reply", src: "reply" },
          on: {
            SAY: {
              actions: sendTo("reply", ({ event }) => ({ type: "TTS.TEXT" as const, delta: event.text })),
            },
            USER_SPEECH: { target: "listening" },
          },
        },
        listening: {},
      },
    })
    const parent = createActor(agent).start()
    parent.send({
      type: "SAY",
      text: "A reply long enough to be interrupted while it is still being spoken.",
    })
    parent.getSnapshot().children.reply?.send({ type: "TTS.END" })
    await eventually(() => frames >= 3, 10_000)
    parent.send({ type: "USER_SPEECH" })
    const framesAtBargeIn = frames
    await eventually(() => sim?.connections.find((c) => c.kind === "http")?.open === false, 10_000)
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.strictEqual(frames, framesAtBargeIn, "no frame after the barge-in")
    parent.stop()
  })
})
