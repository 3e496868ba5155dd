/**
 * The local cluster on SQLite: three runner processes on 127.0.0.1 sharing one database file
 * (WAL, busy timeout), the simulator in this process. Placement respects each runner's CPU
 * budget (calls are counted at a cost that makes the budget bind after a few calls, so the
 * test does not depend on how busy the machine is); one runner killed mid-call (SIGKILL) and
 * every call on it resumes elsewhere with its conversation, once its shard leases expire (on
 * SQLite nothing ends a dead runner's leases sooner); control messages reach calls on every
 * runner; a drained runner's calls move at once (it releases its own leases); teardown leaves
 * no process or row.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { DEFAULT_SQLITE_CLUSTER_TIMINGS } from "../../src/cluster/config.ts"
import { type LocalCluster, startLocalCluster } from "../../src/cluster/index.ts"
import { layerSqliteClient } from "../../src/cluster/sqlite.ts"
import { sqliteUrl } from "../../src/cluster/storage.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import { settledHandles, wordsIn } from "../../src/testing/index.ts"
import {
  agentReplies,
  callsOnRunner,
  connectCaller,
  finalTranscripts,
  type MediaCaller,
  reattachedGaps,
  shardsSettled,
  userTextsOf,
} from "./mediaCaller.ts"

/** Each runner takes new calls up to this CPU, in cores... */
const CPU_BUDGET = 0.6
/** ...counting each call for this much: at most 6 calls a runner, whatever it measures. */
const CALL_COST = 0.1
const MAX_PER_RUNNER = Math.floor(CPU_BUDGET / CALL_COST + 1e-9)

const rowsByTable = (file: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const tables = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`
      const counts: Record<string, number> = {}
      for (const { name } of tables) {
        const rows = yield* sql<{ n: number }>`SELECT count(*) AS n FROM ${sql(name)}`
        counts[name] = Number(rows[0]?.n ?? 0)
      }
      return counts
    }).pipe(Effect.provide(layerSqliteClient({ filename: file }))),
  )

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

let dir: string
let file: string
let sim: Simulator
let cluster: LocalCluster
let baseline: { sockets: number; timers: number }
const calls: { callId: string; runner: string; caller: MediaCaller }[] = []
const pids: number[] = []

beforeAll(async () => {
  baseline = await settledHandles()
  dir = mkdtempSync(join(tmpdir(), "voxstate-cluster-sqlite-"))
  file = join(dir, "cluster.db")
  sim = await startSimulator({
    scenario: {
      transcripts: (request) => wordsIn(request.audio, 24_000).join(" ") || "(silence)",
      replies: (request) => ({ text: `Heard ${userTextsOf(request.input).join(", ")}.` }),
    },
  })
  cluster = await startLocalCluster({
    runners: 3,
    databaseUrl: sqliteUrl(file),
    cpuBudget: CPU_BUDGET,
    callCost: CALL_COST,
    env: { OPENAI_API_KEY: sim.apiKey ?? "", OPENAI_BASE_URL: sim.httpUrl },
  })
  pids.push(...cluster.runners().map((r) => r.pid))
  await shardsSettled(cluster.client, {
    runners: 3,
    shardsPerGroup: DEFAULT_SQLITE_CLUSTER_TIMINGS.shardsPerGroup,
  })
}, 120_000)

afterAll(async () => {
  await Promise.all(calls.map((c) => c.caller?.hangUp()))
  await cluster?.stop()
  await sim?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
}, 120_000)

describe("a local cluster of three runner processes on one SQLite file", () => {
  it("placement respects the budget: calls go where they fit, then NoCapacity", async () => {
    let refused: unknown
    for (let i = 0; i < 3 * MAX_PER_RUNNER + 1; i++) {
      try {
        const status = await cluster.client.place()
        calls.push({ callId: status.callId, runner: status.runner, caller: undefined as never })
      } catch (error) {
        refused = error
        break
      }
    }
    assert.propertyVal(refused, "reason", "NoCapacity")
    const perRunner = new Map<string, number>()
    for (const c of calls) perRunner.set(c.runner, (perRunner.get(c.runner) ?? 0) + 1)
    // Every runner took calls (each was idle at first), none more than its budget allows.
    assert.strictEqual(perRunner.size, 3, JSON.stringify([...perRunner]))
    for (const n of perRunner.values()) assert.isAtMost(n, MAX_PER_RUNNER)
    // Once the runners have reported the calls, each is within its budget and says so.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const loads = await cluster.client.runners()
    for (const r of loads) {
      assert.strictEqual(r.calls, perRunner.get(r.address) ?? 0, r.address)
      assert.strictEqual(r.cpuBudget, CPU_BUDGET)
      assert.strictEqual(r.callCost, CALL_COST)
      assert.isAtMost(r.calls * CALL_COST, CPU_BUDGET + 1e-9)
      assert.isAbove(r.cpu ?? 0, 0)
    }
  }, 120_000)

  it("resumes every call of a killed runner elsewhere with its conversation intact", async () => {
    await Promise.all(
      calls.map(async (c) => {
        c.caller = await connectCaller(`${cluster.frontDoor.url}/calls/${c.callId}`)
        await c.caller.until((events) => events.some((e) => e.type === "call_attached"))
      }),
    )
    await Promise.all(calls.map((c) => c.caller.speak("alpha")))
    await Promise.all(calls.map((c) => c.caller.until(() => agentReplies(c.caller).length >= 1)))
    for (const c of calls) assert.deepStrictEqual(agentReplies(c.caller), ["Heard alpha."])

    const victim = cluster.runners()[0]
    assert.isDefined(victim)
    if (victim === undefined) return
    const { on: moved, before } = await callsOnRunner(cluster.client, calls, victim.address)
    assert.isAbove(moved.length, 0)
    await victim.kill()
    await Promise.all(
      moved.map((c) =>
        c.caller.until(
          () => reattachedGaps(c.caller).length > (before.get(c.callId)?.reattached ?? 0),
          60_000,
        ),
      ),
    )
    for (const c of moved) {
      const status = await cluster.client.status(c.callId)
      assert.notStrictEqual(status.runner, victim.address)
      assert.isAbove(status.resumes, before.get(c.callId)?.resumes ?? 0)
      assert.strictEqual(status.turns, 1)
      // The gap is about the shard lease (nothing ends a dead runner's leases on SQLite).
      const gap = reattachedGaps(c.caller).at(-1) ?? Number.POSITIVE_INFINITY
      assert.isBelow(gap, DEFAULT_SQLITE_CLUSTER_TIMINGS.shardLockExpirationMs + 20_000)
    }
    await Promise.all(calls.map((c) => c.caller.speak("bravo")))
    await Promise.all(calls.map((c) => c.caller.until(() => agentReplies(c.caller).length >= 2)))
    for (const c of calls) {
      assert.deepStrictEqual(agentReplies(c.caller), ["Heard alpha.", "Heard alpha, bravo."])
      assert.deepStrictEqual(finalTranscripts(c.caller), ["alpha", "bravo"])
    }
    assert.sameMembers(
      (await cluster.client.calls()).map((s) => s.callId),
      calls.map((c) => c.callId),
    )
  }, 180_000)

  it("reaches a call with its control messages wherever it lives, and drains a runner", async () => {
    const byRunner = new Map<string, (typeof calls)[number]>()
    for (const c of calls) {
      c.runner = (await cluster.client.status(c.callId)).runner
      if (!byRunner.has(c.runner)) byRunner.set(c.runner, c)
    }
    assert.strictEqual(byRunner.size, cluster.runners().length)
    for (const c of byRunner.values()) {
      await cluster.client.say(c.callId, "One moment please.")
      await c.caller.until(() => agentReplies(c.caller).includes("One moment please."))
    }
    // A drained runner releases its own leases: its calls move at once, not after the lease.
    const drained = cluster.runners()[0]
    if (drained === undefined) return
    const moved = calls.filter((c) => c.runner === drained.address)
    assert.isAbove(moved.length, 0)
    const before = new Map(moved.map((c) => [c.callId, reattachedGaps(c.caller).length]))
    await drained.drain()
    assert.strictEqual(await drained.exited, 0)
    await Promise.all(
      moved.map((c) =>
        c.caller.until(() => reattachedGaps(c.caller).length > (before.get(c.callId) ?? 0), 40_000),
      ),
    )
    for (const c of moved) {
      const gap = reattachedGaps(c.caller)[before.get(c.callId) ?? 0] ?? Number.POSITIVE_INFINITY
      assert.isBelow(gap, DEFAULT_SQLITE_CLUSTER_TIMINGS.shardLockExpirationMs)
      const status = await cluster.client.status(c.callId)
      assert.notStrictEqual(status.runner, drained.address)
    }
    await Promise.all(moved.map((c) => c.caller.speak("charlie")))
    await Promise.all(
      moved.map((c) => c.caller.until(() => agentReplies(c.caller).some((t) => t?.endsWith("charlie.")))),
    )
    for (const c of moved) {
      assert.deepStrictEqual(finalTranscripts(c.caller), ["alpha", "bravo", "charlie"])
      assert.strictEqual(agentReplies(c.caller).at(-1), "Heard alpha, bravo, charlie.")
    }
  }, 120_000)

  it("ends every call and leaves no process, socket or row behind", async () => {
    await Promise.all(calls.map((c) => cluster.client.end(c.callId)))
    await Promise.all(calls.map((c) => c.caller.until(() => c.caller.closed() !== undefined)))
    for (const c of calls) assert.strictEqual(c.caller.closed()?.code, 1000)
    assert.deepStrictEqual(await cluster.client.calls(), [])
    calls.length = 0
    await cluster.stop()
    for (const pid of pids) assert.isFalse(alive(pid), `runner ${pid} still running`)
    const rows = await rowsByTable(file)
    for (const table of ["voxstate_calls", "voxstate_runners", "cluster_runners", "cluster_locks"])
      assert.strictEqual(rows[table] ?? 0, 0, `${table}: ${JSON.stringify(rows)}`)
    await sim.close()
    const now = await settledHandles()
    assert.isAtMost(now.sockets, baseline.sockets)
  }, 120_000)
})
