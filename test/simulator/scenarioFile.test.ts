/**
 * The scenario file (`voxstate simulate --scenario FILE`): the JSON form of the start-up
 * scenario, checked by its schema, and a simulator started with it.
 */
import { afterEach, describe, expect, it } from "vitest"
import { parseScenarioFile, ScenarioFileError, startSimulator } from "../../src/simulator/index.ts"
import type { Simulator } from "../../src/simulator/types.ts"

const simulators: Simulator[] = []
afterEach(async () => {
  await Promise.all(simulators.splice(0).map((s) => s.close()))
})

const FILE = {
  transcripts: ["hello there", { text: "slow one", delayMs: 5 }],
  replies: [
    { functionCall: { name: "get_weather", arguments: '{"city":"Paris"}', callId: "call_1" } },
    { text: "It is sunny." },
  ],
  connections: { transcription: [{ faults: [{ type: "close", code: 1006, afterEvents: 5 }] }] },
  http: { speech: [{ status: 429, headers: { "retry-after": "1" } }] },
}

const errorOf = (text: string): ScenarioFileError => {
  try {
    parseScenarioFile(text)
  } catch (error) {
    if (error instanceof ScenarioFileError) return error
    throw error
  }
  throw new Error(`accepted: ${text}`)
}

describe("parseScenarioFile", () => {
  it("reads transcripts, replies with tool calls, connection scripts and REST answers", () => {
    expect(parseScenarioFile(JSON.stringify(FILE))).toEqual(FILE)
    expect(parseScenarioFile("{}")).toEqual({})
  })

  it("refuses text that is not JSON, unknown keys, wrong shapes and unknown fault types, naming the path", () => {
    expect(errorOf("{").reason).toBe("MalformedJson")
    const typo = errorOf('{"transcript": ["x"]}')
    expect(typo.reason).toBe("InvalidScenario")
    expect(typo.message).toContain('["transcript"]')
    expect(errorOf('{"replies": [{"txt": "x"}]}').message).toContain('["replies"][0]')
    expect(
      errorOf('{"connections": {"transcription": [{"faults": [{"type": "explode"}]}]}}').message,
    ).toContain('["connections"]["transcription"][0]["faults"][0]')
    expect(errorOf('{"http": {"speach": []}}').message).toContain('["http"]["speach"]')
    expect(errorOf("[]").message).toMatch(/^not a scenario: Expected object/)
    expect(errorOf('{"transcripts": "hello"}').message).not.toContain("\n")
  })

  it("starts a simulator whose first speech request gets the scripted 429 and whose replies are the file's", async () => {
    const sim = await startSimulator({ scenario: parseScenarioFile(JSON.stringify(FILE)) })
    simulators.push(sim)
    const auth = { authorization: `Bearer ${sim.apiKey}`, "content-type": "application/json" }
    const speech = await fetch(`${sim.httpUrl}/audio/speech`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ model: "gpt-4o-mini-tts", voice: "alloy", input: "hi", response_format: "pcm" }),
    })
    expect(speech.status).toBe(429)
    const chat = await fetch(`${sim.httpUrl}/chat/completions`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ model: "gpt-4.1-mini", messages: [{ role: "user", content: "Weather?" }] }),
    })
    const body = (await chat.json()) as { choices: { message: { tool_calls: { id: string }[] } }[] }
    expect(body.choices[0]?.message.tool_calls[0]?.id).toBe("call_1")
  })
})
