/**
 * A runner: one process that holds calls. It registers with the cluster (Effect's
 * `effect/cluster` over sockets, shard locks and messages in SQL), hosts the `VoiceCall`
 * entity, accepts the media connections the front door hands it (`ws://host:port/calls/<id>`),
 * and reports its load (calls, measured CPU and event-loop use, budgets, owned shards) for
 * placement. Stopping it (SIGTERM,
 * `stop()`) drains it: each call leaves at a quiet moment with a checkpoint, its media closed
 * with 1012, and the shards move to the other runners, where the calls resume.
 * @module
 */
import { createServer } from "node:http"
import { NodeClusterSocket } from "@effect/platform-node"
import {
  Cause,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Schedule,
  Scope,
} from "effect"
import { Entity, type EntityAddress, MessageStorage, RunnerAddress, ShardId, Sharding } from "effect/cluster"
import { Rpc } from "effect/rpc"
import { WebSocketServer } from "ws"
import type { Agent } from "../agent/define.ts"
import { makeScrubber } from "../transport/scrub.ts"
import { CallStore, CHECKPOINT_VERSION, layerCallStore } from "./CallStore.ts"
import { ClusterError } from "./ClusterError.ts"
import { type CallHost, createCallHost, type LiveCall } from "./callHost.ts"
import { type ClusterTimings, shardingConfigOf } from "./config.ts"
import { freePort } from "./localPostgres.ts"
import { DEFAULT_CALL_COST, DEFAULT_CPU_BUDGET, DEFAULT_MAX_CALLS, isOverBudget } from "./placement.ts"
import { storageKindOf, storageLayer } from "./storage.ts"
import { VoiceCall } from "./VoiceCall.ts"

/** Options of {@link startRunner}. */
export interface RunnerOptions {
  /** The cluster's storage: `postgres://user@host:port/db` or `sqlite:FILE`. */
  readonly databaseUrl: string
  /** Host the runner listens on and is reached at (default 127.0.0.1). */
  readonly host?: string
  /** The cluster port (default: a free port). */
  readonly port?: number
  /** The media port (default: a free port). */
  readonly mediaPort?: number
  /** Calls this runner takes at most, whatever its CPU (default 1000). */
  readonly budget?: number
  /** The CPU this runner takes new calls up to, in cores (default 0.7). */
  readonly cpuBudget?: number
  /** The CPU placement counts each call for, in cores (default: the agent benchmark's figure). */
  readonly callCost?: number
  /** The agent each call runs. */
  readonly agent: Agent
  /** The environment the agent sessions read their endpoint from (default `process.env`). */
  readonly env?: Record<string, string | undefined>
  /** How long a draining runner waits for a call's quiet moment, in ms (default 3000). */
  readonly quietBoundMs?: number
  /** How long a message waits for its call to resume here, in ms (default 15 000). */
  readonly callWaitMs?: number
  readonly timings?: Partial<ClusterTimings>
}

/** A running runner. */
export interface Runner {
  /** The cluster address, `host:port`. */
  readonly address: string
  /** `ws://host:port`: the media endpoint (`/calls/<id>`). */
  readonly mediaUrl: string
  readonly calls: () => number
  /** Drains and stops the runner. Idempotent. */
  stop(): Promise<void>
}

interface RunnerContextShape {
  readonly host: CallHost
  readonly address: string
  readonly mediaUrl: string
  readonly quietBoundMs: number
  readonly callWaitMs: number
  readonly defaultInstructions: string
  /** The call at `address` has ended: its messages go from storage once its reply is written. */
  readonly ended: (address: EntityAddress.EntityAddress) => void
}

class RunnerContext extends Context.Service<RunnerContext, RunnerContextShape>()(
  "voxstate/cluster/RunnerContext",
) {}

/** A runner that has not reported for this long is forgotten by the others, in ms. */
const STALE_RUNNER_MS = 5000

const notHere = (callId: string) =>
  new ClusterError({ reason: "CallNotFound", message: `The call ${callId} is not running` })

/** The `VoiceCall` entity's handlers on this runner. */
const voiceCallLayer = VoiceCall.toLayer(
  Effect.gen(function* () {
    const address = yield* Entity.CurrentAddress
    const callId = String(address.entityId)
    const ctx = yield* RunnerContext
    const store = yield* CallStore
    const running = yield* Deferred.make<LiveCall>()
    const call = Deferred.await(running).pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(ctx.callWaitMs),
        orElse: () => Effect.fail(notHere(callId)),
      }),
    )
    return VoiceCall.of({
      Start: ({ payload }) =>
        Effect.gen(function* () {
          const checkpoint = yield* store.load(callId)
          const live = ctx.host.run(callId, checkpoint, payload.greeting)
          if (checkpoint === undefined)
            yield* store.save(
              {
                version: CHECKPOINT_VERSION,
                callId,
                turns: 0,
                instructions: ctx.defaultInstructions,
                resumes: 0,
              },
              ctx.address,
            )
          yield* Deferred.succeed(running, live)
          yield* Effect.promise(() => live.ended).pipe(
            Effect.onInterrupt(() =>
              Effect.promise(() => live.quiet(ctx.quietBoundMs).then(() => live.leave())),
            ),
          )
          ctx.ended(address)
        }),
      Say: ({ payload }) =>
        call.pipe(
          Effect.flatMap((live) =>
            Effect.try({
              try: () => live.say(payload.text),
              catch: (e) =>
                e instanceof ClusterError
                  ? e
                  : new ClusterError({ reason: "InvalidInput", message: String(e) }),
            }),
          ),
          Rpc.fork,
        ),
      Interrupt: () =>
        call.pipe(
          Effect.map((live) => live.interrupt()),
          Rpc.fork,
        ),
      HandOff: ({ payload }) =>
        call.pipe(
          Effect.flatMap((live) =>
            Effect.promise(() => live.handOff(payload.instructions, payload.greeting)),
          ),
          Rpc.fork,
        ),
      End: () =>
        call.pipe(
          Effect.flatMap((live) => Effect.promise(() => live.end())),
          Rpc.fork,
        ),
      Status: () =>
        call.pipe(
          Effect.map((live) => ({
            callId,
            runner: ctx.address,
            mediaUrl: `${ctx.mediaUrl}/calls/${encodeURIComponent(callId)}`,
            turns: live.turns(),
            resumes: live.resumes,
            mediaAttached: live.mediaAttached(),
            agent: live.agentState(),
          })),
          Rpc.fork,
        ),
    })
  }),
  { concurrency: "unbounded", maxIdleTime: "10 minutes" },
)

/** The media endpoint: `/calls/<id>` attaches to the call when it is here, else closes 4404. */
const mediaServer = (host: CallHost, hostname: string, port: number) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly url: string; readonly close: () => Promise<void> }, ClusterError>((resume) => {
      const http = createServer((_req, res) => {
        res.writeHead(426).end()
      })
      const wss = new WebSocketServer({ server: http, maxPayload: 1 << 20 })
      wss.on("connection", (socket, request) => {
        const match = /^\/calls\/([^/?]+)/.exec(request.url ?? "")
        const callId = match?.[1] === undefined ? undefined : decodeURIComponent(match[1])
        const live = callId === undefined ? undefined : host.get(callId)
        if (live === undefined) socket.close(4404, "call not here")
        else live.attach(socket)
      })
      http.once("error", (error) =>
        resume(
          Effect.fail(new ClusterError({ reason: "Runner", message: `media server: ${error.message}` })),
        ),
      )
      http.listen(port, hostname, () => {
        const address = http.address()
        const bound = typeof address === "object" && address !== null ? address.port : port
        resume(
          Effect.succeed({
            url: `ws://${hostname}:${bound}`,
            close: () =>
              new Promise<void>((resolve) => {
                for (const client of wss.clients) client.terminate()
                wss.close()
                http.close(() => resolve())
                http.closeAllConnections()
              }),
          }),
        )
      })
    }),
    (server) => Effect.promise(() => server.close()),
  )

/** Report intervals the measured CPU is averaged over (at 500 ms each: the last 2 s). */
const CPU_WINDOWS = 4

/**
 * This process's CPU use in cores (user + system time over wall time) over the last
 * `windows` calls of the returned function: it counts every thread of the process (GC,
 * the socket and file threads), unlike the event loop's utilization.
 */
const cpuMeter = (windows: number) => {
  const marks = [{ cpu: process.cpuUsage(), atMs: performance.now() }]
  return (): number => {
    const now = { cpu: process.cpuUsage(), atMs: performance.now() }
    marks.push(now)
    if (marks.length > windows + 1) marks.shift()
    const first = marks[0] ?? now
    const usedMs = (now.cpu.user - first.cpu.user + now.cpu.system - first.cpu.system) / 1000
    const wallMs = now.atMs - first.atMs
    return wallMs <= 0 ? 0 : usedMs / wallMs
  }
}

/** Reports the runner's load every `intervalMs` and unregisters it at the end. */
const loadReporter = (options: {
  readonly address: string
  readonly mediaUrl: string
  readonly budget: number
  readonly cpuBudget: number
  readonly callCost: number
  readonly host: CallHost
  readonly shardsPerGroup: number
  readonly intervalMs: number
  /** Ended calls whose messages are to be cleared, with when they ended. */
  readonly ended: Map<EntityAddress.EntityAddress, number>
}) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const store = yield* CallStore
      const sharding = yield* Sharding.Sharding
      const messages = yield* MessageStorage.MessageStorage
      // An ended call's messages and replies leave storage a moment after its reply is written.
      const clearEnded = (olderThanMs: number) =>
        Effect.suspend(() =>
          Effect.forEach(
            [...options.ended].filter(([, at]) => Date.now() - at >= olderThanMs),
            ([address]) =>
              messages.clearAddress(address).pipe(
                Effect.andThen(Effect.sync(() => options.ended.delete(address))),
                Effect.catch(() => Effect.void),
              ),
            { discard: true },
          ),
        )
      let eluMark = performance.eventLoopUtilization()
      const cpu = cpuMeter(CPU_WINDOWS)
      const report = Effect.suspend(() => {
        const elu = performance.eventLoopUtilization(eluMark).utilization
        eluMark = performance.eventLoopUtilization()
        const shards: number[] = []
        for (let i = 0; i <= options.shardsPerGroup; i++)
          if (sharding.hasShardId(ShardId.make("default", i))) shards.push(i)
        const load = {
          address: options.address,
          mediaUrl: options.mediaUrl,
          calls: options.host.size(),
          callIds: options.host.callIds(),
          budget: options.budget,
          shards,
          draining: false,
          elu,
          seenAtMs: Date.now(),
          cpu: cpu(),
          cpuBudget: options.cpuBudget,
          callCost: options.callCost,
        }
        return store.report({ ...load, overBudget: isOverBudget(load) })
      }).pipe(
        Effect.andThen(store.forgetRunners(STALE_RUNNER_MS)),
        Effect.andThen(clearEnded(1000)),
        Effect.catch(() => Effect.void),
      )
      const reporting = yield* report.pipe(
        Effect.repeat(Schedule.spaced(Duration.millis(options.intervalMs))),
        Effect.forkScoped,
      )
      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          // Stop reporting first, so no report lands after the runner's row is removed.
          yield* Fiber.interrupt(reporting)
          // A call that ended just now may have its reply written after the first clear.
          yield* clearEnded(0)
          yield* Effect.sleep(Duration.millis(250))
          yield* clearEnded(0)
          yield* store.unregister(options.address).pipe(Effect.catch(() => Effect.void))
        }),
      )
    }),
  )

/**
 * The runner as a layer: SQL client, cluster runner on sockets, call store, the entity, the
 * media endpoint and the load reporter. Building it registers the runner; releasing it drains.
 */
export const runnerLayer = (
  options: RunnerOptions & { readonly port: number; readonly mediaPort: number },
  onReady: (info: { readonly address: string; readonly mediaUrl: string }, host: CallHost) => void,
) => {
  const hostname = options.host ?? "127.0.0.1"
  const address = `${hostname}:${options.port}`
  const env = options.env ?? process.env
  const scrubber = makeScrubber(
    [env.OPENAI_API_KEY, env.AZURE_OPENAI_API_KEY].filter((s): s is string => s !== undefined && s !== ""),
  )
  const sharding = shardingConfigOf(options.timings, storageKindOf(options.databaseUrl))
  const sql = storageLayer(options.databaseUrl, 8)
  const cluster = NodeClusterSocket.layer({
    storage: "sql",
    shardingConfig: { ...sharding, runnerAddress: Option.some(RunnerAddress.make(hostname, options.port)) },
  })

  const runtime = Layer.unwrap(
    Effect.gen(function* () {
      const store = yield* CallStore
      const scope = yield* Scope.Scope
      const host = createCallHost({
        agent: options.agent,
        env,
        scrub: scrubber,
        save: (checkpoint) => Effect.runPromise(store.save(checkpoint, address)),
        remove: (callId) => Effect.runPromise(store.remove(callId)),
      })
      const media = yield* mediaServer(host, hostname, options.mediaPort).pipe(Scope.provide(scope))
      const ended = new Map<EntityAddress.EntityAddress, number>()
      const context = Layer.succeed(RunnerContext, {
        host,
        address,
        mediaUrl: media.url,
        quietBoundMs: options.quietBoundMs ?? 3000,
        callWaitMs: options.callWaitMs ?? 15_000,
        defaultInstructions: options.agent.instructions,
        ended: (address) => {
          ended.set(address, Date.now())
        },
      })
      const reporter = loadReporter({
        ended,
        address,
        mediaUrl: media.url,
        budget: options.budget ?? DEFAULT_MAX_CALLS,
        cpuBudget: options.cpuBudget ?? DEFAULT_CPU_BUDGET,
        callCost: options.callCost ?? DEFAULT_CALL_COST,
        host,
        shardsPerGroup: sharding.shardsPerGroup,
        intervalMs: 500,
      })
      const ready = Layer.effectDiscard(Effect.sync(() => onReady({ address, mediaUrl: media.url }, host)))
      return Layer.mergeAll(voiceCallLayer, reporter).pipe(Layer.provideMerge(ready), Layer.provide(context))
    }),
  )
  return runtime.pipe(Layer.provide(cluster), Layer.provide(layerCallStore), Layer.provide(sql))
}

/**
 * Starts a runner in this process and resolves once it is registered.
 * @throws {ClusterError} `Storage` when the database is unreachable, `Runner` when a port is taken
 */
export const startRunner = async (options: RunnerOptions): Promise<Runner> => {
  const port = options.port ?? (await freePort())
  const mediaPort = options.mediaPort ?? 0
  let resolveReady: (info: { address: string; mediaUrl: string; host: CallHost }) => void = () => {}
  const ready = new Promise<{ address: string; mediaUrl: string; host: CallHost }>((resolve) => {
    resolveReady = resolve
  })
  const layer = runnerLayer({ ...options, port, mediaPort }, (info, host) => resolveReady({ ...info, host }))
  const fiber = Effect.runFork(Layer.launch(layer))
  const failed = Effect.runPromise(Fiber.await(fiber)).then((exit) => {
    if (Exit.isFailure(exit)) {
      const error = Cause.squash(exit.cause)
      throw error instanceof ClusterError
        ? error
        : new ClusterError({
            reason: "Runner",
            message: `The runner stopped: ${error instanceof Error ? error.message : String(error)}`,
          })
    }
    throw new ClusterError({ reason: "Runner", message: "The runner stopped before it was ready" })
  })
  const info = await Promise.race([ready, failed])
  failed.catch(() => {})
  let stopping: Promise<void> | undefined
  return {
    address: info.address,
    mediaUrl: info.mediaUrl,
    calls: () => info.host.size(),
    stop: () => {
      stopping ??= Effect.runPromise(Fiber.interrupt(fiber)).then(() => {})
      return stopping
    },
  }
}
