/**
 * A caller on a real WebSocket to a front door (or a runner's media endpoint): speaks tone
 * words (the test transcriber hears them by pitch) in real time, 20 ms frames of 24 kHz PCM16,
 * and records the call's JSON events and the agent's audio.
 */
import WebSocket from "ws"
import { speech, WORDS } from "../../src/testing/index.ts"

const RATE_HZ = 24_000
const FRAME_SAMPLES = 480

/** A call's JSON event as the media socket sends it. */
export interface MediaEvent {
  readonly type: string
  readonly text?: string
  readonly gapMs?: number
  readonly resumes?: number
  readonly [key: string]: unknown
}

/** A connected caller. */
export interface MediaCaller {
  readonly events: MediaEvent[]
  /** Bytes of agent audio received. */
  readonly audioBytes: () => number
  readonly closed: () => { code: number } | undefined
  /** Sends binary frames as they are, at once. */
  sendRaw(frames: readonly Buffer[]): Promise<void>
  /** Sends a text message as it is. */
  sendText(text: string): void
  /**
   * Speaks one tone word (by its name in WORDS) with silence around it, in real time:
   * 200 ms of silence, 400 ms of the word, 1 s of silence. `onWordEnd` runs once the word's
   * last frame is sent.
   */
  speak(word: string, options?: { readonly onWordEnd?: () => void }): Promise<void>
  /** Resolves when `predicate` holds over the events; rejects after `timeoutMs`. */
  until(predicate: (events: readonly MediaEvent[]) => boolean, timeoutMs?: number): Promise<void>
  hangUp(): Promise<void>
}

const toneOf = (word: string): number => {
  for (const [hz, name] of Object.entries(WORDS)) if (name === word) return Number(hz)
  throw new Error(`no tone word ${word}`)
}

/** Connects a caller to `url` and waits for the socket to open. */
export const connectCaller = async (url: string): Promise<MediaCaller> => {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  const events: MediaEvent[] = []
  let audioBytes = 0
  let closed: { code: number } | undefined
  ws.on("message", (data: Buffer, binary: boolean) => {
    if (binary) audioBytes += data.byteLength
    else events.push(JSON.parse(String(data)) as MediaEvent)
  })
  ws.on("close", (code) => {
    closed = { code }
  })
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve())
    ws.once("error", reject)
  })
  return {
    events,
    audioBytes: () => audioBytes,
    closed: () => closed,
    async sendRaw(frames) {
      for (const f of frames) ws.send(f, { binary: true })
    },
    sendText(text) {
      ws.send(text)
    },
    async speak(word, options = {}) {
      const samples = speech(
        [{ silenceMs: 200 }, { word: toneOf(word), ms: 400 }, { silenceMs: 1000 }],
        RATE_HZ,
      )
      const wordEnd = (600 * RATE_HZ) / 1000
      const started = Date.now()
      for (let i = 0, at = 0; at < samples.length; i++, at += FRAME_SAMPLES) {
        if (ws.readyState === WebSocket.OPEN)
          ws.send(Buffer.from(samples.slice(at, at + FRAME_SAMPLES).buffer))
        if (at < wordEnd && at + FRAME_SAMPLES >= wordEnd) options.onWordEnd?.()
        // Paced on the wall clock so frames keep real time however late a timer fires.
        const wait = started + (i + 1) * 20 - Date.now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      }
    },
    async until(predicate, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs
      while (!predicate(events)) {
        if (Date.now() > deadline)
          throw new Error(
            `condition not met in time; events: ${JSON.stringify(
              events
                .filter((e) => e.type !== "metrics")
                .map((e) => [e.type, e.text ?? e.state ?? e.audioFrames ?? e.frame ?? e.gapMs ?? e.final]),
            )}`,
          )
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    hangUp: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve()
        ws.once("close", () => resolve())
        ws.close(1000)
      }),
  }
}

/**
 * The caller's final transcripts, in order. The media protocol sends the interim ones too
 * (`user_transcript` with `final: false`, as serveAgent does), so a count of the caller's
 * words takes only these.
 */
export const finalTranscripts = (caller: MediaCaller): (string | undefined)[] =>
  caller.events.filter((e) => e.type === "user_transcript" && e.final === true).map((e) => e.text)

/** The user texts of a model input (Responses items: a string or parts with text). */
export const userTextsOf = (input: readonly unknown[]): string[] => {
  const texts: string[] = []
  for (const item of input) {
    if (typeof item !== "object" || item === null) continue
    const { role, content } = item as { role?: unknown; content?: unknown }
    if (role !== "user") continue
    if (typeof content === "string") texts.push(content)
    else if (Array.isArray(content))
      texts.push(
        content
          .map((p: { text?: unknown; transcript?: unknown }) =>
            typeof p.text === "string" ? p.text : typeof p.transcript === "string" ? p.transcript : "",
          )
          .join(" "),
      )
  }
  return texts
}

/** What the agent said to the caller, reply by reply (`agent_transcript`). */
export const agentReplies = (caller: MediaCaller): (string | undefined)[] =>
  caller.events.filter((e) => e.type === "agent_transcript").map((e) => e.text)

/** The gaps of the caller's re-attachments so far, in ms. */
export const reattachedGaps = (caller: MediaCaller): number[] =>
  caller.events.filter((e) => e.type === "reattached").map((e) => e.gapMs ?? 0)

/**
 * Waits until `runners` runners own every shard, an even share each, unchanged for a second
 * (so calls placed next stay where they are put); throws after `timeoutMs` with what it saw.
 */
export const shardsSettled = async (
  client: {
    runners(): Promise<readonly { readonly address: string; readonly shards: readonly unknown[] }[]>
  },
  options: { readonly runners: number; readonly shardsPerGroup: number; readonly timeoutMs?: number },
): Promise<void> => {
  const deadline = Date.now() + (options.timeoutMs ?? 40_000)
  let previous = ""
  let stableSince = Date.now()
  for (;;) {
    const runners = await client.runners()
    const owned = new Set(runners.flatMap((r) => r.shards))
    const view = JSON.stringify(runners.map((r) => [r.address, r.shards]))
    if (view !== previous) stableSince = Date.now()
    previous = view
    const even = runners.every((r) => r.shards.length === options.shardsPerGroup / options.runners)
    if (
      runners.length === options.runners &&
      owned.size === options.shardsPerGroup &&
      even &&
      Date.now() - stableSince > 1000
    )
      return
    if (Date.now() > deadline) throw new Error(`runners not ready: ${view}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/**
 * Finds where each call lives now (`runner`, updated in place) and returns the calls on
 * `address`, with what each had seen before anything happens to that runner: its resumes so
 * far and its re-attachments so far.
 */
export const callsOnRunner = async <C extends { callId: string; runner: string; caller: MediaCaller }>(
  client: { status(callId: string): Promise<{ readonly runner: string; readonly resumes: number }> },
  calls: readonly C[],
  address: string,
): Promise<{ on: C[]; before: Map<string, { resumes: number; reattached: number }> }> => {
  for (const c of calls) c.runner = (await client.status(c.callId)).runner
  const on = calls.filter((c) => c.runner === address)
  const before = new Map<string, { resumes: number; reattached: number }>()
  for (const c of on) {
    const status = await client.status(c.callId)
    before.set(c.callId, { resumes: status.resumes, reattached: reattachedGaps(c.caller).length })
  }
  return { on, before }
}
