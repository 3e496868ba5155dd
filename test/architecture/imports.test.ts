/**
 * The layering, checked on the source: machines import only src/audio, src/protocol and
 * other machines, and no module of the library imports itself back through a circle of
 * imports (type-only imports included: a circle of types is still two modules that cannot
 * be understood apart).
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

const sourceFiles = (dir: string): string[] =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path)
    return name.endsWith(".ts") ? [path] : []
  })

/** Relative imports and re-exports of a module (static `import`/`export ... from` and `import()`). */
const importsOf = (file: string): string[] => {
  const text = readFileSync(join(root, file), "utf8")
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']/gm),
    ...text.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1] ?? "")
  return specifiers
    .filter((s) => s.startsWith("."))
    .map((s) =>
      relative(root, resolve(root, dirname(file), s))
        .split("\\")
        .join("/"),
    )
}

const library = [...sourceFiles("machines"), ...sourceFiles("src")].map((f) => f.split("\\").join("/"))
const graph = new Map(library.map((file) => [file, importsOf(file)]))

/** Every import circle, each as the path that closes it (Tarjan's strongly connected components). */
const circles = (): string[][] => {
  let index = 0
  const indexOf = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (node: string): void => {
    indexOf.set(node, index)
    low.set(node, index)
    index++
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue
      if (!indexOf.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indexOf.get(next)!))
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = []
      let member: string | undefined
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort())
    }
  }
  for (const node of graph.keys()) if (!indexOf.has(node)) visit(node)
  return found
}

describe("the layering", () => {
  it("reads every module of the library", () => {
    expect(library.length).toBeGreaterThan(50)
    expect(graph.get("machines/transcription/transcriptionSession.ts")?.length).toBeGreaterThan(0)
  })

  it("lets machines import only src/audio, src/protocol and other machines", () => {
    const allowed = (target: string): boolean =>
      target.startsWith("machines/") || target.startsWith("src/audio/") || target.startsWith("src/protocol/")
    const offending = [...graph]
      .filter(([file]) => file.startsWith("machines/"))
      .flatMap(([file, targets]) => targets.filter((t) => !allowed(t)).map((t) => `${file} -> ${t}`))
    expect(offending).toEqual([])
  })

  it("keeps the leaves (audio, protocol) free of everything above them", () => {
    const offending = [...graph]
      .filter(([file]) => file.startsWith("src/audio/") || file.startsWith("src/protocol/"))
      .flatMap(([file, targets]) =>
        targets
          .filter((t) => !t.startsWith("src/audio/") && !t.startsWith("src/protocol/"))
          .map((t) => `${file} -> ${t}`),
      )
    expect(offending).toEqual([])
  })

  it("keeps what every capability shares (transport, clock, runtime, telemetry) free of the capabilities", () => {
    const shared = ["src/transport/", "src/clock/", "src/runtime/", "src/telemetry/"]
    const capabilities = ["src/stt/", "src/llm/", "src/realtime/", "src/simulator/", "src/testing/"]
    const offending = [...graph]
      .filter(([file]) => shared.some((dir) => file.startsWith(dir)))
      .flatMap(([file, targets]) =>
        targets.filter((t) => capabilities.some((dir) => t.startsWith(dir))).map((t) => `${file} -> ${t}`),
      )
    expect(offending).toEqual([])
  })

  it("has no import circle anywhere in src/ or machines/", () => {
    expect(circles()).toEqual([])
  })

  it("lists the public names of each folder's index.ts (no export *)", () => {
    const indexes = library.filter((f) => f.endsWith("/index.ts") && f !== "src/index.ts")
    expect(indexes.length).toBeGreaterThan(8)
    const wildcard = indexes.filter((f) =>
      /^\s*export\s+(type\s+)?\*\s+from/m.test(readFileSync(join(root, f), "utf8")),
    )
    expect(wildcard).toEqual([])
  })

  it("finds a circle when there is one", () => {
    graph.set("machines/a.ts", ["machines/b.ts"])
    graph.set("machines/b.ts", ["machines/a.ts"])
    try {
      expect(circles()).toContainEqual(["machines/a.ts", "machines/b.ts"])
    } finally {
      graph.delete("machines/a.ts")
      graph.delete("machines/b.ts")
    }
  })
})
