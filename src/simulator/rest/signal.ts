/**
 * The simulated voice: a deterministic 24 kHz mono PCM16 signal for a text, whose length
 * follows the text (about 60 ms per character at speed 1, words separated by short
 * silences, longer pauses after punctuation). Each word is a voiced tone (a fundamental
 * between 100 and 250 Hz chosen from the word, with two harmonics and a smooth envelope),
 * loud enough (about -14 dBFS RMS) that an energy VAD hears it as speech, so the output of
 * the simulated TTS can be fed back to the simulated STT.
 * @module
 */
import { hashString } from "./text.ts"

/** Options of {@link synthesizeSpeech}. */
export interface SpeechSignalOptions {
  /** Output sample rate in Hz (default 24 000). */
  readonly sampleRateHz?: number
  /** Speaking speed, 0.25 to 4 (default 1): durations are divided by it. */
  readonly speed?: number
  /** Seed mixed into each word's pitch (default 0). */
  readonly seed?: number
}

/** Milliseconds of voiced signal per character of a word, at speed 1. */
export const MS_PER_CHARACTER = 60
const MIN_WORD_MS = 120
const WORD_GAP_MS = 40
const PUNCTUATION_PAUSE_MS = 160
const PEAK = 0.28 * 32767

/** The duration in milliseconds of the signal {@link synthesizeSpeech} makes for `text`. */
export const speechDurationMs = (text: string, speed = 1): number => {
  let ms = 0
  for (const word of wordsOf(text)) ms += wordMs(word, speed) + gapMs(word, speed)
  return ms
}

const wordsOf = (text: string): string[] => text.split(/\s+/).filter((w) => w.length > 0)
const wordMs = (word: string, speed: number): number =>
  Math.max(MIN_WORD_MS, word.length * MS_PER_CHARACTER) / speed
const gapMs = (word: string, speed: number): number =>
  (/[.!?,;:]$/.test(word) ? PUNCTUATION_PAUSE_MS : WORD_GAP_MS) / speed

/**
 * Synthesizes the simulated voice for `text`. The same text, speed and seed always give
 * the same samples. An empty or blank text gives an empty signal.
 */
export const synthesizeSpeech = (text: string, options: SpeechSignalOptions = {}): Int16Array => {
  const rate = options.sampleRateHz ?? 24_000
  const speed = options.speed ?? 1
  const seed = options.seed ?? 0
  const words = wordsOf(text)
  let total = 0
  for (const word of words) total += Math.round(((wordMs(word, speed) + gapMs(word, speed)) * rate) / 1000)
  const out = new Int16Array(total)
  let offset = 0
  for (const word of words) {
    const voiced = Math.round((wordMs(word, speed) * rate) / 1000)
    const gap = Math.round((gapMs(word, speed) * rate) / 1000)
    const f0 = 100 + (hashString(word, seed) % 150)
    const ramp = Math.max(1, Math.round(rate * 0.015))
    for (let i = 0; i < voiced; i++) {
      const t = i / rate
      const phase = 2 * Math.PI * f0 * t
      const tone = 0.6 * Math.sin(phase) + 0.3 * Math.sin(2 * phase) + 0.1 * Math.sin(3 * phase)
      const envelope = Math.min(1, i / ramp, (voiced - 1 - i) / ramp)
      out[offset + i] = Math.round(PEAK * tone * envelope)
    }
    offset += voiced + gap
  }
  return out
}
