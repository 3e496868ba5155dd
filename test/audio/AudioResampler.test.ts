import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { AudioResampler, createResampler, makeAudioFrame } from "../../src/audio/index.ts"
import { concat, noise } from "./signals.ts"

describe("AudioResampler", () => {
  it.effect("builds resamplers that match createResampler", () =>
    Effect.gen(function* () {
      const audio = yield* AudioResampler
      const r = yield* audio.resampler({ fromHz: 44_100, toHz: 24_000 })
      const input = noise(4410, 20_000, 1)
      const direct = createResampler({ fromHz: 44_100, toHz: 24_000 })
      assert.deepStrictEqual(concat([r.push(input), r.flush()]), concat([direct.push(input), direct.flush()]))
    }).pipe(Effect.provide(AudioResampler.layer)),
  )

  it.effect("builds PCM converters to the session rate", () =>
    Effect.gen(function* () {
      const audio = yield* AudioResampler
      const converter = yield* audio.pcmConverter({ targetRateHz: 24_000 })
      const out = converter.push(makeAudioFrame(new Int16Array(960 * 2), 48_000, 2))
      assert.strictEqual(out.length + converter.flush().length, 480)
    }).pipe(Effect.provide(AudioResampler.layer)),
  )

  it.effect("fails with a typed AudioError for a bad rate instead of throwing", () =>
    Effect.gen(function* () {
      const audio = yield* AudioResampler
      const exit = yield* Effect.exit(audio.resampler({ fromHz: -1, toHz: 24_000 }))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(audio.pcmConverter({ targetRateHz: 1.5 }))
      assert.strictEqual(error._tag, "AudioError")
      assert.strictEqual(error.reason, "InvalidSampleRate")
      const caught = yield* audio
        .resampler({ fromHz: 44_100, toHz: 44_101 })
        .pipe(Effect.catchTag("AudioError", (e) => Effect.succeed(e.reason)))
      assert.strictEqual(caught, "UnsupportedRate")
    }).pipe(Effect.provide(AudioResampler.layer)),
  )
})
