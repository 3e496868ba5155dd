/**
 * Where snapshots are kept between turns and processes: the {@link SessionStore} service,
 * with an in-memory, a file-system and a SQLite implementation (Node's built-in
 * `node:sqlite`). An app checkpoints with `save` at each turn end and resumes from `load`.
 * @module
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Context, Data, Effect, Layer, Option, type Scope } from "effect"
import { decodeSnapshot, encodeSnapshot, type SessionSnapshot, type SnapshotError } from "./snapshot.ts"

/**
 * Why a {@link SessionStoreError} was raised.
 * - `InvalidId`: an empty id, or one longer than 200 characters.
 * - `Io`: the file system or the database failed (`detail` says how).
 */
export type SessionStoreErrorReason =
  | { readonly _tag: "InvalidId"; readonly id: string }
  | { readonly _tag: "Io"; readonly detail: string }

/** The one error of a session store. `retryable` for `Io` (a full disk, a locked database). */
export class SessionStoreError extends Data.TaggedError("SessionStoreError")<{
  readonly reason: SessionStoreErrorReason
  readonly message: string
  readonly retryable: boolean
}> {}

/** True when `u` is a {@link SessionStoreError}. */
export const isSessionStoreError = (u: unknown): u is SessionStoreError => u instanceof SessionStoreError

/** One stored snapshot as `list` reports it. */
export interface StoredSession {
  readonly id: string
  readonly kind: SessionSnapshot["kind"]
  readonly savedAtMs: number
}

/** The shape of the {@link SessionStore} service. */
export interface SessionStoreShape {
  /** Keeps `snapshot` under `id`, replacing what was there (atomically: a crash keeps the old one). */
  readonly save: (id: string, snapshot: SessionSnapshot) => Effect.Effect<void, SessionStoreError>
  /**
   * The snapshot under `id`, or none. Fails with `SnapshotError` when what is stored is not a
   * snapshot this version reads (`UnknownVersion`, `Malformed`).
   */
  readonly load: (
    id: string,
  ) => Effect.Effect<Option.Option<SessionSnapshot>, SessionStoreError | SnapshotError>
  /** Forgets `id` (nothing happens when it is not stored). */
  readonly remove: (id: string) => Effect.Effect<void, SessionStoreError>
  /** Every stored session, oldest save first. */
  readonly list: () => Effect.Effect<ReadonlyArray<StoredSession>, SessionStoreError>
}

const MAX_ID_CHARS = 200

const checkId = (id: string): Effect.Effect<string, SessionStoreError> =>
  id.length === 0 || id.length > MAX_ID_CHARS
    ? Effect.fail(
        new SessionStoreError({
          reason: { _tag: "InvalidId", id: id.slice(0, MAX_ID_CHARS) },
          message: `a session id is 1 to ${MAX_ID_CHARS} characters, got ${id.length}`,
          retryable: false,
        }),
      )
    : Effect.succeed(id)

const io = (what: string) => (error: unknown) =>
  new SessionStoreError({
    reason: { _tag: "Io", detail: error instanceof Error ? error.message : String(error) },
    message: `session store: ${what} failed: ${error instanceof Error ? error.message : String(error)}`,
    retryable: true,
  })

const byAge = (a: StoredSession, b: StoredSession): number => a.savedAtMs - b.savedAtMs

/** A store in this process's memory (tests, or a single process that only survives reconnects). */
export const makeMemorySessionStore = (): SessionStoreShape => {
  const texts = new Map<string, string>()
  return {
    save: (id, snapshot) =>
      Effect.map(checkId(id), (key) => {
        texts.set(key, encodeSnapshot(snapshot))
      }),
    load: (id) =>
      Effect.flatMap(checkId(id), (key) => {
        const text = texts.get(key)
        return text === undefined
          ? Effect.succeed(Option.none())
          : Effect.try({ try: () => Option.some(decodeSnapshot(text)), catch: (e) => e as SnapshotError })
      }),
    remove: (id) =>
      Effect.map(checkId(id), (key) => {
        texts.delete(key)
      }),
    list: () =>
      Effect.sync(() =>
        [...texts]
          .map(([id, text]) => {
            const snapshot = JSON.parse(text) as SessionSnapshot
            return { id, kind: snapshot.kind, savedAtMs: snapshot.savedAtMs }
          })
          .sort(byAge),
      ),
  }
}

const SUFFIX = ".snapshot.json"

/**
 * A store of one JSON file per session in `directory` (created when missing); file names are
 * the URL-encoded ids. A save writes a temporary file and renames it over the old one.
 */
export const makeFileSessionStore = (directory: string): SessionStoreShape => {
  const pathOf = (id: string): string => join(directory, `${encodeURIComponent(id)}${SUFFIX}`)
  let counter = 0
  return {
    save: (id, snapshot) =>
      Effect.flatMap(checkId(id), (key) =>
        Effect.tryPromise({
          try: async () => {
            await mkdir(directory, { recursive: true })
            const temporary = `${pathOf(key)}.${process.pid}.${counter++}.tmp`
            await writeFile(temporary, encodeSnapshot(snapshot))
            await rename(temporary, pathOf(key))
          },
          catch: io(`saving ${key}`),
        }),
      ),
    load: (id) =>
      Effect.flatMap(checkId(id), (key) =>
        Effect.tryPromise({
          try: async () => {
            try {
              return await readFile(pathOf(key), "utf8")
            } catch (error) {
              if ((error as { code?: unknown }).code === "ENOENT") return undefined
              throw error
            }
          },
          catch: io(`loading ${key}`),
        }).pipe(
          Effect.flatMap((text) =>
            text === undefined
              ? Effect.succeed(Option.none<SessionSnapshot>())
              : Effect.try({
                  try: () => Option.some(decodeSnapshot(text)),
                  catch: (e) => e as SnapshotError,
                }),
          ),
        ),
      ),
    remove: (id) =>
      Effect.flatMap(checkId(id), (key) =>
        Effect.tryPromise({ try: () => rm(pathOf(key), { force: true }), catch: io(`removing ${key}`) }),
      ),
    list: () =>
      Effect.tryPromise({
        try: async () => {
          let names: Array<string>
          try {
            names = await readdir(directory)
          } catch (error) {
            if ((error as { code?: unknown }).code === "ENOENT") return []
            throw error
          }
          const sessions: Array<StoredSession> = []
          for (const name of names) {
            if (!name.endsWith(SUFFIX)) continue
            const snapshot = JSON.parse(await readFile(join(directory, name), "utf8")) as SessionSnapshot
            sessions.push({
              id: decodeURIComponent(name.slice(0, -SUFFIX.length)),
              kind: snapshot.kind,
              savedAtMs: snapshot.savedAtMs,
            })
          }
          return sessions.sort(byAge)
        },
        catch: io("listing"),
      }),
  }
}

/** The part of `node:sqlite`'s `DatabaseSync` a store uses. */
interface SqliteDatabase {
  exec(sql: string): void
  prepare(sql: string): {
    run(...params: Array<string | number>): unknown
    get(...params: Array<string | number>): unknown
    all(...params: Array<string | number>): Array<unknown>
  }
  close(): void
}

/**
 * A store in a SQLite database file (Node's built-in `node:sqlite`, Node 22.5+), one row per
 * session in the table `voxstate_sessions`. Opening the database is part of the Effect, and
 * it is closed with the scope. Fails with `Io` when the file cannot be opened.
 */
export const makeSqliteSessionStore = (
  path: string,
): Effect.Effect<SessionStoreShape, SessionStoreError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const { DatabaseSync } = await import("node:sqlite")
        const db = new DatabaseSync(path) as unknown as SqliteDatabase
        db.exec("PRAGMA journal_mode = WAL")
        db.exec("PRAGMA busy_timeout = 5000")
        db.exec(
          "CREATE TABLE IF NOT EXISTS voxstate_sessions (id TEXT PRIMARY KEY, kind TEXT NOT NULL, saved_at_ms REAL NOT NULL, body TEXT NOT NULL)",
        )
        return db
      },
      catch: io(`opening ${path}`),
    }),
    (db) => Effect.sync(() => db.close()),
  ).pipe(
    Effect.map((db): SessionStoreShape => {
      const upsert = db.prepare(
        "INSERT INTO voxstate_sessions (id, kind, saved_at_ms, body) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, saved_at_ms = excluded.saved_at_ms, body = excluded.body",
      )
      const select = db.prepare("SELECT body FROM voxstate_sessions WHERE id = ?")
      const remove = db.prepare("DELETE FROM voxstate_sessions WHERE id = ?")
      const listing = db.prepare(
        "SELECT id, kind, saved_at_ms FROM voxstate_sessions ORDER BY saved_at_ms, id",
      )
      return {
        save: (id, snapshot) =>
          Effect.flatMap(checkId(id), (key) =>
            Effect.try({
              try: () => {
                upsert.run(key, snapshot.kind, snapshot.savedAtMs, encodeSnapshot(snapshot))
              },
              catch: io(`saving ${key}`),
            }),
          ),
        load: (id) =>
          Effect.flatMap(checkId(id), (key) =>
            Effect.try({
              try: () => select.get(key) as { readonly body: string } | undefined,
              catch: io(`loading ${key}`),
            }).pipe(
              Effect.flatMap((row) =>
                row === undefined
                  ? Effect.succeed(Option.none<SessionSnapshot>())
                  : Effect.try({
                      try: () => Option.some(decodeSnapshot(row.body)),
                      catch: (e) => e as SnapshotError,
                    }),
              ),
            ),
          ),
        remove: (id) =>
          Effect.flatMap(checkId(id), (key) =>
            Effect.try({
              try: () => {
                remove.run(key)
              },
              catch: io(`removing ${key}`),
            }),
          ),
        list: () =>
          Effect.try({
            try: () =>
              (
                listing.all() as Array<{ id: string; kind: SessionSnapshot["kind"]; saved_at_ms: number }>
              ).map((row) => ({ id: row.id, kind: row.kind, savedAtMs: row.saved_at_ms })),
            catch: io("listing"),
          }),
      }
    }),
  )

/**
 * Where sessions are checkpointed, as an Effect service (`yield* SessionStore`). Layers:
 * {@link SessionStore.layerMemory}, {@link SessionStore.layerFileSystem},
 * {@link SessionStore.layerSqlite}.
 */
export class SessionStore extends Context.Service<SessionStore, SessionStoreShape>()(
  "voxstate/SessionStore",
) {
  /** A fresh in-memory store. */
  static layerMemory(): Layer.Layer<SessionStore> {
    return Layer.sync(SessionStore, makeMemorySessionStore)
  }
  /** One JSON file per session in `directory`. */
  static layerFileSystem(directory: string): Layer.Layer<SessionStore> {
    return Layer.succeed(SessionStore, makeFileSessionStore(directory))
  }
  /** A SQLite database at `path` (`":memory:"` for a private one), closed with the layer. */
  static layerSqlite(path: string): Layer.Layer<SessionStore, SessionStoreError> {
    return Layer.effect(SessionStore, makeSqliteSessionStore(path))
  }
}
