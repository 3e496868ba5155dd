/**
 * The input path of a streaming transcription session: frames of any rate and channel
 * count are converted to 24 kHz mono, stored once in the bounded {@link ReplayBuffer}
 * (which is also the send queue), and heard by the energy VAD. Synchronous and free of
 * I/O: the socket side reads the buffer when told that audio arrived.
 * @module
 */

import {
  REALTIME_SAMPLE_RATE_HZ,
  type RetentionPolicy,
  type VadParameters,
} from "../../machines/transcription/transcriptionSettings.ts"
import { REALTIME_SAMPLES_PER_MS } from "../../machines/transcription/transcripts.ts"
import { type AudioFrame, createPcmConverter, type PcmConverter, type VadEvent } from "../audio/index.ts"
import { createScanningEnergyVad, type ScanningVad } from "../audio/vad.ts"
import { createReplayBuffer, type ReplayBuffer } from "./replayBuffer.ts"

export type { RetentionPolicy, VadParameters } from "../../machines/transcription/transcriptionSettings.ts"

/**
 * A speech boundary heard by the VAD. Samples are offsets on the session timeline;
 * `atSample` is where the VAD decided (the end of the analysis window that completed the
 * boundary), never later than the audio head.
 */
export type InputVadEvent =
  | { readonly type: "speech_start"; readonly speechStartSample: number; readonly atSample: number }
  | { readonly type: "speech_end"; readonly speechEndSample: number; readonly atSample: number }

/** Listeners of an {@link AudioInput}; each is optional. */
export interface AudioInputListeners {
  /** New samples are in the buffer (called after the VAD events of the same push). */
  readonly onAudio?: () => void
  readonly onVad?: (event: InputVadEvent) => void
  /**
   * The buffer dropped samples it still held; `startSample` is the new oldest sample;
   * `unsentSamples` of the dropped ones had never been sent (lost, not only for a replay).
   */
  readonly onOverflow?: (droppedSamples: number, startSample: number, unsentSamples: number) => void
  /** The audio waiting to be sent shrank (the socket sent some, or nothing waits any more). */
  readonly onSent?: () => void
}

/** The audio pipeline of one session. */
export interface AudioInput {
  /** The 24 kHz mono audio of the session. */
  readonly buffer: ReplayBuffer
  /** True after {@link AudioInput.end}. */
  readonly ended: boolean
  /**
   * Converts and stores one frame, runs the VAD, then tells the listeners.
   * @throws {AudioError} `FormatChanged` when the rate or channel count changes mid-stream,
   *   or any reason of `validateAudioFrame`
   */
  push(frame: AudioFrame): void
  /**
   * Ends a segment (a manual commit) but not the stream: stores the resampler's held-back
   * tail so it belongs to this segment rather than the next. The input format stays fixed
   * (a later frame of another rate or channel count is still `FormatChanged`). No-op after `end`.
   */
  drain(): void
  /**
   * Stores samples already at 24 kHz mono (a resumed session's own audio), through the VAD
   * and the listeners but not the converter, so the caller's input format is still free.
   * @internal
   */
  pushSamples(samples: Int16Array): void
  /** No more audio: flushes the resampler and closes an open VAD segment. Idempotent. */
  end(): void
  /** Replaces the VAD (`null` turns it off). An open segment is closed first. */
  setVad(parameters: VadParameters | null): void
  /** Applies a retention policy now and after every push. */
  setRetention(policy: RetentionPolicy): void
  /**
   * Audio from `fromSample` on has not been sent yet (the socket's cursor): it is kept
   * whatever the retention says, since the buffer is also the send queue; `undefined` lifts
   * the hold (nothing is waiting to be sent). Only an overflow of the capacity drops such
   * audio, and that is reported.
   */
  holdUnsent(fromSample: number | undefined): void
  /**
   * Samples waiting for a socket to send them: from the socket's cursor (or, before any
   * connection, from the first sample) to the head; 0 when nothing is waiting to be sent.
   */
  readonly unsentSamples: number
  /** Registers listeners; returns a function that removes them. */
  listen(listeners: AudioInputListeners): () => void
}

/** The energy VAD's analysis window, in milliseconds. */
const VAD_WINDOW_MS = 10

/** Options of {@link createAudioInput}. */
export interface AudioInputOptions {
  /** Most audio kept for replay, in milliseconds. */
  readonly replayBufferMs: number
  /** The VAD to run (`null`: none). */
  readonly vad: VadParameters | null
  /** Resampler quality (default `"high"`). */
  readonly quality?: "high" | "medium" | "low"
}

/**
 * Creates an {@link AudioInput}.
 * @throws {RangeError} when `replayBufferMs` is not positive
 */
export const createAudioInput = (options: AudioInputOptions): AudioInput => {
  if (!(options.replayBufferMs > 0)) {
    throw new RangeError(`replayBufferMs must be > 0, got ${options.replayBufferMs}`)
  }
  const buffer = createReplayBuffer({
    capacitySamples: Math.round(options.replayBufferMs * REALTIME_SAMPLES_PER_MS),
  })
  const converter: PcmConverter = createPcmConverter({
    targetRateHz: REALTIME_SAMPLE_RATE_HZ,
    ...(options.quality === undefined ? {} : { quality: options.quality }),
  })
  const listeners = new Set<AudioInputListeners>()
  let vad: ScanningVad | undefined
  /** The events of the VAD's current decision (reused). */
  const decided: VadEvent[] = []
  // The VAD counts samples from its creation; this is the session sample it started at.
  let vadBase = 0
  let retention: RetentionPolicy = { fromSample: 0, keepSamples: undefined, pinnedSample: undefined }
  let unsentFrom: number | undefined
  // Audio from here on waits for a socket (the hold's sample; before the first connection
  // every sample does). Unlike the hold it is not retention: it only measures the backlog.
  let waitingFrom: number | undefined = 0
  let ended = false

  const makeVad = (parameters: VadParameters | null): ScanningVad | undefined =>
    parameters === null
      ? undefined
      : createScanningEnergyVad({
          sampleRateHz: REALTIME_SAMPLE_RATE_HZ,
          ...(parameters.thresholdDbfs === undefined ? {} : { thresholdDbfs: parameters.thresholdDbfs }),
          ...(parameters.minSpeechMs === undefined ? {} : { minSpeechMs: parameters.minSpeechMs }),
          ...(parameters.minSilenceMs === undefined ? {} : { minSilenceMs: parameters.minSilenceMs }),
          ...(parameters.prefixPaddingMs === undefined
            ? {}
            : { prefixPaddingMs: parameters.prefixPaddingMs }),
          windowMs: VAD_WINDOW_MS,
        })
  vad = makeVad(options.vad)

  const applyRetention = (): void => {
    let target = retention.fromSample
    if (retention.keepSamples !== undefined)
      target = Math.max(target, buffer.endSample - retention.keepSamples)
    if (retention.pinnedSample !== undefined) target = Math.min(target, retention.pinnedSample)
    if (unsentFrom !== undefined) target = Math.min(target, unsentFrom)
    buffer.release(target)
  }

  const tellVad = (
    events: readonly { type: "speech_start" | "speech_end"; sampleOffset: number }[],
  ): void => {
    if (events.length === 0) return
    const atSample = buffer.endSample
    for (const e of events) {
      const sample = vadBase + e.sampleOffset
      const event: InputVadEvent =
        e.type === "speech_start"
          ? { type: "speech_start", speechStartSample: sample, atSample }
          : { type: "speech_end", speechEndSample: sample, atSample }
      for (const l of listeners) l.onVad?.(event)
    }
  }

  const append = (samples: Int16Array): void => {
    if (samples.length === 0) return
    const oldest = buffer.startSample
    const { droppedSamples } = buffer.push(samples)
    if (droppedSamples > 0) {
      // Dropped samples at or past the first one waiting to be sent never reached a socket.
      const from = waitingFrom === undefined ? buffer.startSample : Math.max(oldest, waitingFrom)
      const unsent = Math.max(0, Math.min(buffer.startSample, oldest + droppedSamples) - from)
      for (const l of listeners) l.onOverflow?.(droppedSamples, buffer.startSample, unsent)
    }
  }

  /**
   * Stores samples, running the VAD over them one analysis window at a time. When a window
   * decides a boundary, the samples up to its end are stored and then the boundary is told:
   * the buffer ends where the VAD decided (`atSample`), so a turn committed or audio streamed
   * on that event takes in nothing that follows in the same push (the next utterance).
   */
  const store = (samples: Int16Array): void => {
    if (samples.length === 0) return
    let stored = 0
    const current = vad
    if (current !== undefined) {
      // The VAD stops at each window that decides a boundary; most pushes decide none and
      // go through in one call, with no view or array made.
      for (let at = 0; at < samples.length; ) {
        const end = current.scan(samples, at, samples.length, decided)
        if (decided.length > 0) {
          append(samples.subarray(stored, end))
          stored = end
          const events = decided.splice(0)
          tellVad(events)
        }
        at = end
      }
    }
    append(stored === 0 ? samples : samples.subarray(stored))
    applyRetention()
    for (const l of listeners) l.onAudio?.()
  }

  const unsentSamples = (): number =>
    waitingFrom === undefined ? 0 : buffer.endSample - Math.max(waitingFrom, buffer.startSample)

  return {
    buffer,
    get ended() {
      return ended
    },
    push(frame) {
      // The converter's output is reused by its next call: the buffer copies it at once.
      store(converter.pushView(frame))
    },
    drain() {
      if (!ended) store(converter.drain())
    },
    pushSamples(samples) {
      if (!ended) store(samples)
    },
    end() {
      if (ended) return
      ended = true
      store(converter.flush())
      if (vad !== undefined) tellVad(vad.flush())
    },
    setVad(parameters) {
      if (vad !== undefined) tellVad(vad.flush())
      vad = makeVad(parameters)
      vadBase = buffer.endSample
    },
    setRetention(policy) {
      retention = policy
      applyRetention()
    },
    holdUnsent(fromSample) {
      const before = unsentSamples()
      unsentFrom = fromSample
      waitingFrom = fromSample
      if (unsentSamples() < before) for (const l of listeners) l.onSent?.()
    },
    get unsentSamples() {
      return unsentSamples()
    },
    listen(l) {
      listeners.add(l)
      return () => {
        listeners.delete(l)
      }
    },
  }
}
