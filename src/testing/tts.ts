/**
 * Text-to-speech test doubles and the TTS conformance suite: an in-memory fake TTS that
 * speaks the simulator's voice, readers of synthesis streams, and checks every TTS must pass
 * (frames are 20 ms, in order, cancel stops at once, errors are typed, nothing leaks), as
 * plain async functions that any test runner can register.
 * @module
 */
import { strict as assert } from "node:assert"
import { concatPcm16 } from "../audio/index.ts"
import { synthesizeSpeech } from "../simulator/index.ts"
import {
  createSegmentPipeline,
  createTTSStreamAdapter,
  isTTSError,
  type SegmentMetrics,
  type SynthesisEvent,
  type SynthesisStream,
  type SynthesizedAudio,
  type SynthesizeOptions,
  type TTS,
  TTSError,
  ttsInvalid,
} from "../tts/index.ts"
import { handlesBackTo, settledHandles } from "./handles.ts"

// ---------------------------------------------------------------------------------------
// Reading synthesis streams
// ---------------------------------------------------------------------------------------

/** Reads a synthesis stream to its end (or its failure): the events and the failure, if any. */
export const collectSynthesis = async (
  stream: SynthesisStream,
): Promise<{ events: SynthesisEvent[]; error?: unknown }> => {
  const events: SynthesisEvent[] = []
  try {
    for await (const event of stream) events.push(event)
    return { events }
  } catch (error) {
    return { events, error }
  }
}

/** The audio events of a run, in order. */
export const audioEvents = (events: readonly SynthesisEvent[]): SynthesizedAudio[] =>
  events.filter((e): e is SynthesizedAudio => e.type === "audio")

/** The metrics events of a run, in order. */
export const metricsEvents = (events: readonly SynthesisEvent[]): SegmentMetrics[] =>
  events.filter((e): e is SegmentMetrics => e.type === "metrics")

/** The samples of a run's frames, joined. */
export const synthesizedSamples = (events: readonly SynthesisEvent[]): Int16Array =>
  concatPcm16(audioEvents(events).map((a) => a.frame.data))

// ---------------------------------------------------------------------------------------
// The fake TTS
// ---------------------------------------------------------------------------------------

/** One segment the fake TTS was asked to speak. */
export interface FakeTTSCall {
  readonly index: number
  readonly text: string
  readonly options: SynthesizeOptions
}

/** Options of {@link createFakeTTS}. */
export interface FakeTTSOptions {
  readonly label?: string
  /** Rate of the frames, in Hz. Default 24 000. */
  readonly sampleRateHz?: number
  /**
   * Decides each call: return nothing to speak, or a `TTSError` to fail. `afterFrames` fails
   * after that many frames have left (a failure mid-audio); without it the call fails before
   * its first audio.
   */
  readonly behaviour?: (
    call: FakeTTSCall,
  ) => undefined | { readonly error: TTSError; readonly afterFrames?: number }
  /** Frames produced per turn of the event loop (the fake's "network" chunk). Default 5. */
  readonly framesPerTick?: number
}

/** A fake TTS and what it was asked. */
export interface FakeTTS extends TTS {
  readonly calls: FakeTTSCall[]
  /** Calls whose audio is being produced now. */
  readonly inFlight: number
}

/** The fake's voice for `text`: the simulator's deterministic voice. */
export const fakeVoice = (text: string, sampleRateHz = 24_000): Int16Array =>
  synthesizeSpeech(text, { sampleRateHz })

/** A TTS in memory: speaks the simulator's voice in 20 ms frames, a few per event-loop turn. */
export const createFakeTTS = (options: FakeTTSOptions = {}): FakeTTS => {
  const label = options.label ?? "fake-tts"
  const rate = options.sampleRateHz ?? 24_000
  const perFrame = (rate * 20) / 1000
  const framesPerTick = options.framesPerTick ?? 5
  const calls: FakeTTSCall[] = []
  let inFlight = 0
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

  const synthesize = (text: string, callOptions: SynthesizeOptions = {}): SynthesisStream => {
    if (typeof text !== "string" || text.trim() === "") {
      throw ttsInvalid("InvalidInput", "synthesize needs a non-empty text", label)
    }
    const stream = createSegmentPipeline({
      label,
      chunked: false,
      synthesize: async ({ text: segment, segmentId, signal, emit }) => {
        const call: FakeTTSCall = { index: calls.length, text: segment, options: callOptions }
        calls.push(call)
        const decided = options.behaviour?.(call)
        const startedAt = performance.now()
        inFlight++
        try {
          await tick()
          if (decided !== undefined && decided.afterFrames === undefined) throw decided.error
          const samples = fakeVoice(segment, rate)
          const requestId = `fake_${call.index}`
          let frames = 0
          let ttffMs = 0
          for (let at = 0; at < samples.length && !signal.aborted; at += perFrame) {
            if (decided?.afterFrames !== undefined && frames >= decided.afterFrames) throw decided.error
            if (frames > 0 && frames % framesPerTick === 0) await tick()
            if (signal.aborted) break
            const end = Math.min(samples.length, at + perFrame)
            if (frames === 0) ttffMs = performance.now() - startedAt
            emit({
              type: "audio",
              frame: { data: samples.slice(at, end), sampleRateHz: rate, channels: 1 },
              requestId,
              segmentId,
              final: end === samples.length,
            })
            frames++
          }
          return {
            requestId,
            characters: segment.length,
            ttfbMs: ttffMs,
            ttffMs,
            audioDurationMs: (samples.length / rate) * 1000,
            durationMs: performance.now() - startedAt,
            attempts: 1,
            source: label,
          }
        } finally {
          inFlight--
        }
      },
    })
    stream.pushText(text)
    stream.endInput()
    return stream
  }

  const fake: FakeTTS = {
    label,
    sampleRateHz: rate,
    capabilities: { streaming: false },
    synthesize,
    // Like the REST TTS, the fake streams through the StreamAdapter (tokenizer + synthesize).
    stream: (callOptions) => createTTSStreamAdapter({ tts: fake }).stream(callOptions),
    close: async () => {},
    calls,
    get inFlight() {
      return inFlight
    },
  }
  return fake
}

/** A retryable failure the fake can throw (as the REST TTS after its retries: HTTP 503). */
export const ttsUnavailable = (source: string): TTSError =>
  new TTSError({
    reason: { _tag: "RetriesExhausted", attempts: 3, last: { _tag: "Http", status: 503 } },
    message: `${source}: no audio after 3 attempts: HTTP 503`,
    retryable: true,
    attempts: 3,
    source,
  })

// ---------------------------------------------------------------------------------------
// The conformance suite
// ---------------------------------------------------------------------------------------

/** A TTS under the conformance suite. */
export interface TTSConformanceSubject {
  readonly tts: TTS
  /** Releases what the subject holds (the TTS, its simulator). */
  close(): Promise<void>
}

/** One check of the suite: throws (an `AssertionError`) when the TTS breaks the contract. */
export interface TTSConformanceCheck {
  readonly name: string
  run(subject: TTSConformanceSubject): Promise<void>
}

const TEXT = "The first sentence is here. A second one follows it closely. And a third ends the text."

const checkFrames = (events: readonly SynthesisEvent[], rate: number) => {
  const frameSamples = (rate * 20) / 1000
  const audio = audioEvents(events)
  assert.ok(audio.length > 0, "some audio")
  audio.forEach((a, i) => {
    const lastOfSegment = audio[i + 1]?.segmentId !== a.segmentId
    assert.equal(a.frame.sampleRateHz, rate, "frames at the TTS's rate")
    assert.equal(a.frame.channels, 1, "mono frames")
    assert.equal(a.final, lastOfSegment, `frame ${i}: final exactly on the last frame of its segment`)
    if (!lastOfSegment) assert.equal(a.frame.data.length, frameSamples, `frame ${i} is 20 ms`)
    else assert.ok(a.frame.data.length > 0 && a.frame.data.length <= frameSamples, "a last frame of 1..20 ms")
  })
}

/**
 * The checks every TTS passes: register each with your test runner, e.g.
 * `for (const check of ttsConformanceChecks) it(check.name, async () => check.run(await make()))`.
 */
export const ttsConformanceChecks: readonly TTSConformanceCheck[] = [
  {
    name: "speaks a whole text in 20 ms mono frames, only each segment's last one shorter and final",
    run: async ({ tts }) => {
      const { events, error } = await collectSynthesis(tts.synthesize(TEXT))
      assert.equal(error, undefined)
      checkFrames(events, tts.sampleRateHz)
      const metrics = metricsEvents(events)
      assert.equal(metrics.length, 1, "one metrics event per segment")
      assert.equal(metrics[0]?.characters, TEXT.length)
      assert.ok((metrics[0]?.audioDurationMs ?? 0) > 0)
    },
  },
  {
    name: "streams pushed text in text order, each segment's frames before the next, one metrics event after each",
    run: async ({ tts }) => {
      const stream = tts.stream()
      for (const token of TEXT.match(/\S+\s*/g) ?? []) stream.pushText(token)
      stream.flush()
      stream.pushText("After the flush.")
      stream.endInput()
      const { events, error } = await collectSynthesis(stream)
      assert.equal(error, undefined)
      checkFrames(events, tts.sampleRateHz)
      const seen: string[] = []
      for (const event of events) {
        if (event.type === "audio") {
          if (seen[seen.length - 1] !== event.segmentId) {
            assert.ok(!seen.includes(event.segmentId), `segment ${event.segmentId} is not interleaved`)
            seen.push(event.segmentId)
          }
        } else assert.equal(event.segmentId, seen[seen.length - 1], "metrics follow their segment's frames")
      }
      assert.ok(seen.length >= 2, "the flush marker cut a segment")
      assert.equal(metricsEvents(events).length, seen.length)
      assert.equal(metricsEvents(events).reduce((n, m) => n + m.characters, 0) >= TEXT.length, true)
    },
  },
  {
    name: "stops at once on cancel: no frame after it, the iteration ends",
    run: async ({ tts }) => {
      const stream = tts.synthesize(`${TEXT} ${TEXT} ${TEXT}`)
      let frames = 0
      let afterCancel = 0
      let cancelled = false
      for await (const event of stream) {
        if (cancelled) afterCancel++
        if (event.type === "audio" && ++frames === 2) {
          cancelled = true
          await stream.cancel()
        }
      }
      assert.equal(afterCancel, 0, "nothing after cancel")
      assert.equal(frames, 2)
      await stream.cancel() // idempotent
    },
  },
  {
    name: "gives typed errors: empty text, text after endInput",
    run: async ({ tts }) => {
      let empty: unknown
      try {
        tts.synthesize("  ")
      } catch (error) {
        empty = error
      }
      assert.ok(isTTSError(empty) && empty.reason._tag === "InvalidInput", "empty text is InvalidInput")
      const stream = tts.stream()
      stream.endInput()
      let late: unknown
      try {
        stream.pushText("late")
      } catch (error) {
        late = error
      }
      assert.ok(isTTSError(late) && late.reason._tag === "InputEnded", "text after endInput is InputEnded")
      const { events } = await collectSynthesis(stream)
      assert.equal(audioEvents(events).length, 0)
    },
  },
  {
    name: "leaves no socket or timer behind after cancels and close",
    run: async (subject) => {
      const baseline = await settledHandles()
      const first = subject.tts.synthesize(TEXT)
      for await (const event of first) if (event.type === "audio") break
      const second = subject.tts.stream()
      second.pushText(TEXT)
      await second.cancel()
      await first.cancel()
      await subject.tts.close()
      await handlesBackTo(baseline)
    },
  },
]
