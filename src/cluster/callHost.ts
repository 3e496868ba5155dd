/**
 * The calls one runner holds: each an agent session (src/agent) resumed from its checkpoint,
 * its media connection attached when the front door hands it over, a checkpoint written at
 * every turn end. The `VoiceCall` entity's handlers drive it; it knows nothing of the cluster.
 *
 * Media: binary WebSocket messages are the caller's PCM16 (24 kHz mono, little-endian), the
 * agent's audio goes back the same way, and the call's events go out as JSON text messages
 * (`user_transcript`, `agent_spoke`, `agent_interrupted`, `call_resumed`, `error`).
 * @module
 */
import type WebSocket from "ws"
import {
  type AgentEvent,
  type AgentSession,
  type AgentSessionOptions,
  createAgentSession,
  resumeAgentSession,
} from "../agent/AgentSession.ts"
import { type AudioInput, type AudioOutput, CALL_RATE_HZ, createCallRecorder } from "../agent/audio.ts"
import type { Agent } from "../agent/define.ts"
import { type AudioFrame, makeAudioFrame, pcm16FromBytes } from "../audio/index.ts"
import type { Scrubber } from "../transport/scrub.ts"
import { type CallCheckpoint, CHECKPOINT_VERSION } from "./CallStore.ts"
import { ClusterError } from "./ClusterError.ts"

/** Unsent bytes on a media socket above which the agent's frames are dropped (and counted). */
const MEDIA_HIGH_WATER_BYTES = 1 << 20

/** A call running on this runner. */
export interface LiveCall {
  readonly callId: string
  readonly turns: () => number
  readonly resumes: number
  /** The agent's state: `idle`, `thinking`, `runningTools`, `speaking`. */
  readonly agentState: () => string
  readonly mediaAttached: () => boolean
  attach(socket: WebSocket): void
  say(text: string): void
  interrupt(): void
  handOff(instructions: string, greeting: string | undefined): Promise<void>
  /** Resolves once the caller is silent and the agent idle, or after `boundMs`. */
  quiet(boundMs: number): Promise<void>
  /** Ends the call for good (its checkpoint goes). */
  end(): Promise<void>
  /** Leaves the call for another runner: checkpoint written, session closed, media closed. */
  leave(): Promise<void>
  /** Resolves when the call ends for good (not when it leaves). */
  readonly ended: Promise<void>
}

/** Options of {@link createCallHost}. */
export interface CallHostOptions {
  readonly agent: Agent
  readonly env: Record<string, string | undefined>
  /** Writes a checkpoint (serialized per call by the host). */
  readonly save: (checkpoint: CallCheckpoint) => Promise<void>
  readonly remove: (callId: string) => Promise<void>
  /** Called when the number of calls changes. */
  readonly onLoad?: (calls: number) => void
  /** Scrubs the credential from texts sent to the caller. */
  readonly scrub: Scrubber
  /** Per-session options besides the agent and audio (the minimum interruption...). */
  readonly minInterruptionMs?: number
}

/** The runner's calls. */
export interface CallHost {
  /** Starts or resumes `callId` (the same call when it is already here). */
  run(callId: string, checkpoint: CallCheckpoint | undefined, greeting: string | undefined): LiveCall
  get(callId: string): LiveCall | undefined
  readonly size: () => number
  readonly callIds: () => readonly string[]
  /** Leaves every call (the runner is stopping). */
  leaveAll(): Promise<void>
}

/** Creates the call host of a runner. */
export const createCallHost = (options: CallHostOptions): CallHost => {
  const calls = new Map<string, LiveCall>()
  const report = () => options.onLoad?.(calls.size)

  const run = (callId: string, checkpoint: CallCheckpoint | undefined, greeting: string | undefined) => {
    const existing = calls.get(callId)
    if (existing !== undefined) return existing
    let media: WebSocket | undefined
    let sink: ((frame: AudioFrame) => void) | undefined
    let instructions = checkpoint?.instructions ?? options.agent.instructions
    let turns = checkpoint?.turns ?? 0
    const resumes = checkpoint === undefined ? 0 : checkpoint.resumes + 1
    let saving: Promise<void> = Promise.resolve()
    let finished = false
    let resolveEnded: () => void = () => {}
    const ended = new Promise<void>((resolve) => {
      resolveEnded = resolve
    })

    const sendJson = (value: Record<string, unknown>) => {
      if (media !== undefined && media.readyState === media.OPEN)
        media.send(options.scrub(JSON.stringify(value)))
    }
    // One input per agent session: a hand-off's closing session must not stop the next one's.
    const inputOf = (): AudioInput => {
      let mine: ((frame: AudioFrame) => void) | undefined
      return {
        finished: false,
        start(push) {
          mine = push
          sink = push
        },
        stop() {
          if (sink === mine) sink = undefined
        },
      }
    }
    const outputOf = (): AudioOutput => {
      const recorder = createCallRecorder()
      return {
        ...recorder,
        agent(frame, atMs) {
          recorder.agent(frame, atMs)
          if (media === undefined || media.readyState !== media.OPEN) return
          if (media.bufferedAmount > MEDIA_HIGH_WATER_BYTES) return
          const data = frame.data
          media.send(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
        },
        // The recorder keeps no caller track here: the call can last for hours.
        caller() {},
      }
    }

    let agentState = "idle"
    let userState = "silent"
    const checkpointOf = (session: AgentSession): CallCheckpoint => ({
      version: CHECKPOINT_VERSION,
      callId,
      session: session.persist(),
      turns,
      instructions,
      resumes,
    })
    const save = (session: AgentSession) => {
      const checkpoint = checkpointOf(session)
      saving = saving.then(() => options.save(checkpoint)).catch(() => {})
      return saving
    }

    const { greeting: _greeting, ...agentWithoutGreeting } = options.agent
    const sessionOptions = (line: string | undefined): AgentSessionOptions => ({
      agent: {
        ...agentWithoutGreeting,
        instructions,
        ...(line === undefined ? {} : { greeting: line }),
      },
      env: options.env,
      input: inputOf(),
      output: outputOf(),
      ...(options.minInterruptionMs === undefined ? {} : { minInterruptionMs: options.minInterruptionMs }),
    })
    // A resumed call does not greet again, whether or not it got to a turn's end.
    const session =
      checkpoint?.session === undefined
        ? createAgentSession(
            sessionOptions(checkpoint === undefined ? (greeting ?? options.agent.greeting) : undefined),
          )
        : resumeAgentSession(checkpoint.session, sessionOptions(undefined))
    void (async () => {
      for await (const event of session as AsyncIterable<AgentEvent>) {
        if (event.type === "agent_state") agentState = event.state
        else if (event.type === "user_state") userState = event.state
        else if (event.type === "user_transcript" && event.final) {
          turns += 1
          sendJson({ type: "user_transcript", text: event.text })
          void save(session)
        } else if (event.type === "agent_transcript") {
          // A reply's end (played to its end or cut off): the turn's checkpoint.
          sendJson({ type: "agent_transcript", text: event.text, interrupted: event.interrupted })
          void save(session)
        } else if (event.type === "error") {
          sendJson({
            type: "error",
            message: event.error instanceof Error ? event.error.message : String(event.error),
          })
        }
      }
    })()

    const close = async (forGood: boolean) => {
      if (finished) return
      finished = true
      calls.delete(callId)
      report()
      if (!forGood) await save(session)
      await session.close()
      await saving
      if (forGood) await options.remove(callId).catch(() => {})
      if (media !== undefined) {
        sendJson({ type: forGood ? "call_ended" : "call_moving" })
        media.close(forGood ? 1000 : 1012, forGood ? "call ended" : "call moving")
      }
      media = undefined
      if (forGood) resolveEnded()
    }

    const call: LiveCall = {
      callId,
      turns: () => turns,
      resumes,
      agentState: () => agentState,
      mediaAttached: () => media !== undefined && media.readyState === media.OPEN,
      attach(socket) {
        if (media !== undefined && media !== socket) media.close(4000, "replaced")
        media = socket
        socket.binaryType = "nodebuffer"
        socket.on("message", (data: Buffer, isBinary: boolean) => {
          if (!isBinary || media !== socket) return
          if (data.byteLength % 2 !== 0) {
            sendJson({ type: "error", message: "Audio frames are PCM16: an even number of bytes" })
            return
          }
          const samples = pcm16FromBytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
          sink?.(makeAudioFrame(samples, CALL_RATE_HZ, 1))
        })
        socket.on("close", () => {
          if (media === socket) media = undefined
        })
        sendJson({ type: "call_attached", callId, turns: call.turns(), resumes })
        if (resumes > 0) sendJson({ type: "call_resumed", turns: call.turns(), resumes })
      },
      say(text) {
        if (text.trim() === "")
          throw new ClusterError({ reason: "InvalidInput", message: "say: the text is empty" })
        session.say(text)
      },
      interrupt() {
        session.interrupt()
      },
      async handOff(next, line) {
        instructions = next
        session.updateAgent({
          ...agentWithoutGreeting,
          instructions,
          ...(line === undefined ? {} : { greeting: line }),
        })
        await save(session)
      },
      async quiet(boundMs) {
        const until = Date.now() + boundMs
        while (Date.now() < until) {
          if (agentState === "idle" && userState === "silent") return
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      },
      end: () => close(true),
      leave: () => close(false),
      ended,
    }
    calls.set(callId, call)
    report()
    return call
  }

  return {
    run,
    get: (callId) => calls.get(callId),
    size: () => calls.size,
    callIds: () => [...calls.keys()],
    leaveAll: async () => {
      await Promise.all([...calls.values()].map((c) => c.leave()))
    },
  }
}
