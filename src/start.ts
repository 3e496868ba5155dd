/**
 * `npm start`: the demo call (see src/agent/demo.ts).
 * @module
 */
import { runDemo } from "./agent/demo.ts"

runDemo().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exitCode = 1
})
