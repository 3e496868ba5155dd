/**
 * The inspector's chart side: a machine's chart read from its definition, laid out with ELK,
 * exported as SVG, Mermaid or a JSON machine config.
 * @module
 */
export { type Chart, type ChartEdge, type ChartNode, type ChartNodeType, chartOf, nodesOf } from "./chart.ts"
export { DIAGRAM_FORMATS, type DiagramFormat, diagramOf } from "./diagram.ts"
export {
  createInspector,
  type Inspector,
  type InspectorOptions,
  type InspectorRecord,
  type InspectorRecordKind,
} from "./inspector.ts"
export { type Box, type ChartLayout, type LaidEdge, type LaidNode, layoutChart } from "./layout.ts"
export { KNOWN_MACHINES, knownMachineById } from "./machines.ts"
export { PAGE_HTML } from "./page.ts"
export { INSPECT_ENV, inspectRequested } from "./processInspector.ts"
export { type RedactOptions, redact, scrubText } from "./redact.ts"
export { type MachineConfigJson, renderConfigJson, renderMermaid, renderSvg } from "./render.ts"
export { formatInspectorLog, InspectorLogError, parseInspectorLog } from "./savedLog.ts"
export {
  createStatelyForwarder,
  STATELY_PROTOCOL_VERSION,
  type StatelyForwarder,
  type StatelyForwarderOptions,
  type StatelyForwarderStatus,
} from "./stately.ts"
