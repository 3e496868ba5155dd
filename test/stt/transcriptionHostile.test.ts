/**
 * The transcription session against servers that misbehave on purpose (raw `ws` on
 * 127.0.0.1, written here, not the simulator's scripted faults): every session ends, every
 * turn ends once (a `final_transcript` or a `transcription_failed`), no commit the session did
 * not cause holds real turns back, and no server offset reaches transcript times unclamped.
 */
import { afterEach, describe, expect, it } from "vitest"
import type { SpeechEvent } from "../../src/stt/SpeechEvent.ts"
import {
  createTranscriptionSession,
  type TranscriptionSession,
  type TranscriptionSessionOptions,
} from "../../src/stt/TranscriptionSession.ts"
import {
  answerTranscriptionHandshake,
  type HostileConnection,
  type HostileServer,
  startHostileServer,
} from "../support/hostileServer.ts"
import { collect, eventually, finals, silenceAt, toneAt } from "./transcriptionSessionHelpers.ts"

let server: HostileServer | undefined
let sessions: TranscriptionSession[] = []

afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()))
  sessions = []
  await server?.close()
  server = undefined
})

/** Short named waits on real time: each test asserts that the session ends, not how fast. */
const FAST = {
  timeouts: {
    inactivityMs: 1_000,
    drainMs: 5_000,
    drainTotalMs: 10_000,
    sessionCreatedMs: 5_000,
    sessionUpdatedMs: 5_000,
  },
  reconnect: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 5 },
} as const

const sessionOn = (
  s: HostileServer,
  options: Partial<TranscriptionSessionOptions> = {},
): TranscriptionSession => {
  const session = createTranscriptionSession({
    apiKey: "sk-hostile-test-key",
    baseUrl: s.url,
    env: {},
    turnDetection: null,
    ...FAST,
    ...options,
  })
  sessions.push(session)
  return session
}

const push = (session: TranscriptionSession, samples: Int16Array): void => {
  for (let i = 0; i < samples.length; i += 480) {
    session.pushFrame({ data: samples.subarray(i, i + 480), sampleRateHz: 24_000, channels: 1 })
  }
}

const committed = (c: HostileConnection, itemId: string, previousItemId: string | null) =>
  c.send({
    type: "input_audio_buffer.committed",
    event_id: `ev_c_${itemId}`,
    item_id: itemId,
    previous_item_id: previousItemId,
  })

const completed = (c: HostileConnection, itemId: string, transcript: string) =>
  c.send({
    type: "conversation.item.input_audio_transcription.completed",
    event_id: `ev_t_${itemId}`,
    item_id: itemId,
    content_index: 0,
    transcript,
  })

/** Each turn's outcome: `final:<text>` or `failed:<code>`, in emission order. */
const outcomes = (events: readonly SpeechEvent[]): string[] =>
  events.flatMap((e) =>
    e.type === "final_transcript"
      ? [`final:${e.alternatives[0]?.text ?? ""}`]
      : e.type === "transcription_failed"
        ? [`failed:${e.error.code}`]
        : [],
  )

/** Commits answered (manual turns): item ids `item_<connection>_<n>`, chained by previous_item_id. */
const answerCommits = (
  c: HostileConnection,
  onCommit: (itemId: string, previous: string | null, n: number) => void = (id, prev) =>
    committed(c, id, prev),
) => {
  let n = 0
  let previous: string | null = null
  c.onFrame((frame) => {
    if (frame.type !== "input_audio_buffer.commit") return
    n++
    const id = `item_${c.index}_${n}`
    onCommit(id, previous, n)
    previous = id
  })
}

describe("transcription session against a server that never sends the transcript it owes", () => {
  it("fails the turn after maxTurnAttempts connections and ends, instead of reconnecting forever", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        answerTranscriptionHandshake(c)
        answerCommits(c)
      },
    })
    const session = sessionOn(server, { maxTurnAttempts: 3 })
    const run = collect(session)
    push(session, toneAt(500))
    session.flush()
    session.endInput()
    const { events, error } = await run
    expect(error).toBeUndefined()
    expect(outcomes(events)).toEqual(["failed:turn_attempts_exhausted"])
    // Sent on three connections, then given up: the audio was not replayed (and billed) again
    // (the connection that replaced the third is told nothing but the configuration).
    expect(server.framesOfType("input_audio_buffer.commit")).toHaveLength(3)
    expect(server.connections.length).toBeLessThanOrEqual(4)
  })

  it("puts a completed that comes before its committed on its turn", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        answerTranscriptionHandshake(c)
        answerCommits(c, (id, prev) => {
          completed(c, id, "too early")
          committed(c, id, prev)
        })
      },
    })
    const session = sessionOn(server, { maxTurnAttempts: 2 })
    const run = collect(session)
    push(session, toneAt(400))
    session.flush()
    session.endInput()
    const { events } = await run
    // Kept until the commit bound the item: no stall, no replay, no failure.
    expect(outcomes(events)).toEqual(["final:too early"])
    expect(server.framesOfType("input_audio_buffer.commit")).toHaveLength(1)
    expect(server.connections).toHaveLength(1)
  })

  it("ends a drain whose barrier is never answered within drainTotalMs, across reconnects", async () => {
    server = await startHostileServer({ onConnection: (c) => answerTranscriptionHandshake(c) })
    const session = sessionOn(server, {
      turnDetection: { type: "server_vad" },
      timeouts: { ...FAST.timeouts, drainMs: 60_000, drainTotalMs: 3_500 },
      // More attempts than the drain can use: the overall bound is what ends it.
      reconnect: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 1_000 },
    })
    const run = collect(session)
    push(session, silenceAt(300))
    session.endInput()
    const { events, error } = await run
    expect(error).toBeUndefined()
    const codes = events.flatMap((e) => (e.type === "error" ? [e.error.code] : []))
    expect(codes.at(-1)).toBe("drain_timeout")
    // Each stall was replayed on a new connection until the overall bound ended the drain.
    expect(server.connections.length).toBeGreaterThan(1)
    expect(server.connections.length).toBeLessThan(40)
  })

  it("does not let frames of unknown types keep a stalled connection alive", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        answerTranscriptionHandshake(c)
        if (c.index === 0) {
          const chatter = setInterval(
            () => c.send({ type: "rate_limits.updated", event_id: "ev_r", rate_limits: [] }),
            50,
          )
          c.socket.on("close", () => clearInterval(chatter))
          answerCommits(c, () => undefined)
          return
        }
        answerCommits(c, (id, prev) => {
          committed(c, id, prev)
          completed(c, id, "heard")
        })
      },
    })
    const session = sessionOn(server)
    const run = collect(session)
    push(session, toneAt(300))
    session.flush()
    session.endInput()
    const { events } = await run
    expect(outcomes(events)).toEqual(["final:heard"])
    expect(events.some((e) => e.type === "error" && e.error.code === "stalled")).toBe(true)
  })
})

describe("transcription session against a server that commits what it was not asked to", () => {
  it("emits every real final although a stray committed came first, also across a reconnect", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        answerTranscriptionHandshake(c)
        // Before any commit of the session's: nothing it sent can be answered by this.
        committed(c, "item_stray", null)
        answerCommits(c, (id, prev, n) => {
          committed(c, id, prev ?? "item_stray")
          // The first connection drops before its second transcript; the second answers all.
          if (c.index === 0 && n === 2) {
            c.socket.close(1011, "lost")
            return
          }
          completed(c, id, `t${c.index}.${n}`)
        })
      },
    })
    const session = sessionOn(server)
    const run = collect(session)
    push(session, toneAt(300))
    session.flush()
    push(session, toneAt(300))
    session.flush()
    session.endInput()
    const { events, error } = await run
    expect(error).toBeUndefined()
    // Turn 1 on the first connection; turn 2 replayed on the second; the stray commit holds nothing.
    expect(outcomes(events)).toEqual(["final:t0.1", "final:t1.1"])
  })

  it("ends the session with finals when a stray committed sits in the queue at the end", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        answerTranscriptionHandshake(c)
        c.onFrame((frame) => {
          // A stray commit while only audio (no commit) was sent.
          if (frame.type === "input_audio_buffer.append" && c.received.length === 3)
            committed(c, "item_stray_2", null)
        })
        answerCommits(c, (id) => {
          committed(c, id, "item_stray_2")
          completed(c, id, "real")
        })
      },
    })
    const session = sessionOn(server)
    const run = collect(session)
    push(session, toneAt(300))
    // Flush only once the stray commit is in (so no commit of the session's is outstanding).
    await eventually(
      () => session.actor.getSnapshot().context.ledger.turns.some((t) => t.unsolicited),
      10_000,
    )
    session.flush()
    session.endInput()
    const { events } = await run
    expect(outcomes(events)).toEqual(["final:real"])
    expect(server.connections).toHaveLength(1)
  })
})

describe("transcription session against frames that cannot be decoded", () => {
  it("reports a frame nested 10 000 levels deep as a bounded ProtocolError and keeps the connection", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        answerTranscriptionHandshake(c)
        answerCommits(c, (id, prev) => {
          c.send(`{"type":${"[".repeat(10_000)}${"]".repeat(10_000)}}`)
          c.send(`{"type":"input_audio_buffer.committed","item_id":"${"x".repeat(3_000_000)}`)
          committed(c, id, prev)
          completed(c, id, "survived")
        })
      },
    })
    const session = sessionOn(server)
    const run = collect(session)
    push(session, toneAt(200))
    session.flush()
    session.endInput()
    const { events, error } = await run
    expect(error).toBeUndefined()
    expect(finals(events)).toEqual(["survived"])
    const protocolErrors = events.flatMap((e) =>
      e.type === "error" && e.error.code === "ProtocolError" ? [e] : [],
    )
    expect(protocolErrors).toHaveLength(2)
    for (const e of protocolErrors)
      expect(e.type === "error" ? e.error.message.length : 0).toBeLessThan(1_000)
    // Handled on the same connection: no stall, no reconnect.
    expect(server.connections).toHaveLength(1)
  })
})

describe("transcription session binds turns by item_id and previous_item_id", () => {
  it("keeps every final on its own turn when one committed cannot be decoded", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        answerTranscriptionHandshake(c)
        answerCommits(c, (id, prev, n) => {
          // The first turn's committed is unreadable; the later ones name it as their previous item.
          if (n === 1) c.send({ type: "input_audio_buffer.committed", event_id: "ev_bad", item_id: 12_345 })
          else committed(c, id, prev)
          if (n === 3) for (let k = 1; k <= 3; k++) completed(c, `item_0_${k}`, `t${k}`)
        })
      },
    })
    const session = sessionOn(server)
    const run = collect(session)
    for (let k = 0; k < 3; k++) {
      push(session, toneAt(200))
      session.flush()
    }
    session.endInput()
    const { events } = await run
    expect(finals(events)).toEqual(["t1", "t2", "t3"])
  })

  it("fails only the turn whose completed cannot be decoded", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        answerTranscriptionHandshake(c)
        answerCommits(c, (id, prev, n) => {
          committed(c, id, prev)
          if (n === 2)
            c.send({
              type: "conversation.item.input_audio_transcription.completed",
              event_id: "ev_bad",
              item_id: id,
              content_index: 0,
              transcript: { nested: true },
            })
          else completed(c, id, `t${n}`)
        })
      },
    })
    const session = sessionOn(server)
    const run = collect(session)
    for (let k = 0; k < 3; k++) {
      push(session, toneAt(200))
      session.flush()
    }
    session.endInput()
    const { events } = await run
    expect(outcomes(events)).toEqual(["final:t1", "failed:ProtocolError", "final:t3"])
  })
})

describe("transcription session clamps server VAD offsets to the audio sent", () => {
  it("never puts 1e309, Infinity or 1e9 into transcript times, and resumes live audio from what exists", async () => {
    server = await startHostileServer({
      onConnection: (c) => {
        answerTranscriptionHandshake(c)
        if (c.index > 0) return
        let appended = 0
        c.onFrame((frame) => {
          if (frame.type !== "input_audio_buffer.append") return
          appended++
          if (appended !== 10) return
          c.send(
            '{"type":"input_audio_buffer.speech_started","event_id":"e1","audio_start_ms":1e9,"item_id":"item_a"}',
          )
          c.send(
            '{"type":"input_audio_buffer.speech_stopped","event_id":"e2","audio_end_ms":1e309,"item_id":"item_a"}',
          )
          committed(c, "item_a", null)
          completed(c, "item_a", "first")
          setTimeout(() => c.socket.close(1011, "lost"), 20)
        })
      },
    })
    const session = sessionOn(server, { turnDetection: { type: "server_vad" } })
    const events: SpeechEvent[] = []
    const reader = (async () => {
      for await (const event of session) events.push(event)
    })()
    push(session, toneAt(1_000))
    const deadline = Date.now() + 10_000
    while (server.connections.length < 2 || !events.some((e) => e.type === "reconnected")) {
      if (Date.now() > deadline) throw new Error("no reconnect")
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    push(session, toneAt(1_000))
    await new Promise((resolve) => setTimeout(resolve, 200))
    // The second connection hears the later speech: live audio did not resume at "1e309 ms".
    const secondAppends =
      server.connections[1]?.received.filter((f) => f.type === "input_audio_buffer.append") ?? []
    expect(secondAppends.length).toBeGreaterThan(0)
    const final = events.find((e) => e.type === "final_transcript")
    expect(final?.type === "final_transcript" ? final.alternatives[0]?.text : undefined).toBe("first")
    for (const e of events) {
      if (e.type === "final_transcript" || e.type === "interim_transcript") {
        for (const alt of e.alternatives) {
          expect(Number.isFinite(alt.startMs) && Number.isFinite(alt.endMs)).toBe(true)
          expect(alt.endMs).toBeLessThanOrEqual(2_000)
        }
      }
      if (e.type === "start_of_speech" || e.type === "end_of_speech") {
        expect(Number.isFinite(e.atMs)).toBe(true)
        expect(e.atMs).toBeLessThanOrEqual(2_000)
      }
    }
    await session.close()
    await reader
  })
})
