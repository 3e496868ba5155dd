/**
 * A simulator's start-up scenario as JSON (`voxstate simulate --scenario FILE`): the
 * {@link ScenarioSetup} the in-process `startSimulator({ scenario })` takes, in its plain-data
 * form (lists of transcripts and replies, not functions):
 *
 * ```json
 * {
 *   "transcripts": ["hello there", { "text": "slow one", "delayMs": 800 }],
 *   "replies": [{ "functionCall": { "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" } },
 *               { "text": "It is sunny." }],
 *   "connections": { "transcription": [{ "faults": [{ "type": "close", "code": 1006, "afterEvents": 5 }] }] },
 *   "http": { "speech": [{ "status": 429, "headers": { "retry-after": "1" } }] }
 * }
 * ```
 *
 * Checked with an Effect Schema; an unknown key, a wrong type or a value outside its set is a
 * {@link ScenarioFileError} naming the path.
 * @module
 */
import { Data, Exit, Schema, SchemaIssue, SchemaParser } from "effect"
import type { ScenarioSetup } from "./types.ts"

const str = Schema.String
const num = Schema.Number
const opt = <S extends Schema.Top>(schema: S) => Schema.optionalKey(schema)
const headers = Schema.Record(str, str)

const TranscriptOutcome = Schema.Union([
  str,
  Schema.Struct({
    text: str,
    language: opt(str),
    fail: opt(Schema.Struct({ code: str, message: str })),
    delayMs: opt(num),
    confidence: opt(num),
  }),
])

const FunctionCall = Schema.Struct({ name: str, arguments: str, callId: opt(str) })
const ModelReply = Schema.Union([
  Schema.Struct({ text: str }),
  Schema.Struct({ functionCall: FunctionCall }),
  Schema.Struct({ functionCalls: Schema.Array(FunctionCall) }),
])

const trigger = {
  afterEvents: opt(num),
  afterMs: opt(num),
  afterClientEvents: opt(num),
  onType: opt(str),
}
const serverError = {
  code: str,
  errorType: opt(str),
  message: opt(str),
  param: opt(str),
  status: opt(num),
  headers: opt(headers),
  shape: opt(Schema.Literals(["nested", "flat"])),
}
const ConnectionFault = Schema.Union([
  Schema.Struct({ type: Schema.Literal("reject"), status: num, body: opt(str) }),
  Schema.Struct({ type: Schema.Literal("close"), code: num, reason: opt(str), ...trigger }),
  Schema.Struct({ type: Schema.Literal("stall"), ...trigger }),
  Schema.Struct({ type: Schema.Literal("malformed"), text: opt(str), ...trigger }),
  Schema.Struct({ type: Schema.Literal("unknownEvent"), eventType: opt(str), ...trigger }),
  Schema.Struct({ type: Schema.Literal("error"), closeCode: opt(num), ...serverError, ...trigger }),
  Schema.Struct({
    type: Schema.Literal("refuse"),
    onType: str,
    times: opt(num),
    afterClientEvents: opt(num),
    ...serverError,
  }),
])
const ConnectionScript = Schema.Struct({
  faults: opt(Schema.Array(ConnectionFault)),
  latency: opt(Schema.Struct({ firstEventMs: opt(num), betweenDeltasMs: opt(num) })),
})
const HttpFault = Schema.Struct({
  status: num,
  body: opt(Schema.Unknown),
  headers: opt(headers),
  delayMs: opt(num),
  destroy: opt(Schema.Boolean),
  stream: opt(Schema.Struct({ firstByteMs: opt(num), betweenChunksMs: opt(num), dropAfterBytes: opt(num) })),
})
const scripts = <S extends Schema.Top>(item: S, keys: readonly string[]) =>
  Schema.Struct(Object.fromEntries(keys.map((key) => [key, opt(Schema.Array(item))])))

/** The schema of a scenario file. */
export const ScenarioFile = Schema.Struct({
  transcripts: opt(Schema.Array(TranscriptOutcome)),
  replies: opt(Schema.Array(ModelReply)),
  connections: opt(scripts(ConnectionScript, ["transcription", "realtime", "responses"])),
  http: opt(scripts(HttpFault, ["transcriptions", "translations", "speech", "chat", "responses", "models"])),
})

/** A scenario file that is not JSON or not a scenario; `message` names the first bad path. */
export class ScenarioFileError extends Data.TaggedError("ScenarioFileError")<{
  readonly reason: "MalformedJson" | "InvalidScenario"
  readonly message: string
}> {}

const decode = SchemaParser.decodeUnknownExit(ScenarioFile, { onExcessProperty: "error" })
const formatIssue = SchemaIssue.makeFormatterDefault()

/**
 * Parses the text of a scenario file into the simulator's start-up scenario.
 * @throws {ScenarioFileError} when the text is not JSON or not a scenario
 */
export const parseScenarioFile = (text: string): ScenarioSetup => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new ScenarioFileError({
      reason: "MalformedJson",
      message: `not JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
    })
  }
  const exit = decode(json)
  if (Exit.isSuccess(exit)) {
    // The decoded value is the data form of ScenarioSetup (lists, no functions).
    return exit.value as ScenarioSetup
  }
  const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  const detail =
    failure === undefined
      ? "invalid scenario"
      : formatIssue(failure.error as SchemaIssue.Issue)
          .replace(/\s*\n\s*/g, " ")
          .trim()
  throw new ScenarioFileError({ reason: "InvalidScenario", message: `not a scenario: ${detail}` })
}
