import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import {
  decodeSnapshot,
  isSnapshotError,
  makeSnapshot,
  SessionStore,
  type SessionStoreError,
  SNAPSHOT_VERSION,
  type SnapshotError,
} from "../../src/persist/index.ts"

const snapshot = (savedAtMs: number, text = "hello") =>
  makeSnapshot("llm", { savedAtMs, machine: { value: "idle" }, data: { items: [text] } })

const failureOf = (run: () => unknown): unknown => {
  try {
    run()
  } catch (error) {
    return error
  }
  return undefined
}

describe("snapshot format", () => {
  it("refuses a snapshot of another version with UnknownVersion", () => {
    const newer = { ...snapshot(1), version: SNAPSHOT_VERSION + 1 }
    const error = failureOf(() => decodeSnapshot(JSON.stringify(newer)))
    assert.isTrue(isSnapshotError(error))
    assert.strictEqual((error as SnapshotError).reason._tag, "UnknownVersion")
    assert.include((error as SnapshotError).message, String(SNAPSHOT_VERSION + 1))
  })

  it("refuses a snapshot of another kind and malformed text", () => {
    const wrong = failureOf(() => decodeSnapshot(snapshot(1), "realtime")) as SnapshotError
    assert.deepStrictEqual(wrong.reason, { _tag: "WrongKind", expected: "realtime", actual: "llm" })
    const garbled = failureOf(() => decodeSnapshot("{not json")) as SnapshotError
    assert.strictEqual(garbled.reason._tag, "Malformed")
    const noTime = failureOf(() => decodeSnapshot({ ...snapshot(1), savedAtMs: "soon" })) as SnapshotError
    assert.deepStrictEqual(noTime.reason, { _tag: "Malformed", path: "savedAtMs" })
  })

  it("refuses to build a snapshot that holds the session's credential", () => {
    const secret = "test-credential-0123456789"
    const error = failureOf(() =>
      makeSnapshot("llm", { savedAtMs: 1, machine: {}, data: { note: `key ${secret}` } }, [secret]),
    ) as SnapshotError
    assert.strictEqual(error.reason._tag, "HoldsCredential")
    assert.notInclude(error.message, secret)
  })
})

const storeContract = (name: string, layer: () => Layer.Layer<SessionStore, SessionStoreError>) =>
  describe(`SessionStore (${name})`, () => {
    it.effect("saves, loads, replaces, lists by age and removes", () =>
      Effect.gen(function* () {
        const store = yield* SessionStore
        assert.isTrue(Option.isNone(yield* store.load("call/1")))
        yield* store.save("call/1", snapshot(20, "first"))
        yield* store.save("call 2", snapshot(10))
        yield* store.save("call/1", snapshot(30, "second"))
        const loaded = yield* store.load("call/1")
        assert.deepStrictEqual(Option.getOrThrow(loaded).data, { items: ["second"] })
        assert.deepStrictEqual(yield* store.list(), [
          { id: "call 2", kind: "llm", savedAtMs: 10 },
          { id: "call/1", kind: "llm", savedAtMs: 30 },
        ])
        yield* store.remove("call/1")
        yield* store.remove("call/1")
        assert.isTrue(Option.isNone(yield* store.load("call/1")))
        const bad = yield* Effect.flip(store.save("", snapshot(1)))
        assert.strictEqual(bad.reason._tag, "InvalidId")
      }).pipe(Effect.provide(layer())),
    )
  })

storeContract("memory", () => SessionStore.layerMemory())

let dir = ""
const fresh = async (): Promise<string> => {
  if (dir !== "") await rm(dir, { recursive: true, force: true })
  dir = await mkdtemp(join(tmpdir(), "voxstate-store-"))
  return dir
}

describe("file and SQLite stores", () => {
  it("keep snapshots across store instances and refuse an unknown stored version", async () => {
    const root = await fresh()
    const files = join(root, "files")
    const database = join(root, "sessions.db")
    for (const layer of [
      () => SessionStore.layerFileSystem(files),
      () => SessionStore.layerSqlite(database),
    ]) {
      await Effect.runPromise(
        Effect.gen(function* () {
          const store = yield* SessionStore
          yield* store.save("a", snapshot(5, "kept"))
        }).pipe(Effect.provide(layer())),
      )
      const loaded = await Effect.runPromise(
        Effect.gen(function* () {
          const store = yield* SessionStore
          return yield* store.load("a")
        }).pipe(Effect.provide(layer())),
      )
      assert.deepStrictEqual(Option.getOrThrow(loaded).data, { items: ["kept"] })
    }
    await writeFile(join(files, "old.snapshot.json"), JSON.stringify({ ...snapshot(1), version: 0 }))
    const error = await Effect.runPromise(
      Effect.flip(SessionStore.use((store) => store.load("old"))).pipe(
        Effect.provide(SessionStore.layerFileSystem(files)),
      ),
    )
    assert.strictEqual(error._tag, "SnapshotError")
    await rm(root, { recursive: true, force: true })
  })
})

storeContract("file system", () =>
  Layer.unwrap(Effect.promise(async () => SessionStore.layerFileSystem(await fresh()))),
)
storeContract("sqlite", () => SessionStore.layerSqlite(":memory:"))
