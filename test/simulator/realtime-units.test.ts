/**
 * The pure parts of the Realtime simulator: the energy VAD, the signal helpers and codecs,
 * the session validators, the scenario (ids, lists, fallbacks).
 */
import { describe, expect, it } from "vitest"
import {
  alawToLinear,
  concatPcm,
  createIdGenerator,
  createRandom,
  createScenario,
  fallbackReply,
  fallbackTranscript,
  functionCallsOf,
  linearToAlaw,
  linearToMulaw,
  type ModelReply,
  mulawToLinear,
  noise,
  reserveTranscript,
  resolveReply,
  resolveTranscript,
  rmsDbfs,
  silence,
  thresholdToDbfs,
  tone,
} from "../../src/simulator/index.ts"
import {
  base64ByteLength,
  decodeWireAudio,
  encodeWireAudio,
  isBase64,
} from "../../src/simulator/realtime/audio.ts"
import { RealtimeRequestError } from "../../src/simulator/realtime/errors.ts"
import {
  initialConversationSession,
  initialTranscriptionSession,
  updateConversationSession,
  updateTranscriptionSession,
} from "../../src/simulator/realtime/session.ts"
import { createServerVad, type VadTransition, vadSettingsFor } from "../../src/simulator/realtime/vad.ts"

const serverVad = (threshold = 0.5, prefix = 300, silenceMs = 500) =>
  createServerVad(
    vadSettingsFor({
      type: "server_vad",
      threshold,
      prefix_padding_ms: prefix,
      silence_duration_ms: silenceMs,
    }),
  )

const refusal = (run: () => unknown) => {
  try {
    run()
  } catch (error) {
    if (error instanceof RealtimeRequestError) return { code: error.reason, param: error.param }
    throw error
  }
  throw new Error("not refused")
}

describe("energy VAD", () => {
  it("maps the 0..1 threshold linearly to -60..-10 dBFS", () => {
    expect([thresholdToDbfs(0), thresholdToDbfs(0.5), thresholdToDbfs(1)]).toEqual([-60, -35, -10])
  })

  it("reports the onset and the end of the closing silence in session samples", () => {
    const vad = serverVad()
    const audio = concatPcm(silence(250), tone(500), silence(700))
    const events: VadTransition[] = []
    // Fed in uneven pieces, starting at session offset 2400 (100 ms: on the 10 ms window grid).
    for (let i = 0, offset = 2400; i < audio.length; i += 1111, offset += 1111) {
      events.push(...vad.push(audio.subarray(i, i + 1111), offset))
    }
    expect(events).toEqual([
      { type: "speech_started", onset: 2400 + 250 * 24 },
      { type: "speech_stopped", offset: 2400 + (250 + 500 + 500) * 24 },
    ])
  })

  it("ignores clicks shorter than 30 ms and noise under the threshold", () => {
    const vad = serverVad()
    expect(vad.push(concatPcm(tone(20), silence(300), noise(500, 0.005)), 0)).toEqual([])
    expect(vad.speaking).toBe(false)
  })

  it("forgets speech in progress on reset", () => {
    const vad = serverVad()
    expect(vad.push(tone(200), 0)).toHaveLength(1)
    vad.reset()
    expect(vad.push(silence(1000), 4800)).toEqual([])
  })
})

describe("signals and codecs", () => {
  it("makes tones at the asked level and exact lengths", () => {
    expect(tone(250).length).toBe(6000)
    expect(rmsDbfs(tone(1000, { amplitude: 0.5, fadeMs: 0 }))).toBeCloseTo(
      20 * Math.log10(0.5 / Math.SQRT2),
      1,
    )
    expect(rmsDbfs(silence(10))).toBe(Number.NEGATIVE_INFINITY)
    expect(noise(100, 0.1, 4)).toEqual(noise(100, 0.1, 4))
  })

  it("round-trips G.711 within its quantization error", () => {
    for (const sample of [-30000, -1000, -10, 0, 10, 1000, 30000]) {
      expect(Math.abs(mulawToLinear(linearToMulaw(sample)) - sample)).toBeLessThanOrEqual(
        Math.abs(sample) / 16 + 8,
      )
      expect(Math.abs(alawToLinear(linearToAlaw(sample)) - sample)).toBeLessThanOrEqual(
        Math.abs(sample) / 16 + 16,
      )
    }
  })

  it("converts wire audio to 24 kHz and back, three samples per G.711 byte", () => {
    const pcm = tone(30, { fadeMs: 0 })
    expect(decodeWireAudio(encodeWireAudio(pcm, "audio/pcm"), "audio/pcm")).toEqual(pcm)
    const ulaw = encodeWireAudio(pcm, "audio/pcmu")
    expect(ulaw.byteLength).toBe(pcm.length / 3)
    expect(decodeWireAudio(ulaw, "audio/pcmu").length).toBe(pcm.length)
  })

  it("checks base64 and computes its decoded size without decoding", () => {
    expect(isBase64("AAEC")).toBe(true)
    expect(isBase64("AAE=")).toBe(true)
    expect(isBase64("AAE")).toBe(false)
    expect(isBase64("A$EC")).toBe(false)
    expect([base64ByteLength("AAEC"), base64ByteLength("AAE="), base64ByteLength("AA==")]).toEqual([3, 2, 1])
  })
})

describe("session validation", () => {
  it("requires session.type and names unknown paths", () => {
    const session = initialTranscriptionSession("sess_1", 0)
    expect(refusal(() => updateTranscriptionSession(session, {}))).toEqual({
      code: "missing_required_parameter",
      param: "session.type",
    })
    expect(
      refusal(() =>
        updateTranscriptionSession(session, {
          type: "transcription",
          audio: { input: { turn_detection: { type: "semantic_vad", threshold: 0.2 } } },
        }),
      ),
    ).toEqual({
      code: "unknown_parameter",
      param: "session.audio.input.turn_detection.threshold",
    })
    expect(
      refusal(() =>
        updateTranscriptionSession(session, {
          type: "transcription",
          audio: { input: { turn_detection: { type: "server_vad", threshold: 1.5 } } },
        }),
      ),
    ).toEqual({
      code: "decimal_above_max_value",
      param: "session.audio.input.turn_detection.threshold",
    })
  })

  it("fills turn detection defaults and keeps untouched fields", () => {
    const session = updateTranscriptionSession(initialTranscriptionSession("sess_1", 0), {
      type: "transcription",
      audio: { input: { turn_detection: { type: "semantic_vad" } } },
    })
    expect(session.input.turn_detection).toEqual({
      type: "semantic_vad",
      eagerness: "auto",
      create_response: true,
      interrupt_response: true,
    })
    expect(session.input.transcription).toEqual({ model: "gpt-4o-transcribe" })
  })

  it("refuses temperature and accepts tracing on a conversation session", () => {
    const session = initialConversationSession("sess_2", 0, "gpt-realtime")
    expect(
      refusal(() => updateConversationSession(session, { type: "realtime", temperature: 1 }, false)),
    ).toEqual({
      code: "unknown_parameter",
      param: "session.temperature",
    })
    expect(updateConversationSession(session, { type: "realtime", tracing: "auto" }, false).tracing).toBe(
      "auto",
    )
    expect(
      refusal(() => updateConversationSession(session, { type: "realtime", max_output_tokens: 5000 }, false)),
    ).toEqual({
      code: "invalid_value",
      param: "session.max_output_tokens",
    })
  })
})

describe("scenario", () => {
  it("generates the same pseudo-random numbers and ids for the same seed", () => {
    const a = createRandom(42)
    const b = createRandom(42)
    const first = [a(), a(), a()]
    expect([b(), b(), b()]).toEqual(first)
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true)
    expect(createIdGenerator(1)("item_")).toBe(createIdGenerator(1)("item_"))
    expect(createIdGenerator(1)("item_")).not.toBe(createIdGenerator(2)("item_"))
  })

  it("consumes transcript lists in order, restarting when the list is replaced", () => {
    const scenario = createScenario({ transcripts: ["a", { text: "b", delayMs: 5 }] })
    const request = { index: 0, audio: silence(500), model: "gpt-4o-transcribe" }
    expect(resolveTranscript(scenario, request).text).toBe("a")
    expect(resolveTranscript(scenario, request)).toMatchObject({ text: "b", delayMs: 5 })
    expect(resolveTranscript(scenario, request).text).toBe("[500 ms of audio]")
    scenario.transcripts = ["c"]
    expect(resolveTranscript(scenario, request).text).toBe("c")
  })

  it("gives a released transcript to the next turn, earliest first, and keeps delivered ones", () => {
    const scenario = createScenario({ transcripts: ["a", "b", "c", "d"] })
    const request = { index: 0, audio: silence(200), model: "gpt-4o-transcribe" }
    const a = reserveTranscript(scenario, request)
    const b = reserveTranscript(scenario, request)
    const c = reserveTranscript(scenario, request)
    expect([a, b, c].map((r) => r.transcript.text)).toEqual(["a", "b", "c"])
    c.release()
    a.release()
    a.release()
    b.delivered()
    b.release()
    expect(reserveTranscript(scenario, request).transcript.text).toBe("a")
    expect(reserveTranscript(scenario, request).transcript.text).toBe("c")
    expect(reserveTranscript(scenario, request).transcript.text).toBe("d")
    const spent = reserveTranscript(scenario, request)
    expect(spent.transcript.text).toBe("[200 ms of audio]")
    spent.release()
    // A release after the list was replaced does not reach the new list.
    const old = reserveTranscript(createScenario({ transcripts: ["x"] }), request)
    old.release()
    const replaced = createScenario({ transcripts: ["x", "y"] })
    const x = reserveTranscript(replaced, request)
    replaced.transcripts = ["z"]
    x.release()
    expect(reserveTranscript(replaced, request).transcript.text).toBe("z")
    expect(reserveTranscript(replaced, request).transcript.text).toBe("[200 ms of audio]")
  })

  it("reads the function calls of a reply, and refuses malformed replies", () => {
    const call = { name: "f", arguments: "{}" }
    expect(functionCallsOf({ text: "hi" })).toBeUndefined()
    expect(functionCallsOf({ functionCall: call })).toEqual([call])
    expect(functionCallsOf({ functionCalls: [call, call] })).toEqual([call, call])
    expect(() => functionCallsOf({ functionCalls: [] })).toThrow(/at least one call/)
    expect(() => functionCallsOf({ txt: "typo" } as unknown as ModelReply)).toThrow(/must be \{ text \}/)
  })

  it("falls back to echoing the last user text, then to a greeting", () => {
    expect(fallbackTranscript(silence(1234))).toBe("[1234 ms of audio]")
    expect(
      fallbackReply({
        index: 0,
        input: [
          { type: "message", role: "user", content: [{ type: "input_text", text: "first" }] },
          { type: "message", role: "user", content: [{ type: "input_audio", transcript: "second" }] },
          { type: "message", role: "assistant", content: [{ type: "output_text", text: "ignored" }] },
        ],
      }),
    ).toEqual({ text: "You said: second" })
    expect(fallbackReply({ index: 0, input: [{ role: "user", content: "plain" }] })).toEqual({
      text: "You said: plain",
    })
    expect(resolveReply(createScenario(), { index: 0, input: [] })).toEqual({
      text: "Hello from the simulator.",
    })
  })

  it("queues connection scripts and HTTP faults per kind", () => {
    const scenario = createScenario()
    scenario.nextConnection("realtime", { latency: { firstEventMs: 1 } })
    scenario.nextHttp("speech", { status: 500 })
    expect(scenario.connectionScripts.get("realtime")).toHaveLength(1)
    expect(scenario.httpFaults.get("speech")).toEqual([{ status: 500 }])
  })
})
