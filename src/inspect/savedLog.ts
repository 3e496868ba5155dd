/**
 * A session's log as the page saves it: one {@link InspectorRecord} as JSON a line. Reading
 * one back checks every line, so a wrong file is refused with the line that is wrong.
 * @module
 */
import type { InspectorRecord } from "./inspector.ts"

/** One line of a saved log that is not a record. */
export class InspectorLogError extends Error {
  readonly line: number
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`)
    this.name = "InspectorLogError"
    this.line = line
  }
}

const isRecord = (value: unknown): value is InspectorRecord => {
  if (typeof value !== "object" || value === null) return false
  const r = value as Record<string, unknown>
  const event = r.event as { type?: unknown } | null | undefined
  return (
    typeof r.seq === "number" &&
    typeof r.at === "number" &&
    typeof r.session === "string" &&
    typeof r.machine === "string" &&
    typeof event === "object" &&
    event !== null &&
    typeof event.type === "string"
  )
}

/** The records of a saved log, in order. @throws {InspectorLogError} for a line that is not a record, or an empty log */
export const parseInspectorLog = (text: string): InspectorRecord[] => {
  const records: InspectorRecord[] = []
  for (const [index, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (error) {
      throw new InspectorLogError(index + 1, `not JSON (${(error as Error).message})`)
    }
    if (!isRecord(value)) {
      throw new InspectorLogError(
        index + 1,
        "not an inspector record (seq, at, session, machine, event.type)",
      )
    }
    records.push(value.kind === undefined ? { ...value, kind: "transition" } : value)
  }
  if (records.length === 0) throw new InspectorLogError(1, "no records")
  return records
}

/** The records as a saved log. */
export const formatInspectorLog = (records: Iterable<InspectorRecord>): string =>
  `${[...records].map((r) => JSON.stringify(r)).join("\n")}\n`
