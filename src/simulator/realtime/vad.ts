/**
 * The simulator's server VAD: speech is detected from the audio itself, so real audio
 * (or generated tone bursts and silence) drives the turn events.
 *
 * The audio is cut into 10 ms windows. A window is voiced when its RMS level is at or above
 * the threshold, where the service's `threshold` (0..1) maps linearly to a level:
 * `thresholdDbfs = -60 + 50 × threshold` (0 → -60 dBFS, the default 0.5 → -35 dBFS,
 * 1 → -10 dBFS). Speech starts after {@link MIN_SPEECH_WINDOWS} consecutive voiced windows,
 * at the first of them; `speech_started` reports that point minus `prefix_padding_ms`.
 * Speech stops once `silence_duration_ms` of unvoiced windows have followed it;
 * `speech_stopped` reports the end of that silence (the service's `audio_end_ms` includes the
 * silence duration too).
 *
 * `semantic_vad` has no language model here: it is this detector with threshold 0.5,
 * 300 ms prefix padding, and a silence wait set by `eagerness`: a quarter of the service's
 * maximum wait, i.e. high 500 ms, medium/auto 1000 ms, low 2000 ms (the service waits up to
 * 2/4/8 s when the speaker seems unfinished; a confident end of turn comes much sooner).
 *
 * This is deliberately not the audio layer's `createEnergyVad` (the client-side VAD of the
 * StreamAdapter and BatchSTT), though both compare 10 ms RMS levels with a threshold: this one
 * mimics the service, so its windows lie on the session's absolute 10 ms grid (a `reset` after
 * a clear or commit keeps the grid; `createEnergyVad` restarts its offsets at 0), its
 * `speech_stopped` offset is the end of the closing silence (the client VAD's `speech_end` is
 * where the silence began), it takes the service's 0..1 `threshold`, and its prefix padding is
 * applied by the input buffer, which knows how much audio it still holds.
 * @module
 */
import { SAMPLE_RATE_HZ, samplesForMs } from "./audio.ts"

/** The window the detector measures, in samples (10 ms at 24 kHz). */
export const WINDOW_SAMPLES = SAMPLE_RATE_HZ / 100

/** Consecutive voiced windows needed before speech is declared (30 ms). */
export const MIN_SPEECH_WINDOWS = 3

/** Detector settings, all in the detector's own units. */
export interface VadSettings {
  readonly thresholdDbfs: number
  readonly prefixPaddingSamples: number
  readonly silenceSamples: number
}

/** The turn detection settings the detector needs, from a session's `turn_detection`. */
export type VadTurnDetection =
  | {
      readonly type: "server_vad"
      readonly threshold: number
      readonly prefix_padding_ms: number
      readonly silence_duration_ms: number
    }
  | { readonly type: "semantic_vad"; readonly eagerness: "low" | "medium" | "high" | "auto" }

/** Maps the service's 0..1 `threshold` to the RMS level (dBFS) the detector compares against. */
export const thresholdToDbfs = (threshold: number): number => -60 + 50 * threshold

/** Silence wait of `semantic_vad` per eagerness, in milliseconds (see the module documentation). */
export const SEMANTIC_SILENCE_MS = { low: 2000, medium: 1000, auto: 1000, high: 500 } as const

/** Detector settings for a session's turn detection. */
export const vadSettingsFor = (turnDetection: VadTurnDetection): VadSettings =>
  turnDetection.type === "server_vad"
    ? {
        thresholdDbfs: thresholdToDbfs(turnDetection.threshold),
        prefixPaddingSamples: samplesForMs(turnDetection.prefix_padding_ms),
        silenceSamples: samplesForMs(turnDetection.silence_duration_ms),
      }
    : {
        thresholdDbfs: thresholdToDbfs(0.5),
        prefixPaddingSamples: samplesForMs(300),
        silenceSamples: samplesForMs(SEMANTIC_SILENCE_MS[turnDetection.eagerness]),
      }

/**
 * A detected transition. Offsets are sample positions in the session's audio (all audio
 * ever appended, at 24 kHz): `onset` is the first voiced window of the speech (the caller
 * subtracts the prefix padding), `offset` of `speech_stopped` the end of the closing silence.
 */
export type VadTransition =
  | { readonly type: "speech_started"; readonly onset: number }
  | { readonly type: "speech_stopped"; readonly offset: number }

/** The energy detector; push audio in order, get transitions back. */
export interface ServerVad {
  /** Feeds samples that start at session offset `startOffset`. */
  push(samples: Int16Array, startOffset: number): VadTransition[]
  /** Whether speech is in progress. */
  readonly speaking: boolean
  /** Forgets any speech in progress and any partial window. */
  reset(): void
}

/** Creates a detector with the given settings. */
export const createServerVad = (settings: VadSettings): ServerVad => {
  const thresholdPower = 10 ** (settings.thresholdDbfs / 10)
  let windowSum = 0
  let windowCount = 0
  let windowStart = -1
  let voicedRun = 0
  let voicedRunStart = 0
  let silentRun = 0
  let speaking = false

  const closeWindow = (windowEnd: number, out: VadTransition[]) => {
    const power = windowSum / Math.max(1, windowCount)
    const voiced = power >= thresholdPower
    if (!speaking) {
      if (voiced) {
        if (voicedRun === 0) voicedRunStart = windowStart
        voicedRun += 1
        if (voicedRun >= MIN_SPEECH_WINDOWS) {
          speaking = true
          silentRun = 0
          out.push({ type: "speech_started", onset: voicedRunStart })
        }
      } else {
        voicedRun = 0
      }
    } else if (voiced) {
      silentRun = 0
    } else {
      silentRun += windowEnd - windowStart
      if (silentRun >= settings.silenceSamples) {
        speaking = false
        voicedRun = 0
        silentRun = 0
        out.push({ type: "speech_stopped", offset: windowEnd })
      }
    }
    windowSum = 0
    windowCount = 0
  }

  return {
    get speaking() {
      return speaking
    },
    push(samples, startOffset) {
      const out: VadTransition[] = []
      for (let i = 0; i < samples.length; i++) {
        const offset = startOffset + i
        if (windowCount === 0) windowStart = offset
        const s = (samples[i] ?? 0) / 32768
        windowSum += s * s
        windowCount += 1
        if ((offset + 1) % WINDOW_SAMPLES === 0) closeWindow(offset + 1, out)
      }
      return out
    },
    reset() {
      windowSum = 0
      windowCount = 0
      voicedRun = 0
      silentRun = 0
      speaking = false
    },
  }
}
