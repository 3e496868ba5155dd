/**
 * Where a cluster keeps its state, named by one URL: `postgres://user@host:port/db` (the
 * default, for runners on several machines) or `sqlite:FILE` (one machine: every runner
 * process opens the same file). Runners, clients and the call store all build their SQL
 * client here.
 * @module
 */
import { resolve } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { Cause, Effect, Layer, Redacted } from "effect"
import type { SqlClient } from "effect/sql"
import { ClusterError } from "./ClusterError.ts"
import { layerSqliteClient } from "./sqlite.ts"

/** The kind of database a storage URL names. */
export type StorageKind = "postgres" | "sqlite"

/** `sqlite:FILE` or `sqlite://FILE`: the file's path, else undefined. */
export const sqliteFileOf = (url: string): string | undefined => {
  if (!url.startsWith("sqlite:")) return undefined
  const path = url.slice("sqlite:".length).replace(/^\/\//, "")
  return path === "" ? undefined : path
}

/** The kind of database `url` names. */
export const storageKindOf = (url: string): StorageKind => (url.startsWith("sqlite:") ? "sqlite" : "postgres")

/** `sqlite:` and an absolute path, so that processes started elsewhere open the same file. */
export const sqliteUrl = (file: string): string => `sqlite:${resolve(file)}`

/**
 * The SQL client of the storage `url`; `maxConnections` bounds a PostgreSQL pool (SQLite has
 * one connection per process).
 */
export const storageLayer = (
  url: string,
  maxConnections: number,
): Layer.Layer<SqlClient.SqlClient, ClusterError> => {
  const failWith =
    (message: string) =>
    (cause: Cause.Cause<unknown>): Layer.Layer<SqlClient.SqlClient, ClusterError> =>
      Layer.unwrap(
        Effect.fail(
          new ClusterError({
            reason: "Storage",
            message: `${message}: ${Cause.squash(cause) instanceof Error ? (Cause.squash(cause) as Error).message : Cause.pretty(cause)}`,
          }),
        ),
      )
  if (storageKindOf(url) === "sqlite") {
    const filename = sqliteFileOf(url)
    if (filename === undefined)
      return Layer.unwrap(
        Effect.fail(new ClusterError({ reason: "Storage", message: `No file in the storage URL ${url}` })),
      )
    return layerSqliteClient({ filename }).pipe(Layer.catchCause(failWith(`SQLite ${filename}`)))
  }
  return PgClient.layer({ url: Redacted.make(url), maxConnections }).pipe(
    Layer.catchCause(failWith("PostgreSQL")),
  )
}
