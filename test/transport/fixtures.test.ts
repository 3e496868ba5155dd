/**
 * The shipped recordings (test/fixtures/recordings, made against the simulator by
 * test/fixtures/record.ts) replayed in place of the network: each scenario emits the same
 * events, event for event, and sends exactly the recorded frames; a scenario driven
 * differently is reported as a divergence at the first differing frame.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Context, Effect } from "effect"
import { describe, expect, it } from "vitest"
import { conversationLines } from "../../src/cli/replay.ts"
import { makeFetchReplay, RealtimeSocket } from "../../src/transport/index.ts"
import { makeSocketReplay, parseRecording, type ReplayError } from "../../src/transport/replay.ts"
import { FIXTURE_SCENARIOS } from "../fixtures/scenarios.ts"

const directory = join(import.meta.dirname, "..", "fixtures", "recordings")
const fixture = (name: string) => readFileSync(join(directory, `${name}.jsonl`), "utf8")
const recordedEvents = (name: string): string[] =>
  JSON.parse(readFileSync(join(directory, `${name}.events.json`), "utf8")) as string[]

// Nothing listens here: a session that reached the network would fail to connect.
const offline = {
  apiKey: "replay-only-credential",
  baseUrl: "http://127.0.0.1:9/v1",
  wsUrl: "ws://127.0.0.1:9/v1",
}

describe("shipped recordings", () => {
  for (const scenario of FIXTURE_SCENARIOS) {
    it(`replays ${scenario.name} with the same events and frames`, async () => {
      const text = fixture(scenario.name)
      expect(text).not.toContain("sk-simulator")
      const recording = parseRecording(text)
      const replay = makeSocketReplay(recording, { pace: "immediate" })
      const rest = makeFetchReplay(recording, { pace: "immediate" })
      const events = await scenario.run({
        openai: offline,
        context: Context.make(RealtimeSocket, replay.socket),
        fetch: rest.fetch,
      })
      expect(replay.failure()).toBeUndefined()
      expect(rest.failure()).toBeUndefined()
      expect(events).toEqual(recordedEvents(scenario.name))
      await Effect.runPromise(replay.verify)
      await rest.verify()
    }, 30_000)
  }

  it("reports a session that asks something else as a divergence naming the recorded frame", async () => {
    const scenario = FIXTURE_SCENARIOS.find((s) => s.name === "realtime-tool-interruption")
    if (scenario === undefined) throw new Error("missing scenario")
    const recording = parseRecording(fixture(scenario.name))
    // The recording with the caller's first question changed: the live session now differs from it.
    const edited = {
      ...recording,
      entries: recording.entries.map((entry) =>
        entry.dir === "out" && JSON.stringify(entry.frame).includes("Weather in Paris?")
          ? {
              ...entry,
              frame: JSON.parse(JSON.stringify(entry.frame).replace("Weather in Paris?", "Weather in Rome?")),
            }
          : entry,
      ),
    }
    const replay = makeSocketReplay(edited, { pace: "immediate" })
    await scenario
      .run({
        openai: offline,
        context: Context.make(RealtimeSocket, replay.socket),
        fetch: makeFetchReplay(edited).fetch,
      })
      .catch(() => [])
    const failure = replay.failure() as ReplayError
    expect(failure.reason).toMatchObject({ _tag: "Diverged", path: "$.item.content[0].text" })
    expect(failure.message).toContain(`line ${(failure.reason as { line: number }).line}`)
    expect(failure.message).toContain("Weather in Rome?")
  }, 30_000)

  it("prints each recording as its conversation", () => {
    const lines = conversationLines(parseRecording(fixture("realtime-tool-interruption")))
    const said = lines.map((l) => l.slice(11).trim())
    expect(said).toContain("user          Weather in Paris?")
    expect(said).toContain('tool call     get_weather({"city":"Paris"})')
    expect(said).toContain('tool output   {"forecast":"sunny"}')
    expect(said).toContain("interrupts    (response.cancel)")
    expect(said).toContain("truncates     the reply at 800 ms heard")
    const heard = conversationLines(parseRecording(fixture("transcription"))).map((l) => l.slice(11).trim())
    expect(heard.filter((l) => l.startsWith("heard"))).toEqual([
      "heard         hello there",
      "heard         second turn",
    ])
    expect(heard.some((l) => l.startsWith("caller audio"))).toBe(true)
  })
})
