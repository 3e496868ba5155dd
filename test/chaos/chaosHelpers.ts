/**
 * Helpers of the seeded chaos tests: which seeds to run, draws from a seeded generator
 * (`createRandom` of the simulator), and a deadline that turns a hang into a failure that
 * says where the run was.
 */

/**
 * The seeds to run: `count` seeds from `first`, or those named by `CHAOS_SEEDS` (a list such
 * as `1007,1012`, or a range such as `1-200`) to reproduce or explore.
 */
export const chaosSeeds = (first: number, count: number): number[] => {
  const named = process.env.CHAOS_SEEDS?.trim()
  if (named === undefined || named === "") return Array.from({ length: count }, (_, i) => first + i)
  return named.split(",").flatMap((part) => {
    const range = /^(\d+)-(\d+)$/.exec(part.trim())
    if (range === null) return [Number(part)]
    const [from, to] = [Number(range[1]), Number(range[2])]
    return Array.from({ length: to - from + 1 }, (_, i) => from + i)
  })
}

/** An integer in `[min, max]`. */
export const randomInt = (random: () => number, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1))

/** One element of a non-empty list. */
export const pick = <A>(random: () => number, list: readonly A[]): A => {
  const value = list[Math.floor(random() * list.length)]
  if (value === undefined) throw new Error("pick from an empty list")
  return value
}

/** A shuffled copy (Fisher–Yates). */
export const shuffled = <A>(random: () => number, list: readonly A[]): A[] => {
  const out = [...list]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const a = out[i] as A
    out[i] = out[j] as A
    out[j] = a
  }
  return out
}

/**
 * Resolves as `promise` does, or rejects after `ms` of real time with `describe()` in the
 * message: a run that hangs fails and says where it stood.
 */
export const withDeadline = <A>(promise: Promise<A>, ms: number, describe: () => string): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no end after ${ms} ms (a hang)\n${describe()}`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}
