/**
 * Streaming transcription over the Realtime WebSocket (transcription mode), as a
 * {@link SpeechStream}: push PCM frames of any rate and channel count, read interim and
 * final transcripts. Runs the `transcriptionSessionMachine` with the live `socket` and
 * `audioInput` actors; reconnects without losing audio; tears everything down on close.
 *
 * ```ts
 * const session = createTranscriptionSession({ model: "gpt-4o-transcribe", turnDetection: { type: "server_vad" } })
 * session.pushFrame({ data, sampleRateHz: 48_000, channels: 2 })
 * session.endInput()
 * for await (const event of session) if (event.type === "final_transcript") console.log(event.alternatives[0]?.text)
 * ```
 * @module
 */
import { type Context, Effect, Option, Redacted, type Scope, type Tracer } from "effect"
import { type Actor, createActor, type InspectionEvent, type Observer } from "xstate"
import {
  DEFAULT_LIFECYCLE_TIMEOUTS,
  type LifecycleTimeouts,
  type ReconnectPolicy,
} from "../../machines/lifecycle/sessionLifecycle.ts"
import {
  ledgerOptions,
  type TranscriptionControlEvent,
  type TranscriptionSessionContext,
  type TranscriptionSessionInput,
  transcriptionSessionMachine,
  vadParametersOf,
} from "../../machines/transcription/transcriptionSession.ts"
import {
  DEFAULT_TRANSCRIPTION_SETTINGS,
  mergeSettings,
  REALTIME_SAMPLE_RATE_HZ,
  type TranscriptionSchema,
  type TranscriptionSettings,
} from "../../machines/transcription/transcriptionSettings.ts"
import type { LedgerOptions } from "../../machines/transcription/transcripts.ts"
import {
  type AudioFrame,
  base64ToPcm16,
  makeAudioFrame,
  pcm16FromBytes,
  pcm16ToBase64,
} from "../audio/index.ts"
import { decodeSnapshot, makeSnapshot, type SessionSnapshot } from "../persist/snapshot.ts"
import { createChannel } from "../runtime/channel.ts"
import { makeSessionRuntime, rootActorOptions, type SessionRuntime } from "../runtime/SessionRuntime.ts"
import {
  type SensitiveTraceOptions,
  sensitiveTraceOptions,
  type TranscriptionModelConfig,
  type TurnTrace,
  traceTurn,
} from "../telemetry/index.ts"
import {
  loadOpenAIConfig,
  type OpenAIConfig,
  type OpenAIConfigError,
  type OpenAIConfigOptions,
  type RealtimeSocket,
  resolveOpenAIConfig,
  secretOf,
} from "../transport/index.ts"
import { liveSocketContext } from "../transport/recording.ts"
import { type AudioInput, createAudioInput } from "./audioInput.ts"
import { STTError } from "./retry.ts"
import type { SpeechEvent, SpeechStream } from "./SpeechEvent.ts"
import {
  makeAudioInputActor,
  makeTranscriptionSocketActor,
  type TranscriptLanes,
} from "./transcriptionActors.ts"

export type {
  TranscriptionMetrics,
  TranscriptionSessionContext,
} from "../../machines/transcription/transcriptionSession.ts"
export type {
  LocalTurnDetection,
  NoiseReductionSetting,
  SemanticVadTurnDetection,
  ServerVadTurnDetection,
  TranscriptionSchema,
  TranscriptionSettings,
  TurnDetectionSetting,
} from "../../machines/transcription/transcriptionSettings.ts"

/**
 * Options of {@link createTranscriptionSession}. Durations in milliseconds.
 *
 * Tracing: each turn is an `stt.turn` span (from its start of speech, or its first audio with
 * manual turns, to its final transcript or failure) with the model configuration, the
 * turn's usage and latency, and events for start and end of speech, interim transcripts and
 * reconnects. The transcript (and the prompt) go on the span only with
 * `traceIncludeSensitiveText`, the turn's audio (base64 WAV) only with
 * `traceIncludeSensitiveAudio`.
 */
export interface TranscriptionSessionOptions extends Partial<TranscriptionSettings>, SensitiveTraceOptions {
  /**
   * The endpoint, as every constructor of voxstate takes it: API key, base URL (e.g. the
   * simulator's `http://127.0.0.1:PORT/v1`), Azure, organization, project. What is missing
   * is read from `env` (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, ...).
   */
  readonly openai?: OpenAIConfigOptions
  /** @deprecated Use `openai: { apiKey }`; still read, and wins over `openai.apiKey`. */
  readonly apiKey?: string
  /** @deprecated Use `openai: { baseUrl }`; still read, and wins over `openai.baseUrl`. */
  readonly baseUrl?: string
  /** A resolved configuration; when given, `apiKey`, `baseUrl` and `openai` are not read. */
  readonly config?: OpenAIConfig
  /** The environment read for missing settings (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /**
   * An XState inspection observer, e.g. a voxstate inspector's `inspect` (see `createInspector`);
   * `false`: none even under `VOXSTATE_INSPECT=1`.
   */
  readonly inspect?: Observer<InspectionEvent> | false
  /** `ga` (default) or `beta` (legacy `transcription_session.update`, for Azure preview deployments). */
  readonly schema?: TranscriptionSchema
  /** Reconnect policy (default: 5 attempts, 250 ms doubling to 10 s, half jittered). */
  readonly reconnect?: Partial<ReconnectPolicy>
  /** Named waits (see `LifecycleTimeouts`) plus the transport's handshake and heartbeat. */
  readonly timeouts?: Partial<LifecycleTimeouts> & {
    readonly connectMs?: number
    readonly heartbeatIntervalMs?: number
    readonly heartbeatTimeoutMs?: number
  }
  /** Least audio per `input_audio_buffer.append` (default 40; an append carries less than twice this). */
  readonly appendMs?: number
  /** Unsent audio beyond which the session reports back-pressure (`audio_backlog`, default 2000). */
  readonly maxBufferedMs?: number
  /** Audio kept for replay after a reconnect (default 60 000); overflow is reported. */
  readonly replayBufferMs?: number
  /** `conversation` (default): finals in turn order; `arrival`: as they come. */
  readonly finalOrder?: LedgerOptions["finalOrder"]
  /**
   * Connections a turn's audio is sent on before the turn stops waiting for its transcript
   * and ends with `transcription_failed` (`turn_attempts_exhausted`); default 4.
   */
  readonly maxTurnAttempts?: number
  /** Seed of the reconnect jitter (default: random). */
  readonly seed?: number
  /**
   * The tracer of the `stt.turn` spans (an OpenTelemetry tracer through
   * `@effect/opentelemetry`'s `OtelTracer`). Default: Effect's native tracer (spans are not
   * exported); in the Effect form, the tracer of the calling fiber.
   */
  readonly tracer?: Tracer.Tracer
  /** The parent of the `stt.turn` spans. In the Effect form, the calling fiber's span by default. */
  readonly traceParent?: Tracer.AnySpan
  /**
   * The Effect services to run on (default: the live `RealtimeSocket` and Effect's default
   * clock). From a `ManagedRuntime`: `await runtime.context()`. Tests pass a context with a
   * `TestClock` so machine delays follow virtual time.
   */
  readonly context?: Context.Context<RealtimeSocket>
  /**
   * A folder to record every frame this session's sockets send and receive into, as one JSONL
   * file (credentials stripped); `false` records nothing. Default: `VOXSTATE_RECORD` (from `env`, else the process environment).
   * Ignored when `context` is given (record with `recordingSocket` there).
   */
  readonly record?: string | false
}

/** A streaming transcription session (see the module documentation). */
export interface TranscriptionSession extends SpeechStream {
  /** The running XState actor, for inspection (`getSnapshot().value`, `.context.metrics`). */
  readonly actor: Actor<typeof transcriptionSessionMachine>
  /**
   * Pushes audio of any sample rate and channel count (resampled to 24 kHz mono inside).
   * @throws {AudioError} on an invalid frame or a format that changes mid-stream
   * @throws {STTError} `InputEnded` after `endInput()`, `Closed` after the session ended
   */
  pushFrame(frame: AudioFrame): void
  /**
   * Pushes audio as {@link TranscriptionSession.pushFrame} does, honouring back-pressure:
   * resolves once the frame is accepted, that is stored with the audio waiting to be sent
   * under half of `maxBufferedMs` (before the first connection, and while reconnecting,
   * audio waits for the socket). A caller faster than real time (a file) that awaits each
   * write loses nothing to the replay buffer's bound. Frames are accepted in the order
   * written; the frame's data must not change until its write resolves. `endInput()` after
   * writes still in progress ends the input once they are accepted.
   * Rejects with what `pushFrame` throws, and with `STTError` `Closed` when the session ends first.
   */
  write(frame: AudioFrame): Promise<void>
  /** The session's input as a `WritableStream` of frames: each chunk is a `write`, closing it is `endInput()`, aborting it `close()`. */
  readonly writable: WritableStream<AudioFrame>
  /**
   * Pushes little-endian PCM16 bytes of the given format.
   * @throws {AudioError} `OddByteLength` for an odd byte count, or as {@link TranscriptionSession.pushFrame}
   */
  pushPcm16(bytes: Uint8Array, sampleRateHz: number, channels?: number): void
  /**
   * Ends the current segment: with manual or local turn detection, commits it; with server
   * turn detection, ends the turn in progress (nothing happens when nobody is speaking).
   * @throws {STTError} `InputEnded`, `Closed`
   */
  flush(): void
  /** No more audio: commits what is left, waits for outstanding transcripts, then ends. Idempotent. */
  endInput(): void
  /** Stops now: closes the socket, cancels every timer and fiber; resolves when all is released. */
  close(): Promise<void>
  /** Changes settings at run time: sent at once when configured, otherwise with the next configuration. */
  updateSettings(settings: Partial<TranscriptionSettings>): void
  /** Resolves once the session has ended (drained, closed or failed) and everything is released. */
  readonly done: Promise<void>
  /** 24 kHz samples pushed so far (after resampling). */
  readonly pushedSamples: number
  /** What the session holds right now: running fibers and pending clock timers (both 0 once ended). */
  readonly resources: { readonly fibers: number; readonly timers: number }
  /**
   * The session as a JSON value for {@link resumeTranscriptionSession}: the settings, the audio
   * of every turn still waiting for its transcript and the audio not yet part of a turn.
   * Never the credential.
   */
  persist(): TranscriptionSnapshot
}

/** What a transcription snapshot keeps beside the machine's persisted snapshot. */
export interface TranscriptionSnapshotData {
  readonly settings: TranscriptionSettings
  readonly schema: TranscriptionSchema
  /** Turns without their transcript yet: each one's 24 kHz mono PCM16 audio as base64, in order. */
  readonly pendingTurns: readonly { readonly turn: number; readonly audio: string }[]
  /** Audio after the last turn, not committed yet (base64 PCM16, 24 kHz mono). */
  readonly tail: string
  readonly inputEnded: boolean
  /** Final transcripts emitted so far (they are not sent again). */
  readonly finals: number
}

/** A snapshot of a transcription session (see {@link TranscriptionSession.persist}). */
export type TranscriptionSnapshot = SessionSnapshot<"transcription", TranscriptionSnapshotData>

/** The caller's audio a session has not turned into transcripts yet, as a snapshot keeps it. */
export type PendingSpeech = Pick<TranscriptionSnapshotData, "pendingTurns" | "tail">

/**
 * The audio of every turn of `context` still waiting for its transcript, and the audio after
 * the last turn, read from the session's `input` buffer.
 * @internal
 */
export const pendingSpeechOf = (context: TranscriptionSessionContext, input: AudioInput): PendingSpeech => {
  const { buffer } = input
  const audioOf = (from: number, to: number): string => {
    const start = Math.max(from, buffer.startSample)
    const end = Math.min(to, buffer.endSample)
    return start < end ? pcm16ToBase64(buffer.view(start, end)) : ""
  }
  return {
    pendingTurns: context.ledger.turns
      .filter((t) => t.status === "pending")
      .map((t) => ({ turn: t.turn, audio: audioOf(t.startSample, t.endSample) })),
    tail: audioOf(context.tailStartSample, buffer.endSample),
  }
}

/**
 * Sends `pending` again through a running session's parts: each turn's audio then a flush
 * (`send` takes the `FLUSH` event to the session's actor), then the tail.
 * @internal
 */
export const replayPendingSpeech = (
  parts: Pick<TranscriptionSessionParts, "audio" | "flushEvent">,
  pending: PendingSpeech,
  send: (event: TranscriptionControlEvent) => void,
): void => {
  for (const turn of pending.pendingTurns) {
    if (turn.audio.length === 0) continue
    parts.audio.pushSamples(base64ToPcm16(turn.audio))
    send(parts.flushEvent())
  }
  if (pending.tail.length > 0) parts.audio.pushSamples(base64ToPcm16(pending.tail))
}

/** The `source` of the errors a transcription session throws. */
const SESSION_SOURCE = "openai/realtime-transcription"

const DEFAULT_APPEND_MS = 40
const DEFAULT_MAX_BUFFERED_MS = 2_000
const DEFAULT_REPLAY_BUFFER_MS = 60_000

const settingsOf = (options: TranscriptionSessionOptions): TranscriptionSettings =>
  mergeSettings(DEFAULT_TRANSCRIPTION_SETTINGS, {
    ...(options.model === undefined ? {} : { model: options.model }),
    ...(options.language === undefined ? {} : { language: options.language }),
    ...(options.prompt === undefined ? {} : { prompt: options.prompt }),
    ...(options.turnDetection === undefined ? {} : { turnDetection: options.turnDetection }),
    ...(options.noiseReduction === undefined ? {} : { noiseReduction: options.noiseReduction }),
    ...(options.includeLogprobs === undefined ? {} : { includeLogprobs: options.includeLogprobs }),
  })

const configOf = (options: TranscriptionSessionOptions): OpenAIConfig =>
  options.config ??
  resolveOpenAIConfig(
    {
      ...options.openai,
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
      ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
    },
    options.env ?? process.env,
  )

/** What the turn tracing needs from the running session. */
interface TurnTracingSource {
  readonly options: TranscriptionSessionOptions
  readonly config: OpenAIConfig
  readonly input: AudioInput
  /** The machine's context now. */
  readonly context: () => TranscriptionSessionContext
}

/** The `stt.turn` spans of one session, driven by its events, its snapshots and its input. */
interface TurnTracing {
  /** Audio was pushed (opens the span of a manual turn). */
  onAudio(): void
  /** A speech event was emitted (start and end of speech, transcripts, usage, reconnects). */
  onEvent(event: SpeechEvent): void
  /** The machine took a step: new turns, item ids, dropped turns. */
  onSnapshot(context: TranscriptionSessionContext): void
  /** The session ended: spans still open end as abandoned. */
  end(): void
}

/** A turn's span and what the ledger says about the turn. */
interface TracedTurn {
  readonly trace: TurnTrace
  startSample: number
  endSample: number
  /** The final transcript, kept until the turn's usage ends the span. */
  final: { readonly text: string; readonly confidence: number | undefined } | undefined
}

const FAILED_TURN_ID = /^turn-(\d+)$/

/**
 * Traces each turn of a session as an `stt.turn` span. Turns are numbered by the machine's
 * ledger (stable across reconnects, when item ids change): the span opened at the start of
 * speech (or at the first audio of a manual turn) becomes the span of the next turn the
 * ledger opens; events name their item, which the ledger binds to its turn.
 */
const makeTurnTracing = (source: TurnTracingSource): TurnTracing => {
  const { options } = source
  const sensitive = sensitiveTraceOptions(options)
  const turns = new Map<number, TracedTurn>()
  const itemTurns = new Map<string, number>()
  let collecting: TurnTrace | undefined
  let newestTurn = 0
  let ended = false
  /** Whether turns are manual (no turn detection), as of the latest snapshot. */
  let manualTurns: boolean | undefined

  const start = (itemId?: string): TurnTrace => {
    const settings = source.context().settings
    const model: TranscriptionModelConfig = {
      model: (source.config.provider === "azure" ? source.config.deployment : undefined) ?? settings.model,
      provider: source.config.provider,
      sampleRateHz: REALTIME_SAMPLE_RATE_HZ,
      streamed: true,
      turnDetection: settings.turnDetection,
      ...(settings.language === undefined ? {} : { language: settings.language }),
      ...(settings.prompt === undefined ? {} : { prompt: settings.prompt }),
      ...(settings.noiseReduction === null ? {} : { noiseReduction: settings.noiseReduction }),
    }
    return traceTurn({
      config: model,
      ...sensitive,
      ...(options.tracer === undefined ? {} : { tracer: options.tracer }),
      ...(options.traceParent === undefined ? {} : { parent: options.traceParent }),
      ...(itemId === undefined ? {} : { itemId }),
    })
  }

  const turnOf = (itemId: string): TracedTurn | undefined => {
    const failed = FAILED_TURN_ID.exec(itemId)
    const number = itemTurns.get(itemId) ?? (failed === null ? undefined : Number(failed[1]))
    return number === undefined ? undefined : turns.get(number)
  }

  const audioOf = (turn: TracedTurn) => {
    if (options.traceIncludeSensitiveAudio !== true) return undefined
    const { buffer } = source.input
    if (turn.startSample < buffer.startSample || turn.endSample > buffer.endSample) return undefined
    return {
      samples: buffer.view(turn.startSample, turn.endSample).slice(),
      sampleRateHz: REALTIME_SAMPLE_RATE_HZ,
    }
  }

  const open = (): TurnTrace[] => [
    ...(collecting === undefined ? [] : [collecting]),
    ...[...turns.values()].flatMap((t) => (t.trace.ended ? [] : [t.trace])),
  ]

  return {
    onAudio() {
      if (ended || collecting !== undefined) return
      // Read from a snapshot once; kept current by onSnapshot, so a push reads no snapshot.
      manualTurns ??= source.context().settings.turnDetection === null
      if (manualTurns) collecting = start()
    },
    onEvent(event) {
      if (ended) return
      switch (event.type) {
        case "start_of_speech":
          collecting ??= start(event.itemId)
          collecting.event("start_of_speech", { "stt.at_ms": event.atMs })
          return
        case "end_of_speech":
          collecting?.event("end_of_speech", { "stt.at_ms": event.atMs })
          return
        case "interim_transcript":
          turnOf(event.itemId)?.trace.event("interim")
          return
        case "final_transcript": {
          const turn = turnOf(event.itemId)
          const best = event.alternatives[0]
          if (turn !== undefined && best !== undefined)
            turn.final = { text: best.text, confidence: best.confidence }
          return
        }
        case "recognition_usage": {
          const turn = event.itemId === undefined ? undefined : turnOf(event.itemId)
          if (turn === undefined) return
          const audio = audioOf(turn)
          turn.trace.end({
            usage: event.usage,
            ...(event.itemId === undefined ? {} : { itemId: event.itemId }),
            ...(turn.final === undefined ? {} : { transcript: turn.final.text }),
            ...(turn.final?.confidence === undefined ? {} : { confidence: turn.final.confidence }),
            ...(audio === undefined ? {} : { audio }),
          })
          return
        }
        case "transcription_failed": {
          const turn = turnOf(event.itemId)
          turn?.trace.setAttribute("stt.error.code", event.error.code)
          turn?.trace.end({ error: event.error, itemId: event.itemId })
          return
        }
        case "reconnected":
          for (const trace of open())
            trace.event("reconnected", { "stt.attempt": event.attempt, "stt.replayed_ms": event.replayedMs })
          return
        case "error":
          return
      }
    },
    onSnapshot(context) {
      if (ended) return
      manualTurns = context.settings.turnDetection === null
      for (const t of context.ledger.turns) {
        if (t.itemId !== undefined) itemTurns.set(t.itemId, t.turn)
        const traced = turns.get(t.turn)
        if (traced !== undefined) {
          traced.startSample = t.startSample
          traced.endSample = t.endSample
          continue
        }
        if (t.turn <= newestTurn) continue
        newestTurn = t.turn
        const trace = collecting ?? start(t.itemId)
        collecting = undefined
        trace.setAttribute("stt.turn", t.turn)
        turns.set(t.turn, { trace, startSample: t.startSample, endSample: t.endSample, final: undefined })
      }
      // Turns that left the ledger unended were dropped (an empty commit); ended ones are done with.
      for (const [number, traced] of turns) {
        if (context.ledger.turns.some((t) => t.turn === number)) continue
        if (!traced.trace.ended) {
          traced.trace.setAttribute("stt.dropped", true)
          traced.trace.end()
        }
        turns.delete(number)
      }
      if (itemTurns.size > 4 * Math.max(16, turns.size)) {
        for (const [item, number] of itemTurns) if (!turns.has(number)) itemTurns.delete(item)
      }
    },
    end() {
      if (ended) return
      ended = true
      for (const trace of open()) {
        trace.setAttribute("stt.abandoned", true)
        trace.end()
      }
      collecting = undefined
      turns.clear()
      itemTurns.clear()
    },
  }
}

/** The transcription machine with its live `socket` and `audioInput` actors, as actor logic. */
export type TranscriptionSessionLogic = ReturnType<typeof transcriptionSessionMachine.provide>

/**
 * A transcription session as parts a parent machine invokes (or spawns) as a child, on the
 * parent's runtime and clock: the logic, the input to give it, and the synchronous audio
 * path. Audio never goes through the actor: push frames into `audio` (the machine hears
 * about them from its `audioInput` actor); send the child `flushEvent()` and
 * `endInputEvent()` to end a segment or the input. The child emits {@link SpeechEvent}s.
 */
export interface TranscriptionSessionParts {
  /** The provided machine (`invoke: { src: parts.logic, input: parts.input }`). */
  readonly logic: TranscriptionSessionLogic
  readonly input: TranscriptionSessionInput
  /** The input path: converter to 24 kHz mono, replay buffer, local VAD. */
  readonly audio: AudioInput
  /** The endpoint the socket connects to. */
  readonly config: OpenAIConfig
  /** Ends the current segment (drains the resampler) and returns the `FLUSH` event for it. */
  flushEvent(): TranscriptionControlEvent
  /** Ends the input and returns the `END_INPUT` event. */
  endInputEvent(): TranscriptionControlEvent
}

const partsOf = (
  options: TranscriptionSessionOptions,
  runtime: SessionRuntime<RealtimeSocket>,
  lanes?: TranscriptLanes,
): TranscriptionSessionParts => {
  if ((options.appendMs ?? DEFAULT_APPEND_MS) <= 0) throw new RangeError("appendMs must be > 0")
  const config = configOf(options)
  const settings = settingsOf(options)
  const schema = options.schema ?? "ga"
  const input = createAudioInput({
    replayBufferMs: options.replayBufferMs ?? DEFAULT_REPLAY_BUFFER_MS,
    vad: vadParametersOf(settings),
  })
  const { connectMs, heartbeatIntervalMs, heartbeatTimeoutMs, ...lifecycleTimeouts } = options.timeouts ?? {}
  const logic = transcriptionSessionMachine.provide({
    actors: {
      socket: makeTranscriptionSocketActor(runtime, input, {
        config,
        schema,
        appendMs: options.appendMs ?? DEFAULT_APPEND_MS,
        maxBufferedMs: options.maxBufferedMs ?? DEFAULT_MAX_BUFFERED_MS,
        ...(lanes === undefined ? {} : { lanes }),
        socket: {
          ...(connectMs === undefined ? {} : { connectTimeoutMs: connectMs }),
          ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
          ...(heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs }),
        },
      }),
      audioInput: makeAudioInputActor(runtime, input),
    },
  })
  const machineInput: TranscriptionSessionInput = {
    settings,
    schema,
    ...(options.finalOrder === undefined ? {} : { finalOrder: options.finalOrder }),
    ...(options.maxTurnAttempts === undefined ? {} : { maxTurnAttempts: options.maxTurnAttempts }),
    lifecycle: {
      ...(options.reconnect === undefined ? {} : { reconnect: options.reconnect }),
      timeouts: lifecycleTimeouts,
      seed: options.seed ?? Math.floor(Math.random() * 0x1_0000_0000),
    },
  }
  return {
    logic,
    input: machineInput,
    audio: input,
    config,
    flushEvent: () => {
      // The resampler's tail belongs to the turn being committed, not to the next one.
      input.drain()
      return { type: "FLUSH", atSample: input.buffer.endSample, atMs: runtime.now() }
    },
    endInputEvent: () => {
      input.end()
      return { type: "END_INPUT", atSample: input.buffer.endSample, atMs: runtime.now() }
    },
  }
}

/** A frame written and not yet accepted. */
interface PendingWrite {
  readonly frame: AudioFrame
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

/** Creates and starts a session on `runtime` (see {@link createTranscriptionSession}). */
const startSession = (
  options: TranscriptionSessionOptions,
  runtime: SessionRuntime<RealtimeSocket>,
  resume?: TranscriptionSnapshotData,
): TranscriptionSession => {
  // Interims of an item the machine has shown go from the socket's edge to the output.
  const lanes: TranscriptLanes = {
    ledger: () => {
      // Called for server frames only, so once the actor below exists.
      if (finished) return undefined
      const { context } = actor.getSnapshot()
      return { ledger: context.ledger, options: ledgerOptions(context) }
    },
    show: (event) => {
      if (!finished) output(event)
    },
    coalesceForMs: Math.min(
      1_000,
      (options.timeouts?.inactivityMs ?? DEFAULT_LIFECYCLE_TIMEOUTS.inactivityMs) / 10,
    ),
  }
  const parts = partsOf(options, runtime, lanes)
  const { config, audio: input } = parts
  // A write is accepted while the audio waiting to be sent is under half the backlog mark
  // (so `audio_backlog` is not reported to a caller who waits) and a quarter of the buffer.
  const writeLimitSamples = Math.max(
    1,
    Math.min(
      Math.round(((options.maxBufferedMs ?? DEFAULT_MAX_BUFFERED_MS) * REALTIME_SAMPLE_RATE_HZ) / 2000),
      Math.floor(input.buffer.capacitySamples / 4),
    ),
  )
  const writes: PendingWrite[] = []
  let acceptScheduled = false
  let endAfterWrites = false
  const actor = createActor(parts.logic, { ...rootActorOptions(runtime), input: parts.input })

  const tracing = makeTurnTracing({
    options,
    config,
    input,
    context: () => actor.getSnapshot().context,
  })
  const queue = createChannel<SpeechEvent>()
  let inputEnded = false
  let finished = false
  /** The actor is no longer active (kept from its snapshots, so a push reads none). */
  let stopped = false
  let releasing: Promise<void> | undefined
  let resolveDone: () => void = () => undefined
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve
  })

  const closedError = (): STTError =>
    new STTError({
      reason: { _tag: "Closed" },
      message: "The transcription session has ended",
      retryable: false,
      attempts: 0,
      source: SESSION_SOURCE,
    })

  /**
   * Whether the buffer holds so much that the machine must catch up before more is written:
   * a writer whose every write resolves at once never lets the socket's events in, so the
   * retention could not move. Past a quarter of the buffer each write waits one turn of the
   * event loop (server events are handled, the retention moves); audio that can only be
   * released by more audio (a very long turn) still flows, a turn at a time.
   */
  const retainedHigh = (): boolean =>
    input.buffer.endSample - input.buffer.startSample >= input.buffer.capacitySamples / 4

  const acceptOne = (write: PendingWrite): void => {
    if (finished || stopped) {
      write.reject(closedError())
      return
    }
    try {
      input.push(write.frame)
      tracing.onAudio()
      write.resolve()
    } catch (error) {
      write.reject(error)
    }
  }

  /** Accepts queued writes, in order, while the audio waiting to be sent is under the limit. */
  const acceptWrites = (): void => {
    acceptScheduled = false
    while (writes.length > 0) {
      // Woken again by the socket sending (onSent below).
      if (input.unsentSamples >= writeLimitSamples) return
      acceptOne(writes.shift() as PendingWrite)
      if (writes.length > 0 && retainedHigh()) {
        scheduleTurn()
        return
      }
    }
    if (endAfterWrites) {
      endAfterWrites = false
      if (!finished) actor.send(parts.endInputEvent())
    }
  }
  let turnScheduled = false
  const scheduleTurn = (): void => {
    if (turnScheduled) return
    turnScheduled = true
    setImmediate(() => {
      turnScheduled = false
      acceptWrites()
    })
  }
  // Told from inside the socket's send path: the queue is served on the next microtask.
  const unlistenInput = input.listen({
    onSent: () => {
      if (writes.length === 0 || acceptScheduled) return
      acceptScheduled = true
      queueMicrotask(acceptWrites)
    },
  })

  const release = (): Promise<void> => {
    releasing ??= (async () => {
      finished = true
      unlistenInput()
      for (const write of writes.splice(0)) write.reject(closedError())
      unsubscribeEvents.unsubscribe()
      subscription.unsubscribe()
      actor.stop()
      tracing.end()
      await runtime.shutdown()
      resolveDone()
    })()
    return releasing
  }

  let finals = resume?.finals ?? 0
  const output = (event: SpeechEvent): void => {
    if (event.type === "final_transcript") finals++
    tracing.onEvent(event)
    queue.push(event)
  }
  const unsubscribeEvents = actor.on("*", (event) => output(event as SpeechEvent))
  const subscription = actor.subscribe({
    next: (snapshot) => {
      tracing.onSnapshot(snapshot.context)
      if (snapshot.status !== "active") stopped = true
      if (snapshot.status !== "done") return
      const fatal = snapshot.context.fatalError
      if (snapshot.value === "failed" && fatal !== undefined) {
        queue.fail(
          new STTError({
            reason: { _tag: "Failed", error: fatal },
            message: fatal.message,
            retryable: false,
            attempts: 0,
            source: SESSION_SOURCE,
          }),
        )
      } else {
        queue.end()
      }
      void release()
    },
    complete: () => {
      stopped = true
    },
    error: (error) => {
      stopped = true
      queue.fail(error)
      void release()
    },
  })

  const ensureOpen = (): void => {
    if (finished || stopped) throw closedError()
    if (inputEnded) {
      throw new STTError({
        reason: { _tag: "InputEnded" },
        message: "No audio can be pushed after endInput()",
        retryable: false,
        attempts: 0,
        source: SESSION_SOURCE,
      })
    }
  }

  actor.start()

  let writable: WritableStream<AudioFrame> | undefined
  const session: TranscriptionSession = {
    actor,
    done,
    get pushedSamples() {
      return input.buffer.endSample
    },
    get resources() {
      return { fibers: runtime.activeFibers, timers: runtime.clock.pendingTimers }
    },
    pushFrame(frame) {
      ensureOpen()
      input.push(frame)
      tracing.onAudio()
    },
    write(frame) {
      try {
        ensureOpen()
        if (writes.length === 0 && input.unsentSamples < writeLimitSamples && !retainedHigh()) {
          input.push(frame)
          tracing.onAudio()
          return Promise.resolve()
        }
      } catch (error) {
        return Promise.reject(error)
      }
      const accepted = new Promise<void>((resolve, reject) => {
        writes.push({ frame, resolve, reject })
      })
      if (input.unsentSamples < writeLimitSamples) scheduleTurn()
      return accepted
    },
    get writable() {
      writable ??= new WritableStream<AudioFrame>({
        write: (frame) => session.write(frame),
        close: () => session.endInput(),
        abort: () => session.close(),
      })
      return writable
    },
    pushPcm16(bytes, sampleRateHz, channels = 1) {
      ensureOpen()
      input.push(makeAudioFrame(pcm16FromBytes(bytes), sampleRateHz, channels))
      tracing.onAudio()
    },
    flush() {
      ensureOpen()
      actor.send(parts.flushEvent())
    },
    endInput() {
      if (inputEnded || finished) return
      inputEnded = true
      // Writes still waiting are accepted first: the input ends after the last of them.
      if (writes.length > 0) endAfterWrites = true
      else actor.send(parts.endInputEvent())
    },
    updateSettings(update) {
      if (finished) return
      actor.send({ type: "UPDATE_SETTINGS", settings: update })
    },
    persist() {
      const { context } = actor.getSnapshot()
      return makeSnapshot(
        "transcription",
        {
          savedAtMs: runtime.now(),
          machine: actor.getPersistedSnapshot(),
          data: {
            settings: context.settings,
            schema: context.schema,
            ...pendingSpeechOf(context, input),
            inputEnded,
            finals,
          },
        },
        [Redacted.value(secretOf(config))],
      )
    },
    async close() {
      if (!finished && actor.getSnapshot().status === "active") actor.send({ type: "CLOSE" })
      queue.end()
      await release()
    },
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  }
  if (resume !== undefined) {
    // Each unfinished turn is sent again and ended where it ended; then the audio after them.
    replayPendingSpeech(parts, resume, (event) => actor.send(event))
    if (resume.inputEnded) session.endInput()
  }
  return session
}

/**
 * Continues a persisted transcription session on a new connection, in this or another
 * process: every turn that had no transcript is sent again from the snapshot's audio and
 * ended where it ended, then the audio after them; finished turns are not sent again. The
 * settings are the snapshot's unless `options` overrides them; the credential comes from
 * `options` or the environment.
 * @throws {SnapshotError} for a snapshot of another version or kind, or a malformed one
 * @throws {OpenAIConfigError} when no API key is configured
 */
export const resumeTranscriptionSession = (
  snapshot: unknown,
  options: TranscriptionSessionOptions = {},
): TranscriptionSession => {
  const { data } = decodeSnapshot(snapshot, "transcription") as TranscriptionSnapshot
  const merged: TranscriptionSessionOptions = { ...data.settings, schema: data.schema, ...options }
  const context = merged.context ?? liveSocketContext("transcription", merged)
  if ((merged.appendMs ?? DEFAULT_APPEND_MS) <= 0) throw new RangeError("appendMs must be > 0")
  return startSession(merged, makeSessionRuntime(context), data)
}

/**
 * Creates and starts a streaming transcription session; it connects at once.
 *
 * @throws {OpenAIConfigError} when no API key or a malformed base URL is configured
 * @throws {RangeError} for a negative timeout, a jitter outside 0..1 or a non-positive buffer size
 */
export const createTranscriptionSession = (
  options: TranscriptionSessionOptions = {},
): TranscriptionSession => {
  const context = options.context ?? liveSocketContext("transcription", options)
  if ((options.appendMs ?? DEFAULT_APPEND_MS) <= 0) throw new RangeError("appendMs must be > 0")
  return startSession(options, makeSessionRuntime(context, { inspect: options.inspect }))
}

/** The Effect form of the transcription session, and the session as actor logic. */
export const TranscriptionSession = {
  /**
   * The session as parts a parent machine invokes as a child on `runtime` (its services and
   * its clock): see {@link TranscriptionSessionParts}. `options.context` is not read (the
   * runtime holds the services); tracing is the plain API's (`createTranscriptionSession`).
   * @throws {OpenAIConfigError} when no API key or a malformed base URL is configured
   * @throws {RangeError} for a non-positive `appendMs`
   */
  logic: (
    runtime: SessionRuntime<RealtimeSocket>,
    options: Omit<TranscriptionSessionOptions, "context"> = {},
  ): TranscriptionSessionParts => partsOf(options, runtime),

  /**
   * Creates a session on the current services (`RealtimeSocket`, the clock, a `TestClock`
   * under test) and closes it when the scope closes. Its `stt.turn` spans go to the current
   * tracer, under the current span, unless the options say otherwise. Fails with
   * `OpenAIConfigError` for a missing key or a malformed URL.
   */
  make: (
    options: Omit<TranscriptionSessionOptions, "context"> = {},
  ): Effect.Effect<TranscriptionSession, OpenAIConfigError, Scope.Scope | RealtimeSocket> =>
    Effect.acquireRelease(
      Effect.gen(function* () {
        const context = yield* Effect.context<RealtimeSocket>()
        const tracer = options.tracer ?? (yield* Effect.tracer)
        const parent =
          options.traceParent ?? Option.getOrUndefined(yield* Effect.option(Effect.currentParentSpan))
        const config =
          options.config ??
          (yield* loadOpenAIConfig(
            {
              ...options.openai,
              ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
              ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
            },
            options.env ?? process.env,
          ))
        return createTranscriptionSession({
          ...options,
          config,
          context,
          tracer,
          ...(parent === undefined ? {} : { traceParent: parent }),
        })
      }),
      (session) => Effect.promise(() => session.close()),
    ),
} as const
