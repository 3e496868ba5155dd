/**
 * The StreamAdapter and the FallbackAdapter over real sockets on 127.0.0.1: the REST STT
 * against the simulator (a slow first request still comes out first), and a Realtime
 * transcription session that dies in the middle of a word, handing the whole turn to the
 * REST STT, then recovering in the background.
 */
import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import { startSimulator } from "../../src/simulator/index.ts"
import type { Simulator, SimulatorConnection } from "../../src/simulator/types.ts"
import {
  createBatchSTT,
  createFallbackAdapter,
  createTranscriptionSession,
  type SpeechEvent,
  streamingSTT,
} from "../../src/stt/index.ts"
import { finals, type Piece, speech, toFrames, wordsIn } from "./conformance.ts"

const RATE = 16_000

const simulators: Simulator[] = []
afterEach(async () => {
  await Promise.all(simulators.splice(0).map((s) => s.close()))
})

/** A simulator whose model names each test word by its pitch; every REST request's audio is kept. */
const hearingSimulator = async () => {
  const heard: Int16Array[] = []
  const sim = await startSimulator({
    scenario: {
      transcripts: (request) => {
        heard.push(request.audio)
        return wordsIn(request.audio, 24_000).join(" ")
      },
    },
  })
  simulators.push(sim)
  return { sim, heard }
}

const restSTT = (sim: Simulator, label = "rest") =>
  createBatchSTT({
    openai: { apiKey: sim.apiKey!, baseUrl: sim.httpUrl },
    env: {},
    label,
    connectOptions: { retryIntervalMs: 1, jitter: false },
  })

const httpRequests = (sim: Simulator): SimulatorConnection[] =>
  sim.connections.filter((c) => c.kind === "http")

/** Reads a stream in the background, keeping the events seen so far. */
const reader = (stream: AsyncIterable<SpeechEvent>) => {
  const events: SpeechEvent[] = []
  const done = (async () => {
    try {
      for await (const event of stream) events.push(event)
      return undefined
    } catch (error) {
      return error
    }
  })()
  return { events, done }
}

/** First to last loud sample of some audio, in milliseconds. */
const voicedMs = (samples: Int16Array, rateHz: number): number => {
  let first = -1
  let last = -1
  samples.forEach((s, i) => {
    if (Math.abs(s) > 1000) {
      if (first < 0) first = i
      last = i
    }
  })
  return first < 0 ? 0 : ((last - first + 1) / rateHz) * 1000
}

const label = (e: SpeechEvent) => `${e.type}:${"itemId" in e ? e.itemId : ""}`

describe("StreamAdapter over the REST STT", () => {
  it("keeps speech order when the first segment's request answers after the later ones", async () => {
    const { sim } = await hearingSimulator()
    // The first request is answered 3 s late (with its own transcript); the others at once.
    sim.scenario.nextHttp("transcriptions", { status: 200, delayMs: 3_000, body: { text: "bravo" } })
    const stream = restSTT(sim).stream()
    const read = reader(stream)
    const turn = (word: number): Piece[] => [{ word, ms: 600 }, { silenceMs: 900 }]
    for (const frame of toFrames(speech([{ silenceMs: 200 }, ...turn(300)], RATE), RATE))
      stream.pushFrame(frame)
    await vi.waitFor(() => assert.strictEqual(httpRequests(sim).length, 1))
    for (const frame of toFrames(speech([...turn(500), ...turn(700)], RATE), RATE)) stream.pushFrame(frame)
    stream.endInput()
    // The second and third requests are answered while the first is still waiting.
    await vi.waitFor(
      () => {
        const [first, second, third] = httpRequests(sim)
        assert.strictEqual(second?.httpStatus, 200)
        assert.strictEqual(third?.httpStatus, 200)
        assert.isTrue(first?.open)
      },
      { timeout: 2_800 },
    )
    // Nothing of the later segments comes out before the first is done.
    assert.deepStrictEqual(read.events.map(label), ["start_of_speech:segment_1"])
    assert.isUndefined(await read.done)
    assert.deepStrictEqual(
      read.events.map(label),
      [1, 2, 3].flatMap((n) =>
        ["start_of_speech", "final_transcript", "end_of_speech", "recognition_usage"].map(
          (type) => `${type}:segment_${n}`,
        ),
      ),
    )
    assert.deepStrictEqual(finals(read.events), ["bravo", "delta", "foxtrot"])
    const starts = read.events.flatMap((e) => (e.type === "start_of_speech" ? [e.atMs] : []))
    assert.deepStrictEqual(
      [...starts].sort((a, b) => a - b),
      starts,
    )
  })
})

describe("FallbackAdapter from a Realtime session to the REST STT", () => {
  it("hands the whole turn to the REST STT when the session dies mid-word, then returns once a probe succeeds", async () => {
    const realtime = await hearingSimulator()
    const rest = await hearingSimulator()
    // The first Realtime connection dies (1011) right after its third event, which announces
    // speech: session.created, session.updated, input_audio_buffer.speech_started.
    realtime.sim.scenario.nextConnection("transcription", {
      faults: [{ type: "close", code: 1011, afterEvents: 3 }],
    })
    const changes: string[] = []
    const session = streamingSTT({
      label: "realtime",
      createStream: () =>
        createTranscriptionSession({
          apiKey: realtime.sim.apiKey!,
          baseUrl: realtime.sim.httpUrl,
          env: {},
          turnDetection: { type: "server_vad" },
          reconnect: { maxAttempts: 0 },
        }),
    })
    const fallback = createFallbackAdapter({
      stts: [session, restSTT(rest.sim)],
      recoveryIntervalMs: 0,
      onAvailabilityChanged: (c) => changes.push(`${c.label}:${c.available}`),
    })
    const stream = fallback.stream()
    const read = reader(stream)
    // One word of 1000 ms from 300 ms; the session hears its first 600 ms before it dies.
    const firstTurn = speech([{ silenceMs: 300 }, { word: 400, ms: 1_000 }, { silenceMs: 1_200 }], RATE)
    const cut = Math.round(0.9 * RATE)
    for (const frame of toFrames(firstTurn.subarray(0, cut), RATE)) stream.pushFrame(frame)
    await vi.waitFor(() => assert.deepInclude(changes, "realtime:false"), { timeout: 5_000 })
    const dead = realtime.sim.connections.find((c) => c.kind === "transcription")
    assert.strictEqual(dead?.closeCode, 1011)
    assert.strictEqual(
      (dead?.sent.at(-1) as { type?: string } | undefined)?.type,
      "input_audio_buffer.speech_started",
    )
    for (const frame of toFrames(firstTurn.subarray(cut), RATE)) stream.pushFrame(frame)
    // The REST STT transcribes the turn; the session, probed with the same audio, recovers.
    await vi.waitFor(() => assert.deepStrictEqual(finals(read.events), ["charlie"]), { timeout: 5_000 })
    await vi.waitFor(() => assert.deepInclude(changes, "realtime:true"), { timeout: 5_000 })
    for (const frame of toFrames(speech([{ word: 600, ms: 700 }, { silenceMs: 1_200 }], RATE), RATE))
      stream.pushFrame(frame)
    stream.endInput()
    assert.isUndefined(await read.done)
    await fallback.close()

    assert.deepStrictEqual(finals(read.events), ["charlie", "echo"])
    assert.deepStrictEqual(
      read.events.flatMap((e) => (e.type === "final_transcript" ? [e.source] : [])),
      ["rest", "realtime"],
    )
    // The REST request carried the whole word: the part the session had heard and the rest.
    assert.strictEqual(rest.heard.length, 1)
    assert.deepStrictEqual(wordsIn(rest.heard[0]!, 24_000), ["charlie"])
    assert.approximately(voicedMs(rest.heard[0]!, 24_000), 1_000, 25)
    // The turn begun by the session is the one the REST STT finished: announced once.
    const starts = read.events.filter((e) => e.type === "start_of_speech")
    const first = read.events.find((e) => e.type === "final_transcript")
    assert.strictEqual(starts.length, 2)
    assert.strictEqual(
      first?.type === "final_transcript" ? first.itemId : "",
      starts[0]?.type === "start_of_speech" ? starts[0].itemId : undefined,
    )
    assert.isFalse(read.events.some((e) => e.type === "error" || e.type === "transcription_failed"))
    assert.deepStrictEqual(
      fallback.status().map((s) => s.available),
      [true, true],
    )
  })
})
