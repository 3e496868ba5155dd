/**
 * Record and replay of the REST client against the simulator: speech synthesized over
 * `/audio/speech` recorded through `recordingFetch` (no credential in the file), replayed
 * offline through the replay's `fetch` to the same samples, and a request with other text
 * reported as a divergence naming the recorded line.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { concatPcm16 } from "../../src/audio/index.ts"
import { conversationLines } from "../../src/cli/replay.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import {
  makeFetchReplay,
  makeFileRecorder,
  makeOpenAIClient,
  parseRecording,
  recordingFetch,
  resolveOpenAIConfig,
} from "../../src/transport/index.ts"
import { createTTS } from "../../src/tts/index.ts"

let sim: Simulator | undefined
let dir: string | undefined

afterEach(async () => {
  await sim?.close()
  sim = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

const speak = async (client: ReturnType<typeof makeOpenAIClient>, text: string) => {
  const tts = createTTS({ client, voice: "marin" })
  const frames: Int16Array[] = []
  try {
    for await (const event of tts.synthesize(text)) if (event.type === "audio") frames.push(event.frame.data)
  } finally {
    await tts.close()
  }
  return concatPcm16(frames)
}

describe("REST record and replay", () => {
  it("replays recorded speech offline to the same samples, and names a request that differs", async () => {
    sim = await startSimulator({})
    dir = await mkdtemp(join(tmpdir(), "voxstate-rest-"))
    const file = join(dir, "speech.jsonl")
    const live = makeOpenAIClient(resolveOpenAIConfig({ apiKey: "sk-simulator", baseUrl: sim.httpUrl }, {}), {
      fetch: recordingFetch(makeFileRecorder(file)),
    })
    const recorded = await speak(live, "Hello there. This is recorded once.")
    expect(recorded.length).toBeGreaterThan(0)
    const text = await readFile(file, "utf8")
    expect(text).not.toContain("sk-simulator")
    const recording = parseRecording(text)
    expect(recording.http.some((e) => e.dir === "chunk")).toBe(true)
    const printed = conversationLines(recording).join("\n")
    expect(printed).toContain("POST /v1/audio/speech")
    expect(printed).toContain("Hello there. This is recorded once.")
    expect(printed).toMatch(/answered 200/)
    await sim.close()
    sim = undefined

    const offline = resolveOpenAIConfig({ apiKey: "other-credential", baseUrl: "http://127.0.0.1:9/v1" }, {})
    const replay = makeFetchReplay(recording, { pace: "immediate" })
    const replayed = await speak(
      makeOpenAIClient(offline, { fetch: replay.fetch }),
      "Hello there. This is recorded once.",
    )
    expect(replayed).toEqual(recorded)
    await replay.verify()

    const other = makeFetchReplay(recording, { pace: "immediate" })
    await speak(makeOpenAIClient(offline, { fetch: other.fetch }), "Something else entirely.").catch(
      () => undefined,
    )
    const failure = other.failure()
    expect(failure?.reason).toMatchObject({ _tag: "Diverged", path: "$.input" })
    expect(failure?.message).toContain("Something else entirely.")
  }, 30_000)
})
