/**
 * The three forms a chart is exported in: SVG (from its ELK layout, with `data-state` on
 * every box so a page can light the active states), Mermaid `stateDiagram-v2`, and a JSON
 * machine config that Stately Studio and `createMachine` import.
 * @module
 */
import type { Chart, ChartNode } from "./chart.ts"
import type { ChartLayout } from "./layout.ts"

const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const round = (n: number): string => String(Math.round(n * 10) / 10)

/** Renders a laid-out chart as a standalone SVG document. */
export const renderSvg = (layout: ChartLayout): string => {
  const out: string[] = []
  const w = round(layout.width + 2)
  const h = round(layout.height + 2)
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-1 -1 ${w} ${h}" width="${w}" height="${h}" font-family="sans-serif" font-size="12" class="vx-chart" data-machine="${escapeXml(layout.chart.machineId)}">`,
  )
  out.push(
    '<defs><marker id="vx-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
  )
  const selfLoops = new Map<string, string[]>()
  for (const e of layout.chart.edges) {
    if (e.source === e.target) selfLoops.set(e.source, [...(selfLoops.get(e.source) ?? []), e.label])
  }
  for (const n of layout.nodes) {
    const isLeaf = n.node.children.length === 0
    const dash = n.node.type === "parallel" ? ' stroke-dasharray="6 3"' : ""
    const loops = selfLoops.get(n.node.id) ?? []
    const title = loops.length === 0 ? "" : `<title>${escapeXml(loops.join("\n"))}</title>`
    out.push(
      `<g class="vx-state vx-${n.node.type}" data-state="${escapeXml(n.node.id)}">${title}<rect x="${round(n.x)}" y="${round(n.y)}" width="${round(n.width)}" height="${round(n.height)}" rx="6" fill="${isLeaf ? "#fff" : "#f6f7fb"}" stroke="#667"${n.node.type === "final" ? ' stroke-width="3"' : ""}${dash}/>`,
    )
    const tx = isLeaf ? n.x + n.width / 2 : n.x + 10
    const ty = isLeaf ? n.y + n.height / 2 + 4 : n.y + 17
    const anchor = isLeaf ? "middle" : "start"
    const suffix = loops.length === 0 ? "" : ` ↻${loops.length}`
    out.push(
      `<text x="${round(tx)}" y="${round(ty)}" text-anchor="${anchor}" font-weight="${isLeaf ? "normal" : "bold"}">${escapeXml(n.node.key)}${suffix}</text></g>`,
    )
  }
  for (const e of layout.edges) {
    if (e.points.length < 2) continue
    const d = e.points.map((p, i) => `${i === 0 ? "M" : "L"}${round(p.x)},${round(p.y)}`).join(" ")
    out.push(
      `<g class="vx-edge" data-edge="${escapeXml(e.edge.id)}" data-event="${escapeXml(e.edge.eventType)}"><path d="${d}" fill="none" stroke="#555" marker-end="url(#vx-arrow)"/>`,
    )
    if (e.labelBox !== undefined) {
      out.push(
        `<text x="${round(e.labelBox.x)}" y="${round(e.labelBox.y + e.labelBox.height - 3)}" font-size="10" fill="#335">${escapeXml(e.edge.label)}</text>`,
      )
    }
    out.push("</g>")
  }
  out.push("</svg>")
  return out.join("\n")
}

const mermaidId = (id: string): string => id.replace(/[^A-Za-z0-9_]/g, "_")
const mermaidLabel = (text: string): string => text.replace(/[:;#]/g, " ").replace(/\s+/g, " ").trim()

/** Renders a chart as a Mermaid `stateDiagram-v2`. */
export const renderMermaid = (chart: Chart): string => {
  const lines = ["stateDiagram-v2"]
  const walk = (node: ChartNode, indent: string): void => {
    for (const [i, child] of node.children.entries()) {
      const id = mermaidId(child.id)
      lines.push(`${indent}state "${child.key}" as ${id}`)
      if (child.children.length > 0) {
        lines.push(`${indent}state ${id} {`)
        walk(child, `${indent}  `)
        lines.push(`${indent}}`)
      }
      if (node.type === "parallel" && i < node.children.length - 1) lines.push(`${indent}--`)
    }
    if (node.initial !== undefined) lines.push(`${indent}[*] --> ${mermaidId(node.initial)}`)
    for (const child of node.children) {
      if (child.type === "final") lines.push(`${indent}${mermaidId(child.id)} --> [*]`)
    }
  }
  walk(chart.root, "  ")
  for (const e of chart.edges) {
    if (e.source === chart.root.id && e.target === chart.root.id) continue
    lines.push(`  ${mermaidId(e.source)} --> ${mermaidId(e.target)}: ${mermaidLabel(e.label)}`)
  }
  return `${lines.join("\n")}\n`
}

/** A machine config in the JSON form `createMachine` and Stately Studio's import accept. */
export interface MachineConfigJson {
  readonly id?: string
  readonly type?: string
  readonly initial?: string
  readonly on?: Record<string, readonly { target?: string; guard?: string }[]>
  readonly always?: readonly { target?: string; guard?: string }[]
  readonly states?: Record<string, MachineConfigJson>
}

/** Renders a chart as a JSON machine config (targets as `#id` references). */
export const renderConfigJson = (chart: Chart): MachineConfigJson => {
  const bySource = new Map<string, Chart["edges"][number][]>()
  for (const e of chart.edges) bySource.set(e.source, [...(bySource.get(e.source) ?? []), e])
  const build = (node: ChartNode, isRoot: boolean): MachineConfigJson => {
    const on: Record<string, { target?: string; guard?: string }[]> = {}
    const always: { target?: string; guard?: string }[] = []
    for (const e of bySource.get(node.id) ?? []) {
      const t = {
        ...(e.target === e.source ? {} : { target: `#${e.target}` }),
        ...(e.guard === undefined ? {} : { guard: e.guard }),
      }
      if (e.event === "always") always.push(t)
      else on[e.event] = [...(on[e.event] ?? []), t]
    }
    const initialKey = node.children.find((c) => c.id === node.initial)?.key
    return {
      ...(isRoot ? { id: chart.machineId } : { id: node.id }),
      ...(node.type === "atomic" || node.type === "compound" ? {} : { type: node.type }),
      ...(initialKey === undefined ? {} : { initial: initialKey }),
      ...(Object.keys(on).length === 0 ? {} : { on }),
      ...(always.length === 0 ? {} : { always }),
      ...(node.children.length === 0
        ? {}
        : { states: Object.fromEntries(node.children.map((c) => [c.key, build(c, false)])) }),
    }
  }
  return build(chart.root, true)
}
