/**
 * Fidelity: OpenAI's own `@openai/agents-realtime` (its WebSocket transport pointed at the
 * simulator with `url`) holds a conversation with a tool call and an interruption.
 */
import { RealtimeAgent, RealtimeSession, type TransportEvent, tool } from "@openai/agents-realtime"
import { afterEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { concatPcm, type Simulator, silence, startSimulator, tone } from "../../src/simulator/index.ts"

let sim: Simulator | undefined
let session: RealtimeSession | undefined

afterEach(async () => {
  session?.close()
  session = undefined
  await sim?.close()
  sim = undefined
})

type Raw = { type: string; [key: string]: unknown }

/** Collects the raw server events the SDK's transport sees, and waits for one. */
const watch = (s: RealtimeSession) => {
  const events: Raw[] = []
  const waiters: Array<{ predicate: (event: Raw) => boolean; resolve: (event: Raw) => void }> = []
  s.transport.on("*", (event: TransportEvent) => {
    const raw = event as unknown as Raw
    events.push(raw)
    for (const waiter of [...waiters]) {
      if (waiter.predicate(raw)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(raw)
      }
    }
  })
  const next = (predicate: (event: Raw) => boolean): Promise<Raw> =>
    new Promise((resolve) => {
      waiters.push({ predicate, resolve })
    })
  return { events, next }
}

const LONG_ANSWER =
  "Once upon a time there was a lighthouse keeper who counted every wave that reached the rocks, " +
  "and every evening he wrote the number in a small blue book that nobody else was allowed to read."

const responseDone = (event: Raw) => event.type === "response.done"
const statusOf = (event: Raw) => (event.response as { status?: string } | undefined)?.status

describe("@openai/agents-realtime against the simulator", () => {
  it("holds a conversation with a tool call and an interruption", async () => {
    sim = await startSimulator({
      scenario: {
        replies: [
          { functionCall: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { text: "It is sunny in Paris." },
          { text: LONG_ANSWER },
          { text: "Sure, go ahead." },
        ],
        transcripts: ["Wait, stop."],
      },
    })
    // Pace the deltas so the long answer is still streaming when the user barges in.
    sim.scenario.nextConnection("realtime", { latency: { betweenDeltasMs: 25 } })
    const cities: string[] = []
    const agent = new RealtimeAgent({
      name: "assistant",
      instructions: "Answer briefly.",
      tools: [
        tool({
          name: "get_weather",
          description: "The weather of a city.",
          parameters: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            cities.push(city)
            return `Sunny in ${city}`
          },
        }),
      ],
    })
    session = new RealtimeSession(agent, {
      transport: "websocket",
      model: "gpt-realtime",
      tracingDisabled: true,
      config: {
        audio: { input: { turnDetection: { type: "server_vad", silenceDurationMs: 300 } } },
      },
    })
    const seen = watch(session)
    let interruptions = 0
    session.on("audio_interrupted", () => {
      interruptions += 1
    })
    const errors: unknown[] = []
    session.on("error", (error) => errors.push(error))

    await session.connect({ apiKey: sim.apiKey ?? "", url: `${sim.url}/realtime?model=gpt-realtime` })

    // Turn 1: a question answered by a tool call, then by text once the tool output is in.
    const toolResponseDone = seen.next(
      (e) => responseDone(e) && (e.response as { output: Raw[] }).output[0]?.type === "function_call",
    )
    const answerDone = seen.next(
      (e) => responseDone(e) && JSON.stringify(e.response).includes("It is sunny in Paris."),
    )
    session.sendMessage("What is the weather in Paris?")
    expect(statusOf(await toolResponseDone)).toBe("completed")
    expect(statusOf(await answerDone)).toBe("completed")
    expect(cities).toEqual(["Paris"])
    const server = sim.connections.find((c) => c.kind === "realtime")
    const toolOutput = server?.received.find(
      (e) =>
        e.type === "conversation.item.create" && JSON.stringify(e.payload).includes("function_call_output"),
    )
    expect(JSON.stringify(toolOutput?.payload)).toContain("Sunny in Paris")

    // Turn 2: a long answer, interrupted by the user speaking (server VAD cancels it).
    const firstAudio = seen.next((e) => e.type === "response.output_audio.delta")
    const cancelled = seen.next((e) => responseDone(e) && statusOf(e) === "cancelled")
    const truncated = seen.next((e) => e.type === "conversation.item.truncated")
    const followUpDone = seen.next(
      (e) => responseDone(e) && JSON.stringify(e.response).includes("Sure, go ahead."),
    )
    session.sendMessage("Tell me a long story.")
    await firstAudio
    const speech = concatPcm(tone(400), silence(600))
    session.sendAudio(
      speech.buffer.slice(speech.byteOffset, speech.byteOffset + speech.byteLength) as ArrayBuffer,
    )

    const cancel = await cancelled
    expect((cancel.response as { status_details: { reason: string } }).status_details.reason).toBe(
      "turn_detected",
    )
    const truncate = await truncated
    const audioSentMs = seen.events
      .filter((e) => e.type === "response.output_audio.delta" && e.item_id === truncate.item_id)
      .reduce((ms, e) => ms + Buffer.from(e.delta as string, "base64").byteLength / 48, 0)
    expect(truncate.audio_end_ms as number).toBeLessThanOrEqual(audioSentMs)
    expect(interruptions).toBeGreaterThanOrEqual(1)

    // The user's turn is committed by VAD and answered (create_response).
    expect(statusOf(await followUpDone)).toBe("completed")
    const transcribed = seen.events.find(
      (e) => e.type === "conversation.item.input_audio_transcription.completed",
    )
    expect(transcribed?.transcript).toBe("Wait, stop.")
    expect(errors).toEqual([])
    // Every event the SDK sent was accepted: the simulator answered none with an error.
    expect(server?.sent.filter((e) => (e as Raw).type === "error")).toEqual([])
  })
})
