/**
 * Record and replay against the simulator on real sockets: a transcription recorded once
 * (the `record` option) and replayed in place of the network gives the same events; a session
 * that sends something else is stopped with a ReplayError naming the recorded line.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import type { SpeechEvent } from "../../src/stt/SpeechEvent.ts"
import {
  createTranscriptionSession,
  type TranscriptionSessionOptions,
} from "../../src/stt/TranscriptionSession.ts"
import { RealtimeSocket } from "../../src/transport/index.ts"
import { makeSocketReplay, parseRecording, type ReplayError } from "../../src/transport/replay.ts"
import { collect, concat, pushAudio, silenceAt, toneAt } from "../stt/transcriptionSessionHelpers.ts"

let sim: Simulator | undefined
let dir: string | undefined

afterEach(async () => {
  await sim?.close()
  sim = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

const turns = () => concat(silenceAt(300), toneAt(800), silenceAt(900), toneAt(600), silenceAt(900))

const shape = (events: ReadonlyArray<SpeechEvent>) =>
  events
    .filter((e) => e.type !== "recognition_usage")
    .map((e) =>
      e.type === "final_transcript" || e.type === "interim_transcript"
        ? `${e.type}:${e.alternatives[0]?.text}`
        : e.type,
    )

const settings: TranscriptionSessionOptions = {
  env: {},
  turnDetection: { type: "server_vad", silenceDurationMs: 500 },
}

const transcribe = async (options: TranscriptionSessionOptions, audio: Int16Array) => {
  const session = createTranscriptionSession({ ...settings, ...options })
  pushAudio(session, audio)
  session.endInput()
  return collect(session)
}

describe("record and replay", () => {
  it("replays a recorded transcription with the same events, and a session sending other audio diverges", async () => {
    sim = await startSimulator({ scenario: { transcripts: ["hello there", "second turn"] } })
    dir = await mkdtemp(join(tmpdir(), "voxstate-record-"))
    const live = await transcribe(
      { openai: { apiKey: "sk-simulator", baseUrl: sim.url }, record: dir },
      turns(),
    )
    expect(live.error).toBeUndefined()
    const [file] = await readdir(dir)
    const text = await readFile(join(dir, file ?? ""), "utf8")
    expect(text).not.toContain("sk-simulator")
    const recording = parseRecording(text)

    for (const pace of ["immediate", "recorded"] as const) {
      const replay = makeSocketReplay(recording, { pace })
      const replayed = await transcribe(
        {
          openai: { apiKey: "other-credential", baseUrl: "ws://127.0.0.1:9/v1" },
          context: Context.make(RealtimeSocket, replay.socket),
        },
        turns(),
      )
      expect(replayed.error).toBeUndefined()
      expect(shape(replayed.events)).toEqual(shape(live.events))
      await Effect.runPromise(replay.verify)
    }

    const replay = makeSocketReplay(recording, { pace: "immediate" })
    const other = await transcribe(
      {
        openai: { apiKey: "other-credential", baseUrl: "ws://127.0.0.1:9/v1" },
        context: Context.make(RealtimeSocket, replay.socket),
      },
      concat(silenceAt(300), toneAt(333)),
    )
    const failure = replay.failure() as ReplayError
    expect(failure?.reason._tag).toBe("Diverged")
    expect(failure.message).toMatch(/line \d+/)
    expect(other.error ?? other.events.find((e) => e.type === "error")).toBeDefined()
  })
})
