import { describe, expect, it } from "vitest"
import { createEnergyVad, isAudioError, type VadEvent } from "../../src/audio/index.ts"
import { concat, noise, randomChunks, tone } from "./signals.ts"

const rate = 16_000
const ms = (n: number) => (n * rate) / 1000
/** Speech stand-in: a -20 dBFS tone. */
const speech = (durationMs: number) => tone(300, rate, ms(durationMs), 3277 * Math.SQRT2)
/** Background: noise at about -65 dBFS. */
const silence = (durationMs: number, seed = 1) => noise(ms(durationMs), 30, seed)

const run = (samples: Int16Array, sizes: number[], options = {}) => {
  const vad = createEnergyVad({ sampleRateHz: rate, ...options })
  const events: VadEvent[] = []
  let at = 0
  for (const size of sizes) {
    events.push(...vad.push(samples.subarray(at, at + size)))
    at += size
  }
  events.push(...vad.flush())
  return events
}

describe("createEnergyVad", () => {
  // 1 s silence | 1 s speech | 1 s silence | 50 ms blip | 1 s silence | 500 ms speech (open at the end)
  const signal = concat([
    silence(1000, 1),
    speech(1000),
    silence(1000, 2),
    speech(50),
    silence(1000, 3),
    speech(500),
  ])
  const expected: VadEvent[] = [
    { type: "speech_start", sampleOffset: ms(1000 - 300) },
    { type: "speech_end", sampleOffset: ms(2000) },
    { type: "speech_start", sampleOffset: ms(4050 - 300) },
    { type: "speech_end", sampleOffset: ms(4550) },
  ]

  it("finds speech bursts with prefix padding, ignores blips shorter than minSpeechMs, and closes on flush", () => {
    expect(run(signal, [signal.length])).toEqual(expected)
  })

  it("gives the same events for any chunking", () => {
    for (const [seed, max] of [
      [1, 1],
      [2, 150],
      [3, 4000],
    ] as const) {
      expect(run(signal, randomChunks(signal.length, max, seed))).toEqual(expected)
    }
  })

  it("reports speech_start once minSpeechMs of voiced audio has been pushed, not before", () => {
    const vad = createEnergyVad({ sampleRateHz: rate, minSpeechMs: 100, prefixPaddingMs: 0 })
    expect(vad.push(silence(500))).toEqual([])
    expect(vad.push(speech(90))).toEqual([])
    expect(vad.push(speech(10))).toEqual([{ type: "speech_start", sampleOffset: ms(500) }])
  })

  it("reports speech_end only after minSilenceMs of silence, at the start of that silence", () => {
    const vad = createEnergyVad({ sampleRateHz: rate, minSilenceMs: 300 })
    vad.push(speech(200))
    expect(vad.push(silence(290))).toEqual([])
    // A short pause does not end the segment.
    expect(vad.push(speech(100))).toEqual([])
    expect(vad.push(silence(290))).toEqual([])
    expect(vad.push(silence(10))).toEqual([{ type: "speech_end", sampleOffset: ms(590) }])
  })

  it("clamps the padded start at 0 and at the end of the previous segment", () => {
    const events = run(concat([speech(200), silence(600), speech(200)]), [ms(1000)], {
      prefixPaddingMs: 800,
      minSilenceMs: 500,
    })
    expect(events).toEqual([
      { type: "speech_start", sampleOffset: 0 },
      { type: "speech_end", sampleOffset: ms(200) },
      { type: "speech_start", sampleOffset: ms(200) },
      { type: "speech_end", sampleOffset: ms(1000) },
    ])
  })

  it("ends an open segment on flush where trailing silence began", () => {
    const vad = createEnergyVad({ sampleRateHz: rate })
    vad.push(concat([speech(300), silence(200)]))
    expect(vad.flush()).toEqual([{ type: "speech_end", sampleOffset: ms(300) }])
    expect(vad.flush()).toEqual([])
  })

  it("restarts offsets at 0 after reset", () => {
    const vad = createEnergyVad({ sampleRateHz: rate, prefixPaddingMs: 0 })
    vad.push(concat([silence(300), speech(50)]))
    vad.reset()
    expect(vad.push(concat([silence(200), speech(200)]))).toEqual([
      { type: "speech_start", sampleOffset: ms(200) },
    ])
  })

  it("follows the threshold: a -30 dBFS tone is speech at -40 dBFS but not at -25 dBFS", () => {
    const quiet = tone(300, rate, ms(500), 1036 * Math.SQRT2)
    expect(run(quiet, [quiet.length], { thresholdDbfs: -40 }).length).toBe(2)
    expect(run(quiet, [quiet.length], { thresholdDbfs: -25 })).toEqual([])
  })

  it("rejects a sample rate that is not a positive integer", () => {
    let reason: string | undefined
    try {
      createEnergyVad({ sampleRateHz: 0 })
    } catch (e) {
      if (isAudioError(e)) reason = e.reason
    }
    expect(reason).toBe("InvalidSampleRate")
  })

  it.each([
    ["thresholdDbfs NaN", { thresholdDbfs: Number.NaN }, "thresholdDbfs"],
    ["thresholdDbfs -Infinity", { thresholdDbfs: Number.NEGATIVE_INFINITY }, "thresholdDbfs"],
    ["thresholdDbfs above 0 dBFS", { thresholdDbfs: 3 }, "thresholdDbfs"],
    ["minSpeechMs negative", { minSpeechMs: -1 }, "minSpeechMs"],
    ["minSpeechMs NaN", { minSpeechMs: Number.NaN }, "minSpeechMs"],
    ["minSilenceMs negative", { minSilenceMs: -100 }, "minSilenceMs"],
    ["minSilenceMs Infinity", { minSilenceMs: Number.POSITIVE_INFINITY }, "minSilenceMs"],
    ["prefixPaddingMs negative", { prefixPaddingMs: -5 }, "prefixPaddingMs"],
    ["prefixPaddingMs NaN", { prefixPaddingMs: Number.NaN }, "prefixPaddingMs"],
    ["windowMs 0", { windowMs: 0 }, "windowMs"],
    ["windowMs negative", { windowMs: -10 }, "windowMs"],
    ["windowMs NaN", { windowMs: Number.NaN }, "windowMs"],
    ["a window shorter than a sample", { windowMs: 0.01 }, "holds no sample"],
  ] as const)("rejects %s with InvalidOption", (_, options, inMessage) => {
    let error: unknown
    try {
      createEnergyVad({ sampleRateHz: rate, ...options })
    } catch (e) {
      error = e
    }
    expect(isAudioError(error) ? error.reason : error).toBe("InvalidOption")
    expect(isAudioError(error) ? error.message : "").toContain(inMessage)
  })

  it("accepts the edges of every range: 0 dBFS, zero durations, a one-sample window", () => {
    const vad = createEnergyVad({
      sampleRateHz: rate,
      thresholdDbfs: 0,
      minSpeechMs: 0,
      minSilenceMs: 0,
      prefixPaddingMs: 0,
      windowMs: 1000 / rate,
    })
    // A full-scale square wave is exactly 0 dBFS: voiced at the first sample.
    expect(vad.push(Int16Array.of(-32768, -32768))).toEqual([{ type: "speech_start", sampleOffset: 0 }])
  })
})
