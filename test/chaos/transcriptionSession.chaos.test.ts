/**
 * Seeded chaos tests of the transcription session's promise: it does not lose audio, hang or
 * leak when the network misbehaves. Each seed draws a recording of distinct tone "words"
 * separated by silences, a turn detection mode (server VAD, local VAD or manual flushes), an
 * input format (8 to 48 kHz, mono or stereo) and chunking, and a fault schedule for the first
 * connections (closes with retryable codes, a stalled server, `server_error`,
 * `session_expired`), then streams the audio to a session on a real socket against the
 * simulator, whose transcript of each turn is the words it hears in the turn's audio.
 *
 * Every seed must end with each word transcribed exactly once, in order; the session drained
 * (not failed, not hung); no fiber, timer or connection left; and one reconnect per dropped
 * connection, each dropped for its scripted fault.
 *
 * Everything but socket timing follows from the seed. Time is real (short timeouts): the
 * faults land wherever the sockets put them, which is the point. Reproduce one seed with
 * `CHAOS_SEEDS=1007 npx vitest run test/chaos/transcriptionSession`; explore with a range,
 * `CHAOS_SEEDS=1-200`.
 */
import { assert, describe, it } from "vitest"
import type {
  ConnectionFault,
  ConnectionScript,
  RecordedEvent,
  Simulator,
} from "../../src/simulator/index.ts"
import { createRandom, startSimulator } from "../../src/simulator/index.ts"
import type { SpeechEvent } from "../../src/stt/SpeechEvent.ts"
import {
  createTranscriptionSession,
  type TranscriptionSession,
  type TurnDetectionSetting,
} from "../../src/stt/TranscriptionSession.ts"
import { type Piece, speech, WORDS, wordsIn } from "../../src/testing/index.ts"
import { collect, eventually, finals, transcriptionConnections } from "../stt/transcriptionSessionHelpers.ts"
import { chaosSeeds, pick, randomInt, shuffled, withDeadline } from "./chaosHelpers.ts"

type Mode = "server_vad" | "local" | "manual"

const MODES: readonly Mode[] = ["server_vad", "local", "manual"]
const RATES_HZ = [8_000, 16_000, 24_000, 44_100, 48_000] as const
const RETRYABLE_CLOSE_CODES = [1006, 1006, 1011, 1012, 1001] as const
/** The session's timeouts (real time): short, so a stalled server costs about a second. */
const TIMEOUT_MS = 1_000
/** The longest a seed may take before it counts as a hang. */
const SEED_DEADLINE_MS = 15_000

/** One scripted fault, with the failure codes the session may record when it fires. */
interface PlannedFault {
  readonly fault: ConnectionFault
  readonly lossCodes: readonly string[]
  readonly label: string
}

/** A segment of the recording, pushed in chunks; `flush` says whether `flush()` follows it. */
interface Segment {
  readonly pieces: readonly Piece[]
  readonly flush: boolean
}

/** Everything a seed decides. */
interface TranscriptionPlan {
  readonly seed: number
  readonly mode: Mode
  readonly words: readonly string[]
  readonly segments: readonly Segment[]
  readonly rateHz: number
  readonly channels: 1 | 2
  /** Faults of the first connections, in connection order. */
  readonly faults: readonly PlannedFault[]
  readonly reconnectBaseMs: number
  /** Drawn while pushing: largest chunk in milliseconds. */
  readonly maxChunkMs: number
}

const frequencyOf = (word: string): number => {
  const entry = Object.entries(WORDS).find(([, w]) => w === word)
  if (entry === undefined) throw new Error(`not a test word: ${word}`)
  return Number(entry[0])
}

const planFault = (random: () => number): PlannedFault => {
  const byEvents = random() < 0.5
  const trigger = byEvents
    ? { afterEvents: randomInt(random, 1, 14) }
    : { afterClientEvents: randomInt(random, 1, 40), onType: "input_audio_buffer.append" }
  const at = byEvents ? `after ${trigger.afterEvents} events` : `after ${trigger.afterClientEvents} appends`
  const r = random()
  if (r < 0.35) {
    const code = pick(random, RETRYABLE_CLOSE_CODES)
    return {
      fault: { type: "close", code, ...trigger },
      // A destroyed socket may also surface as a read or write error on the client.
      lossCodes:
        code === 1006 ? ["close_1006", "socket_read_error", "socket_write_error"] : [`close_${code}`],
      label: `close ${code} ${at}`,
    }
  }
  if (r < 0.55) {
    return {
      fault: { type: "stall", ...trigger },
      lossCodes: ["stalled", "session_created_timeout", "session_updated_timeout", "heartbeat_timeout"],
      label: `stall ${at}`,
    }
  }
  if (r < 0.8) {
    return {
      fault: { type: "error", code: "server_error", ...trigger },
      lossCodes: ["server_error"],
      label: `server_error ${at}`,
    }
  }
  const closeAfter = random() < 0.5
  return {
    fault: { type: "error", code: "session_expired", ...(closeAfter ? { closeCode: 1000 } : {}), ...trigger },
    lossCodes: ["session_expired"],
    label: `session_expired${closeAfter ? " + close 1000" : ""} ${at}`,
  }
}

/** Draws a seed's recording, format and faults; consecutive seeds take turns with the modes. */
const planRun = (seed: number): TranscriptionPlan => {
  const random = createRandom(seed)
  const mode = MODES[seed % MODES.length] ?? "manual"
  const count = randomInt(random, 3, 7)
  const words = shuffled(random, Object.values(WORDS)).slice(0, count)
  // Silences: long enough for `wordsIn` to part two words (30 ms) even at a flush in their
  // middle, sometimes shorter than the VAD's silence (two words in one turn), often longer.
  const silence = () => randomInt(random, 150, mode === "local" ? 1_200 : 1_000)
  const segments: Segment[] = []
  let pieces: Piece[] = [{ silenceMs: randomInt(random, 100, 600) }]
  words.forEach((word, i) => {
    pieces.push({ word: frequencyOf(word), ms: randomInt(random, 200, 500) })
    const last = i === words.length - 1
    const gap = last ? randomInt(random, 0, 800) : silence()
    // Manual turns: a flush in the middle of some silences ends a turn there.
    if (mode === "manual" && !last && random() < 0.6) {
      const half = Math.floor(gap / 2)
      pieces.push({ silenceMs: half })
      segments.push({ pieces, flush: true })
      pieces = [{ silenceMs: gap - half }]
    } else if (gap > 0) {
      pieces.push({ silenceMs: gap })
    }
  })
  segments.push({ pieces, flush: false })
  const faultCount = pick(random, [0, 1, 1, 1, 2, 2, 2, 2, 3, 3])
  const faults = Array.from({ length: faultCount }, () => planFault(random))
  return {
    seed,
    mode,
    words,
    segments,
    rateHz: pick(random, RATES_HZ),
    channels: random() < 0.5 ? 1 : 2,
    faults,
    reconnectBaseMs: randomInt(random, 2, 30),
    // Now and then a whole segment in one push, as when a file is transcribed.
    maxChunkMs: random() < 0.15 ? 60_000 : randomInt(random, 5, 150),
  }
}

const describePlan = (plan: TranscriptionPlan): string =>
  [
    `seed ${plan.seed}: ${plan.mode}, ${plan.rateHz} Hz × ${plan.channels}, chunks ≤ ${plan.maxChunkMs} ms`,
    `words: ${plan.words.join(" ")}`,
    `segments: ${plan.segments
      .map(
        (s) =>
          `[${s.pieces.map((p) => ("word" in p ? `${WORDS[p.word]}:${p.ms}` : `_${p.silenceMs}`)).join(" ")}]${s.flush ? " flush" : ""}`,
      )
      .join(" ")}`,
    `faults: ${plan.faults.map((f, i) => `#${i + 1} ${f.label}`).join("; ") || "none"}`,
  ].join("\n")

const turnDetectionOf = (mode: Mode): TurnDetectionSetting =>
  mode === "server_vad"
    ? { type: "server_vad", silenceDurationMs: 400 }
    : mode === "local"
      ? { type: "local" }
      : null

const interleave = (mono: Int16Array, channels: number): Int16Array => {
  if (channels === 1) return mono
  const out = new Int16Array(mono.length * channels)
  for (let i = 0; i < mono.length; i++)
    for (let c = 0; c < channels; c++) out[i * channels + c] = mono[i] ?? 0
  return out
}

/**
 * Pushes the recording in chunks of random sizes, now and then yielding to the event loop
 * (a macrotask or a few milliseconds) so the faults land while audio is still coming.
 */
const feed = async (session: TranscriptionSession, plan: TranscriptionPlan): Promise<void> => {
  const random = createRandom(plan.seed ^ 0x5eed)
  const maxChunk = Math.max(1, Math.round((plan.maxChunkMs * plan.rateHz) / 1000))
  for (const segment of plan.segments) {
    const mono = speech(segment.pieces, plan.rateHz)
    for (let at = 0; at < mono.length; ) {
      const size = randomInt(random, 1, maxChunk)
      const part = mono.subarray(at, Math.min(mono.length, at + size))
      at += part.length
      session.pushFrame({
        data: interleave(part, plan.channels),
        sampleRateHz: plan.rateHz,
        channels: plan.channels,
      })
      const r = random()
      if (r < 0.2) await new Promise((resolve) => setTimeout(resolve, randomInt(random, 0, 4)))
      else if (r < 0.6) await new Promise((resolve) => setImmediate(resolve))
    }
    if (segment.flush) session.flush()
  }
  session.endInput()
}

/** The codes of the non-fatal error events that report a lost connection, in order. */
const LOSS_CODE =
  /^(close_\d+|socket_read_error|socket_write_error|stalled|session_created_timeout|session_updated_timeout|heartbeat_timeout|connect_timeout|connect_failed|server_error|session_expired)$/

const lossCodesOf = (events: readonly SpeechEvent[]): string[] =>
  events.flatMap((e) =>
    e.type === "error" && !e.fatal && LOSS_CODE.test(e.error.code) ? [e.error.code] : [],
  )

/** Client events of a connection, appends as their audio in ms (`+40`), the rest by name. */
const receivedSummary = (received: readonly RecordedEvent[]): string =>
  received
    .map((e) =>
      e.type === "input_audio_buffer.append"
        ? `+${Math.round(Buffer.from((e.payload as { audio?: string }).audio ?? "", "base64").length / 48)}`
        : e.type.replace(/^.*\./, ""),
    )
    .join(" ")

const summarize = (
  plan: TranscriptionPlan,
  sim: Simulator,
  session: TranscriptionSession | undefined,
  events: readonly SpeechEvent[],
): string => {
  const connections = transcriptionConnections(sim).map(
    (c) =>
      `#${c.id} ${c.open ? "open" : `closed ${c.closeCode}`}: received ${receivedSummary(c.received)}; sent ${c.sent.map((e) => (e as { type: string }).type.replace(/^.*\./, "")).join(",")}`,
  )
  const snapshot = session?.actor.getSnapshot()
  const shown = events
    .filter((e) => e.type !== "interim_transcript" && e.type !== "recognition_usage")
    .map((e) =>
      e.type === "final_transcript"
        ? `final(${e.alternatives[0]?.text ?? ""})`
        : e.type === "error"
          ? `error(${e.error.code}${e.fatal ? ", fatal" : ""})`
          : e.type === "transcription_failed"
            ? `failed(${e.error.code})`
            : e.type === "reconnected"
              ? `reconnected(${e.attempt})`
              : e.type,
    )
  return [
    describePlan(plan),
    `state: ${JSON.stringify(snapshot?.value)} (${snapshot?.status})`,
    `events: ${shown.join(" ")}`,
    ...connections,
  ].join("\n")
}

describe("transcription session under seeded network chaos", () => {
  for (const seed of chaosSeeds(1_000, 18)) {
    const plan = planRun(seed)
    it(`seed ${seed} (${plan.mode}, faulty connections: ${plan.faults.length}): every word once, in order; no hang, no leak`, async () => {
      const sim = await startSimulator({
        seed,
        scenario: { transcripts: (request) => wordsIn(request.audio, 24_000).join(" ") },
      })
      let session: TranscriptionSession | undefined
      let seen: SpeechEvent[] = []
      try {
        for (const { fault } of plan.faults) {
          const script: ConnectionScript = { faults: [fault] }
          sim.scenario.nextConnection("transcription", script)
        }
        session = createTranscriptionSession({
          apiKey: "sk-simulator",
          baseUrl: sim.url,
          env: {},
          seed,
          turnDetection: turnDetectionOf(plan.mode),
          reconnect: { baseDelayMs: plan.reconnectBaseMs, maxDelayMs: 100 },
          timeouts: {
            inactivityMs: TIMEOUT_MS,
            sessionCreatedMs: TIMEOUT_MS,
            sessionUpdatedMs: TIMEOUT_MS,
            drainMs: 5_000,
          },
        })
        const current = session
        const reading = collect(current).then((result) => {
          seen = result.events
          return result
        })
        await feed(current, plan)
        const { events, error } = await withDeadline(reading, SEED_DEADLINE_MS, () =>
          summarize(plan, sim, current, seen),
        )
        seen = events
        const report = () => summarize(plan, sim, current, events)

        // Drained, not failed: the iteration ended without an error.
        assert.isUndefined(error, report())
        await withDeadline(current.done, 5_000, report)
        assert.strictEqual(current.actor.getSnapshot().value, "closed", report())

        // Every word once, in order: nothing lost, no turn transcribed twice.
        const heard = finals(events).flatMap((text) => text.split(/\s+/).filter((w) => w.length > 0))
        assert.deepStrictEqual(heard, [...plan.words], report())
        assert.isFalse(
          events.some((e) => e.type === "transcription_failed"),
          report(),
        )

        // Nothing left: no fiber, no timer, the actor stopped, every connection closed.
        assert.deepStrictEqual(current.resources, { fibers: 0, timers: 0 }, report())
        assert.notStrictEqual(current.actor.getSnapshot().status, "active", report())
        await eventually(() => sim.connections.every((c) => !c.open)).catch(() =>
          assert.fail(`a connection is still open\n${report()}`),
        )

        // One reconnect per dropped connection, each dropped for the fault scripted on it.
        const connections = transcriptionConnections(sim)
        const dropped = connections.length - 1
        const losses = lossCodesOf(events)
        assert.isAtMost(dropped, plan.faults.length, `a connection dropped without a fault\n${report()}`)
        assert.strictEqual(losses.length, dropped, report())
        losses.forEach((code, i) => {
          assert.include(plan.faults[i]?.lossCodes ?? [], code, `connection #${i + 1}\n${report()}`)
        })
        const reconnects = events.flatMap((e) => (e.type === "reconnected" ? [e] : []))
        // `attempt` counts the connections lost since the last one that streamed.
        assert.strictEqual(
          reconnects.reduce((n, e) => n + e.attempt, 0),
          dropped,
          report(),
        )
        assert.strictEqual(
          current.actor.getSnapshot().context.metrics.reconnects,
          reconnects.length,
          report(),
        )
      } finally {
        await session?.close()
        await sim.close()
      }
    })
  }
})
