/**
 * The conformance suite over the REST STT: through the StreamAdapter against the simulator,
 * and a FallbackAdapter whose preferred REST STT always answers 500.
 */
import { startSimulator } from "../../src/simulator/index.ts"
import type { Simulator } from "../../src/simulator/types.ts"
import { createBatchSTT, createFallbackAdapter } from "../../src/stt/index.ts"
import { describeSpeechStreamConformance, wordsIn } from "./conformance.ts"

const hearing = (r: { readonly audio: Int16Array }) => wordsIn(r.audio, 24_000).join(" ")

const restSTT = (sim: Simulator, label: string) =>
  createBatchSTT({
    openai: { apiKey: sim.apiKey!, baseUrl: sim.httpUrl },
    env: {},
    label,
    connectOptions: { maxRetry: 1, retryIntervalMs: 1, jitter: false },
  })

const httpRequests = (sim: Simulator) => sim.connections.filter((c) => c.kind === "http").length

describeSpeechStreamConformance("StreamAdapter over the REST STT (simulator)", async () => {
  const sim = await startSimulator({ scenario: { transcripts: hearing } })
  const stt = restSTT(sim, "rest")
  return {
    open: () => stt.stream(),
    requests: () => httpRequests(sim),
    close: async () => {
      await stt.close()
      await sim.close()
    },
  }
})

describeSpeechStreamConformance(
  "FallbackAdapter over REST STTs, the preferred one down (simulator)",
  async () => {
    const down = await startSimulator({
      scenario: { transcripts: () => ({ text: "", fail: { code: "server_error", message: "down" } }) },
    })
    const up = await startSimulator({ scenario: { transcripts: hearing } })
    const fallback = createFallbackAdapter({
      stts: [restSTT(down, "down"), restSTT(up, "up")],
      recoveryIntervalMs: 0,
    })
    return {
      open: () => fallback.stream(),
      requests: () => httpRequests(down) + httpRequests(up),
      close: async () => {
        await fallback.close()
        await Promise.all([down.close(), up.close()])
      },
    }
  },
)
