/**
 * The agent's pure rules: words of a transcript, the words of a reply the caller heard from
 * the synthesis segment timeline and the played position, and the chat cut to them.
 */
import { describe, expect, it } from "vitest"
import {
  cutReplyToHeard,
  DEFAULT_CHARACTERS_PER_MS,
  heardText,
  joinUtterances,
  wordsOf,
  wordsWithin,
} from "../../../machines/agent/turnRules.ts"

describe("wordsOf and joinUtterances", () => {
  it("counts runs of non-space characters and joins utterances with one space", () => {
    expect(wordsOf("  no  no\tstop ")).toEqual(["no", "no", "stop"])
    expect(wordsOf("")).toEqual([])
    expect(joinUtterances("", "hi")).toBe("hi")
    expect(joinUtterances("hi", "")).toBe("hi")
    expect(joinUtterances("hi", "there")).toBe("hi there")
  })
})

describe("wordsWithin", () => {
  it("keeps the whole words that end by the limit", () => {
    expect(wordsWithin("one two three", 0)).toBe("")
    expect(wordsWithin("one two three", 3)).toBe("one")
    expect(wordsWithin("one two three", 5)).toBe("one")
    expect(wordsWithin("one two three", 7)).toBe("one two")
    expect(wordsWithin("one two three", 99)).toBe("one two three")
  })
})

describe("heardText", () => {
  const reply = "First sentence here. Second one follows."
  // "First sentence here." is 20 characters in 1 000 ms; "Second one follows." 19 in 950 ms.
  const segments = [
    { characters: 20, audioMs: 1_000 },
    { characters: 19, audioMs: 950 },
  ]

  it("maps played audio onto the characters of finished segments", () => {
    expect(heardText(reply, segments, 0)).toBe("")
    expect(heardText(reply, segments, 500)).toBe("First")
    expect(heardText(reply, segments, 1_000)).toBe("First sentence here.")
    // Half of the second segment, past the space the segmenter dropped.
    expect(heardText(reply, segments, 1_000 + 475)).toBe("First sentence here. Second")
    expect(heardText(reply, segments, 5_000)).toBe(reply)
  })

  it("reads a segment still being synthesized at the finished segments' rate, never past its audio", () => {
    const open = [
      { characters: 20, audioMs: 1_000 },
      { characters: undefined, audioMs: 400 },
    ]
    // 20 characters a second: 400 ms of the open segment are 8 characters ("Second o" → "Second").
    expect(heardText(reply, open, 1_000 + 1_000)).toBe("First sentence here. Second")
    // With no finished segment, the default speaking rate.
    const first = [{ characters: undefined, audioMs: 2_000 }]
    const chars = Math.floor(1_000 * DEFAULT_CHARACTERS_PER_MS)
    expect(heardText(reply, first, 1_000)).toBe(wordsWithin(reply, chars))
  })
})

describe("cutReplyToHeard", () => {
  const user = { role: "user" as const, content: "weather?" }
  const call = { type: "function_call" as const, callId: "c1", name: "weather", arguments: "{}" }
  const output = { type: "function_call_output" as const, callId: "c1", output: "sun" }

  it("keeps the heard words across the reply's messages in order, and its tool items", () => {
    const items = [
      user,
      { role: "assistant" as const, content: "Let me check." },
      call,
      output,
      { role: "assistant" as const, content: "It is sunny all day." },
    ]
    expect(cutReplyToHeard(items, 1, "Let me check. It is")).toEqual([
      user,
      { role: "assistant", content: "Let me check." },
      call,
      output,
      { role: "assistant", content: "It is" },
    ])
    // Nothing heard: the messages go, the tool call and its output stay.
    expect(cutReplyToHeard(items, 1, "")).toEqual([user, call, output])
  })

  it("adds the heard words no message holds yet (a model round cut before its end)", () => {
    expect(cutReplyToHeard([user], 1, "It is")).toEqual([user, { role: "assistant", content: "It is" }])
  })

  it("leaves the items before the reply alone", () => {
    const earlier = { role: "assistant" as const, content: "Hello there." }
    expect(cutReplyToHeard([earlier, user], 2, "")).toEqual([earlier, user])
  })
})
