/**
 * The STT conformance suite: the same behavioural tests run against every streaming
 * implementation (`SpeechStream`). The test audio, the in-memory fake STT and the stream
 * readers live in `voxstate/testing` (src/testing) so users can test their own agents the
 * same way; they are re-exported here for the STT tests.
 *
 * Test speech is made of tones: each "word" is a tone whose pitch names it (300 Hz is
 * "bravo"), so an STT that only sees audio (the fake) and one that is scripted (the
 * simulator) give the same transcripts, and a replayed turn can be checked to carry the
 * right audio.
 */
import { assert, describe, it } from "@effect/vitest"
import { isAudioError } from "../../src/audio/index.ts"
import { isInputEndedError, type SpeechEvent, type SpeechStream } from "../../src/stt/index.ts"

import {
  caught,
  collect,
  finals,
  type Piece,
  pushAll,
  speech,
  toFrames,
  wordsIn,
} from "../../src/testing/index.ts"

export * from "../../src/testing/index.ts"

// ---------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------

/** An implementation under the conformance suite. */
export interface ConformanceSubject {
  /**
   * Opens a fresh stream. Every subject transcribes what it hears: the fake STT and the
   * simulator name each test word by its pitch (see {@link wordsIn}).
   */
  open(): SpeechStream
  /** Requests (or recognitions) made so far, to check that silence costs none. */
  requests(): number
  /** Releases what the subject holds. */
  close(): Promise<void>
}

/** What an implementation promises beyond the base contract. */
export interface ConformanceTraits {
  /** Each turn ends with a `recognition_usage` event. Default true. */
  readonly reportsUsage?: boolean
}

/**
 * Registers the conformance tests for one implementation: `make` builds a subject per test.
 */
export const describeSpeechStreamConformance = (
  name: string,
  make: () => Promise<ConformanceSubject>,
  traits: ConformanceTraits = {},
): void => {
  const withSubject = async (body: (subject: ConformanceSubject) => Promise<void>) => {
    const subject = await make()
    try {
      await body(subject)
    } finally {
      await subject.close()
    }
  }

  const twoTurns: readonly Piece[] = [
    { silenceMs: 300 },
    { word: 300, ms: 700 },
    { silenceMs: 1200 },
    { word: 500, ms: 700 },
    { silenceMs: 1200 },
  ]

  describe(`SpeechStream conformance: ${name}`, () => {
    it("transcribes two turns in order, each after its own start of speech", () =>
      withSubject(async (subject) => {
        const stream = subject.open()
        pushAll(stream, toFrames(speech(twoTurns, 16_000), 16_000))
        const { events, error } = await collect(stream)
        assert.isUndefined(error)
        assert.deepStrictEqual(finals(events), ["bravo", "delta"])
        const indices = (type: SpeechEvent["type"]) => events.flatMap((e, i) => (e.type === type ? [i] : []))
        const starts = indices("start_of_speech")
        const ends = indices("end_of_speech")
        const finalIndices = indices("final_transcript")
        assert.strictEqual(starts.length, 2)
        assert.strictEqual(ends.length, 2)
        // Starts and ends alternate: start, end, start, end.
        assert.isBelow(starts[0]!, ends[0]!)
        assert.isBelow(ends[0]!, starts[1]!)
        assert.isBelow(starts[1]!, ends[1]!)
        finalIndices.forEach((at, turn) => {
          assert.isAbove(at, starts[turn]!, `final ${turn} comes after start of speech ${turn}`)
          // Where the start of speech names its item, the final belongs to it.
          const start = events[starts[turn]!]
          const final = events[at]
          if (start?.type === "start_of_speech" && start.itemId !== undefined)
            assert.strictEqual(final?.type === "final_transcript" ? final.itemId : undefined, start.itemId)
        })
      }))

    it("shares reads: two iterators reading at once split the events in order, none is left pending", () =>
      withSubject(async (subject) => {
        const stream = subject.open()
        pushAll(stream, toFrames(speech(twoTurns, 16_000), 16_000))
        const a = stream[Symbol.asyncIterator]()
        const b = stream[Symbol.asyncIterator]()
        const events: SpeechEvent[] = []
        for (;;) {
          // Both reads are made before either is answered: the first made gets the first event.
          const [first, second] = await Promise.all([a.next(), b.next()])
          if (!first.done) events.push(first.value)
          if (!second.done) events.push(second.value)
          if (first.done && second.done) break
          if (first.done || second.done) {
            // The queue is drained: every later read of both is done.
            assert.isTrue((await a.next()).done)
            assert.isTrue((await b.next()).done)
            break
          }
        }
        assert.deepStrictEqual(finals(events), ["bravo", "delta"])
        assert.strictEqual(events.filter((e) => e.type === "start_of_speech").length, 2)
      }))

    it("gives each final transcript its own item and times inside the audio, in order", () =>
      withSubject(async (subject) => {
        const stream = subject.open()
        pushAll(stream, toFrames(speech(twoTurns, 16_000), 16_000))
        const { events } = await collect(stream)
        const finalEvents = events.filter((e) => e.type === "final_transcript")
        assert.strictEqual(finalEvents.length, 2)
        const [first, second] = finalEvents.map((e) => (e.type === "final_transcript" ? e : undefined))
        assert.notStrictEqual(first?.itemId, second?.itemId)
        const a = first!.alternatives[0]!
        const b = second!.alternatives[0]!
        // The first word is spoken from 300 to 1000 ms, the second from 2200 to 2900 ms.
        assert.isAtMost(a.startMs, 400)
        assert.isAtLeast(a.endMs, 900)
        assert.isAtMost(a.endMs, 2200)
        assert.isAtLeast(b.startMs, a.endMs)
        assert.isAtLeast(b.endMs, 2800)
        assert.isAtMost(b.endMs, 4200)
      }))

    it("accepts audio at 48 kHz stereo", () =>
      withSubject(async (subject) => {
        const stream = subject.open()
        pushAll(stream, toFrames(speech([{ word: 400, ms: 800 }, { silenceMs: 1000 }], 48_000), 48_000, 2))
        const { events, error } = await collect(stream)
        assert.isUndefined(error)
        assert.deepStrictEqual(finals(events), ["charlie"])
      }))

    it("makes no request and no transcript for silence", () =>
      withSubject(async (subject) => {
        const stream = subject.open()
        pushAll(stream, toFrames(speech([{ silenceMs: 3000 }], 16_000), 16_000))
        const { events, error } = await collect(stream)
        assert.isUndefined(error)
        assert.deepStrictEqual(finals(events), [])
        assert.strictEqual(subject.requests(), 0)
      }))

    it("drains the last turn when input ends in the middle of speech", () =>
      withSubject(async (subject) => {
        const stream = subject.open()
        pushAll(stream, toFrames(speech([{ silenceMs: 200 }, { word: 600, ms: 900 }], 16_000), 16_000))
        const { events, error } = await collect(stream)
        assert.isUndefined(error)
        assert.deepStrictEqual(finals(events), ["echo"])
        assert.strictEqual(
          events.at(-1)?.type === "recognition_usage" || events.at(-1)?.type === "end_of_speech",
          true,
        )
      }))

    if (traits.reportsUsage !== false) {
      it("reports the usage of every turn", () =>
        withSubject(async (subject) => {
          const stream = subject.open()
          pushAll(stream, toFrames(speech(twoTurns, 16_000), 16_000))
          const { events } = await collect(stream)
          const usages = events.filter((e) => e.type === "recognition_usage")
          assert.strictEqual(usages.length, 2)
          for (const usage of usages) {
            if (usage.type !== "recognition_usage") continue
            assert.isAbove(usage.usage.audioDurationMs, 500)
            assert.isBelow(usage.usage.audioDurationMs, 3000)
          }
        }))
    }

    it("refuses audio and flush after endInput with its documented input-ended error", () =>
      withSubject(async (subject) => {
        const stream = subject.open()
        stream.pushFrame({ data: new Int16Array(320), sampleRateHz: 16_000, channels: 1 })
        stream.endInput()
        stream.endInput()
        const thrown = [
          caught(() => stream.pushFrame({ data: new Int16Array(320), sampleRateHz: 16_000, channels: 1 })),
          caught(() => stream.flush()),
        ]
        for (const error of thrown) {
          assert.isTrue(isInputEndedError(error), `not an input-ended error: ${String(error)}`)
          assert.isFalse(isAudioError(error))
        }
        const { error } = await collect(stream)
        assert.isUndefined(error)
      }))

    it("refuses audio after close with its documented input-ended error", () =>
      withSubject(async (subject) => {
        const stream = subject.open()
        await stream.close()
        const error = caught(() =>
          stream.pushFrame({ data: new Int16Array(320), sampleRateHz: 16_000, channels: 1 }),
        )
        assert.isTrue(isInputEndedError(error), `not an input-ended error: ${String(error)}`)
      }))

    it("throws an AudioError when the format changes mid-stream, and for a malformed frame", () =>
      withSubject(async (subject) => {
        const stream = subject.open()
        stream.pushFrame({ data: new Int16Array(320), sampleRateHz: 16_000, channels: 1 })
        const changed = caught(() =>
          stream.pushFrame({ data: new Int16Array(960), sampleRateHz: 48_000, channels: 1 }),
        )
        assert.isTrue(isAudioError(changed), `not an AudioError: ${String(changed)}`)
        const odd = caught(() =>
          stream.pushFrame({ data: new Int16Array(321), sampleRateHz: 16_000, channels: 2 }),
        )
        assert.isTrue(isAudioError(odd), `not an AudioError: ${String(odd)}`)
        await stream.close()
      }))

    it("ends iteration on close, with speech still pending", () =>
      withSubject(async (subject) => {
        const stream = subject.open()
        pushAll(stream, toFrames(speech([{ word: 800, ms: 600 }], 16_000), 16_000), false)
        const reading = collect(stream)
        await stream.close()
        await stream.close()
        const { error } = await reading
        assert.isUndefined(error)
      }))
  })
}
