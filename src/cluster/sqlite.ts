/**
 * An `effect/sql` client on Node's own SQLite (`node:sqlite`), for a cluster on one machine:
 * several runner processes share one database file.
 *
 * Why here and not `@effect/sql-sqlite-node`: its only 4.x releases are betas (the newest,
 * 4.0.0-beta.102, declares `effect ^4.0.0-beta.102`) that import `effect/unstable/sql/*` and
 * `effect/unstable/reactivity/*`, paths `effect` 4.1 no longer has (they became `effect/sql`
 * and `effect/reactivity`), so loading it with our `effect` fails with ERR_MODULE_NOT_FOUND.
 * This client is the glue `effect/sql` itself asks of a SQLite driver (its SQLite compiler and
 * `makeSqliteAcquirers`), on the database module Node ships.
 *
 * Across processes:
 * - WAL journal: readers never wait for the writer, one writer at a time.
 * - A busy timeout (`busyTimeoutMs`, default 5000): a writer waits for another process's write
 *   to end instead of failing at once. `node:sqlite` is synchronous, so that wait blocks the
 *   process's event loop; the cluster's writes are short (a shard lease, a message, a
 *   checkpoint), so waits are short, but a runner's audio stalls while one lasts.
 * - Transactions begin with `BEGIN IMMEDIATE`: a transaction that first reads, then writes
 *   would otherwise fail at once with SQLITE_BUSY (not retried by the busy timeout) when
 *   another process wrote in between, which the cluster's lease transactions do.
 * @module
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite"
import { Effect, Layer, Semaphore, Stream } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, type SqlConnection, SqlError, Statement } from "effect/sql"

/** Options of {@link layerSqliteClient}. */
export interface SqliteOptions {
  /** The database file (created when missing). */
  readonly filename: string
  /** How long a write waits for another process's write, in ms (default 5000). */
  readonly busyTimeoutMs?: number
}

const bindable = (value: unknown): SQLInputValue => {
  if (value === undefined || value === null) return null
  if (typeof value === "boolean") return value ? 1 : 0
  if (value instanceof Date) return value.toISOString()
  if (
    typeof value === "number" ||
    typeof value === "bigint" ||
    typeof value === "string" ||
    ArrayBuffer.isView(value)
  )
    return value as SQLInputValue
  return JSON.stringify(value)
}

const failure = (operation: string, message: string) => (cause: unknown) => {
  // node:sqlite names the SQLite result code `errcode`; the classifier reads `errno`.
  const coded =
    typeof cause === "object" && cause !== null && "errcode" in cause && !("errno" in cause)
      ? Object.assign(cause, { errno: (cause as { errcode: unknown }).errcode })
      : cause
  const detail = cause instanceof Error ? `: ${cause.message}` : ""
  return new SqlError.SqlError({
    reason: SqlError.classifySqliteError(coded, { message: `${message}${detail}`, operation }),
  })
}

/** Makes the client; the database closes with the scope. */
export const makeSqliteClient = (options: SqliteOptions) =>
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const db = new DatabaseSync(options.filename)
          db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`)
          db.exec("PRAGMA journal_mode = WAL")
          // In WAL mode a commit is durable at the next checkpoint with NORMAL: enough for
          // checkpoints of calls and the cluster's leases, and no fsync per commit.
          db.exec("PRAGMA synchronous = NORMAL")
          return db
        },
        catch: failure("connect", `Could not open ${options.filename}`),
      }),
      (db) => Effect.sync(() => db.close()),
    )
    const prepared = new Map<string, StatementSync>()
    const prepare = (sql: string): StatementSync => {
      let statement = prepared.get(sql)
      if (statement === undefined) {
        statement = db.prepare(sql)
        if (prepared.size >= 256) prepared.delete(prepared.keys().next().value as string)
        prepared.set(sql, statement)
      }
      return statement
    }
    const rows = (statement: StatementSync, params: readonly unknown[], arrays: boolean) => {
      statement.setReturnArrays(arrays)
      const values = params.map(bindable)
      if (statement.columns().length > 0) return statement.all(...values) as unknown[]
      statement.run(...values)
      return []
    }
    const run = <A>(operation: string, f: () => A) =>
      Effect.try({ try: f, catch: failure(operation, "Failed to execute statement") })

    const connection: SqlConnection.Connection = {
      execute: (sql, params, transformRows) =>
        run("execute", () => {
          const result = rows(prepare(sql), params, false) as object[]
          return transformRows === undefined ? result : transformRows(result)
        }),
      executeRaw: (sql, params) =>
        run("execute", () => {
          const statement = prepare(sql)
          statement.setReturnArrays(false)
          const values = params.map(bindable)
          if (statement.columns().length > 0) return statement.all(...values)
          const result = statement.run(...values)
          return { changes: result.changes, lastInsertRowid: result.lastInsertRowid }
        }),
      executeValues: (sql, params) => run("execute", () => rows(prepare(sql), params, true) as unknown[][]),
      executeValuesUnprepared: (sql, params) =>
        run("execute", () => rows(db.prepare(sql), params, true) as unknown[][]),
      executeUnprepared: (sql, params, transformRows) =>
        run("execute", () => {
          const result = rows(db.prepare(sql), params, false) as object[]
          return transformRows === undefined ? result : transformRows(result)
        }),
      executeStream: (sql, params, transformRows) =>
        Stream.fromIterableEffect(
          run("execute", () => {
            const result = rows(prepare(sql), params, false) as object[]
            return transformRows === undefined ? result : transformRows(result)
          }),
        ),
    }
    const semaphore = yield* Semaphore.make(1)
    const acquirers = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore,
      isTransaction: () => db.isTransaction,
    })
    return yield* SqlClient.make({
      ...acquirers,
      compiler: Statement.makeCompilerSqlite(),
      driver: "node:sqlite",
      spanAttributes: [["db.system.name", "sqlite"]],
      beginTransaction: "BEGIN IMMEDIATE",
    })
  })

/** The `SqlClient` on a SQLite file. */
export const layerSqliteClient = (
  options: SqliteOptions,
): Layer.Layer<SqlClient.SqlClient, SqlError.SqlError> =>
  Layer.effect(SqlClient.SqlClient, makeSqliteClient(options)).pipe(Layer.provide(Reactivity.layer))
