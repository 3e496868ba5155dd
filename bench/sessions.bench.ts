/**
 * Concurrent transcription sessions: N sessions stream real-time-paced 48 kHz stereo audio
 * (20 ms frames, 3 s each) to the simulator, which runs in a child process so that this
 * process's CPU time is the clients' own. For N = 10, 100, 500 it reports the client CPU per
 * session, the delay from `pushFrame` to the append that carries the frame's last sample
 * leaving the socket (p50 / p99, from the send calls of a `RealtimeSocket` wrapper), and,
 * as a same-run baseline, the same figures for N raw `ws` clients sending pre-encoded
 * 40 ms appends on the same schedule (no resampling, no machine, no replay buffer).
 *
 * `npm run bench -- sessions` (add `-- 10` etc. after it to run only some N)
 */
import { Context, Effect } from "effect"
import WebSocket from "ws"
import {
  connectWebSocket,
  createTranscriptionSession,
  encodeAudioAppend,
  pcm16ToBase64,
  RealtimeSocket,
  type RealtimeSocketShape,
  type TranscriptionSession,
} from "../src/index.ts"
import { synthesizeSpeech } from "../src/simulator/index.ts"
import { quantile, startChildSimulator } from "./support.ts"

const RATE_HZ = 48_000
const CHANNELS = 2
const FRAME_MS = 20
const AUDIO_MS = 3_000
const FRAMES = AUDIO_MS / FRAME_MS
const APPEND_PREFIX = '{"type":"input_audio_buffer.append","audio":"'
const API_KEY = "sk-simulator"

/** 3 s of the simulator's synthetic voice (a sentence, then silence), 48 kHz stereo. */
const makeAudio = (): Int16Array => {
  const voice = synthesizeSpeech("Concurrent sessions stream audio in real time.", { sampleRateHz: RATE_HZ })
  const mono = new Int16Array((RATE_HZ * AUDIO_MS) / 1000)
  mono.set(voice.subarray(0, Math.min(voice.length, mono.length - RATE_HZ / 2)))
  const stereo = new Int16Array(mono.length * CHANNELS)
  for (let i = 0; i < mono.length; i++) {
    stereo[2 * i] = mono[i] ?? 0
    stereo[2 * i + 1] = mono[i] ?? 0
  }
  return stereo
}

/** Calls `tick(i)` for i = 0..count-1 every `periodMs`, on a drift-corrected schedule. */
const paced = (count: number, periodMs: number, tick: (i: number) => void): Promise<void> =>
  new Promise((resolve) => {
    const start = performance.now()
    let i = 0
    const step = (): void => {
      while (i < count && performance.now() >= start + i * periodMs) tick(i++)
      if (i >= count) resolve()
      else setTimeout(step, Math.max(0, start + i * periodMs - performance.now()))
    }
    step()
  })

interface Figures {
  readonly cpuMsPerSession: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly rssMbPerSession: number
}

/** The figures of `n` clients (sessions or raw sockets alike) from CPU use, RSS growth in bytes and push→send delays in ms. */
const figuresOf = (n: number, cpu: NodeJS.CpuUsage, rssBytes: number, delays: number[]): Figures => {
  delays.sort((a, b) => a - b)
  return {
    cpuMsPerSession: (cpu.user + cpu.system) / 1000 / n,
    p50Ms: quantile(delays, 0.5),
    p99Ms: quantile(delays, 0.99),
    rssMbPerSession: rssBytes / 1024 / 1024 / n,
  }
}

/** N voxstate sessions; delay = time from a push to the send of the append holding its last sample. */
const runSessions = async (url: string, n: number, audio: Int16Array): Promise<Figures> => {
  const sessions: TranscriptionSession[] = []
  /** Per session: (24 kHz head after the push, time) and (24 kHz samples sent so far, time). */
  const pushes: Array<Array<{ readonly end: number; readonly at: number }>> = []
  const sends: Array<Array<{ readonly upTo: number; readonly at: number }>> = []
  for (let s = 0; s < n; s++) {
    const sent: Array<{ readonly upTo: number; readonly at: number }> = []
    pushes.push([])
    sends.push(sent)
    let total = 0
    const timed: RealtimeSocketShape = {
      connect: (options) =>
        Effect.map(connectWebSocket(options), (connection) => ({
          ...connection,
          send: (text: string) =>
            Effect.andThen(
              Effect.sync(() => {
                if (!text.startsWith(APPEND_PREFIX)) return
                const base64 = text.length - APPEND_PREFIX.length - 2
                const padding = text.endsWith('=="}') ? 2 : text.endsWith('="}') ? 1 : 0
                total += ((base64 / 4) * 3 - padding) / 2
                sent.push({ upTo: total, at: performance.now() })
              }),
              connection.send(text),
            ),
        })),
    }
    sessions.push(
      createTranscriptionSession({
        apiKey: API_KEY,
        baseUrl: url,
        env: {},
        turnDetection: { type: "server_vad" },
        context: Context.make(RealtimeSocket, timed),
      }),
    )
  }
  const ended = sessions.map(async (session) => {
    for await (const _ of session) {
      // Events are read so that nothing queues up; their content is not measured here.
    }
  })
  await waitFor(() => sessions.every((s) => s.actor.getSnapshot().matches({ online: "streaming" })))
  const frameSamples = (RATE_HZ * FRAME_MS * CHANNELS) / 1000
  const rss0 = process.memoryUsage().rss
  const cpu0 = process.cpuUsage()
  await paced(FRAMES, FRAME_MS, (f) => {
    const frame = audio.subarray(f * frameSamples, (f + 1) * frameSamples)
    for (const [s, session] of sessions.entries()) {
      const at = performance.now()
      session.pushFrame({ data: frame, sampleRateHz: RATE_HZ, channels: CHANNELS })
      pushes[s]?.push({ end: session.pushedSamples, at })
    }
  })
  for (const session of sessions) session.endInput()
  await Promise.all(ended)
  const cpu = process.cpuUsage(cpu0)
  const rss = process.memoryUsage().rss - rss0
  await Promise.all(sessions.map((s) => s.close()))
  const delays: number[] = []
  for (const [s, pushed] of pushes.entries()) {
    const sent = sends[s] ?? []
    let k = 0
    for (const push of pushed) {
      while (k < sent.length && (sent[k]?.upTo ?? 0) < push.end) k++
      const send = sent[k]
      if (send !== undefined) delays.push(send.at - push.at)
    }
  }
  return figuresOf(n, cpu, rss, delays)
}

/** N raw `ws` clients: session.update, then a pre-encoded 40 ms append every other 20 ms tick. */
const runBaseline = async (url: string, n: number, audio: Int16Array): Promise<Figures> => {
  // Pre-encoded appends of 40 ms at 24 kHz mono: the baseline does no audio work at all.
  const mono24k = new Int16Array((24_000 * AUDIO_MS) / 1000)
  for (let i = 0; i < mono24k.length; i++) mono24k[i] = audio[4 * i] ?? 0
  const appends: string[] = []
  for (let i = 0; i < mono24k.length; i += 960)
    appends.push(encodeAudioAppend(pcm16ToBase64(mono24k.subarray(i, i + 960))))
  const wsUrl = `${url.replace(/^http/, "ws")}/realtime?intent=transcription`
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(wsUrl, {
            headers: { Authorization: `Bearer ${API_KEY}` },
            perMessageDeflate: false,
          })
          ws.on("message", (data) => {
            if (String(data).includes('"session.created"')) {
              ws.send(
                JSON.stringify({
                  type: "session.update",
                  session: {
                    type: "transcription",
                    audio: {
                      input: {
                        format: { type: "audio/pcm", rate: 24_000 },
                        transcription: { model: "gpt-4o-transcribe" },
                        turn_detection: { type: "server_vad" },
                      },
                    },
                  },
                }),
              )
            } else if (String(data).includes('"session.updated"')) resolve(ws)
          })
          ws.once("error", reject)
        }),
    ),
  )
  const delays: number[] = []
  const rss0 = process.memoryUsage().rss
  const cpu0 = process.cpuUsage()
  const tickAt: number[] = []
  await paced(FRAMES, FRAME_MS, (f) => {
    // As in a session: a 20 ms frame arrives each tick; a 40 ms append leaves every second tick.
    tickAt[f] = performance.now()
    if (f % 2 === 0) return
    const text = appends[(f - 1) / 2]
    if (text === undefined) return
    for (const ws of sockets) {
      ws.send(text)
      const now = performance.now()
      delays.push(now - (tickAt[f - 1] ?? now), now - (tickAt[f] ?? now))
    }
  })
  for (const ws of sockets) ws.send('{"type":"input_audio_buffer.commit"}')
  await new Promise((resolve) => setTimeout(resolve, 200))
  const cpu = process.cpuUsage(cpu0)
  const rss = process.memoryUsage().rss - rss0
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once("close", () => resolve())
          ws.close(1000)
        }),
    ),
  )
  return figuresOf(n, cpu, rss, delays)
}

const waitFor = async (predicate: () => boolean, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("sessions did not connect in time")
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const fixed = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : "-")

export default async () => {
  const wanted = process.argv
    .slice(2)
    .map(Number)
    .filter((v) => Number.isInteger(v) && v > 0)
  const counts = wanted.length > 0 ? wanted : [10, 100, 500]
  const audio = makeAudio()
  const simulator = await startChildSimulator()
  const { httpUrl: url } = simulator
  try {
    console.log(
      `N concurrent transcription sessions, ${AUDIO_MS / 1000} s of real-time-paced 48 kHz stereo in ${FRAME_MS} ms frames each (simulator in a child process)`,
    )
    console.log(
      "N      impl       CPU ms/session  CPU % of real time  p50 push→send ms  p99 push→send ms  RSS MB/session  CPU ratio",
    )
    for (const n of counts) {
      const base = await runBaseline(url, n, audio)
      const ours = await runSessions(url, n, audio)
      for (const [name, f] of [
        ["raw ws", base],
        ["voxstate", ours],
      ] as const) {
        console.log(
          `${String(n).padEnd(7)}${name.padEnd(11)}${fixed(f.cpuMsPerSession, 2).padStart(14)}${fixed((f.cpuMsPerSession / AUDIO_MS) * 100, 3).padStart(20)}` +
            `${fixed(f.p50Ms, 2).padStart(18)}${fixed(f.p99Ms, 2).padStart(18)}${fixed(f.rssMbPerSession, 3).padStart(16)}` +
            `${(name === "voxstate" ? `${fixed(f.cpuMsPerSession / base.cpuMsPerSession, 2)}x` : "1.00x").padStart(11)}`,
        )
      }
    }
    console.log(
      "push→send: from pushFrame to the send of the append that holds the frame's last sample (40 ms appends: every other 20 ms frame waits one frame).",
    )
  } finally {
    await simulator.stop()
  }
}
