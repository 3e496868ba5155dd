/**
 * The LLM over the Responses WebSocket, against the simulator in a child process (so this
 * process's time is the client's own):
 *
 * 1. Bytes on the wire per turn at turns 1, 10 and 50 of one conversation, chained
 *    (`previous_response_id` + the new user message, as `createLLM` sends it) versus the full
 *    context every turn (what a client without chaining sends), and their ratio at turn 50.
 * 2. The runtime's time per turn (from `chat()` to the `end` chunk: chain machine, socket
 *    actor, decoding, chunk stream) against a hand-written client on a raw `ws` socket doing
 *    the same work (it builds the same requests from its history, parses every frame, gathers
 *    the text and keeps the output) on the same simulator (a ratio of medians).
 * 3. The client's own work per turn, in-process: the server frames of that conversation,
 *    recorded, are replayed by an in-memory connection (no network, no simulator), so the
 *    time per turn is the runtime's alone; the baselines are `JSON.parse` of the same frames
 *    and the hand-written client's work on them (its request built, the frames parsed, the
 *    text gathered).
 *
 * `npm run bench -- llm` (`cpuprof=DIR` writes a CPU profile of the in-process turns)
 */
import { Context, Effect, Queue, Stream } from "effect"
import WebSocket from "ws"
import {
  ChatContext,
  ClientEvents,
  connectWebSocket,
  createLLM,
  encodeClientEvent,
  RealtimeSocket,
  type RealtimeSocketShape,
  resolveLLMOptions,
  type SocketConnection,
  toResponsesInput,
} from "../src/index.ts"
import { responsesParams } from "../src/llm/options.ts"
import { profiled, quantile, startChildSimulator } from "./support.ts"

const TURNS = 50
const ROUNDS = 3
const API_KEY = "sk-simulator"
const MODEL = "gpt-4.1-mini"
const SYSTEM = "You are a helpful voice assistant. Answer in one or two short sentences, without lists."

const question = (turn: number): string =>
  `Turn ${turn}: here is what the user said this time, a sentence of ordinary length for a spoken question.`

/** The median of `values` (the upper middle one of an even count). */
const median = (values: readonly number[]): number =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  )

interface RuntimeRun {
  /** The `response.create` frames as sent, per turn. */
  readonly frames: string[]
  /** The server frames received after each `response.create`, per turn. */
  readonly replies: string[][]
  /** Milliseconds from `chat()` to the `end` chunk, per turn. */
  readonly turnMs: number[]
  /** This process's CPU time per turn over turns 2 to the last, µs. */
  readonly cpuUsPerTurn: number
}

/**
 * CPU µs of this process's main thread since `start` (`process.threadCpuUsage`): the
 * client's own work, without the compiler and collector threads a loaded machine inflates.
 */
const cpuSince = (start: NodeJS.CpuUsage): number => {
  const used = process.threadCpuUsage(start)
  return used.user + used.system
}

/** A 50-turn conversation through `createLLM`; a RealtimeSocket wrapper records the frames sent. */
const runRuntime = async (httpUrl: string): Promise<RuntimeRun> => {
  const frames: string[] = []
  const replies: string[][] = []
  const record = (text: string): void => {
    if (!text.startsWith('{"type":"response.create"')) return
    frames.push(text)
    replies.push([])
  }
  const recording: RealtimeSocketShape = {
    connect: (options) =>
      Effect.map(connectWebSocket(options), (connection) => ({
        ...connection,
        // Frames are recorded on whichever path the socket actor reads them.
        messages: Stream.map(connection.messages, (text) => {
          replies[replies.length - 1]?.push(text)
          return text
        }),
        ...(connection.deliver === undefined
          ? {}
          : {
              deliver: (listener: (text: string) => void) =>
                connection.deliver?.((text) => {
                  replies[replies.length - 1]?.push(text)
                  listener(text)
                }),
            }),
        send: (text: string) => {
          record(text)
          return connection.send(text)
        },
        sendNow: (text: string) => {
          const sent = connection.sendNow?.(text) ?? false
          if (sent) record(text)
          return sent
        },
      })),
  }
  const llm = createLLM({
    model: MODEL,
    openai: { apiKey: API_KEY, baseUrl: httpUrl },
    env: {},
    context: Context.make(RealtimeSocket, recording),
  })
  const context = new ChatContext([{ role: "system", content: SYSTEM }])
  const turnMs: number[] = []
  await llm.prewarm()
  let cpu0 = process.threadCpuUsage()
  for (let turn = 1; turn <= TURNS; turn++) {
    if (turn === 2) cpu0 = process.threadCpuUsage()
    context.addUser(question(turn))
    const started = performance.now()
    const result = await llm.chat(context).collect()
    turnMs.push(performance.now() - started)
    context.addOutput(result.output)
  }
  const cpuUsPerTurn = cpuSince(cpu0) / (TURNS - 1)
  await llm.close()
  return { frames, replies, turnMs, cpuUsPerTurn }
}

/**
 * A connection in memory: each `response.create` it is sent answers with the next turn's
 * recorded frames, at once. Its first turn is the prewarm (`generate: false`).
 */
const replayingSocket = (replies: readonly (readonly string[])[]): RealtimeSocketShape => ({
  connect: () =>
    Effect.gen(function* () {
      const messages = yield* Queue.unbounded<string>()
      let turn = 0
      let direct: ((text: string) => void) | undefined
      const answer = (text: string): void => {
        if (!text.startsWith('{"type":"response.create"')) return
        const frames = replies[turn++] ?? []
        // As a socket's callbacks do, the frames come on a later tick than the send.
        if (direct === undefined) for (const frame of frames) Queue.offerUnsafe(messages, frame)
        else
          queueMicrotask(() => {
            for (const frame of frames) direct?.(frame)
          })
      }
      const connection: SocketConnection = {
        url: "ws://in-memory/v1/responses",
        messages: Stream.fromQueue(messages),
        send: (text) => Effect.sync(() => answer(text)),
        sendNow: (text) => {
          answer(text)
          return true
        },
        deliver: (listener) => {
          direct = listener
        },
        close: () => Effect.void,
        bufferedAmount: () => 0,
      }
      return connection
    }),
})

/** What the chain machine saw over a run (through its inspection observer). */
interface MachineCounts {
  /** Events the root (chain) actor took. */
  events: number
  /** Snapshots it produced. */
  snapshots: number
}

/**
 * The same conversation with the recorded frames replayed in memory: the client's work per
 * turn, in µs. With `counts`, the chain machine's events and snapshots are counted (an
 * inspection observer costs time of its own, so a counted run is not a timed one).
 */
const runInProcess = async (run: RuntimeRun, counts?: MachineCounts): Promise<number[]> => {
  const llm = createLLM({
    model: MODEL,
    openai: { apiKey: API_KEY, baseUrl: "http://in-memory/v1" },
    env: {},
    context: Context.make(RealtimeSocket, replayingSocket(run.replies)),
    inspect:
      counts === undefined
        ? false
        : {
            next: (event) => {
              if ((event.actorRef as { readonly sessionId?: string }).sessionId !== event.rootId) return
              if (event.type === "@xstate.event") counts.events++
              else if (event.type === "@xstate.snapshot") counts.snapshots++
            },
          },
  })
  const context = new ChatContext([{ role: "system", content: SYSTEM }])
  const turnUs: number[] = []
  await llm.prewarm()
  for (let turn = 1; turn <= TURNS; turn++) {
    context.addUser(question(turn))
    const started = performance.now()
    const result = await llm.chat(context).collect()
    turnUs.push((performance.now() - started) * 1000)
    context.addOutput(result.output)
  }
  await llm.close()
  return turnUs
}

/** The baseline of the in-process figure: `JSON.parse` of every frame of a turn, in µs per turn. */
const parseTurns = (replies: readonly (readonly string[])[]): number[] =>
  replies.slice(1).map((frames) => {
    const started = performance.now()
    for (const frame of frames) JSON.parse(frame)
    return (performance.now() - started) * 1000
  })

/** What the hand-written client keeps of a completed response. */
interface RawReply {
  readonly id: string
  readonly text: string
  readonly output: readonly unknown[]
}

/**
 * The hand-written client's `response.create` of `turn`: built from its own history (the
 * system and first user message on turn 1, then the new user message chained on `last`) and
 * `JSON.stringify`d, as a minimal client does.
 */
const rawRequest = (turn: number, last: RawReply | undefined): { text: string; input: unknown[] } => {
  const user = { type: "message", role: "user", content: question(turn) }
  const input = last === undefined ? [{ type: "message", role: "system", content: SYSTEM }, user] : [user]
  const text = JSON.stringify({
    type: "response.create",
    model: MODEL,
    store: false,
    input,
    ...(last === undefined ? {} : { previous_response_id: last.id }),
  })
  return { text, input }
}

/**
 * The hand-written client's reading of one response: each frame parsed, the text deltas
 * gathered; returns the reply at `response.completed`.
 */
const rawReader = (): ((frame: string) => RawReply | undefined) => {
  let text = ""
  return (frame) => {
    const event = JSON.parse(frame) as {
      type: string
      delta?: string
      response?: { id: string; output?: unknown[] }
    }
    if (event.type === "response.output_text.delta") text += event.delta ?? ""
    else if (event.type === "response.completed" && event.response !== undefined)
      return { id: event.response.id, text, output: event.response.output ?? [] }
    return undefined
  }
}

/** The request without its chaining id (ids differ from run to run, their length does not). */
const withoutId = (text: string | undefined): string | undefined =>
  text?.replace(/"previous_response_id":"resp_[A-Za-z0-9]+"/, "")

/**
 * The hand-written client ({@link rawRequest}, {@link rawReader}) on one raw `ws` socket,
 * doing for the same conversation the work a minimal client must do: build and send each
 * request, parse every frame, gather the text, keep the completed response's id and output.
 * Its requests must be the runtime's (`expected`) byte for byte, ids aside, or the run stops.
 * Returns the time per turn from the request to `response.completed`.
 */
const runRaw = async (
  httpUrl: string,
  expected: readonly string[],
): Promise<{ readonly turnMs: number[]; readonly cpuUsPerTurn: number }> => {
  const socket = new WebSocket(`${httpUrl.replace(/^http/, "ws")}/responses`, {
    headers: { Authorization: `Bearer ${API_KEY}` },
    perMessageDeflate: false,
  })
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve())
    socket.once("error", reject)
  })
  const turnMs: number[] = []
  const history: unknown[] = []
  let last: RawReply | undefined
  let cpu0 = process.threadCpuUsage()
  for (let turn = 1; turn <= TURNS; turn++) {
    if (turn === 2) cpu0 = process.threadCpuUsage()
    const started = performance.now()
    const request = rawRequest(turn, last)
    if (withoutId(request.text) !== withoutId(expected[turn - 1]))
      throw new Error(`the raw client's request of turn ${turn} is not the runtime's: ${request.text}`)
    const read = rawReader()
    last = await new Promise<RawReply>((resolve) => {
      const onMessage = (data: WebSocket.RawData): void => {
        const reply = read(data.toString())
        if (reply === undefined) return
        socket.off("message", onMessage)
        resolve(reply)
      }
      socket.on("message", onMessage)
      socket.send(request.text)
    })
    history.push(...request.input, ...last.output)
    turnMs.push(performance.now() - started)
  }
  const cpuUsPerTurn = cpuSince(cpu0) / (TURNS - 1)
  socket.close()
  return { turnMs, cpuUsPerTurn }
}

/**
 * The fair baseline of the in-process figure: the hand-written client's work on the same
 * recorded frames (its request built, every frame parsed, the text gathered), µs per turn.
 */
const handWrittenTurns = (replies: readonly (readonly string[])[]): number[] => {
  const history: unknown[] = []
  let last: RawReply | undefined
  return replies.map((frames, index) => {
    const started = performance.now()
    const request = rawRequest(index + 1, last)
    const read = rawReader()
    for (const frame of frames) last = read(frame) ?? last
    history.push(...request.input, ...(last?.output ?? []))
    return (performance.now() - started) * 1000
  })
}

/** The full-context `response.create` of every turn of the same conversation (no chaining). */
const fullFrames = (chained: readonly string[]): string[] => {
  const resolved = resolveLLMOptions({ model: MODEL })
  const params = responsesParams(resolved)
  const context = new ChatContext([{ role: "system", content: SYSTEM }])
  const frames: string[] = []
  for (let turn = 1; turn <= TURNS; turn++) {
    context.addUser(question(turn))
    frames.push(
      encodeClientEvent(ClientEvents.responsesCreate({ ...params, input: toResponsesInput(context.items) })),
    )
    // The simulator's answer to each turn is the same in both runs: "You said: <question>".
    context.addAssistant(`You said: ${question(turn)}`)
  }
  if (frames.length !== chained.length) throw new Error("the runs disagree on the number of turns")
  return frames
}

export default async function main(): Promise<void> {
  const simulator = await startChildSimulator()
  const { httpUrl } = simulator
  try {
    let runtime: RuntimeRun | undefined
    const runtimeMs: number[] = []
    const rawMs: number[] = []
    const runtimeCpu: number[] = []
    const rawCpu: number[] = []
    // Alternate the two clients so that warm-up and drift hit both alike; keep every round's turns.
    for (let round = 0; round < ROUNDS; round++) {
      runtime = await profiled(`llm-network-${round}`, () => runRuntime(httpUrl))
      runtimeMs.push(...runtime.turnMs.slice(1))
      runtimeCpu.push(runtime.cpuUsPerTurn)
      const raw = await runRaw(httpUrl, runtime.frames)
      rawMs.push(...raw.turnMs.slice(1))
      rawCpu.push(raw.cpuUsPerTurn)
    }
    if (runtime === undefined) return
    const chained = runtime.frames.map((f) => Buffer.byteLength(f))
    const full = fullFrames(runtime.frames).map((f) => Buffer.byteLength(f))
    console.log("bytes sent per turn (response.create):")
    console.log("  turn   chained      full")
    for (const turn of [1, 10, 50]) {
      console.log(
        `  ${String(turn).padStart(4)}  ${String(chained[turn - 1]).padStart(8)}  ${String(full[turn - 1]).padStart(8)}`,
      )
    }
    const ratio = (full[TURNS - 1] ?? 0) / (chained[TURNS - 1] ?? 1)
    const totalChained = chained.reduce((a, b) => a + b, 0)
    const totalFull = full.reduce((a, b) => a + b, 0)
    console.log(`  full / chained at turn ${TURNS}: ${ratio.toFixed(1)}×`)
    console.log(
      `  whole conversation: ${totalChained} B chained, ${totalFull} B full (${(totalFull / totalChained).toFixed(1)}×)`,
    )
    // In process: warm up, then keep the turns of the later rounds.
    const inProcessUs: number[] = []
    const parseUs: number[] = []
    const handUs: number[] = []
    const recorded = runtime
    const counts: MachineCounts = { events: 0, snapshots: 0 }
    await runInProcess(recorded, counts)
    await profiled("llm-in-process", async () => {
      for (let round = 0; round < 5; round++) {
        inProcessUs.push(...(await runInProcess(recorded)).slice(1))
        parseUs.push(...parseTurns(recorded.replies).slice(1))
        handUs.push(...handWrittenTurns(recorded.replies).slice(1))
      }
    })
    const rt = median(runtimeMs)
    const raw = median(rawMs)
    console.log(
      `time per turn, median of turns 2-${TURNS} over ${ROUNDS} rounds (same payloads, same simulator):`,
    )
    console.log(`  createLLM (machine + socket actor + chunk stream): ${rt.toFixed(3)} ms`)
    console.log(`  raw ws client:                                     ${raw.toFixed(3)} ms`)
    console.log(`  runtime / raw: ${(rt / raw).toFixed(2)}×, added ${(rt - raw).toFixed(3)} ms per turn`)
    const rtCpu = median(runtimeCpu)
    const rawCpuUs = median(rawCpu)
    console.log(
      `  client main-thread CPU per turn (median of ${ROUNDS} rounds): createLLM ${rtCpu.toFixed(0)} µs, raw ws ${rawCpuUs.toFixed(0)} µs, ${(rtCpu / rawCpuUs).toFixed(2)}× (less sensitive to a loaded machine than the time)`,
    )
    const framesPerTurn = median(recorded.replies.slice(1).map((r) => r.length))
    const work = median(inProcessUs)
    const parse = median(parseUs)
    const hand = median(handUs)
    console.log(
      `client work per turn, in process (the recorded frames replayed from memory, ${framesPerTurn} frames a turn), median of turns 2-${TURNS} over 5 rounds:`,
    )
    console.log(`  createLLM: ${work.toFixed(1)} µs; JSON.parse of the same frames: ${parse.toFixed(1)} µs`)
    console.log(`  createLLM / JSON.parse: ${(work / parse).toFixed(1)}×`)
    console.log(
      `  the hand-written client's work on the same frames (request built, frames parsed, text gathered): ${hand.toFixed(1)} µs; createLLM / it: ${(work / hand).toFixed(1)}×`,
    )
    console.log(
      `  the chain machine per turn (prewarm included, over ${TURNS} turns): ${(counts.events / TURNS).toFixed(1)} events, ${(counts.snapshots / TURNS).toFixed(1)} snapshots`,
    )
  } finally {
    await simulator.stop()
  }
}
