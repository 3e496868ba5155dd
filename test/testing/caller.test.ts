/**
 * The scripted caller: lines at moments of the call, in reply to the agent and cutting into
 * its speech, in the simulator's voice; what it heard of the agent. First on a hand-moved
 * clock with a call recorder, then a whole call against the simulator on real sockets, where
 * nothing but the audio tells the simulator what the caller said.
 */
import { afterEach, describe, expect, it } from "vitest"
import { CALL_RATE_HZ, createCallRecorder } from "../../src/agent/audio.ts"
import { type AgentEvent, type AgentSession, createAgentSession, defineAgent } from "../../src/agent/index.ts"
import { type AudioFrame, makeAudioFrame } from "../../src/audio/index.ts"
import type { XStateClock } from "../../src/clock/EffectClock.ts"
import { heardText, type Simulator, startSimulator, synthesizeSpeech } from "../../src/simulator/index.ts"
import { scriptedCaller } from "../../src/testing/index.ts"
import { eventually } from "../stt/transcriptionSessionHelpers.ts"

/** A clock moved by hand, one 20 ms frame at a time. */
const handClock = () => {
  let now = 0
  let nextId = 1
  const timers = new Map<number, { at: number; fn: () => void }>()
  const clock: XStateClock = {
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => {
      const id = nextId++
      timers.set(id, { at: now + ms, fn: () => fn() })
      return id
    },
    clearTimeout: (id: unknown) => {
      timers.delete(id as number)
    },
  } as XStateClock
  return {
    clock,
    get now() {
      return now
    },
    advance(ms: number) {
      const until = now + ms
      for (;;) {
        const next = [...timers.entries()].sort((a, b) => a[1].at - b[1].at)[0]
        if (next === undefined || next[1].at > until) break
        timers.delete(next[0])
        now = next[1].at
        next[1].fn()
      }
      now = until
    },
  }
}

const frames = (samples: Int16Array): AudioFrame[] => {
  const out: AudioFrame[] = []
  for (let i = 0; i < samples.length; i += 480)
    out.push(makeAudioFrame(samples.slice(i, i + 480), CALL_RATE_HZ, 1))
  return out
}

/** A caller listening to a call recorder on a hand clock; the caller's frames are kept. */
const onHandClock = (caller: ReturnType<typeof scriptedCaller>) => {
  const time = handClock()
  const output = caller.listen(createCallRecorder())
  const said: Int16Array[] = []
  caller.start((frame) => {
    said.push(frame.data)
    output.caller(frame, time.now)
  }, time.clock)
  /** The agent says `text` now: its frames reach the output at once, as a TTS's do. */
  const agentSays = (text: string) => {
    for (const frame of frames(synthesizeSpeech(text))) output.agent(frame, time.now)
  }
  const callerAudio = () => {
    const all = new Int16Array(said.reduce((n, s) => n + s.length, 0))
    let at = 0
    for (const s of said) {
      all.set(s, at)
      at += s.length
    }
    return all
  }
  return { time, output, agentSays, callerAudio }
}

describe("scriptedCaller on a hand-moved clock", () => {
  it("says a line at its moment, in the simulated voice", () => {
    const caller = scriptedCaller({ lines: [{ text: "Good morning.", cue: { atMs: 1_000 } }] })
    const { time, callerAudio } = onHandClock(caller)
    time.advance(980)
    expect(caller.spoken).toEqual([])
    time.advance(40)
    expect(caller.spoken.map((l) => l.text)).toEqual(["Good morning."])
    expect(caller.spoken[0]?.startMs).toBe(1_000)
    time.advance(2_000)
    expect(caller.speaking).toBe(false)
    expect(heardText(callerAudio(), CALL_RATE_HZ)).toBe("Good morning.")
    caller.stop()
  })

  it("replies once the agent has spoken and paused, not while it speaks or before it has", () => {
    const caller = scriptedCaller({ lines: ["Hi there.", "Yes, please."] })
    const { time, output, agentSays, callerAudio } = onHandClock(caller)
    time.advance(2_000)
    // The first line is said at once; the reply waits for the agent.
    expect(caller.spoken.map((l) => l.text)).toEqual(["Hi there."])
    expect(caller.pending).toBe(1)
    agentSays("Hello, shall I book it?")
    const agentEnd = output.agentEndMs()
    time.advance(agentEnd - time.now + 500)
    expect(caller.pending).toBe(1)
    expect(caller.heard()).toBe("Hello, shall I book it?")
    time.advance(200)
    expect(caller.pending).toBe(0)
    const reply = caller.spoken[1]
    expect(reply?.startMs).toBeGreaterThanOrEqual(agentEnd + 600)
    expect(reply?.startMs).toBeLessThan(agentEnd + 640)
    time.advance(2_000)
    expect(heardText(callerAudio(), CALL_RATE_HZ)).toBe("Hi there. Yes, please.")
    caller.stop()
  })

  it("cuts in after the agent has spoken for intoAgentMs, and has heard only what was played", () => {
    const caller = scriptedCaller()
    caller.line("Stop, please.", { intoAgentMs: 700 })
    const { time, output, agentSays } = onHandClock(caller)
    time.advance(400)
    expect(caller.spoken).toEqual([])
    const reply = "One two three four five six seven eight nine ten."
    agentSays(reply)
    const started = time.now
    time.advance(680)
    expect(caller.spoken).toEqual([])
    time.advance(40)
    expect(caller.spoken[0]?.startMs).toBe(started + 700)
    const heard = caller.heard()
    expect(heard.length).toBeGreaterThan(0)
    expect(reply.startsWith(heard)).toBe(true)
    expect(heard).not.toBe(reply)
    // The agent is cut off: what it had not played is not heard later.
    output.clear(time.now)
    time.advance(5_000)
    expect(caller.heard()).toBe(heard)
    caller.stop()
  })
})

describe("scriptedCaller in a call against the simulator", () => {
  const open: { session: AgentSession; sim: Simulator }[] = []
  afterEach(async () => {
    for (const { session, sim } of open.splice(0)) {
      await session.close()
      await sim.close()
    }
  })

  it("its words reach the agent's chat with no transcript scripted; it hears the agent and cuts in", async () => {
    const reply =
      "Tomorrow looks sunny in the morning with clouds later and a light breeze from the west all afternoon long."
    const sim = await startSimulator({ scenario: { replies: [{ text: reply }, { text: "Okay." }] } })
    const caller = scriptedCaller({
      lines: [
        "What is the weather tomorrow?",
        { text: "Thanks, that is enough.", cue: { intoAgentMs: 1_200 } },
      ],
    })
    const session = createAgentSession({
      agent: defineAgent({ instructions: "Be brief." }),
      openai: { apiKey: "sk-simulator", baseUrl: sim.httpUrl },
      env: {},
      input: caller,
      output: caller.listen(createCallRecorder()),
      minInterruptionMs: 300,
    })
    open.push({ session, sim })
    const events: AgentEvent[] = []
    void (async () => {
      for await (const event of session) events.push(event)
    })()
    await eventually(() => events.some((e) => e.type === "interrupted"), 20_000)
    const users = () =>
      session
        .chat()
        .filter((i) => "role" in i && i.role === "user")
        .map((i) => (i as { content: string }).content)
    // The caller's second line reaches the chat once its turn has ended (endpointing), after its final transcript.
    await eventually(() => users().length >= 2, 20_000)
    expect(users()).toEqual(["What is the weather tomorrow?", "Thanks, that is enough."])
    const heard = caller.heard()
    expect(heard.length).toBeGreaterThan(0)
    expect(reply.startsWith(heard)).toBe(true)
    expect(heard).not.toBe(reply)
  }, 40_000)
})
