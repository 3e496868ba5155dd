/**
 * The conformance suite over the in-memory implementations: the StreamAdapter on a fake
 * STT, and the FallbackAdapter whose preferred STT always fails.
 */

import { assert, describe, it } from "@effect/vitest"
import { createFallbackAdapter, createStreamAdapter } from "../../src/stt/index.ts"
import {
  collect,
  createFakeSTT,
  describeSpeechStreamConformance,
  exhausted,
  finals,
  pushAll,
  speech,
  toFrames,
} from "./conformance.ts"

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

describe("voxstate/testing fake STT", () => {
  it("streams through a StreamAdapter: one final per spoken word run, in order", async () => {
    const fake = createFakeSTT()
    const stream = fake.stream()
    const rate = 16_000
    pushAll(
      stream,
      toFrames(
        speech(
          [
            { silenceMs: 300 },
            { word: 300, ms: 400 },
            { silenceMs: 900 },
            { word: 500, ms: 400 },
            { silenceMs: 900 },
          ],
          rate,
        ),
        rate,
      ),
    )
    const { events, error } = await collect(stream)
    assert.isUndefined(error)
    assert.deepStrictEqual(finals(events), ["bravo", "delta"])
    assert.strictEqual(fake.calls.length, 2)
  })
})
