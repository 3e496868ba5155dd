/**
 * Request bookkeeping shared by the REST routes and the Responses socket: the per-simulator
 * request index handed to scenario functions, and the text of a message-like item. The
 * scripted answers themselves come from `scenario.ts` (`resolveTranscript`, `resolveReply`).
 * @module
 */
import type { Scenario } from "../types.ts"

/** Per-scenario request counters (the `index` of each request kind). */
const counters = new WeakMap<Scenario, Map<string, number>>()

/** The next zero-based index for requests of `kind` on this scenario (simulator). */
export const nextRequestIndex = (scenario: Scenario, kind: string): number => {
  let map = counters.get(scenario)
  if (map === undefined) {
    map = new Map()
    counters.set(scenario, map)
  }
  const index = map.get(kind) ?? 0
  map.set(kind, index + 1)
  return index
}

/** The text of a message-like item (string content or `input_text`/`text`/`output_text` parts). */
export const itemText = (item: unknown): string => {
  if (typeof item === "string") return item
  if (item === null || typeof item !== "object") return ""
  const content = (item as { content?: unknown }).content
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) =>
        part !== null && typeof part === "object" && typeof (part as { text?: unknown }).text === "string"
          ? (part as { text: string }).text
          : "",
      )
      .join("")
  }
  return ""
}
