/**
 * The cluster from outside: a client-only member (it hosts no shards) that places calls on
 * the runners and sends them their control messages wherever they live. Placement reads the
 * runners' reported load (./placement.ts: measured CPU against a CPU budget, calls counted
 * at a cost each): the least-loaded runner a call fits on gets it, by choosing a call id whose
 * shard that runner owns.
 * @module
 */
import { randomBytes } from "node:crypto"
import { NodeClusterSocket } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer, ManagedRuntime } from "effect"
import { Sharding } from "effect/cluster"
import { CallStore, layerCallStore, type RunnerLoad } from "./CallStore.ts"
import { ClusterError } from "./ClusterError.ts"
import { type ClusterTimings, shardingConfigOf } from "./config.ts"
import { noCapacityMessage, pickRunner } from "./placement.ts"
import { storageKindOf, storageLayer } from "./storage.ts"
import { type CallStatus, VoiceCall } from "./VoiceCall.ts"

/** Options of {@link connectCluster}. */
export interface ClusterClientOptions {
  /** The cluster's storage: `postgres://user@host:port/db` or `sqlite:FILE`. */
  readonly databaseUrl: string
  readonly timings?: Partial<ClusterTimings>
  /** A runner that has not reported for this long is not placed on, in ms (default 3000). */
  readonly runnerFreshMs?: number
}

/** Options of {@link ClusterClient.place}. */
export interface PlaceOptions {
  /** What the agent says first. */
  readonly greeting?: string
}

/** A connection to the cluster. */
export interface ClusterClient {
  /**
   * Places a new call on the least-loaded runner it fits on and starts it.
   * @throws {ClusterError} `NoCapacity` when it fits on no runner's budget (or none is up)
   */
  place(options?: PlaceOptions): Promise<CallStatus>
  /** Starts `callId` wherever its shard lives (no placement). */
  start(callId: string, options?: PlaceOptions): Promise<CallStatus>
  say(callId: string, text: string): Promise<void>
  interrupt(callId: string): Promise<void>
  handOff(callId: string, instructions: string, greeting?: string): Promise<void>
  end(callId: string): Promise<void>
  /** Where the call lives (waits while it resumes after its runner stopped). */
  status(callId: string): Promise<CallStatus>
  /** The runners that reported recently. */
  runners(): Promise<readonly RunnerLoad[]>
  /** Calls with a checkpoint (running, or waiting to resume). */
  calls(): Promise<readonly { readonly callId: string; readonly runner: string }[]>
  close(): Promise<void>
}

/** How long a placement counts against its runner before the runner reports the call, in ms. */
const PENDING_PLACEMENT_MS = 10_000

const asClusterError = (error: unknown): ClusterError =>
  error instanceof ClusterError
    ? error
    : new ClusterError({
        reason: "Runner",
        message: error instanceof Error ? error.message : String(error),
      })

/** The client's layer: SQL, a client-only cluster member, the call store. @internal */
export const clientLayer = (options: ClusterClientOptions) =>
  Layer.mergeAll(
    NodeClusterSocket.layer({
      clientOnly: true,
      storage: "sql",
      shardingConfig: shardingConfigOf(options.timings, storageKindOf(options.databaseUrl)),
    }),
    layerCallStore,
  ).pipe(Layer.provide(storageLayer(options.databaseUrl, 4)))

export { pickRunner }

/**
 * Connects to the cluster whose storage is `databaseUrl`.
 * @throws {ClusterError} `Storage` when the database is unreachable
 */
export const connectCluster = async (options: ClusterClientOptions): Promise<ClusterClient> => {
  const runtime = ManagedRuntime.make(clientLayer(options))
  const run = async <A, E>(effect: Effect.Effect<A, E, CallStore | Sharding.Sharding>): Promise<A> => {
    const exit = await runtime.runPromiseExit(effect)
    if (Exit.isSuccess(exit)) return exit.value
    throw asClusterError(Cause.squash(exit.cause))
  }
  await run(Effect.void)
  const freshMs = options.runnerFreshMs ?? 3000
  // Placements a runner's report does not hold yet (by call id), for a while at most.
  const recent = new Map<string, { callId: string; atMs: number }[]>()
  const pendingOf = (runners: readonly RunnerLoad[]) => {
    const pending = new Map<string, number>()
    for (const r of runners) {
      const reported = new Set(r.callIds)
      const placements = (recent.get(r.address) ?? []).filter(
        (p) => !reported.has(p.callId) && Date.now() - p.atMs < PENDING_PLACEMENT_MS,
      )
      recent.set(r.address, placements)
      pending.set(r.address, placements.length)
    }
    return pending
  }
  const placed = (address: string, callId: string) =>
    recent.set(address, [...(recent.get(address) ?? []), { callId, atMs: Date.now() }])
  const forget = (callId: string) => {
    for (const [address, placements] of recent)
      recent.set(
        address,
        placements.filter((p) => p.callId !== callId),
      )
  }
  const entity = (callId: string) => Effect.map(VoiceCall.client, (clientFor) => clientFor(callId))

  const status = (callId: string) => run(Effect.flatMap(entity(callId), (c) => c.Status()))
  const start = async (callId: string, placeOptions: PlaceOptions = {}) => {
    await run(
      Effect.flatMap(entity(callId), (c) =>
        c.Start(placeOptions.greeting === undefined ? {} : { greeting: placeOptions.greeting }, {
          discard: true,
        }),
      ),
    )
    return status(callId)
  }

  return {
    place: async (placeOptions) => {
      const { id: callId, target } = await run(
        Effect.gen(function* () {
          const store = yield* CallStore
          const sharding = yield* Sharding.Sharding
          const runners = yield* store.runners(freshMs)
          const target = pickRunner(runners, pendingOf(runners))
          if (target === undefined)
            return yield* new ClusterError({
              reason: "NoCapacity",
              message: noCapacityMessage(runners),
            })
          const owned = new Set(target.shards)
          for (let attempt = 0; attempt < 100_000; attempt++) {
            const id = `call_${randomBytes(8).toString("hex")}`
            if (owned.has(sharding.getShardId(id as never, "default").id)) {
              placed(target.address, id)
              return { id, target: target.address }
            }
          }
          return yield* new ClusterError({
            reason: "NoCapacity",
            message: `No call id maps to ${target.address}`,
          })
        }),
      )
      const status = await start(callId, placeOptions).catch((error: unknown) => {
        forget(callId)
        throw error
      })
      // While shards move, a call can land beside its target: count it where it runs.
      if (status.runner !== target) {
        forget(callId)
        placed(status.runner, callId)
      }
      return status
    },
    start,
    say: (callId, text) => run(Effect.flatMap(entity(callId), (c) => c.Say({ text }))),
    interrupt: (callId) => run(Effect.flatMap(entity(callId), (c) => c.Interrupt())),
    handOff: (callId, instructions, greeting) =>
      run(
        Effect.flatMap(entity(callId), (c) =>
          c.HandOff(greeting === undefined ? { instructions } : { instructions, greeting }),
        ),
      ),
    end: async (callId) => {
      forget(callId)
      await run(Effect.flatMap(entity(callId), (c) => c.End()))
    },
    status,
    runners: () => run(Effect.flatMap(CallStore, (s) => s.runners(freshMs))),
    calls: () => run(Effect.flatMap(CallStore, (s) => s.calls)),
    close: () => runtime.dispose(),
  }
}
