/**
 * The snapshot format: a session's whole state as one JSON value. Every session kind writes
 * the same envelope (format name, version, kind, when it was taken) around the machine's
 * persisted snapshot and what its runtime needs to continue (a chat context, a conversation
 * mirror, buffered audio, metrics so far). A snapshot never holds a credential: resuming
 * takes the key from options or the environment again.
 * @module
 */
import { Data } from "effect"

/** The name every snapshot carries in `format`. */
export const SNAPSHOT_FORMAT = "voxstate.session"

/** The version this build writes and reads. A snapshot of any other version is refused. */
export const SNAPSHOT_VERSION = 1

/** Which session a snapshot is of. */
export type SessionKind = "transcription" | "llm" | "realtime" | "agent"

/** The kinds {@link decodeSnapshot} accepts. */
export const SESSION_KINDS: ReadonlyArray<SessionKind> = ["transcription", "llm", "realtime", "agent"]

/**
 * A JSON-serializable snapshot of one session. `machine` is the XState persisted snapshot
 * (`actor.getPersistedSnapshot()`), `data` what the session's runtime keeps beside it; both
 * are plain JSON. `savedAtMs` is the session clock's time (ms since the epoch) when taken.
 */
export interface SessionSnapshot<K extends SessionKind = SessionKind, D = unknown> {
  readonly format: typeof SNAPSHOT_FORMAT
  readonly version: typeof SNAPSHOT_VERSION
  readonly kind: K
  readonly savedAtMs: number
  readonly machine: unknown
  readonly data: D
}

/**
 * Why a snapshot was refused.
 * - `UnknownVersion`: written by another version of the format (`version`, maybe absent).
 * - `WrongKind`: a snapshot of another session kind than the resume asked for.
 * - `Malformed`: not JSON, not an object, or a field of the envelope missing or mistyped.
 * - `HoldsCredential`: the snapshot's text contains a credential of the session (never written).
 */
export type SnapshotErrorReason =
  | { readonly _tag: "UnknownVersion"; readonly version: unknown }
  | { readonly _tag: "WrongKind"; readonly expected: SessionKind; readonly actual: string }
  | { readonly _tag: "Malformed"; readonly path: string }
  | { readonly _tag: "HoldsCredential" }

/** The one error of the snapshot format; never retryable (the same snapshot fails again). */
export class SnapshotError extends Data.TaggedError("SnapshotError")<{
  readonly reason: SnapshotErrorReason
  readonly message: string
}> {
  readonly retryable = false
}

/** True when `u` is a {@link SnapshotError}. */
export const isSnapshotError = (u: unknown): u is SnapshotError => u instanceof SnapshotError

const malformed = (path: string, why: string): SnapshotError =>
  new SnapshotError({ reason: { _tag: "Malformed", path }, message: `malformed snapshot at ${path}: ${why}` })

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Builds a snapshot of `kind`. Throws {@link SnapshotError} `HoldsCredential` when the
 * encoded snapshot contains one of `secrets` (a key that reached the context by mistake is
 * refused here rather than written to a store).
 */
export const makeSnapshot = <K extends SessionKind, D>(
  kind: K,
  parts: { readonly savedAtMs: number; readonly machine: unknown; readonly data: D },
  secrets: ReadonlyArray<string> = [],
): SessionSnapshot<K, D> => {
  const snapshot: SessionSnapshot<K, D> = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    kind,
    savedAtMs: parts.savedAtMs,
    // A round trip through JSON: what is kept is exactly what a store would give back.
    machine: JSON.parse(JSON.stringify(parts.machine ?? null)),
    data: JSON.parse(JSON.stringify(parts.data ?? null)) as D,
  }
  assertNoCredential(snapshot, secrets)
  return snapshot
}

/** Throws {@link SnapshotError} `HoldsCredential` when the snapshot's JSON contains one of `secrets`. */
export const assertNoCredential = (snapshot: unknown, secrets: ReadonlyArray<string>): void => {
  const live = secrets.filter((secret) => secret.length >= 8)
  if (live.length === 0) return
  const text = JSON.stringify(snapshot)
  if (live.some((secret) => text.includes(secret))) {
    throw new SnapshotError({
      reason: { _tag: "HoldsCredential" },
      message: "the snapshot holds a credential of the session; it is not written",
    })
  }
}

/**
 * Reads a snapshot from its JSON text or a parsed value, checking the envelope (and the kind
 * when `expected` is given). Throws {@link SnapshotError}: `Malformed`, `UnknownVersion`
 * (checked before anything else of the envelope but the format, so a newer snapshot is named
 * as such), `WrongKind`.
 */
export const decodeSnapshot = <K extends SessionKind = SessionKind>(
  input: unknown,
  expected?: K,
): SessionSnapshot<K> => {
  let value = input
  if (typeof input === "string") {
    try {
      value = JSON.parse(input)
    } catch (error) {
      throw malformed("$", error instanceof Error ? error.message : "not JSON")
    }
  }
  if (!isRecord(value)) throw malformed("$", "not an object")
  if (value.format !== SNAPSHOT_FORMAT) throw malformed("format", `expected "${SNAPSHOT_FORMAT}"`)
  if (value.version !== SNAPSHOT_VERSION) {
    throw new SnapshotError({
      reason: { _tag: "UnknownVersion", version: value.version },
      message: `snapshot version ${JSON.stringify(value.version ?? null)} is not readable by this version (reads ${SNAPSHOT_VERSION})`,
    })
  }
  const kind = value.kind
  if (typeof kind !== "string" || !(SESSION_KINDS as ReadonlyArray<string>).includes(kind)) {
    throw malformed("kind", `expected one of ${SESSION_KINDS.join(", ")}`)
  }
  if (expected !== undefined && kind !== expected) {
    throw new SnapshotError({
      reason: { _tag: "WrongKind", expected, actual: kind },
      message: `a ${kind} snapshot cannot resume a ${expected} session`,
    })
  }
  if (typeof value.savedAtMs !== "number" || !Number.isFinite(value.savedAtMs)) {
    throw malformed("savedAtMs", "expected a finite number")
  }
  if (!("machine" in value)) throw malformed("machine", "missing")
  if (!("data" in value)) throw malformed("data", "missing")
  return value as unknown as SessionSnapshot<K>
}

/** The snapshot as JSON text (what stores write). */
export const encodeSnapshot = (snapshot: SessionSnapshot): string => JSON.stringify(snapshot)
