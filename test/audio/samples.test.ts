import { describe, expect, it } from "vitest"
import { concatPcm16 } from "../../src/audio/index.ts"
import { createSampleStore } from "../../src/audio/samples.ts"

const ramp = (from: number, length: number): Int16Array => Int16Array.from({ length }, (_, i) => from + i)

describe("concatPcm16", () => {
  it("joins the parts in order, views included", () => {
    const whole = ramp(0, 10)
    expect(concatPcm16([whole.subarray(0, 3), new Int16Array(0), whole.subarray(3)])).toEqual(whole)
    expect(concatPcm16([])).toEqual(new Int16Array(0))
  })

  it("returns a new array even for a single part", () => {
    const part = ramp(5, 4)
    const out = concatPcm16([part])
    expect(out).toEqual(part)
    out[0] = -1
    expect(part[0]).toBe(5)
  })
})

describe("createSampleStore", () => {
  it("slices across pushed chunks by absolute offset, clamped to what is kept", () => {
    const store = createSampleStore()
    store.push(ramp(0, 4))
    store.push(new Int16Array(0))
    store.push(ramp(4, 3))
    store.push(ramp(7, 5))
    expect([store.start, store.end]).toEqual([0, 12])
    expect(store.slice(2, 9)).toEqual(ramp(2, 7))
    expect(store.slice(-5, 3)).toEqual(ramp(0, 3))
    expect(store.slice(10, 50)).toEqual(ramp(10, 2))
    expect(store.slice(6, 6)).toEqual(new Int16Array(0))
    expect(store.slice(9, 4)).toEqual(new Int16Array(0))
  })

  it("trims forwards only, never past the end, and keeps offsets absolute", () => {
    const store = createSampleStore()
    store.push(ramp(0, 4))
    store.push(ramp(4, 4))
    store.trimBefore(5)
    expect(store.start).toBe(5)
    // The chunk holding sample 5 is still there, but nothing before `start` is returned.
    expect(store.slice(0, 8)).toEqual(ramp(5, 3))
    store.trimBefore(2)
    expect(store.start).toBe(5)
    store.trimBefore(100)
    expect([store.start, store.end]).toEqual([8, 8])
    expect(store.slice(0, 100)).toEqual(new Int16Array(0))
    store.push(ramp(8, 2))
    expect(store.slice(0, 100)).toEqual(ramp(8, 2))
  })

  it("returns slices that do not share memory with the pushed arrays", () => {
    const store = createSampleStore()
    const pushed = ramp(0, 4)
    store.push(pushed)
    const slice = store.slice(0, 4)
    slice[0] = -1
    expect(pushed[0]).toBe(0)
  })
})
