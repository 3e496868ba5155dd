/**
 * Placement by CPU budget, as pure rules: a runner's load is the larger of its measured CPU
 * and its calls at their cost, plus the placements it has not reported; a call fits when one
 * more call's cost stays within the budget.
 */
import { assert, describe, it } from "vitest"
import type { RunnerLoad } from "../../src/cluster/CallStore.ts"
import {
  cpuLoadOf,
  isOverBudget,
  noCapacityMessage,
  pickRunner,
  shareWithOneMore,
} from "../../src/cluster/placement.ts"

const runner = (address: string, load: Partial<RunnerLoad>): RunnerLoad => ({
  address,
  mediaUrl: `ws://${address}`,
  calls: 0,
  callIds: [],
  budget: 1000,
  shards: [1, 2, 3],
  draining: false,
  elu: 0,
  seenAtMs: 0,
  cpu: 0,
  cpuBudget: 0.5,
  callCost: 0.1,
  ...load,
})

describe("placement by CPU budget", () => {
  it("counts a runner's calls at their cost when they use less than that, its measure when more", () => {
    assert.closeTo(cpuLoadOf(runner("a", { calls: 3, cpu: 0.05 })), 0.3, 1e-12)
    assert.closeTo(cpuLoadOf(runner("a", { calls: 3, cpu: 0.42 })), 0.42, 1e-12)
    // Unreported placements come on top of either.
    assert.closeTo(cpuLoadOf(runner("a", { calls: 3, cpu: 0.42 }), 2), 0.62, 1e-12)
  })

  it("places a call only when one more call's cost fits the budget, exactly at the edge too", () => {
    // 4 calls at 0.1 and one more: 0.5 of 0.5 fits (0.1 + 0.2 + 0.2 is not quite 0.5 in floats).
    assert.strictEqual(pickRunner([runner("a", { calls: 4 })], new Map())?.address, "a")
    assert.strictEqual(pickRunner([runner("a", { calls: 2 })], new Map([["a", 2]]))?.address, "a")
    assert.isUndefined(pickRunner([runner("a", { calls: 5 })], new Map()))
    assert.isUndefined(pickRunner([runner("a", { calls: 2 })], new Map([["a", 3]])))
    // A busy runner with few calls: its measure decides.
    assert.isUndefined(pickRunner([runner("a", { calls: 1, cpu: 0.41 })], new Map()))
    assert.strictEqual(pickRunner([runner("a", { calls: 1, cpu: 0.39 })], new Map())?.address, "a")
  })

  it("picks the runner with the lowest share of its budget, measured CPU included", () => {
    const runners = [
      runner("a", { calls: 1, cpu: 0.3 }),
      runner("b", { calls: 2, cpu: 0.05 }),
      runner("c", { calls: 0, cpu: 0.25, cpuBudget: 1 }),
    ]
    // a: (0.3 + 0.1) / 0.5 = 0.8; b: (0.2 + 0.1) / 0.5 = 0.6; c: (0.25 + 0.1) / 1 = 0.35.
    assert.strictEqual(pickRunner(runners, new Map())?.address, "c")
    assert.closeTo(shareWithOneMore(runners[1] as RunnerLoad, 0), 0.6, 1e-12)
    // Two calls placed on c and not reported: c's share is 0.55, b's is still 0.6.
    assert.strictEqual(pickRunner(runners, new Map([["c", 2]]))?.address, "c")
    assert.strictEqual(pickRunner(runners, new Map([["c", 3]]))?.address, "b")
  })

  it("keeps the call cap beside the CPU budget", () => {
    assert.isUndefined(pickRunner([runner("a", { calls: 2, budget: 2, callCost: 0 })], new Map()))
    assert.strictEqual(
      pickRunner([runner("a", { calls: 1, budget: 2, callCost: 0 })], new Map())?.address,
      "a",
    )
  })

  it("takes no new call on a runner over its budget after taking over moved calls", () => {
    const over = runner("a", { calls: 7 })
    assert.isTrue(isOverBudget(over))
    assert.isFalse(isOverBudget(runner("a", { calls: 5 })))
    assert.isTrue(isOverBudget(runner("a", { calls: 1, cpu: 0.6 })))
    // Even when its report says it is over and its figures alone would let a call in.
    assert.isUndefined(pickRunner([runner("a", { calls: 0, overBudget: true })], new Map()))
    assert.include(noCapacityMessage([over]), "over")
    assert.include(noCapacityMessage([over]), "CPU 0.700/0.5 cores")
  })

  it("places a runner that reports no CPU budget by its call count alone", () => {
    const old: RunnerLoad = {
      address: "old",
      mediaUrl: "ws://old",
      calls: 3,
      callIds: [],
      budget: 4,
      shards: [1],
      draining: false,
      elu: 0.9,
      seenAtMs: 0,
    }
    assert.strictEqual(pickRunner([old], new Map())?.address, "old")
    assert.isUndefined(pickRunner([old], new Map([["old", 1]])))
  })
})
