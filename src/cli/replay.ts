/**
 * `voxstate replay FILE [--frames]`: prints a recorded session (a JSONL recording made with
 * the `record` option or `VOXSTATE_RECORD`) as the conversation it was: what the caller said
 * or sent as audio, transcripts, the model's replies, tool calls and their outputs,
 * interruptions and errors, each at its time (and each REST request with its answer).
 * `--frames` lists every frame instead.
 * @module
 */
import { Buffer } from "node:buffer"
import { readFile } from "node:fs/promises"
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { entryText, parseRecording, type Recording } from "../transport/replay.ts"
import { CliIO, CommandFailed } from "./io.ts"

/** The arguments and flags of `replay`. */
export const replayConfig = {
  file: Argument.String("file").pipe(Argument.withDescription("the JSONL recording")),
  frames: Flag.Boolean("frames").pipe(
    Flag.withDefault(false),
    Flag.withDescription("list every frame (time, connection, direction, type) instead of the conversation"),
  ),
} as const

type Frame = Readonly<Record<string, unknown>>

const str = (value: unknown): string => (typeof value === "string" ? value : "")
const at = (ms: number): string => `${(ms / 1000).toFixed(2).padStart(7)} s`
const base64Ms = (audio: string): number => ((audio.length * 3) / 4 / 2 / 24_000) * 1000

const contentText = (content: unknown): string =>
  Array.isArray(content)
    ? content
        .map((part) => str((part as Frame).text) || str((part as Frame).transcript))
        .filter((t) => t !== "")
        .join(" ")
    : str(content)

/** The line a sent or received frame adds to the conversation, if any. */
const lineOf = (dir: "in" | "out", frame: Frame): string | undefined => {
  const type = str(frame.type)
  if (dir === "out") {
    if (type === "conversation.item.create") {
      const item = (frame.item ?? {}) as Frame
      if (item.type === "function_call_output") return `tool output   ${str(item.output)}`
      if (item.type === "message") return `${str(item.role).padEnd(13)} ${contentText(item.content)}`
      return `sends        ${str(item.type)}`
    }
    if (type === "response.create") {
      const input = (frame.input ?? (frame.response as Frame | undefined)?.input) as unknown
      if (Array.isArray(input)) {
        const said = input
          .filter((i) => (i as Frame).role === "user" || (i as Frame).type === "function_call_output")
          .map((i) =>
            (i as Frame).type === "function_call_output"
              ? `[tool output] ${str((i as Frame).output)}`
              : contentText((i as Frame).content),
          )
        if (said.length > 0) return `user          ${said.at(-1)}  (response.create, ${input.length} items)`
      }
      return "asks          a response"
    }
    if (type === "input_audio_buffer.commit") return "commits       the audio sent"
    if (type === "response.cancel") return "interrupts    (response.cancel)"
    if (type === "conversation.item.truncate")
      return `truncates     the reply at ${String(frame.audio_end_ms)} ms heard`
    if (type === "session.update") return "configures    the session"
    return undefined
  }
  if (type === "conversation.item.input_audio_transcription.completed")
    return `heard         ${str(frame.transcript)}`
  if (type === "response.output_audio_transcript.done" || type === "response.audio_transcript.done")
    return `assistant     ${str(frame.transcript)}`
  if (type === "response.output_text.done") return `assistant     ${str(frame.text)}`
  if (type === "response.function_call_arguments.done")
    return `tool call     ${str(frame.name)}(${str(frame.arguments)})`
  if (type === "input_audio_buffer.speech_started") return "speech        started"
  if (type === "input_audio_buffer.speech_stopped") return "speech        stopped"
  if (type === "error") {
    const error = (frame.error ?? frame) as Frame
    return `error         ${str(error.code) || str(error.type)}: ${str(error.message)}`
  }
  if (type === "response.done") {
    const status = str((frame.response as Frame | undefined)?.status)
    return status === "completed" ? undefined : `response      ${status}`
  }
  return undefined
}

/** The conversation of a recording, one line per thing said or done. @internal */
export const conversationLines = (recording: Recording, frames = false): string[] => {
  const lines: string[] = []
  let audioMs = 0
  let audioFrom = 0
  const flushAudio = (): void => {
    if (audioMs > 0) lines.push(`${at(audioFrom)}  caller audio  ${(audioMs / 1000).toFixed(2)} s`)
    audioMs = 0
  }
  for (const entry of recording.entries) {
    const where = `#${entry.conn}`
    if (entry.dir === "open" || entry.dir === "refused") {
      flushAudio()
      let target = entry.url
      try {
        const url = new URL(entry.url)
        target = `${url.pathname}${url.search}`
      } catch {}
      lines.push(`${at(entry.t)}  ${where} ${entry.dir === "open" ? "connected to" : "refused at"} ${target}`)
      continue
    }
    if (entry.dir === "close" || entry.dir === "end" || entry.dir === "fail") {
      flushAudio()
      const how =
        entry.dir === "close"
          ? `closed by the session (${entry.code})`
          : entry.dir === "end"
            ? "ended by the server"
            : `failed: ${entry.error.message}`
      lines.push(`${at(entry.t)}  ${where} ${how}`)
      continue
    }
    const frame = (entry.frame ?? {}) as Frame
    if (frames) {
      lines.push(
        `${at(entry.t)}  ${where} ${entry.dir === "out" ? "->" : "<-"} ${str(frame.type) || entryText(entry).slice(0, 60)}`,
      )
      continue
    }
    if (entry.dir === "out" && frame.type === "input_audio_buffer.append") {
      if (audioMs === 0) audioFrom = entry.t
      audioMs += base64Ms(str(frame.audio))
      continue
    }
    const line = lineOf(entry.dir, frame)
    if (line === undefined) continue
    flushAudio()
    lines.push(`${at(entry.t)}  ${line}`)
  }
  flushAudio()
  const answered = new Map<number, number>()
  for (const entry of recording.http) {
    if (entry.dir === "request") {
      const body = (entry.frame ?? {}) as Frame
      const said = str(body.input) || contentText((body.messages as Frame[] | undefined)?.at(-1)?.content)
      const size = entry.bodyBytes === undefined ? "" : ` (${entry.bodyBytes} bytes)`
      let path = entry.url
      try {
        path = new URL(entry.url).pathname
      } catch {}
      lines.push(
        `${at(entry.t)}  #${entry.conn} ${entry.method} ${path}${size}${said === "" ? "" : `  ${said}`}`,
      )
    } else if (entry.dir === "response") {
      lines.push(
        `${at(entry.t)}  #${entry.conn} answered ${entry.status} ${entry.headers["content-type"] ?? ""}`.trimEnd(),
      )
    } else if (entry.dir === "chunk") {
      answered.set(entry.conn, (answered.get(entry.conn) ?? 0) + Buffer.from(entry.base64, "base64").length)
    } else if (entry.dir === "done") {
      lines.push(`${at(entry.t)}  #${entry.conn} body ended after ${answered.get(entry.conn) ?? 0} bytes`)
    } else {
      lines.push(`${at(entry.t)}  #${entry.conn} failed: ${entry.message}`)
    }
  }
  return lines
}

/** `voxstate replay`. */
export const replayCommand = Command.make("replay", replayConfig, (config) =>
  Effect.gen(function* () {
    const { output } = yield* CliIO
    const recording = yield* Effect.tryPromise({
      try: async () => parseRecording(await readFile(config.file, "utf8")),
      catch: (error) =>
        new CommandFailed({
          message: `replay: ${config.file}: ${error instanceof Error ? error.message : String(error)}`,
        }),
    })
    for (const line of conversationLines(recording, config.frames)) output.out(line)
  }),
).pipe(Command.withDescription("Prints a recorded session (JSONL from VOXSTATE_RECORD) as its conversation."))
