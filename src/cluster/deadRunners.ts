/**
 * Every runner watches the others for death, beside the cluster's own health check.
 *
 * `effect/cluster` runs its runner health check as a cluster singleton: on one runner. When
 * that runner is the one killed, nobody marks it unhealthy, its shards stay assigned to it
 * until its heartbeat is older than the shard lock expiry (30 s here), and its calls wait
 * that long to resume. So each runner also tries a TCP connection to the others' cluster
 * ports every `runnerHealthCheckMs`: a port that refuses twice in a row belongs to a dead
 * process, and the runner is marked unhealthy in the cluster's `runners` table (what the
 * singleton would have written), so its shards move at the next assignment refresh. A frozen
 * runner (SIGSTOP, a starved event loop) is not dead: the kernel still accepts connections on
 * its port, so it keeps its calls.
 * @module
 */
import { connect } from "node:net"
import { Duration, Effect, Layer, Schedule } from "effect"
import { SqlClient } from "effect/sql"

/** Whether `host:port` refuses a TCP connection (a dead process), within `timeoutMs`. */
const refuses = (address: string, timeoutMs: number) =>
  Effect.callback<boolean>((resume) => {
    const at = address.lastIndexOf(":")
    const socket = connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)) })
    const done = (refused: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resume(Effect.succeed(refused))
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.once("connect", () => done(false))
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code === "ECONNREFUSED"))
    return Effect.sync(() => {
      clearTimeout(timer)
      socket.destroy()
    })
  })

/** The watch, as a layer of a runner at `self` (`host:port`), on the cluster's SQL client. */
export const deadRunnerWatch = (options: {
  readonly self: string
  readonly intervalMs: number
  /** The cluster's table prefix (default `cluster`). */
  readonly tablePrefix?: string
}) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const table = sql(`${options.tablePrefix ?? "cluster"}_runners`)
      const refusedBefore = new Set<string>()
      const check = Effect.gen(function* () {
        const rows = yield* sql<{ address: string }>`SELECT address FROM ${table} WHERE healthy = TRUE`
        const others = rows.map((r) => r.address).filter((a) => a !== options.self)
        for (const address of [...refusedBefore]) if (!others.includes(address)) refusedBefore.delete(address)
        yield* Effect.forEach(
          others,
          (address) =>
            refuses(address, options.intervalMs).pipe(
              Effect.flatMap((refused) => {
                if (!refused) {
                  refusedBefore.delete(address)
                  return Effect.void
                }
                if (!refusedBefore.has(address)) {
                  refusedBefore.add(address)
                  return Effect.void
                }
                refusedBefore.delete(address)
                return sql`UPDATE ${table} SET healthy = FALSE WHERE address = ${address}`.pipe(Effect.asVoid)
              }),
            ),
          { concurrency: 10, discard: true },
        )
      }).pipe(Effect.catch(() => Effect.void))
      yield* check.pipe(
        Effect.repeat(Schedule.spaced(Duration.millis(options.intervalMs))),
        Effect.forkScoped,
      )
    }),
  )
