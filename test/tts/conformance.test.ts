/**
 * The TTS conformance suite of voxstate/testing run against every implementation: the REST
 * TTS (whole texts and chunked streams) against the simulator, the fake TTS (through the
 * StreamAdapter), the StreamAdapter over the REST TTS, and a fallback chain whose preferred
 * member is down.
 */
import { describe, it } from "@effect/vitest"
import { startSimulator } from "../../src/simulator/index.ts"
import {
  createFakeTTS,
  type TTSConformanceSubject,
  ttsConformanceChecks,
  ttsUnavailable,
} from "../../src/testing/index.ts"
import { createFallbackTTS, createTTS, createTTSStreamAdapter, type TTSOptions } from "../../src/tts/index.ts"

const restSubject = async (options: TTSOptions = {}) => {
  const sim = await startSimulator()
  const tts = createTTS({
    openai: { apiKey: sim.apiKey!, baseUrl: sim.httpUrl },
    env: {},
    connectOptions: { maxRetry: 1, retryIntervalMs: 1, jitter: false },
    ...options,
  })
  return { tts, sim }
}

const subjects: ReadonlyArray<readonly [string, () => Promise<TTSConformanceSubject>]> = [
  [
    "createTTS (simulator)",
    async () => {
      const { tts, sim } = await restSubject()
      return { tts, close: () => sim.close() }
    },
  ],
  [
    "createTTS chunked (simulator)",
    async () => {
      const { tts, sim } = await restSubject({ chunked: true })
      return { tts, close: () => sim.close() }
    },
  ],
  ["the fake TTS", async () => ({ tts: createFakeTTS(), close: async () => {} })],
  [
    "the StreamAdapter over createTTS (simulator)",
    async () => {
      const { tts, sim } = await restSubject()
      return { tts: createTTSStreamAdapter({ tts }), close: () => sim.close() }
    },
  ],
  [
    "createFallbackTTS, the preferred TTS down",
    async () => {
      const down = createFakeTTS({ label: "down", behaviour: () => ({ error: ttsUnavailable("down") }) })
      const { tts, sim } = await restSubject()
      return { tts: createFallbackTTS([down, tts], { recoveryIntervalMs: 0 }), close: () => sim.close() }
    },
  ],
]

for (const [name, make] of subjects) {
  describe(`TTS conformance: ${name}`, () => {
    for (const check of ttsConformanceChecks) {
      it(check.name, async () => {
        const subject = await make()
        try {
          await check.run(subject)
        } finally {
          await subject.tts.close()
          await subject.close()
        }
      })
    }
  })
}
