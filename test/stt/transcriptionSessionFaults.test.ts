import { createServer, type Server, type Socket } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect } from "effect"
import { TestClock } from "effect/testing"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import {
  createTranscriptionSession,
  TranscriptionSession,
  type TranscriptionSessionOptions,
} from "../../src/stt/TranscriptionSession.ts"
import { connectWebSocket, RealtimeSocket, type RealtimeSocketShape } from "../../src/transport/index.ts"
import {
  activeHandles,
  appendedSamples,
  collect,
  eventually,
  finals,
  handlesBackTo,
  pushAudio,
  receivedOf,
  settledHandles,
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

const options = (sim: Simulator, extra: Omit<TranscriptionSessionOptions, "context"> = {}) => ({
  apiKey: "sk-simulator",
  baseUrl: sim.url,
  env: {},
  turnDetection: null,
  ...extra,
})

describe("transcription session in virtual time", () => {
  it.effect("catches a stalled server with the inactivity timeout and recovers the turn", () =>
    // The transcript is resolved at each commit: the stalled connection's commit counts too.
    withSimulator({ scenario: { transcripts: () => "recovered" } }, (sim) =>
      Effect.gen(function* () {
        sim.scenario.nextConnection("transcription", {
          faults: [{ type: "stall", afterClientEvents: 1, onType: "input_audio_buffer.commit" }],
        })
        const session = yield* TranscriptionSession.make(
          options(sim, { timeouts: { inactivityMs: 5_000 }, reconnect: { baseDelayMs: 200, jitter: 0 } }),
        )
        const events = Effect.runPromise(Effect.promise(() => collect(session)))
        yield* wait(() => session.actor.getSnapshot().matches({ online: "streaming" }))
        pushAudio(session, toneAt(400))
        session.flush()
        yield* wait(
          () => receivedOf(transcriptionConnections(sim)[0], "input_audio_buffer.commit").length === 1,
        )
        yield* TestClock.adjust("4999 millis")
        assert.isTrue(session.actor.getSnapshot().matches({ online: "streaming" }))
        yield* TestClock.adjust("1 millis")
        assert.isTrue(session.actor.getSnapshot().matches("reconnecting"))
        assert.strictEqual(session.actor.getSnapshot().context.lifecycle.lastFailure?.code, "stalled")
        yield* TestClock.adjust("200 millis")
        yield* wait(() => session.actor.getSnapshot().context.metrics.finalTurns === 1)
        session.endInput()
        const { events: seen, error } = yield* Effect.promise(() => events)
        assert.isUndefined(error)
        assert.deepStrictEqual(finals(seen), ["recovered"])
        assert.isTrue(seen.some((e) => e.type === "error" && !e.fatal && e.error.code === "stalled"))
        assert.isTrue(seen.some((e) => e.type === "reconnected" && e.attempt === 1))
        const second = transcriptionConnections(sim)[1]
        assert.strictEqual(appendedSamples(second), 400 * 24)
        assert.strictEqual(receivedOf(second, "input_audio_buffer.commit").length, 1)
      }),
    ).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("waits out the jittered backoff on the test clock before reconnecting", () =>
    withSimulator({}, (sim) =>
      Effect.gen(function* () {
        sim.scenario.nextConnection("transcription", {
          faults: [{ type: "close", code: 1011, afterEvents: 2 }],
        })
        const session = yield* TranscriptionSession.make(
          options(sim, { reconnect: { baseDelayMs: 1_000, maxDelayMs: 1_000, jitter: 0 } }),
        )
        yield* wait(() => session.actor.getSnapshot().matches("reconnecting"))
        yield* TestClock.adjust("999 millis")
        assert.strictEqual(transcriptionConnections(sim).length, 1)
        yield* TestClock.adjust("1 millis")
        yield* wait(() => session.actor.getSnapshot().matches({ online: "streaming" }))
        assert.strictEqual(transcriptionConnections(sim).length, 2)
      }),
    ).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("closes the session when its scope closes", () =>
    withSimulator({}, (sim) =>
      Effect.gen(function* () {
        const session = yield* Effect.scoped(
          Effect.gen(function* () {
            const s = yield* TranscriptionSession.make(options(sim))
            yield* wait(() => s.actor.getSnapshot().matches({ online: "streaming" }))
            return s
          }),
        )
        assert.notStrictEqual(session.actor.getSnapshot().status, "active")
        assert.deepStrictEqual(session.resources, { fibers: 0, timers: 0 })
        yield* wait(() => transcriptionConnections(sim).every((c) => !c.open))
      }),
    ).pipe(Effect.provide(RealtimeSocket.layer)),
  )
})

/** A TCP server that accepts connections and never answers the WebSocket upgrade. */
const silentServer = async (): Promise<{
  url: string
  sockets: Socket[]
  closed: Set<Socket>
  server: Server
}> => {
  const sockets: Socket[] = []
  const closed = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.push(socket)
    socket.resume()
    socket.on("close", () => closed.add(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("no port")
  return { url: `http://127.0.0.1:${address.port}/v1`, sockets, closed, server }
}

describe("close() in every state", () => {
  const closeAndCheck = async (
    session: ReturnType<typeof createTranscriptionSession>,
    baseline: ReturnType<typeof activeHandles>,
    sim?: Simulator,
  ) => {
    // The count sees the session: its socket and its clock's timers are live until closed.
    const open = activeHandles()
    if (open.sockets + open.timers <= baseline.sockets + baseline.timers)
      throw new Error("the handle count does not see the running session")
    await session.close()
    if (session.actor.getSnapshot().status === "active") throw new Error("actor still running")
    const { fibers, timers } = session.resources
    if (fibers !== 0 || timers !== 0) throw new Error(`left ${fibers} fibers and ${timers} timers`)
    if (sim !== undefined) await eventually(() => sim.connections.every((c) => !c.open))
    // The process agrees: no socket or timer outlives the session (both ends of each
    // simulator connection are in this process, so its sockets count too).
    await handlesBackTo(baseline)
    // Further calls are harmless.
    await session.close()
    session.endInput()
  }

  it.live("leaves nothing running when closed while connecting", () =>
    Effect.promise(async () => {
      const silent = await silentServer()
      const baseline = await settledHandles()
      const session = createTranscriptionSession({
        apiKey: "sk-x",
        baseUrl: silent.url,
        env: {},
        turnDetection: null,
      })
      await eventually(() => silent.sockets.length === 1)
      assert.isTrue(session.actor.getSnapshot().matches({ online: "connecting" }))
      await closeAndCheck(session, baseline)
      await eventually(() => silent.closed.size === silent.sockets.length)
      await new Promise<void>((resolve) => silent.server.close(() => resolve()))
    }),
  )

  it.live("leaves nothing running when closed in each state of a live session", () =>
    Effect.promise(async () => {
      const sim = await startSimulator({ scenario: { transcripts: [{ text: "late", delayMs: 60_000 }] } })
      try {
        const cases: Array<[string, () => Promise<ReturnType<typeof createTranscriptionSession>>]> = [
          [
            "awaitingSessionCreated",
            async () => {
              sim.scenario.nextConnection("transcription", { latency: { firstEventMs: 60_000 } })
              const s = createTranscriptionSession(options(sim))
              await eventually(() => s.actor.getSnapshot().matches({ online: "awaitingSessionCreated" }))
              return s
            },
          ],
          [
            "configuring",
            async () => {
              sim.scenario.nextConnection("transcription", { faults: [{ type: "stall", afterEvents: 1 }] })
              const s = createTranscriptionSession(options(sim))
              await eventually(() => s.actor.getSnapshot().matches({ online: "configuring" }))
              return s
            },
          ],
          [
            "streaming",
            async () => {
              const s = createTranscriptionSession(options(sim))
              await eventually(() => s.actor.getSnapshot().matches({ online: "streaming" }))
              pushAudio(s, toneAt(200))
              return s
            },
          ],
          [
            "draining",
            async () => {
              const s = createTranscriptionSession(options(sim))
              await eventually(() => s.actor.getSnapshot().matches({ online: "streaming" }))
              pushAudio(s, toneAt(300))
              s.endInput()
              await eventually(() => s.actor.getSnapshot().matches({ online: "draining" }))
              return s
            },
          ],
          [
            "reconnecting",
            async () => {
              sim.scenario.nextConnection("transcription", {
                faults: [{ type: "close", code: 1006, afterEvents: 2 }],
              })
              const s = createTranscriptionSession({ ...options(sim), reconnect: { baseDelayMs: 60_000 } })
              await eventually(() => s.actor.getSnapshot().matches("reconnecting"))
              return s
            },
          ],
        ]
        for (const [state, reach] of cases) {
          const baseline = await settledHandles()
          const session = await reach()
          try {
            await closeAndCheck(session, baseline, sim)
          } catch (error) {
            throw new Error(`closing in ${state}: ${String(error)}`)
          }
        }
      } finally {
        await sim.close()
      }
    }),
  )

  it.live("releases everything by itself once the input has drained", () =>
    Effect.promise(async () => {
      const sim = await startSimulator({ scenario: { transcripts: ["all done"] } })
      try {
        const baseline = await settledHandles()
        const session = createTranscriptionSession(options(sim))
        pushAudio(session, toneAt(300))
        session.endInput()
        const { events } = await collect(session)
        assert.deepStrictEqual(finals(events), ["all done"])
        await session.done
        assert.deepStrictEqual(session.resources, { fibers: 0, timers: 0 })
        await eventually(() => sim.connections.every((c) => !c.open))
        await handlesBackTo(baseline)
      } finally {
        await sim.close()
      }
    }),
  )
})

describe("back-pressure", () => {
  it.live("keeps audio in the replay buffer while the socket is slow, reports it, then catches up", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      let gateOpen = false
      const slow: RealtimeSocketShape = {
        connect: (connectOptions) =>
          Effect.map(connectWebSocket(connectOptions), (connection) => ({
            ...connection,
            send: (text: string) =>
              !gateOpen && text.startsWith('{"type":"input_audio_buffer.append"')
                ? Effect.andThen(Deferred.await(gate), connection.send(text))
                : connection.send(text),
            bufferedAmount: () => (gateOpen ? connection.bufferedAmount() : 1 << 30),
          })),
      }
      const sim = yield* Effect.promise(() => startSimulator({ scenario: { transcripts: ["caught up"] } }))
      const session = createTranscriptionSession({
        ...options(sim),
        maxBufferedMs: 200,
        context: Context.make(RealtimeSocket, slow),
      })
      yield* wait(() => session.actor.getSnapshot().matches({ online: "streaming" }))
      const done = collect(session)
      pushAudio(session, toneAt(1000))
      yield* wait(() => session.actor.getSnapshot().context.backlogReported)
      gateOpen = true
      yield* Deferred.succeed(gate, undefined)
      yield* wait(() => !session.actor.getSnapshot().context.backlogReported)
      session.endInput()
      const { events } = yield* Effect.promise(() => done)
      const backlog = events.find((e) => e.type === "error" && e.error.code === "audio_backlog")
      assert.isTrue(backlog !== undefined && backlog.type === "error" && !backlog.fatal)
      assert.deepStrictEqual(finals(events), ["caught up"])
      assert.strictEqual(appendedSamples(transcriptionConnections(sim)[0]), 1000 * 24)
      yield* Effect.promise(() => sim.close())
    }),
  )
})
