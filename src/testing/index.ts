/**
 * Test doubles and helpers for voxstate users' own tests: test speech whose words an STT can
 * "hear" without a model, an in-memory fake STT, and readers of speech-event streams. The
 * OpenAI simulator itself is `voxstate/simulator`; `startSimulator` is re-exported here too.
 *
 * Test speech is made of tones: each "word" is a tone whose pitch names it (300 Hz is
 * "bravo"), so a fake STT that only sees audio and a scripted simulator give the same
 * transcripts, and a replayed turn can be checked to carry the right audio.
 * @module
 */
import type { AudioFrame } from "../audio/index.ts"
import {
  createStreamAdapter,
  type RecognizeInput,
  type RecognizeOptions,
  type SpeechEvent,
  type SpeechRecognition,
  type SpeechStream,
  type STT,
  STTError,
} from "../stt/index.ts"
import { addUsage, inputFrames } from "../stt/STT.ts"

export { startSimulator } from "../simulator/index.ts"

// ---------------------------------------------------------------------------------------
// Test audio
// ---------------------------------------------------------------------------------------

/** The words of the test speech, by tone frequency (Hz). */
export const WORDS: Readonly<Record<number, string>> = {
  200: "alpha",
  300: "bravo",
  400: "charlie",
  500: "delta",
  600: "echo",
  700: "foxtrot",
  800: "golf",
}

/** A piece of a test recording: a spoken word (a tone) or a silence, durations in ms. */
export type Piece = { readonly word: number; readonly ms: number } | { readonly silenceMs: number }

/** Mono PCM16 at `rateHz` for the pieces: tones at amplitude 8000 (about −12 dBFS), silences of zeros. */
export const speech = (pieces: readonly Piece[], rateHz: number): Int16Array => {
  const lengths = pieces.map((p) => Math.round((("word" in p ? p.ms : p.silenceMs) * rateHz) / 1000))
  const out = new Int16Array(lengths.reduce((a, b) => a + b, 0))
  let at = 0
  pieces.forEach((piece, i) => {
    const n = lengths[i]!
    if ("word" in piece) {
      const w = (2 * Math.PI * piece.word) / rateHz
      // A short fade keeps the edges click-free.
      const fade = Math.min(n / 2, Math.round(rateHz / 200))
      for (let k = 0; k < n; k++) {
        const gain = Math.min(1, k / fade, (n - 1 - k) / fade)
        out[at + k] = Math.round(8000 * gain * Math.sin(w * k))
      }
    }
    at += n
  })
  return out
}

/** Cuts mono samples into frames of `frameMs` at `rateHz`, duplicated over `channels`. */
export const toFrames = (mono: Int16Array, rateHz: number, channels = 1, frameMs = 20): AudioFrame[] => {
  const step = Math.round((rateHz * frameMs) / 1000)
  const frames: AudioFrame[] = []
  for (let at = 0; at < mono.length; at += step) {
    const part = mono.subarray(at, Math.min(mono.length, at + step))
    const data = new Int16Array(part.length * channels)
    for (let i = 0; i < part.length; i++) for (let c = 0; c < channels; c++) data[i * channels + c] = part[i]!
    frames.push({ data, sampleRateHz: rateHz, channels })
  }
  return frames
}

/** Mono samples of frames (the first channel), for the fake STT. */
const monoOf = (frames: readonly AudioFrame[]): { samples: Int16Array; rateHz: number } => {
  const rateHz = frames[0]?.sampleRateHz ?? 16_000
  let length = 0
  for (const f of frames) length += f.data.length / f.channels
  const samples = new Int16Array(length)
  let at = 0
  for (const f of frames) {
    for (let i = 0; i < f.data.length; i += f.channels) samples[at++] = f.data[i]!
  }
  return { samples, rateHz }
}

/**
 * The words spoken in some audio: each voiced run (|s| > 1000) is one word, named by its
 * pitch (zero crossings over the run), rounded to 100 Hz. Runs shorter than 50 ms are ignored.
 */
export const wordsIn = (samples: Int16Array, rateHz: number): string[] => {
  const words: string[] = []
  const gap = Math.round(rateHz * 0.03)
  let i = 0
  while (i < samples.length) {
    while (i < samples.length && Math.abs(samples[i]!) <= 1000) i++
    if (i >= samples.length) break
    const start = i
    let last = i
    let crossings = 0
    let previous = samples[i]! > 0
    while (i < samples.length && i - last < gap) {
      const s = samples[i]!
      if (Math.abs(s) > 1000) last = i
      if (s !== 0 && s > 0 !== previous) {
        crossings++
        previous = s > 0
      }
      i++
    }
    const seconds = (last - start) / rateHz
    if (seconds < 0.05) continue
    const hz = Math.round(crossings / 2 / seconds / 100) * 100
    words.push(WORDS[hz] ?? `tone${hz}`)
  }
  return words
}

// ---------------------------------------------------------------------------------------
// The fake STT
// ---------------------------------------------------------------------------------------

/** One call the fake STT received. */
export interface FakeCall {
  readonly index: number
  readonly words: readonly string[]
  readonly durationMs: number
  /** The mono audio received (first channel) and its rate. */
  readonly audio: Int16Array
  readonly rateHz: number
  readonly options: RecognizeOptions
}

/** Options of {@link createFakeSTT}. */
export interface FakeSTTOptions {
  readonly label?: string
  /**
   * Decides each call: return nothing to answer the words heard, a string to answer it,
   * or throw (e.g. an `STTError`) to fail. May be async (to hold a call open).
   */
  readonly behaviour?: (call: FakeCall) => undefined | string | Promise<undefined | string>
  /** Interim texts reported before the answer (one per word heard). */
  readonly interim?: boolean
}

/** A fake STT and what it saw. */
export interface FakeSTT extends STT {
  readonly calls: FakeCall[]
  /** Calls in flight now, and the most seen at once. */
  readonly inFlight: number
  readonly maxInFlight: number
}

/** An in-memory STT that "hears" the test words (see {@link wordsIn}). */
export const createFakeSTT = (options: FakeSTTOptions = {}): FakeSTT => {
  const label = options.label ?? "fake"
  const calls: FakeCall[] = []
  let inFlight = 0
  let maxInFlight = 0
  const recognize = async (
    audio: RecognizeInput,
    callOptions: RecognizeOptions = {},
  ): Promise<SpeechRecognition> => {
    const { samples, rateHz } = monoOf(inputFrames(audio))
    const call: FakeCall = {
      index: calls.length,
      words: wordsIn(samples, rateHz),
      durationMs: (samples.length / rateHz) * 1000,
      audio: samples,
      rateHz,
      options: callOptions,
    }
    calls.push(call)
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    try {
      if (options.interim === true) {
        for (let i = 1; i <= call.words.length; i++) callOptions.onInterim?.(call.words.slice(0, i).join(" "))
      }
      const aborted = () =>
        new STTError({
          reason: { _tag: "Aborted" },
          message: "aborted",
          retryable: false,
          attempts: 1,
          source: label,
        })
      const signal = callOptions.signal
      // Like a real STT, the fake gives up as soon as its signal is aborted.
      const decided = await new Promise<undefined | string>((resolve, reject) => {
        if (signal?.aborted) return reject(aborted())
        const onAbort = () => reject(aborted())
        signal?.addEventListener("abort", onAbort, { once: true })
        Promise.resolve()
          .then(() => options.behaviour?.(call))
          .then(resolve, reject)
          .finally(() => signal?.removeEventListener("abort", onAbort))
      })
      const text = decided ?? call.words.join(" ")
      const offsetMs = callOptions.offsetMs ?? 0
      return {
        text,
        alternatives: text === "" ? [] : [{ text, startMs: offsetMs, endMs: offsetMs + call.durationMs }],
        usage: { audioDurationMs: call.durationMs, latencyMs: 1, streamed: false },
        requests: 1,
        source: label,
      }
    } finally {
      inFlight--
    }
  }
  const fake: FakeSTT = {
    label,
    capabilities: { streaming: false, interimResults: options.interim === true },
    recognize,
    // Like the batch STT, the fake streams through a StreamAdapter (energy VAD + recognize).
    stream: (streamOptions) => createStreamAdapter({ stt: fake }).stream(streamOptions),
    close: async () => {},
    calls,
    get inFlight() {
      return inFlight
    },
    get maxInFlight() {
      return maxInFlight
    },
  }
  return fake
}

/** A failure the fake can throw: retryable, after `attempts` attempts. */
export const exhausted = (source: string, attempts = 3): STTError =>
  new STTError({
    reason: { _tag: "RetriesExhausted", attempts, last: { _tag: "Http", status: 503 } },
    message: `${source}: failed to recognize speech after ${attempts} attempts: HTTP 503`,
    retryable: true,
    attempts,
    source,
  })

/** A promise with its resolve and reject. */
export const deferred = <A = void>() => {
  let resolve!: (value: A) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<A>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

// ---------------------------------------------------------------------------------------
// Reading streams
// ---------------------------------------------------------------------------------------

/** Reads a stream to its end (or its failure); returns the events and the failure, if any. */
export const collect = async (stream: SpeechStream): Promise<{ events: SpeechEvent[]; error?: unknown }> => {
  const events: SpeechEvent[] = []
  try {
    for await (const event of stream) events.push(event)
    return { events }
  } catch (error) {
    return { events, error }
  }
}

/** The best text of each final transcript, in order. */
export const finals = (events: readonly SpeechEvent[]): string[] =>
  events.flatMap((e) => (e.type === "final_transcript" ? [e.alternatives[0]?.text ?? ""] : []))

/** The event types, in order, without usage events. */
export const shape = (events: readonly SpeechEvent[]): string[] =>
  events.filter((e) => e.type !== "recognition_usage").map((e) => e.type)

/** Total usage of a run. */
export const totalUsage = (events: readonly SpeechEvent[]) =>
  events.reduce((sum, e) => (e.type === "recognition_usage" ? addUsage(sum, e.usage) : sum), {
    audioDurationMs: 0,
    streamed: false,
  } as ReturnType<typeof addUsage>)

/** What `f` throws (undefined when it returns). */
export const caught = (f: () => unknown): unknown => {
  try {
    f()
  } catch (error) {
    return error
  }
  return undefined
}

/** Pushes frames then ends input. */
export const pushAll = (stream: SpeechStream, frames: readonly AudioFrame[], end = true): void => {
  for (const frame of frames) stream.pushFrame(frame)
  if (end) stream.endInput()
}

export {
  type HeardUtterance,
  type ScriptedLLM,
  type ScriptedLLMOptions,
  type ScriptedReply,
  type ScriptedSTT,
  type ScriptedSTTOptions,
  scriptedLLM,
  scriptedSTT,
} from "./agent.ts"
export {
  type CallerCue,
  type CallerLine,
  type ScriptedCaller,
  type ScriptedCallerOptions,
  type SpokenLine,
  scriptedCaller,
} from "./caller.ts"
export { activeHandles, handlesBackTo, settledHandles } from "./handles.ts"
export {
  audioEvents,
  collectSynthesis,
  createFakeTTS,
  type FakeTTS,
  type FakeTTSCall,
  type FakeTTSOptions,
  fakeVoice,
  metricsEvents,
  synthesizedSamples,
  type TTSConformanceCheck,
  type TTSConformanceSubject,
  ttsConformanceChecks,
  ttsUnavailable,
} from "./tts.ts"
