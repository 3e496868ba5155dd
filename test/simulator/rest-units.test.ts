import { describe, expect, it } from "vitest"
import { concatPcm16 } from "../../src/audio/index.ts"
import {
  boundaryOf,
  MultipartError,
  parseHeaderParams,
  parseMultipart,
} from "../../src/simulator/rest/multipart.ts"
import { speechDurationMs, synthesizeSpeech } from "../../src/simulator/rest/signal.ts"
import {
  countTextTokens,
  splitFragments,
  splitTextDeltas,
  tokenLogprobs,
  truncateDeltas,
} from "../../src/simulator/rest/text.ts"
import { timeTranscript, toSrt, toVtt, voicedRegions } from "../../src/simulator/rest/timing.ts"

const RATE = 24_000

const tone = (ms: number, amplitude = 8000): Int16Array => {
  const n = Math.round((ms * RATE) / 1000)
  const out = new Int16Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 220 * i) / RATE))
  return out
}
const silence = (ms: number): Int16Array => new Int16Array(Math.round((ms * RATE) / 1000))
const concat = (...parts: Int16Array[]): Int16Array => concatPcm16(parts)

const form = (boundary: string, parts: string[]): Buffer =>
  Buffer.from(`${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join("")}--${boundary}--\r\n`, "latin1")

describe("multipart parser", () => {
  it("reads fields and files with their names, file names and content types", () => {
    const body = form("XyZ", [
      'Content-Disposition: form-data; name="model"\r\n\r\nwhisper-1',
      'Content-Disposition: form-data; name="file"; filename="a b.wav"\r\nContent-Type: Audio/WAV\r\n\r\nRIFF\r\n--not-a-boundary',
      'Content-Disposition: form-data; name="include[]"\r\n\r\nlogprobs',
    ])
    const parts = parseMultipart(body, "XyZ")
    expect(parts.map((p) => p.name)).toEqual(["model", "file", "include[]"])
    expect(Buffer.from(parts[0]!.data).toString()).toBe("whisper-1")
    expect(parts[1]!.filename).toBe("a b.wav")
    expect(parts[1]!.contentType).toBe("audio/wav")
    expect(Buffer.from(parts[1]!.data).toString()).toBe("RIFF\r\n--not-a-boundary")
  })

  it("keeps binary bytes intact, including CR, LF and bytes over 0x7f", () => {
    const payload = Buffer.from([0x00, 0x0d, 0x0a, 0x2d, 0x2d, 0xff, 0x80, 0x0d])
    const body = Buffer.concat([
      Buffer.from('preamble\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="x.wav"\r\n\r\n'),
      payload,
      Buffer.from("\r\n--b--\r\nepilogue"),
    ])
    const [part] = parseMultipart(body, "b")
    expect(Buffer.from(part!.data)).toEqual(payload)
  })

  it("reads a boundary from a quoted content-type parameter", () => {
    expect(boundaryOf('multipart/form-data; boundary="a;b c"')).toBe("a;b c")
    expect(boundaryOf("Multipart/Form-Data; charset=utf-8; boundary=----abc")).toBe("----abc")
  })

  it("prefers an RFC 5987 filename* over the plain filename", () => {
    const { params } = parseHeaderParams(
      `form-data; name="file"; filename="x.wav"; filename*=UTF-8''%C3%A9t%C3%A9.wav`,
    )
    expect(params.get("filename")).toBe("été.wav")
  })

  it("fails with a typed reason on a missing boundary, terminator or name", () => {
    const reasonOf = (run: () => unknown) => {
      try {
        run()
      } catch (error) {
        expect(error).toBeInstanceOf(MultipartError)
        return (error as MultipartError).reason
      }
      return "no error"
    }
    expect(reasonOf(() => boundaryOf("application/json"))).toBe("NotMultipart")
    expect(reasonOf(() => boundaryOf("multipart/form-data"))).toBe("MissingBoundary")
    expect(reasonOf(() => parseMultipart(Buffer.from("no delimiter here"), "b"))).toBe("MissingDelimiter")
    expect(
      reasonOf(() =>
        parseMultipart(Buffer.from('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue'), "b"),
      ),
    ).toBe("MissingTerminator")
    expect(reasonOf(() => parseMultipart(form("b", ["Content-Type: text/plain\r\n\r\nx"]), "b"))).toBe(
      "MissingName",
    )
  })
})

describe("text arithmetic", () => {
  it("splits text into word deltas that concatenate to the text", () => {
    const text = "  Hello, world!  How are you? "
    const deltas = splitTextDeltas(text)
    expect(deltas.join("")).toBe(text)
    expect(deltas[0]).toBe("  Hello,")
    expect(splitTextDeltas("")).toEqual([])
  })

  it("splits arguments into the asked number of fragments that concatenate back", () => {
    const args = '{"city":"Paris","unit":"celsius"}'
    const pieces = splitFragments(args, 4)
    expect(pieces).toHaveLength(4)
    expect(pieces.join("")).toBe(args)
    expect(splitFragments("ab", 4)).toEqual(["a", "b"])
  })

  it("counts at least one token per word and about one per four bytes", () => {
    expect(countTextTokens("")).toBe(0)
    expect(countTextTokens("a b c d e")).toBe(5)
    expect(countTextTokens("x".repeat(400))).toBe(100)
  })

  it("cuts deltas at a token limit and says so", () => {
    const { deltas, truncated } = truncateDeltas("one two three four five six", 4)
    expect(deltas.join("")).toBe("one two three")
    expect(truncated).toBe(true)
    expect(truncateDeltas("one two", undefined).truncated).toBe(false)
  })

  it("gives deterministic log-probabilities with the token's UTF-8 bytes", () => {
    const a = tokenLogprobs(["Hé", " there"], 7)
    expect(a).toEqual(tokenLogprobs(["Hé", " there"], 7))
    expect(a[0]!.bytes).toEqual([0x48, 0xc3, 0xa9])
    for (const lp of a) expect(lp.logprob).toBeLessThanOrEqual(0)
  })
})

describe("speech signal", () => {
  it("is deterministic and its length follows the text and the speed", () => {
    const a = synthesizeSpeech("Hello there, how are you?")
    expect(a).toEqual(synthesizeSpeech("Hello there, how are you?"))
    expect(a.length).toBe(Math.round((speechDurationMs("Hello there, how are you?") * RATE) / 1000))
    const longer = synthesizeSpeech("Hello there, how are you today, my friend?")
    expect(longer.length).toBeGreaterThan(a.length)
    const fast = synthesizeSpeech("Hello there, how are you?", { speed: 2 })
    expect(Math.abs(fast.length - a.length / 2)).toBeLessThan(RATE * 0.01)
    expect(synthesizeSpeech("   ")).toHaveLength(0)
  })

  it("is heard as one voiced region per word by the energy detector", () => {
    const samples = synthesizeSpeech("alpha. beta. gamma.")
    expect(voicedRegions(samples, { sampleRateHz: RATE, minGapMs: 100 })).toHaveLength(3)
  })
})

describe("transcript timing", () => {
  it("finds voiced regions separated by silence", () => {
    const audio = concat(silence(500), tone(1000), silence(800), tone(600), silence(300))
    const regions = voicedRegions(audio, { sampleRateHz: RATE })
    expect(regions).toHaveLength(2)
    expect(regions[0]!.start).toBeCloseTo(0.5, 1)
    expect(regions[0]!.end).toBeCloseTo(1.5, 1)
    expect(regions[1]!.start).toBeCloseTo(2.3, 1)
    expect(regions[1]!.end).toBeCloseTo(2.9, 1)
  })

  it("spreads words over regions in proportion to their durations", () => {
    const segments = timeTranscript("one two three four", 3, [
      { start: 0.5, end: 1.5 },
      { start: 2.0, end: 3.0 },
    ])
    expect(segments.map((s) => s.text)).toEqual([" one two", " three four"])
    expect(segments[0]!.words).toEqual([
      { word: "one", start: 0.5, end: 1 },
      { word: "two", start: 1, end: 1.5 },
    ])
    expect(segments[1]!.words.at(-1)!.end).toBe(3)
  })

  it("spreads the text over the whole file when no region is voiced", () => {
    const [segment] = timeTranscript("hello world", 2, [])
    expect(segment).toMatchObject({ start: 0, end: 2, text: " hello world" })
  })

  it("renders SRT and WebVTT cues", () => {
    const segments = timeTranscript("hi there", 3661.25, [{ start: 3600, end: 3661.25 }])
    expect(toSrt(segments)).toBe("1\n01:00:00,000 --> 01:01:01,250\nhi there\n")
    expect(toVtt(segments)).toBe("WEBVTT\n\n01:00:00.000 --> 01:01:01.250\nhi there\n")
  })
})
