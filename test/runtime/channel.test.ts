import { describe, expect, it } from "vitest"
import { createChannel } from "../../src/runtime/channel.ts"

describe("createChannel", () => {
  it("delivers pushed items in order, then ends", async () => {
    const channel = createChannel<number>()
    channel.push(1)
    channel.push(2)
    channel.end()
    channel.push(3)
    const seen: number[] = []
    for await (const n of channel) seen.push(n)
    expect(seen).toEqual([1, 2])
    expect(channel.done).toBe(true)
  })

  it("gives each item to one read, to reads in the order they were made", async () => {
    const channel = createChannel<string>()
    const a = channel[Symbol.asyncIterator]()
    const b = channel[Symbol.asyncIterator]()
    const first = a.next()
    const second = b.next()
    const third = a.next()
    channel.push("x")
    channel.push("y")
    channel.push("z")
    expect(await first).toEqual({ value: "x", done: false })
    expect(await second).toEqual({ value: "y", done: false })
    expect(await third).toEqual({ value: "z", done: false })
  })

  it("completes every waiting read at the end: the first with the failure, once, the others done", async () => {
    const channel = createChannel<number>()
    const iterator = channel[Symbol.asyncIterator]()
    const reads = [iterator.next(), iterator.next(), iterator.next()]
    const boom = new Error("boom")
    channel.fail(boom)
    const settled = await Promise.allSettled(reads)
    expect(settled[0]).toEqual({ status: "rejected", reason: boom })
    expect(settled[1]).toEqual({ status: "fulfilled", value: { value: undefined, done: true } })
    expect(settled[2]).toEqual({ status: "fulfilled", value: { value: undefined, done: true } })
    await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true })
  })

  it("throws the failure after the items already buffered", async () => {
    const channel = createChannel<number>()
    channel.push(1)
    channel.fail(new Error("late"))
    const seen: number[] = []
    await expect(
      (async () => {
        for await (const n of channel) seen.push(n)
      })(),
    ).rejects.toThrow("late")
    expect(seen).toEqual([1])
  })

  it("ends for every reader when one breaks out, and tells the producer once", async () => {
    let returned = 0
    const channel = createChannel<number>({ onReturn: () => returned++ })
    const other = channel[Symbol.asyncIterator]()
    const pending = other.next()
    channel.push(1)
    channel.push(2)
    for await (const n of channel) {
      expect(n).toBe(2)
      break
    }
    expect(await pending).toEqual({ value: 1, done: false })
    expect(await other.next()).toEqual({ value: undefined, done: true })
    await channel[Symbol.asyncIterator]().return?.()
    expect(returned).toBe(1)
    channel.push(3)
    expect(channel.buffered).toBe(0)
  })

  it("keeps only what retain keeps", async () => {
    const channel = createChannel<number>()
    for (let n = 0; n < 6; n++) channel.push(n)
    channel.retain((n) => n % 2 === 0)
    channel.end()
    const seen: number[] = []
    for await (const n of channel) seen.push(n)
    expect(seen).toEqual([0, 2, 4])
  })

  it("does not hold delivered items of a long stream", async () => {
    const channel = createChannel<number>()
    const iterator = channel[Symbol.asyncIterator]()
    for (let n = 0; n < 5000; n++) {
      channel.push(n)
      expect((await iterator.next()).value).toBe(n)
    }
    expect(channel.buffered).toBe(0)
  })
})
