/**
 * The process-wide inspector of `VOXSTATE_INSPECT=1`: created with the first session the
 * process starts, its address printed once on stderr, shared by every later session. It never
 * keeps the process alive (its server and viewers' sockets are unref'd) and closes when the
 * process exits.
 * @module
 */
import type { InspectionEvent, Observer } from "xstate"
import { type OpeningInspector, openInspector } from "./inspector.ts"

/** The environment variable that attaches the process-wide inspector to every session. */
export const INSPECT_ENV = "VOXSTATE_INSPECT"

let shared: OpeningInspector | undefined

/** Whether `env` asks for the process-wide inspector (`VOXSTATE_INSPECT=1` or `true`). */
export const inspectRequested = (env: Readonly<Record<string, string | undefined>>): boolean => {
  const value = env[INSPECT_ENV]?.trim().toLowerCase()
  return value === "1" || value === "true"
}

/**
 * The process-wide inspector, opened on the first call. `print` receives its address once
 * it listens (default: one line on stderr). @internal
 */
export const processInspector = (
  print: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): OpeningInspector => {
  if (shared !== undefined) return shared
  const inspector = openInspector({ unref: true, port: portOf(process.env) })
  shared = inspector
  inspector.ready.then(
    (url) => print(`voxstate inspector: ${url}`),
    (error: unknown) =>
      print(`voxstate inspector: not started (${error instanceof Error ? error.message : String(error)})`),
  )
  process.once("exit", () => void inspector.close())
  return inspector
}

const portOf = (env: Readonly<Record<string, string | undefined>>): number => {
  const port = Number(env.VOXSTATE_INSPECT_PORT ?? "0")
  return Number.isInteger(port) && port >= 0 && port < 65536 ? port : 0
}

/**
 * The observer a session starts with: `given` when one is passed, `undefined` for `false`,
 * else the process-wide inspector's when `VOXSTATE_INSPECT=1` is set in the process. @internal
 */
export const defaultInspect = (
  given: Observer<InspectionEvent> | false | undefined,
): Observer<InspectionEvent> | undefined => {
  if (given === false) return undefined
  if (given !== undefined) return given
  return inspectRequested(process.env) ? processInspector().inspect : undefined
}
