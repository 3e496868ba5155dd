/**
 * Lays a {@link Chart} out with ELK (layered, nested regions laid out together with their
 * children): every state gets a box, every transition a polyline and a label position. All
 * coordinates are absolute (relative to the chart's top-left corner).
 * @module
 */
import ElkBundled from "elkjs/lib/elk.bundled.js"
import type { Chart, ChartEdge, ChartNode } from "./chart.ts"

/** A box. */
export interface Box {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

/** A laid-out state. */
export interface LaidNode extends Box {
  readonly node: ChartNode
  readonly depth: number
}

/** A laid-out transition. */
export interface LaidEdge {
  readonly edge: ChartEdge
  readonly points: readonly { readonly x: number; readonly y: number }[]
  readonly labelBox: Box | undefined
}

/** A laid-out chart. */
export interface ChartLayout {
  readonly chart: Chart
  readonly width: number
  readonly height: number
  readonly nodes: readonly LaidNode[]
  readonly edges: readonly LaidEdge[]
}

const CHAR_WIDTH = 7
const LINE_HEIGHT = 16
const HEADER = 24

interface ElkShape {
  id: string
  x?: number
  y?: number
  width?: number
  height?: number
  children?: ElkShape[]
  edges?: ElkEdgeShape[]
  labels?: { text: string; width: number; height: number; x?: number; y?: number }[]
  layoutOptions?: Record<string, string>
}

interface ElkEdgeShape {
  id: string
  sources: string[]
  targets: string[]
  labels?: { text: string; width: number; height: number; x?: number; y?: number }[]
  sections?: {
    startPoint: { x: number; y: number }
    endPoint: { x: number; y: number }
    bendPoints?: { x: number; y: number }[]
  }[]
}

const toElk = (node: ChartNode): ElkShape => {
  const labelWidth = node.key.length * CHAR_WIDTH + 24
  if (node.children.length === 0) {
    return { id: node.id, width: Math.max(60, labelWidth), height: 32 }
  }
  return {
    id: node.id,
    labels: [{ text: node.key, width: labelWidth, height: LINE_HEIGHT }],
    layoutOptions: {
      "elk.padding": `[top=${HEADER + 8},left=12,bottom=12,right=12]`,
      "elk.nodeSize.constraints": "MINIMUM_SIZE NODE_LABELS",
      "elk.nodeSize.minimum": `(${labelWidth + 24}, ${HEADER + 20})`,
      "elk.nodeLabels.placement": "INSIDE V_TOP H_LEFT",
      ...(node.type === "parallel" ? { "elk.direction": "RIGHT" } : {}),
    },
    children: node.children.map(toElk),
  }
}

/** The ELK options the chart is laid out with. */
const ROOT_OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.hierarchyHandling": "INCLUDE_CHILDREN",
  "elk.json.edgeCoords": "ROOT",
  "elk.json.shapeCoords": "ROOT",
  "elk.layered.spacing.nodeNodeBetweenLayers": "40",
  "elk.spacing.nodeNode": "30",
  "elk.spacing.edgeLabel": "4",
  "elk.edgeLabels.inline": "false",
  "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
}

interface ElkEngine {
  layout(graph: ElkShape): Promise<ElkShape>
}

/** The bundled ELK's constructor (a CommonJS default export). */
const ElkConstructor = ElkBundled as unknown as new () => ElkEngine

let elk: ElkEngine | undefined

/**
 * Lays `chart` out. Targetless transitions (self loops) are kept out of the drawing's graph
 * and drawn as loops on their state's edge.
 */
export const layoutChart = async (chart: Chart): Promise<ChartLayout> => {
  elk ??= new ElkConstructor()
  const machineNode = toElk(chart.root)
  const root: ElkShape = { id: "\u0000graph", children: [machineNode] }
  const drawn = chart.edges.filter((e) => e.source !== e.target)
  root.edges = drawn.map((e) => ({
    id: e.id,
    sources: [e.source],
    targets: [e.target],
    labels: [{ text: e.label, width: e.label.length * 6 + 6, height: 14 }],
  }))
  root.layoutOptions = { ...ROOT_OPTIONS, "elk.padding": "[top=0,left=0,bottom=0,right=0]" }
  const laid = await elk.layout(root)

  const byId = new Map<string, ChartNode>()
  const index = (n: ChartNode): void => {
    byId.set(n.id, n)
    for (const c of n.children) index(c)
  }
  index(chart.root)

  const nodes: LaidNode[] = []
  const edgeShapes: ElkEdgeShape[] = []
  const walk = (shape: ElkShape, depth: number): void => {
    const node = byId.get(shape.id)
    if (node !== undefined) {
      nodes.push({
        node,
        depth,
        x: shape.x ?? 0,
        y: shape.y ?? 0,
        width: shape.width ?? 0,
        height: shape.height ?? 0,
      })
    }
    for (const e of shape.edges ?? []) edgeShapes.push(e)
    for (const c of shape.children ?? []) walk(c, depth + 1)
  }
  walk(laid, -1)

  const edgeById = new Map(drawn.map((e) => [e.id, e]))
  const edges: LaidEdge[] = []
  for (const shape of edgeShapes) {
    const edge = edgeById.get(shape.id)
    if (edge === undefined) continue
    const points = (shape.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint])
    const label = shape.labels?.[0]
    edges.push({
      edge,
      points,
      labelBox:
        label === undefined
          ? undefined
          : { x: label.x ?? 0, y: label.y ?? 0, width: label.width, height: label.height },
    })
  }
  return { chart, width: laid.width ?? 0, height: laid.height ?? 0, nodes, edges }
}
