/**
 * The StreamAdapter: any STT plus a VAD becomes a streaming one. The VAD cuts the audio into
 * speech segments; each segment is recognized with one `recognize` call when it ends.
 * Segments are recognized concurrently when speech is fast, and their events come out in
 * speech order: `start_of_speech`, interim transcripts (when the STT streams them),
 * `final_transcript`, `end_of_speech`, `recognition_usage`.
 * @module
 */

import type { Tracer } from "effect"
import {
  createEnergyVad,
  createPcmConverter,
  type EnergyVadOptions,
  type Vad,
  type VadEvent,
} from "../audio/index.ts"
import { createSampleStore } from "../audio/samples.ts"
import {
  type SensitiveTraceOptions,
  sensitiveTraceOptions,
  type TranscriptionModelConfig,
  type TurnTrace,
  traceTurn,
} from "../telemetry/index.ts"
import { isSTTError, STTError, sttErrorCode } from "./retry.ts"
import type { SpeechEvent, SpeechStream } from "./SpeechEvent.ts"
import {
  createSpeechEventChannel,
  type RecognizeOptions,
  type SpeechRecognition,
  type STT,
  type StreamOptions,
} from "./STT.ts"

/**
 * Options of {@link createStreamAdapter}. Durations in milliseconds. Each segment is a
 * `stt.turn` span (the STT's own spans nest under it), with text and audio only when opted in.
 */
export interface StreamAdapterOptions extends SensitiveTraceOptions {
  /** The STT each segment is recognized with (usually a batch one). */
  readonly stt: STT
  /**
   * The VAD: energy VAD options (`thresholdDbfs`, `minSpeechMs`, `minSilenceMs`,
   * `prefixPaddingMs`), or a factory of any `Vad` for mono audio at the given rate.
   * Default: the energy VAD with its defaults.
   */
  readonly vad?: Omit<EnergyVadOptions, "sampleRateHz"> | ((sampleRateHz: number) => Vad)
  /** Rate the audio is converted to for the VAD and the segments, Hz. Default 16000. */
  readonly sampleRateHz?: number
  /** Most recognitions in flight at once; later segments wait. Default 4. */
  readonly maxConcurrency?: number
  /** A segment of continuous speech is cut (and a new one begun) at this length. Default 60 000. */
  readonly maxSegmentMs?: number
  /** Audio kept before the VAD's decision, so a late `speech_start` still finds its audio. Default 2000. */
  readonly lookbackMs?: number
  /** The tracer of the `stt.turn` spans; Effect's native tracer by default. */
  readonly tracer?: Tracer.Tracer
  /**
   * The model configuration put on every `stt.turn` span (the batch STT gives its model,
   * provider, response format, language and temperature). Default: the STT's label as the
   * model. The stream's own `language` and `prompt` take precedence.
   */
  readonly modelConfig?: TranscriptionModelConfig
  /** Options passed to every `recognize` (language and prompt come from `stream()`'s options). */
  readonly recognizeOptions?: Omit<
    RecognizeOptions,
    "signal" | "offsetMs" | "onInterim" | "onProgress" | "detectSilence" | "parentSpan"
  >
}

/** One speech segment on its way to the output. */
interface Segment {
  readonly itemId: string
  readonly startSample: number
  endSample: number | undefined
  /** Events ready to go out once every earlier segment is out. */
  readonly pending: SpeechEvent[]
  complete: boolean
  controller: AbortController | undefined
  readonly trace: TurnTrace
}

const invalidOptions = (message: string): STTError =>
  new STTError({ reason: { _tag: "InvalidOptions" }, message, retryable: false, attempts: 0 })

/** The numeric options of a StreamAdapter, with defaults, in samples where it matters. */
interface AdapterSettings {
  readonly rateHz: number
  readonly maxConcurrency: number
  readonly maxSegmentSamples: number
  readonly lookbackSamples: number
}

/**
 * Fills in the defaults and validates them.
 * @throws {STTError} `InvalidOptions` for a value that is not finite or out of range
 */
const resolveAdapterSettings = (options: StreamAdapterOptions): AdapterSettings => {
  const rateHz = options.sampleRateHz ?? 16_000
  if (!Number.isInteger(rateHz) || rateHz <= 0) {
    throw invalidOptions(`sampleRateHz must be a positive integer (Hz), got ${rateHz}`)
  }
  const maxConcurrency = options.maxConcurrency ?? 4
  if (!Number.isFinite(maxConcurrency) || maxConcurrency < 1) {
    throw invalidOptions(`maxConcurrency must be at least 1, got ${maxConcurrency}`)
  }
  const maxSegmentMs = options.maxSegmentMs ?? 60_000
  if (!Number.isFinite(maxSegmentMs) || maxSegmentMs <= 0) {
    throw invalidOptions(`maxSegmentMs must be a positive number of milliseconds, got ${maxSegmentMs}`)
  }
  const lookbackMs = options.lookbackMs ?? 2_000
  if (!Number.isFinite(lookbackMs) || lookbackMs < 0) {
    throw invalidOptions(`lookbackMs must be a non-negative number of milliseconds, got ${lookbackMs}`)
  }
  return {
    rateHz,
    maxConcurrency: Math.floor(maxConcurrency),
    maxSegmentSamples: Math.max(1, Math.round((maxSegmentMs * rateHz) / 1000)),
    lookbackSamples: Math.round((lookbackMs * rateHz) / 1000),
  }
}

/**
 * Wraps `options.stt` so that `stream()` runs it on VAD segments. `recognize` and `close`
 * are the wrapped STT's (closing the adapter closes the wrapped STT).
 *
 * @throws {STTError} `InvalidOptions` for a sample rate, concurrency or duration out of range
 * @throws {AudioError} `InvalidOption` for energy VAD options out of range (checked here, not
 *   only when a stream starts)
 */
export const createStreamAdapter = (options: StreamAdapterOptions): STT => {
  const { stt } = options
  const { rateHz } = resolveAdapterSettings(options)
  if (options.vad !== undefined && typeof options.vad !== "function") {
    createEnergyVad({ ...options.vad, sampleRateHz: rateHz })
  }
  return {
    label: stt.label,
    capabilities: { streaming: true, interimResults: stt.capabilities.interimResults },
    recognize: (audio, callOptions) => stt.recognize(audio, callOptions),
    stream: (streamOptions = {}) => createAdapterStream(options, streamOptions),
    close: () => stt.close(),
  }
}

const inputEnded = (source: string): STTError =>
  new STTError({
    reason: { _tag: "InputEnded" },
    message: `${source}: audio pushed (or flush() called) after endInput() or close()`,
    retryable: false,
    attempts: 0,
    source,
  })

/**
 * A {@link SpeechStream} over an STT and a VAD (see {@link createStreamAdapter}). Times are
 * offsets into the stream's audio in milliseconds. An empty transcript gives no
 * `final_transcript`; a failed recognition gives `transcription_failed` (not fatal) and the
 * stream goes on. `pushFrame` throws `AudioError` on bad audio, and `pushFrame` and `flush`
 * throw {@link STTError} (`InputEnded`) after `endInput()` or `close()`.
 *
 * @throws {STTError} `InvalidOptions` for a sample rate, concurrency or duration out of range
 * @throws {AudioError} `InvalidOption` for energy VAD options out of range
 */
export const createAdapterStream = (
  options: StreamAdapterOptions,
  streamOptions: StreamOptions = {},
): SpeechStream => {
  const { stt } = options
  const source = stt.label
  const { rateHz, maxConcurrency, maxSegmentSamples, lookbackSamples } = resolveAdapterSettings(options)
  const vadOption = options.vad
  const vad: Vad =
    typeof vadOption === "function"
      ? vadOption(rateHz)
      : createEnergyVad({ ...vadOption, sampleRateHz: rateHz })
  const converter = createPcmConverter({ targetRateHz: rateHz })
  const store = createSampleStore()
  const channel = createSpeechEventChannel()
  const segments: Segment[] = []
  const waiting: (() => void)[] = []
  const inFlight = new Set<Promise<void>>()
  let running = 0
  let vadBase = 0
  let current: Segment | undefined
  let counter = 0
  let ended = false
  let closed = false

  const msOf = (sample: number) => (sample / rateHz) * 1000

  const drain = () => {
    while (segments.length > 0) {
      const head = segments[0]!
      for (const event of head.pending.splice(0)) channel.push(event)
      if (!head.complete) return
      segments.shift()
    }
    if (ended && current === undefined && !channel.done) channel.end()
  }

  const emit = (segment: Segment, event: SpeechEvent) => {
    segment.pending.push(event)
    if (segments[0] === segment) drain()
  }

  const acquire = (): Promise<void> => {
    if (running < maxConcurrency) {
      running++
      return Promise.resolve()
    }
    return new Promise((resolve) => waiting.push(resolve))
  }

  const release = () => {
    const next = waiting.shift()
    if (next !== undefined) next()
    else running--
  }

  const openSegment = (startSample: number) => {
    counter += 1
    const itemId = `segment_${counter}`
    const segment: Segment = {
      itemId,
      startSample: Math.max(startSample, store.start),
      endSample: undefined,
      pending: [],
      complete: false,
      controller: undefined,
      trace: traceTurn({
        config: {
          model: stt.label,
          label: stt.label,
          sampleRateHz: rateHz,
          ...options.modelConfig,
          ...(streamOptions.language === undefined ? {} : { language: streamOptions.language }),
          ...(streamOptions.prompt === undefined ? {} : { prompt: streamOptions.prompt }),
        },
        itemId,
        ...(options.tracer === undefined ? {} : { tracer: options.tracer }),
        ...sensitiveTraceOptions(options),
      }),
    }
    current = segment
    segments.push(segment)
    emit(segment, { type: "start_of_speech", itemId: segment.itemId, atMs: msOf(segment.startSample) })
  }

  const recognizeSegment = async (segment: Segment, audio: Int16Array) => {
    await acquire()
    try {
      if (closed) return
      const controller = new AbortController()
      segment.controller = controller
      const startMs = msOf(segment.startSample)
      const endMs = msOf(segment.endSample ?? segment.startSample)
      let partial = ""
      const recognizeOptions: RecognizeOptions = {
        ...options.recognizeOptions,
        ...(streamOptions.language === undefined ? {} : { language: streamOptions.language }),
        ...(streamOptions.prompt === undefined ? {} : { prompt: streamOptions.prompt }),
        ...(streamOptions.connectOptions === undefined
          ? {}
          : { connectOptions: streamOptions.connectOptions }),
        signal: controller.signal,
        offsetMs: startMs,
        detectSilence: false,
        parentSpan: segment.trace.span,
        onInterim: (text) => {
          partial = text
          emit(segment, {
            type: "interim_transcript",
            itemId: segment.itemId,
            alternatives: [{ text, startMs, endMs }],
            source,
          })
        },
      }
      let result: SpeechRecognition
      try {
        result = await stt.recognize({ data: audio, sampleRateHz: rateHz, channels: 1 }, recognizeOptions)
      } catch (error) {
        if (closed) return
        segment.trace.end({ error, audio: { samples: audio, sampleRateHz: rateHz } })
        emit(segment, {
          type: "transcription_failed",
          itemId: segment.itemId,
          partial,
          error: {
            code: isSTTError(error) ? sttErrorCode(error) : "unknown",
            message: error instanceof Error ? error.message : String(error),
            retryable: isSTTError(error) ? error.retryable : false,
          },
          source: isSTTError(error) && error.source !== undefined ? error.source : source,
        })
        return
      }
      if (closed) return
      const confidence = result.alternatives[0]?.confidence
      segment.trace.end({
        transcript: result.text,
        audio: { samples: audio, sampleRateHz: rateHz },
        usage: result.usage,
        requests: result.requests,
        ...(confidence === undefined ? {} : { confidence }),
      })
      if (result.text !== "") {
        emit(segment, {
          type: "final_transcript",
          itemId: segment.itemId,
          alternatives: result.alternatives,
          source: result.source,
        })
      }
      emit(segment, { type: "end_of_speech", itemId: segment.itemId, atMs: endMs })
      emit(segment, {
        type: "recognition_usage",
        itemId: segment.itemId,
        usage: result.usage,
        source: result.source,
      })
      segment.complete = true
      drain()
    } finally {
      segment.controller = undefined
      release()
      if (!segment.complete && !closed) {
        // A failure: the segment still ends, after its transcription_failed.
        emit(segment, {
          type: "end_of_speech",
          itemId: segment.itemId,
          atMs: msOf(segment.endSample ?? segment.startSample),
        })
        segment.complete = true
        drain()
      }
    }
  }

  const closeSegment = (endSample: number) => {
    const segment = current
    if (segment === undefined) return
    current = undefined
    segment.endSample = Math.max(segment.startSample, Math.min(endSample, store.end))
    const audio = store.slice(segment.startSample, segment.endSample)
    const task = recognizeSegment(segment, audio)
    inFlight.add(task)
    void task.finally(() => inFlight.delete(task))
  }

  const applyVad = (events: readonly VadEvent[]) => {
    for (const event of events) {
      const at = vadBase + event.sampleOffset
      if (event.type === "speech_start") {
        if (current === undefined) openSegment(at)
      } else {
        closeSegment(at)
      }
    }
  }

  const feed = (samples: Int16Array) => {
    if (samples.length === 0) return
    store.push(samples)
    applyVad(vad.push(samples))
    if (current !== undefined && store.end - current.startSample >= maxSegmentSamples) {
      // Continuous speech this long: end the segment here and go on in a new one.
      const cut = store.end
      closeSegment(cut)
      openSegment(cut)
    }
    const keepFrom = current === undefined ? store.end - lookbackSamples : current.startSample
    if (keepFrom > store.start) store.trimBefore(keepFrom)
  }

  const flushVad = () => {
    applyVad(vad.flush())
    if (current !== undefined) closeSegment(store.end)
    vadBase = store.end
  }

  return {
    pushFrame(frame) {
      if (ended || closed) throw inputEnded(source)
      feed(converter.push(frame))
    },
    flush() {
      if (ended || closed) throw inputEnded(source)
      // The resampler's held-back tail belongs to this segment, not the next one; drain()
      // emits it and keeps the stream's format fixed (flush() would forget it).
      feed(converter.drain())
      flushVad()
    },
    endInput() {
      if (ended || closed) return
      feed(converter.flush())
      flushVad()
      ended = true
      drain()
    },
    async close() {
      if (closed) return
      closed = true
      ended = true
      for (const segment of segments) {
        segment.controller?.abort()
        if (!segment.trace.ended) {
          segment.trace.setAttribute("stt.abandoned", true)
          segment.trace.end()
        }
      }
      for (const resolve of waiting.splice(0)) resolve()
      channel.end()
      await Promise.allSettled([...inFlight])
    },
    [Symbol.asyncIterator]: () => channel[Symbol.asyncIterator](),
  }
}
