/**
 * Runs every benchmark module in bench/ (each default-exports an async function that
 * prints its figures). `npm run bench` runs them all; `npm run bench -- resampler`
 * runs those whose file name contains the word.
 */
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const filter = process.argv.slice(2)
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filter.length === 0 || filter.some((w) => f.includes(w)))
  .sort()

for (const file of files) {
  console.log(`\n## ${file.replace(/\.bench\.ts$/, "")}`)
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: () => Promise<void> }
  await mod.default()
}
