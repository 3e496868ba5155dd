import { describe, expect, it } from "vitest"
import {
  chainAfterResponse,
  digestItems,
  planChainInput,
  visibleOutput,
} from "../../../machines/responses/chainInput.ts"
import { type ChatItemInput, chatItemsOf, toChatItem } from "../../../src/llm/ChatContext.ts"

const items = (...inputs: ChatItemInput[]) => chatItemsOf(inputs)

describe("chain-input slicer", () => {
  const sent = items({ role: "system", content: "sys" }, { role: "user", content: "hello" })
  const output = items({ role: "assistant", content: "hi!" })
  const chain = chainAfterResponse("resp_1", sent, output)

  it("sends a full context when there is no chain", () => {
    expect(planChainInput(undefined, sent)).toMatchObject({ mode: "full", reason: "noChain", items: sent })
  })

  it("chains when the context is the sent context, the model's output, then new items", () => {
    const next = [...sent, ...output, ...items({ role: "user", content: "again" })]
    const plan = planChainInput(chain, next)
    expect(plan).toMatchObject({ mode: "chained", previousResponseId: "resp_1", prefixLength: 3 })
    expect(plan.items.map((i) => i.type === "message" && i.content)).toEqual(["again"])
  })

  it("chains when the caller rebuilt the same history with new ids", () => {
    const rebuilt = items(
      { role: "system", content: "sys" },
      { role: "user", content: "hello" },
      { role: "assistant", content: "hi!" },
      { role: "user", content: "again" },
    )
    expect(planChainInput(chain, rebuilt).mode).toBe("chained")
  })

  it("sends a full context when an earlier message changed but the count did not", () => {
    const edited = items(
      { role: "system", content: "sys" },
      { role: "user", content: "HELLO" },
      { role: "assistant", content: "hi!" },
      { role: "user", content: "again" },
    )
    expect(planChainInput(chain, edited)).toMatchObject({ mode: "full", reason: "prefixMismatch" })
  })

  it("sends a full context when items were reordered", () => {
    const reordered = [sent[1], sent[0], ...output].map((i) => toChatItem(i as never))
    expect(planChainInput(chain, reordered)).toMatchObject({ mode: "full", reason: "prefixMismatch" })
  })

  it("sends a full context when the history is shorter than the chain", () => {
    expect(planChainInput(chain, sent)).toMatchObject({ mode: "full", reason: "shorterContext" })
  })

  it("sends a full context when forced", () => {
    expect(planChainInput(chain, [...sent, ...output])).toMatchObject({ mode: "chained" })
    expect(planChainInput(chain, [...sent, ...output], true)).toMatchObject({
      mode: "full",
      reason: "forced",
    })
  })

  it("leaves empty assistant messages out of the output the chain expects", () => {
    const empty = items({ role: "assistant", content: "" })
    expect(visibleOutput(empty)).toEqual([])
    const afterCancel = chainAfterResponse("resp_2", sent, empty)
    expect(planChainInput(afterCancel, [...sent, ...items({ role: "user", content: "x" })]).mode).toBe(
      "chained",
    )
  })

  it("digests by content and position: prefixes differ from the whole", () => {
    const all = [...sent, ...output]
    expect(digestItems(all, 2)).toBe(digestItems(sent))
    expect(digestItems(all)).not.toBe(digestItems(sent))
    // The item boundary is part of the digest: "ab" + "c" is not "a" + "bc".
    const split1 = items({ role: "user", content: "ab" }, { role: "user", content: "c" })
    const split2 = items({ role: "user", content: "a" }, { role: "user", content: "bc" })
    expect(digestItems(split1)).not.toBe(digestItems(split2))
  })
})
