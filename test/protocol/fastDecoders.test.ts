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

/** Frames of `type` around `base`: keys dropped, replaced by other kinds of value, extra keys added. */
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
    }
    if (next() < 0.3) frame.extra = VALUES[Math.floor(next() * VALUES.length)]
    out.push(frame)
  }
  return out
}

const cases = [
  {
    family: "responses",
    fast: responsesFastDecoders,
    schemas: responsesServerEventSchemas as Record<string, unknown>,
    decode: decodeResponsesServerEventSync,
    bases: {
      "response.output_text.delta": {
        item_id: "msg_1",
        output_index: 0,
        content_index: 0,
        delta: "Hel",
        sequence_number: 4,
        stream_id: "s",
      },
    },
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
