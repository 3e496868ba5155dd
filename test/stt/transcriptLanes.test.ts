/**
 * An item's later transcript deltas go from the socket's edge straight to the session's
 * output; the machine sees them coalesced (it takes in the text, emits nothing). Against the
 * simulator on real sockets.
 */
import { afterEach, describe, expect, it } from "vitest"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import type { SpeechEvent } from "../../src/stt/SpeechEvent.ts"
import {
  createTranscriptionSession,
  type TranscriptionSession,
  type TranscriptionSessionOptions,
} from "../../src/stt/TranscriptionSession.ts"
import { collect, concat, finals, pushAudio, silenceAt, toneAt } from "./transcriptionSessionHelpers.ts"

let sim: Simulator | undefined

afterEach(async () => {
  await sim?.close()
  sim = undefined
})

const FIRST = Array.from({ length: 30 }, (_, i) => `alpha${i}`).join(" ")
const SECOND = Array.from({ length: 30 }, (_, i) => `beta${i}`).join(" ")

const sessionOn = async (options: TranscriptionSessionOptions = {}): Promise<TranscriptionSession> => {
  sim = await startSimulator({ scenario: { transcripts: [FIRST, SECOND] } })
  return createTranscriptionSession({
    apiKey: "sk-simulator",
    baseUrl: sim.url,
    env: {},
    turnDetection: { type: "server_vad", silenceDurationMs: 500 },
    ...options,
  })
}

/** Interims the machine itself emitted while the session ran to its end, and the session's events. */
const run = async (
  session: TranscriptionSession,
): Promise<{ readonly emitted: number; readonly events: SpeechEvent[]; readonly error: unknown }> => {
  let emitted = 0
  const sub = session.actor.on("interim_transcript", () => {
    emitted++
  })
  pushAudio(session, concat(silenceAt(300), toneAt(1000), silenceAt(900), toneAt(700), silenceAt(900)))
  session.endInput()
  const result = await collect(session)
  sub.unsubscribe()
  await session.done
  return { emitted, ...result }
}

const interimTexts = (events: readonly SpeechEvent[], itemId: string): string[] =>
  events.flatMap((e) =>
    e.type === "interim_transcript" && e.itemId === itemId ? [e.alternatives[0]?.text ?? ""] : [],
  )

describe("the transcript delta lane", () => {
  it("shows every word of every turn while the machine emits only each item's first interim", async () => {
    const { emitted, events, error } = await run(await sessionOn())
    expect(error).toBeUndefined()
    expect(finals(events)).toEqual([FIRST, SECOND])
    const items = events.flatMap((e) => (e.type === "final_transcript" ? [e.itemId] : []))
    let shown = 0
    for (const [i, itemId] of items.entries()) {
      const texts = interimTexts(events, itemId)
      // One interim per word, each the text so far, the last the whole transcript.
      const words = (i === 0 ? FIRST : SECOND).split(" ")
      expect(texts).toEqual(words.map((_, n) => words.slice(0, n + 1).join(" ")))
      shown += texts.length
      // Never an interim after its item's final; the final holds the same text.
      const ofItem = events.filter((e) => "itemId" in e && e.itemId === itemId)
      const finalAt = ofItem.findIndex((e) => e.type === "final_transcript")
      expect(ofItem.slice(finalAt).some((e) => e.type === "interim_transcript")).toBe(false)
      const interim = ofItem.find((e) => e.type === "interim_transcript")
      const final = ofItem[finalAt]
      if (interim?.type !== "interim_transcript" || final?.type !== "final_transcript")
        throw new Error("missing interim or final")
      expect(interim.alternatives[0]?.startMs).toBe(final.alternatives[0]?.startMs)
      expect(interim.alternatives[0]?.endMs).toBe(final.alternatives[0]?.endMs)
    }
    expect(shown).toBe(60)
    // The machine emitted a small share of them: the rest went past it.
    expect(emitted).toBeLessThan(shown / 4)
    expect(emitted).toBeGreaterThanOrEqual(items.length)
  })

  it("sends deltas with logprobs through the machine (confidence is the machine's)", async () => {
    const { emitted, events, error } = await run(await sessionOn({ includeLogprobs: true }))
    expect(error).toBeUndefined()
    expect(finals(events)).toEqual([FIRST, SECOND])
    const interims = events.filter((e) => e.type === "interim_transcript")
    expect(interims).toHaveLength(60)
    expect(emitted).toBe(60)
    for (const e of interims) expect(e.alternatives[0]?.confidence).toBeTypeOf("number")
  })
})
