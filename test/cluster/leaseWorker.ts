/**
 * One process on a shared SQLite file, for the tests of several processes at once:
 * `node leaseWorker.ts FILE PORT START_AT_MS` waits until START_AT_MS (so that every worker
 * tries at once), tries to acquire shards 1-60 of the default group for runner
 * 127.0.0.1:PORT with effect/cluster's SqlRunnerStorage, and prints the shards it got as one
 * JSON line; `node leaseWorker.ts FILE migrate START_AT_MS` runs the voxstate migrations at
 * START_AT_MS instead and prints those it ran.
 */
import { Effect, Layer } from "effect"
import { RunnerAddress, RunnerStorage, ShardId, ShardingConfig, SqlRunnerStorage } from "effect/cluster"
import { migrateCallStore } from "../../src/cluster/CallStore.ts"
import { layerSqliteClient } from "../../src/cluster/sqlite.ts"

const [file = "", port = "0", startAt = "0"] = process.argv.slice(2)
const shards = Array.from({ length: 60 }, (_, i) => ShardId.make("default", i + 1))

const program = Effect.gen(function* () {
  const storage = yield* RunnerStorage.RunnerStorage
  const wait = Number(startAt) - Date.now()
  if (wait > 0) yield* Effect.sleep(wait)
  const got = yield* storage.acquire(RunnerAddress.make("127.0.0.1", Number(port)), shards)
  process.stdout.write(`${JSON.stringify(got.map((s) => s.toString()))}\n`)
})

const migrate = Effect.gen(function* () {
  const wait = Number(startAt) - Date.now()
  if (wait > 0) yield* Effect.sleep(wait)
  const ran = yield* migrateCallStore
  process.stdout.write(`${JSON.stringify(ran)}\n`)
})

if (port === "migrate")
  await Effect.runPromise(migrate.pipe(Effect.provide(layerSqliteClient({ filename: file }))))
else
  await Effect.runPromise(
    program.pipe(
      Effect.provide(
        SqlRunnerStorage.layer.pipe(
          Layer.provide(layerSqliteClient({ filename: file })),
          Layer.provide(ShardingConfig.layer({ shardsPerGroup: 60 })),
        ),
      ),
    ),
  )
