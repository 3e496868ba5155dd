import { describe, expect, it } from "vitest"
import { chainAfterResponse, digestItems, planChainInput } from "../../../machines/responses/chainInput.ts"
import { type ChatItemInput, chatItemsOf } from "../../../src/llm/ChatContext.ts"

const items = (...inputs: ChatItemInput[]) => chatItemsOf(inputs)

describe("the chain's prefix, compared by item", () => {
  const sent = items({ role: "system", content: "sys" }, { role: "user", content: "hello" })
  const output = items({ role: "assistant", content: "hi!" })

  it("computes the digest only when it is read, and it is the history's digest", () => {
    const chain = chainAfterResponse("resp_1", sent, output)
    expect(chain.history).toHaveLength(3)
    expect(chain.digest).toBe(digestItems([...sent, ...output]))
    // A saved state (JSON) keeps the digest as a value.
    expect(JSON.parse(JSON.stringify(chain)).digest).toBe(chain.digest)
  })

  it("plans a state restored from its digest alone as it plans the live one", () => {
    const live = chainAfterResponse("resp_1", sent, output)
    const restored = { responseId: live.responseId, length: live.length, digest: live.digest }
    const next = [...sent, ...output, ...items({ role: "user", content: "again" })]
    expect(planChainInput(restored, next)).toEqual(planChainInput(live, next))
    const edited = items(
      { role: "system", content: "sys" },
      { role: "user", content: "HELLO" },
      { role: "assistant", content: "hi!" },
      { role: "user", content: "again" },
    )
    expect(planChainInput(restored, edited)).toMatchObject({ mode: "full", reason: "prefixMismatch" })
    expect(planChainInput(live, edited)).toMatchObject({ mode: "full", reason: "prefixMismatch" })
  })
})
