import { assert, describe, it } from "@effect/vitest"
import { createSentenceTokenizer, splitText } from "../../src/tts/sentences.ts"

/** Feeds `text` in tokens of the given sizes (cycled) and returns every segment, flush included. */
const segmentsOf = (text: string, sizes: readonly number[], minChars = 0): string[] => {
  const tokenizer = createSentenceTokenizer({ minChars })
  const out: string[] = []
  let at = 0
  for (let i = 0; at < text.length; i++) {
    const size = sizes[i % sizes.length]!
    out.push(...tokenizer.push(text.slice(at, at + size)))
    at += size
  }
  out.push(...tokenizer.flush())
  return out
}

const TABLE: ReadonlyArray<{ readonly name: string; readonly text: string; readonly segments: string[] }> = [
  {
    name: "plain sentences",
    text: "Hello there. How are you? I am fine!",
    segments: ["Hello there.", "How are you?", "I am fine!"],
  },
  {
    name: "abbreviations",
    text: "Dr. Smith met Mrs. Jones at St. Mary's, e.g. on Monday. Then they left.",
    segments: ["Dr. Smith met Mrs. Jones at St. Mary's, e.g. on Monday.", "Then they left."],
  },
  {
    name: "decimals and amounts",
    text: "It costs 3.14 dollars. Or 2.5 euros.",
    segments: ["It costs 3.14 dollars.", "Or 2.5 euros."],
  },
  {
    name: "URLs and e-mail addresses",
    text: "Visit https://example.com/a.b?c=1 today. Write to ann.lee@mail.example.org now.",
    segments: ["Visit https://example.com/a.b?c=1 today.", "Write to ann.lee@mail.example.org now."],
  },
  {
    name: "a domain name or a number at the end of a sentence",
    text: "Visit example.com. Then it rose 3.5. After that, e.g. nothing.",
    segments: ["Visit example.com.", "Then it rose 3.5.", "After that, e.g. nothing."],
  },
  {
    name: "ellipses",
    text: "Well... I think so. Hmm… Maybe not.",
    segments: ["Well... I think so.", "Hmm… Maybe not."],
  },
  {
    name: "initials and dotted abbreviations",
    text: "J. K. Rowling lives in the U.K. She writes books.",
    segments: ["J. K. Rowling lives in the U.K. She writes books."],
  },
  {
    name: "a lower-case word after a period",
    text: "Bring apples, pears, etc. and a knife. Thanks.",
    segments: ["Bring apples, pears, etc. and a knife.", "Thanks."],
  },
  {
    name: "closing quotes after the terminator",
    text: 'He said "Stop!" Then he ran.',
    segments: ['He said "Stop!"', "Then he ran."],
  },
  {
    name: "questions and exclamations together",
    text: "Really?! Yes. See chapter 3. Next we go.",
    segments: ["Really?!", "Yes.", "See chapter 3.", "Next we go."],
  },
  { name: "CJK terminators", text: "你好。今天很好！", segments: ["你好。", "今天很好！"] },
  {
    name: "paragraphs",
    text: "A heading\n\nThe body text",
    segments: ["A heading", "The body text"],
  },
]

describe("createSentenceTokenizer", () => {
  for (const row of TABLE) {
    it(`segments ${row.name} the same whether pushed whole, token by token or char by char`, () => {
      assert.deepStrictEqual(segmentsOf(row.text, [row.text.length]), row.segments)
      assert.deepStrictEqual(segmentsOf(row.text, [3, 1, 4, 1, 5, 9, 2, 6]), row.segments)
      assert.deepStrictEqual(segmentsOf(row.text, [1]), row.segments)
    })
  }

  it("cuts a sentence only once the character after the space has arrived", () => {
    const tokenizer = createSentenceTokenizer({ minChars: 0 })
    assert.deepStrictEqual(tokenizer.push("It is done."), [])
    assert.deepStrictEqual(tokenizer.push(" "), [])
    assert.deepStrictEqual(tokenizer.push("Next"), ["It is done."])
    assert.deepStrictEqual(tokenizer.flush(), ["Next"])
  })

  it("merges sentences shorter than minChars with the following ones", () => {
    const text = "Hi. Yes. I would like a table for two tonight. Ok. Thanks."
    assert.deepStrictEqual(segmentsOf(text, [2], 20), [
      "Hi. Yes. I would like a table for two tonight.",
      "Ok. Thanks.",
    ])
  })

  it("always cuts at a flush, whatever the length", () => {
    const tokenizer = createSentenceTokenizer({ minChars: 50 })
    assert.deepStrictEqual(tokenizer.push("Short one. And"), [])
    assert.deepStrictEqual(tokenizer.flush(), ["Short one. And"])
    assert.deepStrictEqual(tokenizer.push("  "), [])
    assert.deepStrictEqual(tokenizer.flush(), [])
  })

  it("never emits a segment over maxChars: cut at a clause, else a word", () => {
    const tokenizer = createSentenceTokenizer({ minChars: 0, maxChars: 30 })
    const text = "one two three four five six seven, eight nine ten eleven twelve thirteen fourteen"
    const out = [...tokenizer.push(text), ...tokenizer.flush()]
    for (const segment of out) assert.isAtMost(segment.length, 30)
    assert.strictEqual(out.join(" "), text)
    assert.strictEqual(out[0], "one two three four five six")
  })

  it("refuses a negative minChars or a non-integer maxChars", () => {
    assert.throws(() => createSentenceTokenizer({ minChars: -1 }), RangeError)
    assert.throws(() => createSentenceTokenizer({ maxChars: 0 }), RangeError)
  })
})

describe("splitText", () => {
  it("keeps a text within the limit whole", () => {
    assert.deepStrictEqual(splitText("  Hello there. Bye.  "), ["Hello there. Bye."])
    assert.deepStrictEqual(splitText("   "), [])
  })

  it("splits a text over 4096 characters at sentence ends, each piece within the limit", () => {
    const sentence = "This sentence is exactly fifty characters long ok. "
    const text = sentence.repeat(100).trim() // 5099 characters
    const pieces = splitText(text)
    assert.isAbove(pieces.length, 1)
    for (const piece of pieces) {
      assert.isAtMost(piece.length, 4096)
      assert.isTrue(piece.endsWith("ok."), "each piece ends at a sentence end")
    }
    assert.strictEqual(pieces.join(" "), text)
  })

  it("cuts one sentence longer than the limit at words", () => {
    const text = `${"word ".repeat(30).trim()}.`
    const pieces = splitText(text, 40)
    for (const piece of pieces) assert.isAtMost(piece.length, 40)
    assert.strictEqual(pieces.join(" "), text)
  })
})
