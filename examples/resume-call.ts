/**
 * A call moved to another process mid-conversation: the first process talks, checkpoints the
 * Realtime session into a SessionStore at each turn end, and is killed in the middle of its
 * next turn; a second process loads the checkpoint, resumes the call on a new connection (the
 * conversation re-created on the server) and carries on.
 *
 *   npm run example -- examples/resume-call.ts [--simulator] [--store DIR] [--sqlite]
 *
 * The checkpoints go to one JSON file per call in DIR (a temporary folder by default), or with
 * `--sqlite` to the SQLite database DIR/sessions.db.
 *
 * With OPENAI_API_KEY set it talks to OpenAI (text replies, to keep it short); otherwise, or
 * with `--simulator`, it starts the voxstate simulator in this process and both workers
 * connect to it. The checkpoint never holds the key: each worker reads it from its
 * environment.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { Effect, Option } from "effect"
import { SessionStore } from "voxstate/persist"
import { createRealtimeSession, type RealtimeSession, resumeRealtimeSession } from "voxstate/realtime"
import { startSimulator } from "voxstate/simulator"

const { values } = parseArgs({
  options: {
    simulator: { type: "boolean", default: false },
    sqlite: { type: "boolean", default: false },
    store: { type: "string" },
    worker: { type: "string" },
    "base-url": { type: "string" },
  },
})

const CALL_ID = "call-1"
const storeLayer = (dir: string) =>
  values.sqlite ? SessionStore.layerSqlite(join(dir, "sessions.db")) : SessionStore.layerFileSystem(dir)

const save = (dir: string, session: RealtimeSession) =>
  Effect.runPromise(
    SessionStore.use((store) => store.save(CALL_ID, session.persist())).pipe(Effect.provide(storeLayer(dir))),
  )

const load = (dir: string) =>
  Effect.runPromise(SessionStore.use((store) => store.load(CALL_ID)).pipe(Effect.provide(storeLayer(dir))))

/** Asks one question and waits for the whole answer; returns its transcript. */
const ask = async (session: RealtimeSession, text: string): Promise<string> => {
  session.sendText(text)
  session.createResponse()
  let answer = ""
  for await (const event of session) {
    if (event.type === "output_transcript" || event.type === "text")
      answer += event.type === "text" ? event.delta : (event.delta ?? "")
    if (event.type === "response_done") return answer
  }
  return answer
}

const endpoint = () => (values["base-url"] === undefined ? {} : { openai: { baseUrl: values["base-url"] } })

const settings = {
  instructions: "You are a restaurant's booking line. Answer in one short sentence.",
  outputModalities: ["text"] as const,
  turnDetection: null,
}

if (values.worker === "first") {
  const dir = values.store ?? ""
  const session = createRealtimeSession({ ...settings, ...endpoint() })
  console.log(`caller: A table for two tomorrow, please.`)
  console.log(`agent:  ${await ask(session, "A table for two tomorrow, please.")}`)
  await save(dir, session)
  console.log("[first process] checkpointed after turn 1; starting turn 2")
  session.sendText("Could it be by the window?")
  session.createResponse()
  // The parent kills this process now, in the middle of the turn.
  await new Promise(() => undefined)
} else if (values.worker === "resume") {
  const dir = values.store ?? ""
  const snapshot = await load(dir)
  if (Option.isNone(snapshot)) throw new Error("no checkpoint to resume")
  const session = resumeRealtimeSession(snapshot.value, endpoint())
  console.log(`[second process] resumed from the checkpoint taken at turn 1`)
  console.log(`caller: Could it be by the window?`)
  console.log(`agent:  ${await ask(session, "Could it be by the window?")}`)
  console.log("[second process] the conversation the server now holds:")
  for (const item of session.chatContext.items) {
    if (item.type === "message") console.log(`  ${item.role}: ${item.content}`)
  }
  await session.close()
} else {
  const live = !values.simulator && Boolean(process.env.OPENAI_API_KEY)
  console.error(
    live
      ? `Using OpenAI at ${process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1"} (a key is set; --simulator uses the local simulator instead).`
      : `Using the voxstate simulator in this process (${values.simulator ? "--simulator" : "OPENAI_API_KEY is not set"}).`,
  )
  const sim = live
    ? undefined
    : await startSimulator({
        scenario: {
          replies: [
            { text: "Booked: a table for two tomorrow at seven." },
            { text: "A window seat it is." },
            { text: "Yes, by the window, for two, tomorrow at seven." },
          ],
        },
      })
  const dir = values.store ?? mkdtempSync(join(tmpdir(), "voxstate-resume-call-"))
  const self = fileURLToPath(import.meta.url)
  const env =
    sim === undefined ? process.env : { ...process.env, OPENAI_API_KEY: sim.apiKey ?? "sk-simulator" }
  const extra = sim === undefined ? [] : ["--base-url", sim.httpUrl]
  /**
   * Resolves once the second turn is under way: with the simulator here, when it has begun the
   * second response (so the turn the first process dies in is really in flight, however slow
   * this machine is); against OpenAI, 50 ms after the request.
   */
  const secondTurnBegun = async (): Promise<void> => {
    const deadline = Date.now() + 10_000
    const begun = () =>
      (sim?.connections ?? [])
        .flatMap((c) => c.sent)
        .filter((e) => (e as { type?: string }).type === "response.created").length >= 2
    await new Promise((resolve) => setTimeout(resolve, 50))
    while (sim !== undefined && !begun() && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const runWorker = (mode: string, onLine: (line: string) => void) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          ...process.execArgv,
          self,
          "--worker",
          mode,
          "--store",
          dir,
          ...(values.sqlite ? ["--sqlite"] : []),
          ...extra,
        ],
        {
          env,
          stdio: ["ignore", "pipe", "inherit"],
        },
      )
      let pending = ""
      child.stdout.setEncoding("utf8")
      child.stdout.on("data", (chunk: string) => {
        pending += chunk
        const lines = pending.split("\n")
        pending = lines.pop() ?? ""
        for (const line of lines) {
          console.log(line)
          onLine(line)
          if (line.startsWith("[first process] checkpointed")) {
            // Mid-call: the second turn is on its way when the process dies.
            void secondTurnBegun().then(() => child.kill("SIGKILL"))
          }
        }
      })
      child.on("error", reject)
      child.on("exit", (code, signal) => resolve({ code, signal }))
    })
  const first = await runWorker("first", () => undefined)
  console.log(`[parent] the first process ended with ${first.signal ?? `code ${first.code}`}`)
  const second = await runWorker("resume", () => undefined)
  await sim?.close()
  if (values.store === undefined) rmSync(dir, { recursive: true, force: true })
  if (second.code !== 0) {
    console.error("resume-call: the second process failed")
    process.exit(1)
  }
}
