/**
 * voxstate/simulator: a local server that speaks OpenAI's Realtime (transcription and
 * conversation), Responses-WebSocket and REST audio/chat protocols, scripted and
 * fault-injecting, so voice agents can be tested offline against OpenAI's own clients.
 *
 * ```ts
 * const sim = await startSimulator({ scenario: { transcripts: ["hello"] } })
 * // ws: `${sim.url}/realtime?intent=transcription`, REST: sim.httpUrl, key: sim.apiKey
 * await sim.close()
 * ```
 * @module
 */
import { handleResponsesConnection, responsesRoute } from "./responses.ts"
import { restRoutes } from "./rest/index.ts"
import { startSimulatorWith } from "./server.ts"
import type { Simulator, SimulatorOptions } from "./types.ts"

export {
  defaultErrorMessage,
  defaultErrorType,
  faultErrorEvent,
} from "./faults.ts"
export {
  alawToLinear,
  BETA_DISABLED_MESSAGE,
  concatPcm,
  linearToAlaw,
  linearToMulaw,
  MAX_APPEND_BYTES,
  MIN_COMMIT_MS,
  msForSamples,
  mulawToLinear,
  noise,
  OUTPUT_AUDIO_CHUNK_MS,
  pcmFromBytes,
  pcmToBase64,
  type RealtimeRouting,
  rmsDbfs,
  SAMPLE_RATE_HZ,
  SEMANTIC_SILENCE_MS,
  samplesForMs,
  silence,
  type ToneOptions,
  thresholdToDbfs,
  tone,
} from "./realtime/index.ts"
export { RESPONSES_STORE_CAPACITY, responsesRoute } from "./responses.ts"
export { MAX_BODY_BYTES, SPEECH_CHUNK_BYTES, speechDurationMs, synthesizeSpeech } from "./rest/index.ts"
export {
  createIdGenerator,
  createRandom,
  createScenario,
  fallbackReply,
  fallbackTranscript,
  functionCallsOf,
  type ResolvedTranscript,
  reserveTranscript,
  resolveReply,
  resolveTranscript,
  type ScenarioOptions,
  type TranscriptReservation,
} from "./scenario.ts"
export { parseScenarioFile, ScenarioFile, ScenarioFileError } from "./scenarioFile.ts"
export {
  DEFAULT_API_KEY,
  resolveSimulatorOptions,
  SIXTY_MINUTES_MS,
  type SimulatorRoutes,
  startSimulatorWith,
} from "./server.ts"
export { createSelfSignedCertificate, type SelfSignedCertificate, type SelfSignedOptions } from "./tls.ts"
export type {
  ConnectionFault,
  ConnectionKind,
  ConnectionScript,
  FaultTrigger,
  HttpFault,
  HttpRoute,
  LatencyScript,
  ModelReply,
  RecordedEvent,
  ReplyRequest,
  ResolvedSimulatorOptions,
  RestEndpoint,
  RouteContext,
  Scenario,
  ScenarioSetup,
  ScriptedFunctionCall,
  ScriptedServerError,
  Simulator,
  SimulatorConnection,
  SimulatorOptions,
  TranscriptOutcome,
  TranscriptRequest,
  WebSocketContext,
  WebSocketHandler,
} from "./types.ts"
export { decodeSpeech, type HeardWord, heardText, wordCodeMs } from "./voice.ts"

/**
 * Starts a simulator on 127.0.0.1 (port 0 = any free port by default) serving every protocol:
 * Realtime transcription and conversation, the Responses WebSocket and the REST endpoints.
 * Rejects when the port cannot be bound.
 */
export const startSimulator = (options: SimulatorOptions = {}): Promise<Simulator> =>
  startSimulatorWith(
    { restRoutes: [...restRoutes, responsesRoute], responses: handleResponsesConnection },
    options,
  )
