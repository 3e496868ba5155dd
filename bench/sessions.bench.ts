/**
 * Concurrent transcription sessions against a fair baseline. N sessions stream real-time-paced
 * 48 kHz stereo audio (20 ms frames, 3 s each) to the simulator, which runs in a child process
 * so that this process's CPU time is the clients' own; then each ends its input and waits for
 * its transcripts and the socket's close. The baseline, in the same run, is N raw `ws` clients
 * doing the same work per session: the same mixdown and resampling to 24 kHz mono (the same
 * converter), base64 and append encoding per append, the same append sizes, and the same
 * drain (the rest of the audio, a commit, every transcript owed, then a close handshake).
 *
 * For N = 10, 100, 500, 1000 and `appendMs` 20 and 40 it prints, each as a ratio against the
 * baseline: CPU per session while streaming and with the drain, event-loop utilization while
 * streaming, and the steady-state push→send delay (p50 / p99): from the push that completes
 * an append to that append's send, for the frames after the first 10 and before the last
 * (connection warm-up and the drain are not steady state).
 *
 * `npm run bench -- sessions` (add N values, e.g. `-- sessions 10 100`, and `appendMs=20` to
 * run only some; `impl=voxstate` or `impl=raw` runs one side; `cpuprof=DIR` writes a CPU
 * profile of each measured phase)
 */
import { Context, Effect } from "effect"
import type WebSocket from "ws"
import {
  type AudioFrame,
  connectWebSocket,
  createPcmConverter,
  createTranscriptionSession,
  encodeAudioAppend,
  pcm16ToBase64,
  RealtimeSocket,
  type RealtimeSocketShape,
  type TranscriptionSession,
} from "../src/index.ts"
import {
  argOf,
  closeRawSockets,
  countsFromArgv,
  eluSince,
  fixed,
  openRawSocket,
  paced,
  profiled,
  quantile,
  startChildSimulator,
  stereoVoice,
  waitFor,
} from "./support.ts"

const RATE_HZ = 48_000
const CHANNELS = 2
const FRAME_MS = 20
const AUDIO_MS = 3_000
const FRAMES = AUDIO_MS / FRAME_MS
const FRAME_SAMPLES = (RATE_HZ * FRAME_MS * CHANNELS) / 1000
/** Frames before this one are warm-up; the last frame belongs to the drain. */
const STEADY_FROM_FRAME = 10
const APPEND_PREFIX = '{"type":"input_audio_buffer.append","audio":"'
const API_KEY = "sk-simulator"

interface Figures {
  readonly streamCpuMs: number
  readonly totalCpuMs: number
  readonly elu: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly rssMb: number
}

/** What a run records: per session, when each frame was pushed, and per append, when it left and the frame that completed it. */
interface Recorder {
  /** `pushAt[s * FRAMES + f]`: when session `s` pushed frame `f`. */
  readonly pushAt: Float64Array
  /** Push→send delays of steady-state appends, ms. */
  readonly delays: number[]
}

const recorder = (n: number): Recorder => ({ pushAt: new Float64Array(n * FRAMES), delays: [] })

/** Measures one run: `stream` pushes every frame, `drain` ends every session and resolves once all are closed. */
const measure = async (
  name: string,
  n: number,
  rec: Recorder,
  push: (f: number, frame: AudioFrame) => void,
  drain: () => Promise<void>,
  audio: Int16Array,
): Promise<Figures> => {
  const rss0 = process.memoryUsage().rss
  const elu0 = performance.eventLoopUtilization()
  const cpu0 = process.cpuUsage()
  await profiled(`${name}-stream`, () =>
    paced(FRAMES, FRAME_MS, (f) => {
      push(f, {
        data: audio.subarray(f * FRAME_SAMPLES, (f + 1) * FRAME_SAMPLES),
        sampleRateHz: RATE_HZ,
        channels: CHANNELS,
      })
    }),
  )
  const streamCpu = process.cpuUsage(cpu0)
  const elu = eluSince(elu0)
  const rss = process.memoryUsage().rss - rss0
  await profiled(`${name}-drain`, drain)
  const totalCpu = process.cpuUsage(cpu0)
  const delays = rec.delays.sort((a, b) => a - b)
  return {
    streamCpuMs: (streamCpu.user + streamCpu.system) / 1000 / n,
    totalCpuMs: (totalCpu.user + totalCpu.system) / 1000 / n,
    elu,
    p50Ms: quantile(delays, 0.5),
    p99Ms: quantile(delays, 0.99),
    rssMb: rss / 1024 / 1024 / n,
  }
}

const isSteady = (frame: number): boolean => frame >= STEADY_FROM_FRAME && frame < FRAMES - 1

/** N voxstate sessions; a `RealtimeSocket` wrapper times each append's send. */
const runSessions = async (url: string, n: number, appendMs: number, audio: Int16Array): Promise<Figures> => {
  const rec = recorder(n)
  const sessions: TranscriptionSession[] = []
  /** Per session: the 24 kHz head after each push. */
  const pushEnd: Float64Array[] = []
  /** Per session: each append's sample count so far and its send time. */
  const sends: Array<{ readonly upTo: number[]; readonly sentAt: number[] }> = []
  for (let s = 0; s < n; s++) {
    const ends = new Float64Array(FRAMES)
    pushEnd.push(ends)
    let total = 0
    const upTo: number[] = []
    const sentAt: number[] = []
    sends.push({ upTo, sentAt })
    /** Notes an append leaving: the 24 kHz sample count it brings the session to, and when. */
    const sent = (text: string): void => {
      if (!text.startsWith(APPEND_PREFIX)) return
      const base64 = text.length - APPEND_PREFIX.length - 2
      const padding = text.endsWith('=="}') ? 2 : text.endsWith('="}') ? 1 : 0
      total += ((base64 / 4) * 3 - padding) / 2
      upTo.push(total)
      sentAt.push(performance.now())
    }
    const timed: RealtimeSocketShape = {
      connect: (options) =>
        Effect.map(connectWebSocket(options), (connection) => ({
          ...connection,
          send: (text: string) =>
            Effect.andThen(
              Effect.sync(() => sent(text)),
              connection.send(text),
            ),
          ...(connection.sendNow === undefined
            ? {}
            : {
                sendNow: (text: string) => {
                  const ok = connection.sendNow?.(text) ?? false
                  if (ok) sent(text)
                  return ok
                },
              }),
        })),
    }
    sessions.push(
      createTranscriptionSession({
        openai: { apiKey: API_KEY, baseUrl: url },
        env: {},
        appendMs,
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
  await waitFor(
    () => sessions.every((s) => s.actor.getSnapshot().matches({ online: "streaming" })),
    "every session streaming",
  )
  const figures = await measure(
    `voxstate-${appendMs}-${n}`,
    n,
    rec,
    (f, frame) => {
      for (let s = 0; s < n; s++) {
        const session = sessions[s] as TranscriptionSession
        rec.pushAt[s * FRAMES + f] = performance.now()
        session.pushFrame(frame)
        ;(pushEnd[s] as Float64Array)[f] = session.pushedSamples
      }
    },
    async () => {
      for (const session of sessions) session.endInput()
      await Promise.all(ended)
      await Promise.all(sessions.map((s) => s.close()))
    },
    audio,
  )
  // Each append is matched to the first push whose head reaches the append's last sample.
  for (let s = 0; s < n; s++) {
    const ends = pushEnd[s] as Float64Array
    const { upTo, sentAt } = sends[s] ?? { upTo: [], sentAt: [] }
    let frame = 0
    for (let k = 0; k < upTo.length; k++) {
      while (frame < FRAMES && (ends[frame] ?? 0) < (upTo[k] ?? 0)) frame++
      if (frame >= FRAMES) break
      if (isSteady(frame)) rec.delays.push((sentAt[k] ?? 0) - (rec.pushAt[s * FRAMES + frame] ?? 0))
    }
  }
  const delays = rec.delays.sort((a, b) => a - b)
  return { ...figures, p50Ms: quantile(delays, 0.5), p99Ms: quantile(delays, 0.99) }
}

/** One raw client's own state: the converter, the audio not yet sent, what the server still owes. */
interface RawClient {
  readonly ws: WebSocket
  readonly converter: ReturnType<typeof createPcmConverter>
  pending: Int16Array
  pendingLength: number
  /** Commits the server acknowledged, and transcripts (completed or failed) it sent. */
  committed: number
  transcribed: number
  /** The final commit was answered (committed, or an error for an empty buffer). */
  finalAnswered: boolean
  finalSent: boolean
}

/** N raw `ws` clients doing the sessions' audio work and drain by hand. */
const runBaseline = async (url: string, n: number, appendMs: number, audio: Int16Array): Promise<Figures> => {
  const rec = recorder(n)
  const appendSamples = appendMs * 24
  const wsUrl = `${url.replace(/^http/, "ws")}/realtime?intent=transcription`
  const clients: RawClient[] = await Promise.all(
    Array.from({ length: n }, async () => {
      const state = { committed: 0, transcribed: 0, finalAnswered: false, finalSent: false }
      const ws = await openRawSocket({
        url: wsUrl,
        apiKey: API_KEY,
        sessionUpdate: {
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
        },
        onEvent: (event) => {
          switch (event.type) {
            case "input_audio_buffer.committed":
              state.committed++
              if (state.finalSent) state.finalAnswered = true
              return
            case "conversation.item.input_audio_transcription.completed":
            case "conversation.item.input_audio_transcription.failed":
              state.transcribed++
              return
            case "error":
              if (state.finalSent) state.finalAnswered = true
              return
          }
        },
      })
      // The client object is the state the listener writes to.
      return Object.assign(state, {
        ws,
        converter: createPcmConverter({ targetRateHz: 24_000 }),
        pending: new Int16Array(4 * appendSamples),
        pendingLength: 0,
      })
    }),
  )
  const sendPending = (client: RawClient): void => {
    if (client.pendingLength === 0) return
    client.ws.send(encodeAudioAppend(pcm16ToBase64(client.pending.subarray(0, client.pendingLength))))
    client.pendingLength = 0
  }
  const store = (client: RawClient, samples: Int16Array): void => {
    if (client.pendingLength + samples.length > client.pending.length) {
      const grown = new Int16Array(2 * (client.pendingLength + samples.length))
      grown.set(client.pending.subarray(0, client.pendingLength))
      client.pending = grown
    }
    client.pending.set(samples, client.pendingLength)
    client.pendingLength += samples.length
  }
  return measure(
    `raw-${appendMs}-${n}`,
    n,
    rec,
    (f, frame) => {
      for (let s = 0; s < n; s++) {
        const client = clients[s] as RawClient
        const at = performance.now()
        rec.pushAt[s * FRAMES + f] = at
        store(client, client.converter.push(frame))
        // As a session sends: everything pending once it holds at least one append's worth.
        if (client.pendingLength >= appendSamples) {
          sendPending(client)
          if (isSteady(f)) rec.delays.push(performance.now() - at)
        }
      }
    },
    async () => {
      for (const client of clients) {
        store(client, client.converter.flush())
        sendPending(client)
        client.ws.send('{"type":"input_audio_buffer.commit"}')
        client.finalSent = true
      }
      await waitFor(
        () => clients.every((c) => c.finalAnswered && c.transcribed >= c.committed),
        "every raw client drained",
      )
      await closeRawSockets(clients.map((c) => c.ws))
    },
    audio,
  )
}

const ratio = (ours: number, base: number): string => `${fixed(ours / base, 2)}x`

export default async () => {
  const counts = countsFromArgv([10, 100, 500, 1000])
  const appendArg = argOf("appendMs")
  const appendSizes = appendArg === undefined ? [20, 40] : [Number(appendArg)]
  const only = argOf("impl")
  const audio = stereoVoice("Concurrent sessions stream audio in real time.", RATE_HZ, AUDIO_MS, 500)
  const simulator = await startChildSimulator()
  const { httpUrl: url } = simulator
  try {
    console.log(
      `N concurrent transcription sessions, ${AUDIO_MS / 1000} s of real-time-paced 48 kHz stereo in ${FRAME_MS} ms frames each, then end of input (simulator in a child process).`,
    )
    console.log(
      "Baseline: raw ws clients doing the same per-session audio work (mixdown, resampling, base64, append encoding) and the same drain.",
    )
    console.log(
      "append N     impl      stream CPU ms/s  total CPU ms/s  stream ELU  p50 push→send ms  p99 push→send ms  RSS MB/s  stream ratio  total ratio",
    )
    for (const appendMs of appendSizes) {
      for (const n of counts) {
        // `impl=voxstate` (or `raw`) runs one side alone, e.g. under --cpu-prof.
        const base = only === "voxstate" ? undefined : await runBaseline(url, n, appendMs, audio)
        const ours = only === "raw" ? undefined : await runSessions(url, n, appendMs, audio)
        for (const [name, f] of [
          ["raw ws", base],
          ["voxstate", ours],
        ] as const) {
          if (f === undefined) continue
          const mine = name === "voxstate" && base !== undefined
          console.log(
            `${String(appendMs).padEnd(7)}${String(n).padEnd(6)}${name.padEnd(10)}${fixed(f.streamCpuMs, 2).padStart(15)}${fixed(f.totalCpuMs, 2).padStart(16)}` +
              `${fixed(f.elu, 2).padStart(12)}${fixed(f.p50Ms, 2).padStart(18)}${fixed(f.p99Ms, 2).padStart(18)}${fixed(f.rssMb, 3).padStart(10)}` +
              `${(mine ? ratio(f.streamCpuMs, base.streamCpuMs) : "-").padStart(14)}${(mine ? ratio(f.totalCpuMs, base.totalCpuMs) : "-").padStart(13)}`,
          )
        }
        if (global.gc !== undefined) global.gc()
      }
    }
    console.log(
      "CPU ms/s: per session. push→send: from the push that completes an append to that append's send, frames 10 to the last but one.",
    )
  } finally {
    await simulator.stop()
  }
}
