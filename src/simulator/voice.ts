/**
 * The simulated voice's code: each spoken word carries its own text in its tones, so the
 * simulator's transcription reports what was actually heard.
 *
 * A word is a run of 15 ms symbols, each a chord of four tones. The sixteen tones lie 200 Hz
 * apart from 500 to 3500 Hz (inside the telephone band, far under the Nyquist frequency of
 * 16 kHz audio); tone `4·v + g` sounding means "group `g` holds value `v`", so one symbol
 * carries a byte, two bits per group. A word's symbols are:
 * - fillers (byte 0), at least one, as many as make the word last as long as the voice says
 *   it (so a word heard from the middle of its fillers on still reads whole);
 * - one frame per piece of up to 127 UTF-8 bytes: a header byte (the piece's length, the
 *   high bit set when another piece of the same word follows), the bytes, and a CRC-8 of
 *   the header and bytes.
 *
 * Decoding finds the words by their energy (each word is one voiced run between silences),
 * lays the symbol grid from the word's onset and reads each symbol in the middle 10 ms of
 * its span through a Hann window (the sixteen tones fall on each other's nulls), so the
 * result is the same whatever the amplitude (a mixdown), after resampling (24 kHz → 16 kHz →
 * 24 kHz keeps every tone), PCM16 quantization or a low noise floor. A word counts as heard
 * only when its every symbol was read and its checks pass: audio cut at any sample yields the
 * words wholly spoken before the cut, a word cut at the very start of the audio is dropped,
 * and audio that carries no code (a recording, noise, plain tones) yields no words.
 * @module
 */

/** Duration of one symbol, in milliseconds. */
export const SYMBOL_MS = 15
/** Duration of the part of a symbol the decoder reads, in milliseconds (centred in the symbol). */
const WINDOW_MS = 10
const LOWEST_TONE_HZ = 500
const TONE_SPACING_HZ = 200
const TONES = 16
const GROUPS = 4
const MAX_PIECE_BYTES = 127
/** Amplitude of each of a chord's four tones: about -14 dBFS RMS for the chord. */
const TONE_AMPLITUDE = 0.14 * 32767
/** Onset and release of a word, and of each symbol inside it, in milliseconds. */
const WORD_RAMP_MS = 1.5
const SYMBOL_RAMP_MS = 0.75
/** A block is voiced above this RMS level (-45 dBFS), far under the voice and over a quiet floor. */
const VOICED_RMS = 0.0056 * 32767
/** Silence that separates two words, in milliseconds (the voice leaves at least 10 ms). */
const WORD_GAP_MS = 3
/** The decoder accepts a symbol when the tones hold this share of its energy. */
const MIN_TONE_SHARE = 0.7
/** ... and each group's loudest tone is this many times the next one (in power). */
const MIN_GROUP_MARGIN = 8
/** The decoder gives up on a word after this many fillers. */
const MAX_FILLERS = 4096

const CRC_INIT = 0xa5

/** CRC-8 (polynomial 0x07) of `bytes`, from a non-zero initial value. */
const crc8 = (bytes: ArrayLike<number>): number => {
  let crc = CRC_INIT
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i] ?? 0
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff
  }
  return crc
}

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/** The code symbols (bytes) of a word: its frames, without fillers. */
const codeOf = (word: string): number[] => {
  const bytes = utf8.encode(word)
  const symbols: number[] = []
  for (let start = 0; start < bytes.length; start += MAX_PIECE_BYTES) {
    const piece = bytes.subarray(start, start + MAX_PIECE_BYTES)
    const more = start + MAX_PIECE_BYTES < bytes.length
    const header = piece.length | (more ? 0x80 : 0)
    const frame = [header, ...piece]
    symbols.push(...frame, crc8(frame))
  }
  return symbols
}

/** The shortest time a word can be spoken in, in milliseconds (its code and one filler). */
export const wordCodeMs = (word: string): number => (codeOf(word).length + 1) * SYMBOL_MS

const toneHz = (index: number): number => LOWEST_TONE_HZ + index * TONE_SPACING_HZ

/** The four tones of a byte: group `g` sounds tone `4·v + g` for its two bits `v`. */
const tonesOf = (byte: number): number[] => {
  const tones: number[] = []
  for (let g = 0; g < GROUPS; g++) tones.push(((byte >> (2 * g)) & 3) * GROUPS + g)
  return tones
}

/** Raised-cosine gain rising over `ramp` samples from `i = 0`. */
const rise = (i: number, ramp: number): number =>
  i >= ramp ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / ramp)

const re = new Float64Array(GROUPS)
const im = new Float64Array(GROUPS)
const turnCos = new Float64Array(GROUPS)
const turnSin = new Float64Array(GROUPS)

/** Options of {@link speakWord}. */
export interface SpeakWordOptions {
  readonly sampleRateHz: number
  /** Where the word starts in `out`, in samples. */
  readonly offset: number
  /** How many samples the word lasts; at least the samples of {@link wordCodeMs}. */
  readonly samples: number
  /** Mixed into the tones' phases (the same seed, the same samples). */
  readonly seed: number
}

/**
 * Writes the voice of `word` into `out` from `options.offset`: leading fillers for the time
 * the code does not fill, then the code. Samples beyond the end of `out` are dropped.
 */
export const speakWord = (out: Int16Array, word: string, options: SpeakWordOptions): void => {
  const { sampleRateHz: rate, offset, samples, seed } = options
  const code = codeOf(word)
  const symbolSamples = (SYMBOL_MS * rate) / 1000
  // Whole symbols that fit; the code takes the last ones, fillers the rest, and the part of a
  // symbol left over closes the word (it lies after the code, so nothing reads it).
  const slots = Math.max(code.length + 1, Math.floor(samples / symbolSamples + 1e-9))
  const fillers = slots - code.length
  const wordRamp = Math.max(1, Math.round((WORD_RAMP_MS * rate) / 1000))
  const symbolRamp = Math.max(1, Math.round((SYMBOL_RAMP_MS * rate) / 1000))
  const phases = Array.from(
    { length: TONES },
    (_, k) => ((((k + 1) * 7919 + seed * 104729) % 360) * Math.PI) / 180,
  )
  const steps = Array.from({ length: TONES }, (_, k) => (2 * Math.PI * toneHz(k)) / rate)
  const end = Math.min(out.length, offset + samples)
  for (let slot = 0; slot <= slots; slot++) {
    const from = offset + Math.round(slot * symbolSamples)
    const to = slot === slots ? offset + samples : offset + Math.round((slot + 1) * symbolSamples)
    if (to <= from) continue
    const byte = slot < fillers || slot === slots ? 0 : (code[slot - fillers] ?? 0)
    const tones = tonesOf(byte)
    const length = to - from
    // Each tone as a phasor turned by its step per sample (no sine per sample).
    const t0 = from - offset
    for (let j = 0; j < GROUPS; j++) {
      const k = tones[j] ?? 0
      const phase = (steps[k] ?? 0) * t0 + (phases[k] ?? 0)
      re[j] = Math.cos(phase)
      im[j] = Math.sin(phase)
      turnCos[j] = Math.cos(steps[k] ?? 0)
      turnSin[j] = Math.sin(steps[k] ?? 0)
    }
    for (let n = from; n < to && n < end; n++) {
      const i = n - from
      const t = n - offset
      const edge = i < symbolRamp || length - 1 - i < symbolRamp || t < wordRamp || samples - 1 - t < wordRamp
      const gain = edge
        ? Math.min(
            rise(i, symbolRamp),
            rise(length - 1 - i, symbolRamp),
            rise(t, wordRamp),
            rise(samples - 1 - t, wordRamp),
          )
        : 1
      let value = 0
      for (let j = 0; j < GROUPS; j++) {
        const r = re[j] ?? 0
        const m = im[j] ?? 0
        value += m
        const c = turnCos[j] ?? 1
        const sn = turnSin[j] ?? 0
        re[j] = r * c - m * sn
        im[j] = r * sn + m * c
      }
      out[n] = Math.round(TONE_AMPLITUDE * gain * value)
    }
  }
}

/** A word read from audio, with where it was spoken (in samples of the audio read). */
export interface HeardWord {
  readonly text: string
  readonly startSample: number
  /** The end of the word's last symbol. */
  readonly endSample: number
}

interface Reader {
  readonly rate: number
  readonly symbolSamples: number
  readonly window: Float64Array
  readonly coefficients: Float64Array
  readonly cos: Float64Array
  readonly sin: Float64Array
}

const readers = new Map<number, Reader>()

const readerFor = (rate: number): Reader => {
  let reader = readers.get(rate)
  if (reader !== undefined) return reader
  const n = Math.max(8, Math.round((WINDOW_MS * rate) / 1000))
  const window = new Float64Array(n)
  // A periodic Hann window: tones 2/n of the rate apart fall on each other's nulls.
  for (let i = 0; i < n; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n)
  const coefficients = new Float64Array(TONES)
  const cos = new Float64Array(TONES)
  const sin = new Float64Array(TONES)
  for (let k = 0; k < TONES; k++) {
    const w = (2 * Math.PI * toneHz(k)) / rate
    coefficients[k] = 2 * Math.cos(w)
    cos[k] = Math.cos(w)
    sin[k] = Math.sin(w)
  }
  reader = { rate, symbolSamples: (SYMBOL_MS * rate) / 1000, window, coefficients, cos, sin }
  if (readers.size < 16) readers.set(rate, reader)
  return reader
}

const powers = new Float64Array(TONES)
let windowed = new Float64Array(0)

/**
 * Reads the symbol whose span starts at sample `start`: its byte, or -1 when the window is
 * not the voice's chord (too little of its energy in the tones, or a group without a clear
 * tone) or runs past the audio.
 */
const readSymbol = (audio: Int16Array, start: number, reader: Reader): number => {
  const { window } = reader
  const n = window.length
  const from = Math.round(start + (reader.symbolSamples - n) / 2)
  if (from < 0 || from + n > audio.length) return -1
  let energy = 0
  if (windowed.length < n) windowed = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const v = (audio[from + i] ?? 0) * (window[i] ?? 0)
    windowed[i] = v
    energy += v * v
  }
  if (energy === 0) return -1
  let toneEnergy = 0
  for (let k = 0; k < TONES; k++) {
    // Goertzel: the power of the windowed samples at tone k.
    const c = reader.coefficients[k] ?? 0
    let s1 = 0
    let s2 = 0
    for (let i = 0; i < n; i++) {
      const s0 = (windowed[i] ?? 0) + c * s1 - s2
      s2 = s1
      s1 = s0
    }
    const re = s1 - s2 * (reader.cos[k] ?? 0)
    const im = s2 * (reader.sin[k] ?? 0)
    const p = re * re + im * im
    powers[k] = p
    toneEnergy += p
  }
  // For a chord of tones on the grid, 3·Σ|X_k|² / (n·Σ(w·x)²) is 1 (see the module notes).
  if ((3 * toneEnergy) / (n * energy) < MIN_TONE_SHARE) return -1
  let byte = 0
  for (let g = 0; g < GROUPS; g++) {
    let best = -1
    let bestPower = -1
    let second = 0
    for (let v = 0; v < 4; v++) {
      const p = powers[v * GROUPS + g] ?? 0
      if (p > bestPower) {
        second = Math.max(second, bestPower)
        bestPower = p
        best = v
      } else second = Math.max(second, p)
    }
    if (bestPower < MIN_GROUP_MARGIN * second) return -1
    byte |= best << (2 * g)
  }
  return byte
}

interface ReadWord {
  readonly text: string
  readonly end: number
}

/** Reads the word whose first symbol starts at `start`: its text and end, or undefined. */
const readWord = (audio: Int16Array, start: number, reader: Reader): ReadWord | undefined => {
  const at = (slot: number) => readSymbol(audio, start + slot * reader.symbolSamples, reader)
  let slot = 0
  let fillers = 0
  let symbol = at(slot)
  while (symbol === 0 && fillers < MAX_FILLERS) {
    fillers += 1
    slot += 1
    symbol = at(slot)
  }
  // Every word opens with a filler: a grid that starts on the code is not a word's start.
  if (fillers === 0) return undefined
  const bytes: number[] = []
  for (;;) {
    if (symbol <= 0) return undefined
    const header = symbol
    const length = header & 0x7f
    const frame = [header]
    for (let i = 0; i < length; i++) {
      const byte = at(++slot)
      if (byte < 0) return undefined
      frame.push(byte)
    }
    if (at(++slot) !== crc8(frame)) return undefined
    bytes.push(...frame.slice(1))
    slot += 1
    if ((header & 0x80) === 0) break
    symbol = at(slot)
  }
  try {
    const text = strictUtf8.decode(new Uint8Array(bytes))
    return { text, end: Math.round(start + slot * reader.symbolSamples) }
  } catch {
    return undefined
  }
}

/** The voiced runs of `audio` in 1 ms blocks: [start, end) in samples, split by silences of {@link WORD_GAP_MS}. */
const voicedRuns = (audio: Int16Array, rate: number): [number, number][] => {
  const block = Math.max(1, Math.round(rate / 1000))
  const runs: [number, number][] = []
  let runStart = -1
  let lastVoiced = -1
  const threshold = VOICED_RMS * VOICED_RMS * block
  for (let b = 0; b * block < audio.length; b++) {
    const from = b * block
    const to = Math.min(audio.length, from + block)
    let sum = 0
    for (let i = from; i < to; i++) {
      const v = audio[i] ?? 0
      sum += v * v
    }
    if (sum * (block / (to - from)) >= threshold) {
      if (runStart < 0 || from - lastVoiced > WORD_GAP_MS * block) {
        if (runStart >= 0) runs.push([runStart, lastVoiced])
        runStart = from
      }
      lastVoiced = to
    }
  }
  if (runStart >= 0) runs.push([runStart, lastVoiced])
  return runs
}

/** The first sample of `[from, to)` whose magnitude passes a small fraction of the voice's peak. */
const onsetIn = (audio: Int16Array, from: number, to: number): number => {
  const level = 0.02 * 32767
  for (let i = Math.max(0, from); i < to; i++) if (Math.abs(audio[i] ?? 0) >= level) return i
  return from
}

/** Grid shifts tried around an onset, in milliseconds, when the onset's own grid does not read. */
const SHIFTS_MS = [0, -0.5, 0.5, -1, 1]

const readWordNear = (audio: Int16Array, onset: number, reader: Reader) => {
  for (const shift of SHIFTS_MS) {
    const start = Math.max(0, Math.round(onset + (shift * reader.rate) / 1000))
    const word = readWord(audio, start, reader)
    if (word !== undefined) return { word, start }
  }
  return undefined
}

/**
 * A word the audio begins with, or inside: read only when the audio begins in its leading
 * fillers (then its whole code is there), on the grid found by trying every half millisecond
 * of a symbol.
 */
const readCutWord = (audio: Int16Array, reader: Reader) => {
  const step = Math.max(1, Math.round(reader.rate / 2000))
  for (let start = 0; start < reader.symbolSamples; start += step) {
    const word = readWord(audio, start, reader)
    if (word !== undefined) return { word, start }
  }
  return undefined
}

/**
 * The words `audio` (mono PCM16 at `sampleRateHz`) carries in the simulated voice, in the
 * order spoken; empty when it carries none.
 */
export const decodeSpeech = (audio: Int16Array, sampleRateHz: number): HeardWord[] => {
  const reader = readerFor(sampleRateHz)
  const words: HeardWord[] = []
  const ms = sampleRateHz / 1000
  const block = Math.max(1, Math.round(ms))
  // The onset search lands a fraction of a millisecond into the word's rise.
  const onsetBias = Math.round(0.4 * ms)
  let after = 0
  for (const [runStart, runEnd] of voicedRuns(audio, sampleRateHz)) {
    if (runStart < after) continue
    const found =
      runStart === 0
        ? readCutWord(audio, reader)
        : readWordNear(audio, onsetIn(audio, runStart - block, runEnd) - onsetBias, reader)
    if (found === undefined) continue
    words.push({ text: found.word.text, startSample: found.start, endSample: found.word.end })
    after = found.word.end
  }
  return words
}

/** The text `audio` carries in the simulated voice (its words joined by spaces), or undefined when none. */
export const heardText = (audio: Int16Array, sampleRateHz: number): string | undefined => {
  const words = decodeSpeech(audio, sampleRateHz)
  return words.length === 0 ? undefined : words.map((w) => w.text).join(" ")
}
