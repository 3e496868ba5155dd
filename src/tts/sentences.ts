/**
 * The streaming sentence tokenizer of text-to-speech: text arriving token by token is cut
 * into segments at sentence ends, each one request to the service. Pure: no I/O, no timers.
 *
 * A sentence ends at `.`, `!` or `?` (with any closing quotes or brackets after them)
 * followed by white space and then a character that is not a lower-case letter, at `。！？`,
 * and at a blank line. These are not sentence ends: an ellipsis (`...`, `…`), a period
 * inside a word or number (`3.14`, `example.com`), a known abbreviation (`Dr.`, `e.g.`,
 * `etc.`), an initial (`J. K.`) or a dotted abbreviation (`U.S.`). Because the character after
 * the white space decides, a sentence is cut only once that character has arrived (or at a
 * flush). Sentences shorter than `minChars` are merged with the following ones; a segment
 * never exceeds `maxChars` (cut at the last clause or word boundary before the limit).
 * @module
 */

/** Options of {@link createSentenceTokenizer}. */
export interface SentenceTokenizerOptions {
  /** Sentences shorter than this (in characters, trimmed) are merged with the next. Default 20. */
  readonly minChars?: number
  /** The longest segment, in characters (the service's input limit). Default 4096. */
  readonly maxChars?: number
}

/** Cuts a stream of text into segments. */
export interface SentenceTokenizer {
  /** Appends text; returns the segments it completed (trimmed, non-empty), in order. */
  push(delta: string): string[]
  /** A flush marker or the end of the text: returns the rest as segments (none when blank). */
  flush(): string[]
  /** Drops pending text. */
  reset(): void
}

/** The service's input limit (`POST /audio/speech`), in characters. */
export const MAX_SPEECH_INPUT_CHARS = 4096

/** Lower-cased words that take a period without ending a sentence. */
const ABBREVIATIONS: ReadonlySet<string> = new Set([
  "mr",
  "mrs",
  "ms",
  "dr",
  "prof",
  "sr",
  "jr",
  "st",
  "mt",
  "vs",
  "etc",
  "approx",
  "inc",
  "ltd",
  "co",
  "corp",
  "no",
  "nos",
  "fig",
  "figs",
  "vol",
  "cf",
  "al",
  "dept",
  "est",
  "gen",
  "gov",
  "sgt",
  "capt",
  "lt",
  "col",
  "rev",
  "hon",
  "jan",
  "feb",
  "mar",
  "apr",
  "jun",
  "jul",
  "aug",
  "sep",
  "sept",
  "oct",
  "nov",
  "dec",
])

const TERMINATORS = ".!?"
const CJK_TERMINATORS = "。！？"
const CLOSERS = "\"')]}”’»"
const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c)
const isLower = (c: string): boolean => c !== c.toUpperCase() && c === c.toLowerCase()

/** The word that ends just before `end` (letters, digits and inner periods). */
const wordBefore = (text: string, end: number): string => {
  let start = end
  while (start > 0 && /[\p{L}\p{N}.]/u.test(text[start - 1]!)) start--
  return text.slice(start, end)
}

/** Whether a single `.` at `dot` belongs to an abbreviation, an initial or a dotted abbreviation. */
const isAbbreviation = (text: string, dot: number): boolean => {
  const word = wordBefore(text, dot)
  if (word === "") return false
  if (word.includes(".")) return /^(\p{L}{1,2}\.)+\p{L}{1,2}$/u.test(word) // e.g, i.e, U.S, Ph.D; not example.com or 3.5
  if (/^\p{L}$/u.test(word)) return true // an initial: J. K. Rowling
  return ABBREVIATIONS.has(word.toLowerCase())
}

type Decision =
  | { readonly _tag: "Cut"; readonly at: number }
  | { readonly _tag: "No" }
  | { readonly _tag: "Wait" }

/** Whether a sentence ends at the terminator at `i` of `text`, and where the cut goes. */
const decide = (text: string, i: number): Decision => {
  const c = text[i]!
  let j = i
  if (CJK_TERMINATORS.includes(c)) {
    j++
    while (j < text.length && CLOSERS.includes(text[j]!)) j++
    return { _tag: "Cut", at: j }
  }
  // A run of terminators is judged once, from its first character.
  const before = text[i - 1]
  if (before !== undefined && (TERMINATORS.includes(before) || before === "…")) return { _tag: "No" }
  // The run of terminators and closers that starts here.
  while (j < text.length && (TERMINATORS.includes(text[j]!) || text[j] === "…")) j++
  const run = text.slice(i, j)
  while (j < text.length && CLOSERS.includes(text[j]!)) j++
  if (j === text.length) return { _tag: "Wait" }
  if (!isSpace(text[j])) return { _tag: "No" } // 3.14, example.com, "?!" inside a word
  if (/^(\.{2,}|…+)$/.test(run)) return { _tag: "No" } // an ellipsis
  if (run === "." && isAbbreviation(text, i)) return { _tag: "No" }
  let k = j
  while (k < text.length && isSpace(text[k])) k++
  if (k === text.length) return { _tag: "Wait" }
  if (isLower(text[k]!)) return { _tag: "No" }
  return { _tag: "Cut", at: j }
}

/** The last place before `limit` (exclusive, relative to `from`) to cut an over-long segment. */
const softCut = (text: string, from: number, limit: number): number => {
  const end = from + limit
  const window = text.slice(from, end)
  const clause = Math.max(
    window.lastIndexOf(", "),
    window.lastIndexOf("; "),
    window.lastIndexOf(": "),
    window.lastIndexOf(" – "),
  )
  if (clause > limit / 2) return from + clause + 1
  const space = window.search(/\s\S*$/)
  if (space > 0) return from + space
  return end
}

/**
 * Creates a {@link SentenceTokenizer}.
 * @throws {RangeError} when `minChars` is negative or `maxChars` is not a positive integer
 */
export const createSentenceTokenizer = (options: SentenceTokenizerOptions = {}): SentenceTokenizer => {
  const minChars = options.minChars ?? 20
  const maxChars = options.maxChars ?? MAX_SPEECH_INPUT_CHARS
  if (!(minChars >= 0)) throw new RangeError(`minChars must be >= 0, got ${minChars}`)
  if (!Number.isInteger(maxChars) || maxChars < 1) {
    throw new RangeError(`maxChars must be a positive integer, got ${maxChars}`)
  }
  let text = ""
  /** Start of the segment being gathered. */
  let start = 0
  /** First position not yet examined for a sentence end. */
  let scan = 0

  const take = (end: number, out: string[]) => {
    const segment = text.slice(start, end).trim()
    if (segment !== "") out.push(segment)
    start = end
    if (scan < start) scan = start
  }

  const compact = () => {
    if (start > 4096) {
      text = text.slice(start)
      scan -= start
      start = 0
    }
  }

  const cutLong = (out: string[]) => {
    while (text.length - start > maxChars) {
      // Leading blanks count for nothing: skip them before measuring.
      while (isSpace(text[start])) start++
      if (text.length - start <= maxChars) break
      take(softCut(text, start, maxChars), out)
    }
  }

  return {
    push(delta) {
      text += delta
      const out: string[] = []
      while (scan < text.length) {
        const c = text[scan]!
        let decision: Decision
        if (TERMINATORS.includes(c) || CJK_TERMINATORS.includes(c) || c === "…") decision = decide(text, scan)
        else if (c === "\n" && text[scan + 1] === "\n") decision = { _tag: "Cut", at: scan + 2 }
        else if (c === "\n" && scan + 1 === text.length) decision = { _tag: "Wait" }
        else decision = { _tag: "No" }
        if (decision._tag === "Wait") break
        if (decision._tag === "No") {
          scan++
          continue
        }
        if (text.slice(start, decision.at).trim().length >= minChars) take(decision.at, out)
        scan = Math.max(scan + 1, decision.at)
      }
      cutLong(out)
      compact()
      return out
    },
    flush() {
      const out: string[] = []
      cutLong(out)
      take(text.length, out)
      text = ""
      start = 0
      scan = 0
      return out
    },
    reset() {
      text = ""
      start = 0
      scan = 0
    },
  }
}

/**
 * Splits a whole text into pieces of at most `maxChars` characters at sentence ends (whole
 * sentences packed greedily), cutting inside a sentence only when one sentence alone is longer.
 */
export const splitText = (text: string, maxChars: number = MAX_SPEECH_INPUT_CHARS): string[] => {
  const trimmed = text.trim()
  if (trimmed.length <= maxChars) return trimmed === "" ? [] : [trimmed]
  const tokenizer = createSentenceTokenizer({ minChars: 0, maxChars })
  const sentences = [...tokenizer.push(trimmed), ...tokenizer.flush()]
  const pieces: string[] = []
  let current = ""
  for (const sentence of sentences) {
    if (current === "") current = sentence
    else if (current.length + 1 + sentence.length <= maxChars) current = `${current} ${sentence}`
    else {
      pieces.push(current)
      current = sentence
    }
  }
  if (current !== "") pieces.push(current)
  return pieces
}
