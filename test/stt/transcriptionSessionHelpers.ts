/**
 * Helpers for the transcription session tests: generated speech-like audio (tone bursts
 * and silence), framing, collecting a session's events, and polling for what a real
 * socket has delivered.
 */
import { concatPcm16 } from "../../src/audio/index.ts"
import type { RecordedEvent, Simulator, SimulatorConnection } from "../../src/simulator/index.ts"
import type { SpeechEvent } from "../../src/stt/SpeechEvent.ts"
import type { TranscriptionSession } from "../../src/stt/TranscriptionSession.ts"

/** A tone burst (speech for every VAD) at `rateHz`, mono, `ms` long. */
export const toneAt = (ms: number, rateHz = 24_000, amplitude = 0.3, frequencyHz = 220): Int16Array => {
  const n = Math.round((ms * rateHz) / 1000)
  const out = new Int16Array(n)
  const fade = Math.min(Math.round(rateHz / 200), Math.floor(n / 2))
  for (let i = 0; i < n; i++) {
    const edge = Math.min(i, n - 1 - i)
    const gain = edge < fade ? edge / fade : 1
    out[i] = Math.round(Math.sin((2 * Math.PI * frequencyHz * i) / rateHz) * amplitude * 32767 * gain)
  }
  return out
}

/** Silence at `rateHz`, mono, `ms` long. */
export const silenceAt = (ms: number, rateHz = 24_000): Int16Array =>
  new Int16Array(Math.round((ms * rateHz) / 1000))

/** Concatenates mono buffers. */
export const concat = (...parts: readonly Int16Array[]): Int16Array => concatPcm16(parts)

/** Interleaves a mono buffer into `channels` identical channels. */
export const toChannels = (mono: Int16Array, channels: number): Int16Array => {
  const out = new Int16Array(mono.length * channels)
  for (let i = 0; i < mono.length; i++)
    for (let c = 0; c < channels; c++) out[i * channels + c] = mono[i] ?? 0
  return out
}

/** Pushes `mono` to the session in `frameMs` frames at `rateHz` × `channels`. */
export const pushAudio = (
  session: TranscriptionSession,
  mono: Int16Array,
  options: { readonly rateHz?: number; readonly channels?: number; readonly frameMs?: number } = {},
): void => {
  const rateHz = options.rateHz ?? 24_000
  const channels = options.channels ?? 1
  const frame = Math.round(((options.frameMs ?? 20) * rateHz) / 1000)
  for (let i = 0; i < mono.length; i += frame) {
    const part = mono.subarray(i, i + frame)
    session.pushFrame({
      data: channels === 1 ? part : toChannels(part, channels),
      sampleRateHz: rateHz,
      channels,
    })
  }
}

/** Reads a session to its end; resolves with its events, or with the events and the error it threw. */
export const collect = async (
  session: TranscriptionSession,
): Promise<{ readonly events: SpeechEvent[]; readonly error: unknown }> => {
  const events: SpeechEvent[] = []
  try {
    for await (const event of session) events.push(event)
  } catch (error) {
    return { events, error }
  }
  return { events, error: undefined }
}

/** Polls `predicate` on real time (for I/O on real sockets) until it holds, up to `timeoutMs`. */
export const eventually = async (predicate: () => boolean, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The client events of `type` a simulator connection received. */
export const receivedOf = (connection: SimulatorConnection | undefined, type: string): RecordedEvent[] =>
  (connection?.received ?? []).filter((e) => e.type === type)

/** 24 kHz samples a connection received in appends (base64 length → bytes → samples). */
export const appendedSamples = (connection: SimulatorConnection | undefined): number =>
  receivedOf(connection, "input_audio_buffer.append").reduce((n, e) => {
    const audio = (e.payload as { audio?: string }).audio ?? ""
    return n + Buffer.from(audio, "base64").length / 2
  }, 0)

/** The transcription connections of a simulator. */
export const transcriptionConnections = (sim: Simulator): SimulatorConnection[] =>
  sim.connections.filter((c) => c.kind === "transcription")

/** Texts of final transcripts, in emission order. */
export const finals = (events: readonly SpeechEvent[]): string[] =>
  events.flatMap((e) => (e.type === "final_transcript" ? [e.alternatives[0]?.text ?? ""] : []))

export { activeHandles, handlesBackTo, settledHandles } from "../../src/testing/handles.ts"
