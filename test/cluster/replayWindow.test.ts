/**
 * The replay window alone: numbering from the first runner's index, letting go at each
 * checkpoint, the frames from a resuming runner's index on, the bound and what it costs.
 */
import { assert, describe, it } from "vitest"
import { createReplayWindow } from "../../src/cluster/replayWindow.ts"

const frame = (n: number) => Buffer.from([n & 0xff, n >> 8])

describe("the replay window", () => {
  it("numbers the frames from the first runner's index and replays from a resuming runner's", () => {
    const window = createReplayWindow(100)
    for (let i = 0; i < 3; i++) window.push(frame(i), 24_000)
    // The call already had 40 frames from an earlier connection: these are 40, 41, 42.
    const first = window.attach(40)
    assert.deepStrictEqual(
      first.frames.map((f) => f.frame),
      [40, 41, 42],
    )
    assert.strictEqual(first.from, 40)
    for (let i = 3; i < 10; i++) window.push(frame(i), i < 6 ? 24_000 : 16_000)
    window.ack(45)
    assert.strictEqual(window.size, 5)
    // The runner that resumes holds a checkpoint at 47: 47, 48, 49 go again, nothing lost.
    const replay = window.attach(47)
    assert.deepStrictEqual(
      replay.frames.map((f) => [f.frame, f.data[0], f.rateHz]),
      [
        [47, 7, 16_000],
        [48, 8, 16_000],
        [49, 9, 16_000],
      ],
    )
    assert.strictEqual(replay.lost, 0)
    assert.strictEqual(window.next, 50)
  })

  it("keeps at most its bound: the oldest go (dropped), and a runner needing them counts them lost", () => {
    const window = createReplayWindow(4)
    window.attach(0)
    for (let i = 0; i < 10; i++) window.push(frame(i), 24_000)
    assert.strictEqual(window.size, 4)
    assert.strictEqual(window.dropped, 6)
    const replay = window.attach(2)
    assert.strictEqual(replay.from, 6)
    assert.strictEqual(replay.lost, 4)
    assert.strictEqual(window.lost, 4)
    assert.deepStrictEqual(
      replay.frames.map((f) => f.frame),
      [6, 7, 8, 9],
    )
  })

  it("stays compact over a long call acknowledged as it goes", () => {
    const window = createReplayWindow(1500)
    window.attach(0)
    for (let i = 0; i < 100_000; i++) {
      window.push(frame(i), 24_000)
      if (i % 50 === 49) window.ack(i + 1)
    }
    assert.strictEqual(window.size, 0)
    assert.strictEqual(window.dropped, 0)
    assert.strictEqual(window.next, 100_000)
    window.push(frame(1), 24_000)
    assert.deepStrictEqual(
      window.attach(100_000).frames.map((f) => f.frame),
      [100_000],
    )
  })
})
