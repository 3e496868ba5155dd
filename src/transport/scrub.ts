import { Redacted } from "effect"
import { type OpenAIConfig, type SecretHeaders, secretOf, secretsOf } from "./OpenAIConfig.ts"

/**
 * The one credential scrubber: every text a server supplies (frames, error bodies, close
 * reasons, HTTP error messages) passes through it at the edge, before it can reach an event,
 * an error, a snapshot, a notice, a span or a log.
 * @module
 */

/** Replaces every configured secret in a text with `<redacted>`. */
export type Scrubber = (text: string) => string

/** The text a secret is replaced with. */
export const REDACTED_TEXT = "<redacted>"

/** Secrets shorter than this are not scrubbed (they would match ordinary words). */
const MIN_SECRET_CHARS = 4

/** A scrubber that changes nothing (no secret configured). */
export const noScrubbing: Scrubber = (text) => text

/**
 * Replaces every occurrence of each of `secrets` in `text` with `<redacted>`, longest secret
 * first (so a `Bearer <key>` value goes whole before its key). Secrets shorter than four
 * characters are ignored.
 */
export const scrubSecrets = (text: string, secrets: ReadonlyArray<string>): string =>
  makeScrubber(secrets)(text)

/**
 * A {@link Scrubber} for `secrets` (see {@link scrubSecrets}), sorted once. A text without any
 * secret costs one `indexOf` per secret and is returned as it is.
 */
export const makeScrubber = (secrets: Iterable<string>): Scrubber => {
  const sorted = [...new Set(secrets)]
    .filter((s) => s.length >= MIN_SECRET_CHARS)
    .sort((a, b) => b.length - a.length)
  if (sorted.length === 0) return noScrubbing
  return (text) => {
    let out = text
    for (const secret of sorted) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED_TEXT)
    }
    return out
  }
}

/** The scrubber of a configuration's credential (API key or Azure AD token). */
export const scrubberOf = (config: OpenAIConfig): Scrubber => makeScrubber([Redacted.value(secretOf(config))])

/**
 * The scrubber of a connection's secrets: the secret headers (`Authorization` with its bearer
 * token, `api-key`, ...) and an `openai-insecure-api-key.<key>` subprotocol.
 */
export const scrubberOfConnection = (
  headers: SecretHeaders | undefined,
  protocols: ReadonlyArray<string> = [],
): Scrubber => {
  const secrets = [...secretsOf(headers)]
  for (const protocol of protocols) {
    const match = /^openai-insecure-api-key\.(.+)$/.exec(protocol)
    if (match?.[1] !== undefined) secrets.push(match[1])
  }
  return makeScrubber(secrets)
}
