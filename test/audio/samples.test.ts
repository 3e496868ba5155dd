import { describe, expect, it } from "vitest"
import { concatPcm16 } from "../../src/audio/index.ts"

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
