/**
 * Recording keeps the session's socket path: over a live connection to the simulator, the
 * recording layer passes the connection's fast paths (`deliver`, `sendNow`) through, the
 * session uses them, and every frame that went through them is in the recording, with the
 * credential scrubbed.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { startSimulator } from "../../src/simulator/index.ts"
import { createTranscriptionSession } from "../../src/stt/TranscriptionSession.ts"
import {
  makeFileRecorder,
  parseRecording,
  RealtimeSocket,
  type RealtimeSocketShape,
  recordingSocket,
} from "../../src/transport/index.ts"
import { concat, pushAudio, silenceAt, toneAt } from "../stt/transcriptionSessionHelpers.ts"

const dir = mkdtempSync(join(tmpdir(), "voxstate-record-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The live socket, counting the uses of its fast paths. */
const counted = (uses: { deliver: number; sendNow: number }): RealtimeSocketShape => ({
  connect: (options) =>
    Effect.map(RealtimeSocket.live.connect(options), (connection) => ({
      url: connection.url,
      messages: connection.messages,
      send: (text: string) => connection.send(text),
      close: (code?: number, reason?: string) => connection.close(code, reason),
      bufferedAmount: () => connection.bufferedAmount(),
      deliver: (listener: (text: string) => void) => {
        uses.deliver++
        connection.deliver?.(listener)
      },
      sendNow: (text: string) => {
        uses.sendNow++
        return connection.sendNow?.(text) === true
      },
    })),
})

describe("the recording layer over a live socket", () => {
  it("passes deliver and sendNow through and records every frame that used them", async () => {
    const sim = await startSimulator({ scenario: { transcripts: ["hello there"] } })
    const file = join(dir, "live.jsonl")
    const uses = { deliver: 0, sendNow: 0 }
    const key = sim.apiKey ?? "sk-simulator"
    const session = createTranscriptionSession({
      openai: { apiKey: key, baseUrl: sim.httpUrl },
      env: {},
      context: Context.make(RealtimeSocket, recordingSocket(counted(uses), makeFileRecorder(file))),
      turnDetection: { type: "server_vad", silenceDurationMs: 500 },
    })
    pushAudio(session, concat(silenceAt(300), toneAt(800), silenceAt(900)))
    session.endInput()
    for await (const _ of session) {
      // drained
    }
    await sim.close()
    expect(uses.deliver).toBe(1)
    expect(uses.sendNow).toBeGreaterThan(0)
    const text = readFileSync(file, "utf8")
    expect(text).not.toContain(key)
    const entries = parseRecording(text).entries
    const connection = sim.connections[0]
    expect(connection).toBeDefined()
    // Every frame each way is in the recording, in order.
    const types = (dir: "in" | "out") =>
      entries.flatMap((e) =>
        e.dir === dir && "frame" in e ? [(e.frame as { type?: string }).type ?? ""] : [],
      )
    expect(types("out")).toEqual(connection?.received.map((r) => (r.payload as { type?: string }).type))
    expect(types("in")).toEqual(connection?.sent.map((s) => (s as { type?: string }).type))
  }, 30_000)
})
