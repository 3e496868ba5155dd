import { assert, describe, it } from "vitest"
import type { RunnerLoad } from "../../src/cluster/CallStore.ts"
import { pickRunner } from "../../src/cluster/client.ts"

const runner = (
  address: string,
  calls: number,
  budget: number,
  extra: Partial<RunnerLoad> = {},
): RunnerLoad => ({
  address,
  mediaUrl: `ws://${address}`,
  calls,
  callIds: [],
  budget,
  shards: [1, 2, 3],
  draining: false,
  elu: 0,
  seenAtMs: 0,
  ...extra,
})

describe("pickRunner", () => {
  it("picks the runner with the lowest share of its budget", () => {
    const picked = pickRunner([runner("a", 4, 10), runner("b", 3, 5), runner("c", 1, 10)], new Map())
    assert.strictEqual(picked?.address, "c")
  })

  it("counts placements a runner has not reported yet", () => {
    const picked = pickRunner([runner("a", 1, 10), runner("b", 2, 10)], new Map([["a", 2]]))
    assert.strictEqual(picked?.address, "b")
  })

  it("skips runners at their budget, draining or without shards, and none is left then", () => {
    const runners = [
      runner("a", 5, 5),
      runner("b", 0, 5, { draining: true }),
      runner("c", 0, 5, { shards: [] }),
      runner("d", 4, 5),
    ]
    assert.strictEqual(pickRunner(runners, new Map())?.address, "d")
    assert.isUndefined(pickRunner(runners, new Map([["d", 1]])))
    assert.isUndefined(pickRunner([], new Map()))
  })
})
