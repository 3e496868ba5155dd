import { audioError } from "./AudioError.ts"

/**
 * A voice-activity boundary. `sampleOffset` counts mono samples from the first sample
 * pushed since creation or the last `reset`/`flush`.
 */
export interface VadEvent {
  readonly type: "speech_start" | "speech_end"
  readonly sampleOffset: number
}

/**
 * A streaming voice-activity detector over mono PCM16. Events come in start/end pairs
 * and are reported when decided, which may be some time after the offset they name.
 * Implementations must give the same events for any chunking of the same samples, so an
 * energy detector and a model-based one are interchangeable.
 */
export interface Vad {
  /** Analyses the next samples; returns the events decided by them (often none). */
  push(samples: Int16Array): VadEvent[]
  /** Ends the stream: closes an open speech segment and resets. */
  flush(): VadEvent[]
  /** Forgets all state; offsets restart at 0. */
  reset(): void
}

/**
 * A {@link Vad} that can also analyse part of an array and stop at the first decision, so a
 * caller that must act exactly where a boundary was decided needs no copy or view per window.
 * @internal
 */
export interface ScanningVad extends Vad {
  /**
   * Analyses `samples[from, to)` up to the end of the first window that decides an event
   * (or to `to`), appends the decided events to `events`, and returns the index it reached.
   * The same analysis as `push`: chunking never changes the result.
   */
  scan(samples: Int16Array, from: number, to: number, events: VadEvent[]): number
}

/** Options of {@link createEnergyVad}. Durations in milliseconds. */
export interface EnergyVadOptions {
  /** Sample rate of the pushed mono samples, Hz. */
  readonly sampleRateHz: number
  /** A window is voiced when its RMS level is at least this, in dBFS (default -40). */
  readonly thresholdDbfs?: number
  /** Voiced time needed before speech starts (default 100). */
  readonly minSpeechMs?: number
  /** Unvoiced time needed before speech ends (default 500). */
  readonly minSilenceMs?: number
  /** Audio before the first voiced window included in the segment (default 300). */
  readonly prefixPaddingMs?: number
  /** Length of each analysis window (default 10). */
  readonly windowMs?: number
}

/**
 * Creates an energy {@link Vad}: the RMS level of consecutive analysis windows
 * (10 ms by default) is compared with a threshold in dBFS (0 dBFS = RMS of 32768).
 * `speech_start` is reported once `minSpeechMs` of consecutive voiced windows have been
 * seen; its offset is the start of the first of them minus `prefixPaddingMs`, clamped at 0
 * and at the end of the previous segment. `speech_end` is reported once `minSilenceMs`
 * of consecutive unvoiced windows have been seen; its offset is where they began.
 * A window is decided only when complete, so chunking never changes the result.
 *
 * Every option is checked up front, so a bad value fails at once instead of giving a
 * detector that silently never hears speech (NaN compares false with every level).
 *
 * @throws {AudioError} `InvalidSampleRate` when `sampleRateHz` is not a positive integer;
 *   `InvalidOption` when `thresholdDbfs` is not a finite number ≤ 0 dBFS, a duration is
 *   not a finite number ≥ 0 ms, `windowMs` is not > 0, or a window would hold no sample
 */
export const createEnergyVad = (options: EnergyVadOptions): Vad => createScanningEnergyVad(options)

/**
 * The energy VAD of {@link createEnergyVad} with its `scan` (the input path of a session).
 * @internal
 */
export const createScanningEnergyVad = (options: EnergyVadOptions): ScanningVad => {
  const {
    sampleRateHz,
    thresholdDbfs = -40,
    minSpeechMs = 100,
    minSilenceMs = 500,
    prefixPaddingMs = 300,
    windowMs = 10,
  } = options
  if (!Number.isInteger(sampleRateHz) || sampleRateHz <= 0) {
    throw audioError("InvalidSampleRate", `sample rate must be a positive integer in Hz, got ${sampleRateHz}`)
  }
  if (typeof thresholdDbfs !== "number" || !Number.isFinite(thresholdDbfs) || thresholdDbfs > 0) {
    // No PCM16 signal is louder than 0 dBFS, so a higher threshold could never be reached.
    throw audioError("InvalidOption", `thresholdDbfs must be a finite level ≤ 0 dBFS, got ${thresholdDbfs}`)
  }
  for (const [name, value] of [
    ["minSpeechMs", minSpeechMs],
    ["minSilenceMs", minSilenceMs],
    ["prefixPaddingMs", prefixPaddingMs],
  ] as const) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw audioError("InvalidOption", `${name} must be a finite number of milliseconds ≥ 0, got ${value}`)
    }
  }
  if (typeof windowMs !== "number" || !Number.isFinite(windowMs) || windowMs <= 0) {
    throw audioError("InvalidOption", `windowMs must be a finite number of milliseconds > 0, got ${windowMs}`)
  }
  const window = Math.round((sampleRateHz * windowMs) / 1000)
  if (window < 1) {
    throw audioError("InvalidOption", `a ${windowMs} ms window at ${sampleRateHz} Hz holds no sample`)
  }
  const windowSec = window / sampleRateHz
  const speechWindows = Math.max(1, Math.ceil(minSpeechMs / 1000 / windowSec - 1e-9))
  const silenceWindows = Math.max(1, Math.ceil(minSilenceMs / 1000 / windowSec - 1e-9))
  const prefixSamples = Math.round((prefixPaddingMs * sampleRateHz) / 1000)
  // Compare mean squares instead of taking a log per window: level ≥ threshold ⇔ ms ≥ this.
  const thresholdMeanSquare = 32768 ** 2 * 10 ** (thresholdDbfs / 10)

  let windowStart = 0 // offset of the window being filled
  let filled = 0
  let energy = 0
  let speaking = false
  let run = 0 // consecutive windows that argue for a change of state
  let runStart = 0 // offset where that run began
  let lastEnd = 0 // offset of the previous speech_end

  const decide = (voiced: boolean, events: VadEvent[]) => {
    if (voiced !== speaking) {
      if (run === 0) runStart = windowStart
      run++
      const needed = speaking ? silenceWindows : speechWindows
      if (run >= needed) {
        if (speaking) {
          events.push({ type: "speech_end", sampleOffset: runStart })
          lastEnd = runStart
        } else {
          events.push({ type: "speech_start", sampleOffset: Math.max(0, lastEnd, runStart - prefixSamples) })
        }
        speaking = !speaking
        run = 0
      }
    } else {
      run = 0
    }
  }

  const reset = () => {
    windowStart = 0
    filled = 0
    energy = 0
    speaking = false
    run = 0
    runStart = 0
    lastEnd = 0
  }

  const scan = (samples: Int16Array, from: number, to: number, events: VadEvent[], stop: boolean): number => {
    const before = events.length
    let i = from
    while (i < to) {
      const take = Math.min(to - i, window - filled)
      const end = i + take
      let e = energy
      for (; i < end; i++) {
        const s = samples[i]!
        e += s * s
      }
      filled += take
      if (filled === window) {
        decide(e / window >= thresholdMeanSquare, events)
        windowStart += window
        filled = 0
        energy = 0
        if (stop && events.length > before) return i
      } else {
        energy = e
      }
    }
    return i
  }

  return {
    push(samples) {
      const events: VadEvent[] = []
      scan(samples, 0, samples.length, events, false)
      return events
    },
    scan: (samples, from, to, events) => scan(samples, from, to, events, true),
    flush() {
      const events: VadEvent[] = []
      if (speaking) {
        const end = run > 0 ? runStart : windowStart + filled
        events.push({ type: "speech_end", sampleOffset: end })
      }
      reset()
      return events
    },
    reset,
  }
}
