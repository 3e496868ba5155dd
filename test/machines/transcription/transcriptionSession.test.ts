import { describe, expect, it } from "vitest"
import { createActor, fromCallback, SimulatedClock } from "xstate"
import { getStateNodes } from "xstate/graph"
import { DEFAULT_LIFECYCLE_TIMEOUTS } from "../../../machines/lifecycle/sessionLifecycle.ts"
import { transcriptionSessionMachine } from "../../../machines/transcription/transcriptionSession.ts"
import type { SpeechEvent } from "../../../src/stt/SpeechEvent.ts"
import { startHarness } from "./transcriptionSessionHarness.ts"

const MS = 24 // samples per millisecond

const manual = { settings: { turnDetection: null } } as const
const server = { settings: { turnDetection: { type: "server_vad" as const } } } as const

const types = (events: readonly SpeechEvent[]) => events.map((e) => e.type)

const completed = (itemId: string, transcript: string, atMs = 0) =>
  ({
    type: "SERVER.TRANSCRIPT_COMPLETED",
    itemId,
    transcript,
    logprobs: undefined,
    languages: undefined,
    usage: { type: "tokens", input_tokens: 10, output_tokens: 3, total_tokens: 13 },
    atMs,
  }) as const

describe("transcriptionSessionMachine shape", () => {
  it("has the states of the protocol, each described, and named delays for every wait", () => {
    const nodes = getStateNodes(transcriptionSessionMachine.root)
    expect(nodes.map((n) => n.id.replace("transcriptionSession.", ""))).toEqual([
      "online",
      "online.connecting",
      "online.awaitingSessionCreated",
      "online.configuring",
      "online.streaming",
      "online.streaming.turn",
      "online.streaming.turn.listening",
      "online.streaming.turn.speaking",
      "online.streaming.turn.awaitingTranscript",
      "online.streaming.liveness",
      "online.streaming.liveness.quiet",
      "online.streaming.liveness.owed",
      "online.streaming.turnDetection",
      "online.streaming.turnDetection.selecting",
      "online.streaming.turnDetection.serverVad",
      "online.streaming.turnDetection.semanticVad",
      "online.streaming.turnDetection.localVad",
      "online.streaming.turnDetection.manual",
      "online.draining",
      "online.draining.owed",
      "reconnecting",
      "closed",
      "failed",
    ])
    expect(nodes.filter((n) => n.description === undefined).map((n) => n.id)).toEqual([])
    const delays = new Set(nodes.flatMap((n) => n.after.map((t) => String(t.delay))))
    expect([...delays].sort()).toEqual([
      "connectionMaxAge",
      "drainTimeout",
      "inactivityTimeout",
      "reconnectDelay",
      "sessionCreatedTimeout",
      "sessionUpdatedTimeout",
    ])
    // Every invoked actor has both outcomes handled.
    for (const node of [transcriptionSessionMachine.root, ...nodes]) {
      for (const invoke of node.invoke) {
        expect(
          node.transitions.get(`xstate.done.actor.${invoke.id}`),
          `${node.id} ${invoke.id} onDone`,
        ).toBeDefined()
        expect(
          node.transitions.get(`xstate.error.actor.${invoke.id}`),
          `${node.id} ${invoke.id} onError`,
        ).toBeDefined()
      }
    }
  })
})

describe("transcriptionSessionMachine lifecycle", () => {
  it("opens a socket, configures on session.created and streams after session.updated", () => {
    const h = startHarness(manual)
    expect(h.states()).toEqual(["online.connecting"])
    expect(h.connections).toHaveLength(1)
    h.send({ type: "SOCKET.OPEN", atMs: 0 })
    expect(h.states()).toEqual(["online.awaitingSessionCreated"])
    h.send({ type: "SERVER.SESSION_CREATED", atMs: 0 })
    expect(h.states()).toEqual(["online.configuring"])
    const update = h.sent("send")[0]?.event
    expect(update).toMatchObject({
      type: "session.update",
      session: {
        type: "transcription",
        audio: { input: { format: { type: "audio/pcm", rate: 24000 }, turn_detection: null } },
      },
    })
    h.send({ type: "SERVER.SESSION_UPDATED", atMs: 0 })
    expect(h.states()).toEqual([
      "online.streaming.turn.listening",
      "online.streaming.liveness.quiet",
      "online.streaming.turnDetection.manual",
    ])
    expect(h.sent("audio.live")).toEqual([{ type: "audio.live", fromSample: 0 }])
  })

  it("sends the beta transcription_session.update with pcm16 when the schema is beta", () => {
    const h = startHarness({ ...manual, schema: "beta" })
    h.send({ type: "SOCKET.OPEN", atMs: 0 })
    h.send({ type: "SERVER.SESSION_CREATED", atMs: 0 })
    expect(h.sent("send")[0]?.event).toMatchObject({
      type: "transcription_session.update",
      session: { input_audio_format: "pcm16", turn_detection: null },
    })
  })

  it("fails over to reconnecting when session.created does not come in time", () => {
    const h = startHarness({ ...manual, lifecycle: { timeouts: { sessionCreatedMs: 1000 } } })
    h.send({ type: "SOCKET.OPEN", atMs: 0 })
    h.clock.increment(999)
    expect(h.states()).toEqual(["online.awaitingSessionCreated"])
    h.clock.increment(1)
    expect(h.states()).toEqual(["reconnecting"])
    expect(h.actor.getSnapshot().context.lifecycle.lastFailure?.code).toBe("session_created_timeout")
    expect(h.connections[0]?.stopped).toBe(true)
  })

  it("ends in failed without retrying after a fatal server error", () => {
    const h = startHarness(manual)
    h.connect()
    h.send({
      type: "SERVER.ERROR",
      code: "invalid_api_key",
      errorType: "invalid_request_error",
      message: "bad key",
      param: undefined,
      atMs: 0,
    })
    expect(h.actor.getSnapshot().status).toBe("done")
    expect(h.states()).toEqual(["failed"])
    expect(h.events.at(-1)).toEqual({
      type: "error",
      error: { code: "invalid_api_key", message: "bad key", retryable: false },
      fatal: true,
    })
    h.clock.increment(60_000)
    expect(h.connections).toHaveLength(1)
  })

  it("fails at once on a non-retryable socket failure such as a 401 upgrade", () => {
    const h = startHarness(manual)
    h.send({
      type: "SOCKET.FAILED",
      failure: { code: "http_401", message: "unauthorized", retryable: false },
      atMs: 0,
    })
    expect(h.states()).toEqual(["failed"])
    expect(h.connections).toHaveLength(1)
  })

  it("reconnects with a jittered exponential backoff and gives up after maxAttempts", () => {
    const h = startHarness({
      ...manual,
      lifecycle: { reconnect: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 1000, jitter: 0 } },
    })
    const drop = () =>
      h.send({
        type: "SOCKET.FAILED",
        failure: { code: "close_1006", message: "dropped", retryable: true },
        atMs: 0,
      })
    drop()
    expect(h.states()).toEqual(["reconnecting"])
    h.clock.increment(99)
    expect(h.connections).toHaveLength(1)
    h.clock.increment(1)
    expect(h.connections).toHaveLength(2)
    drop()
    h.clock.increment(199)
    expect(h.connections).toHaveLength(2)
    h.clock.increment(1)
    expect(h.connections).toHaveLength(3)
    drop()
    expect(h.states()).toEqual(["failed"])
    const last = h.events.at(-1)
    expect(last?.type === "error" && last.fatal && last.error.message).toMatch(
      /gave up after 2 reconnect attempts/,
    )
  })

  it("ends in failed with a fatal error when the audio input actor crashes", () => {
    const events: SpeechEvent[] = []
    let socketStopped = false
    const actor = createActor(
      transcriptionSessionMachine.provide({
        actors: {
          socket: fromCallback(() => () => {
            socketStopped = true
          }),
          audioInput: fromCallback(() => {
            throw new Error("resampler exploded")
          }),
        },
      }),
      { input: manual, clock: new SimulatedClock() },
    )
    actor.on("*", (event) => {
      events.push(event as SpeechEvent)
    })
    actor.start()
    expect(actor.getSnapshot().value).toBe("failed")
    expect(socketStopped).toBe(true)
    expect(events).toEqual([
      {
        type: "error",
        error: { code: "audio_input_error", message: expect.any(String), retryable: false },
        fatal: true,
      },
    ])
  })

  it("reconnects when the socket actor ends without reporting a failure", () => {
    const h = startHarness({ ...manual, lifecycle: { reconnect: { baseDelayMs: 10, jitter: 0 } } })
    h.connect()
    h.send({ type: "xstate.done.actor.socket", output: undefined } as never)
    expect(h.states()).toEqual(["reconnecting"])
    expect(h.actor.getSnapshot().context.lifecycle.lastFailure?.code).toBe("socket_actor_done")
    h.clock.increment(10)
    expect(h.connections).toHaveLength(2)
  })

  it("closes at once on CLOSE from any state and stops the socket", () => {
    const h = startHarness(manual)
    h.connect()
    h.send({ type: "CLOSE" })
    expect(h.states()).toEqual(["closed"])
    expect(h.socket.stopped).toBe(true)
  })
})

describe("transcriptionSessionMachine turns", () => {
  it("commits a manual segment and emits interim then final transcripts with usage", () => {
    const h = startHarness(manual)
    h.connect()
    h.send({ type: "FLUSH", atSample: 24_000, atMs: 1000 })
    expect(h.sent("audio.commit")).toEqual([{ type: "audio.commit", atSample: 24_000, pause: false }])
    expect(h.states()[0]).toBe("online.streaming.turn.awaitingTranscript")
    h.send({ type: "SERVER.COMMITTED", itemId: "item_1", previousItemId: null, atMs: 1010 })
    h.send({
      type: "SERVER.TRANSCRIPT_DELTA",
      itemId: "item_1",
      delta: "Hello",
      logprobs: undefined,
      atMs: 1100,
    })
    h.send({
      type: "SERVER.TRANSCRIPT_DELTA",
      itemId: "item_1",
      delta: " world",
      logprobs: undefined,
      atMs: 1150,
    })
    h.send(completed("item_1", "Hello world", 1300))
    expect(types(h.events)).toEqual([
      "interim_transcript",
      "interim_transcript",
      "final_transcript",
      "recognition_usage",
    ])
    expect(h.events[1]).toMatchObject({ alternatives: [{ text: "Hello world", startMs: 0, endMs: 1000 }] })
    expect(h.events[2]).toEqual({
      type: "final_transcript",
      itemId: "item_1",
      alternatives: [{ text: "Hello world", startMs: 0, endMs: 1000 }],
    })
    expect(h.events[3]).toEqual({
      type: "recognition_usage",
      itemId: "item_1",
      usage: {
        audioDurationMs: 1000,
        latencyMs: 300,
        inputTokens: 10,
        outputTokens: 3,
        totalTokens: 13,
        streamed: true,
      },
    })
    expect(h.states()[0]).toBe("online.streaming.turn.listening")
    expect(h.actor.getSnapshot().context.metrics).toMatchObject({
      finalTurns: 1,
      audioMs: 1000,
      totalTokens: 13,
      latenciesMs: [300],
    })
  })

  it("adds confidence only when logprobs were requested", () => {
    const lp = [{ logprob: Math.log(0.5) }, { logprob: Math.log(1) }]
    for (const includeLogprobs of [false, true]) {
      const h = startHarness({ settings: { turnDetection: null, includeLogprobs } })
      h.connect()
      h.send({ type: "FLUSH", atSample: 4800, atMs: 0 })
      h.send({ type: "SERVER.COMMITTED", itemId: "i", previousItemId: null, atMs: 0 })
      h.send({ ...completed("i", "hi"), logprobs: lp })
      const alt = h.events.find((e) => e.type === "final_transcript")
      const confidence = alt?.type === "final_transcript" ? alt.alternatives[0]?.confidence : "missing"
      expect(confidence).toBe(includeLogprobs ? 0.75 : undefined)
    }
  })

  it("follows server VAD: start and end of speech at session offsets, then the committed turn's transcript", () => {
    const h = startHarness(server)
    h.connect()
    h.send({ type: "SERVER.SPEECH_STARTED", itemId: "item_a", audioStartMs: 500, atMs: 600 })
    expect(h.states()[0]).toBe("online.streaming.turn.speaking")
    h.send({ type: "SERVER.SPEECH_STOPPED", itemId: "item_a", audioEndMs: 2000, atMs: 2100 })
    h.send({ type: "SERVER.COMMITTED", itemId: "item_a", previousItemId: null, atMs: 2110 })
    expect(h.states()[0]).toBe("online.streaming.turn.awaitingTranscript")
    h.send(completed("item_a", "Good morning", 2400))
    expect(types(h.events)).toEqual([
      "start_of_speech",
      "end_of_speech",
      "final_transcript",
      "recognition_usage",
    ])
    expect(h.events[0]).toEqual({ type: "start_of_speech", itemId: "item_a", atMs: 500 })
    expect(h.events[1]).toEqual({ type: "end_of_speech", itemId: "item_a", atMs: 2000 })
    expect(h.events[2]).toMatchObject({ alternatives: [{ text: "Good morning", startMs: 500, endMs: 2000 }] })
    expect(h.events[3]).toMatchObject({ usage: { latencyMs: 300, audioDurationMs: 1500 } })
  })

  it("keeps each late completion on its own turn and emits finals in conversation order", () => {
    const h = startHarness(manual)
    h.connect()
    h.send({ type: "FLUSH", atSample: 10 * 2400, atMs: 0 })
    h.send({ type: "SERVER.COMMITTED", itemId: "one", previousItemId: null, atMs: 0 })
    h.send({ type: "FLUSH", atSample: 20 * 2400, atMs: 0 })
    h.send({ type: "SERVER.COMMITTED", itemId: "two", previousItemId: "one", atMs: 0 })
    h.send(completed("two", "second"))
    expect(types(h.events)).toEqual([])
    h.send(completed("one", "first"))
    const finals = h.events.filter((e) => e.type === "final_transcript")
    expect(
      finals.map((e) => [e.itemId, e.type === "final_transcript" ? e.alternatives[0]?.text : ""]),
    ).toEqual([
      ["one", "first"],
      ["two", "second"],
    ])
    expect(finals[1]).toMatchObject({ alternatives: [{ startMs: 1000, endMs: 2000 }] })
  })

  it("emits finals on arrival when finalOrder is arrival", () => {
    const h = startHarness({ ...manual, finalOrder: "arrival" })
    h.connect()
    h.send({ type: "FLUSH", atSample: 2400, atMs: 0 })
    h.send({ type: "SERVER.COMMITTED", itemId: "one", previousItemId: null, atMs: 0 })
    h.send({ type: "FLUSH", atSample: 4800, atMs: 0 })
    h.send({ type: "SERVER.COMMITTED", itemId: "two", previousItemId: "one", atMs: 0 })
    h.send(completed("two", "second"))
    expect(
      h.events
        .filter((e) => e.type === "final_transcript")
        .map((e) => e.type === "final_transcript" && e.itemId),
    ).toEqual(["two"])
  })

  it("ends a failed turn with its partial text and carries on", () => {
    const h = startHarness(manual)
    h.connect()
    h.send({ type: "FLUSH", atSample: 4800, atMs: 0 })
    h.send({ type: "SERVER.COMMITTED", itemId: "x", previousItemId: null, atMs: 0 })
    h.send({ type: "SERVER.TRANSCRIPT_DELTA", itemId: "x", delta: "par", logprobs: undefined, atMs: 0 })
    h.send({
      type: "SERVER.TRANSCRIPT_FAILED",
      itemId: "x",
      code: "audio_unintelligible",
      message: "no",
      atMs: 0,
    })
    expect(h.events.at(-1)).toEqual({
      type: "transcription_failed",
      itemId: "x",
      partial: "par",
      error: { code: "audio_unintelligible", message: "no", retryable: false },
    })
    expect(h.states()[0]).toBe("online.streaming.turn.listening")
    expect(h.actor.getSnapshot().context.metrics.failedTurns).toBe(1)
  })

  it("drops an empty commit quietly", () => {
    const h = startHarness(manual)
    h.connect()
    h.send({ type: "FLUSH", atSample: 100, atMs: 0 })
    h.send({
      type: "SERVER.ERROR",
      code: "input_audio_buffer_commit_empty",
      errorType: "invalid_request_error",
      message: "too small",
      param: undefined,
      atMs: 0,
    })
    expect(h.events).toEqual([])
    expect(h.states()[0]).toBe("online.streaming.turn.listening")
  })

  it("reports other server errors without ending the session", () => {
    const h = startHarness(manual)
    h.connect()
    h.send({
      type: "SERVER.ERROR",
      code: "unknown_parameter",
      errorType: "invalid_request_error",
      message: "x",
      param: "y",
      atMs: 0,
    })
    expect(h.events).toEqual([
      { type: "error", error: { code: "unknown_parameter", message: "x", retryable: false }, fatal: false },
    ])
    expect(h.states()[0]).toBe("online.streaming.turn.listening")
  })

  it("commits at the local VAD's end of speech and streams only speech", () => {
    const h = startHarness({ settings: { turnDetection: "local" } })
    h.connect()
    expect(h.sent("audio.live")).toEqual([])
    h.send({ type: "AUDIO.SPEECH_STARTED", speechStartSample: 12_000, atSample: 15_000, atMs: 600 })
    expect(h.sent("audio.live")).toEqual([{ type: "audio.live", fromSample: 12_000 }])
    h.send({ type: "AUDIO.SPEECH_STOPPED", speechEndSample: 40_000, atSample: 52_000, atMs: 2200 })
    expect(h.sent("audio.commit")).toEqual([{ type: "audio.commit", atSample: 52_000, pause: true }])
    expect(types(h.events)).toEqual(["start_of_speech", "end_of_speech"])
    h.send({ type: "SERVER.COMMITTED", itemId: "l1", previousItemId: null, atMs: 2210 })
    h.send(completed("l1", "local turn", 2500))
    expect(h.events.at(-2)).toMatchObject({
      type: "final_transcript",
      alternatives: [{ startMs: 500, endMs: 2167 }],
    })
  })
})

describe("transcriptionSessionMachine reconnects", () => {
  it("replays unfinished turns with turn detection off, then the tail, and announces the reconnect", () => {
    const h = startHarness({ ...server, lifecycle: { reconnect: { baseDelayMs: 100, jitter: 0 } } })
    h.connect()
    h.send({ type: "SERVER.SPEECH_STARTED", itemId: "a", audioStartMs: 100, atMs: 0 })
    h.send({ type: "SERVER.SPEECH_STOPPED", itemId: "a", audioEndMs: 1000, atMs: 0 })
    h.send({ type: "SERVER.COMMITTED", itemId: "a", previousItemId: null, atMs: 0 })
    h.send({ type: "SERVER.TRANSCRIPT_DELTA", itemId: "a", delta: "lost", logprobs: undefined, atMs: 0 })
    h.send({
      type: "SOCKET.FAILED",
      failure: { code: "close_1006", message: "dropped", retryable: true },
      atMs: 0,
    })
    expect(h.events.at(-1)).toEqual({
      type: "error",
      error: { code: "close_1006", message: "dropped", retryable: true },
      fatal: false,
    })
    h.clock.increment(100)
    h.connect()
    const [replayUpdate, restoreUpdate] = h.sent("send").map((c) => c.event)
    expect(replayUpdate).toMatchObject({ session: { audio: { input: { turn_detection: null } } } })
    expect(restoreUpdate).toMatchObject({
      session: { audio: { input: { turn_detection: { type: "server_vad" } } } },
    })
    expect(h.sent("audio.replay")).toEqual([
      { type: "audio.replay", segments: [{ fromSample: 100 * MS, toSample: 1000 * MS }] },
    ])
    expect(h.sent("audio.live")).toEqual([{ type: "audio.live", fromSample: 1000 * MS }])
    h.send({
      type: "SOCKET.RESUMED",
      replayedSamples: 2 * 24_000,
      committedSamples: 900 * MS,
      liveFromSample: 1000 * MS,
      atMs: 0,
    })
    expect(h.events.at(-1)).toEqual({ type: "reconnected", attempt: 1, replayedMs: 2000 })
    // The replayed commit is acknowledged under a new id and completes the original turn.
    h.send({ type: "SERVER.COMMITTED", itemId: "a2", previousItemId: null, atMs: 0 })
    h.send(completed("a2", "found again"))
    expect(h.events.at(-2)).toMatchObject({
      type: "final_transcript",
      itemId: "a2",
      alternatives: [{ text: "found again", startMs: 100, endMs: 1000 }],
    })
    // Live audio on the new connection starts at server offset 900 ms (after the replayed turn).
    h.send({ type: "SERVER.SPEECH_STARTED", itemId: "b", audioStartMs: 1400, atMs: 0 })
    expect(h.events.at(-1)).toEqual({ type: "start_of_speech", itemId: "b", atMs: 1500 })
  })

  it("maps server audio offsets from where live audio actually resumed", () => {
    const h = startHarness(server)
    h.connect()
    // The buffer had trimmed idle audio: live streaming began 700 ms into the session.
    h.send({
      type: "SOCKET.RESUMED",
      replayedSamples: 0,
      committedSamples: 0,
      liveFromSample: 700 * MS,
      atMs: 0,
    })
    h.send({ type: "SERVER.SPEECH_STARTED", itemId: "t", audioStartMs: 100, atMs: 0 })
    expect(h.events).toEqual([{ type: "start_of_speech", itemId: "t", atMs: 800 }])
  })

  it("treats a server that owes a transcript and says nothing as stalled", () => {
    const h = startHarness({ ...manual, lifecycle: { timeouts: { inactivityMs: 5000 } } })
    h.connect()
    h.send({ type: "FLUSH", atSample: 24_000, atMs: 0 })
    expect(h.states()[1]).toBe("online.streaming.liveness.owed")
    h.clock.increment(4000)
    h.send({ type: "SERVER.COMMITTED", itemId: "s", previousItemId: null, atMs: 0 })
    h.clock.increment(4000)
    expect(h.states()[1]).toBe("online.streaming.liveness.owed")
    h.clock.increment(1000)
    expect(h.states()).toEqual(["reconnecting"])
    expect(h.actor.getSnapshot().context.lifecycle.lastFailure?.code).toBe("stalled")
  })

  it("does not count server silence as a stall when nothing is owed", () => {
    const h = startHarness({ ...server, lifecycle: { timeouts: { inactivityMs: 5000 } } })
    h.connect()
    h.clock.increment(60_000)
    expect(h.states()[1]).toBe("online.streaming.liveness.quiet")
  })

  it("counts an utterance the local VAD heard and the server ignored as owed (server VAD)", () => {
    const h = startHarness({ ...server, lifecycle: { timeouts: { inactivityMs: 5000 } } })
    h.connect()
    h.send({ type: "AUDIO.SPEECH_STARTED", speechStartSample: 0, atSample: 2400, atMs: 0 })
    h.send({ type: "AUDIO.SPEECH_STOPPED", speechEndSample: 24_000, atSample: 36_000, atMs: 0 })
    expect(h.states()[1]).toBe("online.streaming.liveness.owed")
    h.clock.increment(5000)
    expect(h.states()).toEqual(["reconnecting"])
  })

  it("rotates an old connection at the next quiet moment", () => {
    const h = startHarness({ ...manual, lifecycle: { timeouts: { rotateAfterMs: 10_000 } } })
    h.connect()
    h.send({ type: "FLUSH", atSample: 24_000, atMs: 0 })
    h.clock.increment(10_000)
    expect(h.connections).toHaveLength(1)
    h.send({ type: "SERVER.COMMITTED", itemId: "r", previousItemId: null, atMs: 0 })
    h.send(completed("r", "done"))
    expect(h.connections).toHaveLength(2)
    expect(h.connections[0]?.stopped).toBe(true)
    expect(h.states()).toEqual(["online.connecting"])
  })

  it("queues a settings update made before configuration into the next session.update", () => {
    const h = startHarness(manual)
    h.send({ type: "UPDATE_SETTINGS", settings: { language: "fr" } })
    h.send({ type: "SOCKET.OPEN", atMs: 0 })
    h.send({ type: "SERVER.SESSION_CREATED", atMs: 0 })
    expect(h.sent("send")[0]?.event).toMatchObject({
      session: { audio: { input: { transcription: { language: "fr" } } } },
    })
  })

  it("sends a session.update at once for a settings update while streaming", () => {
    const h = startHarness(manual)
    h.connect()
    h.send({ type: "UPDATE_SETTINGS", settings: { prompt: "names", noiseReduction: "far_field" } })
    expect(h.sent("send").at(-1)?.event).toMatchObject({
      session: {
        audio: { input: { transcription: { prompt: "names" }, noise_reduction: { type: "far_field" } } },
      },
    })
  })
})

describe("transcriptionSessionMachine draining", () => {
  it("commits the last segment at end of input, waits for its transcript, then closes", () => {
    const h = startHarness(manual)
    h.connect()
    h.send({ type: "END_INPUT", atSample: 12_000, atMs: 0 })
    expect(h.states()).toEqual(["online.draining.owed"])
    expect(h.sent("audio.commit")).toEqual([{ type: "audio.commit", atSample: 12_000, pause: true }])
    h.send({ type: "SERVER.COMMITTED", itemId: "d", previousItemId: null, atMs: 0 })
    h.send(completed("d", "bye"))
    expect(h.states()).toEqual(["closed"])
    expect(h.actor.getSnapshot().status).toBe("done")
  })

  it("ends outstanding turns with drain_timeout when the drain takes too long", () => {
    const h = startHarness({ ...manual, lifecycle: { timeouts: { drainMs: 3000 } } })
    h.connect()
    h.send({ type: "END_INPUT", atSample: 12_000, atMs: 0 })
    h.clock.increment(3000)
    expect(h.states()).toEqual(["closed"])
    expect(h.events.at(-1)).toMatchObject({ type: "transcription_failed", error: { code: "drain_timeout" } })
  })

  it("drains after a reconnect when input ended while offline", () => {
    const h = startHarness({ ...manual, lifecycle: { reconnect: { baseDelayMs: 10, jitter: 0 } } })
    h.connect()
    h.send({ type: "SOCKET.FAILED", failure: { code: "close_1006", message: "x", retryable: true }, atMs: 0 })
    h.send({ type: "END_INPUT", atSample: 24_000, atMs: 0 })
    h.clock.increment(10)
    h.connect()
    expect(h.states()).toEqual(["online.draining.owed"])
    expect(h.sent("audio.commit")).toEqual([{ type: "audio.commit", atSample: 24_000, pause: true }])
  })
})

describe("transcriptionSessionMachine under the faults the chaos tests found", () => {
  const failed = {
    type: "SOCKET.FAILED",
    failure: { code: "close_1006", message: "x", retryable: true },
    atMs: 0,
  } as const
  const lastRetention = (h: ReturnType<typeof startHarness>) =>
    h.audioCommands.filter((c) => c.type === "audio.retain").at(-1)

  it("catches a server that stalls while draining and replays the outstanding turn on a new connection", () => {
    const h = startHarness({
      ...manual,
      lifecycle: {
        timeouts: { inactivityMs: 2000, drainMs: 10_000 },
        reconnect: { baseDelayMs: 10, jitter: 0 },
      },
    })
    h.connect()
    h.send({ type: "END_INPUT", atSample: 24_000, atMs: 0 })
    h.send({ type: "SERVER.COMMITTED", itemId: "d", previousItemId: null, atMs: 0 })
    // Every server event restarts the wait; then the server says nothing more.
    h.clock.increment(1999)
    expect(h.states()).toEqual(["online.draining.owed"])
    h.clock.increment(1)
    expect(h.states()).toEqual(["reconnecting"])
    expect(h.actor.getSnapshot().context.lifecycle.lastFailure?.code).toBe("stalled")
    h.clock.increment(10)
    h.connect()
    expect(h.sent("audio.replay")).toEqual([
      { type: "audio.replay", segments: [{ fromSample: 0, toSample: 24_000 }] },
    ])
    h.send({ type: "SERVER.COMMITTED", itemId: "e", previousItemId: null, atMs: 0 })
    h.send(completed("e", "bye"))
    expect(h.states()).toEqual(["closed"])
    expect(types(h.events)).not.toContain("transcription_failed")
    expect(h.events).toContainEqual(expect.objectContaining({ type: "final_transcript", itemId: "e" }))
  })

  it("catches a stall while draining with the default timeouts: the inactivity wait fires before the drain timeout", () => {
    const { inactivityMs, drainMs } = DEFAULT_LIFECYCLE_TIMEOUTS
    const h = startHarness(manual)
    h.connect()
    h.send({ type: "END_INPUT", atSample: 24_000, atMs: 0 })
    h.send({ type: "SERVER.COMMITTED", itemId: "d", previousItemId: null, atMs: 0 })
    h.clock.increment(inactivityMs)
    expect(h.states()).toEqual(["reconnecting"])
    expect(h.actor.getSnapshot().context.lifecycle.lastFailure?.code).toBe("stalled")
    h.clock.increment(h.actor.getSnapshot().context.lifecycle.reconnectDelayMs)
    h.connect()
    expect(h.sent("audio.replay")).toEqual([
      { type: "audio.replay", segments: [{ fromSample: 0, toSample: 24_000 }] },
    ])
    // The new connection gets a whole drain wait of its own: a slow but live server is still
    // waited for past the point where the first connection's drain would have ended.
    h.clock.increment(inactivityMs - 1)
    h.send({ type: "SERVER.COMMITTED", itemId: "e", previousItemId: null, atMs: 0 })
    h.clock.increment(drainMs - inactivityMs - 1)
    expect(h.states()).toEqual(["online.draining.owed"])
    h.send(completed("e", "bye"))
    expect(h.states()).toEqual(["closed"])
    expect(types(h.events)).not.toContain("transcription_failed")
  })

  it("reports a drain timeout whose final server-VAD commit was never confirmed with an error event", () => {
    const h = startHarness({ ...server, lifecycle: { timeouts: { drainMs: 3000, inactivityMs: 10_000 } } })
    h.connect()
    h.send({ type: "END_INPUT", atSample: 48_000, atMs: 0 })
    h.clock.increment(3000)
    expect(h.states()).toEqual(["closed"])
    expect(h.events).toContainEqual({
      type: "error",
      error: expect.objectContaining({ code: "drain_timeout", retryable: false }),
      fatal: false,
    })
  })

  it("commits a turn that ended while the connection was being configured instead of streaming it live", () => {
    const h = startHarness(manual)
    h.send({ type: "SOCKET.OPEN", atMs: 0 })
    h.send({ type: "SERVER.SESSION_CREATED", atMs: 0 })
    h.send({ type: "FLUSH", atSample: 24_000, atMs: 0 })
    h.send({ type: "SERVER.SESSION_UPDATED", atMs: 0 })
    expect(h.sent("audio.replay")).toEqual([
      { type: "audio.replay", segments: [{ fromSample: 0, toSample: 24_000 }] },
    ])
    expect(h.sent("audio.live")).toEqual([{ type: "audio.live", fromSample: 24_000 }])
  })

  it("reconnects on session_expired while configuring: an invalid_request_error that ends the connection, not the configuration", () => {
    const expired = startHarness({ ...manual, lifecycle: { reconnect: { baseDelayMs: 10, jitter: 0 } } })
    expired.send({ type: "SOCKET.OPEN", atMs: 0 })
    expired.send({ type: "SERVER.SESSION_CREATED", atMs: 0 })
    expired.send({
      type: "SERVER.ERROR",
      code: "session_expired",
      errorType: "invalid_request_error",
      message: "expired",
      param: undefined,
      atMs: 0,
    })
    expect(expired.states()).toEqual(["reconnecting"])
    const rejected = startHarness(manual)
    rejected.send({ type: "SOCKET.OPEN", atMs: 0 })
    rejected.send({ type: "SERVER.SESSION_CREATED", atMs: 0 })
    rejected.send({
      type: "SERVER.ERROR",
      code: "invalid_value",
      errorType: "invalid_request_error",
      message: "bad",
      param: undefined,
      atMs: 0,
    })
    expect(rejected.states()).toEqual(["failed"])
  })

  it("trims idle audio only on a live connection: offline, everything from the tail waits for the next one (server VAD)", () => {
    const h = startHarness({ ...server, lifecycle: { reconnect: { baseDelayMs: 10, jitter: 0 } } })
    h.connect()
    h.send({ type: "SOCKET.RESUMED", replayedSamples: 0, committedSamples: 0, liveFromSample: 0, atMs: 0 })
    expect(lastRetention(h)).toMatchObject({ keepSamples: expect.any(Number) })
    h.send(failed)
    expect(lastRetention(h)).toMatchObject({ fromSample: 0, keepSamples: undefined })
  })

  it("keeps an utterance the server has not reacted to, and speech it reported but never committed, across a reconnect (server VAD)", () => {
    const h = startHarness({ ...server, lifecycle: { reconnect: { baseDelayMs: 10, jitter: 0 } } })
    h.connect()
    h.send({ type: "SOCKET.RESUMED", replayedSamples: 0, committedSamples: 0, liveFromSample: 0, atMs: 0 })
    // Idle: only the recent audio is kept.
    expect(lastRetention(h)).toMatchObject({ fromSample: 0, keepSamples: expect.any(Number) })
    h.send({ type: "AUDIO.SPEECH_STARTED", speechStartSample: 24_000, atSample: 30_000, atMs: 0 })
    h.send({ type: "AUDIO.SPEECH_STOPPED", speechEndSample: 48_000, atSample: 60_000, atMs: 0 })
    // The server said nothing about it: its audio stays for a replay, whatever comes after.
    expect(lastRetention(h)).toMatchObject({ fromSample: 0, keepSamples: undefined })
    h.send({ type: "SERVER.SPEECH_STARTED", itemId: "s", audioStartMs: 1000, atMs: 0 })
    h.send({ type: "SERVER.SPEECH_STOPPED", itemId: "s", audioEndMs: 2000, atMs: 0 })
    // Stopped but not committed: still owed.
    expect(lastRetention(h)).toMatchObject({ keepSamples: undefined })
    h.send(failed)
    // Offline nothing is idle, and the next server owes the reported speech.
    expect(lastRetention(h)).toMatchObject({ fromSample: 0, keepSamples: undefined })
    h.clock.increment(10)
    h.connect()
    h.send({
      type: "SOCKET.RESUMED",
      replayedSamples: 72_000,
      committedSamples: 0,
      liveFromSample: 0,
      atMs: 0,
    })
    expect(lastRetention(h)).toMatchObject({ fromSample: 0, keepSamples: undefined })
    expect(h.actor.getSnapshot().context.owedSpeechStartSample).toBe(24_000)
    // The new server commits it: now it may go.
    h.send({ type: "SERVER.SPEECH_STARTED", itemId: "t", audioStartMs: 1000, atMs: 0 })
    h.send({ type: "SERVER.SPEECH_STOPPED", itemId: "t", audioEndMs: 2500, atMs: 0 })
    h.send({ type: "SERVER.COMMITTED", itemId: "t", previousItemId: null, atMs: 0 })
    h.send(completed("t", "hello"))
    expect(h.actor.getSnapshot().context.owedSpeechStartSample).toBeUndefined()
    expect(lastRetention(h)).toMatchObject({ fromSample: 2500 * MS, keepSamples: expect.any(Number) })
  })
})
