/**
 * The TTS adapters and the segment pipeline with fake TTSs: the StreamAdapter's segments,
 * concurrency and order; the fallback chain switching before first audio only, reporting
 * every failure, and taking a recovered TTS back after a probe.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import { concatPcm16 } from "../../src/audio/index.ts"
import {
  audioEvents,
  collectSynthesis,
  createFakeTTS,
  fakeVoice,
  metricsEvents,
  synthesizedSamples,
  ttsUnavailable,
} from "../../src/testing/index.ts"
import {
  createFallbackTTS,
  createSegmentPipeline,
  createTTSStreamAdapter,
  isTTSError,
  type SegmentOutcome,
  toSynthesisEffectStream,
} from "../../src/tts/index.ts"

const outcome = (characters: number): SegmentOutcome => ({
  requestId: "",
  characters,
  ttfbMs: 0,
  ttffMs: 0,
  audioDurationMs: 0,
  durationMs: 0,
  attempts: 1,
  source: "test",
})

describe("createTTSStreamAdapter", () => {
  it("speaks each sentence of a token stream through synthesize, in order, two at a time at most", async () => {
    const fake = createFakeTTS()
    let inFlight = 0
    let maxInFlight = 0
    const watched = {
      ...fake,
      synthesize: (text: string) => {
        const stream = fake.synthesize(text)
        maxInFlight = Math.max(maxInFlight, ++inFlight)
        return {
          cancel: () => stream.cancel(),
          async *[Symbol.asyncIterator]() {
            try {
              yield* stream
            } finally {
              inFlight--
            }
          },
        }
      },
    }
    const adapter = createTTSStreamAdapter({ tts: watched, minSentenceChars: 0 })
    const stream = adapter.stream()
    const text = "One is here. Two is there. Three is everywhere. Four is at the door."
    for (const char of text) stream.pushText(char)
    stream.endInput()
    const { events, error } = await collectSynthesis(stream)
    assert.isUndefined(error)
    const sentences = ["One is here.", "Two is there.", "Three is everywhere.", "Four is at the door."]
    assert.deepStrictEqual(
      fake.calls.map((c) => c.text),
      sentences,
    )
    assert.deepStrictEqual(synthesizedSamples(events), concatPcm16(sentences.map((s) => fakeVoice(s))))
    assert.isAtMost(maxInFlight, 2)
    assert.deepStrictEqual(
      metricsEvents(events).map((m) => m.segmentId),
      ["seg_0", "seg_1", "seg_2", "seg_3"],
    )
  })

  it("marks only the last frame of a segment final even when the wrapped TTS split the text", async () => {
    const fake = createFakeTTS()
    const adapter = createTTSStreamAdapter({ tts: fake, chunked: false })
    const stream = adapter.stream()
    stream.pushText("Alpha beta gamma. Delta epsilon.")
    stream.endInput()
    const audio = audioEvents((await collectSynthesis(stream)).events)
    assert.deepStrictEqual(
      audio.map((a, i) => (a.final ? i : -1)).filter((i) => i >= 0),
      [audio.length - 1],
    )
    assert.isTrue(audio.every((a) => a.segmentId === "seg_0"))
  })
})

describe("the segment pipeline", () => {
  it("delivers an earlier segment's frames whole before a later segment's failure", async () => {
    const stream = createSegmentPipeline({
      label: "test",
      chunked: true,
      minSentenceChars: 0,
      synthesize: async ({ text, segmentId, emit }) => {
        if (segmentId === "seg_1") throw ttsUnavailable("test")
        // The first segment is slower than the second one's failure.
        await new Promise((resolve) => setTimeout(resolve, 50))
        for (let i = 0; i < 3; i++) {
          emit({
            type: "audio",
            frame: { data: new Int16Array(480), sampleRateHz: 24_000, channels: 1 },
            requestId: "",
            segmentId,
            final: i === 2,
          })
        }
        return outcome(text.length)
      },
    })
    stream.pushText("First one. Second one.")
    stream.endInput()
    const { events, error } = await collectSynthesis(stream)
    assert.lengthOf(audioEvents(events), 3)
    assert.strictEqual(metricsEvents(events)[0]?.segmentId, "seg_0")
    assert.isTrue(isTTSError(error))
  })

  it("refuses a non-positive concurrency", () => {
    assert.throws(
      () =>
        createSegmentPipeline({
          label: "t",
          chunked: true,
          maxConcurrentSegments: 0,
          synthesize: async () => outcome(0),
        }),
      /maxConcurrentSegments/,
    )
  })
})

describe("createFallbackTTS", () => {
  it("speaks a segment with the next TTS when the preferred one fails before its first audio", async () => {
    const changes: string[] = []
    const down = createFakeTTS({ label: "down", behaviour: () => ({ error: ttsUnavailable("down") }) })
    const up = createFakeTTS({ label: "up" })
    const fallback = createFallbackTTS([down, up], {
      recoveryIntervalMs: 60_000,
      onAvailabilityChanged: (c) => changes.push(`${c.label}:${c.available}`),
    })
    const { events, error } = await collectSynthesis(fallback.synthesize("Nothing is lost."))
    assert.isUndefined(error)
    assert.deepStrictEqual(synthesizedSamples(events), fakeVoice("Nothing is lost."))
    assert.strictEqual(metricsEvents(events)[0]?.source, "up")
    assert.deepStrictEqual(fallback.status(), [
      { label: "down", available: false },
      { label: "up", available: true },
    ])
    assert.deepStrictEqual(changes, ["down:false"])
    // Unavailable and not yet due for a probe: the next segment goes straight to "up".
    await collectSynthesis(fallback.synthesize("Again."))
    assert.lengthOf(down.calls, 1)
    await fallback.close()
  })

  it("fails the segment, without switching, when the failure comes after first audio", async () => {
    const broken = createFakeTTS({
      label: "broken",
      behaviour: () => ({ error: ttsUnavailable("broken"), afterFrames: 4 }),
    })
    const spare = createFakeTTS({ label: "spare" })
    const fallback = createFallbackTTS([broken, spare])
    const { events, error } = await collectSynthesis(
      fallback.synthesize("This would be said twice otherwise."),
    )
    assert.lengthOf(audioEvents(events), 4)
    assert.isTrue(isTTSError(error))
    assert.lengthOf(spare.calls, 0)
    await fallback.close()
  })

  it("fails with AllFailed naming every TTS when none can speak", async () => {
    const a = createFakeTTS({ label: "a", behaviour: () => ({ error: ttsUnavailable("a") }) })
    const b = createFakeTTS({ label: "b", behaviour: () => ({ error: ttsUnavailable("b") }) })
    const { error } = await collectSynthesis(createFallbackTTS([a, b]).synthesize("Hello?"))
    assert.isTrue(isTTSError(error))
    if (!isTTSError(error) || error.reason._tag !== "AllFailed") return assert.fail("AllFailed expected")
    assert.deepStrictEqual(
      error.reason.failures.map((f) => f.source),
      ["a", "b"],
    )
  })

  it("probes an unavailable TTS in the background and takes it back once it answers", async () => {
    let clock = 0
    let failing = true
    const flaky = createFakeTTS({
      label: "flaky",
      behaviour: () => (failing ? { error: ttsUnavailable("flaky") } : undefined),
    })
    const steady = createFakeTTS({ label: "steady" })
    const fallback = createFallbackTTS([flaky, steady], { recoveryIntervalMs: 1_000, now: () => clock })
    await collectSynthesis(fallback.synthesize("First."))
    assert.isFalse(fallback.status()[0]?.available)
    failing = false
    // Not due yet: no probe.
    clock = 500
    await collectSynthesis(fallback.synthesize("Second."))
    assert.lengthOf(flaky.calls, 1)
    // Due: the next segment (spoken by "steady") also probes "flaky" with its text.
    clock = 1_500
    await collectSynthesis(fallback.synthesize("Third."))
    for (let i = 0; i < 100 && fallback.status()[0]?.available !== true; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    assert.isTrue(fallback.status()[0]?.available)
    const { events } = await collectSynthesis(fallback.synthesize("Fourth."))
    assert.strictEqual(metricsEvents(events)[0]?.source, "flaky")
    await fallback.close()
  })

  it("refuses an empty chain and members of different rates", () => {
    assert.throws(() => createFallbackTTS([]), /at least one/)
    assert.throws(
      () => createFallbackTTS([createFakeTTS(), createFakeTTS({ sampleRateHz: 16_000 })]),
      /same sample rate/,
    )
  })
})

describe("toSynthesisEffectStream", () => {
  it("gives the frames as an Effect Stream, and cancels the synthesis when the stream stops early", async () => {
    const fake = createFakeTTS()
    const synthesis = fake.synthesize("An Effect stream of frames, of which only a few are taken.")
    const taken = await Effect.runPromise(
      toSynthesisEffectStream(synthesis).pipe(
        Stream.filter((e) => e.type === "audio"),
        Stream.take(3),
        Stream.runCollect,
      ),
    )
    assert.lengthOf(taken, 3)
    assert.strictEqual(fake.inFlight, 0)
    assert.deepStrictEqual(await collectSynthesis(synthesis), { events: [] })
  })

  it("fails with the synthesis's TTSError", async () => {
    const fake = createFakeTTS({ behaviour: () => ({ error: ttsUnavailable("fake-tts") }) })
    const exit = await Effect.runPromiseExit(Stream.runDrain(toSynthesisEffectStream(fake.synthesize("No."))))
    assert.isTrue(Exit.isFailure(exit))
  })
})
