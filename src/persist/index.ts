/**
 * Sessions as data: the snapshot format (versioned, never holding a credential) and the
 * `SessionStore` service that keeps snapshots in memory, in files or in SQLite.
 * @module
 */

export {
  isSessionStoreError,
  makeFileSessionStore,
  makeMemorySessionStore,
  makeSqliteSessionStore,
  SessionStore,
  SessionStoreError,
  type SessionStoreErrorReason,
  type SessionStoreShape,
  type StoredSession,
} from "./SessionStore.ts"
export {
  assertNoCredential,
  decodeSnapshot,
  encodeSnapshot,
  isSnapshotError,
  makeSnapshot,
  SESSION_KINDS,
  type SessionKind,
  type SessionSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  SnapshotError,
  type SnapshotErrorReason,
} from "./snapshot.ts"
