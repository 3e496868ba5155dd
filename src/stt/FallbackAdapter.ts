/**
 * The FallbackAdapter: several STTs in order of preference behind one. When the active one
 * fails (retries exhausted, a failed turn, or a fatal stream error) the next takes over and
 * the audio of the unfinished turn is replayed into it, so no speech is lost; the failed one
 * is probed in the background with real turn audio and taken back at the next turn boundary
 * once it answers again. Every transcript names its `source`.
 * @module
 */
import { Clock, Effect } from "effect"
import type { AudioFrame } from "../audio/index.ts"
import { isAudioError, validateAudioFrame } from "../audio/index.ts"
import { isSTTError, STTError, type STTErrorReason, sttErrorCode } from "./retry.ts"
import type { SpeechErrorInfo, SpeechEvent, SpeechStream } from "./SpeechEvent.ts"
import {
  abortedError,
  createSpeechEventChannel,
  inputFrames,
  type RecognizeInput,
  type RecognizeOptions,
  type SpeechRecognition,
  type STT,
  type StreamOptions,
  shiftAlternative,
} from "./STT.ts"

/** Options of {@link createFallbackAdapter}. Durations in milliseconds. */
export interface FallbackAdapterOptions {
  /** The STTs, most preferred first (at least one). */
  readonly stts: readonly STT[]
  /** Least time between two background probes of one unavailable STT. Default 10 000. */
  readonly recoveryIntervalMs?: number
  /** Most audio of unfinished turns kept for replay into the next STT. Default 30 000. */
  readonly maxReplayMs?: number
  /** Default `fallback(<labels>)`. */
  readonly label?: string
  /** The clock of the probe interval, in milliseconds. Default: the Effect clock's current time. */
  readonly now?: () => number
  /** Called when an STT becomes unavailable or recovers. */
  readonly onAvailabilityChanged?: (change: { readonly label: string; readonly available: boolean }) => void
}

/** Availability of one STT of the chain. */
export interface FallbackStatus {
  readonly label: string
  readonly available: boolean
}

/** A fallback chain: the {@link STT} contract plus the availability of each member. */
export interface FallbackSTT extends STT {
  /** Availability of each STT, in order of preference. */
  status(): readonly FallbackStatus[]
}

const reasonOf = (error: unknown): STTErrorReason =>
  isSTTError(error)
    ? error.reason
    : { _tag: "Recognition", code: error instanceof Error ? error.name : "unknown" }

const errorInfo = (error: unknown): SpeechErrorInfo => ({
  code: isSTTError(error) ? sttErrorCode(error) : "unknown",
  message: error instanceof Error ? error.message : String(error),
  retryable: isSTTError(error) ? error.retryable : false,
})

/**
 * Creates a {@link FallbackSTT}.
 *
 * `recognize` tries the available STTs in order (all of them, when none is marked
 * available) and rejects with `AllFailed` naming each failure. `stream` runs the first
 * available STT's stream and fails over as described in the module documentation.
 *
 * The stream's `pushFrame` throws `AudioError` on bad audio, and `pushFrame` and `flush` throw
 * {@link STTError} (`InputEnded`) after `endInput()` or `close()`.
 *
 * @throws {STTError} `InvalidOptions` when `stts` is empty, or a duration is negative or not finite
 */
export const createFallbackAdapter = (options: FallbackAdapterOptions): FallbackSTT => {
  const { stts } = options
  if (stts.length === 0) {
    throw new STTError({
      reason: { _tag: "InvalidOptions" },
      message: "a FallbackAdapter needs at least one STT",
      retryable: false,
      attempts: 0,
    })
  }
  const label = options.label ?? `fallback(${stts.map((s) => s.label).join(",")})`
  const recoveryIntervalMs = options.recoveryIntervalMs ?? 10_000
  const maxReplayMs = options.maxReplayMs ?? 30_000
  for (const [name, value] of [
    ["recoveryIntervalMs", recoveryIntervalMs],
    ["maxReplayMs", maxReplayMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new STTError({
        reason: { _tag: "InvalidOptions" },
        message: `${name} must be a non-negative number of milliseconds, got ${value}`,
        retryable: false,
        attempts: 0,
      })
    }
  }
  const now = options.now ?? (() => Effect.runSync(Clock.currentTimeMillis))
  const available = stts.map(() => true)
  const lastProbeAt = stts.map(() => Number.NEGATIVE_INFINITY)
  const probing = stts.map(() => false)
  const probes = new Set<Promise<void>>()
  const probeController = new AbortController()
  /** Open streams, told when an STT recovers so they can go back to it at a turn boundary. */
  const recoveryListeners = new Set<() => void>()
  let closed = false

  const setAvailable = (index: number, value: boolean) => {
    if (available[index] === value) return
    available[index] = value
    options.onAvailabilityChanged?.({ label: stts[index]!.label, available: value })
    if (value) for (const listener of [...recoveryListeners]) listener()
  }

  /** Probes the unavailable STTs preferred over `upTo` with real audio, when their interval has passed. */
  const probePreferred = (upTo: number, audio: readonly AudioFrame[], callOptions: RecognizeOptions) => {
    if (closed || audio.length === 0) return
    for (let index = 0; index < upTo; index++) {
      if (available[index] || probing[index]) continue
      const at = now()
      if (at - lastProbeAt[index]! < recoveryIntervalMs) continue
      lastProbeAt[index] = at
      probing[index] = true
      const probe = stts[index]!.recognize(audio, {
        ...(callOptions.language === undefined ? {} : { language: callOptions.language }),
        ...(callOptions.prompt === undefined ? {} : { prompt: callOptions.prompt }),
        signal: probeController.signal,
      })
        .then(
          () => {
            if (!closed) setAvailable(index, true)
          },
          () => {},
        )
        .finally(() => {
          probing[index] = false
          probes.delete(probe)
        })
      probes.add(probe)
    }
  }

  const recognize = async (
    audio: RecognizeInput,
    callOptions: RecognizeOptions = {},
  ): Promise<SpeechRecognition> => {
    const frames = inputFrames(audio)
    const order = stts.map((_, i) => i)
    const candidates = order.some((i) => available[i]) ? order.filter((i) => available[i]) : order
    const failures: { source: string; reason: STTErrorReason }[] = []
    for (const index of candidates) {
      if (callOptions.signal?.aborted) throw abortedError(label)
      const stt = stts[index]!
      try {
        const result = await stt.recognize(frames, callOptions)
        setAvailable(index, true)
        probePreferred(index, frames, callOptions)
        return result
      } catch (error) {
        if (callOptions.signal?.aborted) throw abortedError(label)
        if (isSTTError(error) && error.reason._tag === "InvalidAudio") throw error
        setAvailable(index, false)
        lastProbeAt[index] = now()
        failures.push({ source: stt.label, reason: reasonOf(error) })
      }
    }
    const reason: STTErrorReason = { _tag: "AllFailed", failures }
    throw new STTError({
      reason,
      message: `${label}: every STT failed: ${failures.map((f) => f.source).join(", ")}`,
      retryable: true,
      attempts: failures.length,
      source: label,
    })
  }

  const adapter: FallbackSTT = {
    label,
    capabilities: {
      streaming: stts.every((s) => s.capabilities.streaming),
      interimResults: stts.every((s) => s.capabilities.interimResults),
    },
    recognize,
    stream: (streamOptions = {}) =>
      createFallbackStream({
        stts,
        label,
        maxReplayMs,
        streamOptions,
        isAvailable: (i) => available[i]!,
        markFailed: (i) => {
          setAvailable(i, false)
          lastProbeAt[i] = now()
        },
        markWorking: (i) => setAvailable(i, true),
        probePreferred: (upTo, audio) => probePreferred(upTo, audio, streamOptions),
        onRecovery: (listener) => {
          recoveryListeners.add(listener)
          return () => recoveryListeners.delete(listener)
        },
      }),
    status: () => stts.map((s, i) => ({ label: s.label, available: available[i]! })),
    close: async () => {
      closed = true
      probeController.abort()
      await Promise.allSettled([...probes])
    },
  }
  return adapter
}

/** What the fallback stream needs from its adapter. */
interface FallbackStreamContext {
  readonly stts: readonly STT[]
  readonly label: string
  readonly maxReplayMs: number
  readonly streamOptions: StreamOptions
  isAvailable(index: number): boolean
  markFailed(index: number): void
  markWorking(index: number): void
  probePreferred(upTo: number, audio: readonly AudioFrame[]): void
  /** Registers a listener called when an STT recovers; returns its removal. */
  onRecovery(listener: () => void): () => void
}

/** An entry of the replay log: a frame with its place on the stream's timeline, or a flush. */
type ReplayEntry =
  | { readonly kind: "frame"; readonly frame: AudioFrame; readonly startMs: number; readonly endMs: number }
  | { readonly kind: "flush"; readonly atMs: number }

/** The state of one turn as seen on the outer stream. */
interface TurnState {
  ended: boolean
  endAtMs: number | undefined
  settled: boolean
}

type Failure =
  | { readonly kind: "turn"; readonly event: Extract<SpeechEvent, { type: "transcription_failed" }> }
  | { readonly kind: "fatal"; readonly error: SpeechErrorInfo }

/** Inner-to-outer item ids remembered per stream (the most recent ones). */
const MAX_REMEMBERED_IDS = 256

const frameMs = (frame: AudioFrame): number =>
  (frame.data.length / frame.channels / frame.sampleRateHz) * 1000

const createFallbackStream = (ctx: FallbackStreamContext): SpeechStream => {
  const { stts } = ctx
  const channel = createSpeechEventChannel()
  const replay: ReplayEntry[] = []
  const turns = new Map<string, TurnState>()
  /** Outer ids of turns begun by an STT that failed, waiting for the next STT's start_of_speech. */
  const dangling: string[] = []
  const idMap = new Map<string, string>()
  const failedThisTurn = new Set<number>()
  let positionMs = 0
  let active = 0
  let generation = -1
  /** The active STT's stream; undefined while none could be opened. */
  let inner: SpeechStream | undefined
  let innerOffsetMs = 0
  let ended = false
  let closed = false
  const retired = new Set<Promise<void>>()

  const firstAvailable = (): number => {
    for (let i = 0; i < stts.length; i++) if (ctx.isAvailable(i)) return i
    return 0
  }

  /** Keeps the id map bounded: late events of old turns are the only reason to remember them. */
  const remember = (key: string, id: string) => {
    idMap.set(key, id)
    if (idMap.size > MAX_REMEMBERED_IDS) idMap.delete(idMap.keys().next().value as string)
  }

  const outerId = (innerId: string): string => {
    const key = `${generation}:${innerId}`
    const known = idMap.get(key)
    if (known !== undefined) return known
    const id = generation === 0 ? innerId : `${innerId}~${generation}`
    remember(key, id)
    return id
  }

  const replayStartMs = (): number => {
    const first = replay.find((e) => e.kind === "frame")
    return first?.kind === "frame" ? first.startMs : positionMs
  }

  const trimReplay = (beforeMs: number) => {
    while (replay.length > 0) {
      const first = replay[0]!
      const end = first.kind === "frame" ? first.endMs : first.atMs
      if (end > beforeMs) break
      replay.shift()
    }
  }

  const framesBetween = (fromMs: number, toMs: number): AudioFrame[] =>
    replay.flatMap((e) => (e.kind === "frame" && e.endMs > fromMs && e.startMs < toMs ? [e.frame] : []))

  const settle = (id: string, turn: TurnState) => {
    if (turn.settled || !turn.ended || turn.endAtMs === undefined) return
    turn.settled = true
    failedThisTurn.clear()
    ctx.markWorking(active)
    // Probe the preferred STTs with this turn's audio, then forget it.
    if (active > 0) ctx.probePreferred(active, framesBetween(replayStartMs(), turn.endAtMs))
    const open = [...turns.values()].some((t) => !t.settled)
    if (!open) trimReplay(turn.endAtMs)
    turns.delete(id)
    maybeSwitchBack()
  }

  const forward = (event: SpeechEvent) => {
    const source = stts[active]!.label
    switch (event.type) {
      case "start_of_speech": {
        const inherited = dangling.shift()
        const id = event.itemId === undefined ? inherited : (inherited ?? outerId(event.itemId))
        if (inherited !== undefined && event.itemId !== undefined)
          remember(`${generation}:${event.itemId}`, inherited)
        if (id !== undefined && !turns.has(id))
          turns.set(id, { ended: false, endAtMs: undefined, settled: false })
        // A turn inherited from a failed STT was already announced.
        if (inherited !== undefined) return
        channel.push({
          ...event,
          ...(id === undefined ? {} : { itemId: id }),
          atMs: event.atMs + innerOffsetMs,
        })
        return
      }
      case "interim_transcript":
      case "final_transcript": {
        const id = outerId(event.itemId)
        channel.push({
          ...event,
          itemId: id,
          alternatives: event.alternatives.map((a) => shiftAlternative(a, innerOffsetMs)),
          source: event.source ?? source,
        })
        if (event.type === "final_transcript") {
          const turn = turns.get(id) ?? { ended: false, endAtMs: undefined, settled: false }
          turns.set(id, turn)
          turn.settled = false
          settleWhenDone(id, turn, "final")
        }
        return
      }
      case "end_of_speech": {
        const id = event.itemId === undefined ? undefined : outerId(event.itemId)
        const atMs = event.atMs + innerOffsetMs
        channel.push({ ...event, ...(id === undefined ? {} : { itemId: id }), atMs })
        if (id !== undefined) {
          const turn = turns.get(id) ?? { ended: false, endAtMs: undefined, settled: false }
          turns.set(id, turn)
          turn.ended = true
          turn.endAtMs = atMs
          settleWhenDone(id, turn, "end")
        }
        return
      }
      case "recognition_usage": {
        const id = event.itemId === undefined ? undefined : outerId(event.itemId)
        channel.push({
          ...event,
          ...(id === undefined ? {} : { itemId: id }),
          source: event.source ?? source,
        })
        if (id !== undefined) {
          const turn = turns.get(id)
          if (turn !== undefined) settleWhenDone(id, turn, "usage")
        }
        return
      }
      case "transcription_failed":
        failover({ kind: "turn", event })
        return
      case "error":
        if (event.fatal) failover({ kind: "fatal", error: event.error })
        else channel.push(event)
        return
      case "reconnected":
        channel.push(event)
        return
    }
  }

  /** Which signals a turn has had: it settles once ended and transcribed (final or usage). */
  const seen = new Map<string, Set<string>>()
  const settleWhenDone = (id: string, turn: TurnState, signal: "final" | "end" | "usage" | "failed") => {
    const signals = seen.get(id) ?? new Set<string>()
    signals.add(signal)
    seen.set(id, signals)
    if (signals.has("end") && (signals.has("final") || signals.has("usage") || signals.has("failed"))) {
      seen.delete(id)
      settle(id, turn)
    }
  }

  const pump = async (stream: SpeechStream, mine: number) => {
    try {
      for await (const event of stream) {
        if (mine !== generation || closed) return
        forward(event)
        if (mine !== generation || closed) return
      }
      if (mine !== generation || closed) return
      if (ended) {
        stopListening()
        channel.end()
        // Drained: release the stream now, whether or not the caller ever calls close().
        retire(stream)
        return
      }
      failover({
        kind: "fatal",
        error: {
          code: "stream_ended",
          message: `${stts[active]!.label}: the stream ended on its own`,
          retryable: true,
        },
      })
    } catch (error) {
      if (mine !== generation || closed) return
      failover({ kind: "fatal", error: errorInfo(error) })
    }
  }

  const retire = (stream: SpeechStream | undefined) => {
    if (stream === undefined) return
    let closing: Promise<void>
    try {
      closing = stream.close().catch(() => {})
    } catch {
      // A close that throws at once has nothing left to wait for.
      return
    }
    retired.add(closing)
    void closing.finally(() => retired.delete(closing))
  }

  /** Starts STT `index`'s stream at the start of the replay log and replays the log into it. */
  const start = (index: number) => {
    active = index
    generation += 1
    innerOffsetMs = replayStartMs()
    let stream: SpeechStream
    try {
      stream = stts[index]!.stream(ctx.streamOptions)
    } catch (error) {
      // No stream to fail over from: the failover goes on to the next STT (or ends the stream).
      inner = undefined
      failover({ kind: "fatal", error: errorInfo(error) })
      return
    }
    inner = stream
    for (const entry of replay) {
      try {
        if (entry.kind === "frame") stream.pushFrame(entry.frame)
        else stream.flush()
      } catch {
        // The stream refused the replay; its iteration reports the failure.
        break
      }
    }
    if (ended) stream.endInput()
    void pump(stream, generation)
  }

  const failover = (failure: Failure) => {
    const failed = active
    failedThisTurn.add(failed)
    ctx.markFailed(failed)
    const failedLabel = stts[failed]!.label
    const order = stts.map((_, i) => i).filter((i) => !failedThisTurn.has(i))
    const next = order.find((i) => ctx.isAvailable(i)) ?? order[0]
    const old = inner
    if (next !== undefined) {
      // Turns the failed STT had begun and not finished are continued by the next one.
      for (const [id, turn] of turns) {
        if (!turn.settled && !dangling.includes(id)) dangling.push(id)
      }
      for (const id of dangling) turns.delete(id)
      seen.clear()
      retire(old)
      start(next)
      return
    }
    // Every STT failed on this audio.
    failedThisTurn.clear()
    if (failure.kind === "turn") {
      // The stream itself still works: report the turn as failed and let it go on.
      const id = outerId(failure.event.itemId)
      channel.push({ ...failure.event, itemId: id, source: failure.event.source ?? failedLabel })
      const turn = turns.get(id) ?? { ended: false, endAtMs: undefined, settled: false }
      turns.set(id, turn)
      settleWhenDone(id, turn, "failed")
      return
    }
    channel.push({ type: "error", error: failure.error, fatal: true })
    closed = true
    stopListening()
    retire(old)
    channel.fail(
      new STTError({
        reason: { _tag: "Recognition", code: failure.error.code },
        message: `${ctx.label}: every STT failed; last: ${failedLabel}: ${failure.error.message}`,
        retryable: failure.error.retryable,
        attempts: stts.length,
        source: ctx.label,
      }),
    )
  }

  /** At a turn boundary, goes back to a more preferred STT that has recovered. */
  const maybeSwitchBack = () => {
    if (closed || ended || active === 0) return
    if ([...turns.values()].some((t) => !t.settled) || dangling.length > 0) return
    const preferred = firstAvailable()
    if (preferred >= active || !ctx.isAvailable(preferred)) return
    retire(inner)
    start(preferred)
  }

  const stopListening = ctx.onRecovery(() => maybeSwitchBack())
  start(firstAvailable())

  const inputEnded = () =>
    new STTError({
      reason: { _tag: "InputEnded" },
      message: `${ctx.label}: audio pushed (or flush() called) after endInput() or close()`,
      retryable: false,
      attempts: 0,
      source: ctx.label,
    })

  return {
    pushFrame(frame) {
      if (ended || closed) throw inputEnded()
      // Checked here too: between two STTs no inner stream would, and the replay must hold audio.
      validateAudioFrame(frame)
      try {
        inner?.pushFrame(frame)
      } catch (error) {
        // Bad audio is the caller's error; anything else is the inner stream's, which its
        // iteration reports, and the frame is still replayed into the next STT.
        if (isAudioError(error)) throw error
      }
      const durationMs = frameMs(frame)
      replay.push({ kind: "frame", frame, startMs: positionMs, endMs: positionMs + durationMs })
      positionMs += durationMs
      while (replay.length > 0 && positionMs - replayStartMs() > ctx.maxReplayMs) replay.shift()
    },
    flush() {
      if (ended || closed) throw inputEnded()
      replay.push({ kind: "flush", atMs: positionMs })
      try {
        inner?.flush()
      } catch {
        // Reported by the inner stream's iteration.
      }
    },
    endInput() {
      if (ended || closed) return
      ended = true
      try {
        inner?.endInput()
      } catch {
        // Reported by the inner stream's iteration.
      }
    },
    async close() {
      if (closed) {
        await Promise.allSettled([...retired])
        return
      }
      closed = true
      ended = true
      stopListening()
      channel.end()
      retire(inner)
      await Promise.allSettled([...retired])
    },
    [Symbol.asyncIterator]: () => channel[Symbol.asyncIterator](),
  }
}
