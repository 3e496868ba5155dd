/**
 * The chart of a machine, read from its own definition: every state node (atomic, compound,
 * parallel, final, history) with its children, and every transition labelled with its event
 * (or `after`/`always`) and its guard. Nothing is written by hand: the chart is the machine.
 * @module
 */
import type { AnyStateMachine } from "xstate"

/** The kind of a state node. */
export type ChartNodeType = "atomic" | "compound" | "parallel" | "final" | "history"

/** One state node of a chart. */
export interface ChartNode {
  /** The node's full id (for example `transcription.session.connecting`). */
  readonly id: string
  /** The node's key within its parent. */
  readonly key: string
  readonly type: ChartNodeType
  /** The id of the initial child of a compound node. */
  readonly initial: string | undefined
  readonly children: readonly ChartNode[]
}

/** One transition of a chart. */
export interface ChartEdge {
  /** A stable id (`source#index`). */
  readonly id: string
  readonly source: string
  /** The target's id; the source itself for a targetless (internal) transition. */
  readonly target: string
  /** The event type (`xstate.after.…` delays and `always` are labelled as such). */
  readonly event: string
  /** The event type the machine receives (`xstate.done.actor.…`, `xstate.after.…`; `""` for `always`). */
  readonly eventType: string
  /** The guard's name, when the transition is guarded. */
  readonly guard: string | undefined
  /** The label drawn on the edge: `event [guard]`. */
  readonly label: string
}

/** The chart of one machine. */
export interface Chart {
  readonly machineId: string
  readonly root: ChartNode
  readonly edges: readonly ChartEdge[]
}

interface StateNodeLike {
  readonly id: string
  readonly key: string
  readonly type: ChartNodeType
  readonly states: Record<string, StateNodeLike>
  readonly initial?: { readonly target: readonly StateNodeLike[] } | undefined
  readonly transitions: ReadonlyMap<string, readonly TransitionLike[]>
  readonly always?: readonly TransitionLike[] | undefined
}

interface TransitionLike {
  readonly eventType: string
  readonly target?: readonly StateNodeLike[] | undefined
  readonly guard?: unknown
}

const guardName = (guard: unknown): string | undefined => {
  if (guard === undefined || guard === null) return undefined
  if (typeof guard === "string") return guard
  if (typeof guard === "function") return guard.name === "" ? "inline" : guard.name
  if (typeof guard === "object" && "type" in guard) {
    const g = guard as { type: unknown; params?: unknown }
    return typeof g.type === "string" ? g.type : "inline"
  }
  return "inline"
}

const eventLabel = (eventType: string): string => {
  const after = /^xstate\.after\.(.+?)\./.exec(eventType)
  if (after !== null) return `after ${after[1]}`
  if (eventType === "") return "always"
  return eventType.replace(/^xstate\.done\.actor\./, "done: ").replace(/^xstate\.error\.actor\./, "error: ")
}

/** The label drawn for an event: an unnamed invoke's `done: 0.machine.a.b` is shown as `done: b`. */
const shortLabel = (event: string): string =>
  event.replace(/^(done|error): \d+\.(?:[^.]+\.)*([^.]+)$/, "$1: $2")

const readNode = (node: StateNodeLike): ChartNode => ({
  id: node.id,
  key: node.key,
  type: node.type,
  initial: node.initial?.target[0]?.id,
  children: Object.values(node.states).map(readNode),
})

const collectEdges = (node: StateNodeLike, edges: ChartEdge[]): void => {
  const all: TransitionLike[] = []
  for (const list of node.transitions.values()) all.push(...list)
  for (const t of node.always ?? []) all.push({ ...t, eventType: "" })
  all.forEach((t, index) => {
    const targets = t.target !== undefined && t.target.length > 0 ? t.target : [node]
    const event = eventLabel(t.eventType)
    const guard = guardName(t.guard)
    for (const [k, target] of targets.entries()) {
      edges.push({
        id: `${node.id}#${index}${k === 0 ? "" : `.${k}`}`,
        source: node.id,
        target: target.id,
        event,
        eventType: t.eventType,
        guard,
        label: guard === undefined ? shortLabel(event) : `${shortLabel(event)} [${guard}]`,
      })
    }
  })
  for (const child of Object.values(node.states)) collectEdges(child, edges)
}

/** Reads the chart of `machine` from its definition. */
export const chartOf = (machine: AnyStateMachine): Chart => {
  const root = machine.root as unknown as StateNodeLike
  const edges: ChartEdge[] = []
  collectEdges(root, edges)
  return { machineId: machine.id, root: readNode(root), edges }
}

/** Every node of a chart, depth first. */
export const nodesOf = (chart: Chart): readonly ChartNode[] => {
  const out: ChartNode[] = []
  const walk = (n: ChartNode): void => {
    out.push(n)
    for (const c of n.children) walk(c)
  }
  walk(chart.root)
  return out
}
