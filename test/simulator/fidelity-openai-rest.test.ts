/**
 * Fidelity: the `openai` package's own REST client, pointed at the simulator with
 * `baseURL`, transcribes, speaks and chats, and sees scripted HTTP faults as it would see
 * the service's (retries on 503/429, errors on 400, connection errors, timeouts).
 */
import OpenAI, { AzureOpenAI, type BadRequestError, toFile } from "openai"
import { afterEach, describe, expect, it } from "vitest"
import { decodeWav, encodeWav, makeAudioFrame } from "../../src/audio/index.ts"
import { startSimulator } from "../../src/simulator/index.ts"
import { decodeCompressed, encodeFlac, encodeMp3 } from "../../src/simulator/rest/codecs.ts"
import { synthesizeSpeech } from "../../src/simulator/rest/signal.ts"
import type { Simulator, SimulatorOptions } from "../../src/simulator/types.ts"

const simulators: Simulator[] = []
afterEach(async () => {
  await Promise.all(simulators.splice(0).map((s) => s.close()))
})

const start = async (options: SimulatorOptions = {}) => {
  const sim = await startSimulator(options)
  simulators.push(sim)
  const client = new OpenAI({ apiKey: sim.apiKey ?? "unused", baseURL: sim.httpUrl, maxRetries: 0 })
  return { sim, client }
}

const RATE = 24_000
/** 0.4 s of silence, 1 s of a 220 Hz tone, 0.6 s of silence: one voiced region from 0.4 to 1.4 s. */
const speechWav = (): Uint8Array => {
  const samples = new Int16Array(2 * RATE)
  for (let i = 0.4 * RATE; i < 1.4 * RATE; i++)
    samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / RATE))
  return encodeWav(makeAudioFrame(samples, RATE, 1))
}
const wavFile = () => toFile(speechWav(), "turn.wav", { type: "audio/wav" })

const FRAME_BYTES = 960

describe("openai REST client: transcriptions", () => {
  it("transcribes a WAV file as json with token usage", async () => {
    const { sim, client } = await start()
    sim.scenario.transcripts = ["Book a table for two."]
    const result = await client.audio.transcriptions.create({
      file: await wavFile(),
      model: "gpt-4o-transcribe",
    })
    expect(result.text).toBe("Book a table for two.")
    expect(result.usage).toMatchObject({ type: "tokens", input_token_details: { audio_tokens: 20 } })
  })

  it("transcribes as verbose_json with word and segment timestamps", async () => {
    const { sim, client } = await start()
    sim.scenario.transcripts = ["Book a table."]
    const result = await client.audio.transcriptions.create({
      file: await wavFile(),
      model: "whisper-1",
      response_format: "verbose_json",
      timestamp_granularities: ["word", "segment"],
    })
    expect(result.duration).toBe(2)
    expect(result.segments?.map((s) => s.text)).toEqual([" Book a table."])
    expect(result.segments?.[0]?.start).toBeCloseTo(0.4, 1)
    expect(result.segments?.[0]?.end).toBeCloseTo(1.4, 1)
    expect(result.words?.map((w) => w.word)).toEqual(["Book", "a", "table."])
    expect(result.usage).toEqual({ type: "duration", seconds: 2 })
  })

  it("answers response_format text as a string", async () => {
    const { sim, client } = await start()
    sim.scenario.transcripts = ["plain words"]
    const text = await client.audio.transcriptions.create({
      file: await wavFile(),
      model: "gpt-4o-mini-transcribe",
      response_format: "text",
    })
    expect(text).toBe("plain words\n")
  })

  it("streams transcript deltas with logprobs and a done event", async () => {
    const { sim, client } = await start()
    sim.scenario.transcripts = ["Streaming works fine."]
    const stream = await client.audio.transcriptions.create({
      file: await wavFile(),
      model: "gpt-4o-transcribe",
      stream: true,
      include: ["logprobs"],
    })
    const deltas: string[] = []
    let done: OpenAI.Audio.TranscriptionTextDoneEvent | undefined
    for await (const event of stream) {
      if (event.type === "transcript.text.delta") {
        deltas.push(event.delta)
        expect(event.logprobs?.[0]?.token).toBe(event.delta)
      } else if (event.type === "transcript.text.done") done = event
    }
    expect(deltas.join("")).toBe("Streaming works fine.")
    expect(done?.text).toBe("Streaming works fine.")
    expect(done?.usage?.type).toBe("tokens")
  })

  it("surfaces a non-WAV upload as a BadRequestError", async () => {
    const { client } = await start()
    const error = await client.audio.transcriptions
      .create({ file: await toFile(Buffer.from("not audio"), "notes.txt"), model: "whisper-1" })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as BadRequestError).param).toBe("file")
  })
})

describe("openai REST client: speech", () => {
  it("streams pcm whose chunks a client re-frames into 20 ms frames by carrying leftovers", async () => {
    const { client } = await start()
    const input = "The quick brown fox jumps over the lazy dog."
    const response = await client.audio.speech.create({
      model: "gpt-4o-mini-tts",
      voice: "coral",
      input,
      response_format: "pcm",
    })
    const frames: Buffer[] = []
    let leftover = Buffer.alloc(0)
    let unalignedChunks = 0
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (chunk.length % FRAME_BYTES !== 0) unalignedChunks++
      let bytes = Buffer.concat([leftover, chunk])
      while (bytes.length >= FRAME_BYTES) {
        frames.push(bytes.subarray(0, FRAME_BYTES))
        bytes = bytes.subarray(FRAME_BYTES)
      }
      leftover = Buffer.from(bytes)
    }
    if (leftover.length > 0)
      frames.push(Buffer.concat([leftover, Buffer.alloc(FRAME_BYTES - leftover.length)]))
    expect(unalignedChunks).toBeGreaterThan(0)
    const expected = synthesizeSpeech(input, { seed: 1 })
    expect(frames).toHaveLength(Math.ceil(expected.byteLength / FRAME_BYTES))
    const joined = Buffer.concat(frames).subarray(0, expected.byteLength)
    expect(new Int16Array(joined.buffer, joined.byteOffset, joined.length / 2)).toEqual(expected)
  })

  it("answers wav with a 24 kHz mono header", async () => {
    const { client } = await start()
    const response = await client.audio.speech.create({
      model: "gpt-4o-mini-tts",
      voice: "alloy",
      input: "Hello.",
      response_format: "wav",
    })
    const frame = decodeWav(new Uint8Array(await response.arrayBuffer()))
    expect(frame).toMatchObject({ sampleRateHz: 24_000, channels: 1 })
    expect(frame.data.length).toBe(synthesizeSpeech("Hello.").length)
  })

  it("answers mp3 (the default format): MPEG audio at 24 kHz as long as the voice", async () => {
    const { client } = await start()
    const response = await client.audio.speech.create({
      model: "gpt-4o-mini-tts",
      voice: "alloy",
      input: "Hello there.",
    })
    expect(response.headers.get("content-type")).toBe("audio/mpeg")
    const decoded = await decodeCompressed("mp3", new Uint8Array(await response.arrayBuffer()))
    expect(decoded.sampleRateHz).toBe(24_000)
    const expected = synthesizeSpeech("Hello there.").length
    // The encoder's padding: at most two 576-sample granules and the decoder's delay more.
    expect(decoded.data.length / decoded.channels).toBeGreaterThanOrEqual(expected)
    expect(decoded.data.length / decoded.channels).toBeLessThan(expected + 3 * 1152)
  })

  it("answers flac that decodes to exactly the pcm voice", async () => {
    const { client } = await start()
    const response = await client.audio.speech.create({
      model: "gpt-4o-mini-tts",
      voice: "alloy",
      input: "Lossless, please.",
      response_format: "flac",
    })
    expect(response.headers.get("content-type")).toBe("audio/flac")
    const decoded = await decodeCompressed("flac", new Uint8Array(await response.arrayBuffer()))
    expect(decoded).toMatchObject({ sampleRateHz: 24_000, channels: 1 })
    expect(decoded.data).toEqual(synthesizeSpeech("Lossless, please.", { seed: 1 }))
  })

  it("refuses opus and aac, which it keeps no encoder for, with unsupported_value", async () => {
    const { client } = await start()
    for (const response_format of ["opus", "aac"] as const) {
      const error = await client.audio.speech
        .create({ model: "gpt-4o-mini-tts", voice: "alloy", input: "Hello.", response_format })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect((error as BadRequestError).code).toBe("unsupported_value")
      expect((error as BadRequestError).message).toContain(response_format)
    }
  })
})

describe("openai REST client: compressed uploads, diarization, translations", () => {
  const samples = (): Int16Array => decodeWav(speechWav()).data

  it("transcribes MP3 and FLAC uploads, at other rates too", async () => {
    const { sim, client } = await start()
    sim.scenario.transcripts = ["From an mp3.", "From a flac."]
    const mp3 = await encodeMp3(samples(), RATE)
    const fromMp3 = await client.audio.transcriptions.create({
      file: await toFile(mp3, "turn.mp3", { type: "audio/mpeg" }),
      model: "whisper-1",
      response_format: "verbose_json",
    })
    expect(fromMp3.text).toBe("From an mp3.")
    expect(fromMp3.duration).toBeGreaterThanOrEqual(2)
    expect(fromMp3.duration).toBeLessThan(2.2)
    const flac = encodeFlac(
      samples().filter((_, i) => i % 3 === 0),
      8_000,
    )
    const fromFlac = await client.audio.transcriptions.create({
      file: await toFile(flac, "turn.flac", { type: "audio/flac" }),
      model: "whisper-1",
      response_format: "verbose_json",
    })
    expect(fromFlac.text).toBe("From a flac.")
    expect(fromFlac.duration).toBe(2)
    expect(fromFlac.segments?.[0]?.start).toBeCloseTo(0.4, 1)
  })

  it("answers diarized_json with gpt-4o-transcribe-diarize: timed segments with speakers", async () => {
    const { sim, client } = await start()
    const two = new Int16Array(4 * RATE)
    for (const [from, to] of [
      [0.2, 1.2],
      [2, 3.5],
    ] as const) {
      for (let i = from * RATE; i < to * RATE; i++)
        two[i] = Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / RATE))
    }
    sim.scenario.transcripts = ["Hello there. How are you?"]
    const result = (await client.audio.transcriptions.create({
      file: await toFile(encodeWav(makeAudioFrame(two, RATE, 1)), "two.wav", { type: "audio/wav" }),
      model: "gpt-4o-transcribe-diarize",
      response_format: "diarized_json",
    })) as OpenAI.Audio.TranscriptionDiarized
    expect(result.text).toBe("Hello there. How are you?")
    expect(result.segments.map((s) => s.speaker)).toEqual(["A", "B"])
    expect(result.segments.every((s) => s.type === "transcript.text.segment")).toBe(true)
    expect(result.segments.map((s) => s.text).join(" ")).toBe("Hello there. How are you?")
    expect(result.segments[1]?.start).toBeCloseTo(2, 1)

    sim.scenario.transcripts = ["Hello there. How are you?"]
    const stream = await client.audio.transcriptions.create({
      file: await toFile(encodeWav(makeAudioFrame(two, RATE, 1)), "two.wav", { type: "audio/wav" }),
      model: "gpt-4o-transcribe-diarize",
      response_format: "diarized_json",
      known_speaker_names: ["agent", "caller"],
      known_speaker_references: ["data:audio/wav;base64,AAAA", "data:audio/wav;base64,AAAA"],
      stream: true,
    })
    const types: string[] = []
    const speakers: string[] = []
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === "transcript.text.segment") speakers.push(event.speaker)
    }
    expect(speakers).toEqual(["agent", "caller"])
    expect(types.at(-1)).toBe("transcript.text.done")

    const refused = await client.audio.transcriptions
      .create({ file: await wavFile(), model: "gpt-4o-transcribe", response_format: "diarized_json" })
      .catch((e: unknown) => e)
    expect((refused as BadRequestError).code).toBe("unsupported_value")
  })

  it("translates with whisper-1 (json, verbose_json), and refuses other models", async () => {
    const { sim, client } = await start()
    sim.scenario.transcripts = ["Good morning.", "Good evening."]
    const json = await client.audio.translations.create({ file: await wavFile(), model: "whisper-1" })
    expect(json.text).toBe("Good morning.")
    const verbose = await client.audio.translations.create({
      file: await wavFile(),
      model: "whisper-1",
      response_format: "verbose_json",
    })
    expect(verbose).toMatchObject({ task: "translate", language: "english", text: "Good evening." })
    const refused = await client.audio.translations
      .create({ file: await wavFile(), model: "gpt-4o-transcribe" })
      .catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError)
    expect((refused as BadRequestError).param).toBe("model")
  })
})

describe("openai REST client: chat completions", () => {
  const tools: OpenAI.Chat.ChatCompletionTool[] = [
    {
      type: "function",
      function: {
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
    },
  ]

  it("streams a tool call the SDK's accumulator assembles, with usage", async () => {
    const { sim, client } = await start()
    const args = '{"city":"Paris","unit":"celsius"}'
    sim.scenario.replies = [{ functionCall: { name: "get_weather", arguments: args } }]
    const stream = client.chat.completions.stream({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools,
      stream_options: { include_usage: true },
    })
    const fragments: string[] = []
    stream.on("tool_calls.function.arguments.delta", (event) => fragments.push(event.arguments_delta))
    const completion = await stream.finalChatCompletion()
    const choice = completion.choices[0]!
    expect(choice.finish_reason).toBe("tool_calls")
    expect(choice.message.tool_calls?.[0]).toMatchObject({
      type: "function",
      function: { name: "get_weather", arguments: args },
    })
    expect(choice.message.tool_calls?.[0]?.id).toMatch(/^call_/)
    expect(fragments.length).toBeGreaterThan(1)
    expect(fragments.join("")).toBe(args)
    expect(completion.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: 12 })
  })

  it("streams parallel tool calls the SDK's accumulator assembles by index", async () => {
    const { sim, client } = await start()
    sim.scenario.replies = [
      {
        functionCalls: [
          { name: "get_weather", arguments: '{"city":"Paris"}' },
          { name: "get_weather", arguments: '{"city":"Oslo"}' },
        ],
      },
    ]
    const stream = client.chat.completions.stream({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Weather in Paris and Oslo?" }],
      tools,
      parallel_tool_calls: true,
    })
    const done: { index: number; arguments: string }[] = []
    stream.on("tool_calls.function.arguments.done", (event) =>
      done.push({ index: event.index, arguments: event.arguments }),
    )
    const completion = await stream.finalChatCompletion()
    const choice = completion.choices[0]!
    expect(choice.finish_reason).toBe("tool_calls")
    const calls = choice.message.tool_calls ?? []
    expect(calls.map((call) => call.type === "function" && call.function.arguments)).toEqual([
      '{"city":"Paris"}',
      '{"city":"Oslo"}',
    ])
    expect(new Set(calls.map((call) => call.id)).size).toBe(2)
    expect(done).toEqual([
      { index: 0, arguments: '{"city":"Paris"}' },
      { index: 1, arguments: '{"city":"Oslo"}' },
    ])
  })

  it("streams text chunks and a final usage chunk, then the tool result turn", async () => {
    const { sim, client } = await start()
    sim.scenario.replies = [{ text: "It is 21 degrees in Paris." }]
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      stream: true,
      stream_options: { include_usage: true },
      tools,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: "{}" } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: '{"celsius":21}' },
      ],
    })
    let text = ""
    let usage: OpenAI.CompletionUsage | null | undefined
    let finish: string | null | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ""
      finish = chunk.choices[0]?.finish_reason ?? finish
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toBe("It is 21 degrees in Paris.")
    expect(finish).toBe("stop")
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0))
  })

  it("surfaces temperature on a reasoning model as unsupported_parameter", async () => {
    const { client } = await start()
    const error = await client.chat.completions
      .create({ model: "o3-mini", temperature: 0.5, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error).toMatchObject({ status: 400, code: "unsupported_parameter", param: "temperature" })
  })

  it("serves an AzureOpenAI client on the deployment paths", async () => {
    const { sim } = await start()
    sim.scenario.replies = [{ text: "Hello from Azure." }]
    sim.scenario.transcripts = ["azure words"]
    const origin = sim.httpUrl.replace(/\/v1$/, "")
    const chat = new AzureOpenAI({
      endpoint: origin,
      apiKey: sim.apiKey ?? "",
      apiVersion: "2024-10-21",
      deployment: "my-gpt",
    })
    const completion = await chat.chat.completions.create({
      model: "ignored",
      messages: [{ role: "user", content: "hi" }],
    })
    expect(completion.model).toBe("my-gpt")
    expect(completion.choices[0]?.message.content).toBe("Hello from Azure.")
    const stt = new AzureOpenAI({
      endpoint: origin,
      apiKey: sim.apiKey ?? "",
      apiVersion: "2024-10-21",
      deployment: "whisper-1",
    })
    const transcript = await stt.audio.transcriptions.create({
      file: await wavFile(),
      model: "whisper-1",
      response_format: "verbose_json",
    })
    expect(transcript.text).toBe("azure words")
    const tts = new AzureOpenAI({
      endpoint: origin,
      apiKey: sim.apiKey ?? "",
      apiVersion: "2025-04-01-preview",
      deployment: "my-tts",
    })
    const speech = await tts.audio.speech.create({
      model: "ignored",
      voice: "alloy",
      input: "Hello from Azure.",
      response_format: "pcm",
    })
    const pcm = new Uint8Array(await speech.arrayBuffer())
    expect(pcm.byteLength).toBe(synthesizeSpeech("Hello from Azure.").byteLength)
    const requests = sim.connections.filter((c) => c.kind === "http").map((c) => c.path)
    expect(requests[0]).toMatch(/^\/openai\/deployments\/my-gpt\/chat\/completions\?api-version=2024-10-21$/)
    expect(requests[1]).toMatch(/^\/openai\/deployments\/whisper-1\/audio\/transcriptions\?/)
    expect(requests[2]).toMatch(
      /^\/openai\/deployments\/my-tts\/audio\/speech\?api-version=2025-04-01-preview$/,
    )
    expect(sim.connections.at(-1)?.received[0]?.payload).toMatchObject({ model: "ignored" })
  })
})

describe("openai REST client: scripted HTTP faults", () => {
  const ask = (client: OpenAI) =>
    client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })

  it("retries a 503 and then succeeds", async () => {
    const { sim } = await start()
    sim.scenario.nextHttp("chat", { status: 503, headers: { "retry-after-ms": "1" } })
    sim.scenario.replies = [{ text: "second time lucky" }]
    const client = new OpenAI({ apiKey: sim.apiKey ?? "", baseURL: sim.httpUrl, maxRetries: 2 })
    const completion = await ask(client)
    expect(completion.choices[0]?.message.content).toBe("second time lucky")
    const requests = sim.connections.filter((c) => c.kind === "http")
    expect(requests.map((c) => c.httpStatus)).toEqual([503, 200])
  })

  it("retries a 429 with retry-after on transcriptions and then succeeds", async () => {
    const { sim } = await start()
    sim.scenario.nextHttp("transcriptions", {
      status: 429,
      headers: { "retry-after-ms": "1" },
    })
    sim.scenario.transcripts = ["after the rate limit"]
    const client = new OpenAI({ apiKey: sim.apiKey ?? "", baseURL: sim.httpUrl, maxRetries: 1 })
    const result = await client.audio.transcriptions.create({
      file: await wavFile(),
      model: "gpt-4o-transcribe",
    })
    expect(result.text).toBe("after the rate limit")
  })

  it("retries a scripted server_error transcription and gets the next transcript", async () => {
    const { sim } = await start()
    sim.scenario.transcripts = [
      { text: "", fail: { code: "server_error", message: "Try again." } },
      "second try",
    ]
    const client = new OpenAI({ apiKey: sim.apiKey ?? "", baseURL: sim.httpUrl, maxRetries: 1 })
    const result = await client.audio.transcriptions.create({
      file: await wavFile(),
      model: "gpt-4o-transcribe",
    })
    expect(result.text).toBe("second try")
    await expect.poll(() => sim.connections.map((c) => c.httpStatus)).toEqual([500, 200])
  })

  it("surfaces a scripted 400 with its body as a BadRequestError without retrying", async () => {
    const { sim } = await start()
    sim.scenario.nextHttp("speech", {
      status: 400,
      body: {
        error: {
          message: "Bad voice.",
          type: "invalid_request_error",
          param: "voice",
          code: "invalid_value",
        },
      },
    })
    const client = new OpenAI({ apiKey: sim.apiKey ?? "", baseURL: sim.httpUrl, maxRetries: 2 })
    const error = await client.audio.speech
      .create({ model: "gpt-4o-mini-tts", voice: "alloy", input: "hi", response_format: "pcm" })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error).toMatchObject({ param: "voice", code: "invalid_value", message: "400 Bad voice." })
    expect(sim.connections.filter((c) => c.kind === "http")).toHaveLength(1)
  })

  it("surfaces a destroyed connection as an APIConnectionError", async () => {
    const { sim, client } = await start()
    sim.scenario.nextHttp("chat", { status: 0, destroy: true })
    const error = await ask(client).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError)
    expect(error).not.toBeInstanceOf(OpenAI.APIConnectionTimeoutError)
    // The next request is answered normally.
    expect((await ask(client)).object).toBe("chat.completion")
  })

  it("delays an answer: past the client's timeout it is a timeout error, within it a success", async () => {
    const { sim } = await start()
    sim.scenario.nextHttp("chat", { status: 200, delayMs: 2_000, body: { unused: true } })
    const impatient = new OpenAI({
      apiKey: sim.apiKey ?? "",
      baseURL: sim.httpUrl,
      maxRetries: 0,
      timeout: 100,
    })
    const error = await ask(impatient).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError)
    sim.scenario.nextHttp("chat", { status: 503, delayMs: 20, headers: { "retry-after-ms": "1" } })
    const patient = new OpenAI({
      apiKey: sim.apiKey ?? "",
      baseURL: sim.httpUrl,
      maxRetries: 1,
      timeout: 10_000,
    })
    expect((await ask(patient)).object).toBe("chat.completion")
  })
})
