/**
 * A scripted caller for agent sessions: an `AudioInput` that streams silence in clock time
 * and speaks a line (the simulator's voice for its text, so the simulator's transcriber hears
 * speech where it was said) when told to.
 * @module
 */

import type { AudioInput } from "../agent/audio.ts"
import { CALL_RATE_HZ, FRAME_MS } from "../agent/audio.ts"
import { type AudioFrame, makeAudioFrame } from "../audio/index.ts"
import type { XStateClock } from "../clock/EffectClock.ts"
import { synthesizeSpeech } from "../simulator/index.ts"

const FRAME_SAMPLES = (CALL_RATE_HZ * FRAME_MS) / 1000

/** A caller whose lines the test or demo triggers. */
export interface ScriptedCaller extends AudioInput {
  /** Starts saying `text` now (after what the caller is still saying). */
  say(text: string): void
  /** True while a line is being spoken. */
  readonly speaking: boolean
}

/** Creates a {@link ScriptedCaller}. */
export const scriptedCaller = (): ScriptedCaller => {
  let queue: Int16Array = new Int16Array(0)
  let offset = 0
  let timer: number | undefined
  let clockRef: XStateClock | undefined
  let stopped = false
  return {
    get speaking() {
      return offset < queue.length
    },
    get finished() {
      return stopped
    },
    say(text) {
      const speech = synthesizeSpeech(text, { sampleRateHz: CALL_RATE_HZ })
      const rest = queue.subarray(offset)
      const next = new Int16Array(rest.length + speech.length)
      next.set(rest)
      next.set(speech, rest.length)
      queue = next
      offset = 0
    },
    start(sink: (frame: AudioFrame) => void, clock: XStateClock) {
      clockRef = clock
      const tick = () => {
        if (stopped) return
        const frame = new Int16Array(FRAME_SAMPLES)
        if (offset < queue.length) {
          frame.set(queue.subarray(offset, offset + FRAME_SAMPLES))
          offset += FRAME_SAMPLES
        }
        sink(makeAudioFrame(frame, CALL_RATE_HZ, 1))
        timer = clock.setTimeout(tick, FRAME_MS)
      }
      timer = clock.setTimeout(tick, FRAME_MS)
    },
    stop() {
      stopped = true
      if (timer !== undefined) clockRef?.clearTimeout(timer)
      timer = undefined
    },
  }
}
