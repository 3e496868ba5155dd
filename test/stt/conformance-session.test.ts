/**
 * The conformance suite over the streaming transcription session (Realtime WebSocket,
 * transcription mode) against the simulator, with server VAD and with the local VAD.
 */
import { startSimulator } from "../../src/simulator/index.ts"
import type { Simulator } from "../../src/simulator/types.ts"
import {
  createBatchSTT,
  createFallbackAdapter,
  createStreamAdapter,
  createTranscriptionSession,
  streamingSTT,
  type TranscriptionSessionOptions,
} from "../../src/stt/index.ts"
import { describeSpeechStreamConformance, wordsIn } from "./conformance.ts"

/** Transcriptions the simulator completed (the Realtime counterpart of a request). */
const transcriptions = (sim: Simulator) =>
  sim.connections
    .filter((c) => c.kind === "transcription")
    .flatMap((c) => c.sent)
    .filter(
      (e) =>
        typeof e === "object" &&
        e !== null &&
        (e as { type?: string }).type === "conversation.item.input_audio_transcription.completed",
    ).length

const sessionSubject = (options: Partial<TranscriptionSessionOptions>) => async () => {
  const sim = await startSimulator({ scenario: { transcripts: (r) => wordsIn(r.audio, 24_000).join(" ") } })
  return {
    open: () =>
      createTranscriptionSession({ apiKey: sim.apiKey!, baseUrl: sim.httpUrl, env: {}, ...options }),
    requests: () => transcriptions(sim),
    close: () => sim.close(),
  }
}

describeSpeechStreamConformance(
  "TranscriptionSession with server VAD (simulator)",
  sessionSubject({ turnDetection: { type: "server_vad" } }),
)

describeSpeechStreamConformance(
  "TranscriptionSession with the local VAD (simulator)",
  sessionSubject({ turnDetection: "local" }),
)

describeSpeechStreamConformance(
  "FallbackAdapter from a refused Realtime session to the REST STT (simulator)",
  async () => {
    const sim = await startSimulator({ scenario: { transcripts: (r) => wordsIn(r.audio, 24_000).join(" ") } })
    const realtime = streamingSTT({
      label: "realtime",
      // A wrong key: the upgrade is refused with 401, a fatal error for the session.
      createStream: () =>
        createTranscriptionSession({
          apiKey: "sk-wrong",
          baseUrl: sim.httpUrl,
          env: {},
          reconnect: { maxAttempts: 0 },
        }),
    })
    const rest = createBatchSTT({
      openai: { apiKey: sim.apiKey!, baseUrl: sim.httpUrl },
      env: {},
      label: "rest",
      connectOptions: { retryIntervalMs: 1, jitter: false },
    })
    const fallback = createFallbackAdapter({ stts: [realtime, createStreamAdapter({ stt: rest })] })
    return {
      open: () => fallback.stream(),
      requests: () => sim.connections.filter((c) => c.kind === "http").length,
      close: async () => {
        await fallback.close()
        await sim.close()
      },
    }
  },
)
