/**
 * A client process for the CLI tests: the `openai` SDK's Realtime client (`OpenAIRealtimeWS`,
 * which always speaks `wss://`) asks one text response of `gpt-realtime` and prints its text.
 * The certificate is trusted the way a user would trust the simulator's: `NODE_EXTRA_CA_CERTS`,
 * set by the parent. Exits 0 with the text on stdout, or 1 with the error on stderr.
 *
 *   node test/support/openaiRealtimeClient.ts <REST base URL> <API key> [timeout ms]
 */
import OpenAI from "openai"
import { OpenAIRealtimeWS } from "openai/realtime/ws"

const [baseURL, apiKey, timeoutText] = process.argv.slice(2)
/** How long the whole exchange may take. */
const EXCHANGE_TIMEOUT_MS = Number(timeoutText ?? 10_000)

const client = new OpenAI({ apiKey: apiKey ?? "", baseURL: baseURL ?? "" })
const rt = new OpenAIRealtimeWS({ model: "gpt-realtime" }, client)
const timer = setTimeout(() => {
  process.stderr.write(`no response.done within ${EXCHANGE_TIMEOUT_MS} ms\n`)
  process.exit(1)
}, EXCHANGE_TIMEOUT_MS)
rt.on("error", (error) => {
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
})
rt.socket.on("error", (error) => {
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
})
rt.socket.on("open", () => {
  rt.send({ type: "session.update", session: { type: "realtime", output_modalities: ["text"] } })
  rt.send({ type: "response.create" })
})
rt.on("response.done", (event) => {
  const texts = event.response.output?.flatMap((item) =>
    item.type === "message" ? item.content.map((part) => ("text" in part ? (part.text ?? "") : "")) : [],
  )
  process.stdout.write(`${rt.url.protocol} ${texts?.join("") ?? ""}\n`)
  clearTimeout(timer)
  rt.close()
})
