/**
 * The simulator's log (`voxstate simulate --log`): one line per HTTP request with its status
 * and the error's code and message, per WebSocket connection opened, refused or closed, and
 * per `error` event sent, so a client's 400 leaves a trace on the simulator's side.
 */
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { startSimulator } from "../../src/simulator/index.ts"
import type { Simulator } from "../../src/simulator/types.ts"

const simulators: Simulator[] = []
afterEach(async () => {
  await Promise.all(simulators.splice(0).map((s) => s.close()))
})

/** How long a log line may take to appear. */
const LOG_LINE_TIMEOUT_MS = 5_000

/** Waits until `lines` holds one matching `pattern`, at most {@link LOG_LINE_TIMEOUT_MS}. */
const lineMatching = async (lines: readonly string[], pattern: RegExp): Promise<string> => {
  const deadline = Date.now() + LOG_LINE_TIMEOUT_MS
  for (;;) {
    const line = lines.find((l) => pattern.test(l))
    if (line !== undefined) return line
    if (Date.now() > deadline) throw new Error(`no log line matching ${pattern} in:\n${lines.join("\n")}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe("the simulator's log", () => {
  it("traces requests, refusals, connections and error events", async () => {
    const lines: string[] = []
    const sim = await startSimulator({ log: (line) => lines.push(line) })
    simulators.push(sim)
    const auth = { authorization: `Bearer ${sim.apiKey}` }
    const bad = await fetch(`${sim.httpUrl}/audio/speech`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini-tts", voice: "nobody", input: "hi" }),
    })
    expect(bad.status).toBe(400)
    await bad.text()
    expect(await lineMatching(lines, /POST \/v1\/audio\/speech/)).toMatch(
      /^#1 POST \/v1\/audio\/speech → 400 in \d+ ms invalid_value: Invalid value: 'nobody'/,
    )
    await (await fetch(`${sim.httpUrl}/models`, { headers: auth })).text()
    expect(await lineMatching(lines, /GET \/v1\/models/)).toMatch(/^#2 GET \/v1\/models → 200 in \d+ ms$/)

    const refused = new WebSocket(`${sim.url}/realtime?intent=transcription`)
    await new Promise((resolve) => refused.once("unexpected-response", resolve))
    expect(await lineMatching(lines, /refused 401/)).toMatch(
      /^#3 transcription upgrade \/v1\/realtime\?intent=transcription → refused 401 /,
    )

    const ws = new WebSocket(`${sim.url}/realtime?intent=transcription`, { headers: auth })
    await new Promise((resolve) => ws.once("open", resolve))
    ws.send(JSON.stringify({ type: "session.update", session: { type: "transcription", include: ["nope"] } }))
    expect(await lineMatching(lines, /sent error/)).toMatch(/^#4 transcription sent error invalid_value: /)
    ws.close(1000)
    expect(await lineMatching(lines, /closed/)).toBe("#4 transcription closed 1000")
    expect(lines.some((l) => l.includes(sim.apiKey ?? "sk-simulator"))).toBe(false)
  })
})
