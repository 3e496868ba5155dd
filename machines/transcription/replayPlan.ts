/**
 * What a new connection must be sent so that no spoken word is lost: the audio of every
 * turn that has not received its transcript (each committed again, in order, with turn
 * detection off so the boundaries stay exactly as they were), then the uncommitted audio.
 * @module
 */
import { REALTIME_SAMPLES_PER_MS, type TurnLedger } from "./transcripts.ts"

/** A span of the session timeline sent again and committed as one turn. */
export interface ReplaySegment {
  /** The turn number in the ledger. */
  readonly turn: number
  readonly fromSample: number
  readonly toSample: number
}

/** The replay of one connection. */
export interface ReplayPlan {
  /** Turns to send again, each followed by `input_audio_buffer.commit`, in conversation order. */
  readonly commits: readonly ReplaySegment[]
  /** Where live streaming resumes: the first sample not yet part of any turn. */
  readonly liveFromSample: number
  /** Turns whose audio fell out of the bounded replay buffer entirely: they cannot be recovered. */
  readonly lostTurns: readonly number[]
}

/**
 * Plans the replay for a new connection from the pending turns of `ledger`, the start of the
 * uncommitted audio (`tailStartSample`) and the oldest sample still retained
 * (`retainedFromSample`, later than wanted when the buffer overflowed).
 */
export const planReplay = (
  ledger: TurnLedger,
  tailStartSample: number,
  retainedFromSample: number,
): ReplayPlan => {
  const commits: ReplaySegment[] = []
  const lostTurns: number[] = []
  for (const turn of ledger.turns) {
    if (turn.status !== "pending") continue
    const fromSample = Math.max(turn.startSample, retainedFromSample)
    if (fromSample >= turn.endSample && turn.endSample > turn.startSample) {
      lostTurns.push(turn.turn)
      continue
    }
    commits.push({ turn: turn.turn, fromSample, toSample: Math.max(fromSample, turn.endSample) })
  }
  return { commits, liveFromSample: Math.max(tailStartSample, retainedFromSample), lostTurns }
}

/** Samples the plan sends again before live audio: the sum of its committed segments. */
export const replayedCommitSamples = (plan: ReplayPlan): number =>
  plan.commits.reduce((sum, s) => sum + (s.toSample - s.fromSample), 0)

/** Milliseconds of audio in `samples` (24 kHz), rounded. */
export const samplesToMs = (samples: number): number => Math.round(samples / REALTIME_SAMPLES_PER_MS)
