/**
 * Placement's rules, pure: which runner a new call goes to, given what the runners report.
 *
 * Each runner has a CPU budget (cores, e.g. 0.7) and counts each call for a cost (cores per
 * call). A runner's load is the larger of its measured CPU use and its calls times the cost
 * (a call that has not spoken yet uses almost no CPU, but it will: counting only the measure
 * would pile idle calls on a runner that then overloads when they talk; counting only the
 * estimate would ignore calls heavier than estimated and the runner's own work), plus the cost
 * of the calls placed on it that its reports do not hold yet. A new call fits when that load
 * plus one more call's cost is within the budget (and the call count under its cap). The call
 * goes to the fitting runner with the lowest share of its budget; none fits: `NoCapacity`.
 *
 * Moves are not placements: when a runner dies or drains, its shards move and their calls
 * resume on the new owners whatever their load (refusing would drop the calls). A runner over
 * its budget after that reports `overBudget` and takes no new call until it is back under.
 * @module
 */
import type { RunnerLoad } from "./CallStore.ts"

/**
 * The CPU one call is counted for by default, in cores: 15.5 ms of CPU per second of a call,
 * measured by `npm run bench -- agent` (10 agent sessions at once against the simulator in a
 * child process, on a 2-core machine shared with other work), rounded up.
 */
export const DEFAULT_CALL_COST = 0.016

/** The CPU a runner takes calls up to by default, in cores: 70 % of one core. */
export const DEFAULT_CPU_BUDGET = 0.7

/** Calls a runner takes at most by default, whatever its CPU (a cap, not the budget). */
export const DEFAULT_MAX_CALLS = 1000

/** Rounding room for sums of costs (0.1 + 0.2 > 0.3). */
const EPSILON = 1e-9

/** A runner's CPU load in cores, counting `pending` placements it has not reported yet. */
export const cpuLoadOf = (runner: RunnerLoad, pending = 0): number => {
  const cost = runner.callCost ?? 0
  return Math.max(runner.cpu ?? 0, runner.calls * cost) + pending * cost
}

/** Whether the runner holds more than its budgets allow. */
export const isOverBudget = (runner: RunnerLoad): boolean =>
  runner.calls > runner.budget ||
  (runner.cpuBudget !== undefined && cpuLoadOf(runner) > runner.cpuBudget + EPSILON)

/**
 * The share of its budget a runner would use with `pending` unreported placements and one
 * more call (above 1: it does not fit). A runner with no CPU budget is placed by its call
 * count alone.
 */
export const shareWithOneMore = (runner: RunnerLoad, pending: number): number => {
  const calls = (runner.calls + pending + 1) / runner.budget
  if (runner.cpuBudget === undefined) return calls
  const cpu = (cpuLoadOf(runner, pending) + (runner.callCost ?? 0)) / runner.cpuBudget
  return Math.max(calls, cpu)
}

/** Picks the least-loaded runner a new call fits on, counting placements it has not reported yet. */
export const pickRunner = (
  runners: readonly RunnerLoad[],
  pending: ReadonlyMap<string, number>,
): RunnerLoad | undefined => {
  let best: RunnerLoad | undefined
  let bestShare = Number.POSITIVE_INFINITY
  for (const r of runners) {
    if (r.draining || r.overBudget === true || r.shards.length === 0) continue
    const share = shareWithOneMore(r, pending.get(r.address) ?? 0)
    if (share > 1 + EPSILON) continue
    if (share < bestShare) {
      best = r
      bestShare = share
    }
  }
  return best
}

/** Why no runner fits, for the `NoCapacity` error's message. */
export const noCapacityMessage = (runners: readonly RunnerLoad[]): string =>
  runners.length === 0
    ? "No runner is up"
    : `No runner has room for one more call (${runners
        .map(
          (r) =>
            `${r.address}: ${r.calls}/${r.budget} calls` +
            (r.cpuBudget === undefined
              ? ""
              : `, CPU ${cpuLoadOf(r).toFixed(3)}/${r.cpuBudget} cores at ${r.callCost ?? 0} a call`) +
            (r.draining ? ", draining" : "") +
            (r.overBudget === true || isOverBudget(r) ? ", over budget" : ""),
        )
        .join("; ")})`
