/**
 * A scripted caller for agent sessions: an `AudioInput` that streams silence in clock time
 * and speaks lines in the simulator's voice, whose words the simulator's transcription hears
 * (`voxstate/simulator`'s `heardText`). A line is said when told to (`say`), at a moment of the
 * call, or in reply to the agent: once the agent has stopped speaking for a while, or after
 * some milliseconds of the agent's speech (a barge-in). For the cues that follow the agent the
 * caller listens to the call's output (`listen(output)`), which also lets it report the
 * agent's words it heard.
 * @module
 */

import type { AudioInput, AudioOutput } from "../agent/audio.ts"
import { CALL_RATE_HZ, FRAME_MS } from "../agent/audio.ts"
import { type AudioFrame, decodeWav, makeAudioFrame } from "../audio/index.ts"
import type { XStateClock } from "../clock/EffectClock.ts"
import { heardText, synthesizeSpeech } from "../simulator/index.ts"

const FRAME_SAMPLES = (CALL_RATE_HZ * FRAME_MS) / 1000

/** When a scripted line is said. Times in milliseconds of the call. */
export type CallerCue =
  /** At this moment of the call (ms since the caller started), or at once if it has passed. */
  | { readonly atMs: number }
  /** Once the agent has spoken and then been silent for this long (a reply). */
  | { readonly afterAgentMs: number }
  /** Once the agent has been speaking for this long (cutting in). */
  | { readonly intoAgentMs: number }

/** A line of the caller's script: its text and its cue (none: right after the previous line). */
export interface CallerLine {
  readonly text: string
  readonly cue?: CallerCue
}

/**
 * A line as it was said: its text and when, in milliseconds of the call (as the session
 * stamped the caller's frames, when listening): its first sample, the end of its voice, and
 * its end (the voice closes with a pause). Times of audio not yet sent are estimates.
 */
export interface SpokenLine {
  readonly text: string
  readonly startMs: number
  readonly voiceEndMs: number
  readonly endMs: number
}

interface LineRecord {
  text: string
  startMs: number
  voiceEndMs: number
  endMs: number
  /** Positions in the caller's whole audio, in samples. */
  readonly startSample: number
  readonly voiceEndSample: number
  readonly endSample: number
}

/** Options of {@link scriptedCaller}. */
export interface ScriptedCallerOptions {
  /**
   * The script, said in order: each line waits for the previous one to be said, then for its
   * cue. A plain string is a line said once the agent has replied ({ afterAgentMs: 600 }),
   * except the first, said at once.
   */
  readonly lines?: readonly (string | CallerLine)[]
}

/** A caller whose lines the test or demo triggers or scripts. */
export interface ScriptedCaller extends AudioInput {
  /** Starts saying `text` now (after what the caller is still saying). */
  say(text: string): void
  /** Adds a line to the end of the script. */
  line(text: string, cue?: CallerCue): void
  /**
   * Wraps the call's output so that the caller hears the agent: the replies and barge-ins of
   * its script follow the agent's audio, and {@link heard} reports its words. Pass the result
   * as the session's output.
   */
  listen<O extends AudioOutput>(output: O): O
  /** The agent's words the caller has heard so far (the agent's audio played by now), joined by spaces. */
  heard(): string
  /** The lines said so far (the one being said included), with their times. */
  readonly spoken: readonly SpokenLine[]
  /** Lines of the script not yet said. */
  readonly pending: number
  /** True while a line is being spoken. */
  readonly speaking: boolean
}

const DEFAULT_REPLY_GAP_MS = 600
/** Frames a late timer may send at once to catch up with the call's clock. */
const MAX_CATCH_UP_FRAMES = 5
/** A pause in the agent's audio longer than this ends a run of its speech, in ms. */
const RUN_GAP_MS = 200

/** Creates a {@link ScriptedCaller}. */
export const scriptedCaller = (options: ScriptedCallerOptions = {}): ScriptedCaller => {
  let queue: Int16Array = new Int16Array(0)
  let offset = 0
  let timer: number | undefined
  let clockRef: XStateClock | undefined
  let stopped = false
  let ticks = 0
  // The call's time: from the stamp the session put on the caller's last frame (when
  // listening) on by the frames since, else the caller's own count of frames.
  let stamp: { readonly atMs: number; readonly tick: number } | undefined
  const script: CallerLine[] = []
  const spoken: LineRecord[] = []
  // Samples the caller has sent since it started.
  let sentSamples = 0
  // The output the caller listens to, where the current run of agent speech began, and where
  // the agent's audio ended when the caller last noted a frame (all call time).
  let output: AudioOutput | undefined
  let agentRunStartMs = 0
  let agentNotedEndMs: number | undefined

  // The first stamp: the call time and frame count the caller's audio is measured from.
  let origin: { readonly atMs: number; readonly tick: number } | undefined
  const lagMs = () =>
    stamp === undefined || origin === undefined
      ? 0
      : stamp.atMs - origin.atMs - (stamp.tick - origin.tick) * FRAME_MS
  const nowMs = () => (stamp === undefined ? ticks * FRAME_MS : stamp.atMs + (ticks - stamp.tick) * FRAME_MS)
  const agentEndMs = () => output?.agentEndMs() ?? 0
  const speaking = () => offset < queue.length

  const speak = (text: string) => {
    const speech = synthesizeSpeech(text, { sampleRateHz: CALL_RATE_HZ })
    const rest = queue.subarray(offset)
    const next = new Int16Array(rest.length + speech.length)
    next.set(rest)
    next.set(speech, rest.length)
    queue = next
    offset = 0
    let voiced = speech.length
    while (voiced > 0 && speech[voiced - 1] === 0) voiced -= 1
    const startSample = sentSamples + rest.length
    const msAhead = (samples: number) => nowMs() + (samples * 1000) / CALL_RATE_HZ
    spoken.push({
      text,
      startSample,
      voiceEndSample: startSample + voiced,
      endSample: startSample + speech.length,
      startMs: msAhead(rest.length),
      voiceEndMs: msAhead(rest.length + voiced),
      endMs: msAhead(rest.length + speech.length),
    })
  }

  /** Times the lines' positions that the frame just sent (from `frameStart`, at call time `atMs`) holds. */
  const timeLines = (frameStart: number, atMs: number) => {
    const frameEnd = frameStart + FRAME_SAMPLES
    const at = (sample: number) => atMs + ((sample - frameStart) * 1000) / CALL_RATE_HZ
    for (let i = spoken.length - 1; i >= 0; i--) {
      const line = spoken[i]
      if (line === undefined || line.endSample < frameStart) break
      if (line.startSample >= frameStart && line.startSample < frameEnd) line.startMs = at(line.startSample)
      if (line.voiceEndSample >= frameStart && line.voiceEndSample <= frameEnd)
        line.voiceEndMs = at(line.voiceEndSample)
      if (line.endSample >= frameStart && line.endSample <= frameEnd) line.endMs = at(line.endSample)
    }
  }

  const due = (cue: CallerCue | undefined): boolean => {
    const now = nowMs()
    if (cue === undefined) return true
    if ("atMs" in cue) return now >= cue.atMs
    const end = agentEndMs()
    // Agent speech that began after the caller's last line began answers it.
    const armedAtMs = spoken[spoken.length - 1]?.startMs ?? 0
    if ("afterAgentMs" in cue)
      return agentRunStartMs >= armedAtMs && end > agentRunStartMs && now >= end + cue.afterAgentMs
    return now < end && now - Math.max(agentRunStartMs, armedAtMs) >= cue.intoAgentMs
  }

  /** Says the head of the script when the caller is silent and its cue has come. */
  const follow = () => {
    const head = script[0]
    if (head === undefined || speaking() || !due(head.cue)) return
    script.shift()
    speak(head.text)
  }

  for (const [i, line] of (options.lines ?? []).entries()) {
    script.push(
      typeof line === "string"
        ? i === 0
          ? { text: line }
          : { text: line, cue: { afterAgentMs: DEFAULT_REPLY_GAP_MS } }
        : line,
    )
  }

  /** Notes an agent frame the output placed on the call's timeline, ending where its audio now ends. */
  const hearAgent = (frame: AudioFrame, endBeforeMs: number) => {
    if (output === undefined) return
    const endMs = output.agentEndMs()
    const frameMs = ((frame.data.length / frame.channels) * 1000) / frame.sampleRateHz
    // An output holding the agent's audio (paused) has not placed the frame.
    if (endMs - endBeforeMs < frameMs - 0.5) return
    const startMs = endMs - frameMs
    // A frame placed after a silence starts a new run of agent speech.
    if (agentNotedEndMs === undefined || startMs > agentNotedEndMs + RUN_GAP_MS) agentRunStartMs = startMs
    agentNotedEndMs = endMs
  }

  return {
    get speaking() {
      return speaking()
    },
    get finished() {
      return stopped
    },
    get spoken() {
      return spoken
    },
    get pending() {
      return script.length
    },
    say(text) {
      speak(text)
    },
    line(text, cue) {
      script.push(cue === undefined ? { text } : { text, cue })
    },
    listen(inner) {
      output = inner
      const wrapped: AudioOutput = {
        ...inner,
        caller(frame, atMs) {
          stamp = { atMs, tick: ticks }
          origin ??= stamp
          inner.caller(frame, atMs)
        },
        agent(frame, atMs) {
          const before = inner.agentEndMs()
          inner.agent(frame, atMs)
          hearAgent(frame, before)
        },
        clear(atMs) {
          inner.clear(atMs)
          agentNotedEndMs = Math.min(agentNotedEndMs ?? 0, inner.agentEndMs())
        },
      }
      return wrapped as typeof inner
    },
    heard() {
      if (output === undefined) return ""
      // The agent's channel of the call as the output placed it (cuts, pauses and resumes
      // included), up to now.
      const call = decodeWav(output.wav())
      const played = Math.min(call.data.length / call.channels, Math.round((nowMs() * CALL_RATE_HZ) / 1000))
      const agent = new Int16Array(played)
      for (let i = 0; i < played; i++) agent[i] = call.data[i * call.channels + (call.channels - 1)] ?? 0
      return heardText(agent, CALL_RATE_HZ) ?? ""
    },
    start(sink: (frame: AudioFrame) => void, clock: XStateClock) {
      clockRef = clock
      const emit = () => {
        ticks += 1
        follow()
        const frame = new Int16Array(FRAME_SAMPLES)
        if (offset < queue.length) {
          frame.set(queue.subarray(offset, offset + FRAME_SAMPLES))
          offset += FRAME_SAMPLES
        }
        sink(makeAudioFrame(frame, CALL_RATE_HZ, 1))
        // The session has stamped the frame: now is its call time.
        timeLines(sentSamples, nowMs())
        sentSamples += FRAME_SAMPLES
      }
      const tick = () => {
        if (stopped) return
        emit()
        // Timers fire late: when the call's clock (the session's stamps) has run a frame or
        // more ahead of the audio sent, the caller catches up, so its audio keeps real time.
        for (let extra = 0; extra < MAX_CATCH_UP_FRAMES && !stopped && lagMs() >= FRAME_MS; extra++) emit()
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
