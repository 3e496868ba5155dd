/**
 * The turn ledger of a streaming transcription: every committed span of user audio, keyed
 * by the server's `item_id`, placed in conversation order by `previous_item_id`, with its
 * transcript accumulated from deltas until the `completed` (or `failed`) event ends it.
 *
 * Pure functions over immutable values, so the session machine can keep the ledger in its
 * context and tests can drive it event by event. Every function that ends or advances a
 * turn returns the {@link SpeechEvent}s to emit.
 * @module
 */
import { type LogProb, REALTIME_SAMPLES_PER_MS } from "../../src/protocol/index.ts"
import type { SpeechAlternative, SpeechErrorInfo, SpeechEvent } from "./speechEvents.ts"

/** Samples per millisecond on the session timeline (the Realtime rate, defined once in src/protocol). */
export { REALTIME_SAMPLES_PER_MS } from "../../src/protocol/index.ts"

/** Where a turn is in its life. `pending`: committed (or commit sent), transcript not final yet. */
export type TurnStatus = "pending" | "final" | "failed"

/** One user turn: a committed span of the session's audio and what was heard in it. */
export interface TranscriptTurn {
  /** Session-stable turn number, 1-based, in the order turns were opened. */
  readonly turn: number
  /**
   * The server item of this turn on the current connection. `undefined` while a client
   * commit awaits its `input_audio_buffer.committed` (and after a reconnect, until the turn's
   * audio is committed again).
   */
  readonly itemId: string | undefined
  /** The item this one follows, as the server said in `committed`; `null` for the first. */
  readonly previousItemId: string | null | undefined
  /** First sample of the turn's audio on the session timeline. */
  readonly startSample: number
  /** One past the last sample of the turn's audio. */
  readonly endSample: number
  readonly status: TurnStatus
  /** Interim (then final) text. */
  readonly text: string
  /** Sum of exp(logprob) over the tokens seen, and their count: confidence = sum / count. */
  readonly probabilitySum: number
  readonly probabilityCount: number
  /** Clock time (ms) at which the end of speech (or the commit) was observed, for latency. */
  readonly endOfSpeechAtMs: number | undefined
  /** Language reported by the service for this turn. */
  readonly language: string | undefined
  /** Events to emit when this turn's turn comes (final + usage, or failed). */
  readonly outcome: readonly SpeechEvent[]
  /** Whether `outcome` has been emitted. */
  readonly emitted: boolean
  /** Times the turn's audio has been committed to a server (1 when it is opened; +1 per replay). */
  readonly sends: number
  /**
   * A commit the session did not cause (no client commit outstanding, no speech the server
   * reported for it): it never holds other turns back, the session owes nothing for it, and a
   * lost connection drops it (failing it only if its interim text was shown).
   */
  readonly unsolicited: boolean
  /**
   * The turn's commit has been sent on the current connection (a client turn), so a
   * `committed` can answer it; a turn opened while offline waits for its replay.
   */
  readonly commitSent: boolean
}

/** The turns not yet emitted, in conversation order. */
export interface TurnLedger {
  readonly turns: readonly TranscriptTurn[]
  /** The number the next turn will get. */
  readonly nextTurn: number
  /** The newest item ever bound, so `previous_item_id` of a new turn can be placed after pruning. */
  readonly lastItemId: string | undefined
}

/** How the ledger reads the service's events. */
export interface LedgerOptions {
  /** True when each delta holds the whole turn so far (whisper-1), false when deltas are increments. */
  readonly cumulativeDeltas: boolean
  /** True when logprobs were requested: confidence is then computed; otherwise it is left out. */
  readonly includeLogprobs: boolean
  /** The configured language, used when the service does not report one. */
  readonly language: string | undefined
  /**
   * `conversation`: finals are emitted in turn order (a later turn's final waits for the
   * earlier turns); `arrival`: each final is emitted as soon as it arrives.
   */
  readonly finalOrder: "conversation" | "arrival"
}

/** The ledger after a step and what to emit. */
export interface LedgerStep {
  readonly ledger: TurnLedger
  readonly events: readonly SpeechEvent[]
}

/** The ledger of a new session. */
export const emptyLedger: TurnLedger = { turns: [], nextTurn: 1, lastItemId: undefined }

/** True when `model`'s transcription deltas each carry the whole turn so far (whisper-1). */
export const deltasAreCumulative = (model: string): boolean => /^whisper-/.test(model)

/** Mean of exp(logprob) over `logprobs`, or `undefined` when there are none. */
export const confidenceOf = (
  logprobs: readonly Pick<LogProb, "logprob">[] | null | undefined,
): number | undefined => {
  if (logprobs === null || logprobs === undefined || logprobs.length === 0) return undefined
  let sum = 0
  for (const lp of logprobs) sum += Math.exp(lp.logprob)
  return sum / logprobs.length
}

const msOf = (sample: number): number => Math.round(sample / REALTIME_SAMPLES_PER_MS)

const findIndex = (ledger: TurnLedger, itemId: string): number =>
  ledger.turns.findIndex((t) => t.itemId === itemId)

const replaceAt = (
  turns: readonly TranscriptTurn[],
  index: number,
  turn: TranscriptTurn,
): TranscriptTurn[] => {
  const next = turns.slice()
  next[index] = turn
  return next
}

const newTurn = (
  number: number,
  fields: Pick<TranscriptTurn, "itemId" | "previousItemId" | "startSample" | "endSample" | "endOfSpeechAtMs">,
): TranscriptTurn => ({
  turn: number,
  ...fields,
  status: "pending",
  text: "",
  probabilitySum: 0,
  probabilityCount: 0,
  language: undefined,
  outcome: [],
  emitted: false,
  sends: 1,
  unsolicited: false,
  commitSent: true,
})

/** A span of the session timeline with the clock time its end was observed. */
export interface TurnSpan {
  readonly startSample: number
  readonly endSample: number
  /** Clock time (ms) of the end of speech or of the commit. */
  readonly endOfSpeechAtMs: number | undefined
}

/**
 * Opens a turn for a commit the client is sending (manual flush, local VAD, drain, replay):
 * it has no item id until the server's `committed` binds one ({@link bindCommitted}).
 * `commitSent` is false when no connection is configured (the replay will send it).
 */
export const openClientTurn = (ledger: TurnLedger, span: TurnSpan, commitSent = true): TurnLedger => ({
  ...ledger,
  turns: [
    ...ledger.turns,
    {
      ...newTurn(ledger.nextTurn, { itemId: undefined, previousItemId: undefined, ...span }),
      commitSent,
      sends: commitSent ? 1 : 0,
    },
  ],
  nextTurn: ledger.nextTurn + 1,
})

/** A client turn whose commit was sent on this connection and is not acknowledged yet. */
const isUnbound = (t: TranscriptTurn): boolean =>
  t.itemId === undefined && t.status === "pending" && t.commitSent && !t.unsolicited

/** The oldest turn whose client commit is sent and not yet acknowledged, if any. */
export const oldestUnbound = (ledger: TurnLedger): TranscriptTurn | undefined => ledger.turns.find(isUnbound)

/** Marks the turns in `turnNumbers` as committed on the current connection (their replay was sent). */
export const markCommitsSent = (ledger: TurnLedger, turnNumbers: readonly number[]): TurnLedger => {
  if (turnNumbers.length === 0) return ledger
  const sent = new Set(turnNumbers)
  return { ...ledger, turns: ledger.turns.map((t) => (sent.has(t.turn) ? { ...t, commitSent: true } : t)) }
}

/**
 * The client turn a `committed` answers, by its `previous_item_id`: the first unacknowledged
 * turn after the one bound to `previousItemId` (the oldest one when it is `null`, or names
 * the newest item already pruned). When `previousItemId` names an item this ledger never saw,
 * a `committed` was lost: the oldest unacknowledged turn is that item (`inferred`), and the
 * commit answers the next one. Order alone would shift every later turn by one.
 */
const unboundTurnFor = (
  ledger: TurnLedger,
  previousItemId: string | null | undefined,
): { readonly index: number; readonly inferred?: number } | undefined => {
  const firstUnboundFrom = (start: number): number => {
    for (let i = start; i < ledger.turns.length; i++) {
      const t = ledger.turns[i]
      if (t !== undefined && isUnbound(t)) return i
    }
    return -1
  }
  const oldest = firstUnboundFrom(0)
  if (oldest < 0) return undefined
  if (previousItemId === null || previousItemId === undefined || previousItemId === ledger.lastItemId) {
    return { index: oldest }
  }
  const previous = findIndex(ledger, previousItemId)
  if (previous >= 0) {
    const after = firstUnboundFrom(previous + 1)
    return { index: after >= 0 ? after : oldest }
  }
  const next = firstUnboundFrom(oldest + 1)
  return next < 0 ? { index: oldest } : { index: next, inferred: oldest }
}

/** What an `input_audio_buffer.committed` event says. */
export interface CommittedInfo {
  readonly itemId: string
  readonly previousItemId: string | null | undefined
}

/**
 * Applies `input_audio_buffer.committed`.
 *
 * - `serverSpan` given (the server's VAD committed a turn it detected, or a commit the
 *   session asked the server for): a new turn with that span, placed right after
 *   `previousItemId` (or last when that item is unknown).
 * - otherwise the commit answers a client commit, found by `previousItemId` (see
 *   {@link bindCommitted}'s rules in `unboundTurnFor`), which now gets its item id;
 * - with no client commit outstanding, the session did not cause this commit: an
 *   {@link TranscriptTurn.unsolicited} turn is opened with `fallbackSpan`, which holds
 *   nothing back.
 */
export const bindCommitted = (
  ledger: TurnLedger,
  committed: CommittedInfo,
  serverSpan: TurnSpan | undefined,
  fallbackSpan: TurnSpan,
): TurnLedger => {
  if (findIndex(ledger, committed.itemId) >= 0) return ledger
  const lastItemId = committed.itemId
  if (serverSpan === undefined) {
    const found = unboundTurnFor(ledger, committed.previousItemId)
    if (found !== undefined) {
      const unbound = ledger.turns[found.index] as TranscriptTurn
      let turns = replaceAt(ledger.turns, found.index, {
        ...unbound,
        itemId: committed.itemId,
        previousItemId: committed.previousItemId,
      })
      const inferred = found.inferred === undefined ? undefined : turns[found.inferred]
      if (inferred !== undefined && typeof committed.previousItemId === "string") {
        turns = replaceAt(turns, found.inferred as number, { ...inferred, itemId: committed.previousItemId })
      }
      return { ...ledger, lastItemId, turns }
    }
  }
  const span = serverSpan ?? fallbackSpan
  const turn: TranscriptTurn = {
    ...newTurn(ledger.nextTurn, {
      itemId: committed.itemId,
      previousItemId: committed.previousItemId,
      ...span,
    }),
    unsolicited: serverSpan === undefined,
  }
  const after =
    committed.previousItemId === null || committed.previousItemId === undefined
      ? -1
      : findIndex(ledger, committed.previousItemId)
  const turns =
    after >= 0 && after < ledger.turns.length - 1
      ? [...ledger.turns.slice(0, after + 1), turn, ...ledger.turns.slice(after + 1)]
      : [...ledger.turns, turn]
  return { turns, nextTurn: ledger.nextTurn + 1, lastItemId }
}

/**
 * The server refused the oldest client commit as empty (`input_audio_buffer_commit_empty`):
 * that turn had no audio worth transcribing and is dropped without events; the turns it held
 * back are released.
 */
export const dropEmptyCommit = (ledger: TurnLedger, options: LedgerOptions): LedgerStep => {
  const unbound = oldestUnbound(ledger)
  if (unbound === undefined) return { ledger, events: [] }
  return release({ ...ledger, turns: ledger.turns.filter((t) => t !== unbound) }, options)
}

const alternativeOf = (turn: TranscriptTurn, options: LedgerOptions, withConfidence: number | undefined) => {
  const language = turn.language ?? options.language
  const alternative: SpeechAlternative = {
    text: turn.text,
    startMs: msOf(turn.startSample),
    endMs: msOf(turn.endSample),
    ...(language === undefined ? {} : { language }),
    ...(withConfidence === undefined ? {} : { confidence: withConfidence }),
  }
  return alternative
}

const runningConfidence = (turn: TranscriptTurn, options: LedgerOptions): number | undefined =>
  options.includeLogprobs && turn.probabilityCount > 0
    ? turn.probabilitySum / turn.probabilityCount
    : undefined

const sumProbabilities = (logprobs: readonly Pick<LogProb, "logprob">[]): number => {
  let sum = 0
  for (const lp of logprobs) sum += Math.exp(lp.logprob)
  return sum
}

/** What a transcription delta event says. */
export interface DeltaInfo {
  readonly itemId: string
  readonly delta: string | undefined
  readonly logprobs: readonly Pick<LogProb, "logprob">[] | null | undefined
}

/**
 * Applies a transcription delta: appends it (gpt-4o-*) or replaces the text (whisper-1),
 * and emits an `interim_transcript` with the turn's text so far. Deltas for an unknown or
 * already finished item are ignored.
 */
export const applyDelta = (ledger: TurnLedger, delta: DeltaInfo, options: LedgerOptions): LedgerStep => {
  const index = findIndex(ledger, delta.itemId)
  const turn = ledger.turns[index]
  if (turn === undefined || turn.status !== "pending") return { ledger, events: [] }
  const piece = delta.delta ?? ""
  const text = options.cumulativeDeltas ? piece : turn.text + piece
  const logprobs = delta.logprobs ?? []
  const updated: TranscriptTurn = {
    ...turn,
    text,
    // whisper-1 repeats the whole turn, so its logprobs replace rather than accumulate.
    probabilitySum: options.cumulativeDeltas
      ? sumProbabilities(logprobs)
      : turn.probabilitySum + sumProbabilities(logprobs),
    probabilityCount: options.cumulativeDeltas ? logprobs.length : turn.probabilityCount + logprobs.length,
  }
  if (text === turn.text)
    return { ledger: { ...ledger, turns: replaceAt(ledger.turns, index, updated) }, events: [] }
  const interim: SpeechEvent = {
    type: "interim_transcript",
    itemId: delta.itemId,
    alternatives: [alternativeOf(updated, options, runningConfidence(updated, options))],
  }
  return { ledger: { ...ledger, turns: replaceAt(ledger.turns, index, updated) }, events: [interim] }
}

/**
 * The interim a delta would emit, worked out off the machine for a delta routed past it:
 * `shown` is the item's text as last shown, when deltas were routed since the machine last
 * saw one. Returns `undefined` when the delta must go through the machine: the turn is
 * unknown or no longer pending, has no text yet (its first delta), or confidence is involved
 * (logprobs). Otherwise the text now shown, the length of the machine's text (what a
 * coalesced delta adds to), and the interim to emit (none when unchanged).
 * @internal
 */
export const routedInterim = (
  ledger: TurnLedger,
  delta: DeltaInfo,
  shown: string | undefined,
  options: LedgerOptions,
):
  | { readonly text: string; readonly machineLength: number; readonly event: SpeechEvent | undefined }
  | undefined => {
  const turn = ledger.turns[findIndex(ledger, delta.itemId)]
  if (turn === undefined || turn.status !== "pending" || turn.text === "") return undefined
  if ((delta.logprobs?.length ?? 0) > 0 || runningConfidence(turn, options) !== undefined) return undefined
  const before = shown ?? turn.text
  const piece = delta.delta ?? ""
  const text = options.cumulativeDeltas ? piece : before + piece
  if (text === before) return { text, machineLength: turn.text.length, event: undefined }
  const event: SpeechEvent = {
    type: "interim_transcript",
    itemId: delta.itemId,
    alternatives: [alternativeOf({ ...turn, text }, options, undefined)],
  }
  return { text, machineLength: turn.text.length, event }
}

/** What a transcription `completed` event says. */
export interface CompletedInfo {
  readonly itemId: string
  readonly transcript: string
  readonly logprobs: readonly Pick<LogProb, "logprob">[] | null | undefined
  readonly languages: readonly { readonly code: string }[] | undefined
  readonly usage:
    | {
        readonly type: "tokens"
        readonly input_tokens: number
        readonly output_tokens: number
        readonly total_tokens: number
      }
    | { readonly type: "duration"; readonly seconds: number }
    | undefined
}

/** Emits what has become emittable: in turn order, or every finished turn in arrival order. */
const release = (ledger: TurnLedger, options: LedgerOptions): LedgerStep => {
  const events: SpeechEvent[] = []
  let turns = ledger.turns
  if (options.finalOrder === "arrival") {
    let changed = false
    const next = turns.map((t) => {
      if (t.status === "pending" || t.emitted) return t
      events.push(...t.outcome)
      changed = true
      return { ...t, emitted: true }
    })
    if (changed) turns = next
  } else {
    const next = turns.slice()
    for (let i = 0; i < next.length; i++) {
      const t = next[i]
      if (t === undefined) break
      // A commit the session did not cause holds nothing back.
      if (t.status === "pending" && t.unsolicited) continue
      if (t.status === "pending") break
      if (!t.emitted) {
        events.push(...t.outcome)
        next[i] = { ...t, emitted: true }
      }
    }
    if (events.length > 0) turns = next
  }
  // Emitted turns at the head are done with; later ones stay so earlier turns keep their place.
  let head = 0
  while (head < turns.length && turns[head]?.emitted === true) head++
  if (options.finalOrder === "conversation" && turns.some((t) => t.unsolicited && t.emitted)) {
    // An unsolicited turn ends out of order: it is done with wherever it stands.
    turns = turns.filter((t, i) => i < head || !(t.unsolicited && t.emitted))
  }
  return {
    ledger: head === 0 && turns === ledger.turns ? ledger : { ...ledger, turns: turns.slice(head) },
    events,
  }
}

/**
 * Applies `completed`: the turn's final text, language, confidence (only when logprobs were
 * requested) and usage. Emits `final_transcript` then `recognition_usage` for the turn, at
 * once or when the earlier turns are done (see {@link LedgerOptions.finalOrder}).
 *
 * @param atMs clock time of arrival, for the end-of-speech → final latency
 */
export const applyCompleted = (
  ledger: TurnLedger,
  completed: CompletedInfo,
  atMs: number,
  options: LedgerOptions,
): LedgerStep => {
  const index = findIndex(ledger, completed.itemId)
  const turn = ledger.turns[index]
  if (turn === undefined || turn.status !== "pending") return { ledger, events: [] }
  const confidence = options.includeLogprobs
    ? (confidenceOf(completed.logprobs) ?? runningConfidence(turn, options))
    : undefined
  const finished: TranscriptTurn = {
    ...turn,
    status: "final",
    text: completed.transcript,
    language: completed.languages?.[0]?.code ?? turn.language,
  }
  const usage = completed.usage
  const latencyMs = turn.endOfSpeechAtMs === undefined ? undefined : Math.max(0, atMs - turn.endOfSpeechAtMs)
  const outcome: SpeechEvent[] = [
    {
      type: "final_transcript",
      itemId: completed.itemId,
      alternatives: [alternativeOf(finished, options, confidence)],
    },
    {
      type: "recognition_usage",
      itemId: completed.itemId,
      usage: {
        audioDurationMs: msOf(turn.endSample - turn.startSample),
        streamed: true,
        ...(latencyMs === undefined ? {} : { latencyMs }),
        ...(usage?.type === "tokens"
          ? {
              inputTokens: usage.input_tokens,
              outputTokens: usage.output_tokens,
              totalTokens: usage.total_tokens,
            }
          : {}),
        ...(usage?.type === "duration" ? { billedSeconds: usage.seconds } : {}),
      },
    },
  ]
  const turns = replaceAt(ledger.turns, index, { ...finished, outcome })
  return release({ ...ledger, turns }, options)
}

/** What a transcription `failed` event says. */
export interface FailedInfo {
  readonly itemId: string
  readonly code: string | null | undefined
  readonly message: string | null | undefined
}

/**
 * Applies `failed`: not fatal, it ends that one turn with its last interim text and the
 * error (`transcription_failed`), in the same order as finals.
 */
export const applyFailed = (ledger: TurnLedger, failed: FailedInfo, options: LedgerOptions): LedgerStep => {
  const index = findIndex(ledger, failed.itemId)
  const turn = ledger.turns[index]
  if (turn === undefined || turn.status !== "pending") return { ledger, events: [] }
  const error: SpeechErrorInfo = {
    code: failed.code ?? "transcription_failed",
    message: failed.message ?? "The service could not transcribe this turn",
    retryable: false,
  }
  const outcome: SpeechEvent[] = [
    { type: "transcription_failed", itemId: failed.itemId, partial: turn.text, error },
  ]
  const turns = replaceAt(ledger.turns, index, { ...turn, status: "failed", outcome })
  return release({ ...ledger, turns }, options)
}

/**
 * Ends every pending turn with `error` (a drain that timed out, a session that failed):
 * each gets `transcription_failed` with its last interim text. Turns never bound to an
 * item are named `turn-<n>`.
 */
export const failPending = (
  ledger: TurnLedger,
  error: SpeechErrorInfo,
  options: LedgerOptions,
): LedgerStep => {
  const turns = ledger.turns.map((t): TranscriptTurn => {
    if (t.status !== "pending") return t
    const itemId = t.itemId ?? `turn-${t.turn}`
    return {
      ...t,
      status: "failed",
      outcome: [{ type: "transcription_failed", itemId, partial: t.text, error }],
    }
  })
  return release({ ...ledger, turns }, { ...options, finalOrder: "conversation" })
}

/**
 * After a reconnect the server knows none of the old items: pending turns forget their
 * item ids (they will be committed again, in order, and rebound) and their partial text
 * (the new transcription starts over).
 */
export const unbindPending = (ledger: TurnLedger): TurnLedger => ({
  ...ledger,
  // The new server's items follow none of the old ones.
  lastItemId: undefined,
  turns: ledger.turns.map((t) =>
    t.status === "pending"
      ? {
          ...t,
          itemId: undefined,
          previousItemId: undefined,
          commitSent: false,
          text: "",
          probabilitySum: 0,
          probabilityCount: 0,
        }
      : t,
  ),
})

/** True when some turn the session caused still waits for its transcript. */
export const hasPending = (ledger: TurnLedger): boolean =>
  ledger.turns.some((t) => t.status === "pending" && !t.unsolicited)

/** True when some turn of the ledger is bound to `itemId`. */
export const hasItem = (ledger: TurnLedger, itemId: string): boolean => findIndex(ledger, itemId) >= 0

/** True when `itemId` is a turn the session caused that still waits for its transcript. */
export const isPendingItem = (ledger: TurnLedger, itemId: string): boolean => {
  const turn = ledger.turns[findIndex(ledger, itemId)]
  return turn !== undefined && turn.status === "pending" && !turn.unsolicited
}

/** The first sample still needed by a pending turn, or `undefined` when none is pending. */
export const oldestPendingSample = (ledger: TurnLedger): number | undefined => {
  let oldest: number | undefined
  for (const t of ledger.turns) {
    if (t.status === "pending" && !t.unsolicited && (oldest === undefined || t.startSample < oldest))
      oldest = t.startSample
  }
  return oldest
}

/**
 * Ends one pending turn, the one bound to `itemId`, with `error` (an undecodable event of
 * that turn): `transcription_failed` in its place in the order. Other turns are untouched.
 */
export const failItem = (
  ledger: TurnLedger,
  itemId: string,
  error: SpeechErrorInfo,
  options: LedgerOptions,
): LedgerStep => {
  const index = findIndex(ledger, itemId)
  const turn = ledger.turns[index]
  if (turn === undefined || turn.status !== "pending") return { ledger, events: [] }
  const outcome: SpeechEvent[] = [{ type: "transcription_failed", itemId, partial: turn.text, error }]
  return release(
    { ...ledger, turns: replaceAt(ledger.turns, index, { ...turn, status: "failed", outcome }) },
    options,
  )
}

/**
 * Before a new connection: unsolicited turns still pending are dropped (the new server knows
 * nothing of them and the session owes nothing for them); one whose interim text was shown
 * ends with `error`, so every turn the user saw ends once. Turns sent `maxSends` times without
 * a transcript end with `transcription_failed` (`turn_attempts_exhausted`) instead of being
 * replayed again.
 */
export const retireBeforeReplay = (
  ledger: TurnLedger,
  maxSends: number,
  lost: SpeechErrorInfo,
  options: LedgerOptions,
): LedgerStep => {
  let changed = false
  const turns: TranscriptTurn[] = []
  for (const t of ledger.turns) {
    if (t.status !== "pending") {
      turns.push(t)
      continue
    }
    const itemId = t.itemId ?? `turn-${t.turn}`
    if (t.unsolicited) {
      changed = true
      if (t.text.length > 0) {
        turns.push({
          ...t,
          status: "failed",
          outcome: [{ type: "transcription_failed", itemId, partial: t.text, error: lost }],
        })
      }
      continue
    }
    if (t.sends >= maxSends) {
      changed = true
      const error: SpeechErrorInfo = {
        code: "turn_attempts_exhausted",
        message: `No transcript arrived for this turn although its audio was sent ${t.sends} times (on ${t.sends} connections)`,
        retryable: false,
      }
      turns.push({
        ...t,
        status: "failed",
        outcome: [{ type: "transcription_failed", itemId, partial: t.text, error }],
      })
      continue
    }
    turns.push(t)
  }
  if (!changed) return { ledger, events: [] }
  return release({ ...ledger, turns }, options)
}

/** The ledger without unsolicited turns that are pending and showed nothing (nothing to end for the user). */
export const withoutSilentUnsolicited = (ledger: TurnLedger): TurnLedger =>
  ledger.turns.some((t) => t.unsolicited && t.status === "pending" && t.text.length === 0)
    ? {
        ...ledger,
        turns: ledger.turns.filter((t) => !(t.unsolicited && t.status === "pending" && t.text.length === 0)),
      }
    : ledger

/** Counts one more send of each turn in `turnNumbers` (their audio is being replayed). */
export const countSends = (ledger: TurnLedger, turnNumbers: readonly number[]): TurnLedger => {
  if (turnNumbers.length === 0) return ledger
  const sent = new Set(turnNumbers)
  return { ...ledger, turns: ledger.turns.map((t) => (sent.has(t.turn) ? { ...t, sends: t.sends + 1 } : t)) }
}
