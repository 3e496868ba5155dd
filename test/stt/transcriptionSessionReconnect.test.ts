/**
 * The reconnect promise of the transcription session, on real sockets against the
 * simulator: no spoken word is lost whatever ends a connection (a 1006 close mid-speech, a
 * close after a commit whose transcript never came, a `server_error`), reconnects are
 * bounded and jittered, an old connection is rotated only at a quiet moment, and fatal
 * errors end the session after exactly one connection. Where time matters it is virtual
 * (`TestClock`): machine delays and backoff run on it, the simulator on real time.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import {
  backoffDelayMs,
  DEFAULT_LIFECYCLE_TIMEOUTS,
  DEFAULT_RECONNECT_POLICY,
} from "../../machines/lifecycle/sessionLifecycle.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import { isSTTError } from "../../src/stt/retry.ts"
import type { SpeechEvent } from "../../src/stt/SpeechEvent.ts"
import {
  createTranscriptionSession,
  TranscriptionSession,
  type TranscriptionSessionOptions,
} from "../../src/stt/TranscriptionSession.ts"
import { speech, WORDS, wordsIn } from "../../src/testing/index.ts"
import { RealtimeSocket } from "../../src/transport/index.ts"
import {
  appendedSamples,
  collect,
  concat,
  eventually,
  finals,
  handlesBackTo,
  pushAudio,
  receivedOf,
  settledHandles,
  silenceAt,
  toneAt,
  transcriptionConnections,
} from "./transcriptionSessionHelpers.ts"

const withSimulator = <A, E, R>(
  options: Parameters<typeof startSimulator>[0],
  use: (sim: Simulator) => Effect.Effect<A, E, R>,
) =>
  Effect.acquireUseRelease(
    Effect.promise(() => startSimulator(options)),
    use,
    (sim) => Effect.promise(() => sim.close()),
  )

const wait = (predicate: () => boolean) => Effect.promise(() => eventually(predicate))

const optionsFor = (
  sim: Simulator,
  extra: Omit<TranscriptionSessionOptions, "context"> = {},
): TranscriptionSessionOptions => ({
  apiKey: "sk-simulator",
  baseUrl: sim.url,
  env: {},
  turnDetection: null,
  ...extra,
})

/** Answers each turn with the number of 24 kHz samples the server received for it. */
const sampleCount = { transcripts: (request: { audio: Int16Array }) => `${request.audio.length}` }

const serverSent = (sim: Simulator, index: number): string[] =>
  (transcriptionConnections(sim)[index]?.sent ?? []).map((e) => (e as { type: string }).type)

const errorCodes = (events: readonly SpeechEvent[], fatal: boolean): string[] =>
  events.flatMap((e) => (e.type === "error" && e.fatal === fatal ? [e.error.code] : []))

describe("no spoken word is lost across a reconnect", () => {
  it.live("replays a committed turn whose transcript never came after the connection closed", () =>
    withSimulator({ scenario: sampleCount }, (sim) =>
      Effect.promise(async () => {
        // created, updated, committed: the connection closes right after the commit is acknowledged.
        sim.scenario.nextConnection("transcription", {
          faults: [{ type: "close", code: 1011, afterEvents: 3 }],
        })
        const session = createTranscriptionSession(
          optionsFor(sim, { reconnect: { baseDelayMs: 5, jitter: 0 } }),
        )
        const done = collect(session)
        await eventually(() => session.actor.getSnapshot().matches({ online: "streaming" }))
        const turn = toneAt(700)
        pushAudio(session, turn)
        session.flush()
        await eventually(() => transcriptionConnections(sim).length === 2)
        session.endInput()
        const { events, error } = await done
        assert.isUndefined(error)
        const [first, second] = transcriptionConnections(sim)
        // The first connection acknowledged the commit and never sent its transcript.
        assert.include(serverSent(sim, 0), "input_audio_buffer.committed")
        assert.notInclude(serverSent(sim, 0), "conversation.item.input_audio_transcription.completed")
        assert.strictEqual(first?.closeCode, 1011)
        // The second connection received the whole turn again and committed it once.
        assert.strictEqual(appendedSamples(second), turn.length)
        assert.strictEqual(receivedOf(second, "input_audio_buffer.commit").length, 1)
        assert.deepStrictEqual(finals(events), [String(turn.length)])
        const reconnected = events.find((e) => e.type === "reconnected")
        assert.deepStrictEqual(reconnected, { type: "reconnected", attempt: 1, replayedMs: 700 })
        assert.deepStrictEqual(errorCodes(events, false), ["close_1011"])
      }),
    ),
  )

  it.live("reconnects after a server_error event and replays the turn it interrupted", () =>
    withSimulator({ scenario: sampleCount }, (sim) =>
      Effect.promise(async () => {
        sim.scenario.nextConnection("transcription", {
          faults: [{ type: "error", code: "server_error", afterEvents: 3 }],
        })
        const session = createTranscriptionSession(
          optionsFor(sim, { reconnect: { baseDelayMs: 5, jitter: 0 } }),
        )
        const done = collect(session)
        await eventually(() => session.actor.getSnapshot().matches({ online: "streaming" }))
        const turn = toneAt(500)
        pushAudio(session, turn)
        session.flush()
        await eventually(() => transcriptionConnections(sim).length === 2)
        session.endInput()
        const { events, error } = await done
        assert.isUndefined(error)
        assert.deepStrictEqual(errorCodes(events, false), ["server_error"])
        assert.isTrue(events.some((e) => e.type === "reconnected" && e.attempt === 1))
        const [first, second] = transcriptionConnections(sim)
        // The session itself left the connection the server errored on.
        await eventually(() => first?.open === false)
        assert.strictEqual(appendedSamples(second), turn.length)
        assert.deepStrictEqual(finals(events), [String(turn.length)])
      }),
    ),
  )

  it.live("recovers speech cut by a 1006 close with server VAD: the final covers the whole utterance", () =>
    withSimulator({ scenario: sampleCount }, (sim) =>
      Effect.promise(async () => {
        // Destroyed in the middle of the utterance (the 30th append: 1.2 s in, speech began at 0.5 s).
        sim.scenario.nextConnection("transcription", {
          faults: [{ type: "close", code: 1006, afterClientEvents: 30, onType: "input_audio_buffer.append" }],
        })
        const session = createTranscriptionSession(
          optionsFor(sim, {
            turnDetection: { type: "server_vad", silenceDurationMs: 400 },
            reconnect: { baseDelayMs: 5, jitter: 0 },
          }),
        )
        const done = collect(session)
        await eventually(() => session.actor.getSnapshot().matches({ online: "streaming" }))
        const speech = toneAt(1500)
        const audio = concat(silenceAt(500), speech, silenceAt(1000))
        // 40 ms at a time, yielding to the event loop so the close lands mid-utterance.
        for (let i = 0; i < audio.length; i += 960) {
          session.pushFrame({ data: audio.subarray(i, i + 960), sampleRateHz: 24_000, channels: 1 })
          await new Promise((resolve) => setTimeout(resolve, 1))
        }
        session.endInput()
        const { events, error } = await done
        assert.isUndefined(error)
        const [first, second] = transcriptionConnections(sim)
        assert.strictEqual(first?.closeCode, 1006)
        // The first connection heard the speech begin and was lost before committing it.
        assert.include(serverSent(sim, 0), "input_audio_buffer.speech_started")
        assert.notInclude(serverSent(sim, 0), "input_audio_buffer.committed")
        assert.isDefined(second)
        assert.isTrue(events.some((e) => e.type === "reconnected"))
        const heard = finals(events).map(Number)
        assert.strictEqual(heard.length, 1)
        // The turn the second connection transcribed holds all of the utterance.
        assert.isAtLeast(heard[0] ?? 0, speech.length)
      }),
    ),
  )
})

describe("bounded, jittered reconnects", () => {
  it.live(
    "gives up after maxAttempts with a fatal error event, having opened exactly 1 + maxAttempts connections",
    () =>
      withSimulator({}, (sim) =>
        Effect.promise(async () => {
          for (let i = 0; i < 5; i++)
            sim.scenario.nextConnection("transcription", { faults: [{ type: "close", code: 1011 }] })
          const baseline = await settledHandles()
          const session = createTranscriptionSession(
            optionsFor(sim, { reconnect: { maxAttempts: 2, baseDelayMs: 5, jitter: 0 } }),
          )
          const { events, error } = await collect(session)
          await session.done
          assert.isTrue(isSTTError(error) && error.reason._tag === "Failed")
          assert.strictEqual(transcriptionConnections(sim).length, 3)
          assert.deepStrictEqual(errorCodes(events, false), ["close_1011", "close_1011"])
          const last = events.at(-1)
          assert.isTrue(last?.type === "error" && last.fatal)
          assert.match(last?.type === "error" ? last.error.message : "", /gave up after 2 reconnect attempts/)
          assert.deepStrictEqual(session.resources, { fibers: 0, timers: 0 })
          await handlesBackTo(baseline)
        }),
      ),
  )

  it.effect("waits a jittered, doubling delay on the test clock before each attempt", () =>
    withSimulator({}, (sim) =>
      Effect.gen(function* () {
        for (let i = 0; i < 2; i++)
          sim.scenario.nextConnection("transcription", { faults: [{ type: "close", code: 1011 }] })
        const policy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 10_000, jitter: 0.5 }
        const session = yield* TranscriptionSession.make(optionsFor(sim, { reconnect: policy, seed: 12345 }))
        const delays: number[] = []
        for (const attempt of [1, 2]) {
          yield* wait(
            () =>
              session.actor.getSnapshot().matches("reconnecting") &&
              session.actor.getSnapshot().context.lifecycle.attempt === attempt,
          )
          const delay = session.actor.getSnapshot().context.lifecycle.reconnectDelayMs
          delays.push(delay)
          // Jittered within [half, whole] of the doubled base delay.
          const whole = backoffDelayMs({ ...policy, jitter: 0 }, attempt, 0)
          assert.isAtLeast(delay, whole / 2)
          assert.isAtMost(delay, whole)
          yield* TestClock.adjust(delay - 1)
          assert.isTrue(session.actor.getSnapshot().matches("reconnecting"))
          assert.strictEqual(session.actor.getSnapshot().context.lifecycle.connections, attempt)
          yield* TestClock.adjust(1)
          assert.isFalse(session.actor.getSnapshot().matches("reconnecting"))
          assert.strictEqual(session.actor.getSnapshot().context.lifecycle.connections, attempt + 1)
          yield* wait(() => transcriptionConnections(sim).length === attempt + 1)
        }
        yield* wait(() => session.actor.getSnapshot().matches({ online: "streaming" }))
        // Jitter moved at least one delay off its un-jittered value.
        assert.isTrue(delays[0] !== 1_000 || delays[1] !== 2_000)
      }),
    ).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.live("draws different delays for different seeds", () =>
    withSimulator({}, (sim) =>
      Effect.promise(async () => {
        const firstDelay = async (seed: number): Promise<number> => {
          sim.scenario.nextConnection("transcription", { faults: [{ type: "close", code: 1011 }] })
          const session = createTranscriptionSession(
            optionsFor(sim, { reconnect: { baseDelayMs: 60_000, maxDelayMs: 60_000, jitter: 1 }, seed }),
          )
          await eventually(() => session.actor.getSnapshot().matches("reconnecting"))
          const delay = session.actor.getSnapshot().context.lifecycle.reconnectDelayMs
          await session.close()
          return delay
        }
        const delays = new Set([await firstDelay(1), await firstDelay(2), await firstDelay(3)])
        assert.strictEqual(delays.size, 3)
      }),
    ),
  )
})

describe("rotation before the session cap", () => {
  it.effect("replaces an old connection only once its pending turn is transcribed, losing nothing", () =>
    withSimulator(
      { scenario: { transcripts: (request) => ({ text: `${request.audio.length}`, delayMs: 200 }) } },
      (sim) =>
        Effect.gen(function* () {
          const session = yield* TranscriptionSession.make(
            optionsFor(sim, { timeouts: { rotateAfterMs: 10_000 } }),
          )
          const events = Effect.runPromise(Effect.promise(() => collect(session)))
          yield* wait(() => session.actor.getSnapshot().matches({ online: "streaming" }))
          pushAudio(session, toneAt(400))
          session.flush()
          // The connection is old now, but a transcript is outstanding: not a quiet moment.
          yield* TestClock.adjust("10 seconds")
          assert.isTrue(session.actor.getSnapshot().context.lifecycle.rotationDue)
          assert.strictEqual(transcriptionConnections(sim).length, 1)
          yield* wait(() => session.actor.getSnapshot().context.metrics.finalTurns === 1)
          // The transcript arrived: the session is quiet and rotates at once.
          yield* wait(() => transcriptionConnections(sim).length === 2)
          yield* wait(() => session.actor.getSnapshot().matches({ online: "streaming" }))
          const [first, second] = transcriptionConnections(sim)
          yield* wait(() => first?.open === false)
          assert.strictEqual(first?.closeCode, 1000)
          // Nothing was owed, so nothing is replayed; the next turn goes on the new connection.
          assert.strictEqual(appendedSamples(second), 0)
          pushAudio(session, toneAt(300))
          session.endInput()
          const { events: seen, error } = yield* Effect.promise(() => events)
          assert.isUndefined(error)
          assert.deepStrictEqual(finals(seen), [String(400 * 24), String(300 * 24)])
          assert.deepStrictEqual(errorCodes(seen, false), [])
          assert.isFalse(seen.some((e) => e.type === "reconnected"))
          assert.strictEqual(appendedSamples(second), 300 * 24)
          assert.strictEqual(session.actor.getSnapshot().context.lifecycle.connections, 2)
        }),
    ).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("does not rotate while the user is speaking (server VAD)", () =>
    withSimulator({ scenario: sampleCount }, (sim) =>
      Effect.gen(function* () {
        const session = yield* TranscriptionSession.make(
          optionsFor(sim, {
            turnDetection: { type: "server_vad", silenceDurationMs: 300 },
            timeouts: { rotateAfterMs: 5_000 },
          }),
        )
        const events = Effect.runPromise(Effect.promise(() => collect(session)))
        yield* wait(() => session.actor.getSnapshot().matches({ online: "streaming" }))
        pushAudio(session, concat(silenceAt(300), toneAt(800)))
        yield* wait(() =>
          session.actor.getSnapshot().matches({ online: { streaming: { turn: "speaking" } } }),
        )
        yield* TestClock.adjust("5 seconds")
        assert.strictEqual(transcriptionConnections(sim).length, 1)
        pushAudio(session, silenceAt(800))
        yield* wait(() => session.actor.getSnapshot().context.metrics.finalTurns === 1)
        yield* wait(() => transcriptionConnections(sim).length === 2)
        session.endInput()
        const { events: seen, error } = yield* Effect.promise(() => events)
        assert.isUndefined(error)
        assert.strictEqual(finals(seen).length, 1)
        assert.isAtLeast(Number(finals(seen)[0]), 800 * 24)
        assert.deepStrictEqual(errorCodes(seen, false), [])
      }),
    ).pipe(Effect.provide(RealtimeSocket.layer)),
  )
})

describe("fatal errors end the session after one connection", () => {
  const fatalCases: ReadonlyArray<
    readonly [string, Parameters<Simulator["scenario"]["nextConnection"]>[1], string]
  > = [
    ["a 401 upgrade", { faults: [{ type: "reject", status: 401 }] }, "http_401"],
    ["a 403 upgrade", { faults: [{ type: "reject", status: 403 }] }, "http_403"],
    [
      "invalid_api_key",
      { faults: [{ type: "error", code: "invalid_api_key", afterEvents: 1 }] },
      "invalid_api_key",
    ],
    [
      "insufficient_quota",
      { faults: [{ type: "error", code: "insufficient_quota", afterEvents: 2 }] },
      "insufficient_quota",
    ],
    [
      "beta_api_shape_disabled",
      { faults: [{ type: "error", code: "beta_api_shape_disabled", afterEvents: 1 }] },
      "beta_api_shape_disabled",
    ],
  ]

  for (const [name, script, code] of fatalCases) {
    it.effect(`fails on ${name} with a fatal error event and never retries`, () =>
      withSimulator({}, (sim) =>
        Effect.gen(function* () {
          sim.scenario.nextConnection("transcription", script)
          const session = yield* TranscriptionSession.make(
            optionsFor(sim, { reconnect: { baseDelayMs: 10, jitter: 0 } }),
          )
          const { events, error } = yield* Effect.promise(() => collect(session))
          assert.isTrue(isSTTError(error) && error.reason._tag === "Failed")
          assert.deepStrictEqual(errorCodes(events, false), [])
          assert.deepStrictEqual(errorCodes(events, true), [code])
          assert.isFalse(
            events.some((e) => e.type === "error" && e.fatal && e.error.retryable),
            "a fatal error is not retryable",
          )
          yield* Effect.promise(() => session.done)
          // Well past any backoff: still the one connection.
          yield* TestClock.adjust("1 minute")
          assert.strictEqual(sim.connections.length, 1)
          assert.deepStrictEqual(session.resources, { fibers: 0, timers: 0 })
        }),
      ).pipe(Effect.provide(RealtimeSocket.layer)),
    )
  }
})

describe("no word lost or doubled where the chaos tests found one", () => {
  /** The simulator transcribes a turn as the tone words it hears in the turn's audio. */
  const hearsWords = {
    transcripts: (request: { audio: Int16Array }) => wordsIn(request.audio, 24_000).join(" "),
  }
  const names = Object.values(WORDS)
  /** Words of the recording, each `wordMs` long, separated by `gapMs` of silence. */
  const recording = (count: number, wordMs: number, gapMs: number) => {
    const frequencies = Object.keys(WORDS).map(Number)
    const pieces = Array.from({ length: count }, (_, i) => [
      { word: frequencies[i % frequencies.length] ?? 200, ms: wordMs },
      { silenceMs: gapMs },
    ]).flat()
    return {
      audio: speech([{ silenceMs: 300 }, ...pieces], 24_000),
      words: Array.from({ length: count }, (_, i) => names[i % names.length]),
    }
  }
  const heard = (events: readonly SpeechEvent[]) => finals(events).join(" ").split(" ").filter(Boolean)

  it.live(
    "transcribes a 40 s recording pushed at once with server VAD: audio waiting to be sent is never trimmed",
    () =>
      withSimulator({ scenario: hearsWords }, (sim) =>
        Effect.promise(async () => {
          const { audio, words } = recording(20, 400, 1_600)
          const session = createTranscriptionSession(
            optionsFor(sim, { turnDetection: { type: "server_vad" } }),
          )
          const done = collect(session)
          // Before the socket is even open: all of it waits in the buffer to be sent.
          session.pushFrame({ data: audio, sampleRateHz: 24_000, channels: 1 })
          session.endInput()
          const { events, error } = await done
          assert.isUndefined(error)
          assert.deepStrictEqual(heard(events), words)
        }),
      ),
  )

  it.live("ends a local turn where the VAD decided: words pushed at once each get one turn, none twice", () =>
    withSimulator({ scenario: hearsWords }, (sim) =>
      Effect.promise(async () => {
        // 600 ms pauses end a turn (the VAD needs 500 ms); the VAD decides inside each pause.
        const { audio, words } = recording(5, 300, 600)
        const session = createTranscriptionSession(optionsFor(sim, { turnDetection: "local" }))
        const done = collect(session)
        await eventually(() => session.actor.getSnapshot().matches({ online: "streaming" }))
        session.pushFrame({ data: audio, sampleRateHz: 24_000, channels: 1 })
        session.endInput()
        const { events, error } = await done
        assert.isUndefined(error)
        assert.deepStrictEqual(finals(events), words)
      }),
    ),
  )

  it.effect("replays whole the utterances a stalled server never reacted to (server VAD)", () =>
    withSimulator({ scenario: hearsWords }, (sim) =>
      Effect.gen(function* () {
        // The server stops answering once configured: it hears the audio and says nothing.
        sim.scenario.nextConnection("transcription", { faults: [{ type: "stall", afterEvents: 2 }] })
        const session = yield* TranscriptionSession.make(
          optionsFor(sim, {
            turnDetection: { type: "server_vad", silenceDurationMs: 400 },
            timeouts: { inactivityMs: 1_000 },
            reconnect: { baseDelayMs: 10, jitter: 0 },
          }),
        )
        const events = Effect.runPromise(Effect.promise(() => collect(session)))
        yield* wait(() => session.actor.getSnapshot().matches({ online: "streaming" }))
        // 4 s of speech, far more than the 1.3 s an idle trim would keep.
        const { audio, words } = recording(4, 400, 600)
        session.pushFrame({ data: audio, sampleRateHz: 24_000, channels: 1 })
        yield* wait(() => appendedSamples(transcriptionConnections(sim)[0]) === audio.length)
        yield* TestClock.adjust("1 second")
        assert.isTrue(session.actor.getSnapshot().matches("reconnecting"))
        yield* TestClock.adjust("10 millis")
        yield* wait(() => transcriptionConnections(sim).length === 2)
        session.endInput()
        const { events: seen, error } = yield* Effect.promise(() => events)
        assert.isUndefined(error)
        assert.deepStrictEqual(heard(seen), words)
        assert.deepStrictEqual(errorCodes(seen, false), ["stalled"])
      }),
    ).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("catches a server that stalls after end of input and replays the last turn", () =>
    withSimulator({ scenario: hearsWords }, (sim) =>
      Effect.gen(function* () {
        sim.scenario.nextConnection("transcription", {
          faults: [{ type: "stall", onType: "input_audio_buffer.commit" }],
        })
        const session = yield* TranscriptionSession.make(
          optionsFor(sim, { timeouts: { inactivityMs: 2_000 }, reconnect: { baseDelayMs: 10, jitter: 0 } }),
        )
        const events = Effect.runPromise(Effect.promise(() => collect(session)))
        yield* wait(() => session.actor.getSnapshot().matches({ online: "streaming" }))
        const { audio, words } = recording(2, 300, 300)
        session.pushFrame({ data: audio, sampleRateHz: 24_000, channels: 1 })
        session.endInput()
        yield* wait(
          () => receivedOf(transcriptionConnections(sim)[0], "input_audio_buffer.commit").length === 1,
        )
        // Draining, owed the transcript; well within the default 30 s drain timeout, the stall is caught.
        yield* TestClock.adjust("2 seconds")
        assert.isTrue(session.actor.getSnapshot().matches("reconnecting"))
        yield* TestClock.adjust("10 millis")
        const { events: seen, error } = yield* Effect.promise(() => events)
        assert.isUndefined(error)
        assert.deepStrictEqual(heard(seen), words)
        assert.isFalse(seen.some((e) => e.type === "transcription_failed"))
        assert.strictEqual(appendedSamples(transcriptionConnections(sim)[1]), audio.length)
      }),
    ).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("recovers a stall after end of input with the default timeouts and reconnect policy", () =>
    withSimulator({ scenario: hearsWords }, (sim) =>
      Effect.gen(function* () {
        sim.scenario.nextConnection("transcription", {
          faults: [{ type: "stall", onType: "input_audio_buffer.commit" }],
        })
        const session = yield* TranscriptionSession.make(optionsFor(sim))
        const events = Effect.runPromise(Effect.promise(() => collect(session)))
        yield* wait(() => session.actor.getSnapshot().matches({ online: "streaming" }))
        const { audio, words } = recording(2, 300, 300)
        session.pushFrame({ data: audio, sampleRateHz: 24_000, channels: 1 })
        session.endInput()
        yield* wait(
          () => receivedOf(transcriptionConnections(sim)[0], "input_audio_buffer.commit").length === 1,
        )
        // Draining and owed the transcript: the default inactivity wait runs out first...
        yield* TestClock.adjust(DEFAULT_LIFECYCLE_TIMEOUTS.inactivityMs)
        assert.isTrue(session.actor.getSnapshot().matches("reconnecting"))
        // ...and the first reconnect comes within the default backoff, before the drain would end.
        yield* TestClock.adjust(backoffDelayMs(DEFAULT_RECONNECT_POLICY, 1, 1))
        yield* wait(() => transcriptionConnections(sim).length === 2)
        const { events: seen, error } = yield* Effect.promise(() => events)
        assert.isUndefined(error)
        assert.deepStrictEqual(heard(seen), words)
        assert.deepStrictEqual(errorCodes(seen, false), ["stalled"])
        assert.isFalse(seen.some((e) => e.type === "transcription_failed"))
        assert.strictEqual(appendedSamples(transcriptionConnections(sim)[1]), audio.length)
      }),
    ).pipe(Effect.provide(RealtimeSocket.layer)),
  )
})
