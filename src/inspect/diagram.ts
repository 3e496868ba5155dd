/**
 * One call from a machine to its diagram in a chosen format.
 * @module
 */
import type { AnyStateMachine } from "xstate"
import { chartOf } from "./chart.ts"
import { layoutChart } from "./layout.ts"
import { renderConfigJson, renderMermaid, renderSvg } from "./render.ts"

/** The formats a diagram is exported in. */
export const DIAGRAM_FORMATS = ["svg", "mermaid", "json"] as const
/** One of {@link DIAGRAM_FORMATS}. */
export type DiagramFormat = (typeof DIAGRAM_FORMATS)[number]

/** The diagram of `machine` as SVG, Mermaid or a JSON machine config. */
export const diagramOf = async (machine: AnyStateMachine, format: DiagramFormat): Promise<string> => {
  const chart = chartOf(machine)
  switch (format) {
    case "svg":
      return renderSvg(await layoutChart(chart))
    case "mermaid":
      return renderMermaid(chart)
    case "json":
      return `${JSON.stringify(renderConfigJson(chart), null, 2)}\n`
  }
}
