import { Context, Effect, Layer } from "effect"
import { type AudioError, isAudioError } from "./AudioError.ts"
import { createPcmConverter, type PcmConverter, type PcmConverterOptions } from "./pcmConverter.ts"
import { createResampler, type Resampler, type ResamplerOptions } from "./resampler.ts"

/** The shape of the {@link AudioResampler} service. */
export interface AudioResamplerShape {
  /**
   * A new streaming mono resampler (see `createResampler`).
   * Fails with `InvalidSampleRate` or `UnsupportedRate`.
   */
  readonly resampler: (options: ResamplerOptions) => Effect.Effect<Resampler, AudioError>
  /**
   * A new session input converter: any rate and channel count → mono at `targetRateHz`
   * (see `createPcmConverter`). Fails with `InvalidSampleRate`.
   */
  readonly pcmConverter: (options: PcmConverterOptions) => Effect.Effect<PcmConverter, AudioError>
}

/** Runs a constructor that throws AudioError as an Effect failing with it (other throws are defects). */
const attempt = <A>(build: () => A): Effect.Effect<A, AudioError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(build())
    } catch (error) {
      if (isAudioError(error)) return Effect.fail(error)
      throw error
    }
  })

/**
 * Resampling as an Effect service, so sessions obtain their converters from a layer
 * (and tests may substitute one). Each call builds an independent stateful instance;
 * coefficient tables are shared through a process-wide cache.
 *
 * @example
 * const converter = yield* AudioResampler.use((audio) => audio.pcmConverter({ targetRateHz: 24_000 }))
 */
export class AudioResampler extends Context.Service<AudioResampler, AudioResamplerShape>()(
  "voxstate/AudioResampler",
  {
    make: Effect.succeed<AudioResamplerShape>({
      resampler: (options) => attempt(() => createResampler(options)),
      pcmConverter: (options) => attempt(() => createPcmConverter(options)),
    }),
  },
) {
  /** The default implementation: the kernels of `voxstate/audio`. */
  static readonly layer = Layer.effect(this, this.make)
}
