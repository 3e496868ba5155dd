/**
 * Realtime conversation mode against real sockets: session validation, conversation items,
 * response streaming, function calls, cancellation, interruption and truncation.
 */
import { Buffer } from "node:buffer"
import { afterEach, describe, expect, it } from "vitest"
import {
  concatPcm,
  type ReplyRequest,
  type Simulator,
  type SimulatorOptions,
  silence,
  speechDurationMs,
  startSimulator,
  tone,
} from "../../src/simulator/index.ts"
import { AUTH, connect, type Ev, type TestClient } from "./realtimeTestClient.ts"

let sim: Simulator | undefined
const clients: TestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await sim?.close()
  sim = undefined
})

const open = async (options: SimulatorOptions = {}) => {
  sim ??= await startSimulator(options)
  const client = await connect(`${sim.url}/realtime?model=gpt-realtime`, AUTH)
  clients.push(client)
  await client.next("session.created")
  return client
}

const update = async (client: TestClient, session: object) => {
  client.send({ type: "session.update", session: { type: "realtime", ...session } })
  return client.next((e) => e.type === "session.updated" || e.type === "error")
}

const userText = (text: string) => ({
  type: "conversation.item.create",
  item: { type: "message", role: "user", content: [{ type: "input_text", text }] },
})

const audioBytes = (events: Ev[]) =>
  events.reduce((sum, e) => sum + Buffer.from(e.delta as string, "base64").byteLength, 0)

/** Event types in order, with runs of the same delta type collapsed to one. */
const shape = (events: Ev[]) => {
  const out: string[] = []
  for (const e of events) {
    if (e.type.endsWith(".delta") && out.at(-1) === e.type) continue
    out.push(e.type)
  }
  return out
}

describe("conversation session config", () => {
  it("opens with the GA realtime session defaults", async () => {
    sim = await startSimulator()
    const client = await connect(`${sim.url}/realtime?model=gpt-realtime-mini`, AUTH)
    clients.push(client)
    const created = await client.next("session.created")
    expect(created.session).toMatchObject({
      type: "realtime",
      model: "gpt-realtime-mini",
      output_modalities: ["audio"],
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          turn_detection: { type: "server_vad", create_response: true, interrupt_response: true },
        },
        output: { format: { type: "audio/pcm", rate: 24000 }, voice: "alloy" },
      },
      tools: [],
      tool_choice: "auto",
    })
  })

  it("refuses temperature, beta flat fields and nested tools with the offending path", async () => {
    const client = await open()
    expect((await update(client, { temperature: 0.8 })).error).toMatchObject({
      code: "unknown_parameter",
      param: "session.temperature",
    })
    expect((await update(client, { voice: "alloy" })).error).toMatchObject({
      code: "unknown_parameter",
      param: "session.voice",
    })
    expect(
      (await update(client, { tools: [{ type: "function", function: { name: "f" } }] })).error,
    ).toMatchObject({ code: "unknown_parameter", param: "session.tools[0].function" })
    expect((await update(client, { tools: [{ type: "function" }] })).error).toMatchObject({
      code: "missing_required_parameter",
      param: "session.tools[0].name",
    })
  })

  it("refuses two output modalities, unknown voices and a transcription type", async () => {
    const client = await open()
    expect((await update(client, { output_modalities: ["text", "audio"] })).error).toMatchObject({
      code: "invalid_value",
      param: "session.output_modalities",
    })
    expect((await update(client, { audio: { output: { voice: "robot" } } })).error).toMatchObject({
      code: "invalid_value",
      param: "session.audio.output.voice",
    })
    client.send({ type: "session.update", session: { type: "transcription" } })
    expect((await client.next("error")).error).toMatchObject({ code: "invalid_value", param: "session.type" })
    client.send({ type: "session.update", session: { instructions: "x" } })
    expect((await client.next("error")).error).toMatchObject({
      code: "missing_required_parameter",
      param: "session.type",
    })
  })

  it("accepts a full GA session and echoes it", async () => {
    const client = await open()
    const updated = await update(client, {
      model: "gpt-realtime",
      instructions: "Be brief.",
      output_modalities: ["text"],
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          transcription: { model: "gpt-4o-mini-transcribe" },
          turn_detection: { type: "semantic_vad", eagerness: "high" },
          noise_reduction: { type: "near_field" },
        },
        output: { format: { type: "audio/pcm" }, voice: "marin", speed: 1.1 },
      },
      tools: [{ type: "function", name: "lookup", description: "Looks up.", parameters: { type: "object" } }],
      tool_choice: { type: "function", name: "lookup" },
      max_output_tokens: 1024,
      tracing: "auto",
    })
    expect(updated.type).toBe("session.updated")
    expect(updated.session).toMatchObject({
      instructions: "Be brief.",
      output_modalities: ["text"],
      tools: [{ type: "function", name: "lookup" }],
      tool_choice: { type: "function", name: "lookup" },
      max_output_tokens: 1024,
      audio: {
        input: {
          turn_detection: { type: "semantic_vad", eagerness: "high" },
          transcription: { model: "gpt-4o-mini-transcribe" },
        },
        output: { voice: "marin", speed: 1.1 },
      },
    })
  })

  it("keeps the voice once assistant audio exists", async () => {
    const client = await open({ scenario: { replies: [{ text: "Hi." }] } })
    expect((await update(client, { audio: { output: { voice: "coral" } } })).type).toBe("session.updated")
    client.send({ type: "response.create" })
    await client.next("response.done")
    expect((await update(client, { audio: { output: { voice: "cedar" } } })).error).toMatchObject({
      code: "cannot_update_voice",
    })
  })
})

describe("conversation items", () => {
  it("adds items with previous_item_id: appended, at root, after a given item", async () => {
    const client = await open()
    client.send({ ...userText("one"), event_id: "e1" })
    const first = await client.next("conversation.item.added")
    const firstDone = await client.next("conversation.item.done")
    expect(first.previous_item_id).toBeNull()
    expect(firstDone.item).toMatchObject({
      id: first.item.id,
      type: "message",
      role: "user",
      status: "completed",
    })
    client.send(userText("two"))
    const second = await client.next("conversation.item.added")
    expect(second.previous_item_id).toBe(first.item.id)
    client.send({ ...userText("zero"), previous_item_id: "root" })
    expect((await client.next("conversation.item.added")).previous_item_id).toBeNull()
    client.send({ ...userText("one and a half"), previous_item_id: first.item.id })
    expect((await client.next("conversation.item.added")).previous_item_id).toBe(first.item.id)
    client.send({ ...userText("nowhere"), previous_item_id: "item_missing" })
    expect((await client.next("error")).error).toMatchObject({
      code: "invalid_value",
      param: "previous_item_id",
    })
  })

  it("validates items as the GA service does", async () => {
    const client = await open()
    client.send({
      type: "conversation.item.create",
      item: { type: "message", role: "assistant", content: [{ type: "text", text: "hi" }] },
    })
    expect((await client.next("error")).error).toMatchObject({
      code: "invalid_value",
      param: "item.content[0].type",
    })
    client.send({
      type: "conversation.item.create",
      item: { type: "message", role: "assistant", content: [{ type: "output_audio", transcript: "hi" }] },
    })
    expect((await client.next("error")).error).toMatchObject({
      code: "invalid_value",
      param: "item.content[0].type",
    })
    client.send({
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: "call_x", output: "{}" },
    })
    expect((await client.next("error")).error).toMatchObject({ code: "invalid_value", param: "item.call_id" })
    client.send({ type: "conversation.item.create", item: { type: "message", role: "user" } })
    expect((await client.next("error")).error).toMatchObject({
      code: "missing_required_parameter",
      param: "item.content",
    })
    client.send({
      type: "conversation.item.create",
      item: {
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "Earlier answer." }],
      },
    })
    expect((await client.next("conversation.item.added")).item.role).toBe("assistant")
  })

  it("deletes and retrieves items, and reports unknown ids", async () => {
    const client = await open()
    const audio = Buffer.from(new Int16Array([1, 2, 3, 4]).buffer).toString("base64")
    client.send({
      type: "conversation.item.create",
      item: {
        id: "item_mine",
        type: "message",
        role: "user",
        content: [{ type: "input_audio", audio, transcript: "hm" }],
      },
    })
    const added = await client.next("conversation.item.added")
    expect(added.item.content[0]).toEqual({ type: "input_audio", transcript: "hm" })
    client.send({ type: "conversation.item.retrieve", item_id: "item_mine" })
    expect((await client.next("conversation.item.retrieved")).item.content[0].audio).toBe(audio)
    client.send({ type: "conversation.item.delete", item_id: "item_mine" })
    expect(await client.next("conversation.item.deleted")).toMatchObject({ item_id: "item_mine" })
    client.send({ type: "conversation.item.retrieve", item_id: "item_mine" })
    expect((await client.next("error")).error).toMatchObject({ code: "item_not_found", param: "item_id" })
    client.send({ type: "conversation.item.delete", item_id: "item_mine" })
    expect((await client.next("error")).error.code).toBe("item_not_found")
  })
})

describe("responses", () => {
  it("streams an audio reply in the service's order, deltas interleaved", async () => {
    const client = await open({ scenario: { replies: [{ text: "Hello there, how are you today?" }] } })
    client.send(userText("hi"))
    client.send({ type: "response.create" })
    const done = await client.next("response.done")
    const start = client.events.findIndex((e) => e.type === "response.created")
    const stream = client.events.slice(start)
    expect(shape(stream.filter((e) => !e.type.endsWith(".delta")))).toEqual([
      "response.created",
      "rate_limits.updated",
      "response.output_item.added",
      "conversation.item.added",
      "response.content_part.added",
      "response.output_audio.done",
      "response.output_audio_transcript.done",
      "response.content_part.done",
      "response.output_item.done",
      "conversation.item.done",
      "response.done",
    ])
    const deltas = stream.filter((e) => e.type.endsWith(".delta")).map((e) => e.type)
    // Transcript and audio deltas alternate rather than coming in two blocks.
    const firstAudio = deltas.indexOf("response.output_audio.delta")
    expect(deltas.lastIndexOf("response.output_audio_transcript.delta")).toBeGreaterThan(firstAudio)
    const transcript = client
      .all("response.output_audio_transcript.delta")
      .map((e) => e.delta)
      .join("")
    expect(transcript).toBe("Hello there, how are you today?")
    expect(done.response).toMatchObject({
      status: "completed",
      output: [
        {
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_audio", transcript }],
        },
      ],
    })
    const usage = done.response.usage
    expect(usage.output_token_details.audio_tokens).toBeGreaterThan(0)
    expect(usage.input_token_details.text_tokens).toBeGreaterThan(0)
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens)
    const ids = new Set(client.all("response.output_audio.delta").map((e) => `${e.response_id}/${e.item_id}`))
    expect(ids).toEqual(new Set([`${done.response.id}/${done.response.output[0].id}`]))
  })

  it("makes audio whose length follows the text, in chunks of at most 150 ms", async () => {
    const short = "Yes."
    const long = "Certainly, I can describe the whole plan for tomorrow in some detail."
    const client = await open({ scenario: { replies: [{ text: short }, { text: long }] } })
    client.send({ type: "response.create" })
    await client.next("response.done")
    const shortBytes = audioBytes(client.all("response.output_audio.delta"))
    client.send({ type: "response.create" })
    await client.next("response.done")
    const chunks = client.all("response.output_audio.delta")
    const longBytes = audioBytes(chunks) - shortBytes
    expect(shortBytes / 48).toBeCloseTo(speechDurationMs(short), -1)
    expect(longBytes / 48).toBeCloseTo(speechDurationMs(long), -1)
    expect(longBytes).toBeGreaterThan(5 * shortBytes)
    expect(Math.max(...chunks.map((e) => Buffer.from(e.delta, "base64").byteLength))).toBe(150 * 48)
  })

  it("streams text deltas and no audio for output_modalities text", async () => {
    const client = await open({ scenario: { replies: [{ text: "Plain text answer." }] } })
    client.send({ type: "response.create", response: { output_modalities: ["text"] } })
    const done = await client.next("response.done")
    expect(client.all("response.output_text.delta").map((e) => e.delta)).toEqual([
      "Plain",
      " text",
      " answer.",
    ])
    expect(client.all("response.output_audio.delta")).toEqual([])
    expect(client.all("response.output_text.done")[0]?.text).toBe("Plain text answer.")
    expect(done.response.output[0].content).toEqual([{ type: "output_text", text: "Plain text answer." }])
  })

  it("refuses a second response while one is active", async () => {
    const client = await open({
      scenario: { replies: [{ text: "A fairly long answer to keep the stream busy." }] },
    })
    client.send({ type: "response.create" })
    client.send({ type: "response.create", event_id: "second" })
    const error = await client.next("error")
    expect(error.error).toMatchObject({
      code: "conversation_already_has_active_response",
      event_id: "second",
    })
    await client.next("response.done")
    expect(client.all("response.created")).toHaveLength(1)
  })

  it("runs an out-of-band response beside the conversation's own", async () => {
    const client = await open({
      scenario: { replies: [{ text: "Main answer is here." }, { text: "Side note." }] },
    })
    client.send({ type: "response.create" })
    client.send({
      type: "response.create",
      response: { conversation: "none", metadata: { purpose: "summary" }, output_modalities: ["text"] },
    })
    const a = await client.next("response.done")
    const b = await client.next("response.done")
    const sideNote = [a, b].find((d) => d.response.metadata?.purpose === "summary")
    expect(sideNote?.response.conversation_id).toBeNull()
    const added = client.all("conversation.item.added").map((e) => e.item.id)
    expect(added).not.toContain(sideNote?.response.output[0].id)
  })

  it("ends a response at max_output_tokens with status incomplete", async () => {
    const client = await open({
      scenario: { replies: [{ text: "This reply is far longer than the limit allows it to be." }] },
    })
    client.send({ type: "response.create", response: { max_output_tokens: 12, output_modalities: ["text"] } })
    const done = await client.next("response.done")
    expect(done.response).toMatchObject({
      status: "incomplete",
      status_details: { type: "incomplete", reason: "max_output_tokens" },
      max_output_tokens: 12,
    })
    expect(done.response.output[0].status).toBe("incomplete")
    expect(done.response.usage.output_tokens).toBeGreaterThanOrEqual(12)
    expect(client.all("response.output_text.done")[0]?.text.length).toBeLessThan(56)
  })

  it("passes the conversation to a reply function", async () => {
    const requests: ReplyRequest[] = []
    const client = await open({
      scenario: {
        replies: (request) => {
          requests.push(request)
          return { text: `Reply ${request.index}` }
        },
      },
    })
    client.send(userText("What time is it?"))
    client.send({ type: "response.create" })
    await client.next("response.done")
    expect(requests[0]?.index).toBe(0)
    expect(requests[0]?.input).toMatchObject([
      { role: "user", content: [{ type: "input_text", text: "What time is it?" }] },
    ])
  })
})

describe("function calls", () => {
  it("streams the call and waits for its output and a new response.create", async () => {
    const requests: ReplyRequest[] = []
    const replies = [
      {
        functionCall: {
          name: "get_weather",
          arguments: '{"city":"Paris","unit":"celsius"}',
          callId: "call_1",
        },
      },
      { text: "It is 21 degrees." },
    ]
    const client = await open({
      scenario: {
        replies: (request) => {
          requests.push(request)
          return replies[request.index] ?? { text: "?" }
        },
      },
    })
    client.send(userText("Weather in Paris?"))
    client.send({ type: "response.create" })
    const added = await client.next("response.output_item.added")
    expect(added.item).toMatchObject({
      type: "function_call",
      name: "get_weather",
      call_id: "call_1",
      arguments: "",
    })
    const argsDone = await client.next("response.function_call_arguments.done")
    const itemDone = await client.next("response.output_item.done")
    const done = await client.next("response.done")
    const deltas = client.all("response.function_call_arguments.delta")
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.map((d) => d.delta).join("")).toBe('{"city":"Paris","unit":"celsius"}')
    expect(argsDone).toMatchObject({
      call_id: "call_1",
      name: "get_weather",
      arguments: '{"city":"Paris","unit":"celsius"}',
    })
    expect(itemDone.item).toMatchObject({
      status: "completed",
      arguments: '{"city":"Paris","unit":"celsius"}',
    })
    expect(done.response.status).toBe("completed")
    // Nothing more until the client answers.
    client.send({
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: "call_1", output: '{"c":21}' },
    })
    await client.next("conversation.item.done")
    expect(client.all("response.created")).toHaveLength(1)
    client.send({ type: "response.create" })
    const answer = await client.next("response.done")
    expect(answer.response.output[0].content[0].transcript).toBe("It is 21 degrees.")
    expect(requests[1]?.input.slice(-2)).toMatchObject([
      { type: "function_call", call_id: "call_1" },
      { type: "function_call_output", call_id: "call_1", output: '{"c":21}' },
    ])
  })
})

describe("parallel function calls", () => {
  it("streams several calls as output items of one response, and answers once all outputs are in", async () => {
    const requests: ReplyRequest[] = []
    const client = await open({
      scenario: {
        replies: (request) => {
          requests.push(request)
          return request.index === 0
            ? {
                functionCalls: [
                  { name: "get_weather", arguments: '{"city":"Paris"}', callId: "call_p" },
                  { name: "get_time", arguments: '{"zone":"Europe/Paris"}' },
                ],
              }
            : { text: "Sunny, and it is noon." }
        },
      },
    })
    client.send(userText("Weather and time in Paris?"))
    client.send({ type: "response.create" })
    const done = await client.next("response.done")
    expect(done.response.status).toBe("completed")
    expect(done.response.output).toMatchObject([
      { type: "function_call", name: "get_weather", call_id: "call_p", arguments: '{"city":"Paris"}' },
      { type: "function_call", name: "get_time", arguments: '{"zone":"Europe/Paris"}' },
    ])
    const [first, second] = done.response.output as Ev[]
    expect(second?.call_id).toMatch(/^call_/)
    expect(client.all("response.output_item.added").map((e) => [e.output_index, e.item.id])).toEqual([
      [0, first?.id],
      [1, second?.id],
    ])
    // Each call is closed before the next opens, its deltas keyed by its own item and call ids.
    const start = client.events.findIndex((e) => e.type === "response.created")
    expect(
      client.events
        .slice(start)
        .filter(
          (e) =>
            e.type.startsWith("response.function_call_arguments") ||
            e.type.startsWith("response.output_item"),
        )
        .map((e) => `${e.type.replace("response.", "")}:${e.output_index}`)
        .filter((entry, i, all) => entry !== all[i - 1]),
    ).toEqual([
      "output_item.added:0",
      "function_call_arguments.delta:0",
      "function_call_arguments.done:0",
      "output_item.done:0",
      "output_item.added:1",
      "function_call_arguments.delta:1",
      "function_call_arguments.done:1",
      "output_item.done:1",
    ])
    for (const call of [first, second]) {
      const deltas = client
        .all("response.function_call_arguments.delta")
        .filter((e) => e.item_id === call?.id)
      expect(deltas.every((e) => e.call_id === call?.call_id)).toBe(true)
      expect(deltas.map((e) => e.delta).join("")).toBe(call?.arguments)
    }
    expect(done.response.usage.output_tokens).toBeGreaterThan(0)
    for (const call of [first, second]) {
      client.send({
        type: "conversation.item.create",
        item: { type: "function_call_output", call_id: call?.call_id, output: '{"ok":true}' },
      })
      await client.next("conversation.item.done")
    }
    expect(client.all("response.created")).toHaveLength(1)
    client.send({ type: "response.create" })
    const answer = await client.next("response.done")
    expect(answer.response.output[0].content[0].transcript).toBe("Sunny, and it is noon.")
    expect(requests[1]?.input.slice(-4)).toMatchObject([
      { type: "function_call", call_id: "call_p" },
      { type: "function_call", call_id: second?.call_id },
      { type: "function_call_output", call_id: "call_p" },
      { type: "function_call_output", call_id: second?.call_id },
    ])
  })

  it("refuses an empty functionCalls reply with a server_error and no response", async () => {
    const client = await open({ scenario: { replies: [{ functionCalls: [] }] } })
    client.send({ type: "response.create" })
    expect((await client.next("error")).error).toMatchObject({ type: "server_error", code: "server_error" })
    expect(client.all("response.created")).toEqual([])
    client.send({ type: "response.create" })
    expect((await client.next("response.done")).response.status).toBe("completed")
  })
})

describe("idle timeout (server_vad idle_timeout_ms)", () => {
  const idleSession = (idleTimeoutMs: number, extra: object = {}) => ({
    audio: {
      input: {
        turn_detection: { type: "server_vad", idle_timeout_ms: idleTimeoutMs, create_response: false },
      },
    },
    ...extra,
  })

  it("commits the silence since response.done and starts a response when nobody speaks", async () => {
    const client = await open({
      scenario: { replies: [{ text: "Anything else?" }, { text: "Still there?" }] },
    })
    await update(client, idleSession(150, { output_modalities: ["text"] }))
    client.send({ type: "response.create" })
    await client.next("response.done")
    // 200 ms of silence streamed after the response: the session clock runs on.
    client.appendAudio(silence(200))
    const triggered = await client.next("input_audio_buffer.timeout_triggered")
    expect(triggered.audio_end_ms - triggered.audio_start_ms).toBe(200)
    expect(triggered.item_id).toMatch(/^item_/)
    const committed = await client.next("input_audio_buffer.committed")
    expect(committed.item_id).toBe(triggered.item_id)
    const added = await client.next(
      (e) => e.type === "conversation.item.added" && e.item.id === committed.item_id,
    )
    expect(added.item).toMatchObject({ role: "user", content: [{ type: "input_audio", transcript: null }] })
    // create_response is off, yet the timeout answers: the model prompts the user to go on.
    const next = await client.next("response.done")
    expect(next.response.output[0].content[0].text).toBe("Still there?")
    expect(client.all("input_audio_buffer.timeout_triggered")).toHaveLength(1)
  })

  it("counts the playback time of the response's audio before the timeout", async () => {
    const reply = "Hello there."
    const client = await open({ scenario: { replies: [{ text: reply }] } })
    await update(client, idleSession(100))
    client.send({ type: "response.create" })
    await client.next("response.done")
    const doneAt = performance.now()
    await client.next("input_audio_buffer.timeout_triggered")
    // Timers never fire early by more than a millisecond; the bound holds however slow the machine.
    expect(performance.now() - doneAt).toBeGreaterThanOrEqual(speechDurationMs(reply) + 100 - 5)
  })

  it("is disarmed by speech after the response, and by a session update turning it off", async () => {
    const client = await open({ scenario: { replies: [{ text: "Go on." }, { text: "Right." }] } })
    // 300 ms leaves ample time for the speech below to be heard before the timer would fire.
    await update(client, idleSession(300, { output_modalities: ["text"] }))
    client.send({ type: "response.create" })
    await client.next("response.done")
    client.appendAudio(concatPcm(tone(300), silence(600)))
    await client.next("input_audio_buffer.committed")
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(client.all("input_audio_buffer.timeout_triggered")).toEqual([])
    client.send({ type: "response.create" })
    await client.next("response.done")
    await update(client, {
      audio: { input: { turn_detection: { type: "server_vad", create_response: false } } },
    })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(client.all("input_audio_buffer.timeout_triggered")).toEqual([])
  })
})

describe("cancellation and interruption", () => {
  const LONG = "This answer goes on and on so that there is plenty of time to cut it short somewhere."

  it("cancels the active response with client_cancelled, closing its part and item", async () => {
    const client = await open({ scenario: { replies: [{ text: LONG }] } })
    client.send({ type: "response.create" })
    await client.next("response.output_audio.delta")
    client.send({ type: "response.cancel" })
    const done = await client.next("response.done")
    expect(done.response).toMatchObject({
      status: "cancelled",
      status_details: { type: "cancelled", reason: "client_cancelled" },
    })
    expect(done.response.output[0].status).toBe("incomplete")
    for (const type of [
      "response.output_audio.done",
      "response.output_audio_transcript.done",
      "response.output_item.done",
    ]) {
      expect(client.all(type)).toHaveLength(1)
    }
    const heard = client
      .all("response.output_audio_transcript.delta")
      .map((e) => e.delta)
      .join("")
    expect(heard.length).toBeLessThan(LONG.length)
    expect(client.all("response.output_audio_transcript.done")[0]?.transcript).toBe(heard)
  })

  it("still streams the deltas under way after a cancel when scripted, then ends cancelled", async () => {
    sim = await startSimulator({ scenario: { replies: [{ text: LONG }] } })
    sim.scenario.nextConnection("realtime", { latency: { cancelAfterDeltas: 3 } })
    const client = await open()
    client.send({ type: "response.create" })
    await client.next("response.output_audio.delta")
    const before = client.events.length
    client.send({ type: "response.cancel" })
    const done = await client.next("response.done")
    expect(done.response.status).toBe("cancelled")
    const late = client.events
      .slice(before)
      .filter((e) => e.type === "response.output_audio.delta" || e.type.endsWith("transcript.delta"))
    expect(late.length).toBeGreaterThanOrEqual(3)
  })

  it("ends completed when the response runs out before a late cancel lands", async () => {
    sim = await startSimulator({ scenario: { replies: [{ text: "Short." }] } })
    sim.scenario.nextConnection("realtime", { latency: { cancelAfterDeltas: 1_000 } })
    const client = await open()
    client.send({ type: "response.create" })
    await client.next("response.output_audio.delta")
    client.send({ type: "response.cancel" })
    const done = await client.next("response.done")
    expect(done.response.status).toBe("completed")
    client.send({ type: "response.cancel" })
    expect((await client.next("error")).error).toMatchObject({ code: "response_cancel_not_active" })
  })

  it("changes the tools mid-session and offers them to the next response", async () => {
    const client = await open()
    const tool = {
      type: "function",
      name: "lookup",
      description: "Looks a word up",
      parameters: { type: "object", properties: { word: { type: "string" } }, required: ["word"] },
    }
    const updated = await update(client, { tools: [tool], tool_choice: "auto" })
    expect(updated.type).toBe("session.updated")
    expect(updated.session.tools).toEqual([tool])
    const cleared = await update(client, { tools: [] })
    expect(cleared.session.tools).toEqual([])
  })

  it("answers a cancel with nothing active with response_cancel_not_active", async () => {
    const client = await open()
    client.send({ type: "response.cancel" })
    expect((await client.next("error")).error).toMatchObject({ code: "response_cancel_not_active" })
  })

  it("cancels the response on speech_started with turn_detected, then answers the new turn", async () => {
    const client = await open({ scenario: { replies: [{ text: LONG }, { text: "Go on." }] } })
    client.send({ type: "response.create" })
    await client.next("response.output_audio.delta")
    client.appendAudio(concatPcm(tone(300), silence(700)))
    const started = await client.next("input_audio_buffer.speech_started")
    const cancelled = await client.next("response.done")
    expect(cancelled.response.status_details).toEqual({ type: "cancelled", reason: "turn_detected" })
    const committed = await client.next("input_audio_buffer.committed")
    expect(committed.item_id).toBe(started.item_id)
    const userItem = await client.next(
      (e) => e.type === "conversation.item.added" && e.item.id === committed.item_id,
    )
    expect(userItem.item).toMatchObject({
      role: "user",
      content: [{ type: "input_audio", transcript: null }],
    })
    const next = await client.next("response.done")
    expect(next.response.status).toBe("completed")
    expect(next.response.output[0].content[0].transcript).toBe("Go on.")
  })

  it("leaves the response running without interrupt_response, and creates none without create_response", async () => {
    const client = await open({ scenario: { replies: [{ text: "Short reply here." }] } })
    await update(client, {
      audio: {
        input: { turn_detection: { type: "server_vad", interrupt_response: false, create_response: false } },
      },
    })
    client.send({ type: "response.create" })
    await client.next("response.output_audio.delta")
    client.appendAudio(concatPcm(tone(300), silence(700)))
    await client.next("input_audio_buffer.committed")
    const done = await client.next("response.done")
    expect(done.response.status).toBe("completed")
    client.send({ type: "input_audio_buffer.clear" })
    await client.next("input_audio_buffer.cleared")
    expect(client.all("response.created")).toHaveLength(1)
  })

  it("transcribes the user's audio turns when transcription is set", async () => {
    const client = await open({ scenario: { transcripts: ["turn it up"], replies: [{ text: "Done." }] } })
    await update(client, { audio: { input: { transcription: { model: "gpt-4o-transcribe" } } } })
    client.appendAudio(concatPcm(tone(400), silence(700)))
    const committed = await client.next("input_audio_buffer.committed")
    const completed = await client.next("conversation.item.input_audio_transcription.completed")
    expect(completed).toMatchObject({ item_id: committed.item_id, transcript: "turn it up" })
    client.send({ type: "conversation.item.retrieve", item_id: committed.item_id })
    const retrieved = await client.next("conversation.item.retrieved")
    expect(retrieved.item.content[0].transcript).toBe("turn it up")
    // The turn's audio: from the start of speech to the end of the 500 ms closing silence.
    expect(Buffer.from(retrieved.item.content[0].audio, "base64").byteLength).toBe(900 * 48)
  })
})

describe("truncation", () => {
  const REPLY = "One two three four five six seven eight nine ten."

  const played = async (client: TestClient) => {
    client.send({ type: "response.create" })
    const done = await client.next("response.done")
    return {
      itemId: done.response.output[0].id as string,
      sentMs: audioBytes(client.all("response.output_audio.delta")) / 48,
    }
  }

  it("truncates an assistant audio item at what was heard and cuts its transcript", async () => {
    const client = await open({ scenario: { replies: [{ text: REPLY }] } })
    const { itemId } = await played(client)
    const heardMs = Math.round(speechDurationMs("One two three"))
    client.send({
      type: "conversation.item.truncate",
      item_id: itemId,
      content_index: 0,
      audio_end_ms: heardMs,
    })
    expect(await client.next("conversation.item.truncated")).toMatchObject({
      item_id: itemId,
      content_index: 0,
      audio_end_ms: heardMs,
    })
    client.send({ type: "conversation.item.retrieve", item_id: itemId })
    const item = (await client.next("conversation.item.retrieved")).item
    expect(item.content[0].transcript).toBe("One two three")
    expect(Buffer.from(item.content[0].audio, "base64").byteLength).toBe(heardMs * 48)
  })

  it("refuses a truncate past the audio sent", async () => {
    const client = await open({ scenario: { replies: [{ text: REPLY }] } })
    const { itemId, sentMs } = await played(client)
    client.send({
      type: "conversation.item.truncate",
      item_id: itemId,
      content_index: 0,
      audio_end_ms: Math.ceil(sentMs) + 100,
    })
    expect((await client.next("error")).error).toMatchObject({ code: "invalid_value", param: "audio_end_ms" })
  })

  it("truncates an item whose response is still streaming, cancelling that response", async () => {
    const client = await open({ scenario: { replies: [{ text: REPLY }] } })
    client.send({ type: "response.create" })
    const first = await client.next("response.output_audio.delta")
    client.send({
      type: "conversation.item.truncate",
      item_id: first.item_id,
      content_index: 0,
      audio_end_ms: 50,
    })
    const done = await client.next("response.done")
    expect(done.response.status_details).toEqual({ type: "cancelled", reason: "client_cancelled" })
    expect(await client.next("conversation.item.truncated")).toMatchObject({
      item_id: first.item_id,
      audio_end_ms: 50,
    })
    client.send({ type: "conversation.item.retrieve", item_id: first.item_id })
    const item = (await client.next("conversation.item.retrieved")).item
    expect(Buffer.from(item.content[0].audio, "base64").byteLength).toBe(50 * 48)
  })

  it("refuses to truncate or delete an unknown item, and to delete one still streaming", async () => {
    const client = await open({ scenario: { replies: [{ text: REPLY }] } })
    client.send({
      type: "conversation.item.truncate",
      item_id: "item_nope",
      content_index: 0,
      audio_end_ms: 0,
    })
    expect((await client.next("error")).error).toMatchObject({ code: "item_not_found", param: "item_id" })
    client.send({ type: "response.create" })
    const added = await client.next("response.output_item.added")
    client.send({ type: "conversation.item.delete", item_id: added.item.id })
    expect((await client.next("error")).error).toMatchObject({ code: "invalid_value", param: "item_id" })
    await client.next("response.done")
    client.send({ type: "conversation.item.delete", item_id: added.item.id })
    expect(await client.next("conversation.item.deleted")).toMatchObject({ item_id: added.item.id })
  })

  it("refuses to truncate a user item", async () => {
    const client = await open()
    client.send(userText("hi"))
    const added = await client.next("conversation.item.added")
    client.send({
      type: "conversation.item.truncate",
      item_id: added.item.id,
      content_index: 0,
      audio_end_ms: 0,
    })
    expect((await client.next("error")).error).toMatchObject({ code: "invalid_value", param: "item_id" })
  })
})
