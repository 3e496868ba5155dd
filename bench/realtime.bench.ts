/**
 * Concurrent Realtime conversations: N sessions each stream real-time-paced 48 kHz stereo
 * input (20 ms frames, 3 s) while asking for a spoken answer, against the simulator in a
 * child process (so this process's CPU is the clients'). Reports client CPU per session and
 * the delay from a server `response.output_audio.delta` arriving on the socket to the first
 * `audio` event of it being read, p50 / p99; as a same-run baseline, N raw `ws` clients doing
 * the same: appends of pre-encoded input on the same schedule, and each audio delta decoded
 * from base64 and cut into 20 ms frames.
 *
 * `npm run bench -- realtime` (add `-- 10` etc. to run only some N)
 */
import { Context, Effect, Stream } from "effect"
import type WebSocket from "ws"
import {
  base64ToPcm16,
  connectWebSocket,
  createRealtimeSession,
  encodeAudioAppend,
  pcm16ToBase64,
  type RealtimeSession,
  RealtimeSocket,
  type RealtimeSocketShape,
} from "../src/index.ts"
import {
  closeRawSockets,
  countsFromArgv,
  fixed,
  openRawSocket,
  paced,
  quantile,
  startChildSimulator,
  stereoVoice,
} from "./support.ts"

const RATE_HZ = 48_000
const CHANNELS = 2
const FRAME_MS = 20
const AUDIO_MS = 3_000
const FRAMES = AUDIO_MS / FRAME_MS
const API_KEY = "sk-simulator"
const QUESTION =
  "Please tell me a long story about a lighthouse keeper who counts the ships that pass by at night and writes each one down."
const DELTA = '"response.output_audio.delta"'

interface Figures {
  readonly cpuMsPerSession: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly deltas: number
}

const figuresOf = (n: number, cpu: NodeJS.CpuUsage, delays: number[]): Figures => {
  delays.sort((a, b) => a - b)
  return {
    cpuMsPerSession: (cpu.user + cpu.system) / 1000 / n,
    p50Ms: quantile(delays, 0.5),
    p99Ms: quantile(delays, 0.99),
    deltas: delays.length,
  }
}

const runSessions = async (url: string, n: number, audio: Int16Array): Promise<Figures> => {
  const delays: number[] = []
  const sessions: RealtimeSession[] = []
  const arrivals: number[][] = []
  for (let s = 0; s < n; s++) {
    const arrived: number[] = []
    arrivals.push(arrived)
    const timed: RealtimeSocketShape = {
      connect: (options) =>
        Effect.map(connectWebSocket(options), ({ deliver: _direct, ...connection }) => ({
          // `messages` is wrapped, so the direct delivery that would bypass it is left out.
          ...connection,
          messages: Stream.map(connection.messages, (text) => {
            if (text.includes(DELTA)) arrived.push(performance.now())
            return text
          }),
        })),
    }
    sessions.push(
      createRealtimeSession({
        openai: { apiKey: API_KEY, baseUrl: url },
        env: {},
        turnDetection: null,
        context: Context.make(RealtimeSocket, timed),
      }),
    )
  }
  let connected = 0
  const done = sessions.map(async (session, s) => {
    let next = 0
    let previousShort = true
    let item = ""
    for await (const event of session) {
      if (event.type === "session_ready") connected += 1
      if (event.type === "audio") {
        // A delta's frames are 20 ms but its last: a new item, or a frame after a short one, starts a new delta.
        if (previousShort || event.itemId !== item) {
          const at = arrivals[s]?.[next++]
          if (at !== undefined) delays.push(performance.now() - at)
        }
        item = event.itemId
        previousShort = event.frame.data.length < 480
      }
      if (event.type === "response_done") return
    }
  })
  while (connected < n) await new Promise((resolve) => setTimeout(resolve, 10))
  const frameSamples = (RATE_HZ * FRAME_MS * CHANNELS) / 1000
  const cpu0 = process.cpuUsage()
  for (const session of sessions) {
    session.sendText(QUESTION)
    session.createResponse()
  }
  await paced(FRAMES, FRAME_MS, (f) => {
    const frame = audio.subarray(f * frameSamples, (f + 1) * frameSamples)
    for (const session of sessions)
      session.pushFrame({ data: frame, sampleRateHz: RATE_HZ, channels: CHANNELS })
  })
  await Promise.all(done)
  const cpu = process.cpuUsage(cpu0)
  await Promise.all(sessions.map((s) => s.close()))
  return figuresOf(n, cpu, delays)
}

const runBaseline = async (url: string, n: number, audio: Int16Array): Promise<Figures> => {
  const mono24k = new Int16Array((24_000 * AUDIO_MS) / 1000)
  for (let i = 0; i < mono24k.length; i++) mono24k[i] = audio[4 * i] ?? 0
  const appends: string[] = []
  for (let i = 0; i < mono24k.length; i += 960)
    appends.push(encodeAudioAppend(pcm16ToBase64(mono24k.subarray(i, i + 960))))
  const delays: number[] = []
  const wsUrl = `${url.replace(/^http/, "ws")}/realtime?model=gpt-realtime`
  const finished: Promise<void>[] = []
  const sockets: WebSocket[] = await Promise.all(
    Array.from({ length: n }, () => {
      const frames: Int16Array[] = []
      let end: () => void = () => undefined
      finished.push(
        new Promise<void>((resolve) => {
          end = resolve
        }),
      )
      return openRawSocket({
        url: wsUrl,
        apiKey: API_KEY,
        sessionUpdate: {
          type: "session.update",
          session: { type: "realtime", audio: { input: { turn_detection: null } } },
        },
        onEvent: (event, at) => {
          if (event.type === "response.output_audio.delta" && typeof event.delta === "string") {
            const samples = base64ToPcm16(event.delta)
            for (let i = 0; i < samples.length; i += 480) frames.push(samples.subarray(i, i + 480))
            frames.length = 0
            delays.push(performance.now() - at)
          } else if (event.type === "response.done") end()
        },
      })
    }),
  )
  const cpu0 = process.cpuUsage()
  for (const ws of sockets) {
    ws.send(
      JSON.stringify({
        type: "conversation.item.create",
        item: { type: "message", role: "user", content: [{ type: "input_text", text: QUESTION }] },
      }),
    )
    ws.send('{"type":"response.create"}')
  }
  await paced(FRAMES, FRAME_MS, (f) => {
    if (f % 2 === 0) return
    const text = appends[(f - 1) / 2]
    if (text !== undefined) for (const ws of sockets) ws.send(text)
  })
  await Promise.all(finished)
  const cpu = process.cpuUsage(cpu0)
  await closeRawSockets(sockets)
  return figuresOf(n, cpu, delays)
}

export default async () => {
  const counts = countsFromArgv([10, 100])
  const audio = stereoVoice("Concurrent conversations stream audio in real time.", RATE_HZ, AUDIO_MS)
  const simulator = await startChildSimulator()
  try {
    console.log(
      `N concurrent Realtime conversations, ${AUDIO_MS / 1000} s of real-time 48 kHz stereo input each, one spoken answer (simulator in a child process)`,
    )
    console.log("N      impl       CPU ms/session  p50 delta→audio ms  p99 delta→audio ms  deltas  CPU ratio")
    for (const n of counts) {
      const base = await runBaseline(simulator.httpUrl, n, audio)
      const ours = await runSessions(simulator.httpUrl, n, audio)
      for (const [name, f] of [
        ["raw ws", base],
        ["voxstate", ours],
      ] as const) {
        console.log(
          `${String(n).padEnd(7)}${name.padEnd(11)}${fixed(f.cpuMsPerSession, 2).padStart(14)}${fixed(f.p50Ms, 3).padStart(20)}${fixed(f.p99Ms, 3).padStart(20)}${String(f.deltas).padStart(8)}` +
            `${(name === "voxstate" ? `${fixed(f.cpuMsPerSession / base.cpuMsPerSession, 2)}x` : "1.00x").padStart(11)}`,
        )
      }
    }
    console.log(
      "delta→audio: from the delta's frame arriving on the socket to its first 20 ms audio event read (baseline: to its frames decoded).",
    )
  } finally {
    await simulator.stop()
  }
}
