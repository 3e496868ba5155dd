/**
 * The simulated voice's code: what the simulated TTS says is what the simulated STT hears,
 * through resampling, mixdown, quantization and a noise floor, and cut at any sample.
 */
import { describe, expect, it } from "vitest"
import { createResampler, makeAudioFrame, toMono } from "../../src/audio/index.ts"
import { linearToMulaw, mulawToLinear, noise, tone } from "../../src/simulator/realtime/audio.ts"
import { speechDurationMs, synthesizeSpeech } from "../../src/simulator/rest/signal.ts"
import { createRandom } from "../../src/simulator/scenario.ts"
import { decodeSpeech, heardText, wordCodeMs } from "../../src/simulator/voice.ts"

const RATE = 24_000

const resample = (samples: Int16Array, fromHz: number, toHz: number): Int16Array => {
  const resampler = createResampler({ fromHz, toHz })
  const head = resampler.push(samples)
  const tail = resampler.flush()
  const out = new Int16Array(head.length + tail.length)
  out.set(head)
  out.set(tail, head.length)
  return out
}

const words = (text: string) => text.split(/\s+/).filter((w) => w.length > 0)

describe("the simulated voice's code", () => {
  it("reads back every word of a text: punctuation, case, non-Latin scripts, emoji, very long words", () => {
    const long = "x".repeat(300)
    const text = `Hello there, how are you?  Grüße aus Köln! 東京 🎉 ok. ${long} end`
    expect(heardText(synthesizeSpeech(text), RATE)).toBe(words(text).join(" "))
  })

  it("reads the voice at other sample rates and speeds", () => {
    const text = "Call me back at nine, please."
    for (const rate of [8_000, 16_000, 22_050, 44_100, 48_000]) {
      expect(heardText(synthesizeSpeech(text, { sampleRateHz: rate }), rate)).toBe(text)
    }
    for (const speed of [0.25, 0.5, 2, 4])
      expect(heardText(synthesizeSpeech(text, { speed }), RATE)).toBe(text)
  })

  it("survives 24 kHz → 16 kHz → 24 kHz, 8 kHz G.711 μ-law, a stereo mixdown and float rounding", () => {
    const text = "The quick brown fox jumps over the lazy dog."
    const voice = synthesizeSpeech(text, { seed: 3 })
    const roundTrip = resample(resample(voice, 24_000, 16_000), 16_000, 24_000)
    expect(heardText(roundTrip, RATE)).toBe(text)

    const telephone = resample(voice, 24_000, 8_000).map((v) => mulawToLinear(linearToMulaw(v)))
    expect(heardText(resample(telephone, 8_000, 24_000), RATE)).toBe(text)

    // The voice on the left channel, silence on the right: the mono mix is half as loud.
    const stereo = new Int16Array(voice.length * 2)
    for (let i = 0; i < voice.length; i++) stereo[2 * i] = voice[i] ?? 0
    expect(heardText(toMono(makeAudioFrame(stereo, RATE, 2)), RATE)).toBe(text)

    const quiet = voice.map((v) => Math.round(((v / 32768) * 0.3 + 1e-4) * 32767))
    expect(heardText(quiet, RATE)).toBe(text)
  })

  it("reads the voice over a -55 dBFS noise floor, after leading silence", () => {
    const text = "Fine, thanks."
    const voice = synthesizeSpeech(text)
    const floor = noise(2_000, 0.003, 7)
    const audio = new Int16Array(floor)
    audio.set(
      voice.map((v, i) => v + (floor[i + 4_321] ?? 0)),
      4_321,
    )
    const heard = decodeSpeech(audio, RATE)
    expect(heard.map((w) => w.text)).toEqual(["Fine,", "thanks."])
    expect(Math.abs((heard[0]?.startSample ?? 0) - 4_321)).toBeLessThan(RATE / 1000)
  })

  it("hears nothing in audio that does not carry the code", () => {
    const rand = createRandom(5)
    // A buzzy vowel: a pulse train with a wandering pitch through a resonance.
    const vowel = new Int16Array(RATE)
    let phase = 0
    let y1 = 0
    let y2 = 0
    for (let i = 0; i < vowel.length; i++) {
      phase += (120 + 30 * Math.sin(i / 3000)) / RATE
      const pulse = phase % 1 < 0.05 ? 1 : 0
      const y = pulse + 1.8 * Math.cos((2 * Math.PI * 700) / RATE) * 0.97 * y1 - 0.97 * 0.97 * y2
      y2 = y1
      y1 = y
      vowel[i] = Math.max(-32768, Math.min(32767, Math.round(y * 1200 + (rand() - 0.5) * 300)))
    }
    const chord = new Int16Array(RATE)
    for (let i = 0; i < chord.length; i++) {
      chord[i] = Math.round(
        4000 * (Math.sin((2 * Math.PI * 500 * i) / RATE) + Math.sin((2 * Math.PI * 1300 * i) / RATE)),
      )
    }
    for (const audio of [new Int16Array(RATE), noise(1_000, 0.3, 2), tone(1_000), vowel, chord]) {
      expect(decodeSpeech(audio, RATE)).toEqual([])
      expect(heardText(audio, RATE)).toBeUndefined()
    }
  })

  it("never makes a word shorter than its code, and keeps the voice's length for its words", () => {
    expect(wordCodeMs("hi")).toBe(75)
    expect(speechDurationMs("hi")).toBe(120 + 40)
    expect(speechDurationMs("hi", 4)).toBe(75 + 10)
    expect(synthesizeSpeech("hi", { speed: 4 }).length).toBe(Math.round((85 * RATE) / 1000))
  })

  it("property: audio cut at any sample reads as the words wholly spoken before the cut", () => {
    const rand = createRandom(20_251_203)
    const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789äöüéñ東京🎉.,?!'-"
    const pick = (n: number) => Math.floor(rand() * n)
    for (let run = 0; run < 100; run++) {
      const text = Array.from({ length: 1 + pick(8) }, () =>
        Array.from({ length: 1 + pick(9) }, () => [...alphabet][pick([...alphabet].length)]).join(""),
      ).join(" ")
      const speed = [1, 1, 1.5, 2][pick(4)] ?? 1
      const voice = synthesizeSpeech(text, { speed, seed: run })
      const spoken = decodeSpeech(voice, RATE)
      expect(spoken.map((w) => w.text)).toEqual(words(text))
      for (let c = 0; c < 5; c++) {
        const cut = pick(voice.length + 1)
        const heard = decodeSpeech(voice.subarray(0, cut), RATE).map((w) => w.text)
        // Heard: every word whose code ended by the cut, none cut more than 8 ms before its
        // end (the last symbol is read in its middle, and the grid read from a word the
        // audio begins in may sit a few milliseconds early), in order.
        const mustHear = spoken.filter((w) => w.endSample <= cut).length
        const mayHear = spoken.filter((w) => w.endSample - (8 * RATE) / 1000 <= cut).length
        expect(heard).toEqual(words(text).slice(0, heard.length))
        expect(heard.length).toBeGreaterThanOrEqual(mustHear)
        expect(heard.length).toBeLessThanOrEqual(mayHear)
        // Cut at the start instead: every word that begins after the cut is heard, in order.
        const tail = decodeSpeech(voice.subarray(cut), RATE).map((w) => w.text)
        const after = spoken.filter((w) => w.startSample >= cut).map((w) => w.text)
        expect(tail.slice(tail.length - after.length)).toEqual(after)
        expect(words(text).slice(words(text).length - tail.length)).toEqual(tail)
      }
    }
  })
})
