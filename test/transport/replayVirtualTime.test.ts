/**
 * A recording replayed at its recorded pace in virtual time: the transcription fixture served
 * through `layerReplaySocket` under a `TestClock`; its server frames wait for the clock, and
 * the session emits the recorded events once virtual time has reached the recording's length.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import type { SpeechEvent } from "../../src/stt/SpeechEvent.ts"
import { TranscriptionSession } from "../../src/stt/TranscriptionSession.ts"
import { layerReplaySocket, makeSocketReplay, parseRecording } from "../../src/transport/replay.ts"
import { concat, pushAudio, silenceAt, toneAt } from "../stt/transcriptionSessionHelpers.ts"

const directory = join(import.meta.dirname, "..", "fixtures", "recordings")

describe("replay in virtual time", () => {
  it.effect("serves the recorded frames as the test clock reaches their times", () =>
    Effect.gen(function* () {
      const recording = parseRecording(readFileSync(join(directory, "transcription.jsonl"), "utf8"))
      const lastMs = recording.entries.at(-1)?.t ?? 0
      const replay = makeSocketReplay(recording, { pace: "recorded" })
      const session = yield* TranscriptionSession.make({
        openai: { apiKey: "replay-only-credential", baseUrl: "ws://127.0.0.1:9/v1" },
        env: {},
        turnDetection: { type: "server_vad", silenceDurationMs: 500 },
      }).pipe(Effect.provide(layerReplaySocket(replay)))
      pushAudio(session, concat(silenceAt(300), toneAt(800), silenceAt(900), toneAt(600), silenceAt(900)))
      session.endInput()
      const events: SpeechEvent[] = []
      let ended = false
      void (async () => {
        for await (const event of session) events.push(event)
        ended = true
      })()
      const start = yield* Clock.currentTimeMillis
      const finalsAt: number[] = []
      for (let step = 0; step < 400 && !ended; step++) {
        yield* TestClock.adjust("10 millis")
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        const finals = events.filter((e) => e.type === "final_transcript").length
        while (finalsAt.length < finals) finalsAt.push((yield* Clock.currentTimeMillis) - start)
      }
      const recorded = JSON.parse(
        readFileSync(join(directory, "transcription.events.json"), "utf8"),
      ) as string[]
      assert.strictEqual(finalsAt.length, recorded.filter((e) => e.startsWith("final_transcript")).length)
      // Nothing arrives before its recorded time; everything by the end of the recording.
      const firstFinal = recording.entries.find(
        (e) => e.dir === "in" && (e.frame as { type?: string })?.type?.endsWith("transcription.completed"),
      )
      assert.isAtLeast(finalsAt[0] ?? 0, (firstFinal?.t ?? 0) - 20)
      assert.isAtMost(finalsAt.at(-1) ?? Number.POSITIVE_INFINITY, lastMs + 100)
      assert.isUndefined(replay.failure())
    }).pipe(Effect.scoped),
  )
})
