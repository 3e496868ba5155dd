/**
 * Seeded chaos tests of the Responses WebSocket chain (`createLLM`, transport `websocket`):
 * a conversation of several turns on real sockets against the simulator, while the first
 * connections misbehave (a 1006 close before or after output, a request refused with
 * `previous_response_not_found`, `rate_limit_exceeded` with a `retry-after-ms`, or
 * `websocket_connection_limit_reached`, a cap error that closes the socket, slow deltas) and
 * the caller cancels some turns (at once, after a few chunks, by an abort signal, or by
 * leaving the loop).
 *
 * The simulator's reply names the turn and the response that answers it (`T3R07 …`), so the
 * text a caller sees tells which response it came from. Every seed must hold: each turn
 * completes with the whole reply of one response to that turn, or is cancelled or fails with a
 * typed `LLMError`, having seen only a beginning of one such reply (no stale delta of another
 * turn, no text of two responses); no turn hangs; a turn is sent at most twice, and no response
 * to a turn starts after one whose text reached the caller (never replayed after output);
 * `close()` leaves no connection open and no handle in the process.
 *
 * Everything but socket timing follows from the seed. Reproduce one with
 * `CHAOS_SEEDS=2005 npx vitest run test/chaos/responsesChain`.
 */
import { assert, describe, it } from "vitest"
import type { ChatChunk } from "../../machines/responses/chunks.ts"
import { ChatContext } from "../../src/llm/ChatContext.ts"
import { createLLM } from "../../src/llm/LLM.ts"
import { isLLMError, type LLMError } from "../../src/llm/LLMError.ts"
import {
  type ConnectionFault,
  type ConnectionScript,
  createRandom,
  fallbackReply,
  type ReplyRequest,
  type Simulator,
  startSimulator,
} from "../../src/simulator/index.ts"
import { eventually, handlesBackTo, settledHandles } from "../stt/transcriptionSessionHelpers.ts"
import { chaosSeeds, pick, randomInt, withDeadline } from "./chaosHelpers.ts"

/** How the caller cancels a turn, if it does. */
type Cancel =
  | { readonly kind: "none" }
  | { readonly kind: "atOnce" }
  | { readonly kind: "afterChunks"; readonly chunks: number; readonly how: "cancel" | "abort" | "leave" }

interface PlannedFault {
  readonly fault: ConnectionFault
  readonly label: string
}

interface ChainPlan {
  readonly seed: number
  readonly turns: number
  readonly store: boolean
  /** Scripts of the first connections, in order. */
  readonly connections: readonly {
    readonly faults: readonly PlannedFault[]
    readonly betweenDeltasMs: number
  }[]
  readonly cancels: readonly Cancel[]
}

/** Server error codes a fault may make a turn fail with. */
const INJECTED_CODES = new Set([
  "previous_response_not_found",
  "rate_limit_exceeded",
  "websocket_connection_limit_reached",
])

const VOCABULARY = [
  "amber",
  "basalt",
  "cedar",
  "dune",
  "ember",
  "fjord",
  "granite",
  "heath",
  "iris",
  "juniper",
]

const planFault = (random: () => number): PlannedFault => {
  const nth = randomInt(random, 1, 3)
  const r = random()
  if (r < 0.3) {
    const afterEvents = randomInt(random, 1, 14)
    return {
      fault: { type: "close", code: 1006, afterEvents },
      label: `close 1006 after ${afterEvents} events`,
    }
  }
  if (r < 0.42) {
    return {
      fault: { type: "close", code: 1006, afterClientEvents: nth, onType: "response.create" },
      label: `close 1006 at create #${nth}`,
    }
  }
  if (r < 0.6) {
    return {
      fault: {
        type: "refuse",
        onType: "response.create",
        afterClientEvents: nth,
        code: "previous_response_not_found",
        param: "previous_response_id",
      },
      label: `refuse create #${nth}: previous_response_not_found`,
    }
  }
  if (r < 0.8) {
    // Mostly a short wait the chain sits out; sometimes longer than it will wait (5 s).
    const waitMs = random() < 0.75 ? randomInt(random, 1, 40) : 30_000
    return {
      fault: {
        type: "refuse",
        onType: "response.create",
        afterClientEvents: nth,
        code: "rate_limit_exceeded",
        status: 429,
        headers: { "retry-after-ms": String(waitMs) },
      },
      label: `refuse create #${nth}: rate_limit_exceeded, retry after ${waitMs} ms`,
    }
  }
  if (r < 0.9) {
    return {
      fault: {
        type: "refuse",
        onType: "response.create",
        afterClientEvents: nth,
        code: "websocket_connection_limit_reached",
      },
      label: `refuse create #${nth}: websocket_connection_limit_reached`,
    }
  }
  return {
    fault: {
      type: "error",
      code: "websocket_connection_limit_reached",
      afterClientEvents: nth,
      onType: "response.create",
      closeCode: 1000,
    },
    label: `at create #${nth}: websocket_connection_limit_reached + close 1000`,
  }
}

const planCancel = (random: () => number): Cancel => {
  const r = random()
  if (r < 0.72) return { kind: "none" }
  if (r < 0.8) return { kind: "atOnce" }
  return {
    kind: "afterChunks",
    chunks: randomInt(random, 1, 4),
    how: pick(random, ["cancel", "abort", "leave"] as const),
  }
}

const planRun = (seed: number): ChainPlan => {
  const random = createRandom(seed)
  const turns = randomInt(random, 4, 8)
  const connectionCount = pick(random, [0, 1, 1, 2, 2, 3, 4])
  const connections = Array.from({ length: connectionCount }, () => ({
    faults: Array.from({ length: randomInt(random, 1, 2) }, () => planFault(random)),
    betweenDeltasMs: random() < 0.4 ? randomInt(random, 1, 3) : 0,
  }))
  return {
    seed,
    turns,
    store: random() < 0.3,
    connections,
    cancels: Array.from({ length: turns }, () => planCancel(random)),
  }
}

const describeCancel = (cancel: Cancel): string =>
  cancel.kind === "afterChunks" ? `${cancel.how} after ${cancel.chunks}` : cancel.kind

const describePlan = (plan: ChainPlan): string =>
  [
    `seed ${plan.seed}: ${plan.turns} turns, store ${plan.store}`,
    ...plan.connections.map(
      (c, i) =>
        `connection #${i + 1}: ${c.faults.map((f) => f.label).join("; ")}${c.betweenDeltasMs > 0 ? `; ${c.betweenDeltasMs} ms between deltas` : ""}`,
    ),
    `cancels: ${plan.cancels.map((c, i) => `${i}:${describeCancel(c)}`).join(" ")}`,
  ].join("\n")

/** The turn a request or a reply is about: its user message says `turn N`. */
const turnOfInput = (input: readonly unknown[]): number | undefined => {
  const said = fallbackReply({ index: 0, input })
  const match = "text" in said ? /^You said: turn (\d+)$/.exec(said.text) : null
  return match === null ? undefined : Number(match[1])
}

/** The scripted reply of response `index` to turn `turn`: a tag naming both, then words. */
const replyText = (seed: number, turn: number, index: number): string => {
  const random = createRandom(seed * 1_000 + index)
  const words = Array.from({ length: randomInt(random, 5, 12) }, () => pick(random, VOCABULARY))
  return [`T${turn}R${String(index).padStart(3, "0")}`, ...words].join(" ")
}

/** The response a text came from, by its tag (`undefined` before the tag was seen whole). */
const responseOfText = (text: string): { turn: number; index: number } | undefined => {
  const match = /^T(\d+)R(\d{3})( |$)/.exec(text)
  return match === null ? undefined : { turn: Number(match[1]), index: Number(match[2]) }
}

/** What became of one turn, as the caller saw it. */
interface TurnOutcome {
  readonly turn: number
  readonly text: string
  readonly end: Extract<ChatChunk, { type: "end" }> | undefined
  readonly error: LLMError | undefined
  /** The caller left the loop (no end chunk to see). */
  readonly left: boolean
}

/** Runs one turn as planned: reads it, cancelling when told to. */
const runTurn = async (
  llm: ReturnType<typeof createLLM>,
  context: ChatContext,
  turn: number,
  cancel: Cancel,
): Promise<TurnOutcome> => {
  const controller = new AbortController()
  const stream = llm.chat(context, { signal: controller.signal })
  if (cancel.kind === "atOnce") stream.cancel()
  let text = ""
  let end: TurnOutcome["end"]
  let chunks = 0
  try {
    for await (const chunk of stream) {
      if (chunk.type === "text") text += chunk.delta
      if (chunk.type === "end") end = chunk
      chunks++
      if (cancel.kind === "afterChunks" && chunks === cancel.chunks && chunk.type !== "end") {
        if (cancel.how === "leave") return { turn, text, end, error: undefined, left: true }
        if (cancel.how === "cancel") stream.cancel()
        else controller.abort()
      }
    }
  } catch (error) {
    if (!isLLMError(error)) throw error
    return { turn, text, end, error, left: false }
  }
  return { turn, text, end, error: undefined, left: false }
}

const summarize = (plan: ChainPlan, sim: Simulator, outcomes: readonly TurnOutcome[]): string =>
  [
    describePlan(plan),
    ...outcomes.map(
      (o) =>
        `turn ${o.turn}: ${o.error === undefined ? (o.left ? "left" : (o.end?.status ?? "no end")) : `failed ${o.error.reason._tag}${"code" in o.error.reason ? ` ${o.error.reason.code}` : ""}`} "${o.text}"`,
    ),
    ...sim.connections
      .filter((c) => c.kind === "responses")
      .map(
        (c) =>
          `#${c.id} ${c.open ? "open" : `closed ${c.closeCode}`}: received ${c.received
            .map((e) => `${e.type.replace(/^response\./, "")}${e.refused === true ? "(refused)" : ""}`)
            .join(" ")}`,
      ),
  ].join("\n")

describe("Responses chain under seeded network chaos", () => {
  for (const seed of chaosSeeds(2_000, 20)) {
    const plan = planRun(seed)
    it(`seed ${seed} (${plan.turns} turns, faulty connections: ${plan.connections.length}): each turn its own reply or a typed error; no replay after output; no leak`, async () => {
      const baseline = await settledHandles()
      /** Which turn each started response answers, by response index. */
      const responses = new Map<number, number>()
      const sim = await startSimulator({
        seed,
        scenario: {
          replies: (request: ReplyRequest) => {
            const turn = turnOfInput(request.input)
            if (turn === undefined) throw new Error("a request without a turn")
            responses.set(request.index, turn)
            return { text: replyText(seed, turn, request.index) }
          },
        },
      })
      const outcomes: TurnOutcome[] = []
      const llm = createLLM({
        transport: "websocket",
        openai: { apiKey: sim.apiKey ?? "sk-simulator", baseUrl: sim.httpUrl },
        env: {},
        store: plan.store,
        onWarning: () => undefined,
      })
      const report = () => summarize(plan, sim, outcomes)
      try {
        for (const connection of plan.connections) {
          const script: ConnectionScript = {
            faults: connection.faults.map((f) => f.fault),
            ...(connection.betweenDeltasMs > 0
              ? { latency: { betweenDeltasMs: connection.betweenDeltasMs } }
              : {}),
          }
          sim.scenario.nextConnection("responses", script)
        }
        const context = new ChatContext([{ role: "system", content: "Answer with the scripted words." }])
        for (let turn = 0; turn < plan.turns; turn++) {
          context.addUser(`turn ${turn}`)
          const cancel = plan.cancels[turn] ?? { kind: "none" }
          const outcome = await withDeadline(runTurn(llm, context, turn, cancel), 10_000, report)
          outcomes.push(outcome)
          if (outcome.end !== undefined) context.addOutput(outcome.end.output)
        }

        const starts = (turn: number) =>
          [...responses].flatMap(([index, t]) => (t === turn ? [index] : [])).sort((a, b) => a - b)
        for (const outcome of outcomes) {
          const { turn, text, end, error, left } = outcome
          const where = `turn ${turn}\n${report()}`
          // Only ever a beginning of one reply to this very turn: no stale delta, no two responses.
          if (text !== "") {
            const source = responseOfText(text)
            const expected = source === undefined ? undefined : replyText(seed, turn, source.index)
            assert.isTrue(
              source !== undefined &&
                source.turn === turn &&
                responses.get(source.index) === turn &&
                expected?.startsWith(text) === true,
              `text of another turn or response: "${text}"\n${where}`,
            )
            // Never replayed after output: no response to this turn started after the one it saw.
            assert.strictEqual(
              source?.index,
              starts(turn).at(-1),
              `a response started after output\n${where}`,
            )
          }
          if (error !== undefined) {
            assert.include(["Server", "ConnectionLost", "Connect"], error.reason._tag, where)
            if (error.reason._tag === "Server")
              assert.isTrue(INJECTED_CODES.has(error.reason.code ?? ""), `unexpected code\n${where}`)
            if (error.reason._tag === "ConnectionLost")
              assert.strictEqual(error.reason.afterOutput, text !== "", `afterOutput\n${where}`)
            assert.isAtMost(error.attempts ?? 0, 2, where)
            continue
          }
          if (left) continue
          assert.isDefined(end, where)
          const cancelled = plan.cancels[turn]?.kind !== "none"
          if (end?.status === "completed") {
            const source = responseOfText(text)
            assert.strictEqual(text, source === undefined ? "?" : replyText(seed, turn, source.index), where)
          } else {
            // Only the caller ends a turn early here.
            assert.isTrue(cancelled && end?.status === "cancelled", `ended ${end?.status}\n${where}`)
          }
        }
        // A turn never goes out more than twice (one recovery), refused attempts included.
        const creates = new Map<number, number>()
        for (const connection of sim.connections) {
          for (const event of connection.received) {
            if (event.type !== "response.create") continue
            const input = (event.payload as { input?: unknown[] }).input ?? []
            const turn = turnOfInput(input)
            if (turn !== undefined) creates.set(turn, (creates.get(turn) ?? 0) + 1)
          }
        }
        for (const [turn, count] of creates)
          assert.isAtMost(count, 2, `turn ${turn} sent ${count} times\n${report()}`)
        // Faults end turns, nothing else: with none scripted, every turn not cancelled completes.
        if (plan.connections.length === 0)
          assert.isTrue(
            outcomes.every((o) => o.error === undefined),
            `a turn failed without a fault\n${report()}`,
          )
      } finally {
        await llm.close()
      }
      assert.notStrictEqual(llm.actor?.getSnapshot().status, "active", report())
      await eventually(() => sim.connections.every((c) => !c.open)).catch(() =>
        assert.fail(`a connection is still open after close()\n${report()}`),
      )
      await sim.close()
      await handlesBackTo(baseline)
    })
  }
})
