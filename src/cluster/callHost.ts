/**
 * The calls one runner holds: each an agent session (src/agent) resumed from its checkpoint,
 * its media connection attached when the front door hands it over, a checkpoint written at
 * every turn end. The `VoiceCall` entity's handlers drive it; it knows nothing of the cluster.
 *
 * Media: the protocol of `serveAgent` (src/agent/mediaProtocol.ts), so one client speaks to
 * either: PCM16 frames both ways at the rate the client declares, the control messages, every
 * agent event out, `reply` and `clear`. The call is started by the cluster, so `start` is
 * optional here. Extras: `call_attached` first (with `audioFrames`, the index of the next
 * caller frame), `call_resumed`, `checkpoint` once a checkpoint is stored (with the caller
 * frames it holds), `call_moving` / `call_ended` last; `audio_from` in, so a replay of frames
 * the call already holds is skipped, not heard twice. What the call says while no media is
 * attached is held and sent after the next `call_attached`.
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
import type { AudioInput } from "../agent/audio.ts"
import type { Agent } from "../agent/define.ts"
import {
  bytesOf,
  createMediaOutput,
  createMediaWire,
  errorJson,
  type MediaSender,
  type MediaWire,
  readControl,
} from "../agent/mediaProtocol.ts"
import type { AudioFrame } from "../audio/index.ts"
import type { Scrubber } from "../transport/scrub.ts"
import { type CallCheckpoint, CHECKPOINT_VERSION } from "./CallStore.ts"
import { ClusterError } from "./ClusterError.ts"

/** Unsent bytes on a media socket above which the agent's frames are dropped (and counted). */
const MEDIA_HIGH_WATER_BYTES = 1 << 20
/** The agent's audio bytes a call holds while no media is attached (about 21 s at 24 kHz). */
const HELD_AUDIO_BYTES = 1 << 20
/** The messages a call holds while no media is attached (past it, the newest are dropped). */
const HELD_MESSAGES = 4096

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
    let media: MediaWire | undefined
    let sink: ((frame: AudioFrame) => void) | undefined
    let instructions = checkpoint?.instructions ?? options.agent.instructions
    let turns = checkpoint?.turns ?? 0
    const resumes = checkpoint === undefined ? 0 : checkpoint.resumes + 1
    // The caller's binary frames the session has taken in, counted over the whole call (every
    // connection, every runner): the checkpoint holds those before `framesIn`.
    let framesIn = checkpoint?.audioFrames ?? 0
    let saving: Promise<void> = Promise.resolve()
    let finished = false
    let leaving = false
    let resolveEnded: () => void = () => {}
    const ended = new Promise<void>((resolve) => {
      resolveEnded = resolve
    })

    const sendJson = (value: Record<string, unknown>) => media?.sendJson(value)
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
    // While no media is attached (a resumed call answering the turn its checkpoint left
    // unanswered before the front door found it, a greeting before the caller came) what the
    // call says is held, in order, and sent on the next attach after `call_attached`: the
    // agent's audio up to HELD_AUDIO_BYTES (the rest dropped), its events, a cut-off's `clear`
    // (which drops the audio held before it).
    let held: { readonly audio: boolean; readonly send: (wire: MediaWire) => void }[] = []
    let heldAudioBytes = 0
    const holding = () => media === undefined && !finished && !leaving && held.length < HELD_MESSAGES
    const hold: MediaSender = {
      sendText: (text) => held.push({ audio: false, send: (w) => w.sendText(text) }),
      sendAgentAudio: (frame) => {
        if (heldAudioBytes + frame.data.byteLength > HELD_AUDIO_BYTES) return
        heldAudioBytes += frame.data.byteLength
        held.push({ audio: true, send: (w) => w.sendAgentAudio(frame) })
      },
      clearAgentAudio: () => {
        held = held.filter((h) => !h.audio)
        heldAudioBytes = 0
        held.push({ audio: false, send: (w) => w.clearAgentAudio() })
      },
    }
    const sender = (): MediaSender | undefined => media ?? (holding() ? hold : undefined)
    const sendEvent = (event: AgentEvent) => {
      if (media !== undefined) media.sendEvent(event)
      else if (holding()) held.push({ audio: false, send: (w) => w.sendEvent(event) })
    }
    // The recorder keeps no caller track here: the call can last for hours.
    const output = createMediaOutput(sender, { recordCaller: false, pausable: true })

    let agentState = "idle"
    let userState = "silent"
    // The snapshot and the frame count are taken together: every frame before `audioFrames`
    // went into the session (its transcripts, or its pending speech) synchronously.
    const checkpointOf = (session: AgentSession): CallCheckpoint => ({
      version: CHECKPOINT_VERSION,
      callId,
      session: session.persist(),
      turns,
      instructions,
      resumes,
      audioFrames: framesIn,
    })
    // Once stored, the media side hears which caller frames it need never send again.
    const save = (session: AgentSession) => {
      const checkpoint = checkpointOf(session)
      saving = saving
        .then(() => options.save(checkpoint))
        .then(
          () => sendJson({ type: "checkpoint", audioFrames: checkpoint.audioFrames }),
          () => {},
        )
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
      output,
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
        // A call leaving for another runner goes on there: its closing session says nothing.
        if (leaving) continue
        if (event.type === "agent_state") agentState = event.state
        else if (event.type === "user_state") userState = event.state
        else if (event.type === "user_transcript" && event.final) turns += 1
        sendEvent(event)
        // A final transcript, and a reply's end (played to its end or cut off): checkpoints.
        if ((event.type === "user_transcript" && event.final) || event.type === "agent_transcript")
          void save(session)
      }
    })()

    const close = async (forGood: boolean) => {
      if (finished) return
      finished = true
      calls.delete(callId)
      report()
      if (!forGood) {
        leaving = true
        await save(session)
      }
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
      mediaAttached: () => media !== undefined && media.socket.readyState === media.socket.OPEN,
      attach(socket) {
        if (media !== undefined && media.socket !== socket) media.close(4000, "replaced")
        const wire = createMediaWire(socket, {
          scrub: options.scrub,
          maxBufferedBytes: MEDIA_HIGH_WATER_BYTES,
          overflow: "drop",
        })
        media = wire
        socket.binaryType = "nodebuffer"
        let startedHere = false
        // Frames of a replay that the call holds already (`audio_from` below its count).
        let skip = 0
        const control = (text: string) => {
          const read = readControl(text, true)
          if ("refused" in read) return wire.refuse(read.refused.code, read.refused.message)
          const m = read.message
          switch (m.type) {
            case "start":
              if (startedHere) return wire.refuse("already_started", "This connection already has a session")
              startedHere = true
              if (m.sampleRateHz !== undefined) wire.setRate(m.sampleRateHz, (frame) => sink?.(frame))
              return wire.sendJson({ type: "started", sampleRateHz: wire.rateHz, channels: 1 })
            case "format":
              return wire.setRate(m.sampleRateHz, (frame) => sink?.(frame))
            case "audio_from":
              // Below the count: the call has those frames. Above: frames that never came.
              skip = Math.max(0, framesIn - m.frame)
              framesIn = Math.max(framesIn, m.frame)
              return
            case "played":
              return output.played(m.reply, m.ms)
            case "end":
              return void call.end()
            case "say":
              return call.say(m.text)
            case "interrupt":
              return session.interrupt()
          }
        }
        socket.on("message", (data: Buffer, isBinary: boolean) => {
          if (media !== wire || finished) return
          const bytes = bytesOf(data)
          try {
            if (!isBinary) return control(bytes.toString("utf8"))
            // Every binary message counts, refused or not, as the front door counts them.
            if (skip > 0) {
              skip -= 1
              return
            }
            framesIn += 1
            const frame = wire.callerAudio(bytes)
            if (frame !== undefined) sink?.(frame)
          } catch (error) {
            wire.refuse(isBinary ? "invalid_audio" : "refused", errorJson(error).message)
          }
        })
        socket.on("close", () => {
          wire.closed()
          if (media === wire) media = undefined
        })
        sendJson({ type: "call_attached", callId, turns: call.turns(), resumes, audioFrames: framesIn })
        if (resumes > 0) sendJson({ type: "call_resumed", turns: call.turns(), resumes })
        const waiting = held
        held = []
        heldAudioBytes = 0
        for (const h of waiting) h.send(wire)
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
