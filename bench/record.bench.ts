/**
 * The cost of recording: the shipped transcription recording replayed (no network, the same
 * frames every run) through a session, on the replay socket as it is (the baseline) and
 * wrapped in the recording layer writing a JSONL file, alternately in the same run. Prints
 * the CPU time per session of each and their ratio.
 *
 *   npm run bench record [-- --runs 40]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context } from "effect"
import { createTranscriptionSession } from "../src/stt/TranscriptionSession.ts"
import {
  makeFileRecorder,
  makeSocketReplay,
  parseRecording,
  RealtimeSocket,
  type RealtimeSocketShape,
  recordingSocket,
} from "../src/transport/index.ts"
import { concat, pushAudio, silenceAt, toneAt } from "../test/stt/transcriptionSessionHelpers.ts"
import { argOf, fixed } from "./support.ts"

const recording = parseRecording(
  readFileSync(
    join(import.meta.dirname, "..", "test", "fixtures", "recordings", "transcription.jsonl"),
    "utf8",
  ),
)
const audio = concat(silenceAt(300), toneAt(800), silenceAt(900), toneAt(600), silenceAt(900))

const once = async (wrap: (socket: RealtimeSocketShape) => RealtimeSocketShape): Promise<number> => {
  const replay = makeSocketReplay(recording, { pace: "immediate" })
  const before = process.cpuUsage()
  const session = createTranscriptionSession({
    openai: { apiKey: "bench-credential", baseUrl: "ws://127.0.0.1:9/v1" },
    env: {},
    context: Context.make(RealtimeSocket, wrap(replay.socket)),
    turnDetection: { type: "server_vad", silenceDurationMs: 500 },
  })
  pushAudio(session, audio)
  session.endInput()
  for await (const _ of session) {
    // drained
  }
  const used = process.cpuUsage(before)
  if (replay.failure() !== undefined) throw replay.failure()
  return (used.user + used.system) / 1000
}

export default async (): Promise<void> => {
  const runs = Number(argOf("runs") ?? 30)
  const dir = mkdtempSync(join(tmpdir(), "voxstate-bench-record-"))
  const plain: number[] = []
  const recorded: number[] = []
  try {
    for (let i = 0; i < 3; i++) await once((s) => s)
    for (let i = 0; i < runs; i++) {
      plain.push(await once((s) => s))
      recorded.push(await once((s) => recordingSocket(s, makeFileRecorder(join(dir, `run-${i}.jsonl`)))))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
  const frames = recording.entries.filter((e) => e.dir === "in" || e.dir === "out").length
  console.log(
    `transcription session over a replayed recording (${frames} frames), ${runs} runs each, CPU ms per session (median)`,
  )
  console.log(`  replay socket (baseline)      ${fixed(median(plain), 2)}`)
  console.log(`  + recording layer to JSONL    ${fixed(median(recorded), 2)}`)
  console.log(`  ratio recorded / baseline     ${fixed(median(recorded) / median(plain), 2)}`)
}
