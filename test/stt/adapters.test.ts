/**
 * The StreamAdapter and the FallbackAdapter over in-memory STTs.
 */
import { assert, describe, it, vi } from "@effect/vitest"
import {
  type AudioError,
  createEnergyVad,
  createPcmConverter,
  createResampler,
  isAudioError,
  type Vad,
  type VadEvent,
} from "../../src/audio/index.ts"
import { concatPcm16 } from "../../src/audio/samples.ts"
import {
  createFallbackAdapter,
  createSpeechEventChannel,
  createStreamAdapter,
  isInputEndedError,
  type SpeechEvent,
  type SpeechStream,
  STTError,
  streamingSTT,
} from "../../src/stt/index.ts"
import {
  caught,
  collect,
  createFakeSTT,
  deferred,
  exhausted,
  finals,
  type Piece,
  pushAll,
  shape,
  speech,
  toFrames,
} from "./conformance.ts"

const RATE = 16_000
const audio = (pieces: readonly Piece[]) => toFrames(speech(pieces, RATE), RATE)

const threeWords: readonly Piece[] = [
  { silenceMs: 200 },
  { word: 300, ms: 600 },
  { silenceMs: 900 },
  { word: 500, ms: 600 },
  { silenceMs: 900 },
  { word: 700, ms: 600 },
  { silenceMs: 900 },
]

describe("StreamAdapter", () => {
  it("emits start of speech, final transcript, end of speech and usage for each segment, in that order", async () => {
    const fake = createFakeSTT()
    const stream = createStreamAdapter({ stt: fake }).stream()
    pushAll(stream, audio(threeWords))
    const { events } = await collect(stream)
    assert.deepStrictEqual(
      events.map((e) => e.type),
      [
        ...["start_of_speech", "final_transcript", "end_of_speech", "recognition_usage"],
        ...["start_of_speech", "final_transcript", "end_of_speech", "recognition_usage"],
        ...["start_of_speech", "final_transcript", "end_of_speech", "recognition_usage"],
      ],
    )
    assert.deepStrictEqual(finals(events), ["bravo", "delta", "foxtrot"])
    assert.strictEqual(fake.calls.length, 3)
    const ids = events.map((e) => ("itemId" in e ? e.itemId : undefined))
    assert.deepStrictEqual(new Set(ids).size, 3)
  })

  it("recognizes segments concurrently but emits their events in speech order", async () => {
    const slow = deferred<undefined>()
    const answered: number[] = []
    const fake = createFakeSTT({
      behaviour: async (call) => {
        if (call.index === 0) await slow.promise
        answered.push(call.index)
        return undefined
      },
    })
    const stream = createStreamAdapter({ stt: fake }).stream()
    pushAll(stream, audio(threeWords))
    const reading = collect(stream)
    // The later segments are answered while the first is still held.
    await vi.waitFor(() => assert.deepStrictEqual(answered, [1, 2]))
    assert.strictEqual(fake.maxInFlight, 3)
    slow.resolve(undefined)
    const { events } = await reading
    assert.deepStrictEqual(answered, [1, 2, 0])
    assert.deepStrictEqual(
      events.map((e) => `${e.type}:${"itemId" in e ? e.itemId : ""}`),
      [1, 2, 3].flatMap((n) =>
        ["start_of_speech", "final_transcript", "end_of_speech", "recognition_usage"].map(
          (type) => `${type}:segment_${n}`,
        ),
      ),
    )
    assert.deepStrictEqual(finals(events), ["bravo", "delta", "foxtrot"])
  })

  it("keeps at most maxConcurrency recognitions in flight", async () => {
    const gate = deferred<undefined>()
    const fake = createFakeSTT({ behaviour: () => gate.promise })
    const stream = createStreamAdapter({ stt: fake, maxConcurrency: 1 }).stream()
    pushAll(stream, audio(threeWords))
    const reading = collect(stream)
    await vi.waitFor(() => assert.strictEqual(fake.calls.length, 1))
    gate.resolve(undefined)
    const { events } = await reading
    assert.strictEqual(fake.maxInFlight, 1)
    assert.deepStrictEqual(finals(events), ["bravo", "delta", "foxtrot"])
  })

  it("cuts segments where the VAD's minSilenceMs of silence is heard", async () => {
    const pieces: readonly Piece[] = [
      { word: 300, ms: 500 },
      { silenceMs: 400 },
      { word: 500, ms: 500 },
      { silenceMs: 800 },
    ]
    const merged = createFakeSTT()
    const mergedEvents = await collect(
      (() => {
        const s = createStreamAdapter({ stt: merged, vad: { minSilenceMs: 600 } }).stream()
        pushAll(s, audio(pieces))
        return s
      })(),
    )
    assert.deepStrictEqual(finals(mergedEvents.events), ["bravo delta"])
    const split = createFakeSTT()
    const s = createStreamAdapter({ stt: split, vad: { minSilenceMs: 200 } }).stream()
    pushAll(s, audio(pieces))
    assert.deepStrictEqual(finals((await collect(s)).events), ["bravo", "delta"])
  })

  it("uses any object meeting the Vad interface", async () => {
    // A VAD that hears speech from 0.5 s to 1 s of every stream, whatever the audio.
    let offset = 0
    let started = false
    let finished = false
    const vad: Vad = {
      push(samples) {
        const events: VadEvent[] = []
        offset += samples.length
        if (!started && offset >= 8000) {
          started = true
          events.push({ type: "speech_start", sampleOffset: 8000 })
        }
        if (!finished && offset >= 16_000) {
          finished = true
          events.push({ type: "speech_end", sampleOffset: 16_000 })
        }
        return events
      },
      flush: () => [],
      reset() {
        offset = 0
      },
    }
    const fake = createFakeSTT({ behaviour: () => "heard" })
    const stream = createStreamAdapter({ stt: fake, vad: () => vad }).stream()
    pushAll(stream, audio([{ silenceMs: 2000 }]))
    const { events } = await collect(stream)
    assert.deepStrictEqual(finals(events), ["heard"])
    assert.strictEqual(fake.calls[0]?.durationMs, 500)
    const start = events.find((e) => e.type === "start_of_speech")
    assert.strictEqual(start?.type === "start_of_speech" ? start.atMs : -1, 500)
  })

  it("reports a failed recognition as transcription_failed, ends the turn and goes on", async () => {
    const fake = createFakeSTT({
      behaviour: (call) => {
        if (call.index === 0) throw exhausted("fake")
        return undefined
      },
    })
    const stream = createStreamAdapter({ stt: fake }).stream()
    pushAll(stream, audio(threeWords))
    const { events, error } = await collect(stream)
    assert.isUndefined(error)
    assert.deepStrictEqual(shape(events).slice(0, 3), [
      "start_of_speech",
      "transcription_failed",
      "end_of_speech",
    ])
    const failed = events.find((e) => e.type === "transcription_failed")
    assert.strictEqual(failed?.type === "transcription_failed" ? failed.error.code : "", "http_503")
    assert.strictEqual(failed?.type === "transcription_failed" ? failed.error.retryable : false, true)
    assert.deepStrictEqual(finals(events), ["delta", "foxtrot"])
  })

  it("ends the current segment at once on flush", async () => {
    const fake = createFakeSTT()
    const stream = createStreamAdapter({ stt: fake }).stream()
    pushAll(stream, audio([{ silenceMs: 200 }, { word: 400, ms: 800 }]), false)
    assert.strictEqual(fake.calls.length, 0)
    stream.flush()
    await vi.waitFor(() => assert.strictEqual(fake.calls.length, 1))
    assert.deepStrictEqual(fake.calls[0]?.words, ["charlie"])
    stream.endInput()
    assert.deepStrictEqual(finals((await collect(stream)).events), ["charlie"])
  })

  it("ends a flushed segment at exactly the audio pushed, resampler tail included", async () => {
    // Audio at 48 kHz is resampled to 16 kHz; the resampler holds back a tail that belongs to
    // the segment flush() ends, not to the next one.
    const inputRate = 48_000
    const first = speech([{ word: 300, ms: 500 }], inputRate)
    const second = speech([{ word: 700, ms: 500 }], inputRate)
    // A VAD that hears speech from the first sample after each flush and never hears it end.
    const speechAlways = (): Vad => {
      let open = false
      return {
        push: (samples) => {
          if (open || samples.length === 0) return []
          open = true
          return [{ type: "speech_start", sampleOffset: 0 }]
        },
        flush: () => {
          open = false
          return []
        },
        reset: () => {
          open = false
        },
      }
    }
    const fake = createFakeSTT()
    const stream = createStreamAdapter({ stt: fake, vad: speechAlways }).stream()
    pushAll(stream, toFrames(first, inputRate), false)
    stream.flush()
    pushAll(stream, toFrames(second, inputRate))
    await collect(stream)
    assert.strictEqual(fake.calls.length, 2)
    // Each segment is exactly its own audio, resampled on its own (filter tail and all).
    const alone = (samples: Int16Array) => {
      const resampler = createResampler({ fromHz: inputRate, toHz: RATE })
      const head = resampler.push(samples)
      const tail = resampler.flush()
      const out = new Int16Array(head.length + tail.length)
      out.set(head)
      out.set(tail, head.length)
      return out
    }
    const expected = [alone(first), alone(second)]
    assert.strictEqual(expected[0]?.length, (first.length * RATE) / inputRate)
    for (const [i, call] of fake.calls.entries()) {
      assert.strictEqual(call.audio.length, expected[i]?.length, `segment ${i + 1} length`)
      assert.deepStrictEqual(call.audio, expected[i], `segment ${i + 1} samples`)
    }
    assert.deepStrictEqual(
      fake.calls.map((c) => c.words),
      [["bravo"], ["foxtrot"]],
    )
  })

  it("aborts recognitions in flight on close and ends iteration", async () => {
    const fake = createFakeSTT({ behaviour: () => new Promise<undefined>(() => {}) })
    const stream = createStreamAdapter({ stt: fake }).stream()
    pushAll(stream, audio(threeWords), false)
    const reading = collect(stream)
    await vi.waitFor(() => assert.strictEqual(fake.calls.length, 3))
    await stream.close()
    const { events, error } = await reading
    assert.isUndefined(error)
    assert.deepStrictEqual(finals(events), [])
    for (const call of fake.calls) assert.isTrue(call.options.signal?.aborted)
  })

  it("passes the STT's interim text on as interim transcripts before the final", async () => {
    const fake = createFakeSTT({ interim: true })
    const stream = createStreamAdapter({ stt: fake }).stream()
    pushAll(
      stream,
      audio([{ word: 300, ms: 400 }, { silenceMs: 200 }, { word: 500, ms: 400 }, { silenceMs: 800 }]),
    )
    const { events } = await collect(stream)
    const interims = events.flatMap((e) => (e.type === "interim_transcript" ? [e.alternatives[0]?.text] : []))
    assert.deepStrictEqual(interims, ["bravo", "bravo delta"])
    assert.deepStrictEqual(shape(events), [
      "start_of_speech",
      "interim_transcript",
      "interim_transcript",
      "final_transcript",
      "end_of_speech",
    ])
  })

  it("places each segment's transcript at its time in the stream", async () => {
    const fake = createFakeSTT()
    const stream = createStreamAdapter({ stt: fake, vad: { prefixPaddingMs: 0 } }).stream()
    pushAll(stream, audio(threeWords))
    const { events } = await collect(stream)
    const starts = events.flatMap((e) => (e.type === "final_transcript" ? [e.alternatives[0]!.startMs] : []))
    // Words start at 200, 1700 and 3200 ms.
    assert.deepStrictEqual(
      starts.map((ms) => Math.round(ms / 100) * 100),
      [200, 1700, 3200],
    )
    assert.deepStrictEqual(
      fake.calls.map((c) => c.options.offsetMs),
      starts,
    )
  })

  it("cuts each segment at the VAD's sample offsets when one push carries several words (48 kHz stereo)", async () => {
    const pieces: readonly Piece[] = [
      { silenceMs: 300 },
      { word: 300, ms: 400 },
      { silenceMs: 700 },
      { word: 500, ms: 400 },
      { silenceMs: 700 },
      { word: 700, ms: 400 },
      { silenceMs: 700 },
    ]
    const mono = speech(pieces, 48_000)
    const [frame] = toFrames(mono, 48_000, 2, (mono.length / 48_000) * 1000)
    assert.isDefined(frame)
    // What the VAD decides on the converted audio, worked out on its own.
    const converter = createPcmConverter({ targetRateHz: RATE })
    const converted = concatPcm16([converter.push(frame!), converter.flush()])
    const reference = createEnergyVad({ sampleRateHz: RATE })
    const cuts = [...reference.push(converted), ...reference.flush()]
    const bounds = cuts.flatMap((e, i) =>
      e.type === "speech_start" ? [{ start: e.sampleOffset, end: cuts[i + 1]!.sampleOffset }] : [],
    )
    assert.strictEqual(bounds.length, 3)

    const fake = createFakeSTT()
    const stream = createStreamAdapter({ stt: fake }).stream()
    stream.pushFrame(frame!)
    stream.endInput()
    const { events } = await collect(stream)
    assert.deepStrictEqual(
      fake.calls.map((c) => c.words),
      [["bravo"], ["delta"], ["foxtrot"]],
    )
    assert.deepStrictEqual(finals(events), ["bravo", "delta", "foxtrot"])
    // Each recognition gets exactly the samples between the VAD's speech_start and speech_end.
    for (const [i, { start, end }] of bounds.entries()) {
      assert.deepStrictEqual(fake.calls[i]?.audio, converted.slice(start, end), `segment ${i}`)
    }
    const ms = (sample: number) => (sample / RATE) * 1000
    assert.deepStrictEqual(
      events.flatMap((e) => (e.type === "start_of_speech" || e.type === "end_of_speech" ? [e.atMs] : [])),
      bounds.flatMap(({ start, end }) => [ms(start), ms(end)]),
    )
  })

  it("cuts continuous speech into segments of at most maxSegmentMs", async () => {
    const fake = createFakeSTT()
    const stream = createStreamAdapter({ stt: fake, maxSegmentMs: 1000 }).stream()
    pushAll(stream, audio([{ word: 300, ms: 2500 }, { silenceMs: 800 }]))
    const { events } = await collect(stream)
    assert.strictEqual(fake.calls.length, 3)
    for (const call of fake.calls) assert.isAtMost(call.durationMs, 1000)
    assert.deepStrictEqual(finals(events), ["bravo", "bravo", "bravo"])
  })

  it("makes no recognition for silence", async () => {
    const fake = createFakeSTT()
    const stream = createStreamAdapter({ stt: fake }).stream()
    pushAll(stream, audio([{ silenceMs: 5000 }]))
    const { events } = await collect(stream)
    assert.deepStrictEqual(events, [])
    assert.strictEqual(fake.calls.length, 0)
  })

  it("rejects options out of range with InvalidOptions", () => {
    const fake = createFakeSTT()
    for (const bad of [
      { maxConcurrency: 0 },
      { maxConcurrency: Number.NaN },
      { maxSegmentMs: 0 },
      { maxSegmentMs: Number.POSITIVE_INFINITY },
      { lookbackMs: -1 },
      { sampleRateHz: 16_000.5 },
    ]) {
      const error = caught(() => createStreamAdapter({ stt: fake, ...bad }))
      assert.instanceOf(error, STTError, JSON.stringify(bad))
      assert.strictEqual((error as STTError).reason._tag, "InvalidOptions")
    }
  })

  it("rejects energy VAD options out of range when the adapter is created", () => {
    const fake = createFakeSTT()
    for (const vad of [{ thresholdDbfs: Number.NaN }, { minSilenceMs: -1 }, { windowMs: 0 }]) {
      const error = caught(() => createStreamAdapter({ stt: fake, vad }))
      assert.isTrue(isAudioError(error), JSON.stringify(vad))
      assert.strictEqual((error as AudioError).reason, "InvalidOption")
    }
  })
})

/** A streaming STT whose streams die (a fatal error, then a failed iteration) after `frames` frames. */
const dyingStreamSTT = (label: string, frames: number) => {
  let opened = 0
  const stt = streamingSTT({
    label,
    createStream: (): SpeechStream => {
      opened++
      const channel = createSpeechEventChannel()
      let pushed = 0
      return {
        pushFrame() {
          pushed++
          if (pushed === frames) {
            channel.push({
              type: "error",
              error: { code: "session_expired", message: "the session died", retryable: true },
              fatal: true,
            })
            channel.fail(
              new STTError({
                reason: { _tag: "Recognition", code: "session_expired" },
                message: "died",
                retryable: true,
                attempts: 1,
              }),
            )
          }
        },
        flush() {},
        endInput() {
          channel.end()
        },
        async close() {
          channel.end()
        },
        [Symbol.asyncIterator]: () => channel[Symbol.asyncIterator](),
      }
    },
  })
  return { stt, opened: () => opened }
}

/** How long the voice lasts in what a fake call heard (first to last loud sample), in ms. */
const voicedMs = (call: { readonly audio: Int16Array; readonly rateHz: number }): number => {
  let first = -1
  let last = -1
  call.audio.forEach((s, i) => {
    if (Math.abs(s) > 1000) {
      if (first < 0) first = i
      last = i
    }
  })
  return first < 0 ? 0 : ((last - first + 1) / call.rateHz) * 1000
}

const sources = (events: readonly SpeechEvent[]) =>
  events.flatMap((e) => (e.type === "final_transcript" ? [e.source] : []))

describe("FallbackAdapter", () => {
  const oneWord = toFrames(speech([{ word: 300, ms: 600 }, { silenceMs: 300 }], RATE), RATE)

  it("recognizes with the next STT when the preferred one fails, and marks it unavailable", async () => {
    const changes: string[] = []
    const broken = createFakeSTT({
      label: "broken",
      behaviour: () => {
        throw exhausted("broken")
      },
    })
    const working = createFakeSTT({ label: "working" })
    const fallback = createFallbackAdapter({
      stts: [broken, working],
      onAvailabilityChanged: (c) => changes.push(`${c.label}:${c.available}`),
    })
    const result = await fallback.recognize(oneWord)
    assert.strictEqual(result.text, "bravo")
    assert.strictEqual(result.source, "working")
    assert.deepStrictEqual(fallback.status(), [
      { label: "broken", available: false },
      { label: "working", available: true },
    ])
    assert.deepStrictEqual(changes, ["broken:false"])
  })

  it("fails with AllFailed naming every STT when none can recognize", async () => {
    const a = createFakeSTT({
      label: "a",
      behaviour: () => {
        throw exhausted("a")
      },
    })
    const b = createFakeSTT({
      label: "b",
      behaviour: () => {
        throw exhausted("b", 2)
      },
    })
    const fallback = createFallbackAdapter({ stts: [a, b] })
    const error = await fallback.recognize(oneWord).then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.instanceOf(error, STTError)
    const reason = (error as STTError).reason
    assert.strictEqual(reason._tag, "AllFailed")
    if (reason._tag === "AllFailed")
      assert.deepStrictEqual(
        reason.failures.map((f) => f.source),
        ["a", "b"],
      )
  })

  it("probes the failed STT in the background with real audio and returns to it once it answers", async () => {
    let healthy = false
    const preferred = createFakeSTT({
      label: "preferred",
      behaviour: () => {
        if (!healthy) throw exhausted("preferred")
        return undefined
      },
    })
    const backup = createFakeSTT({ label: "backup" })
    const fallback = createFallbackAdapter({ stts: [preferred, backup], recoveryIntervalMs: 0 })
    assert.strictEqual((await fallback.recognize(oneWord)).source, "backup")
    healthy = true
    // This call is served by the backup; the preferred STT is probed with the same audio.
    assert.strictEqual((await fallback.recognize(oneWord)).source, "backup")
    await vi.waitFor(() => assert.isTrue(fallback.status()[0]?.available))
    assert.deepStrictEqual(preferred.calls.at(-1)?.words, ["bravo"])
    assert.strictEqual((await fallback.recognize(oneWord)).source, "preferred")
  })

  it("probes an unavailable STT no more often than recoveryIntervalMs", async () => {
    let clock = 0
    const preferred = createFakeSTT({
      label: "preferred",
      behaviour: () => {
        throw exhausted("preferred")
      },
    })
    const backup = createFakeSTT({ label: "backup" })
    const fallback = createFallbackAdapter({
      stts: [preferred, backup],
      recoveryIntervalMs: 5_000,
      now: () => clock,
    })
    await fallback.recognize(oneWord)
    assert.strictEqual(preferred.calls.length, 1)
    clock = 4_999
    await fallback.recognize(oneWord)
    assert.strictEqual(preferred.calls.length, 1)
    clock = 5_000
    await fallback.recognize(oneWord)
    await vi.waitFor(() => assert.strictEqual(preferred.calls.length, 2))
    await fallback.close()
  })

  it("replays the unfinished turn into the next STT when the active one fails mid-stream", async () => {
    const first = createFakeSTT({
      label: "first",
      behaviour: (call) => {
        if (call.words.includes("delta")) throw exhausted("first")
        return undefined
      },
    })
    const second = createFakeSTT({ label: "second" })
    const fallback = createFallbackAdapter({
      stts: [createStreamAdapter({ stt: first }), createStreamAdapter({ stt: second })],
      recoveryIntervalMs: 60_000,
    })
    const stream = fallback.stream()
    pushAll(stream, audio(threeWords))
    const { events, error } = await collect(stream)
    assert.isUndefined(error)
    assert.deepStrictEqual(finals(events), ["bravo", "delta", "foxtrot"])
    assert.deepStrictEqual(sources(events), ["first", "second", "second"])
    // The second STT heard the failed turn's audio again, and nothing of the finished one.
    assert.deepStrictEqual(
      second.calls.map((c) => c.words),
      [["delta"], ["foxtrot"]],
    )
    // All of the failed turn: the word (600 ms) and no less than the first STT was given.
    const failedTurn = first.calls.find((c) => c.words.includes("delta"))!
    assert.isAtLeast(second.calls[0]!.durationMs, 600)
    assert.isAtLeast(second.calls[0]!.durationMs, failedTurn.durationMs)
    assert.strictEqual(events.filter((e) => e.type === "transcription_failed").length, 0)
    // The replayed turn keeps the item it was announced with, and keeps its time.
    const starts = events.filter((e) => e.type === "start_of_speech")
    assert.strictEqual(starts.length, 3)
    const deltaFinal = events.find(
      (e) => e.type === "final_transcript" && e.alternatives[0]?.text === "delta",
    )
    const secondStart = starts[1]
    assert.strictEqual(
      deltaFinal?.type === "final_transcript" ? deltaFinal.itemId : "x",
      secondStart?.type === "start_of_speech" ? secondStart.itemId : "y",
    )
    const deltaStart = deltaFinal?.type === "final_transcript" ? deltaFinal.alternatives[0]!.startMs : 0
    assert.approximately(deltaStart, 1700 - 300, 150)
    assert.deepStrictEqual(
      fallback.status().map((s) => s.available),
      [false, true],
    )
  })

  it("goes back to the preferred STT at the next turn once a probe succeeds", async () => {
    const preferred = createFakeSTT({
      label: "preferred",
      behaviour: (call) => {
        if (call.index === 0) throw exhausted("preferred")
        return undefined
      },
    })
    const backup = createFakeSTT({ label: "backup" })
    const changes: string[] = []
    const fallback = createFallbackAdapter({
      stts: [createStreamAdapter({ stt: preferred }), createStreamAdapter({ stt: backup })],
      recoveryIntervalMs: 0,
      onAvailabilityChanged: (c) => changes.push(`${c.label}:${c.available}`),
    })
    const stream = fallback.stream()
    const reading = collect(stream)
    pushAll(stream, audio([{ word: 300, ms: 600 }, { silenceMs: 900 }]), false)
    // The first turn fails on the preferred STT; the probe with that turn's audio succeeds.
    await vi.waitFor(() => assert.deepStrictEqual(changes, ["preferred:false", "preferred:true"]))
    assert.deepStrictEqual(
      preferred.calls.map((c) => c.words),
      [["bravo"], ["bravo"]],
    )
    pushAll(stream, audio([{ word: 500, ms: 600 }, { silenceMs: 900 }]))
    const { events } = await reading
    assert.deepStrictEqual(finals(events), ["bravo", "delta"])
    assert.deepStrictEqual(sources(events), ["backup", "preferred"])
  })

  it("switches to the next STT when the active stream fails fatally, without surfacing the error", async () => {
    const dying = dyingStreamSTT("dying", 30)
    const backup = createFakeSTT({ label: "backup" })
    const fallback = createFallbackAdapter({ stts: [dying.stt, createStreamAdapter({ stt: backup })] })
    const stream = fallback.stream()
    pushAll(stream, audio([{ silenceMs: 200 }, { word: 400, ms: 800 }, { silenceMs: 900 }]))
    const { events, error } = await collect(stream)
    assert.isUndefined(error)
    assert.deepStrictEqual(finals(events), ["charlie"])
    assert.deepStrictEqual(sources(events), ["backup"])
    assert.isFalse(events.some((e) => e.type === "error"))
    assert.deepStrictEqual(
      backup.calls.map((c) => c.words),
      [["charlie"]],
    )
    // The stream died 600 ms in, in the middle of the word (200 to 1000 ms); the backup
    // still got all of it, from before the failure as well as after.
    assert.isAtLeast(backup.calls[0]!.durationMs, 800)
    assert.approximately(voicedMs(backup.calls[0]!), 800, 25)
  })

  it("reports the turn as failed when every STT fails it, and goes on with the next turn", async () => {
    const failFirstCall = (label: string) =>
      createFakeSTT({
        label,
        behaviour: (call) => {
          if (call.words.includes("bravo")) throw exhausted(label)
          return undefined
        },
      })
    const a = failFirstCall("a")
    const b = failFirstCall("b")
    const fallback = createFallbackAdapter({
      stts: [createStreamAdapter({ stt: a }), createStreamAdapter({ stt: b })],
      recoveryIntervalMs: 60_000,
    })
    const stream = fallback.stream()
    pushAll(stream, audio(threeWords))
    const { events, error } = await collect(stream)
    assert.isUndefined(error)
    const failed = events.filter((e) => e.type === "transcription_failed")
    assert.strictEqual(failed.length, 1)
    assert.strictEqual(failed[0]?.type === "transcription_failed" ? failed[0].source : "", "b")
    assert.deepStrictEqual(finals(events), ["delta", "foxtrot"])
  })

  it("fails the stream with a fatal error event when every stream dies", async () => {
    const one = dyingStreamSTT("one", 5)
    const two = dyingStreamSTT("two", 5)
    const fallback = createFallbackAdapter({ stts: [one.stt, two.stt] })
    const stream = fallback.stream()
    const reading = collect(stream)
    for (const frame of audio([{ word: 300, ms: 400 }])) {
      try {
        stream.pushFrame(frame)
      } catch {
        break
      }
    }
    const { events, error } = await reading
    assert.instanceOf(error, STTError)
    const last = events.at(-1)
    assert.strictEqual(last?.type, "error")
    assert.isTrue(last?.type === "error" && last.fatal)
    assert.strictEqual(one.opened(), 1)
    assert.strictEqual(two.opened(), 1)
  })

  it("releases the active STT's stream once it has drained, without close()", async () => {
    let closes = 0
    const counted = streamingSTT({
      label: "counted",
      createStream: () => {
        const inner = createStreamAdapter({ stt: createFakeSTT() }).stream()
        return {
          ...inner,
          close: async () => {
            closes++
            await inner.close()
          },
        }
      },
    })
    const stream = createFallbackAdapter({ stts: [counted] }).stream()
    pushAll(stream, audio([{ word: 400, ms: 600 }, { silenceMs: 900 }]))
    const { events, error } = await collect(stream)
    assert.isUndefined(error)
    assert.deepStrictEqual(finals(events), ["charlie"])
    await vi.waitFor(() => assert.strictEqual(closes, 1))
  })

  it("goes on with the next STT when one cannot even open a stream", async () => {
    const unopenable = streamingSTT({
      label: "unopenable",
      createStream: () => {
        throw new Error("no credentials")
      },
    })
    const backup = createFakeSTT({ label: "backup" })
    const fallback = createFallbackAdapter({ stts: [unopenable, createStreamAdapter({ stt: backup })] })
    const stream = fallback.stream()
    pushAll(stream, audio([{ word: 400, ms: 600 }, { silenceMs: 900 }]))
    const { events, error } = await collect(stream)
    assert.isUndefined(error)
    assert.deepStrictEqual(finals(events), ["charlie"])
    assert.deepStrictEqual(sources(events), ["backup"])
    assert.deepStrictEqual(
      fallback.status().map((s) => s.available),
      [false, true],
    )
  })

  it("fails the stream, without throwing from stream(), when no STT can open one", async () => {
    const unopenable = (label: string) =>
      streamingSTT({
        label,
        createStream: () => {
          throw new Error(`${label}: no credentials`)
        },
      })
    const fallback = createFallbackAdapter({ stts: [unopenable("one"), unopenable("two")] })
    const stream = fallback.stream()
    const thrown = caught(() => stream.pushFrame(audio([{ word: 300, ms: 100 }])[0]!))
    assert.isTrue(isInputEndedError(thrown))
    const { events, error } = await collect(stream)
    assert.instanceOf(error, STTError)
    assert.match((error as STTError).message, /every STT failed; last: two/)
    assert.deepStrictEqual(
      events.map((e) => e.type),
      ["error"],
    )
    await stream.close()
  })

  it("rejects an empty list of STTs and durations out of range", () => {
    assert.throws(() => createFallbackAdapter({ stts: [] }), /at least one STT/)
    const fake = createFakeSTT()
    assert.throws(() => createFallbackAdapter({ stts: [fake], maxReplayMs: Number.NaN }), /maxReplayMs/)
    assert.throws(() => createFallbackAdapter({ stts: [fake], recoveryIntervalMs: -1 }), /recoveryIntervalMs/)
  })
})

describe("streamingSTT", () => {
  const streams = (fake: ReturnType<typeof createFakeSTT>) =>
    streamingSTT({ label: "streamed", createStream: () => createStreamAdapter({ stt: fake }).stream() })

  it("recognizes one utterance by streaming it through a fresh stream", async () => {
    const fake = createFakeSTT()
    const stt = streams(fake)
    const result = await stt.recognize(audio(threeWords), { offsetMs: 10_000 })
    assert.strictEqual(result.text, "bravo delta foxtrot")
    assert.strictEqual(result.source, "streamed")
    assert.strictEqual(fake.calls.length, 3)
    assert.isAtLeast(result.alternatives[0]!.startMs, 10_000)
    assert.strictEqual(result.usage.audioDurationMs > 1500, true)
  })

  it("rejects with a Recognition error when a turn fails", async () => {
    const fake = createFakeSTT({
      behaviour: () => {
        throw exhausted("fake")
      },
    })
    const error = await streams(fake)
      .recognize(audio(threeWords))
      .catch((e: unknown) => e)
    assert.instanceOf(error, STTError)
    assert.deepStrictEqual((error as STTError).reason, { _tag: "Recognition", code: "http_503" })
    assert.isTrue((error as STTError).retryable)
  })

  it("keeps a failed turn's code and retryable flag in the rejection", async () => {
    const fake = createFakeSTT({
      behaviour: () => {
        throw new STTError({
          reason: { _tag: "Http", status: 400, code: "invalid_value" },
          message: "bad audio",
          retryable: false,
          attempts: 1,
        })
      },
    })
    const error = (await streams(fake)
      .recognize(audio(threeWords))
      .catch((e: unknown) => e)) as STTError
    assert.instanceOf(error, STTError)
    assert.deepStrictEqual(error.reason, { _tag: "Recognition", code: "invalid_value" })
    assert.isFalse(error.retryable)
    assert.match(error.message, /bad audio/)
  })
})
