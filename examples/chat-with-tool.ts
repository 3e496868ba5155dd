/**
 * A multi-turn conversation with a tool: the model asks for the weather, the program answers
 * with a function output, the model replies, and the next question continues the same
 * conversation.
 *
 *   npm run example -- examples/chat-with-tool.ts [--http] [--model gpt-4.1-mini] [--simulator]
 *
 * By default the turns go over the Responses API on one WebSocket: after the first turn each
 * request carries `previous_response_id` and only the new items (the user's question or the
 * tool's output), which the program prints as it goes. `--http` uses streaming chat
 * completions instead (the whole history every turn).
 *
 * With OPENAI_API_KEY set it talks to OpenAI (or Azure, with AZURE_OPENAI_* set); otherwise, or
 * with `--simulator`, it starts the voxstate simulator in this process, scripted here as a tiny weather model.
 */
import { parseArgs } from "node:util"
import { Schema } from "effect"
import { ChatContext, createLLM, isLLMError, schemaTool, type ToolCall } from "voxstate"
import { type ModelReply, type ReplyRequest, startSimulator } from "voxstate/simulator"

// Bad input (an unknown option, a missing or unreadable file, a file that is not WAV) ends
// with one line on stderr, not a stack trace.
process.on("uncaughtException", (error) => {
  console.error(`chat-with-tool: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})

const { values } = parseArgs({
  options: {
    http: { type: "boolean", default: false },
    model: { type: "string" },
    simulator: { type: "boolean", default: false },
  },
})

// The tool: its JSON Schema comes from the Effect Schema, and so does the check of the
// model's arguments.
const getWeather = schemaTool({
  name: "get_weather",
  description: "Current weather in a city",
  schema: Schema.Struct({
    city: Schema.String.annotate({ description: "City name, e.g. Paris" }),
  }),
})

const WEATHER: Readonly<Record<string, { celsius: number; sky: string }>> = {
  paris: { celsius: 18, sky: "sunny" },
  oslo: { celsius: 6, sky: "rainy" },
  lisbon: { celsius: 22, sky: "clear" },
}

const runTool = (call: ToolCall): string => {
  const args = getWeather.decode(call.arguments)
  if (!args.ok) return JSON.stringify({ error: `bad arguments: ${args.message}` })
  const weather = WEATHER[args.value.city.toLowerCase()]
  return JSON.stringify(
    weather === undefined ? { error: "unknown city" } : { city: args.value.city, ...weather },
  )
}

// ---------------------------------------------------------------------------------------
// The simulated model (only used without an API key): reads the conversation it is given
// (Responses input items or chat-completions messages) and answers like a weather bot.

type Item = { type?: string; role?: string; content?: unknown; output?: unknown; call_id?: string }

const textOf = (item: Item): string =>
  typeof item.content === "string"
    ? item.content
    : Array.isArray(item.content)
      ? item.content.map((p: { text?: string }) => p.text ?? "").join("")
      : ""

const outputsOf = (items: readonly Item[]): { city: string; celsius: number; sky: string }[] =>
  items.flatMap((item) => {
    const raw =
      item.type === "function_call_output" ? item.output : item.role === "tool" ? item.content : undefined
    if (typeof raw !== "string") return []
    const parsed = JSON.parse(raw) as { city?: string; celsius?: number; sky?: string }
    return parsed.city === undefined
      ? []
      : [{ city: parsed.city, celsius: parsed.celsius ?? 0, sky: parsed.sky ?? "" }]
  })

const weatherBot = ({ input }: ReplyRequest): ModelReply => {
  const items = input as readonly Item[]
  const last = items.at(-1)
  if (last === undefined) return { text: "Hello!" }
  const known = outputsOf(items)
  if (last.type === "function_call_output" || last.role === "tool") {
    const latest = known.at(-1)
    return {
      text:
        latest === undefined
          ? "Sorry, I could not get the weather."
          : `It is ${latest.celsius}°C and ${latest.sky} in ${latest.city}.${latest.celsius < 10 ? " Bring a coat." : ""}`,
    }
  }
  const question = textOf(last).toLowerCase()
  const asked = Object.keys(WEATHER).find(
    (city) => question.includes(city) && !known.some((k) => k.city.toLowerCase() === city),
  )
  if (asked !== undefined) {
    const city = asked[0]?.toUpperCase() + asked.slice(1)
    return { functionCall: { name: "get_weather", arguments: JSON.stringify({ city }) } }
  }
  if (question.includes("warmer") && known.length > 1) {
    const warmest = [...known].sort((a, b) => b.celsius - a.celsius)[0]
    return { text: `${warmest?.city} is warmer, at ${warmest?.celsius}°C.` }
  }
  return { text: "You're welcome!" }
}

// ---------------------------------------------------------------------------------------

// OpenAI when a key is exported (unless --simulator), else the simulator in this process.
const live =
  !values.simulator && (Boolean(process.env.OPENAI_API_KEY) || Boolean(process.env.AZURE_OPENAI_ENDPOINT))
console.error(
  live
    ? `Using ${process.env.AZURE_OPENAI_ENDPOINT ? `Azure OpenAI at ${process.env.AZURE_OPENAI_ENDPOINT}` : `OpenAI at ${process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1"}`} (a key is set; --simulator uses the local simulator instead).`
    : `Using the voxstate simulator in this process (${values.simulator ? "--simulator" : "OPENAI_API_KEY is not set"}).`,
)
const simulator = live ? undefined : await startSimulator({ scenario: { replies: weatherBot } })
const llm = createLLM({
  transport: values.http ? "http" : "websocket",
  ...(values.model === undefined ? {} : { model: values.model }),
  ...(simulator === undefined
    ? {}
    : { openai: { apiKey: simulator.apiKey ?? "", baseUrl: simulator.httpUrl } }),
  tools: [getWeather],
})
console.log(
  `${llm.transport} transport, model ${llm.model}, ${simulator === undefined ? "live API" : "simulator"}\n`,
)

// Show what each request carried: chained (only new items) or the full context.
llm.actor?.on("turn.sent", (event) => {
  const how = event.mode === "chained" ? "chained" : `full (${event.fullReason})`
  console.log(`  · request ${how}, ${event.itemCount} item${event.itemCount === 1 ? "" : "s"} sent`)
})

const SYSTEM = "You are a concise weather assistant. Use get_weather for current conditions."
const context = new ChatContext([{ role: "system", content: SYSTEM }])
// Prewarm: the socket opens, and the system prompt and the tools are sent ahead with
// generate:false, so the first question already continues a cached response.
await llm.prewarm({ instructions: SYSTEM })

const questions = ["What's the weather in Paris?", "And in Oslo?", "Which of the two is warmer?"]

try {
  for (const question of questions) {
    console.log(`user: ${question}`)
    context.addUser(question)
    // One question may take several requests: a tool call, its output, then the answer.
    for (let step = 0; step < 4; step++) {
      let printed = false
      const calls: ToolCall[] = []
      const invalid: { callId: string; message: string }[] = []
      for await (const chunk of llm.chat(context)) {
        switch (chunk.type) {
          case "text":
            if (!printed) process.stdout.write("assistant: ")
            printed = true
            process.stdout.write(chunk.delta)
            break
          case "tool_call":
            calls.push(chunk.call)
            console.log(`  → ${chunk.call.name}(${chunk.call.rawArguments})`)
            break
          case "error":
            // The call is still part of the model's output: answer it with what went wrong.
            console.log(`  ! ${chunk.message}`)
            invalid.push({ callId: chunk.callId, message: chunk.message })
            break
          case "usage":
            if (printed) process.stdout.write("\n")
            console.log(
              `  · tokens: ${chunk.usage.promptTokens} in (${chunk.usage.cachedTokens} cached), ${chunk.usage.completionTokens} out`,
            )
            printed = false
            break
          case "end":
            if (printed) process.stdout.write("\n")
            context.addOutput(chunk.output)
            break
        }
      }
      for (const { callId, message } of invalid) context.addFunctionCallOutput(callId, { error: message })
      if (calls.length === 0 && invalid.length === 0) break
      for (const call of calls) {
        const output = runTool(call)
        console.log(`  ← ${output}`)
        context.addFunctionCallOutput(call.callId, output)
      }
    }
    console.log()
  }
} catch (error) {
  console.error(isLLMError(error) ? `LLM error (${error.reason._tag}): ${error.message}` : error)
  process.exitCode = 1
} finally {
  await llm.close()
  await simulator?.close()
}
