import { Schema, SchemaGetter } from "effect"

/**
 * Small building blocks shared by the Realtime and Responses event schemas.
 * @module
 */

/** An optional key whose value, when present, must match `schema` (`?: T`, no `undefined`). */
export const opt = <S extends Schema.Top>(schema: S): Schema.optionalKey<S> => Schema.optionalKey(schema)

/** An optional key that may also be `null` (`?: T | null`). */
export const optNull = <S extends Schema.Top>(schema: S) => Schema.optionalKey(Schema.NullOr(schema))

/** A JSON object whose keys are kept as they are: used where the protocol is open-ended. */
export const OpenRecord = Schema.Record(Schema.String, Schema.Unknown)

/**
 * A nested object (an item, a content part) whose `type` this library does not model.
 * It is kept whole in `raw` under `type: "unknown"`, like an unknown event, so a new kind
 * of item never fails the event that carries it.
 */
export interface UnknownPayload {
  readonly type: "unknown"
  readonly originalType: string
  readonly raw: { readonly [key: string]: unknown }
}

const UnknownPayloadTarget = Schema.Struct({
  type: Schema.Literal("unknown"),
  originalType: Schema.String,
  raw: OpenRecord,
})

/**
 * A schema that accepts any object whose string `type` is not in `knownTypes` and decodes
 * it to {@link UnknownPayload}. Put it last in a union of the known shapes: a known `type`
 * with bad fields still fails (with the path of the bad field), an unknown one passes.
 */
export const unknownPayloadExcept = (knownTypes: ReadonlyArray<string>) => {
  const known = new Set(knownTypes)
  const From = Schema.StructWithRest(
    Schema.Struct({
      type: Schema.String.check(
        Schema.makeFilter((t: string) =>
          known.has(t) ? `a ${JSON.stringify(t)} that matches its shape` : undefined,
        ),
      ),
    }),
    [OpenRecord],
  )
  return From.pipe(
    Schema.decodeTo(UnknownPayloadTarget, {
      decode: SchemaGetter.transform((o: typeof From.Type): typeof UnknownPayloadTarget.Encoded => ({
        type: "unknown",
        originalType: o.type,
        raw: o,
      })),
      encode: SchemaGetter.transform((u: typeof UnknownPayloadTarget.Encoded): typeof From.Type => ({
        ...u.raw,
        type: u.originalType,
      })),
    }),
  )
}

const StringRecord = Schema.Record(Schema.String, Schema.String)

/**
 * The rule of {@link HeaderRecord} as a plain function (the hand-written decoders use it too):
 * string values kept, finite numbers and booleans as strings, anything but an object `{}`.
 * @internal
 */
export const headerRecordOf = (u: unknown): Record<string, string> => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return {}
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(u)) {
    if (typeof value === "string") out[key] = value
    else if ((typeof value === "number" && Number.isFinite(value)) || typeof value === "boolean")
      out[key] = String(value)
  }
  return out
}

/**
 * HTTP-like headers sent inside an event (the Responses `error.headers`): decoded to a plain
 * string record. The field is informative, so it never fails its event: number and boolean
 * values become strings, other values are dropped, and anything but an object (`null`, an
 * array) decodes to no headers (`{}`).
 */
export const HeaderRecord = Schema.Unknown.pipe(
  Schema.decodeTo(StringRecord, {
    decode: SchemaGetter.transform((u: unknown): typeof StringRecord.Encoded => headerRecordOf(u)),
    encode: SchemaGetter.transform((record: typeof StringRecord.Encoded): unknown => record),
  }),
)
