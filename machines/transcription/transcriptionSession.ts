/**
 * The streaming transcription session: the Realtime WebSocket in transcription mode, as an
 * XState v5 machine built on the shared session lifecycle.
 *
 * ```
 * online ─ connecting ─ awaitingSessionCreated ─ configuring ─ streaming ─ draining ─▶ closed
 *                                                              ├ turn:     listening ⇄ speaking ⇄ awaitingTranscript
 *                                                              ├ liveness: quiet ⇄ owed ──inactivityTimeout──▶ reconnecting
 *                                                              └ turnDetection: selecting ─▶ serverVad | semanticVad | localVad | manual
 *                                                                               (UPDATE_SETTINGS ─▶ selecting)
 * draining: owed ──inactivityTimeout──▶ reconnecting (a stall after end of input is replayed too)
 * reconnecting ──reconnectDelay──▶ online (replays every turn without a transcript)
 * failed (fatal error, or out of attempts)
 * ```
 *
 * Pure: two actors named in `setup({ actors })` do the I/O and are supplied by `src/runtime`
 * with `machine.provide(...)`: `socket` (one WebSocket connection; receives
 * {@link TranscriptionSocketCommand}s, sends back `SOCKET.*` and `SERVER.*` events) and
 * `audioInput` (the session's audio pipeline: resampler, replay buffer, energy VAD; receives
 * {@link AudioInputCommand}s, sends back `AUDIO.*` events). Timeouts are named delays.
 * What the session tells its user is emitted as {@link SpeechEvent}s (`actor.on("*", ...)`).
 * @module
 */
import { and, assertEvent, assign, enqueueActions, fromCallback, not, sendTo, setup } from "xstate"
import { type ClientEvent, ClientEvents, type LogProb } from "../../src/protocol/index.ts"
import {
  initialLifecycleState,
  type LifecycleContext,
  type LifecycleEvent,
  type LifecycleFailure,
  type LifecycleStateOptions,
  lifecycleActions,
  lifecycleDelays,
  lifecycleGuards,
  type SessionSocketInput,
  sessionLifecycle,
} from "../lifecycle/sessionLifecycle.ts"
import { planReplay, type ReplayPlan, replayedCommitSamples, samplesToMs } from "./replayPlan.ts"
import type { SpeechErrorInfo, SpeechEvent } from "./speechEvents.ts"
import {
  DEFAULT_TRANSCRIPTION_SETTINGS,
  localVadOf,
  mergeSettings,
  prefixPaddingMsOf,
  type RetentionPolicy,
  sessionUpdateOf,
  type TranscriptionSchema,
  type TranscriptionSettings,
  type TurnMode,
  turnModeOf,
  type VadParameters,
} from "./transcriptionSettings.ts"
import {
  applyCompleted,
  applyDelta,
  applyFailed,
  bindCommitted,
  type CompletedInfo,
  countSends,
  deltasAreCumulative,
  dropEmptyCommit,
  emptyLedger,
  failItem,
  failPending,
  hasItem,
  hasPending,
  isPendingItem,
  type LedgerOptions,
  type LedgerStep,
  markCommitsSent,
  oldestPendingSample,
  oldestUnbound,
  openClientTurn,
  REALTIME_SAMPLES_PER_MS,
  retireBeforeReplay,
  type TurnLedger,
  unbindPending,
  withoutSilentUnsolicited,
} from "./transcripts.ts"

// ---------------------------------------------------------------------------------------
// Events

/** Events the `socket` actor sends back, beyond the lifecycle's own (`SOCKET.OPEN`, `SOCKET.FAILED`, ...). */
export type TranscriptionServerEvent =
  /** `input_audio_buffer.speech_started`: `audioStartMs` on the connection's audio timeline. */
  | {
      readonly type: "SERVER.SPEECH_STARTED"
      readonly itemId: string
      readonly audioStartMs: number
      readonly atMs: number
    }
  /** `input_audio_buffer.speech_stopped`. */
  | {
      readonly type: "SERVER.SPEECH_STOPPED"
      readonly itemId: string
      readonly audioEndMs: number
      readonly atMs: number
    }
  /** `input_audio_buffer.committed`. */
  | {
      readonly type: "SERVER.COMMITTED"
      readonly itemId: string
      readonly previousItemId: string | null | undefined
      readonly atMs: number
    }
  /** `conversation.item.input_audio_transcription.delta`. */
  | {
      readonly type: "SERVER.TRANSCRIPT_DELTA"
      readonly itemId: string
      readonly delta: string | undefined
      readonly logprobs: readonly Pick<LogProb, "logprob">[] | null | undefined
      readonly atMs: number
      /**
       * The item's deltas routed past the machine and already shown, coalesced into one: the
       * machine takes in the text and emits nothing.
       */
      readonly delivered?: boolean
    }
  /** `conversation.item.input_audio_transcription.completed`. */
  | ({ readonly type: "SERVER.TRANSCRIPT_COMPLETED"; readonly atMs: number } & CompletedInfo)
  /** `conversation.item.input_audio_transcription.failed`. */
  | {
      readonly type: "SERVER.TRANSCRIPT_FAILED"
      readonly itemId: string
      readonly code: string | null | undefined
      readonly message: string | null | undefined
      readonly atMs: number
    }
  /** `input_audio_buffer.cleared`. */
  | { readonly type: "SERVER.BUFFER_CLEARED"; readonly atMs: number }
  /** Any other server event (still a sign of life). */
  | { readonly type: "SERVER.OTHER"; readonly eventType: string; readonly atMs: number }
  /** The socket actor has sent the replay and resumed live audio; `replayedSamples` were sent again. */
  | {
      readonly type: "SOCKET.RESUMED"
      /** Samples sent again: the replayed turns plus the live audio caught up so far. */
      readonly replayedSamples: number
      /** Samples of replayed turns, which come first on the server's audio timeline. */
      readonly committedSamples: number
      /** Where live audio actually resumed (later than asked when the buffer no longer held it); `undefined` when not live. */
      readonly liveFromSample: number | undefined
      readonly atMs: number
    }
  /** Unsent audio grew past the back-pressure bound. */
  | { readonly type: "SOCKET.BACKLOG"; readonly backlogMs: number; readonly atMs: number }
  /** Unsent audio is back under the bound. */
  | { readonly type: "SOCKET.BACKLOG_CLEARED"; readonly atMs: number }
  /**
   * A server frame could not be decoded (skipped). `eventType`, `itemId` and `previousItemId`
   * are what could still be read of it, so the one turn it was about fails, not its neighbours.
   */
  | {
      readonly type: "SOCKET.PROTOCOL_ERROR"
      readonly message: string
      readonly atMs: number
      readonly eventType?: string
      readonly itemId?: string
      readonly previousItemId?: string | null
    }

/** Events the `audioInput` actor sends back. Samples are offsets on the session's 24 kHz timeline. */
export type TranscriptionAudioEvent =
  /** The energy VAD heard speech begin at `speechStartSample`; `atSample` is where it decided so (at most the audio head). */
  | {
      readonly type: "AUDIO.SPEECH_STARTED"
      readonly speechStartSample: number
      readonly atSample: number
      readonly atMs: number
    }
  /** The energy VAD heard speech end at `speechEndSample`; `atSample` is where it decided so (a local turn ends there). */
  | {
      readonly type: "AUDIO.SPEECH_STOPPED"
      readonly speechEndSample: number
      readonly atSample: number
      readonly atMs: number
    }
  /**
   * The replay buffer overflowed: audio before `retainedFromSample` is gone. `unsentSamples`
   * of the dropped samples had never been sent (lost to the server too); the rest had been
   * sent and is lost only for a replay (absent: none unsent).
   */
  | {
      readonly type: "AUDIO.OVERFLOW"
      readonly droppedSamples: number
      readonly retainedFromSample: number
      readonly unsentSamples?: number
      readonly atMs: number
    }

/** Events from the session's user (through the session API). */
export type TranscriptionControlEvent =
  /** End the current segment at `atSample` (the audio head): a commit when the client owns turns. */
  | { readonly type: "FLUSH"; readonly atSample: number; readonly atMs: number }
  /** No more audio after `atSample`: drain, then close. */
  | { readonly type: "END_INPUT"; readonly atSample: number; readonly atMs: number }
  /** Change settings at run time. */
  | { readonly type: "UPDATE_SETTINGS"; readonly settings: Partial<TranscriptionSettings> }

/** Raised inside the machine when any server event arrives (restarts the inactivity wait). */
export type TranscriptionInternalEvent = { readonly type: "LIVENESS.SERVER_EVENT" }

/** Every event the transcription session machine accepts. */
export type TranscriptionSessionEvent =
  | LifecycleEvent
  | TranscriptionInternalEvent
  | TranscriptionServerEvent
  | TranscriptionAudioEvent
  | TranscriptionControlEvent

/** Commands the machine sends to the `socket` actor. Samples are offsets on the session timeline. */
export type TranscriptionSocketCommand =
  /** Send a client event (session.update, ...). */
  | { readonly type: "send"; readonly event: ClientEvent }
  /** Send each span, each followed by `input_audio_buffer.commit`, in order. */
  | {
      readonly type: "audio.replay"
      readonly segments: readonly { readonly fromSample: number; readonly toSample: number }[]
    }
  /** Stream audio live from `fromSample` (clamped to what is retained), then keep up with new audio. */
  | { readonly type: "audio.live"; readonly fromSample: number }
  /** Send everything up to `atSample`, commit, then pause (`pause`) or keep streaming live. */
  | { readonly type: "audio.commit"; readonly atSample: number; readonly pause: boolean }
  /** Stop streaming; the next live audio starts where told. */
  | { readonly type: "audio.pause" }
  /** Report (as `SOCKET.RESUMED`) the samples replayed since the connection opened. */
  | { readonly type: "audio.reportResumed" }

/** Commands the machine sends to the `audioInput` actor. */
export type AudioInputCommand =
  /** What audio the replay buffer must keep (see {@link RetentionPolicy}). */
  | ({ readonly type: "audio.retain" } & RetentionPolicy)
  /** The energy VAD's parameters changed (`null`: no VAD needed). */
  | { readonly type: "audio.vad"; readonly vad: VadParameters | null }

/** The input of the `audioInput` actor. */
export interface AudioInputActorInput {
  /** The energy VAD to run (`null`: none). */
  readonly vad: VadParameters | null
}

// ---------------------------------------------------------------------------------------
// Context

/** What the session measured, also emitted per turn as `recognition_usage`. */
export interface TranscriptionMetrics {
  /** Turns that got a final transcript. */
  readonly finalTurns: number
  /** Turns that ended in `transcription_failed`. */
  readonly failedTurns: number
  /** Audio in final turns, in milliseconds. */
  readonly audioMs: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly totalTokens: number
  /** Billed seconds reported by duration-billed models. */
  readonly billedSeconds: number
  /** End of speech (or commit) → final transcript of the most recent turns, newest last, in ms (at most 64). */
  readonly latenciesMs: readonly number[]
  /** Connections that replaced a lost one. */
  readonly reconnects: number
  /** Audio sent again after reconnects, in milliseconds. */
  readonly replayedMs: number
  /** Audio dropped by the bounded replay buffer, in milliseconds. */
  readonly droppedMs: number
}

/** The server's VAD span of the current (or last) speech, on the session timeline. */
interface ServerSpeech {
  readonly itemId: string
  readonly startSample: number
  readonly endSample: number | undefined
  readonly stoppedAtMs: number | undefined
}

/** The context of the transcription session machine. */
export interface TranscriptionSessionContext extends LifecycleContext {
  readonly settings: TranscriptionSettings
  readonly schema: TranscriptionSchema
  readonly finalOrder: LedgerOptions["finalOrder"]
  readonly ledger: TurnLedger
  /** First sample not part of any turn (where the next commit's audio begins). */
  readonly tailStartSample: number
  /** Oldest sample the replay buffer still holds, as far as the machine knows. */
  readonly retainedFromSample: number
  /** True once END_INPUT arrived. */
  readonly inputEnded: boolean
  /** The audio head when input ended (the last sample is `endOfInputSample − 1`). */
  readonly endOfInputSample: number | undefined
  /** Clock time of the end of input. */
  readonly endOfInputAtMs: number | undefined
  /** Draining (server VAD): the `input_audio_buffer.clear` sent after the final commit is not answered yet. */
  readonly drainBarrier: boolean
  /**
   * Where the session asked the server to commit (server VAD) and no `committed` has answered
   * yet: a commit the server reports without VAD events is that turn, ending here. Always
   * `undefined` when the server does not own turns.
   */
  readonly serverCommitSample: number | undefined
  /** Connections a turn is sent on without a transcript before it fails. */
  readonly maxTurnAttempts: number
  /**
   * Results (`completed`, `failed`) that came before the `committed` of their item on this
   * connection, applied when it binds (at most {@link MAX_EARLY_RESULTS}, oldest dropped).
   */
  readonly earlyResults: readonly EarlyResult[]
  /** True while the connection is configured and the socket actor may be sent audio commands. */
  readonly wireReady: boolean
  /** `session.update` needed again once the in-flight one is acknowledged. */
  readonly settingsDirty: boolean
  /** Server sample → session sample on this connection: `session = server + offset`. */
  readonly serverOffsetSamples: number
  readonly serverSpeech: ServerSpeech | undefined
  /** Local VAD speech in progress: its start sample and the head at detection. */
  readonly localSpeech: { readonly startSample: number } | undefined
  /** The server sent a VAD event since local speech began (server modes). */
  readonly serverHeardLocalSpeech: boolean
  /** Local VAD heard a whole utterance the server has not reacted to yet (server modes; liveness). */
  readonly vadEventOwed: boolean
  /**
   * Where the oldest speech the server owes a reaction for begins (server modes): an
   * utterance the local VAD heard and the server did not react to, or speech a lost
   * connection's server reported and never committed. Its audio is kept (a replay needs it)
   * until a server reacts: a VAD event or a commit.
   */
  readonly owedSpeechStartSample: number | undefined
  /** `start_of_speech` emitted without its `end_of_speech`. */
  readonly speechAnnounced: boolean
  /** The replay planned for the connection being configured. */
  readonly replay: ReplayPlan | undefined
  /** A reconnect to announce once the socket reports the replay (`SOCKET.RESUMED`). */
  readonly resumeAttempt: number | undefined
  /** The last retention told to the audio pipeline, to send only changes. */
  readonly retention: RetentionPolicy | undefined
  /** True while a back-pressure report is outstanding. */
  readonly backlogReported: boolean
  readonly metrics: TranscriptionMetrics
  /** The error that ended the session, if any. */
  readonly fatalError: SpeechErrorInfo | undefined
}

/** The input of the transcription session machine. */
export interface TranscriptionSessionInput {
  readonly settings?: Partial<TranscriptionSettings>
  /** Default `ga`. */
  readonly schema?: TranscriptionSchema
  /** Default `conversation` (finals in turn order). */
  readonly finalOrder?: LedgerOptions["finalOrder"]
  /** Reconnect policy, timeouts and jitter seed. */
  readonly lifecycle?: LifecycleStateOptions
  /**
   * Connections a turn's audio is sent on before the turn gives up waiting for its transcript
   * (`transcription_failed`, `turn_attempts_exhausted`); default {@link DEFAULT_MAX_TURN_ATTEMPTS}.
   */
  readonly maxTurnAttempts?: number
}

/** A transcription result that arrived before its item was committed. */
type EarlyResult = Extract<
  TranscriptionServerEvent,
  { readonly type: "SERVER.TRANSCRIPT_COMPLETED" | "SERVER.TRANSCRIPT_FAILED" }
>

/** Results kept for items not committed yet, per connection. */
const MAX_EARLY_RESULTS = 16

/** Default number of connections a turn is sent on without a transcript before it fails: 4. */
export const DEFAULT_MAX_TURN_ATTEMPTS = 4

const MAX_LATENCIES = 64

const emptyMetrics: TranscriptionMetrics = {
  finalTurns: 0,
  failedTurns: 0,
  audioMs: 0,
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  billedSeconds: 0,
  latenciesMs: [],
  reconnects: 0,
  replayedMs: 0,
  droppedMs: 0,
}

// ---------------------------------------------------------------------------------------
// Pure helpers

const modeOf = (context: TranscriptionSessionContext): TurnMode => turnModeOf(context.settings.turnDetection)

/** The mode `update` would leave the session in. */
const modeAfter = (context: TranscriptionSessionContext, update: Partial<TranscriptionSettings>): TurnMode =>
  turnModeOf(mergeSettings(context.settings, update).turnDetection)

/** The state of the streaming session's turn detection region for `settings`. */
export type TurnDetectionState = "serverVad" | "semanticVad" | "localVad" | "manual"

/** Which turn detection state `settings` select. */
export const turnDetectionStateOf = (settings: TranscriptionSettings): TurnDetectionState => {
  const td = settings.turnDetection
  if (td === null) return "manual"
  if (td === "local" || td.type === "local") return "localVad"
  return td.type === "semantic_vad" ? "semanticVad" : "serverVad"
}

const positiveCount = (value: number, name: string): number => {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be an integer >= 1, got ${value}`)
  return value
}

/**
 * A server offset (`audio_start_ms`, `audio_end_ms`) on the session timeline. The socket
 * actor clamps offsets to the audio sent on the connection; one that is still not a finite
 * number (from another socket implementation) is taken as `fallbackSample`, so `Infinity`
 * never reaches transcript times or where live audio resumes.
 */
const serverSampleOf = (ms: number, offsetSamples: number, fallbackSample: number): number => {
  const sample = ms * REALTIME_SAMPLES_PER_MS + offsetSamples
  return Number.isFinite(sample) ? Math.max(0, sample) : fallbackSample
}

/**
 * True when a server event answers something the session is owed (a transcript or failure of
 * a pending turn, a VAD event, the acknowledgement of a commit it caused, the drain barrier):
 * only those restart the inactivity wait, so a server that sends anything else cannot keep
 * a stalled connection alive.
 */
const answersOwed = (context: TranscriptionSessionContext, event: TranscriptionSessionEvent): boolean => {
  switch (event.type) {
    case "SERVER.SPEECH_STARTED":
    case "SERVER.SPEECH_STOPPED":
    case "SERVER.SESSION_UPDATED":
      return true
    case "SERVER.COMMITTED":
      return (
        context.serverSpeech?.itemId === event.itemId ||
        context.serverCommitSample !== undefined ||
        oldestUnbound(context.ledger) !== undefined
      )
    case "SERVER.TRANSCRIPT_DELTA":
    case "SERVER.TRANSCRIPT_COMPLETED":
    case "SERVER.TRANSCRIPT_FAILED":
      return isPendingItem(context.ledger, event.itemId)
    case "SERVER.BUFFER_CLEARED":
      return context.drainBarrier
    default:
      return false
  }
}

/** How the machine's ledger reads its deltas and orders its finals. @internal */
export const ledgerOptions = (context: TranscriptionSessionContext): LedgerOptions => ({
  cumulativeDeltas: deltasAreCumulative(context.settings.model),
  includeLogprobs: context.settings.includeLogprobs,
  language: context.settings.language,
  finalOrder: context.finalOrder,
})

const paddingSamples = (context: TranscriptionSessionContext): number =>
  prefixPaddingMsOf(context.settings.turnDetection) * REALTIME_SAMPLES_PER_MS

const foldMetrics = (metrics: TranscriptionMetrics, events: readonly SpeechEvent[]): TranscriptionMetrics => {
  let next = metrics
  for (const event of events) {
    if (event.type === "recognition_usage") {
      const u = event.usage
      next = {
        ...next,
        finalTurns: next.finalTurns + 1,
        audioMs: next.audioMs + u.audioDurationMs,
        inputTokens: next.inputTokens + (u.inputTokens ?? 0),
        outputTokens: next.outputTokens + (u.outputTokens ?? 0),
        totalTokens: next.totalTokens + (u.totalTokens ?? 0),
        billedSeconds: next.billedSeconds + (u.billedSeconds ?? 0),
        latenciesMs:
          u.latencyMs === undefined
            ? next.latenciesMs
            : [...next.latenciesMs, u.latencyMs].slice(-MAX_LATENCIES),
      }
    } else if (event.type === "transcription_failed") {
      next = { ...next, failedTurns: next.failedTurns + 1 }
    }
  }
  return next
}

/** The energy VAD a mode needs: none for manual turns, the configured one for local turns, defaults otherwise. */
export const vadParametersOf = (settings: TranscriptionSettings): VadParameters | null => {
  const mode = turnModeOf(settings.turnDetection)
  if (mode === "manual") return null
  if (mode === "local") return localVadOf(settings.turnDetection)
  // Server modes run the energy VAD only to notice audible speech the server never reacts to.
  return { prefixPaddingMs: prefixPaddingMsOf(settings.turnDetection) }
}

/** How long the energy VAD may take to report a speech start it will date back, in ms. */
const LOCAL_VAD_LOOKBACK_MS = 1_000

/** The retention the audio pipeline should apply now. */
const retentionOf = (context: TranscriptionSessionContext): RetentionPolicy => {
  const mode = modeOf(context)
  let fromSample = context.tailStartSample
  // Speech the server reported and has not committed yet (ongoing or stopped): a replay needs all of it.
  if (context.serverSpeech !== undefined) {
    fromSample = Math.min(fromSample, context.serverSpeech.startSample)
  }
  if (context.owedSpeechStartSample !== undefined) {
    fromSample = Math.min(fromSample, context.owedSpeechStartSample)
  }
  const nobodySpeaking = context.localSpeech === undefined && !context.speechAnnounced
  // Audio is idle only on a live connection whose server owes nothing for it: not while
  // offline (the next connection is sent everything from the tail), not while speech it
  // heard or should have heard awaits its answer, not while the final commit awaits its barrier.
  const idle =
    context.wireReady &&
    !hasPending(context.ledger) &&
    context.serverSpeech === undefined &&
    context.owedSpeechStartSample === undefined &&
    !context.drainBarrier
  let keepSamples: number | undefined
  if (mode === "server" && nobodySpeaking && idle) {
    // Idle server-VAD audio is needed only as far back as a speech start could still be
    // reported: the prefix padding plus the longest the server may take to say so.
    keepSamples = paddingSamples(context) + context.lifecycle.timeouts.inactivityMs * REALTIME_SAMPLES_PER_MS
  } else if (mode === "local" && context.localSpeech === undefined) {
    // Local turns send only speech: silence between turns is never sent, so only the
    // stretch the VAD may still date a speech start back into is kept.
    keepSamples = paddingSamples(context) + LOCAL_VAD_LOOKBACK_MS * REALTIME_SAMPLES_PER_MS
  }
  return { fromSample, keepSamples, pinnedSample: oldestPendingSample(context.ledger) }
}

const isSpeechActive = (context: TranscriptionSessionContext): boolean => context.speechAnnounced

const isOwed = (context: TranscriptionSessionContext): boolean =>
  hasPending(context.ledger) || context.vadEventOwed

const errorInfoOf = (failure: LifecycleFailure): SpeechErrorInfo => ({
  code: failure.code,
  message: failure.message,
  retryable: failure.retryable,
})

/** Opens the client turn `[tailStartSample, atSample)` for a commit the session sends. */
const openTurn = (
  context: TranscriptionSessionContext,
  atSample: number,
  atMs: number | undefined,
): TurnLedger =>
  openClientTurn(
    context.ledger,
    { startSample: context.tailStartSample, endSample: atSample, endOfSpeechAtMs: atMs },
    // Sent now when configured; otherwise the connection's replay sends it.
    context.wireReady,
  )

type Step = {
  readonly context: Partial<TranscriptionSessionContext>
  readonly events: readonly SpeechEvent[]
}

/** Applies a ledger step to the context: new ledger, folded metrics, events to emit. */
const withLedger = (context: TranscriptionSessionContext, step: LedgerStep): Step => ({
  context: { ledger: step.ledger, metrics: foldMetrics(context.metrics, step.events) },
  events: step.events,
})

// ---------------------------------------------------------------------------------------
// Placeholder actors: the real ones come from src/runtime through machine.provide().

/**
 * The default `socket` actor: there is no transport in a machine file, so it reports a
 * non-retryable failure at once. `src/runtime` provides the real one.
 */
const socketNotProvided = fromCallback<TranscriptionSocketCommand, SessionSocketInput>(({ sendBack }) => {
  sendBack({
    type: "SOCKET.FAILED",
    failure: {
      code: "socket_not_provided",
      message:
        "transcriptionSessionMachine needs a `socket` actor: provide one with machine.provide({ actors })",
      retryable: false,
    },
    atMs: 0,
  } satisfies TranscriptionSessionEvent)
})

/**
 * The default `audioInput` actor: without an audio pipeline there is no local VAD and no
 * buffer to trim, so it does nothing. `src/runtime` provides the real one.
 */
const audioInputNotProvided = fromCallback<AudioInputCommand, AudioInputActorInput>(() => undefined)

// ---------------------------------------------------------------------------------------
// Machine

const lifecycle = sessionLifecycle("transcriptionSession")

const STALLED: LifecycleFailure = {
  code: "stalled",
  message: "The server sent nothing while it owed the session an event (inactivity timeout)",
  retryable: true,
}

const AUDIO_INPUT_STOPPED: LifecycleFailure = {
  code: "audio_input_stopped",
  message: "The audio input actor ended while the session was running",
  retryable: false,
}

const AUDIO_INPUT_FAILED: LifecycleFailure = {
  code: "audio_input_error",
  message: "The audio input actor stopped with an error",
  retryable: false,
}

/** What a server event does, wherever it is handled (the turn region while streaming, `online` otherwise). */
const ON_SPEECH_STARTED = ["noteServerEvent", "onServerSpeechStarted", "updateRetention"] as const
const ON_SPEECH_STOPPED = ["noteServerEvent", "onServerSpeechStopped", "updateRetention"] as const
// noteServerEvent first: whether an event answers what is owed is judged before it is applied.
const ON_COMMITTED = ["noteServerEvent", "onServerCommitted", "updateRetention"] as const
const ON_COMPLETED = ["noteServerEvent", "onTranscriptCompleted", "updateRetention"] as const
const ON_FAILED = ["noteServerEvent", "onTranscriptFailed", "updateRetention"] as const

const storeSettings = "storeSettings" as const

/** A settings update from a mode that streams all audio: into local VAD, streaming pauses until speech. */
const enterTurnDetection = [
  {
    guard: "settingsEnterLocalVad" as const,
    target: "selecting" as const,
    actions: [storeSettings, "sendSettings" as const, "pauseLiveAudio" as const],
  },
  { target: "selecting" as const, actions: [storeSettings, "sendSettings" as const] },
]

/** Server VAD and semantic VAD: the server owns turns. */
const serverTurnsOn = {
  FLUSH: {
    guard: and(["flushAdvances", "speechInProgress"]),
    actions: ["requestServerCommit" as const, "updateRetention" as const],
  },
  "AUDIO.SPEECH_STARTED": { actions: ["noteLocalSpeech" as const, "updateRetention" as const] },
  "AUDIO.SPEECH_STOPPED": [
    {
      guard: not("serverHeardLocalSpeech"),
      actions: ["markSpeechOwed" as const, "updateRetention" as const],
    },
    { actions: ["forgetLocalSpeech" as const, "updateRetention" as const] },
  ],
  UPDATE_SETTINGS: enterTurnDetection,
}

/**
 * The streaming transcription session machine. Provide `socket` and `audioInput` actors
 * (see `src/runtime`) to run it; emitted events are {@link SpeechEvent}s.
 */
export const transcriptionSessionMachine = setup({
  types: {
    context: {} as TranscriptionSessionContext,
    events: {} as TranscriptionSessionEvent,
    input: {} as TranscriptionSessionInput,
    emitted: {} as SpeechEvent,
  },
  actors: {
    socket: socketNotProvided,
    audioInput: audioInputNotProvided,
  },
  delays: {
    ...lifecycleDelays<TranscriptionSessionContext>(),
    // Per connection `drainMs`, and never past `drainTotalMs` after the end of input, however
    // many connections the drain takes (a server that stalls every connection cannot keep it going).
    drainTimeout: ({
      context,
      event,
    }: {
      context: TranscriptionSessionContext
      event: TranscriptionSessionEvent
    }) => {
      const { drainMs, drainTotalMs } = context.lifecycle.timeouts
      const nowMs = "atMs" in event && typeof event.atMs === "number" ? event.atMs : undefined
      if (nowMs === undefined || context.endOfInputAtMs === undefined) return drainMs
      return Math.max(0, Math.min(drainMs, context.endOfInputAtMs + drainTotalMs - nowMs))
    },
  },
  guards: {
    backlogReported: ({ context }) => context.backlogReported,
    ...lifecycleGuards<TranscriptionSessionContext, TranscriptionSessionEvent>(),
    inputEnded: ({ context }) => context.inputEnded,
    isSpeaking: ({ context }) => isSpeechActive(context),
    hasPendingTurns: ({ context }) => hasPending(context.ledger),
    isServerEventOwed: ({ context }) => isOwed(context),
    nothingOwed: ({ context }) => !isOwed(context),
    drained: ({ context }) => !hasPending(context.ledger) && !context.drainBarrier,
    isServerVad: ({ context }) => turnDetectionStateOf(context.settings) === "serverVad",
    isSemanticVad: ({ context }) => turnDetectionStateOf(context.settings) === "semanticVad",
    isServerTurns: ({ context }) => modeOf(context) === "server",
    isLocalTurns: ({ context }) => modeOf(context) === "local",
    isManualTurns: ({ context }) => modeOf(context) === "manual",
    wireReady: ({ context }) => context.wireReady,
    speechInProgress: ({ context }) => isSpeechActive(context) || context.localSpeech !== undefined,
    localSpeechInProgress: ({ context }) => context.localSpeech !== undefined,
    serverHeardLocalSpeech: ({ context }) => context.serverHeardLocalSpeech,
    flushAdvances: ({ context, event }) => {
      assertEvent(event, "FLUSH")
      return event.atSample > context.tailStartSample
    },
    settingsEnterLocalVad: ({ context, event }) => {
      assertEvent(event, "UPDATE_SETTINGS")
      return context.localSpeech === undefined && modeAfter(context, event.settings) === "local"
    },
    settingsLeaveLocalVad: ({ context, event }) => {
      assertEvent(event, "UPDATE_SETTINGS")
      return context.localSpeech === undefined && modeAfter(context, event.settings) !== "local"
    },
  },
  actions: {
    ...lifecycleActions<TranscriptionSessionContext, TranscriptionSessionEvent>(),

    onConnecting: assign({
      earlyResults: [],
      wireReady: false,
      serverSpeech: undefined,
      drainBarrier: false,
      serverCommitSample: undefined,
    }),

    sendSessionUpdate: enqueueActions(({ context, enqueue }) => {
      // Commits the session did not cause are dropped, turns sent too often without a
      // transcript end; the rest is committed again (a new connection knows none of the old items).
      const retired = retireBeforeReplay(
        context.ledger,
        context.maxTurnAttempts,
        {
          code: "connection_lost",
          message: "The connection was lost before this unsolicited turn's transcript arrived",
          retryable: false,
        },
        ledgerOptions(context),
      )
      const metrics = foldMetrics(context.metrics, retired.events)
      for (const event of retired.events) enqueue.emit(event)
      const ledger = unbindPending(retired.ledger)
      const plan = planReplay(ledger, context.tailStartSample, context.retainedFromSample)
      let next: Partial<TranscriptionSessionContext> = { ledger, replay: plan, settingsDirty: false, metrics }
      if (plan.lostTurns.length > 0) {
        const lost = new Set(plan.lostTurns)
        const kept = { ...ledger, turns: ledger.turns.filter((t) => !lost.has(t.turn)) }
        const lostLedger = { ...ledger, turns: ledger.turns.filter((t) => lost.has(t.turn)) }
        const step = failPending(
          lostLedger,
          {
            code: "replay_buffer_overflow",
            message: "The turn's audio fell out of the replay buffer before it could be sent again",
            retryable: false,
          },
          ledgerOptions(context),
        )
        next = { ...next, ledger: kept, metrics: foldMetrics(metrics, step.events) }
        for (const event of step.events) enqueue.emit(event)
      }
      enqueue.assign(next)
      // Committed turns are replayed with turn detection off so their boundaries are kept.
      const turnDetectionOff = plan.commits.length > 0 && modeOf(context) === "server"
      enqueue.sendTo("socket", {
        type: "send",
        event: sessionUpdateOf(context.settings, context.schema, { turnDetectionOff }),
      } satisfies TranscriptionSocketCommand)
    }),

    startStreaming: enqueueActions(({ context, enqueue }) => {
      // Planned again: a turn that ended while the connection was being configured (a flush,
      // a local VAD turn) is in the ledger now and must be committed, not streamed as live audio.
      const plan = planReplay(context.ledger, context.tailStartSample, context.retainedFromSample)
      const mode = modeOf(context)
      if (plan.commits.length > 0) {
        enqueue.sendTo("socket", {
          type: "audio.replay",
          segments: plan.commits.map((c) => ({ fromSample: c.fromSample, toSample: c.toSample })),
        } satisfies TranscriptionSocketCommand)
      }
      if ((plan.commits.length > 0 && mode === "server") || context.settingsDirty) {
        enqueue.sendTo("socket", {
          type: "send",
          event: sessionUpdateOf(context.settings, context.schema),
        } satisfies TranscriptionSocketCommand)
      }
      const live = mode !== "local" || context.localSpeech !== undefined
      const liveFrom =
        mode === "local" && context.localSpeech !== undefined
          ? Math.max(plan.liveFromSample, context.localSpeech.startSample)
          : plan.liveFromSample
      if (live)
        enqueue.sendTo("socket", {
          type: "audio.live",
          fromSample: liveFrom,
        } satisfies TranscriptionSocketCommand)
      enqueue.sendTo("socket", { type: "audio.reportResumed" } satisfies TranscriptionSocketCommand)
      enqueue.assign({
        // Each replayed turn has now been sent once more (see maxTurnAttempts).
        ledger: markCommitsSent(
          countSends(
            context.ledger,
            plan.commits.map((c) => c.turn),
          ),
          plan.commits.map((c) => c.turn),
        ),
        wireReady: true,
        settingsDirty: false,
        replay: undefined,
        tailStartSample: liveFrom,
        // The server's audio timeline on this connection: the replayed turns, then live audio.
        serverOffsetSamples: liveFrom - replayedCommitSamples(plan),
        resumeAttempt: context.lifecycle.recovering ? context.lifecycle.attempt : undefined,
      })
    }),

    announceResumed: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SOCKET.RESUMED")
      if (event.liveFromSample !== undefined) {
        // The server's audio timeline is what was actually sent: replayed turns, then live audio.
        enqueue.assign({
          serverOffsetSamples: event.liveFromSample - event.committedSamples,
          tailStartSample: Math.max(context.tailStartSample, event.liveFromSample),
        })
      }
      if (context.resumeAttempt === undefined) return
      const replayedMs = samplesToMs(event.replayedSamples)
      enqueue.emit({ type: "reconnected", attempt: context.resumeAttempt, replayedMs })
      enqueue.assign({
        resumeAttempt: undefined,
        metrics: {
          ...context.metrics,
          reconnects: context.metrics.reconnects + 1,
          replayedMs: context.metrics.replayedMs + replayedMs,
        },
      })
    }),

    handleServerError: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.ERROR")
      enqueue.raise({ type: "LIVENESS.SERVER_EVENT" })
      if (event.code === "input_audio_buffer_commit_empty") {
        // Not an error for us: the segment was silence (or the server VAD took it first).
        // Turns it held back in the order are released.
        const applied = withLedger(context, dropEmptyCommit(context.ledger, ledgerOptions(context)))
        enqueue.assign({
          ...applied.context,
          // A commit asked of the server (server VAD) was empty: nothing is owed for it.
          serverCommitSample: undefined,
        })
        for (const e of applied.events) enqueue.emit(e)
        return
      }
      enqueue.emit({
        type: "error",
        error: {
          code: event.code ?? event.errorType ?? "server_error",
          message: event.message,
          retryable: false,
        },
        fatal: false,
      })
    }),

    onConnectionLost: enqueueActions(({ context, enqueue }) => {
      const failure = context.lifecycle.lastFailure
      // Speech the lost server reported but never committed is owed by the next one: its
      // audio is kept until that server reacts to it (the stall wait is not re-armed for it,
      // so speech only the local VAD heard cannot cause a reconnect loop).
      const heard = context.serverSpeech?.startSample
      const owed =
        heard === undefined
          ? context.owedSpeechStartSample
          : Math.min(context.owedSpeechStartSample ?? heard, heard)
      enqueue.assign({
        wireReady: false,
        serverSpeech: undefined,
        vadEventOwed: false,
        owedSpeechStartSample: owed,
      })
      // Offline, nothing is idle: audio pushed meanwhile is kept for the next connection.
      enqueue({ type: "updateRetention" })
      if (failure !== undefined) {
        enqueue.emit({ type: "error", error: { ...errorInfoOf(failure), retryable: true }, fatal: false })
      }
    }),

    onSessionFailed: enqueueActions(({ context, enqueue }) => {
      const failure = context.lifecycle.lastFailure ?? {
        code: "session_failed",
        message: "The session failed",
        retryable: false,
      }
      const gaveUp = failure.retryable
      const error: SpeechErrorInfo = {
        code: failure.code,
        message: gaveUp
          ? `${failure.message} (gave up after ${context.lifecycle.attempt} reconnect attempts)`
          : failure.message,
        retryable: false,
      }
      const step = failPending(withoutSilentUnsolicited(context.ledger), error, ledgerOptions(context))
      const applied = withLedger(context, step)
      enqueue.assign({ ...applied.context, wireReady: false, fatalError: error })
      for (const e of applied.events) enqueue.emit(e)
      enqueue.emit({ type: "error", error, fatal: true })
    }),

    onSessionClosed: enqueueActions(({ context, event, enqueue }) => {
      // close() abandons what is in flight (its spans say so); a drained session ends every
      // turn once: an unsolicited one whose interim text was shown still waits, and ends here.
      if (event.type === "CLOSE") {
        enqueue.assign({ wireReady: false })
        return
      }
      const step = failPending(
        withoutSilentUnsolicited(context.ledger),
        {
          code: "session_closed",
          message: "The session was closed before this turn's transcript arrived",
          retryable: false,
        },
        ledgerOptions(context),
      )
      const applied = withLedger(context, step)
      enqueue.assign({ ...applied.context, wireReady: false })
      for (const e of applied.events) enqueue.emit(e)
    }),

    // A server event that answers what is owed restarts the liveness region's wait; others do not.
    noteServerEvent: enqueueActions(({ context, event, enqueue }) => {
      if (answersOwed(context, event)) enqueue.raise({ type: "LIVENESS.SERVER_EVENT" })
    }),

    // ----- user control

    // A flush the server answers (its VAD owns turns): commit what was sent; the server
    // answers with the turn's `committed` (bound like a VAD turn) or `commit_empty`.
    requestServerCommit: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, "FLUSH")
      enqueue.sendTo("socket", {
        type: "audio.commit",
        atSample: event.atSample,
        pause: false,
      } satisfies TranscriptionSocketCommand)
      enqueue.assign({ serverCommitSample: event.atSample })
    }),

    // A flush the client owns: the audio up to the head is a turn, committed now when configured.
    commitFlushedTurn: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "FLUSH")
      const ledger = openTurn(context, event.atSample, event.atMs)
      if (context.wireReady) {
        enqueue.sendTo("socket", {
          type: "audio.commit",
          atSample: event.atSample,
          pause: false,
        } satisfies TranscriptionSocketCommand)
      }
      enqueue.assign({ ledger, tailStartSample: event.atSample })
    }),

    markInputEnded: assign(({ context, event }) => ({
      inputEnded: true,
      endOfInputSample: event.type === "END_INPUT" ? event.atSample : context.endOfInputSample,
      endOfInputAtMs: event.type === "END_INPUT" ? event.atMs : context.endOfInputAtMs,
    })),

    commitFinalAudio: enqueueActions(({ context, enqueue }) => {
      const mode = modeOf(context)
      const head = context.endOfInputSample ?? context.tailStartSample
      if (mode === "server") {
        // Whatever the server's VAD has not committed yet is committed now; the `clear`
        // after it is a barrier: its `cleared` comes after every event the audio caused.
        if (!context.wireReady) return
        enqueue.sendTo("socket", {
          type: "audio.commit",
          atSample: head,
          pause: true,
        } satisfies TranscriptionSocketCommand)
        enqueue.sendTo("socket", {
          type: "send",
          event: ClientEvents.inputAudioBufferClear(),
        } satisfies TranscriptionSocketCommand)
        enqueue.assign({ drainBarrier: true, serverCommitSample: head })
        return
      }
      const speaking = context.localSpeech !== undefined || context.speechAnnounced
      const worthCommitting = head > context.tailStartSample && (mode === "manual" || speaking)
      if (context.speechAnnounced) {
        enqueue.emit({ type: "end_of_speech", atMs: samplesToMs(head) })
      }
      if (!worthCommitting) {
        enqueue.assign({ localSpeech: undefined, speechAnnounced: false })
        return
      }
      const ledger = openTurn(context, head, context.endOfInputAtMs)
      if (context.wireReady) {
        enqueue.sendTo("socket", {
          type: "audio.commit",
          atSample: head,
          pause: true,
        } satisfies TranscriptionSocketCommand)
      }
      enqueue.assign({ ledger, tailStartSample: head, localSpeech: undefined, speechAnnounced: false })
    }),

    onBufferCleared: assign({ drainBarrier: false }),

    storeSettings: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "UPDATE_SETTINGS")
      const settings = mergeSettings(context.settings, event.settings)
      // Only a server that owns turns is asked to commit (see serverCommitSample).
      const serverTurns = turnModeOf(settings.turnDetection) === "server"
      enqueue.assign({ settings, ...(serverTurns ? {} : { serverCommitSample: undefined }) })
      const vad = vadParametersOf(settings)
      if (JSON.stringify(vad) !== JSON.stringify(vadParametersOf(context.settings))) {
        enqueue.sendTo("audioInput", { type: "audio.vad", vad } satisfies AudioInputCommand)
      }
    }),

    sendSettings: sendTo(
      "socket",
      ({ context }): TranscriptionSocketCommand => ({
        type: "send",
        event: sessionUpdateOf(context.settings, context.schema),
      }),
    ),

    // Not configured yet (or reconnecting): the next session.update carries the settings.
    markSettingsDirty: assign({ settingsDirty: true }),

    // Local turns sent only speech; the other modes stream everything from the tail.
    resumeLiveAudio: sendTo(
      "socket",
      ({ context }): TranscriptionSocketCommand => ({
        type: "audio.live",
        fromSample: context.tailStartSample,
      }),
    ),

    pauseLiveAudio: sendTo("socket", { type: "audio.pause" } satisfies TranscriptionSocketCommand),

    // ----- local VAD

    noteLocalSpeech: assign(({ event }) => {
      assertEvent(event, "AUDIO.SPEECH_STARTED")
      return { localSpeech: { startSample: event.speechStartSample }, serverHeardLocalSpeech: false }
    }),

    // Local turns: speech begins a turn; its audio (the VAD dates the start back by its
    // prefix padding already) streams from here.
    startLocalTurn: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "AUDIO.SPEECH_STARTED")
      const from = Math.max(context.tailStartSample, event.speechStartSample)
      if (!context.speechAnnounced) {
        enqueue.emit({ type: "start_of_speech", atMs: samplesToMs(event.speechStartSample) })
      }
      enqueue.assign({ speechAnnounced: true, tailStartSample: from })
      if (context.wireReady) {
        enqueue.sendTo("socket", {
          type: "audio.live",
          fromSample: from,
        } satisfies TranscriptionSocketCommand)
      }
    }),

    forgetLocalSpeech: assign({ localSpeech: undefined }),

    // Server VAD: a whole utterance the server has not reacted to means it owes us an event.
    markSpeechOwed: assign(({ context, event }) => {
      assertEvent(event, "AUDIO.SPEECH_STOPPED")
      const start = context.localSpeech?.startSample ?? event.speechEndSample
      return {
        localSpeech: undefined,
        vadEventOwed: true,
        owedSpeechStartSample: Math.min(context.owedSpeechStartSample ?? start, start),
      }
    }),

    // Local turns: the end of speech ends the turn; its audio is committed and streaming pauses.
    endLocalTurn: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "AUDIO.SPEECH_STOPPED")
      enqueue.emit({ type: "end_of_speech", atMs: samplesToMs(event.speechEndSample) })
      const next: Partial<TranscriptionSessionContext> = { localSpeech: undefined, speechAnnounced: false }
      if (event.atSample <= context.tailStartSample) {
        enqueue.assign(next)
        return
      }
      const ledger = openTurn(context, event.atSample, event.atMs)
      if (context.wireReady) {
        enqueue.sendTo("socket", {
          type: "audio.commit",
          atSample: event.atSample,
          pause: true,
        } satisfies TranscriptionSocketCommand)
      }
      enqueue.assign({ ...next, ledger, tailStartSample: event.atSample })
    }),

    onAudioOverflow: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "AUDIO.OVERFLOW")
      const droppedMs = samplesToMs(event.droppedSamples)
      enqueue.assign({
        retainedFromSample: Math.max(context.retainedFromSample, event.retainedFromSample),
        metrics: { ...context.metrics, droppedMs: context.metrics.droppedMs + droppedMs },
      })
      const unsentMs = samplesToMs(event.unsentSamples ?? 0)
      enqueue.emit({
        type: "error",
        error: {
          code: "replay_buffer_overflow",
          message:
            unsentMs > 0
              ? `The replay buffer is full: ${unsentMs} ms of audio was dropped before it was sent and is lost (push no faster than the session accepts: await write(); or raise replayBufferMs)`
              : `The replay buffer is full: ${droppedMs} ms of sent, unconfirmed audio was dropped; the server has it, but a reconnect could not send it again (raise replayBufferMs)`,
          retryable: false,
        },
        fatal: false,
      })
    }),

    // ----- server events

    onServerSpeechStarted: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.SPEECH_STARTED")
      const startSample = serverSampleOf(
        event.audioStartMs,
        context.serverOffsetSamples,
        context.tailStartSample,
      )
      if (!context.speechAnnounced) {
        enqueue.emit({ type: "start_of_speech", itemId: event.itemId, atMs: samplesToMs(startSample) })
      }
      enqueue.assign({
        serverSpeech: { itemId: event.itemId, startSample, endSample: undefined, stoppedAtMs: undefined },
        speechAnnounced: true,
        serverHeardLocalSpeech: true,
        vadEventOwed: false,
        owedSpeechStartSample: undefined,
      })
    }),

    onServerSpeechStopped: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.SPEECH_STOPPED")
      const endSample = serverSampleOf(event.audioEndMs, context.serverOffsetSamples, context.tailStartSample)
      const startSample =
        context.serverSpeech?.itemId === event.itemId
          ? context.serverSpeech.startSample
          : context.tailStartSample
      if (context.speechAnnounced) {
        enqueue.emit({ type: "end_of_speech", itemId: event.itemId, atMs: samplesToMs(endSample) })
      }
      enqueue.assign({
        serverSpeech: { itemId: event.itemId, startSample, endSample, stoppedAtMs: event.atMs },
        speechAnnounced: false,
        serverHeardLocalSpeech: true,
        vadEventOwed: false,
        owedSpeechStartSample: undefined,
      })
    }),

    onServerCommitted: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.COMMITTED")
      const speech = context.serverSpeech
      const vadTurn = speech !== undefined && speech.itemId === event.itemId
      const end = speech?.endSample ?? context.tailStartSample
      // A commit the session asked the server for (a flush, the final commit) that came
      // without VAD events is the audio up to where it was asked.
      // Replayed turns (client commits) are answered first, in order.
      const askedFor =
        !vadTurn && context.serverCommitSample !== undefined && oldestUnbound(context.ledger) === undefined
          ? context.serverCommitSample
          : undefined
      const serverSpan = vadTurn
        ? {
            startSample: speech.startSample,
            endSample: end,
            endOfSpeechAtMs: speech.stoppedAtMs ?? event.atMs,
          }
        : askedFor !== undefined
          ? {
              startSample: context.tailStartSample,
              endSample: Math.max(context.tailStartSample, askedFor),
              endOfSpeechAtMs: event.atMs,
            }
          : undefined
      const ledger = bindCommitted(
        context.ledger,
        { itemId: event.itemId, previousItemId: event.previousItemId },
        serverSpan,
        {
          startSample: context.tailStartSample,
          endSample: context.tailStartSample,
          endOfSpeechAtMs: event.atMs,
        },
      )
      enqueue.assign({
        ledger,
        vadEventOwed: false,
        owedSpeechStartSample: undefined,
        ...(vadTurn || askedFor !== undefined ? { serverCommitSample: undefined } : {}),
        ...(vadTurn
          ? {
              serverSpeech: undefined,
              tailStartSample: Math.max(context.tailStartSample, end),
              speechAnnounced: false,
            }
          : {}),
        ...(askedFor !== undefined ? { tailStartSample: Math.max(context.tailStartSample, askedFor) } : {}),
      })
      // A result that came before this commit lands on its turn now.
      const early = context.earlyResults.find((r) => r.itemId === event.itemId)
      if (early !== undefined) {
        const options = ledgerOptions(context)
        const step =
          early.type === "SERVER.TRANSCRIPT_COMPLETED"
            ? applyCompleted(ledger, early, early.atMs, options)
            : applyFailed(ledger, early, options)
        const applied = withLedger(context, step)
        enqueue.assign({ ...applied.context, earlyResults: context.earlyResults.filter((r) => r !== early) })
        for (const e of applied.events) enqueue.emit(e)
      }
    }),

    onTranscriptDelta: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.TRANSCRIPT_DELTA")
      const step = applyDelta(context.ledger, event, ledgerOptions(context))
      enqueue.assign({ ledger: step.ledger })
      if (event.delivered === true) return
      for (const e of step.events) enqueue.emit(e)
    }),

    onTranscriptCompleted: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.TRANSCRIPT_COMPLETED")
      if (!hasItem(context.ledger, event.itemId)) {
        enqueue.assign({ earlyResults: [...context.earlyResults, event].slice(-MAX_EARLY_RESULTS) })
        return
      }
      const applied = withLedger(
        context,
        applyCompleted(context.ledger, event, event.atMs, ledgerOptions(context)),
      )
      enqueue.assign(applied.context)
      for (const e of applied.events) enqueue.emit(e)
    }),

    onTranscriptFailed: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SERVER.TRANSCRIPT_FAILED")
      if (!hasItem(context.ledger, event.itemId)) {
        enqueue.assign({ earlyResults: [...context.earlyResults, event].slice(-MAX_EARLY_RESULTS) })
        return
      }
      const applied = withLedger(context, applyFailed(context.ledger, event, ledgerOptions(context)))
      enqueue.assign(applied.context)
      for (const e of applied.events) enqueue.emit(e)
    }),

    // Reported once per backlog (the transition's guard), until the socket says it cleared.
    onBacklog: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, "SOCKET.BACKLOG")
      enqueue.assign({ backlogReported: true })
      enqueue.emit({
        type: "error",
        error: {
          code: "audio_backlog",
          message: `The socket cannot keep up: ${Math.round(event.backlogMs)} ms of audio is waiting to be sent`,
          retryable: true,
        },
        fatal: false,
      })
    }),

    onBacklogCleared: assign({ backlogReported: false }),

    onProtocolError: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SOCKET.PROTOCOL_ERROR")
      const error: SpeechErrorInfo = { code: "ProtocolError", message: event.message, retryable: false }
      enqueue.emit({ type: "error", error, fatal: false })
      const itemId = event.itemId
      if (itemId === undefined) return
      // The undecodable event was about one turn: that turn fails, its neighbours keep their place.
      let ledger = context.ledger
      if (event.eventType === "input_audio_buffer.committed" && modeOf(context) !== "server") {
        ledger = bindCommitted(ledger, { itemId, previousItemId: event.previousItemId }, undefined, {
          startSample: context.tailStartSample,
          endSample: context.tailStartSample,
          endOfSpeechAtMs: event.atMs,
        })
      } else if (
        event.eventType !== "conversation.item.input_audio_transcription.completed" &&
        event.eventType !== "conversation.item.input_audio_transcription.failed"
      ) {
        // A lost delta costs only interim text (the completed event carries the whole transcript).
        return
      }
      const applied = withLedger(context, failItem(ledger, itemId, error, ledgerOptions(context)))
      enqueue.assign(applied.context)
      for (const e of applied.events) enqueue.emit(e)
    }),

    expireOutstanding: enqueueActions(({ context, enqueue }) => {
      const step = failPending(
        withoutSilentUnsolicited(context.ledger),
        {
          code: "drain_timeout",
          message: "The transcript did not arrive before the drain timeout",
          retryable: false,
        },
        ledgerOptions(context),
      )
      const applied = withLedger(context, step)
      enqueue.assign(applied.context)
      for (const e of applied.events) enqueue.emit(e)
      if (context.drainBarrier) {
        // Server turns: the last audio was committed but the server never confirmed it, so any
        // speech in it has no turn to fail; say so rather than end in silence.
        enqueue.emit({
          type: "error",
          error: {
            code: "drain_timeout",
            message: "The server did not confirm the final audio before the drain timeout",
            retryable: false,
          },
          fatal: false,
        })
      }
    }),

    updateRetention: enqueueActions(({ context, enqueue }) => {
      const retention = retentionOf(context)
      const last = context.retention
      if (
        last !== undefined &&
        last.fromSample === retention.fromSample &&
        last.keepSamples === retention.keepSamples &&
        last.pinnedSample === retention.pinnedSample
      ) {
        return
      }
      enqueue.assign({ retention })
      enqueue.sendTo("audioInput", { type: "audio.retain", ...retention } satisfies AudioInputCommand)
    }),
  },
}).createMachine({
  context: ({ input }) => ({
    lifecycle: initialLifecycleState(input.lifecycle),
    settings: mergeSettings(DEFAULT_TRANSCRIPTION_SETTINGS, input.settings ?? {}),
    schema: input.schema ?? "ga",
    finalOrder: input.finalOrder ?? "conversation",
    ledger: emptyLedger,
    tailStartSample: 0,
    retainedFromSample: 0,
    inputEnded: false,
    endOfInputSample: undefined,
    endOfInputAtMs: undefined,
    drainBarrier: false,
    serverCommitSample: undefined,
    maxTurnAttempts: positiveCount(input.maxTurnAttempts ?? DEFAULT_MAX_TURN_ATTEMPTS, "maxTurnAttempts"),
    earlyResults: [],
    wireReady: false,
    settingsDirty: false,
    serverOffsetSamples: 0,
    serverSpeech: undefined,
    localSpeech: undefined,
    serverHeardLocalSpeech: false,
    vadEventOwed: false,
    owedSpeechStartSample: undefined,
    speechAnnounced: false,
    replay: undefined,
    resumeAttempt: undefined,
    retention: undefined,
    backlogReported: false,
    metrics: emptyMetrics,
    fatalError: undefined,
  }),
  invoke: {
    id: "audioInput",
    src: "audioInput",
    input: ({ context }): AudioInputActorInput => ({ vad: vadParametersOf(context.settings) }),
    // The audio pipeline lives as long as the session: without it no VAD event or retention
    // reaches the machine, so the session cannot keep its promise and ends.
    onDone: lifecycle.failOver(AUDIO_INPUT_STOPPED),
    onError: lifecycle.failOver(AUDIO_INPUT_FAILED),
  },
  ...lifecycle.config({
    // Outside `streaming` (connecting, configuring, draining) the mode is chosen by guards;
    // while streaming, the turnDetection region's state handles these events.
    on: {
      FLUSH: [
        {
          guard: and(["isServerTurns", "wireReady", "flushAdvances", "speechInProgress"]),
          actions: ["requestServerCommit", "updateRetention"],
        },
        {
          guard: and(["isManualTurns", "flushAdvances"]),
          actions: ["commitFlushedTurn", "updateRetention"],
        },
        {
          guard: and(["isLocalTurns", "flushAdvances", "localSpeechInProgress"]),
          actions: ["commitFlushedTurn", "updateRetention"],
        },
      ],
      END_INPUT: { actions: "markInputEnded" },
      UPDATE_SETTINGS: [
        { guard: "wireReady", actions: [storeSettings, "sendSettings"] },
        { actions: [storeSettings, "markSettingsDirty"] },
      ],
      "AUDIO.SPEECH_STARTED": [
        { guard: "isLocalTurns", actions: ["noteLocalSpeech", "startLocalTurn", "updateRetention"] },
        { actions: ["noteLocalSpeech", "updateRetention"] },
      ],
      "AUDIO.SPEECH_STOPPED": [
        { guard: "isLocalTurns", actions: ["endLocalTurn", "updateRetention"] },
        {
          guard: and(["isServerTurns", not("serverHeardLocalSpeech")]),
          actions: ["markSpeechOwed", "updateRetention"],
        },
        { actions: ["forgetLocalSpeech", "updateRetention"] },
      ],
      "AUDIO.OVERFLOW": { actions: "onAudioOverflow" },
    },
    onlineOn: {
      // noteServerEvent first: whether an event answers what is owed is judged before it is applied.
      "SERVER.SPEECH_STARTED": { actions: ON_SPEECH_STARTED },
      "SERVER.SPEECH_STOPPED": { actions: ON_SPEECH_STOPPED },
      "SERVER.COMMITTED": { actions: ON_COMMITTED },
      "SERVER.TRANSCRIPT_DELTA": { actions: ["noteServerEvent", "onTranscriptDelta"] },
      "SERVER.TRANSCRIPT_COMPLETED": { actions: ON_COMPLETED },
      "SERVER.TRANSCRIPT_FAILED": { actions: ON_FAILED },
      "SERVER.SESSION_UPDATED": { actions: "noteServerEvent" },
      "SERVER.BUFFER_CLEARED": { actions: ["noteServerEvent", "onBufferCleared"] },
      "SOCKET.RESUMED": { actions: ["announceResumed", "updateRetention"] },
      "SOCKET.BACKLOG": { guard: not("backlogReported"), actions: "onBacklog" },
      "SOCKET.BACKLOG_CLEARED": { actions: "onBacklogCleared" },
      "SOCKET.PROTOCOL_ERROR": { actions: ["onProtocolError", "updateRetention"] },
    },
    streaming: {
      description: "Configured: audio flows to the server and transcripts come back.",
      type: "parallel" as const,
      always: { guard: "inputEnded" as const, target: lifecycle.targets.draining },
      on: { END_INPUT: { target: lifecycle.targets.draining, actions: "markInputEnded" as const } },
      states: {
        turn: {
          description:
            "Where the user's current turn is; follows the context, so it is right after a reconnect too.",
          initial: "listening" as const,
          states: {
            listening: {
              description: "Nobody is speaking and no transcript is outstanding.",
              on: {
                "SERVER.SPEECH_STARTED": { target: "speaking" as const, actions: ON_SPEECH_STARTED },
                "SERVER.COMMITTED": { target: "awaitingTranscript" as const, actions: ON_COMMITTED },
              },
              always: [
                { guard: "isSpeaking" as const, target: "speaking" as const },
                { guard: "hasPendingTurns" as const, target: "awaitingTranscript" as const },
                lifecycle.rotate,
              ],
            },
            speaking: {
              description: "Speech detected (by the server's VAD or the local one), not yet ended.",
              on: {
                "SERVER.SPEECH_STOPPED": {
                  target: "awaitingTranscript" as const,
                  actions: ON_SPEECH_STOPPED,
                },
                "SERVER.COMMITTED": { target: "awaitingTranscript" as const, actions: ON_COMMITTED },
              },
              always: [{ guard: not("isSpeaking"), target: "awaitingTranscript" as const }],
            },
            awaitingTranscript: {
              description: "Committed turns wait for their final transcript.",
              on: {
                "SERVER.SPEECH_STARTED": { target: "speaking" as const, actions: ON_SPEECH_STARTED },
                "SERVER.TRANSCRIPT_COMPLETED": { target: "listening" as const, actions: ON_COMPLETED },
                "SERVER.TRANSCRIPT_FAILED": { target: "listening" as const, actions: ON_FAILED },
              },
              always: [
                { guard: "isSpeaking" as const, target: "speaking" as const },
                { guard: not("hasPendingTurns"), target: "listening" as const },
              ],
            },
          },
        },
        liveness: {
          description:
            "Whether the server owes an event; a stalled server is caught by the inactivity timeout.",
          initial: "quiet" as const,
          states: {
            quiet: {
              description: "Nothing is owed: silence from the server is normal.",
              always: { guard: "isServerEventOwed" as const, target: "owed" as const },
            },
            owed: {
              description:
                "A transcript, a commit acknowledgement or a VAD event is owed; every server event restarts the wait.",
              always: { guard: "nothingOwed" as const, target: "quiet" as const },
              on: {
                "LIVENESS.SERVER_EVENT": { target: "owed" as const, reenter: true },
              },
              after: { inactivityTimeout: lifecycle.failOver(STALLED) },
            },
          },
        },
        turnDetection: {
          description: "Who ends turns, as the settings say: a settings update selects again.",
          initial: "selecting" as const,
          states: {
            selecting: {
              description: "Chooses the turn detection state from the settings.",
              always: [
                { guard: "isServerVad" as const, target: "serverVad" as const },
                { guard: "isSemanticVad" as const, target: "semanticVad" as const },
                { guard: "isLocalTurns" as const, target: "localVad" as const },
                { target: "manual" as const },
              ],
            },
            serverVad: {
              description:
                "The server's VAD ends turns (`speech_started`, `speech_stopped`, `committed`); the local VAD only notices speech it ignores.",
              on: serverTurnsOn,
            },
            semanticVad: {
              description:
                "The server's semantic VAD ends turns, as with server VAD; the local VAD only notices speech it ignores.",
              on: serverTurnsOn,
            },
            localVad: {
              description: "The local energy VAD ends turns: only speech is sent, each utterance committed.",
              on: {
                FLUSH: {
                  guard: and(["flushAdvances", "localSpeechInProgress"]),
                  actions: ["commitFlushedTurn" as const, "updateRetention" as const],
                },
                "AUDIO.SPEECH_STARTED": {
                  actions: [
                    "noteLocalSpeech" as const,
                    "startLocalTurn" as const,
                    "updateRetention" as const,
                  ],
                },
                "AUDIO.SPEECH_STOPPED": { actions: ["endLocalTurn" as const, "updateRetention" as const] },
                UPDATE_SETTINGS: [
                  {
                    guard: "settingsLeaveLocalVad" as const,
                    target: "selecting" as const,
                    actions: [storeSettings, "sendSettings" as const, "resumeLiveAudio" as const],
                  },
                  { target: "selecting" as const, actions: [storeSettings, "sendSettings" as const] },
                ],
              },
            },
            manual: {
              description: "The caller ends turns: each flush commits the audio since the last one.",
              on: {
                FLUSH: {
                  guard: "flushAdvances" as const,
                  actions: ["commitFlushedTurn" as const, "updateRetention" as const],
                },
                UPDATE_SETTINGS: enterTurnDetection,
              },
            },
          },
        },
      },
    },
    draining: {
      description: "End of input: the last segment is committed; waiting for every outstanding transcript.",
      entry: ["commitFinalAudio" as const, "updateRetention" as const],
      always: { guard: "drained" as const, target: lifecycle.targets.closed },
      after: { drainTimeout: { target: lifecycle.targets.closed, actions: "expireOutstanding" as const } },
      initial: "owed" as const,
      states: {
        owed: {
          description:
            "The server owes the outstanding transcripts (or the drain barrier's answer): a stalled server is caught by the inactivity timeout and the turns are replayed on a new connection.",
          on: { "LIVENESS.SERVER_EVENT": { target: "owed" as const, reenter: true } },
          after: { inactivityTimeout: lifecycle.failOver(STALLED) },
        },
      },
    },
  }),
})
