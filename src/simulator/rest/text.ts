/**
 * Deterministic text arithmetic shared by the simulated models: an approximate token
 * count, the split of a text into streamed deltas, the split of tool-call arguments into
 * fragments, and per-token log-probabilities.
 *
 * Token counts approximate OpenAI's tokenizers (about four UTF-8 bytes per token, at least
 * one token per word); they are stable, so tests can compare them, but they are not the
 * real tokenizer's numbers.
 * @module
 */

/** The approximate number of tokens in `text`: max(words, ⌈UTF-8 bytes / 4⌉), 0 for "". */
export const countTextTokens = (text: string): number => {
  if (text.length === 0) return 0
  const words = text.split(/\s+/).filter((w) => w.length > 0).length
  return Math.max(words, Math.ceil(Buffer.byteLength(text, "utf8") / 4))
}

/**
 * Splits `text` into the deltas a model streams: one per word, each carrying the
 * whitespace that precedes it (as tokenizers do), so the deltas concatenate to `text`.
 */
export const splitTextDeltas = (text: string): string[] => {
  const deltas = text.match(/\s*\S+|\s+$/g)
  return deltas === null ? [] : deltas
}

/**
 * Splits tool-call `args` into `pieces` fragments of near-equal length (at least one
 * character each), which concatenate to `args`. The empty string gives no fragment.
 */
export const splitFragments = (args: string, pieces = 3): string[] => {
  if (args.length === 0) return []
  const n = Math.max(1, Math.min(pieces, args.length))
  const size = Math.ceil(args.length / n)
  const out: string[] = []
  for (let i = 0; i < args.length; i += size) out.push(args.slice(i, i + size))
  return out
}

/** One token's log-probability, in the shape of the transcription and Responses APIs. */
export interface TokenLogprob {
  readonly token: string
  readonly logprob: number
  readonly bytes: number[]
}

/**
 * A small deterministic hash of a string (FNV-1a, 32 bit), to derive stable pseudo-random
 * values from a seed and a text.
 */
export const hashString = (text: string, seed = 0): number => {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/**
 * Log-probabilities for `tokens`: each between -0.5 and 0 (confident, as a clean
 * transcript), derived from the seed, the token and its position.
 */
export const tokenLogprobs = (tokens: readonly string[], seed: number): TokenLogprob[] =>
  tokens.map((token, i) => ({
    token,
    logprob: -Math.round(((hashString(token, seed + i) % 5000) / 10000) * 1e6) / 1e6,
    bytes: [...Buffer.from(token, "utf8")],
  }))

/**
 * The deltas of `text` (see {@link splitTextDeltas}) that fit in `maxTokens` tokens;
 * `truncated` tells whether some were cut (a `length` / `max_output_tokens` finish).
 * Without a limit, every delta.
 */
export const truncateDeltas = (
  text: string,
  maxTokens: number | undefined,
): { deltas: string[]; truncated: boolean } => {
  const deltas = splitTextDeltas(text)
  if (maxTokens === undefined) return { deltas, truncated: false }
  const kept: string[] = []
  let joined = ""
  for (const d of deltas) {
    if (countTextTokens(joined + d) > maxTokens) return { deltas: kept, truncated: true }
    kept.push(d)
    joined += d
  }
  return { deltas: kept, truncated: false }
}
