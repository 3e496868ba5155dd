/**
 * One clock: an XState clock backed by Effect's Clock, so machine delays and Effect sleeps
 * advance together (and under a `TestClock` in tests).
 * @module
 */
export * from "./EffectClock.ts"
