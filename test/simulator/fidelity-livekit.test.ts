/**
 * Fidelity: `@livekit/agents-plugin-openai` (1.9), pointed at the simulator with `baseURL`,
 * without a LiveKit server: streaming STT (server VAD, and `gpt-realtime-whisper` committed by
 * a client VAD: its `model=` beside `intent=transcription` and its `session.update` without
 * `turn_detection`), batch STT, the Responses LLM over the socket and over HTTP (a tool call
 * and its output), the chat-completions LLM, TTS, `prewarm()` (the models list), and the
 * Realtime model's spoken reply.
 */
import { initializeLogger, llm, stt, VAD, VADEventType } from "@livekit/agents"
import { LLM as ChatLLM, realtime, responses, STT, TTS } from "@livekit/agents-plugin-openai"
import { AudioFrame } from "@livekit/rtc-node"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { z } from "zod"
import { createEnergyVad, type Vad } from "../../src/audio/index.ts"
import { startSimulator } from "../../src/simulator/index.ts"
import { synthesizeSpeech } from "../../src/simulator/rest/signal.ts"
import type { Simulator } from "../../src/simulator/types.ts"

beforeAll(() => initializeLogger({ pretty: false, level: "warn" }))

const simulators: Simulator[] = []
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
  await Promise.all(simulators.splice(0).map((s) => s.close()))
})

const start = async () => {
  const sim = await startSimulator()
  simulators.push(sim)
  return { sim, auth: { apiKey: sim.apiKey ?? "unused", baseURL: sim.httpUrl } }
}

const RATE = 24_000
const tone = (ms: number): Int16Array => {
  const out = new Int16Array((ms * RATE) / 1000)
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / RATE))
  return out
}
const silence = (ms: number): Int16Array => new Int16Array((ms * RATE) / 1000)
/** 0.5 s of silence, 1 s of a tone, 1.5 s of silence, as 20 ms LiveKit frames. */
const utterance = (): AudioFrame[] => {
  const samples = new Int16Array([...silence(500), ...tone(1000), ...silence(1500)])
  const frames: AudioFrame[] = []
  for (let i = 0; i < samples.length; i += 480) {
    const chunk = samples.slice(i, i + 480)
    frames.push(new AudioFrame(chunk, RATE, 1, chunk.length))
  }
  return frames
}

/** Reads a speech stream to its first final transcript (or its end). */
const firstFinal = async (stream: stt.SpeechStream): Promise<stt.SpeechEvent[]> => {
  const events: stt.SpeechEvent[] = []
  for await (const event of stream) {
    events.push(event)
    if (event.type === stt.SpeechEventType.FINAL_TRANSCRIPT) break
  }
  return events
}

/**
 * A LiveKit VAD on voxstate's energy detector, for the models that need client commits. Only
 * the stream surface the plugin reads: frames in, start/end of speech out.
 */
class EnergyVAD extends VAD {
  label = "voxstate-energy"
  constructor() {
    super({ updateInterval: 10 })
  }
  stream(): never {
    const detector: Vad = createEnergyVad({ sampleRateHz: RATE, minSilenceMs: 300 })
    const queue: { type: VADEventType }[] = []
    let wake: (() => void) | undefined
    let ended = false
    const push = (type: VADEventType) => {
      queue.push({ type })
      wake?.()
    }
    const stream = {
      [Symbol.asyncIterator]: () => stream,
      async next(): Promise<IteratorResult<{ type: VADEventType }>> {
        while (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve))
        const value = queue.shift()
        return value === undefined ? { done: true, value: undefined } : { done: false, value }
      },
      pushFrame(frame: AudioFrame) {
        for (const event of detector.push(frame.data)) {
          push(event.type === "speech_start" ? VADEventType.START_OF_SPEECH : VADEventType.END_OF_SPEECH)
        }
      },
      endInput() {
        ended = true
        wake?.()
      },
      close() {
        ended = true
        wake?.()
      },
    }
    return stream as never
  }
}

describe("@livekit/agents-plugin-openai STT against the simulator", () => {
  it("streams with server VAD over a URL with model= beside intent=transcription", async () => {
    const { sim, auth } = await start()
    sim.scenario.transcripts = ["hello from livekit"]
    const plugin = new STT({ ...auth, model: "gpt-4o-transcribe", vad: null })
    const stream = plugin.stream()
    closers.push(async () => stream.close())
    for (const frame of utterance()) stream.pushFrame(frame)
    const events = await firstFinal(stream)
    expect(events.map((e) => e.type)).toContain(stt.SpeechEventType.START_OF_SPEECH)
    expect(events.at(-1)?.alternatives?.[0]?.text).toBe("hello from livekit")
    const connection = sim.connections.find((c) => c.kind === "transcription")
    expect(connection?.path).toContain("intent=transcription")
    expect(connection?.path).toContain("model=gpt-4o-transcribe")
  })

  it("streams gpt-realtime-whisper, whose session.update leaves turn_detection out, committed by its VAD", async () => {
    const { sim, auth } = await start()
    sim.scenario.transcripts = ["whisper in real time"]
    const plugin = new STT({ ...auth, model: "gpt-realtime-whisper", vad: new EnergyVAD() })
    const stream = plugin.stream()
    closers.push(async () => stream.close())
    for (const frame of utterance()) stream.pushFrame(frame)
    const events = await firstFinal(stream)
    expect(events.at(-1)?.alternatives?.[0]?.text).toBe("whisper in real time")
    const received = sim.connections.find((c) => c.kind === "transcription")?.received ?? []
    const update = received.find((r) => (r.payload as { type?: string }).type === "session.update")
    expect(update).toBeDefined()
    const { session } = update!.payload as { session: { audio: { input: Record<string, unknown> } } }
    expect(session.audio.input).not.toHaveProperty("turn_detection")
    expect(received.some((r) => (r.payload as { type?: string }).type === "input_audio_buffer.commit")).toBe(
      true,
    )
    expect(received.some((r) => (r.payload as { type?: string }).type === "error")).toBe(false)
  })

  it("recognizes a buffer over the transcriptions endpoint", async () => {
    const { sim, auth } = await start()
    sim.scenario.transcripts = ["batch from livekit"]
    const plugin = new STT({ ...auth, useRealtime: false })
    const event = await plugin.recognize(utterance())
    expect(event.type).toBe(stt.SpeechEventType.FINAL_TRANSCRIPT)
    expect(event.alternatives?.[0]?.text).toBe("batch from livekit")
  })
})

const weatherTools = () => ({
  get_weather: llm.tool({
    description: "The weather in a city.",
    parameters: z.object({ city: z.string() }),
    execute: async () => "21 degrees",
  }),
})

/** Runs one chat turn and gathers its text and tool calls. */
const chatTurn = async (model: llm.LLM, chatCtx: llm.ChatContext, toolCtx?: llm.ToolContextLike) => {
  let text = ""
  const calls: llm.FunctionCall[] = []
  for await (const chunk of model.chat({ chatCtx, ...(toolCtx === undefined ? {} : { toolCtx }) })) {
    text += chunk.delta?.content ?? ""
    calls.push(...(chunk.delta?.toolCalls ?? []))
  }
  return { text, calls }
}

describe("@livekit/agents-plugin-openai LLMs against the simulator", () => {
  for (const useWebSocket of [true, false]) {
    it(`holds a tool-calling turn with the Responses LLM over ${useWebSocket ? "the socket" : "HTTP"}`, async () => {
      const { sim, auth } = await start()
      sim.scenario.replies = [
        { functionCall: { name: "get_weather", arguments: '{"city":"Paris"}', callId: "call_lk1" } },
        { text: "It is 21 degrees in Paris." },
      ]
      const model = new responses.LLM({ ...auth, model: "gpt-4.1-mini", useWebSocket })
      closers.push(() => model.aclose())
      const chatCtx = new llm.ChatContext()
      chatCtx.addMessage({ role: "user", content: "Weather in Paris?" })
      const first = await chatTurn(model, chatCtx, weatherTools())
      expect(first.calls.map((c) => [c.name, c.args, c.callId])).toEqual([
        ["get_weather", '{"city":"Paris"}', "call_lk1"],
      ])
      chatCtx.insert(first.calls)
      chatCtx.insert(
        llm.FunctionCallOutput.create({
          callId: "call_lk1",
          name: "get_weather",
          output: "21",
          isError: false,
        }),
      )
      const second = await chatTurn(model, chatCtx, weatherTools())
      expect(second.text).toBe("It is 21 degrees in Paris.")
      const kinds = sim.connections.map((c) => c.kind)
      expect(kinds).toContain(useWebSocket ? "responses" : "http")
      if (!useWebSocket) expect(kinds).not.toContain("responses")
    })
  }

  it("streams a reply with the chat-completions LLM, and prewarm lists the models", async () => {
    const { sim, auth } = await start()
    sim.scenario.replies = [{ text: "Chatting with the simulator." }]
    const model = new ChatLLM({ ...auth, model: "gpt-4.1-mini" })
    closers.push(() => model.aclose())
    model.prewarm()
    const chatCtx = new llm.ChatContext()
    chatCtx.addMessage({ role: "user", content: "Hi" })
    expect((await chatTurn(model, chatCtx)).text).toBe("Chatting with the simulator.")
    const listed = sim.connections.find((c) => c.path === "/v1/models")
    expect(listed?.httpStatus).toBe(200)
  })
})

describe("@livekit/agents-plugin-openai TTS and realtime model against the simulator", () => {
  it("synthesizes 24 kHz frames of the simulated voice", async () => {
    const { auth } = await start()
    const plugin = new TTS({ ...auth })
    let samples = 0
    for await (const audio of plugin.synthesize("Hello there, from LiveKit.")) {
      expect(audio.frame.sampleRate).toBe(RATE)
      samples += audio.frame.samplesPerChannel
    }
    const expected = synthesizeSpeech("Hello there, from LiveKit.").length
    // The plugin reframes into 100 ms frames and leaves a last partial frame out.
    expect(samples % 2400).toBe(0)
    expect(samples).toBeGreaterThan(expected - 2400)
    expect(samples).toBeLessThanOrEqual(expected)
  })

  it("speaks a generated reply: its text and its audio", async () => {
    const { sim, auth } = await start()
    sim.scenario.replies = [{ text: "Hello from the realtime model." }]
    const model = new realtime.RealtimeModel({ ...auth, model: "gpt-realtime" })
    const session = model.session()
    closers.push(async () => {
      await session.close()
      await model.close()
    })
    const generation = await session.generateReply()
    let text = ""
    let samples = 0
    for await (const message of generation.messageStream) {
      const reading = (async () => {
        for await (const piece of message.textStream) text += typeof piece === "string" ? piece : piece.text
      })()
      for await (const frame of message.audioStream) samples += frame.samplesPerChannel
      await reading
    }
    expect(text).toBe("Hello from the realtime model.")
    expect(samples).toBeGreaterThan(RATE / 2)
    expect(sim.connections.find((c) => c.kind === "realtime")?.path).toContain("model=gpt-realtime")
  })
})
