/**
 * The call's audio: an input (a WAV file or a scripted caller, frames paced on the session's
 * clock) and an output that places the agent's frames on the call's timeline next to the
 * caller's, so it knows what was played when, and writes the call as a stereo WAV
 * (left: caller, right: agent).
 * @module
 */
import { readFileSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { type AudioFrame, decodeWav, encodeWav, makeAudioFrame, toMono } from "../audio/index.ts"
import type { XStateClock } from "../clock/EffectClock.ts"

/** The call's sample rate (the speech stack's: 24 kHz mono PCM16). */
export const CALL_RATE_HZ = 24_000
/** Audio per input frame, in ms. */
export const FRAME_MS = 20
const FRAME_SAMPLES = (CALL_RATE_HZ * FRAME_MS) / 1000

/** Where the caller's audio comes from: `start` pushes frames to `sink` until `stop`. */
export interface AudioInput {
  start(sink: (frame: AudioFrame) => void, clock: XStateClock): void
  stop(): void
  /** True once the input has nothing more to play. */
  readonly finished: boolean
}

/** Plays `samples` (24 kHz mono) as frames of {@link FRAME_MS}, one per frame of clock time, then silence. */
export const samplesInput = (
  samples: Int16Array,
  options: { readonly trailingSilenceMs?: number } = {},
): AudioInput => {
  let timer: number | undefined
  let clockRef: XStateClock | undefined
  let offset = 0
  let finished = false
  const total = samples.length + Math.round(((options.trailingSilenceMs ?? 1500) * CALL_RATE_HZ) / 1000)
  return {
    get finished() {
      return finished
    },
    start(sink, clock) {
      clockRef = clock
      const tick = () => {
        const frame = new Int16Array(FRAME_SAMPLES)
        if (offset < samples.length) frame.set(samples.subarray(offset, offset + FRAME_SAMPLES))
        offset += FRAME_SAMPLES
        sink(makeAudioFrame(frame, CALL_RATE_HZ, 1))
        if (offset >= total) finished = true
        else timer = clock.setTimeout(tick, FRAME_MS)
      }
      timer = clock.setTimeout(tick, FRAME_MS)
    },
    stop() {
      if (timer !== undefined) clockRef?.clearTimeout(timer)
      timer = undefined
      finished = true
    },
  }
}

/**
 * A WAV file as the caller, played in clock time (real time on the live clock, as fast as a
 * test clock is moved).
 * @throws {AudioError} for a file that is not PCM16 WAV at 24 kHz
 */
export const wavFileInput = (path: string): AudioInput => {
  const frame = decodeWav(new Uint8Array(readFileSync(path)))
  if (frame.sampleRateHz !== CALL_RATE_HZ)
    throw new RangeError(`${path}: the call runs at ${CALL_RATE_HZ} Hz, the file is ${frame.sampleRateHz} Hz`)
  return samplesInput(frame.channels === 1 ? frame.data : toMono(frame))
}

/** Where the agent's voice goes, on the call's timeline (ms since the call began). */
export interface AudioOutput {
  /** The caller's frame heard at `atMs`. */
  caller(frame: AudioFrame, atMs: number): void
  /** The agent's frame produced at `atMs`: queued after what is still playing. */
  agent(frame: AudioFrame, atMs: number): void
  /** Starts a reply: its played position counts from here. */
  beginReply(): void
  /** Milliseconds of the current reply's audio played by `atMs`. */
  playedMs(atMs: number): number
  /** Drops the agent's audio not played by `atMs` (an interruption). */
  clear(atMs: number): void
  /**
   * Holds the agent's audio not played by `atMs` (the caller may be cutting in); frames that
   * come meanwhile are held too. Optional: an output that cannot pause keeps playing.
   */
  pause?(atMs: number): void
  /** Plays the held audio from `atMs` on (a false interruption). */
  resume?(atMs: number): void
  /** When the agent's queued audio ends, in call time. */
  agentEndMs(): number
  /** The call as a stereo WAV (left: caller, right: agent). */
  wav(): Uint8Array
  /** Writes {@link wav} to `path`. */
  save(path: string): Promise<void>
}

const msToSample = (ms: number) => Math.max(0, Math.round((ms * CALL_RATE_HZ) / 1000))

/** Samples per chunk of a track (one second): a long call grows by chunks, never by copies. */
const CHUNK = CALL_RATE_HZ

/** A growable PCM16 track, stored in one-second chunks. */
const track = () => {
  const chunks: Int16Array[] = []
  let length = 0
  const chunkAt = (index: number): Int16Array => {
    while (chunks.length <= index) chunks.push(new Int16Array(CHUNK))
    return chunks[index] as Int16Array
  }
  const copy = (from: number, to: number): Int16Array => {
    const out = new Int16Array(Math.max(0, to - from))
    for (let at = from; at < to; ) {
      const index = Math.floor(at / CHUNK)
      const offset = at - index * CHUNK
      const n = Math.min(CHUNK - offset, to - at)
      const chunk = chunks[index]
      if (chunk !== undefined) out.set(chunk.subarray(offset, offset + n), at - from)
      at += n
    }
    return out
  }
  return {
    write(at: number, samples: Int16Array) {
      for (let done = 0; done < samples.length; ) {
        const position = at + done
        const index = Math.floor(position / CHUNK)
        const offset = position - index * CHUNK
        const n = Math.min(CHUNK - offset, samples.length - done)
        chunkAt(index).set(samples.subarray(done, done + n), offset)
        done += n
      }
      length = Math.max(length, at + samples.length)
    },
    /** A copy of the samples from `at` to the end. */
    tail(at: number): Int16Array {
      return copy(Math.min(at, length), length)
    },
    truncate(at: number) {
      if (at >= length) return
      const index = Math.floor(at / CHUNK)
      chunks[index]?.fill(0, at - index * CHUNK)
      chunks.length = Math.min(chunks.length, index + 1)
      length = at
    },
    get length() {
      return length
    },
    get data() {
      return copy(0, length)
    },
  }
}

/** Creates the call's {@link AudioOutput}. */
export const createCallRecorder = (): AudioOutput => {
  const left = track()
  const right = track()
  let agentEnd = 0
  // Where the current reply's samples lie on the agent's track, in order.
  let spans: { start: number; end: number }[] = []
  // Audio held by `pause` (and frames that came while paused); undefined when playing.
  let held: Int16Array[] | undefined
  const mono = (frame: AudioFrame): Int16Array => {
    if (frame.sampleRateHz !== CALL_RATE_HZ)
      throw new RangeError(`The call runs at ${CALL_RATE_HZ} Hz, a frame came at ${frame.sampleRateHz} Hz`)
    return frame.channels === 1 ? frame.data : toMono(frame)
  }
  const place = (samples: Int16Array, atMs: number) => {
    const at = Math.max(agentEnd, msToSample(atMs))
    right.write(at, samples)
    const last = spans[spans.length - 1]
    if (last !== undefined && last.end === at) last.end = at + samples.length
    else spans.push({ start: at, end: at + samples.length })
    agentEnd = at + samples.length
  }
  const cutAt = (at: number) => {
    if (agentEnd > at) {
      right.truncate(at)
      agentEnd = at
    }
    spans = spans.flatMap((s) => (s.start >= at ? [] : [{ start: s.start, end: Math.min(s.end, at) }]))
  }
  const output: AudioOutput = {
    caller(frame, atMs) {
      left.write(msToSample(atMs), mono(frame))
    },
    agent(frame, atMs) {
      const samples = mono(frame)
      if (held !== undefined) held.push(samples)
      else place(samples, atMs)
    },
    beginReply() {
      spans = []
    },
    playedMs(atMs) {
      const at = msToSample(atMs)
      let played = 0
      for (const s of spans) played += Math.max(0, Math.min(s.end, at) - s.start)
      return (played * 1000) / CALL_RATE_HZ
    },
    clear(atMs) {
      if (held !== undefined) held = []
      cutAt(msToSample(atMs))
    },
    pause(atMs) {
      if (held !== undefined) return
      const at = msToSample(atMs)
      held = agentEnd > at ? [right.tail(at)] : []
      cutAt(at)
    },
    resume(atMs) {
      const pending = held
      held = undefined
      for (const samples of pending ?? []) if (samples.length > 0) place(samples, atMs)
    },
    agentEndMs: () => (agentEnd * 1000) / CALL_RATE_HZ,
    wav() {
      const n = Math.max(left.length, right.length)
      const out = new Int16Array(n * 2)
      const l = left.data
      const r = right.data
      for (let i = 0; i < n; i++) {
        out[2 * i] = l[i] ?? 0
        out[2 * i + 1] = r[i] ?? 0
      }
      return encodeWav(makeAudioFrame(out, CALL_RATE_HZ, 2))
    },
    save: (path) => writeFile(path, output.wav()),
  }
  return output
}
