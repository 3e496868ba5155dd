/**
 * One clock: an XState clock backed by Effect's Clock, so machine delays and Effect sleeps
 * advance together (and under a `TestClock` in tests).
 * @module
 */
export {
  type EffectClock,
  type EffectClockRuntime,
  effectClock,
  makeEffectClock,
  type XStateClock,
} from "./EffectClock.ts"
