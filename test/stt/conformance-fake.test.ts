/**
 * The conformance suite over the in-memory implementations: the StreamAdapter on a fake
 * STT, and the FallbackAdapter whose preferred STT always fails.
 */
import { createFallbackAdapter, createStreamAdapter } from "../../src/stt/index.ts"
import { createFakeSTT, describeSpeechStreamConformance, exhausted } from "./conformance.ts"

describeSpeechStreamConformance("StreamAdapter over an in-memory STT", async () => {
  const fake = createFakeSTT()
  const adapter = createStreamAdapter({ stt: fake })
  return {
    open: () => adapter.stream(),
    requests: () => fake.calls.length,
    close: () => adapter.close(),
  }
})

describeSpeechStreamConformance("FallbackAdapter whose preferred STT always fails", async () => {
  const broken = createFakeSTT({
    label: "broken",
    behaviour: () => {
      throw exhausted("broken")
    },
  })
  const working = createFakeSTT({ label: "working" })
  const fallback = createFallbackAdapter({
    stts: [createStreamAdapter({ stt: broken }), createStreamAdapter({ stt: working })],
    recoveryIntervalMs: 0,
  })
  return {
    open: () => fallback.stream(),
    requests: () => broken.calls.length + working.calls.length,
    close: () => fallback.close(),
  }
})
