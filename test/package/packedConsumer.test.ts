/**
 * The package as a consumer gets it: `npm pack` of this repository, unpacked into a fresh
 * project in a temporary folder whose `node_modules` holds only the tarball's contents and the
 * package's `dependencies` (linked from this repository's install: no registry is asked), and
 * `@types/node`. The project type-checks strictly (`strict`, `skipLibCheck: false`, `nodenext`)
 * a file importing every entry point and the examples copied from `examples/` as they are;
 * then it runs that file and each example against the in-process simulator (`--simulator`).
 * A public `.d.ts` that needs a devDependency's types fails here.
 */
import { execFile } from "node:child_process"
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const run = promisify(execFile)
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

/** How long `npm pack` (with its build) may take. */
const PACK_TIMEOUT_MS = 180_000
/** How long the consumer's type-check may take. */
const TYPECHECK_TIMEOUT_MS = 180_000
/** How long one example may run against the simulator. */
const EXAMPLE_TIMEOUT_MS = 60_000

const ENTRY_POINTS = [
  "voxstate",
  "voxstate/audio",
  "voxstate/protocol",
  "voxstate/transport",
  "voxstate/stt",
  "voxstate/llm",
  "voxstate/tts",
  "voxstate/realtime",
  "voxstate/machines",
  "voxstate/simulator",
  "voxstate/testing",
  "voxstate/agent",
  "voxstate/inspect",
]

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    // No "lib": the target's default (with DOM), which effect's .d.ts need (CryptoKey, JsonWebKey).
    target: "ES2023",
    module: "nodenext",
    moduleResolution: "nodenext",
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    types: ["node"],
    verbatimModuleSyntax: true,
    erasableSyntaxOnly: true,
  },
  include: ["*.ts", "examples/*.ts"],
}

/** A file that imports every entry point and uses a value of each, typed. */
const CONSUMER_SOURCE = `${ENTRY_POINTS.map((name, i) => `import * as entry${i} from "${name}"`).join("\n")}
import { createFakeTTS } from "voxstate/testing"
import { startSimulator, type Simulator } from "voxstate/simulator"
import { createBatchSTT, makeAudioFrame, type AudioFrame } from "voxstate"

const entries: Record<string, object> = { ${ENTRY_POINTS.map((name, i) => `"${name}": entry${i}`).join(", ")} }
for (const [name, entry] of Object.entries(entries)) {
  if (Object.keys(entry).length === 0) throw new Error(\`\${name} exports nothing\`)
}
const sim: Simulator = await startSimulator({ scenario: { transcripts: ["packed and working"] } })
const stt = createBatchSTT({ model: "whisper-1", openai: { apiKey: sim.apiKey ?? "", baseUrl: sim.httpUrl }, env: {} })
const tone = new Int16Array(24_000).map((_, i) => Math.round(8000 * Math.sin(i / 10)))
const frame: AudioFrame = makeAudioFrame(tone, 24_000, 1)
const result = await stt.recognize(frame)
const fake = createFakeTTS()
await fake.close()
await sim.close()
console.log(\`consumer: \${Object.keys(entries).length} entry points, transcript "\${result.text}"\`)
`

let project = ""
let root = ""

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "voxstate-consumer-"))
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", root], {
    cwd: REPO,
    timeout: PACK_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  })
  const [packed] = JSON.parse(stdout) as { filename: string }[]
  project = join(root, "project")
  const unpacked = join(project, "node_modules", "voxstate")
  mkdirSync(unpacked, { recursive: true })
  await run("tar", ["-xzf", join(root, packed!.filename), "-C", unpacked, "--strip-components=1"])
  const manifest = JSON.parse(readFileSync(join(unpacked, "package.json"), "utf8")) as {
    dependencies: Record<string, string>
  }
  // The package's dependencies and the consumer's own @types/node, from this repository's install.
  for (const name of [...Object.keys(manifest.dependencies), "@types/node"]) {
    const link = join(project, "node_modules", name)
    mkdirSync(dirname(link), { recursive: true })
    symlinkSync(join(REPO, "node_modules", name), link, "dir")
  }
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({
      name: "consumer",
      private: true,
      type: "module",
      dependencies: { voxstate: packed!.filename },
    }),
  )
  writeFileSync(join(project, "tsconfig.json"), JSON.stringify(CONSUMER_TSCONFIG, null, 2))
  writeFileSync(join(project, "consumer.ts"), CONSUMER_SOURCE)
  cpSync(join(REPO, "examples"), join(project, "examples"), { recursive: true })
}, PACK_TIMEOUT_MS + 30_000)

afterAll(() => {
  if (root !== "") rmSync(root, { recursive: true, force: true })
})

describe("the packed package in a fresh consumer project", () => {
  it(
    "ships only dist, the README and the LICENSE, and its dependencies resolve every public type",
    async () => {
      const files = readdirSync(join(project, "node_modules", "voxstate")).sort()
      expect(files).toEqual(["LICENSE", "README.md", "dist", "package.json"])
      const tsc = join(REPO, "node_modules", "typescript", "bin", "tsc")
      const result = await run(process.execPath, [tsc, "-p", project, "--pretty", "false"], {
        cwd: project,
        timeout: TYPECHECK_TIMEOUT_MS,
      }).catch((error: { stdout?: string; stderr?: string }) => ({
        stdout: error.stdout ?? "",
        stderr: error.stderr ?? String(error),
      }))
      expect(`${result.stdout}${result.stderr}`.trim()).toBe("")
    },
    TYPECHECK_TIMEOUT_MS + 10_000,
  )

  it(
    "runs a program using every entry point",
    async () => {
      const { stdout } = await run(process.execPath, ["consumer.ts"], {
        cwd: project,
        timeout: EXAMPLE_TIMEOUT_MS,
      })
      expect(stdout).toContain(
        `consumer: ${ENTRY_POINTS.length} entry points, transcript "packed and working"`,
      )
    },
    EXAMPLE_TIMEOUT_MS + 10_000,
  )

  for (const example of readdirSync(join(REPO, "examples")).filter((f) => f.endsWith(".ts"))) {
    it(
      `runs examples/${example} copied as it is, against the simulator even with a key exported`,
      async () => {
        const { stderr } = await run(process.execPath, [join("examples", example), "--simulator"], {
          cwd: project,
          timeout: EXAMPLE_TIMEOUT_MS,
          env: { ...process.env, OPENAI_API_KEY: "sk-not-used" },
        })
        expect(stderr.split("\n")[0]).toBe("Using the voxstate simulator in this process (--simulator).")
      },
      EXAMPLE_TIMEOUT_MS + 10_000,
    )
  }

  it(
    "answers bad input with one line, not a stack trace",
    async () => {
      const failure = await run(process.execPath, [join("examples", "transcribe-file.ts"), "missing.wav"], {
        cwd: project,
        timeout: EXAMPLE_TIMEOUT_MS,
      }).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      )
      expect(failure?.code).toBe(1)
      const lines = (failure?.stderr ?? "").trim().split("\n")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^transcribe-file: ENOENT: no such file or directory/)
    },
    EXAMPLE_TIMEOUT_MS + 10_000,
  )
})
