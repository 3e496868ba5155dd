/**
 * What the inspector shows of a draining server-VAD transcription session: after the server's
 * VAD has committed every turn, the session's final `commit` finds the buffer empty
 * (`SERVER.ERROR input_audio_buffer_commit_empty`) and its `clear`, the drain barrier, is
 * answered after it (`SERVER.BUFFER_CLEARED`). That pair is the protocol working: the empty
 * commit is no error for the user (none is emitted), and every transcript still arrives.
 */
import { describe, expect, it } from "vitest"
import { createInspector } from "../../src/inspect/index.ts"
import { startSimulator } from "../../src/simulator/index.ts"
import { createTranscriptionSession } from "../../src/stt/index.ts"
import { collect, concat, finals, pushAudio, silenceAt, toneAt } from "../stt/transcriptionSessionHelpers.ts"

describe("a draining server-VAD session in the inspector", () => {
  it("shows the empty final commit answered before the drain barrier, and no error reaches the user", async () => {
    const sim = await startSimulator({ port: 0, scenario: { transcripts: ["first words", "second words"] } })
    const inspector = await createInspector()
    try {
      const session = createTranscriptionSession({
        openai: { apiKey: "sk-simulator", baseUrl: sim.url },
        env: {},
        inspect: inspector.inspect,
      })
      pushAudio(session, concat(silenceAt(300), toneAt(900), silenceAt(900), toneAt(700), silenceAt(900)))
      session.endInput()
      const { events, error } = await collect(session)
      await session.done
      expect(error).toBeUndefined()
      expect(finals(events)).toEqual(["first words", "second words"])
      expect(events.some((e) => e.type === "error")).toBe(false)

      const records = inspector.records().filter((r) => r.session === session.actor.sessionId)
      const types = records.filter((r) => r.kind === "transition").map((r) => r.event.type)
      const emptyCommit = records.findIndex(
        (r) => r.event.type === "SERVER.ERROR" && r.event.code === "input_audio_buffer_commit_empty",
      )
      const cleared = records.findIndex((r) => r.event.type === "SERVER.BUFFER_CLEARED")
      const lastCommitted = records.map((r) => r.event.type).lastIndexOf("SERVER.COMMITTED")
      expect(emptyCommit).toBeGreaterThan(lastCommitted)
      expect(cleared).toBeGreaterThan(emptyCommit)
      expect(types.filter((t) => t === "SERVER.ERROR")).toHaveLength(1)
      expect(records.filter((r) => r.kind === "emitted" && r.event.type === "error")).toEqual([])
      expect(records.at(-1)?.value).toBe("closed")
    } finally {
      await inspector.close()
      await sim.close()
    }
  }, 30_000)
})
