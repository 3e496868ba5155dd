import { assert, describe, it } from "@effect/vitest"
import {
  ClientEvents,
  encodeAudioAppend,
  encodeClientEvent,
  type RealtimeSessionConfig,
  type ResponsesCreateParams,
} from "../../src/protocol/index.ts"
import { audioChunkBase64 } from "./fixtures.ts"

describe("encodeAudioAppend", () => {
  it("builds exactly the JSON that JSON.stringify builds for the same event", () => {
    assert.strictEqual(
      encodeAudioAppend(audioChunkBase64),
      JSON.stringify({ type: "input_audio_buffer.append", audio: audioChunkBase64 }),
    )
    assert.strictEqual(
      encodeAudioAppend(audioChunkBase64),
      encodeClientEvent(ClientEvents.inputAudioBufferAppend(audioChunkBase64)),
    )
  })

  it("round-trips through JSON.parse with the audio unchanged", () => {
    const b64 = Buffer.from(Int16Array.from([0, 1, -1, 32_767, -32_768]).buffer).toString("base64")
    assert.deepStrictEqual(JSON.parse(encodeAudioAppend(b64)), {
      type: "input_audio_buffer.append",
      audio: b64,
    })
    assert.deepStrictEqual(JSON.parse(encodeAudioAppend("")), {
      type: "input_audio_buffer.append",
      audio: "",
    })
  })

  it("includes an event_id, escaped, when given one", () => {
    const text = encodeAudioAppend("AAE=", 'evt "7"')
    assert.strictEqual(
      text,
      encodeClientEvent(ClientEvents.inputAudioBufferAppend("AAE=", { eventId: 'evt "7"' })),
    )
    assert.deepStrictEqual(JSON.parse(text), {
      type: "input_audio_buffer.append",
      event_id: 'evt "7"',
      audio: "AAE=",
    })
  })
})

describe("ClientEvents: Realtime", () => {
  it("builds the GA transcription session.update byte for byte as documented", () => {
    const ev = ClientEvents.sessionUpdate({
      type: "transcription",
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          transcription: { model: "gpt-4o-transcribe", language: "en", prompt: "…" },
          turn_detection: null,
          noise_reduction: { type: "near_field" },
        },
      },
    })
    assert.strictEqual(
      encodeClientEvent(ev),
      '{"type":"session.update","session":{"type":"transcription","audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":{"model":"gpt-4o-transcribe","language":"en","prompt":"…"},"turn_detection":null,"noise_reduction":{"type":"near_field"}}}}}',
    )
  })

  it("builds a speech-to-speech session.update with tools, voice and an event id", () => {
    const session: RealtimeSessionConfig = {
      type: "realtime",
      instructions: "Be brief.",
      output_modalities: ["audio"],
      audio: {
        input: { turn_detection: { type: "semantic_vad", eagerness: "auto" }, transcription: null },
        output: { voice: "marin", speed: 1.1 },
      },
      tools: [
        { type: "function", name: "get_weather", description: "Weather", parameters: { type: "object" } },
      ],
      tool_choice: "auto",
    }
    assert.deepStrictEqual(
      JSON.parse(encodeClientEvent(ClientEvents.sessionUpdate(session, { eventId: "c1" }))),
      {
        type: "session.update",
        event_id: "c1",
        session,
      },
    )
  })

  it("builds the beta transcription_session.update", () => {
    const ev = ClientEvents.transcriptionSessionUpdate({
      input_audio_format: "pcm16",
      input_audio_transcription: { model: "gpt-4o-transcribe", prompt: "", language: "en" },
      turn_detection: {
        type: "server_vad",
        threshold: 0.5,
        prefix_padding_ms: 300,
        silence_duration_ms: 500,
      },
      input_audio_noise_reduction: { type: "near_field" },
      include: ["item.input_audio_transcription.logprobs"],
    })
    assert.deepStrictEqual(JSON.parse(encodeClientEvent(ev)), {
      type: "transcription_session.update",
      session: {
        input_audio_format: "pcm16",
        input_audio_transcription: { model: "gpt-4o-transcribe", prompt: "", language: "en" },
        turn_detection: {
          type: "server_vad",
          threshold: 0.5,
          prefix_padding_ms: 300,
          silence_duration_ms: 500,
        },
        input_audio_noise_reduction: { type: "near_field" },
        include: ["item.input_audio_transcription.logprobs"],
      },
    })
    const cleared = ClientEvents.transcriptionSessionUpdate({
      turn_detection: null,
      input_audio_noise_reduction: null,
    })
    assert.strictEqual(
      encodeClientEvent(cleared),
      '{"type":"transcription_session.update","session":{"turn_detection":null,"input_audio_noise_reduction":null}}',
    )
  })

  it("builds the input audio buffer events", () => {
    assert.strictEqual(
      encodeClientEvent(ClientEvents.inputAudioBufferCommit()),
      '{"type":"input_audio_buffer.commit"}',
    )
    assert.strictEqual(
      encodeClientEvent(ClientEvents.inputAudioBufferClear()),
      '{"type":"input_audio_buffer.clear"}',
    )
    assert.deepStrictEqual(ClientEvents.inputAudioBufferCommit({ eventId: "e9" }), {
      type: "input_audio_buffer.commit",
      event_id: "e9",
    })
  })

  it("builds conversation item events", () => {
    assert.deepStrictEqual(
      ClientEvents.conversationItemCreate({
        type: "function_call_output",
        call_id: "call_1",
        output: '{"ok":true}',
      }),
      {
        type: "conversation.item.create",
        item: { type: "function_call_output", call_id: "call_1", output: '{"ok":true}' },
      },
    )
    assert.deepStrictEqual(
      ClientEvents.conversationItemCreate(
        { type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] },
        { previousItemId: "root", eventId: "c2" },
      ),
      {
        type: "conversation.item.create",
        previous_item_id: "root",
        item: { type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] },
        event_id: "c2",
      },
    )
    assert.strictEqual(
      encodeClientEvent(ClientEvents.conversationItemDelete("item_1")),
      '{"type":"conversation.item.delete","item_id":"item_1"}',
    )
    assert.strictEqual(
      encodeClientEvent(ClientEvents.conversationItemRetrieve("item_1")),
      '{"type":"conversation.item.retrieve","item_id":"item_1"}',
    )
  })

  it("builds conversation.item.truncate with content_index 0 by default", () => {
    assert.strictEqual(
      encodeClientEvent(ClientEvents.conversationItemTruncate("item_A", 1_480)),
      '{"type":"conversation.item.truncate","item_id":"item_A","content_index":0,"audio_end_ms":1480}',
    )
    assert.strictEqual(
      ClientEvents.conversationItemTruncate("item_A", 10, { contentIndex: 1 }).content_index,
      1,
    )
  })

  it("builds response.create with per-response overrides and response.cancel", () => {
    assert.strictEqual(encodeClientEvent(ClientEvents.responseCreate()), '{"type":"response.create"}')
    assert.deepStrictEqual(
      ClientEvents.responseCreate(
        { instructions: "Say goodbye.", metadata: { client_event_id: "c3" }, conversation: "none" },
        { eventId: "c3" },
      ),
      {
        type: "response.create",
        response: { instructions: "Say goodbye.", metadata: { client_event_id: "c3" }, conversation: "none" },
        event_id: "c3",
      },
    )
    assert.deepStrictEqual(
      ClientEvents.responseCreate({ input: [{ type: "item_reference", id: "item_9" }] }).response?.input,
      [{ type: "item_reference", id: "item_9" }],
    )
    assert.strictEqual(encodeClientEvent(ClientEvents.responseCancel()), '{"type":"response.cancel"}')
    assert.strictEqual(
      encodeClientEvent(ClientEvents.responseCancel({ responseId: "resp_1" })),
      '{"type":"response.cancel","response_id":"resp_1"}',
    )
    assert.strictEqual(
      encodeClientEvent(ClientEvents.outputAudioBufferClear()),
      '{"type":"output_audio_buffer.clear"}',
    )
  })
})

describe("ClientEvents: Responses socket", () => {
  it("builds the warmup response.create with generate false", () => {
    const tools: ResponsesCreateParams["tools"] = [
      {
        type: "function",
        name: "lookup",
        description: "Look up",
        parameters: { type: "object" },
        strict: null,
      },
    ]
    const ev = ClientEvents.responsesCreate({
      model: "gpt-4.1-mini",
      store: false,
      input: [{ type: "message", role: "system", content: [{ type: "input_text", text: "You are terse." }] }],
      tools,
      generate: false,
    })
    assert.deepStrictEqual(JSON.parse(encodeClientEvent(ev)), {
      type: "response.create",
      model: "gpt-4.1-mini",
      store: false,
      input: [{ type: "message", role: "system", content: [{ type: "input_text", text: "You are terse." }] }],
      tools: [
        {
          type: "function",
          name: "lookup",
          description: "Look up",
          parameters: { type: "object" },
          strict: null,
        },
      ],
      generate: false,
    })
  })

  it("builds a chained turn with previous_response_id and only the new items", () => {
    const ev = ClientEvents.responsesCreate({
      model: "gpt-4.1-mini",
      instructions: "You are terse.",
      previous_response_id: "resp_1",
      input: [{ type: "function_call_output", call_id: "call_1", output: "21C" }],
      tool_choice: "auto",
      stream_id: "lane-1",
    })
    assert.strictEqual(ev.type, "response.create")
    assert.strictEqual(ev.previous_response_id, "resp_1")
    assert.strictEqual(ev.stream_id, "lane-1")
  })

  it("builds response.cancel with and without a response id", () => {
    assert.strictEqual(encodeClientEvent(ClientEvents.responsesCancel()), '{"type":"response.cancel"}')
    assert.strictEqual(
      encodeClientEvent(ClientEvents.responsesCancel("resp_2")),
      '{"type":"response.cancel","response_id":"resp_2"}',
    )
  })
})

describe("ClientEvents: type-checked against the openai package", () => {
  // These calls are checked by `tsc --noEmit` (npm run typecheck): each @ts-expect-error
  // fails the type-check if the line below it stops being an error. At run time they only
  // show that the constructors copy what they are given.
  it("rejects misspelt and misplaced fields at compile time", () => {
    const misspelt = ClientEvents.sessionUpdate({
      type: "realtime",
      // @ts-expect-error `instructons` is not a session field
      instructons: "typo",
    })
    assert.strictEqual(misspelt.type, "session.update")

    const wrongMode = ClientEvents.sessionUpdate({
      type: "transcription",
      // @ts-expect-error `instructions` belongs to realtime sessions, not transcription sessions
      instructions: "no",
    })
    assert.strictEqual(wrongMode.session.type, "transcription")

    ClientEvents.sessionUpdate({
      type: "transcription",
      // @ts-expect-error `silence_duration` is misspelt (`silence_duration_ms`)
      audio: { input: { turn_detection: { type: "server_vad", silence_duration: 500 } } },
    })

    // @ts-expect-error `previous_response` is misspelt (`previous_response_id`)
    ClientEvents.responsesCreate({ model: "gpt-4.1-mini", previous_response: "resp_1" })

    // @ts-expect-error `stream` is not sent on the Responses socket
    ClientEvents.responsesCreate({ model: "gpt-4.1-mini", stream: true })

    // @ts-expect-error `model` is required on the Responses socket
    ClientEvents.responsesCreate({ input: "hi" })

    // @ts-expect-error `audio_end` is misspelt (`audioEndMs` is positional)
    ClientEvents.conversationItemTruncate("item_1", 100, { audio_end: 5 })
  })
})
