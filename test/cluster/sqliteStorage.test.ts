/**
 * The SQLite storage on Node's own `node:sqlite`, as several runner processes use it: WAL and a
 * busy timeout on every connection, transactions that take the write lock first, the voxstate
 * migrations run once and idempotent, and the call store's operations (checkpoints, runner
 * loads with their CPU figures) on a real file, with a second client on the same file seeing
 * what the first wrote; and effect/cluster's shard locks taken by several processes at once
 * on one file, each shard by one of them.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { afterEach, assert, describe, it } from "vitest"
import {
  CallStore,
  CHECKPOINT_VERSION,
  layerCallStore,
  migrateCallStore,
} from "../../src/cluster/CallStore.ts"
import { layerSqliteClient } from "../../src/cluster/sqlite.ts"
import { sqliteFileOf, storageKindOf, storageLayer } from "../../src/cluster/storage.ts"

const dirs: string[] = []
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), "voxstate-sqlite-test-"))
  dirs.push(dir)
  return join(dir, "cluster.db")
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const onFile = <A, E>(file: string, effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.runPromise(Effect.provide(effect, layerSqliteClient({ filename: file, busyTimeoutMs: 2000 })))

describe("SQLite storage", () => {
  it("names its file in a sqlite: URL", () => {
    assert.strictEqual(sqliteFileOf("sqlite:/tmp/a.db"), "/tmp/a.db")
    assert.strictEqual(sqliteFileOf("sqlite:///tmp/a.db"), "/tmp/a.db")
    assert.isUndefined(sqliteFileOf("sqlite:"))
    assert.strictEqual(storageKindOf("sqlite:x.db"), "sqlite")
    assert.strictEqual(storageKindOf("postgres://u@h:1/d"), "postgres")
  })

  it("opens in WAL mode with a busy timeout, and refuses a URL without a file", async () => {
    const file = tempFile()
    const [mode, timeout] = await onFile(
      file,
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const mode = yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`
        const timeout = yield* sql<{ timeout: number }>`PRAGMA busy_timeout`
        return [mode[0]?.journal_mode, Number(timeout[0]?.timeout)] as const
      }),
    )
    assert.strictEqual(mode, "wal")
    assert.strictEqual(timeout, 2000)
    const refused = await Effect.runPromise(
      Effect.flip(Effect.provide(Effect.void, storageLayer("sqlite:", 1))),
    )
    assert.strictEqual(refused.reason, "Storage")
  })

  it("runs each migration once, and again changes nothing", async () => {
    const file = tempFile()
    const first = await onFile(file, migrateCallStore)
    assert.deepStrictEqual(first, ["1_calls_and_runners", "2_cpu_budget"])
    const second = await onFile(file, migrateCallStore)
    assert.deepStrictEqual(second, [])
    const recorded = await onFile(
      file,
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql<{ migration_id: number }>`SELECT migration_id FROM voxstate_migrations ORDER BY migration_id`,
      ),
    )
    assert.deepStrictEqual(
      recorded.map((r) => Number(r.migration_id)),
      [1, 2],
    )
  })

  it("adopts tables made before migrations existed", async () => {
    const file = tempFile()
    await onFile(
      file,
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql`CREATE TABLE voxstate_runners (address TEXT PRIMARY KEY, media_url TEXT NOT NULL, calls INTEGER NOT NULL,
          call_ids TEXT NOT NULL, budget INTEGER NOT NULL, shards TEXT NOT NULL, draining BOOLEAN NOT NULL,
          elu DOUBLE PRECISION NOT NULL, seen_at BIGINT NOT NULL)`.pipe(
          Effect.andThen(
            sql`INSERT INTO voxstate_runners VALUES ('r:1', 'ws://r', 2, '[]', 5, '[]', 0, 0.5, 1)`,
          ),
        ),
      ),
    )
    assert.deepStrictEqual(await onFile(file, migrateCallStore), ["1_calls_and_runners", "2_cpu_budget"])
    const rows = await onFile(
      file,
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{ calls: number; cpu: number }>`SELECT calls, cpu FROM voxstate_runners`,
      ),
    )
    assert.deepStrictEqual(
      rows.map((r) => [Number(r.calls), Number(r.cpu)]),
      [[2, 0]],
    )
  })

  it("migrates once when several clients of one file start together", async () => {
    const file = tempFile()
    const ran = await Promise.all(Array.from({ length: 4 }, () => onFile(file, migrateCallStore)))
    assert.deepStrictEqual(ran.flat().sort(), ["1_calls_and_runners", "2_cpu_budget"])
  })

  it("keeps checkpoints and runner loads, seen by another client of the same file", async () => {
    const file = tempFile()
    const store = Layer.provide(layerCallStore, layerSqliteClient({ filename: file }))
    await Effect.runPromise(
      Effect.gen(function* () {
        const calls = yield* CallStore
        yield* calls.save(
          { version: CHECKPOINT_VERSION, callId: "c1", turns: 2, instructions: "Be brief.", resumes: 1 },
          "r:1",
        )
        yield* calls.report({
          address: "r:1",
          mediaUrl: "ws://127.0.0.1:1",
          calls: 1,
          callIds: ["c1"],
          budget: 1000,
          shards: [1, 2],
          draining: false,
          elu: 0.25,
          seenAtMs: Date.now(),
          cpu: 0.125,
          cpuBudget: 0.7,
          callCost: 0.016,
          overBudget: false,
        })
      }).pipe(Effect.provide(store)),
    )
    const [checkpoint, runners] = await Effect.runPromise(
      Effect.gen(function* () {
        const calls = yield* CallStore
        return [yield* calls.load("c1"), yield* calls.runners(60_000)] as const
      }).pipe(Effect.provide(Layer.provide(layerCallStore, layerSqliteClient({ filename: file })))),
    )
    assert.strictEqual(checkpoint?.turns, 2)
    assert.strictEqual(checkpoint?.instructions, "Be brief.")
    assert.lengthOf(runners, 1)
    assert.deepInclude(runners[0], {
      address: "r:1",
      calls: 1,
      draining: false,
      cpu: 0.125,
      cpuBudget: 0.7,
      callCost: 0.016,
      overBudget: false,
    })
    assert.deepStrictEqual(runners[0]?.shards, [1, 2])
  })

  it("rolls a failed transaction back and keeps the connection usable", async () => {
    const file = tempFile()
    const count = await onFile(
      file,
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE t (n INTEGER PRIMARY KEY)`
        yield* sql`INSERT INTO t VALUES (1)`.pipe(
          Effect.andThen(sql`INSERT INTO t VALUES (1)`),
          sql.withTransaction,
          Effect.ignore,
        )
        yield* sql`INSERT INTO t VALUES (2)`.pipe(sql.withTransaction)
        return yield* sql<{ n: number }>`SELECT count(*) AS n FROM t`
      }),
    )
    assert.strictEqual(Number(count[0]?.n), 1)
  })

  it("gives each shard to one process when several take the cluster's shard locks at once", async () => {
    const file = tempFile()
    const worker = fileURLToPath(new URL("./leaseWorker.ts", import.meta.url))
    // Every worker starts, migrates the cluster's tables beside the others, then tries at once.
    const startAt = Date.now() + 4000
    const outputs = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        promisify(execFile)(process.execPath, [worker, file, String(40_000 + i), String(startAt)], {
          timeout: 30_000,
        }),
      ),
    )
    const got = outputs.map(({ stdout }) => JSON.parse(stdout.trim()) as string[])
    const all = got.flat()
    assert.strictEqual(new Set(all).size, all.length, `a shard taken twice: ${JSON.stringify(got)}`)
    assert.strictEqual(all.length, 60)
  }, 60_000)

  it("migrates once when several processes start on one file at once", async () => {
    const file = tempFile()
    const worker = fileURLToPath(new URL("./leaseWorker.ts", import.meta.url))
    const startAt = Date.now() + 4000
    const outputs = await Promise.all(
      [1, 2, 3, 4].map(() =>
        promisify(execFile)(process.execPath, [worker, file, "migrate", String(startAt)], {
          timeout: 30_000,
        }),
      ),
    )
    const ran = outputs.flatMap(({ stdout }) => JSON.parse(stdout.trim()) as string[])
    assert.deepStrictEqual(ran.sort(), ["1_calls_and_runners", "2_cpu_budget"])
  }, 60_000)
})
