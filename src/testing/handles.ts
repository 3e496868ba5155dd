/**
 * Leak checks for tests: the sockets and timers this process holds (Node's own count), a
 * baseline taken once the counts have settled, and a wait until they are back to it.
 * @module
 */

/** Live handles of this process that a session could leak: sockets and timers (Node's own count). */
export const activeHandles = (): { readonly sockets: number; readonly timers: number } => {
  let sockets = 0
  let timers = 0
  for (const resource of process.getActiveResourcesInfo()) {
    if (resource === "TCPSocketWrap" || resource === "TLSWrap") sockets++
    else if (resource === "Timeout") timers++
  }
  return { sockets, timers }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The process's socket and timer counts once they have settled: the same on three reads 20 ms
 * apart. A baseline taken while an earlier connection is still closing (a closing socket, the
 * close-handshake timer of `ws`) would count handles that are about to go away.
 */
export const settledHandles = async (
  timeoutMs = 5_000,
): Promise<{ readonly sockets: number; readonly timers: number }> => {
  const deadline = Date.now() + timeoutMs
  let last = activeHandles()
  let same = 0
  while (same < 2 && Date.now() < deadline) {
    await pause(20)
    const now = activeHandles()
    same = now.sockets === last.sockets && now.timers === last.timers ? same + 1 : 0
    last = now
  }
  return last
}

/**
 * Waits until this process holds no more sockets and timers than `baseline` (closing sockets
 * finish asynchronously); throws with the counts when they stay above it for `timeoutMs`.
 */
export const handlesBackTo = async (
  baseline: { readonly sockets: number; readonly timers: number },
  timeoutMs = 5_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const now = activeHandles()
    if (now.sockets <= baseline.sockets && now.timers <= baseline.timers) return
    if (Date.now() >= deadline) {
      throw new Error(
        `handles left: ${now.sockets} sockets (before: ${baseline.sockets}), ${now.timers} timers (before: ${baseline.timers})`,
      )
    }
    await pause(10)
  }
}
