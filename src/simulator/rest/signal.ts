/**
 * The simulated voice: a deterministic 24 kHz mono PCM16 signal for a text, whose length
 * follows the text (about 60 ms per character at speed 1, words separated by short
 * silences, longer pauses after punctuation). Each word is a run of four-tone chords that
 * carry the word's text (`../voice.ts`), loud enough (about -14 dBFS RMS) that an energy VAD
 * hears it as speech, so the output of the simulated TTS fed back to the simulated STT is
 * transcribed to the words it says. A word is never shorter than its code: at high speeds
 * a word keeps 15 ms per UTF-8 byte and 30 ms more.
 * @module
 */
import { speakWord, wordCodeMs } from "../voice.ts"

/** Options of {@link synthesizeSpeech}. */
export interface SpeechSignalOptions {
  /** Output sample rate in Hz (default 24 000). */
  readonly sampleRateHz?: number
  /** Speaking speed, 0.25 to 4 (default 1): durations are divided by it. */
  readonly speed?: number
  /** Seed mixed into the tones' phases (default 0). */
  readonly seed?: number
}

/** Milliseconds of voiced signal per character of a word, at speed 1. */
export const MS_PER_CHARACTER = 60
const MIN_WORD_MS = 120
const WORD_GAP_MS = 40
const PUNCTUATION_PAUSE_MS = 160

/** The duration in milliseconds of the signal {@link synthesizeSpeech} makes for `text`. */
export const speechDurationMs = (text: string, speed = 1): number => {
  let ms = 0
  for (const word of wordsOf(text)) ms += wordMs(word, speed) + gapMs(word, speed)
  return ms
}

const wordsOf = (text: string): string[] => text.split(/\s+/).filter((w) => w.length > 0)
const wordMs = (word: string, speed: number): number =>
  Math.max(Math.max(MIN_WORD_MS, word.length * MS_PER_CHARACTER) / speed, wordCodeMs(word))
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
    speakWord(out, word, { sampleRateHz: rate, offset, samples: voiced, seed })
    offset += voiced + gap
  }
  return out
}
