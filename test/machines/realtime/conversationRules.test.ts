import { describe, expect, it } from "vitest"
import { planChatContext, realtimeItemOf } from "../../../machines/realtime/chatContextPlan.ts"
import {
  clampTruncateMs,
  emptyMirror,
  heardTranscript,
  mirrorAdded,
  mirrorAudio,
  mirrorChatItems,
  mirrorDeleted,
  mirrorTranscriptDelta,
  mirrorTruncated,
} from "../../../machines/realtime/conversationMirror.ts"
import { type ChatItem, trustedChatItem } from "../../../machines/responses/chatItems.ts"

const user = (id: string, text: string) =>
  ({ type: "message", id, role: "user", text, audio: false, transcriptPending: false }) as const
const assistant = (id: string) =>
  ({ type: "message", id, role: "assistant", text: "", audio: true, transcriptPending: false }) as const
const msg = (id: string, content: string, role: "user" | "assistant" = "user"): ChatItem =>
  trustedChatItem({ type: "message", id, role, content })

describe("conversation mirror", () => {
  it("keeps items in server order by previous_item_id, and deletes them", () => {
    let m = mirrorAdded(emptyMirror, user("a", "one"), undefined, true)
    m = mirrorAdded(m, user("c", "three"), "a", true)
    m = mirrorAdded(m, user("b", "two"), "a", true)
    m = mirrorAdded(m, user("z", "zero"), null, true)
    expect(m.map((i) => i.id)).toEqual(["z", "a", "b", "c"])
    m = mirrorDeleted(m, "b")
    expect(mirrorChatItems(m).map((i) => (i.type === "message" ? i.content : ""))).toEqual([
      "zero",
      "one",
      "three",
    ])
  })

  it("truncates an assistant item to the pieces wholly heard and its audio to the cut", () => {
    let m = mirrorAdded(emptyMirror, assistant("x"), undefined, false)
    // Piece 1 plays 0-400 ms, piece 2 400-900 ms, piece 3 900-1200 ms.
    m = mirrorTranscriptDelta(m, "x", "Hello ")
    m = mirrorAudio(m, "x", 400)
    m = mirrorTranscriptDelta(m, "x", "there, ")
    m = mirrorAudio(m, "x", 500)
    m = mirrorTranscriptDelta(m, "x", "friend.")
    m = mirrorAudio(m, "x", 300)
    const item = m[0]
    expect(item?.audioMs).toBe(1200)
    expect(item && heardTranscript(item, 800)).toBe("Hello ")
    expect(item && heardTranscript(item, 900)).toBe("Hello there, ")
    expect(item && heardTranscript(item, 1200)).toBe("Hello there, friend.")
    m = mirrorTruncated(m, "x", 800)
    expect(m[0]?.audioMs).toBe(800)
    expect(mirrorChatItems(m)[0]).toMatchObject({ role: "assistant", content: "Hello " })
  })

  it("clamps a truncate to the audio received, never negative, always an integer", () => {
    expect(clampTruncateMs(800, 1200)).toBe(800)
    expect(clampTruncateMs(1500, 1200)).toBe(1200)
    expect(clampTruncateMs(-5, 1200)).toBe(0)
    expect(clampTruncateMs(800.7, 1200.2)).toBe(800)
    expect(clampTruncateMs(Number.POSITIVE_INFINITY, 1200)).toBe(1200)
    expect(clampTruncateMs(Number.NaN, 1200)).toBe(0)
    expect(clampTruncateMs(300, 0)).toBe(0)
  })
})

describe("setChatContext planner", () => {
  it("does nothing for an equal conversation", () => {
    const items = [msg("a", "1"), msg("b", "2")]
    expect(planChatContext(items, items)).toEqual({ deletes: [], creates: [] })
  })

  it("deletes and inserts in the middle with the fewest events", () => {
    const current = [msg("a", "1"), msg("b", "2"), msg("c", "3"), msg("d", "4")]
    const wanted = [msg("a", "1"), msg("x", "new"), msg("c", "3"), msg("y", "new2"), msg("d", "4")]
    const plan = planChatContext(current, wanted)
    expect(plan.deletes).toEqual(["b"])
    expect(plan.creates.map((c) => [c.item.id, c.previousItemId])).toEqual([
      ["x", "a"],
      ["y", "c"],
    ])
  })

  it("replaces an item whose content changed, and creates at the root", () => {
    const plan = planChatContext(
      [msg("a", "1"), msg("b", "2")],
      [msg("r", "0"), msg("a", "1"), msg("b", "changed")],
    )
    expect(plan.deletes).toEqual(["b"])
    expect(plan.creates.map((c) => [c.item.id, c.previousItemId])).toEqual([
      ["r", null],
      ["b", "a"],
    ])
  })

  it("applying a plan to a mirror gives the wanted items (seeded random edits)", () => {
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let round = 0; round < 200; round++) {
      const current = Array.from({ length: Math.floor(random() * 6) }, (_, i) => msg(`c${i}`, `${i}`))
      const wanted: ChatItem[] = []
      for (const item of current) if (random() < 0.6) wanted.push(item)
      for (let k = 0; k < 3; k++) {
        if (random() < 0.5)
          wanted.splice(Math.floor(random() * (wanted.length + 1)), 0, msg(`n${round}-${k}`, "n"))
      }
      const plan = planChatContext(current, wanted)
      let m = current.reduce(
        (acc, item) =>
          mirrorAdded(acc, user(item.id, item.type === "message" ? item.content : ""), undefined, true),
        emptyMirror,
      )
      for (const id of plan.deletes) m = mirrorDeleted(m, id)
      for (const c of plan.creates) {
        m = mirrorAdded(
          m,
          user(c.item.id, c.item.type === "message" ? c.item.content : ""),
          c.previousItemId,
          true,
        )
      }
      expect(m.map((i) => i.id)).toEqual(wanted.map((i) => i.id))
      expect(plan.deletes.length + plan.creates.length).toBeLessThanOrEqual(current.length + wanted.length)
    }
  })

  it("writes the Realtime wire form of each item kind", () => {
    expect(realtimeItemOf(msg("a", "hi", "assistant"))).toEqual({
      id: "a",
      type: "message",
      role: "assistant",
      content: [{ type: "output_text", text: "hi" }],
    })
    expect(
      realtimeItemOf(trustedChatItem({ type: "function_call_output", id: "o", callId: "c", output: "42" })),
    ).toEqual({ id: "o", type: "function_call_output", call_id: "c", output: "42" })
  })
})
