import { describe, expect, it } from "@effect/vitest"
import { createMachine } from "xstate"
import {
  type Box,
  chartOf,
  diagramOf,
  KNOWN_MACHINES,
  layoutChart,
  nodesOf,
  renderConfigJson,
  renderMermaid,
} from "../../src/inspect/index.ts"

const overlaps = (a: Box, b: Box): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height

const inside = (child: Box, parent: Box): boolean =>
  child.x >= parent.x - 0.5 &&
  child.y >= parent.y - 0.5 &&
  child.x + child.width <= parent.x + parent.width + 0.5 &&
  child.y + child.height <= parent.y + parent.height + 0.5

describe("chart model", () => {
  const toy = createMachine({
    id: "toy",
    initial: "idle",
    states: {
      idle: { on: { GO: { target: "busy", guard: "ready" } } },
      busy: {
        type: "parallel",
        on: { STOP: "done" },
        states: {
          a: { initial: "x", states: { x: { after: { 500: "y" } }, y: {} } },
          b: { initial: "p", states: { p: { always: "q" }, q: {} } },
        },
      },
      done: { type: "final" },
    },
  })

  it("reads states, regions, events and guards from the definition", () => {
    const chart = chartOf(toy)
    const ids = nodesOf(chart).map((n) => `${n.id}:${n.type}`)
    expect(ids).toEqual([
      "toy:compound",
      "toy.idle:atomic",
      "toy.busy:parallel",
      "toy.busy.a:compound",
      "toy.busy.a.x:atomic",
      "toy.busy.a.y:atomic",
      "toy.busy.b:compound",
      "toy.busy.b.p:atomic",
      "toy.busy.b.q:atomic",
      "toy.done:final",
    ])
    const labels = chart.edges.map((e) => `${e.source} -${e.label}-> ${e.target}`)
    expect(labels).toContain("toy.idle -GO [ready]-> toy.busy")
    expect(labels).toContain("toy.busy -STOP-> toy.done")
    expect(labels).toContain("toy.busy.a.x -after 500-> toy.busy.a.y")
    expect(labels).toContain("toy.busy.b.p -always-> toy.busy.b.q")
  })

  it("exports Mermaid with nesting, parallel separators and labelled transitions", () => {
    const text = renderMermaid(chartOf(toy))
    expect(text.startsWith("stateDiagram-v2\n")).toBe(true)
    expect(text).toContain("state toy_busy {")
    expect(text).toContain("--")
    expect(text).toContain("toy_idle --> toy_busy: GO [ready]")
    expect(text).toContain("[*] --> toy_idle")
    expect(text).toContain("toy_done --> [*]")
  })

  it("exports a JSON config that createMachine accepts and that has the same chart", () => {
    const json = renderConfigJson(chartOf(toy))
    const copy = createMachine(JSON.parse(JSON.stringify(json)), {
      guards: { ready: () => true },
    } as never)
    const a = chartOf(toy)
    const b = chartOf(copy as never)
    expect(nodesOf(b).map((n) => n.id)).toEqual(nodesOf(a).map((n) => n.id))
    const key = (e: { source: string; target: string; event: string; guard: string | undefined }) =>
      `${e.source}|${e.target}|${e.event}|${e.guard}`
    expect(b.edges.map(key).sort()).toEqual(a.edges.map(key).sort())
  })

  for (const [name, machine] of Object.entries(KNOWN_MACHINES)) {
    it(`lays ${name} out with no overlapping states, children inside their parents`, async () => {
      const layout = await layoutChart(chartOf(machine))
      const all = nodesOf(layout.chart)
      expect(layout.nodes.length).toBe(all.length)
      const boxOf = new Map(layout.nodes.map((n) => [n.node.id, n]))
      for (const n of layout.nodes) {
        expect(n.width).toBeGreaterThan(0)
        expect(n.height).toBeGreaterThan(0)
        const children = n.node.children.map((c) => boxOf.get(c.id)!)
        for (const c of children) expect(inside(c, n), `${c.node.id} inside ${n.node.id}`).toBe(true)
        for (let i = 0; i < children.length; i++) {
          for (let j = i + 1; j < children.length; j++) {
            const a = children[i]!
            const b = children[j]!
            expect(overlaps(a, b), `${a.node.id} overlaps ${b.node.id}`).toBe(false)
          }
        }
      }
      const drawn = layout.chart.edges.filter((e) => e.source !== e.target)
      expect(layout.edges.length).toBe(drawn.length)
      for (const e of layout.edges) expect(e.points.length).toBeGreaterThanOrEqual(2)
    })

    it(`renders ${name} as SVG with a box per state`, async () => {
      const svg = await diagramOf(machine, "svg")
      for (const n of nodesOf(chartOf(machine))) expect(svg).toContain(`data-state="${n.id}"`)
      expect(svg.startsWith("<svg")).toBe(true)
    })
  }
})
