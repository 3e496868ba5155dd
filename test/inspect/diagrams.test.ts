/**
 * The README's diagrams (docs/diagrams/<machine>.svg) are what `voxstate diagram MACHINE`
 * draws today: a machine changed without its picture fails here.
 * `UPDATE_DIAGRAMS=1 npx vitest run test/inspect/diagrams.test.ts` writes them again.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { main } from "../../src/cli.ts"
import { KNOWN_MACHINES } from "../../src/inspect/index.ts"

const DIR = join(import.meta.dirname, "../../docs/diagrams")
const update = process.env.UPDATE_DIAGRAMS === "1"

describe("the README's diagrams", () => {
  for (const name of Object.keys(KNOWN_MACHINES)) {
    it(`docs/diagrams/${name}.svg is voxstate diagram ${name}`, async () => {
      const out: string[] = []
      const output = { out: (l: string) => out.push(l), err: (l: string) => out.push(`ERR ${l}`) }
      expect(await main(["diagram", name, "--format", "svg"], output)).toBe(0)
      const svg = `${out.join("\n")}\n`
      const file = join(DIR, `${name}.svg`)
      if (update) writeFileSync(file, svg)
      expect(existsSync(file), `${file} is missing: UPDATE_DIAGRAMS=1 writes it`).toBe(true)
      expect(readFileSync(file, "utf8"), `${file} is stale: UPDATE_DIAGRAMS=1 regenerates it`).toBe(svg)
    })
  }
})
