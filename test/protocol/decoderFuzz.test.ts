import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import {
  decodeRealtimeServerEvent,
  decodeRealtimeServerEventSync,
  decodeResponsesServerEvent,
  decodeResponsesServerEventSync,
  PROTOCOL_ERROR_MESSAGE_LIMIT,
  PROTOCOL_ERROR_RAW_LIMIT,
  ProtocolError,
} from "../../src/protocol/index.ts"
import { betaResponse, betaTranscription, conversation, responses, transcriptionTurn } from "./fixtures.ts"

/**
 * A seeded fuzzer over every server-event decoder: real frames from the fixtures, mutated
 * (a field replaced by a deep nest, a huge string, a wrong type, an infinite number; the
 * text cut or spliced), must either decode or fail with a ProtocolError whose message and
 * raw text are bounded. Nothing else may be thrown.
 */

/** A bounded message: the limit plus the "…(N more chars)" suffix. */
const MESSAGE_BOUND = PROTOCOL_ERROR_MESSAGE_LIMIT + 40
const RAW_BOUND = PROTOCOL_ERROR_RAW_LIMIT + 40

const seedOf = (): number => Number(process.env.FUZZ_SEED ?? 20_261_202)
const caseCount = (): number => Number(process.env.FUZZ_CASES ?? 1_500)
/** Room for a long exploration (`FUZZ_CASES=20000`): about 10 ms a case, never under 30 s. */
const fuzzTimeoutMs = (): number => Math.max(30_000, caseCount() * 10)

const makeRandom = (seed: number) => {
  let x = seed >>> 0 || 1
  const next = (): number => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 0x1_0000_0000
  }
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)] as T,
  }
}

type Random = ReturnType<typeof makeRandom>

const deepArray = (depth: number): string => `${"[".repeat(depth)}${"]".repeat(depth)}`
const deepObject = (depth: number): string => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`
const hugeString = (chars: number): string => JSON.stringify("x".repeat(chars))

/** JSON texts that stand in for one value. */
const replacements = (random: Random): string => {
  switch (random.int(12)) {
    case 0:
      return deepArray(10_000 + random.int(20_000))
    case 1:
      return deepObject(10_000 + random.int(20_000))
    case 2:
      return hugeString(1_000_000 + random.int(1_000_000))
    case 3:
      return "1e309"
    case 4:
      return "-1e309"
    case 5:
      return "null"
    case 6:
      return "true"
    case 7:
      return '{"type":"message"}'
    case 8:
      return `[${Array.from({ length: 50_000 }, () => "0").join(",")}]`
    case 9:
      return JSON.stringify({ [`k${"y".repeat(100_000)}`]: 1 })
    case 10:
      return "-0"
    default:
      return JSON.stringify(String(random.next()))
  }
}

/** Every path to a value inside `value`, as key lists. */
const pathsOf = (value: unknown, prefix: readonly (string | number)[] = []): (string | number)[][] => {
  const out: (string | number)[][] = [[...prefix]]
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...pathsOf(v, [...prefix, i]))
  } else if (typeof value === "object" && value !== null)
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]))
  return out
}

const PLACEHOLDER = "__fuzz_placeholder__"

/** The frame with the value at `path` replaced by the JSON text `replacement`. */
const replaceAt = (frame: unknown, path: readonly (string | number)[], replacement: string): string => {
  if (path.length === 0) return replacement
  const copy = structuredClone(frame) as Record<string | number, unknown>
  let node: Record<string | number, unknown> = copy
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>
  node[path[path.length - 1] as string | number] = PLACEHOLDER
  return JSON.stringify(copy).replace(JSON.stringify(PLACEHOLDER), replacement)
}

const mutate = (random: Random, text: string): string => {
  const frame = JSON.parse(text) as unknown
  switch (random.int(6)) {
    case 0:
      // The frame's type itself.
      return replaceAt(frame, ["type"], replacements(random))
    case 1:
      return text.slice(0, random.int(text.length))
    case 2: {
      const at = random.int(text.length)
      return `${text.slice(0, at)}${random.pick(["\u0000", '"', "}", "]", ",", "\\", "\ud800"])}${text.slice(at)}`
    }
    default: {
      const paths = pathsOf(frame)
      return replaceAt(frame, random.pick(paths), replacements(random))
    }
  }
}

const framesOf = (table: Record<string, unknown>): string[] =>
  Object.values(table).filter((v): v is string => typeof v === "string" && v.startsWith("{"))

const realtimeFrames = [
  ...framesOf(transcriptionTurn),
  ...framesOf(betaTranscription),
  ...framesOf(conversation),
  ...framesOf(betaResponse),
]
const responsesFrames = framesOf(responses)

/** Decodes `text` and checks the outcome: a value, or a bounded ProtocolError. */
const check = (decode: (text: string) => unknown, text: string, label: string): "ok" | "error" => {
  try {
    decode(text)
    return "ok"
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      assert.fail(
        `${label}: threw ${error instanceof Error ? error.name : typeof error}, not a ProtocolError`,
      )
    }
    assert.isAtMost(error.message.length, MESSAGE_BOUND, `${label}: message of ${error.message.length} chars`)
    assert.isAtMost(error.raw.length, RAW_BOUND, `${label}: raw of ${error.raw.length} chars`)
    assert.isAtMost((error.eventType ?? "").length, MESSAGE_BOUND, `${label}: eventType`)
    return "error"
  }
}

describe("decoder fuzzing", () => {
  it(
    "fails every mutated Realtime frame with a bounded ProtocolError or decodes it",
    () => {
      const random = makeRandom(seedOf())
      let errors = 0
      for (let i = 0; i < caseCount(); i++) {
        const text = mutate(random, random.pick(realtimeFrames))
        if (check(decodeRealtimeServerEventSync, text, `realtime case ${i} (seed ${seedOf()})`) === "error")
          errors++
      }
      // The mutations are hostile enough that most frames fail: the checks above ran.
      assert.isAbove(errors, caseCount() / 4)
    },
    fuzzTimeoutMs(),
  )

  it(
    "fails every mutated Responses frame with a bounded ProtocolError or decodes it",
    () => {
      const random = makeRandom(seedOf() + 1)
      let errors = 0
      for (let i = 0; i < caseCount(); i++) {
        const text = mutate(random, random.pick(responsesFrames))
        if (check(decodeResponsesServerEventSync, text, `responses case ${i} (seed ${seedOf()})`) === "error")
          errors++
      }
      assert.isAbove(errors, caseCount() / 4)
    },
    fuzzTimeoutMs(),
  )

  it("bounds the error of a type nested 10 000 levels deep and of a megabyte type", () => {
    for (const decode of [decodeRealtimeServerEventSync, decodeResponsesServerEventSync]) {
      for (const type of [deepArray(10_000), deepObject(10_000)]) {
        assert.strictEqual(check(decode, `{"type":${type}}`, "type"), "error")
      }
      // A megabyte type is a string: an unknown event, not a failure.
      assert.strictEqual(check(decode, `{"type":${hugeString(2_000_000)}}`, "huge type"), "ok")
      // A known type whose field is a deep nest or a huge string of the wrong shape.
      assert.strictEqual(
        check(decode, `{"type":"error","event_id":"e","error":${deepObject(20_000)}}`, "deep field"),
        "error",
      )
      assert.strictEqual(
        check(decode, `{"type":${hugeString(3_000_000).replace(/^"/, '"x')}`, "cut"),
        "error",
      )
    }
  })

  it("fails the Effect decoders with the ProtocolError, never a defect", () => {
    const deep = `{"type":${deepArray(30_000)}}`
    const decoders: ReadonlyArray<(text: string) => Effect.Effect<unknown, ProtocolError>> = [
      decodeRealtimeServerEvent,
      decodeResponsesServerEvent,
    ]
    for (const decode of decoders) {
      const exit = Effect.runSyncExit(decode(deep))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
        assert.instanceOf(failure?._tag === "Fail" ? failure.error : undefined, ProtocolError)
      }
    }
  })
})
