import { Exit, SchemaParser } from "effect"
import { describe, expect, it } from "vitest"
import { realtimeFastDecoders, responsesFastDecoders } from "../../src/protocol/fastDecoders.ts"
import { realtimeServerEventSchemas } from "../../src/protocol/realtimeEvents.ts"
import { responsesServerEventSchemas } from "../../src/protocol/responsesEvents.ts"
import {
  decodeRealtimeServerEventSync,
  decodeResponsesServerEventSync,
} from "../../src/protocol/serverEvents.ts"

/** A small seeded generator (mulberry32). */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const VALUES: readonly unknown[] = ["x", "", 0, 7.5, -1, null, true, [], {}, ["a"], { a: 1 }]

/**
 * `value` with keys dropped, replaced by other kinds of value, extra keys added, at every
 * depth (nested objects and array elements too); `rate` is how often each key changes.
 */
const mutate = (value: unknown, next: () => number, rate: number): unknown => {
  if (Array.isArray(value))
    return value.map((element) => (next() < 0.5 ? mutate(element, next, rate) : element))
  if (typeof value !== "object" || value === null) return value
  const out: Record<string, unknown> = { ...value }
  for (const key of Object.keys(out)) {
    const r = next()
    if (r < rate / 2) delete out[key]
    else if (r < rate) out[key] = VALUES[Math.floor(next() * VALUES.length)]
    else if (typeof out[key] === "object") out[key] = mutate(out[key], next, rate)
  }
  if (next() < rate) out.extra = VALUES[Math.floor(next() * VALUES.length)]
  return out
}

/** Frames of `type` around `base`, changed at the top (0.3 of the keys) and below it (0.1). */
const variants = (type: string, base: Record<string, unknown>, seed: number): Record<string, unknown>[] => {
  const next = random(seed)
  const keys = Object.keys(base)
  const out: Record<string, unknown>[] = [{ type, ...base }]
  for (let i = 0; i < 300; i++) {
    const frame: Record<string, unknown> = { type, ...base }
    for (const key of keys) {
      const r = next()
      if (r < 0.15) delete frame[key]
      else if (r < 0.3) frame[key] = VALUES[Math.floor(next() * VALUES.length)]
      else if (typeof frame[key] === "object") frame[key] = mutate(frame[key], next, 0.1)
    }
    if (next() < 0.3) frame.extra = VALUES[Math.floor(next() * VALUES.length)]
    out.push(frame)
  }
  return out
}

const RESPONSE = {
  id: "resp_1",
  object: "response",
  status: "completed",
  model: "gpt-4.1-mini",
  previous_response_id: null,
  output: [
    {
      type: "message",
      id: "msg_1",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: "Hello", annotations: [] }],
    },
    {
      type: "function_call",
      id: "fc_1",
      call_id: "call_1",
      name: "lookup",
      arguments: "{}",
      status: "completed",
    },
    { type: "reasoning", id: "rs_1", summary: [] },
  ],
  usage: {
    input_tokens: 10,
    output_tokens: 5,
    total_tokens: 15,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens_details: { reasoning_tokens: 0 },
  },
  incomplete_details: { reason: null },
  error: { code: "server_error", message: "m" },
  metadata: { a: "b" },
}
const ENVELOPE = { sequence_number: 4, stream_id: "s" }
const PART = { item_id: "msg_1", output_index: 0, content_index: 0 }
const MESSAGE = { type: "message", id: "msg_1", role: "assistant", status: "in_progress", content: [] }
const CALL = { type: "function_call", id: "fc_1", call_id: "call_1", name: "lookup", arguments: "" }

/** A frame of every event a Responses turn sees (lifecycle, items, parts, text, calls, error). */
const responsesBases: Record<string, Record<string, unknown>> = {
  "response.output_text.delta": { ...PART, delta: "Hel", ...ENVELOPE },
  "response.created": { ...ENVELOPE, response: { ...RESPONSE, status: "in_progress", output: [] } },
  "response.in_progress": { response: { id: "resp_1", status: "in_progress" } },
  "response.queued": { response: { id: "resp_1", status: "queued" } },
  "response.completed": { ...ENVELOPE, response: RESPONSE },
  "response.failed": { response: { ...RESPONSE, status: "failed" } },
  "response.incomplete": { response: { ...RESPONSE, incomplete_details: { reason: "max_output_tokens" } } },
  "response.output_item.added": { ...ENVELOPE, output_index: 0, item: MESSAGE },
  "response.output_item.done": { output_index: 1, item: { ...CALL, arguments: '{"q":1}' }, ...ENVELOPE },
  "response.content_part.added": { ...PART, part: { type: "output_text", text: "", annotations: [] } },
  "response.content_part.done": { ...PART, part: { type: "refusal", refusal: "no" }, ...ENVELOPE },
  "response.output_text.done": { ...PART, text: "Hello", ...ENVELOPE },
  "response.function_call_arguments.delta": { item_id: "fc_1", output_index: 1, delta: '{"q"', ...ENVELOPE },
  "response.function_call_arguments.done": {
    item_id: "fc_1",
    output_index: 1,
    arguments: "{}",
    name: "lookup",
  },
  error: {
    ...ENVELOPE,
    status: 429,
    error: {
      type: "rate_limit",
      code: "rate_limit_exceeded",
      message: "slow down",
      param: null,
      headers: { "retry-after-ms": "20", "x-n": 3, "x-b": true, "x-o": {} },
    },
    code: null,
    message: "flat",
    param: "p",
  },
}

const cases = [
  {
    family: "responses",
    fast: responsesFastDecoders,
    schemas: responsesServerEventSchemas as Record<string, unknown>,
    decode: decodeResponsesServerEventSync,
    bases: responsesBases,
  },
  {
    family: "realtime",
    fast: realtimeFastDecoders,
    schemas: realtimeServerEventSchemas as Record<string, unknown>,
    decode: decodeRealtimeServerEventSync,
    bases: {
      "response.output_audio.delta": {
        event_id: "e",
        response_id: "r",
        item_id: "i",
        output_index: 0,
        content_index: 0,
        delta: "AAAA",
      },
      "response.output_audio_transcript.delta": {
        event_id: "e",
        response_id: "r",
        item_id: "i",
        output_index: 1,
        content_index: 0,
        delta: "hi",
      },
      "conversation.item.input_audio_transcription.delta": {
        event_id: "e",
        item_id: "i",
        content_index: 0,
        delta: "wor",
        logprobs: [{ token: "a", logprob: -0.1, bytes: [97] }],
      },
    },
  },
] as const

describe("the fast decoders of hot server events", () => {
  for (const { family, fast, schemas, decode, bases } of cases) {
    for (const [type, base] of Object.entries(bases)) {
      it(`${family} ${type}: what it returns is what the schema returns, and it defers every shape the schema refuses`, () => {
        const fastDecode = fast[type]
        expect(fastDecode).toBeDefined()
        const schemaDecode = SchemaParser.decodeUnknownExit(schemas[type] as never)
        let decodedFast = 0
        for (const [i, frame] of variants(type, base as Record<string, unknown>, type.length).entries()) {
          const byFast = fastDecode?.(frame)
          const bySchema = schemaDecode(frame)
          if (byFast !== undefined) {
            decodedFast++
            expect(Exit.isSuccess(bySchema), `variant ${i}: ${JSON.stringify(frame)}`).toBe(true)
            if (Exit.isSuccess(bySchema)) expect(byFast, `variant ${i}`).toStrictEqual(bySchema.value)
          }
          // Through the frame decoder the outcome is the schema's either way.
          const text = JSON.stringify(frame)
          if (Exit.isSuccess(bySchema)) expect(decode(text)).toStrictEqual(bySchema.value)
          else expect(() => decode(text)).toThrow()
        }
        expect(decodedFast).toBeGreaterThan(10)
      })
    }
  }
})
