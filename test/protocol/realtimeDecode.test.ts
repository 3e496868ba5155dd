import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import {
  decodeRealtimeServerEvent,
  decodeRealtimeServerEventSync,
  errorCodeOf,
  PROTOCOL_ERROR_RAW_LIMIT,
  ProtocolError,
  type RealtimeServerEvent,
  serverErrorOf,
} from "../../src/protocol/index.ts"
import {
  audioChunkBase64,
  betaResponse,
  betaTranscription,
  conversation,
  transcriptionTurn,
} from "./fixtures.ts"

const decode = decodeRealtimeServerEventSync

/** Runs `f` and returns the ProtocolError it throws; fails the test if it throws nothing else. */
const protocolErrorOf = (f: () => unknown): ProtocolError => {
  try {
    f()
  } catch (error) {
    assert.instanceOf(error, ProtocolError)
    return error as ProtocolError
  }
  assert.fail("expected a ProtocolError")
}

/** Narrows a decoded event to `type`, failing the test otherwise. */
const expectType = <T extends RealtimeServerEvent["type"]>(
  event: RealtimeServerEvent,
  type: T,
): Extract<RealtimeServerEvent, { type: T }> => {
  assert.strictEqual(event.type, type)
  return event as Extract<RealtimeServerEvent, { type: T }>
}

describe("decodeRealtimeServerEventSync: GA transcription session", () => {
  it("decodes session.created with the session kept as an open record", () => {
    const ev = expectType(decode(transcriptionTurn.sessionCreated), "session.created")
    assert.strictEqual(ev.event_id, "event_C9G5RJeJ2gF77mV7f2B1j")
    assert.strictEqual(ev.session.type, "transcription")
    assert.strictEqual(ev.session.id, "sess_C9G5QPteg4UIbotdKLoYQ")
    assert.deepStrictEqual(ev.session.audio, JSON.parse(transcriptionTurn.sessionCreated).session.audio)
    assert.strictEqual(ev.session.expires_at, 1_756_324_625)
  })

  it("decodes session.updated", () => {
    const ev = expectType(decode(transcriptionTurn.sessionUpdated), "session.updated")
    assert.deepStrictEqual(ev.session.audio, {
      input: { turn_detection: null, noise_reduction: { type: "near_field" } },
    })
  })

  it("decodes the server VAD turn events with their offsets in milliseconds", () => {
    const started = expectType(decode(transcriptionTurn.speechStarted), "input_audio_buffer.speech_started")
    assert.strictEqual(started.audio_start_ms, 1_220)
    assert.strictEqual(started.item_id, "item_C9G5T0vQ8bJ4s6Qn1q2Pz")
    const stopped = expectType(decode(transcriptionTurn.speechStopped), "input_audio_buffer.speech_stopped")
    assert.strictEqual(stopped.audio_end_ms, 3_480)
    const committed = expectType(decode(transcriptionTurn.committed), "input_audio_buffer.committed")
    assert.strictEqual(committed.previous_item_id, null)
    expectType(decode(transcriptionTurn.cleared), "input_audio_buffer.cleared")
    const timeout = expectType(
      decode(transcriptionTurn.timeoutTriggered),
      "input_audio_buffer.timeout_triggered",
    )
    assert.deepStrictEqual([timeout.audio_start_ms, timeout.audio_end_ms], [13_216, 19_232])
  })

  it("decodes a transcription delta with its logprobs", () => {
    const ev = expectType(
      decode(transcriptionTurn.delta),
      "conversation.item.input_audio_transcription.delta",
    )
    assert.strictEqual(ev.delta, "Hello,")
    assert.strictEqual(ev.content_index, 0)
    assert.deepStrictEqual(
      ev.logprobs?.map((p) => p.token),
      ["Hello", ","],
    )
    assert.strictEqual(ev.logprobs?.[1]?.logprob, -0.31)
  })

  it("decodes completed transcripts with token usage and with duration usage", () => {
    const tokens = expectType(
      decode(transcriptionTurn.completed),
      "conversation.item.input_audio_transcription.completed",
    )
    assert.strictEqual(tokens.transcript, "Hello, how are you?")
    assert.strictEqual(tokens.logprobs, null)
    assert.deepStrictEqual(tokens.usage, {
      type: "tokens",
      input_tokens: 42,
      output_tokens: 7,
      total_tokens: 49,
      input_token_details: { audio_tokens: 42, text_tokens: 0 },
    })
    const duration = expectType(
      decode(transcriptionTurn.completedWhisper),
      "conversation.item.input_audio_transcription.completed",
    )
    assert.deepStrictEqual(duration.usage, { type: "duration", seconds: 2.4 })
  })

  it("decodes a failed transcription and a diarized segment", () => {
    const failed = expectType(
      decode(transcriptionTurn.failed),
      "conversation.item.input_audio_transcription.failed",
    )
    assert.strictEqual(failed.error.code, "audio_unintelligible")
    const segment = expectType(
      decode(transcriptionTurn.segment),
      "conversation.item.input_audio_transcription.segment",
    )
    assert.deepStrictEqual([segment.speaker, segment.start, segment.end], ["A", 0.32, 1.05])
  })

  it("decodes error events and reads their code", () => {
    const ev = expectType(decode(transcriptionTurn.commitEmptyError), "error")
    assert.strictEqual(ev.error.type, "invalid_request_error")
    assert.strictEqual(errorCodeOf(ev), "input_audio_buffer_commit_empty")
    assert.strictEqual(errorCodeOf(decode(transcriptionTurn.sessionExpired)), "session_expired")
  })
})

describe("decodeRealtimeServerEventSync: legacy beta transcription session", () => {
  it("decodes transcription_session.created and .updated", () => {
    const created = expectType(decode(betaTranscription.created), "transcription_session.created")
    assert.strictEqual(created.session.id, "sess_BBwZc7cFV3XizEyKGDCGL")
    assert.strictEqual(created.session.input_audio_format, "pcm16")
    const updated = expectType(decode(betaTranscription.updated), "transcription_session.updated")
    assert.deepStrictEqual(updated.session.include, ["item.input_audio_transcription.logprobs"])
  })

  it("decodes a beta session.created whose session has no type", () => {
    const ev = expectType(decode(betaTranscription.betaSessionCreated), "session.created")
    assert.strictEqual(ev.session.type, undefined)
    assert.strictEqual(ev.session.voice, "alloy")
  })

  it("decodes the beta names of the response streaming events under their own type", () => {
    const audio = expectType(decode(betaResponse.audioDelta), "response.audio.delta")
    assert.strictEqual(audio.delta, audioChunkBase64)
    expectType(decode(betaResponse.audioDone), "response.audio.done")
    assert.strictEqual(
      expectType(decode(betaResponse.transcriptDelta), "response.audio_transcript.delta").delta,
      "Hi",
    )
    assert.strictEqual(
      expectType(decode(betaResponse.transcriptDone), "response.audio_transcript.done").transcript,
      "Hi",
    )
    assert.strictEqual(expectType(decode(betaResponse.textDelta), "response.text.delta").delta, "Hi")
    assert.strictEqual(expectType(decode(betaResponse.textDone), "response.text.done").text, "Hi")
  })
})

describe("decodeRealtimeServerEventSync: GA conversation session", () => {
  it("decodes every event of an audio reply in order", () => {
    const sequence = [
      conversation.responseCreated,
      conversation.rateLimits,
      conversation.outputItemAdded,
      conversation.itemAdded,
      conversation.contentPartAdded,
      conversation.audioDelta,
      conversation.transcriptDelta,
      conversation.audioDone,
      conversation.transcriptDone,
      conversation.contentPartDone,
      conversation.outputItemDone,
      conversation.itemDone,
      conversation.responseDone,
    ]
    assert.deepStrictEqual(
      sequence.map((text) => decode(text).type),
      sequence.map((text) => JSON.parse(text).type),
    )
  })

  it("keeps the base64 audio delta as the same string, undecoded", () => {
    const ev = expectType(decode(conversation.audioDelta), "response.output_audio.delta")
    assert.strictEqual(ev.delta, audioChunkBase64)
    assert.deepStrictEqual(
      [ev.response_id, ev.item_id, ev.output_index, ev.content_index],
      ["resp_CAt6", "item_CAt7", 0, 0],
    )
  })

  it("decodes response.created with max_output_tokens 'inf'", () => {
    const ev = expectType(decode(conversation.responseCreated), "response.created")
    assert.strictEqual(ev.response.status, "in_progress")
    assert.strictEqual(ev.response.max_output_tokens, "inf")
    assert.strictEqual(ev.response.usage, null)
  })

  it("decodes response.done with status, output items and usage", () => {
    const ev = expectType(decode(conversation.responseDone), "response.done")
    assert.strictEqual(ev.response.status, "completed")
    assert.strictEqual(ev.response.usage?.output_token_details?.audio_tokens, 91)
    assert.strictEqual(ev.response.usage?.input_token_details?.cached_tokens_details?.text_tokens, 64)
    const item = ev.response.output?.[0]
    assert.strictEqual(item?.type, "message")
    if (item?.type === "message") {
      assert.strictEqual(item.role, "assistant")
      assert.strictEqual(item.content[0]?.transcript, "Sure, I can help.")
    }
  })

  it("decodes a cancelled response with its status details", () => {
    const ev = expectType(decode(conversation.cancelledDone), "response.done")
    assert.strictEqual(ev.response.status, "cancelled")
    assert.strictEqual(ev.response.status_details?.reason, "turn_detected")
  })

  it("decodes a tool call: the function_call item and its arguments", () => {
    const added = expectType(decode(conversation.toolItemAdded), "response.output_item.added")
    assert.strictEqual(added.item.type, "function_call")
    if (added.item.type === "function_call") {
      assert.deepStrictEqual(
        [added.item.name, added.item.call_id, added.item.arguments],
        ["get_weather", "call_8xF2", ""],
      )
    }
    const delta = expectType(decode(conversation.argsDelta), "response.function_call_arguments.delta")
    assert.strictEqual(delta.delta, '{"city":')
    const done = expectType(decode(conversation.argsDone), "response.function_call_arguments.done")
    assert.deepStrictEqual(
      [done.call_id, done.name, done.arguments],
      ["call_8xF2", "get_weather", '{"city":"Paris"}'],
    )
  })

  it("decodes text output events", () => {
    assert.strictEqual(expectType(decode(conversation.textDelta), "response.output_text.delta").delta, "Hel")
    assert.strictEqual(expectType(decode(conversation.textDone), "response.output_text.done").text, "Hello")
  })

  it("decodes item lifecycle events: truncated, deleted, retrieved, created", () => {
    const truncated = expectType(decode(conversation.truncated), "conversation.item.truncated")
    assert.strictEqual(truncated.audio_end_ms, 1_500)
    assert.strictEqual(
      expectType(decode(conversation.deleted), "conversation.item.deleted").item_id,
      "item_CAt7",
    )
    const retrieved = expectType(decode(conversation.retrieved), "conversation.item.retrieved")
    assert.strictEqual(retrieved.item.type, "message")
    if (retrieved.item.type === "message")
      assert.strictEqual(retrieved.item.content[0]?.audio, audioChunkBase64)
    const created = expectType(decode(conversation.itemCreatedBeta), "conversation.item.created")
    assert.deepStrictEqual(created.item, {
      id: "item_F1",
      type: "function_call_output",
      call_id: "call_8xF2",
      output: '{"temp":21}',
    })
  })

  it("decodes an item of a kind it does not model as an unknown item, keeping it whole", () => {
    const ev = expectType(decode(conversation.mcpItemAdded), "conversation.item.added")
    assert.deepStrictEqual(ev.item, {
      type: "unknown",
      originalType: "mcp_call",
      raw: JSON.parse(conversation.mcpItemAdded).item,
    })
  })

  it("decodes rate limits and output audio buffer events", () => {
    const limits = expectType(decode(conversation.rateLimits), "rate_limits.updated")
    assert.deepStrictEqual(
      limits.rate_limits.map((l) => l.remaining),
      [4_999, 39_120],
    )
    const started = expectType(decode(conversation.outputAudioBufferStarted), "output_audio_buffer.started")
    assert.strictEqual(started.response_id, "resp_E")
  })

  it("reads the offending client event id from an error", () => {
    const info = serverErrorOf(decode(conversation.activeResponseError))
    assert.deepStrictEqual(info, {
      code: "conversation_already_has_active_response",
      type: "invalid_request_error",
      message: JSON.parse(conversation.activeResponseError).error.message,
      param: undefined,
      status: undefined,
      clientEventId: "client_evt_42",
      headers: undefined,
    })
    assert.strictEqual(serverErrorOf(decode(conversation.deleted)), undefined)
    assert.strictEqual(errorCodeOf(decode(conversation.deleted)), undefined)
  })
})

describe("decodeRealtimeServerEventSync: bad and unknown frames", () => {
  it("passes an unknown type through as an unknown event with the parsed frame", () => {
    const text = '{"type":"mcp_list_tools.in_progress","event_id":"event_M","item_id":"mcp_1"}'
    assert.deepStrictEqual(decode(text), {
      type: "unknown",
      originalType: "mcp_list_tools.in_progress",
      raw: { type: "mcp_list_tools.in_progress", event_id: "event_M", item_id: "mcp_1" },
    })
  })

  it("ignores fields it does not model on a known event", () => {
    const ev = decode(
      '{"type":"conversation.item.deleted","event_id":"e","item_id":"item_1","brand_new_field":{"x":1}}',
    )
    assert.deepStrictEqual(ev, { type: "conversation.item.deleted", event_id: "e", item_id: "item_1" })
  })

  it("accepts a known event without event_id", () => {
    const ev = decode('{"type":"input_audio_buffer.cleared"}')
    assert.deepStrictEqual(ev, { type: "input_audio_buffer.cleared" })
  })

  it("fails malformed JSON with a MalformedJson ProtocolError keeping the raw text", () => {
    const text = '{"type":"response.output_audio.delta","delta":"AAA'
    const error = protocolErrorOf(() => decode(text))
    assert.strictEqual(error._tag, "ProtocolError")
    assert.strictEqual(error.reason, "MalformedJson")
    assert.strictEqual(error.raw, text)
    assert.deepStrictEqual(error.path, [])
  })

  it("fails a known type with a bad field, naming the path in the message", () => {
    const text = JSON.stringify({
      type: "conversation.item.input_audio_transcription.delta",
      event_id: "e",
      item_id: "item_1",
      delta: 5,
    })
    const error = protocolErrorOf(() => decode(text))
    assert.strictEqual(error.reason, "InvalidEvent")
    assert.deepStrictEqual(error.path, ["delta"])
    assert.include(error.message, '["delta"]')
    assert.include(error.message, "Expected string")
    assert.strictEqual(error.eventType, "conversation.item.input_audio_transcription.delta")
    assert.strictEqual(error.raw, text)
  })

  it("names a missing required field and a nested bad field", () => {
    const missing = protocolErrorOf(() =>
      decode('{"type":"input_audio_buffer.speech_started","item_id":"i"}'),
    )
    assert.deepStrictEqual(missing.path, ["audio_start_ms"])
    assert.include(missing.message, "Missing key")
    const nested = protocolErrorOf(() =>
      decode(
        JSON.stringify({
          type: "conversation.item.input_audio_transcription.delta",
          item_id: "i",
          logprobs: [{ token: "a", logprob: "low", bytes: [] }],
        }),
      ),
    )
    assert.deepStrictEqual(nested.path, ["logprobs", 0, "logprob"])
    assert.include(nested.message, '["logprobs"][0]["logprob"]')
  })

  it("fails a known item kind with bad fields instead of passing it as unknown", () => {
    const error = protocolErrorOf(() =>
      decode(
        JSON.stringify({
          type: "conversation.item.added",
          item: { type: "function_call", name: "f", call_id: "c" },
        }),
      ),
    )
    assert.deepStrictEqual(error.path, ["item", "arguments"])
  })

  it("fails a frame that is not an object or has no string type", () => {
    assert.deepStrictEqual(protocolErrorOf(() => decode("[1,2]")).path, [])
    assert.strictEqual(protocolErrorOf(() => decode("42")).reason, "InvalidEvent")
    assert.strictEqual(protocolErrorOf(() => decode("null")).reason, "InvalidEvent")
    const noType = protocolErrorOf(() => decode('{"event_id":"e"}'))
    assert.deepStrictEqual(noType.path, ["type"])
    assert.deepStrictEqual(protocolErrorOf(() => decode('{"type":7}')).path, ["type"])
  })

  it("truncates the raw text of a huge bad frame", () => {
    const text = JSON.stringify({
      type: "response.output_audio.delta",
      response_id: "r",
      item_id: "i",
      output_index: "zero",
      content_index: 0,
      delta: "A".repeat(200_000),
    })
    const error = protocolErrorOf(() => decode(text))
    assert.deepStrictEqual(error.path, ["output_index"])
    assert.isBelow(error.raw.length, PROTOCOL_ERROR_RAW_LIMIT + 64)
    assert.isTrue(error.raw.startsWith(text.slice(0, PROTOCOL_ERROR_RAW_LIMIT)))
    assert.include(error.raw, `${text.length - PROTOCOL_ERROR_RAW_LIMIT} more chars`)
  })
})

describe("decodeRealtimeServerEvent (Effect)", () => {
  it.effect("succeeds with the decoded event", () =>
    Effect.gen(function* () {
      const ev = yield* decodeRealtimeServerEvent(transcriptionTurn.completed)
      assert.strictEqual(ev.type, "conversation.item.input_audio_transcription.completed")
    }),
  )

  it.effect("fails with a ProtocolError, not a defect, on a bad frame", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(decodeRealtimeServerEvent("{not json"))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(
        decodeRealtimeServerEvent('{"type":"response.output_text.delta","delta":5}'),
      )
      assert.strictEqual(error._tag, "ProtocolError")
      assert.strictEqual(error.reason, "InvalidEvent")
      const caught = yield* decodeRealtimeServerEvent("{not json").pipe(
        Effect.catchTag("ProtocolError", (e) => Effect.succeed(e.reason)),
      )
      assert.strictEqual(caught, "MalformedJson")
    }),
  )

  it.effect("passes an unknown type through without failing", () =>
    Effect.gen(function* () {
      const ev = yield* decodeRealtimeServerEvent('{"type":"response.mcp_call.completed","item_id":"x"}')
      assert.strictEqual(ev.type, "unknown")
      if (ev.type === "unknown") assert.strictEqual(ev.originalType, "response.mcp_call.completed")
    }),
  )
})
