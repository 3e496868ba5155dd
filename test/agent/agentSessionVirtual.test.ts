/**
 * Whole calls in virtual time: a scripted caller speaks (the simulated voice), the scripted
 * STT hears its audio, the scripted LLM answers, the fake TTS speaks; every part runs on the
 * session's clock, a `TestClock` moved 20 ms at a time.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import {
  type AgentEvent,
  type AgentSession,
  type AgentSessionOptions,
  createAgentSession,
  defineAgent,
  defineTool,
} from "../../src/agent/index.ts"
import {
  createFakeTTS,
  deferred,
  type ScriptedLLMOptions,
  type ScriptedSTTOptions,
  scriptedCaller,
  scriptedLLM,
  scriptedSTT,
  ttsUnavailable,
} from "../../src/testing/index.ts"
import { RealtimeSocket } from "../../src/transport/index.ts"

const STEP_MS = 20

/** Moves the clock `ms` in steps, letting promises (tools, playout) settle between steps. */
const advance = (ms: number) =>
  Effect.gen(function* () {
    for (let t = 0; t < ms; t += STEP_MS) {
      yield* TestClock.adjust(STEP_MS)
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
    }
  })

interface Call {
  readonly session: AgentSession
  readonly caller: ReturnType<typeof scriptedCaller>
  readonly events: AgentEvent[]
  readonly stt: ReturnType<typeof scriptedSTT>
  readonly llm: ReturnType<typeof scriptedLLM>
  of<T extends AgentEvent["type"]>(type: T): Extract<AgentEvent, { type: T }>[]
  /** Advances until `predicate` holds (at most `maxMs`). */
  until(predicate: () => boolean, maxMs?: number): Effect.Effect<void>
}

const startCall = (
  script: { readonly stt: ScriptedSTTOptions; readonly llm: ScriptedLLMOptions },
  extra: Partial<AgentSessionOptions> = {},
) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<RealtimeSocket>()
    const stt = scriptedSTT(script.stt)
    const llm = scriptedLLM(script.llm)
    const caller = scriptedCaller()
    const session = createAgentSession({
      agent: defineAgent({ instructions: "Be brief." }),
      stt,
      llm,
      tts: createFakeTTS(),
      context,
      input: caller,
      minEndpointingMs: 300,
      ...extra,
    })
    const events: AgentEvent[] = []
    void (async () => {
      for await (const event of session) events.push(event)
    })()
    const call: Call = {
      session,
      caller,
      events,
      stt,
      llm,
      of: <T extends AgentEvent["type"]>(type: T) =>
        events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type),
      until: (predicate, maxMs = 30_000) =>
        Effect.gen(function* () {
          for (let t = 0; t < maxMs && !predicate(); t += STEP_MS) yield* advance(STEP_MS)
          assert.isTrue(predicate(), "the awaited moment did not come")
        }),
    }
    return call
  })

/** Closes the session and checks nothing is left running. */
const finish = (call: Call) =>
  Effect.gen(function* () {
    yield* Effect.promise(() => call.session.close())
    assert.strictEqual(call.session.runtime.activeFibers, 0)
    assert.strictEqual(call.session.runtime.clock.pendingTimers, 0)
    assert.strictEqual(call.session.actor.getSnapshot().status, "done")
    yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
    assert.strictEqual(call.events[call.events.length - 1]?.type, "closed")
  })

const tool = (name: string) => defineTool({ name, execute: () => null })
const spoken = (call: Call) => call.of("agent_transcript")
const lastItem = (call: Call) => call.session.chatContext[call.session.chatContext.length - 1]

const LONG =
  "Here is a long answer that keeps going for quite a while so that the caller has all the time in the world to cut in before it ends."

describe("agent session in virtual time", () => {
  it.effect("answers a plain turn: states, transcripts, chat and metrics", () =>
    Effect.gen(function* () {
      const call = yield* startCall({
        stt: { transcripts: ["hello there"] },
        llm: { replies: ["Hi, how can I help?"] },
      })
      call.caller.say("hello there")
      yield* call.until(() => spoken(call).length === 1)
      const [said] = spoken(call)
      assert.strictEqual(said?.text, "Hi, how can I help?")
      assert.isFalse(said?.interrupted)
      const states = call.events.flatMap((e) =>
        e.type === "agent_state" ? [`agent:${e.state}`] : e.type === "user_state" ? [`user:${e.state}`] : [],
      )
      assert.deepStrictEqual(states, [
        "user:speaking",
        "user:endOfTurnPending",
        "user:silent",
        "agent:thinking",
        "agent:speaking",
        "agent:idle",
      ])
      assert.deepStrictEqual(
        call.session.chatContext.map((i) => ("role" in i ? [i.role, i.content] : [i.type])),
        [
          ["user", "hello there"],
          ["assistant", "Hi, how can I help?"],
        ],
      )
      const [m] = call.session.metrics()
      assert.isDefined(m)
      // The scripted STT's final comes 100 ms after the end of speech, the LLM's first word 200 ms after the request.
      assert.strictEqual(m?.transcriptMs, 100)
      assert.strictEqual(m?.llmFirstTextMs, 200)
      assert.isAtLeast(m?.endpointingMs ?? 0, 400)
      assert.isAtLeast(m?.totalMs ?? 0, (m?.endpointingMs ?? 0) + 200)
      assert.strictEqual(call.llm.requests[0]?.instructions, "Be brief.")
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect(
    "endpointing waits minEndpointingMs after the last final transcript, at most maxEndpointingMs",
    () =>
      Effect.gen(function* () {
        // A final transcript 1.5 s after the end of speech: min endpointing counts from it.
        const call = yield* startCall(
          { stt: { transcripts: ["slow words"], finalDelayMs: 1_500 }, llm: { replies: ["Ok."] } },
          { minEndpointingMs: 400, maxEndpointingMs: 5_000 },
        )
        call.caller.say("slow words")
        yield* call.until(() => call.session.metrics().length === 1)
        const [m] = call.session.metrics()
        assert.strictEqual(m?.transcriptMs, 1_500)
        assert.isAtLeast(m?.endpointingMs ?? 0, 1_900)
        assert.isAtMost(m?.endpointingMs ?? 0, 1_900 + STEP_MS)
        yield* finish(call)

        // The same transcript later than maxEndpointingMs: the turn ends at the bound, with no words, and the
        // late final is answered as a turn of its own.
        const late = yield* startCall(
          { stt: { transcripts: ["slow words"], finalDelayMs: 1_500 }, llm: { replies: ["Ok."] } },
          { minEndpointingMs: 400, maxEndpointingMs: 1_000 },
        )
        late.caller.say("slow words")
        yield* late.until(() => late.of("user_state").some((e) => e.state === "endOfTurnPending"))
        yield* advance(1_000 + STEP_MS)
        assert.strictEqual(late.of("user_state").at(-1)?.state, "silent")
        assert.lengthOf(late.llm.requests, 0)
        yield* late.until(() => spoken(late).length === 1)
        assert.strictEqual(
          late.llm.requests[0]?.items[0] && "content" in late.llm.requests[0].items[0]
            ? late.llm.requests[0].items[0].content
            : "",
          "slow words",
        )
        yield* finish(late)
      }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect(
    "manual turns: commitUserTurn ends the caller's turn at its transcript, with no endpointing wait",
    () =>
      Effect.gen(function* () {
        const call = yield* startCall(
          {
            stt: { transcripts: ["push to talk", "again"], manual: true },
            llm: { replies: ["Heard.", "Again."] },
          },
          { minEndpointingMs: 5_000 },
        )
        call.caller.say("push to talk")
        yield* advance(3_000)
        // Silence does not end a manual turn.
        assert.lengthOf(call.llm.requests, 0)
        assert.strictEqual(call.of("user_state").at(-1)?.state, "speaking")
        call.session.commitUserTurn()
        const committedAt = call.session.runtime.now()
        yield* call.until(() => call.llm.requests.length === 1)
        // The scripted STT's final comes 100 ms after the commit; the turn ends with it.
        assert.isAtMost(call.session.runtime.now() - committedAt, 100 + 2 * STEP_MS)
        assert.deepInclude(call.llm.requests[0]?.items.at(-1), { role: "user", content: "push to talk" })
        yield* call.until(() => spoken(call).length === 1)
        yield* finish(call)
      }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("barge-in stops the reply and cuts the chat to the words heard", () =>
    Effect.gen(function* () {
      const call = yield* startCall(
        {
          stt: { transcripts: ["tell me everything", "stop please"] },
          llm: { replies: [LONG, "Sure."], wordMs: 5 },
        },
        { minInterruptionMs: 400 },
      )
      call.caller.say("tell me everything")
      yield* call.until(() => call.of("agent_state").some((e) => e.state === "speaking"))
      yield* advance(2_000)
      call.caller.say("stop please")
      yield* call.until(() => call.of("interrupted").length === 1)
      const [cut] = call.of("interrupted")
      assert(cut !== undefined)
      assert.isAbove(cut.heard.length, 0)
      assert.isBelow(cut.heard.length, LONG.length)
      assert.isTrue(LONG.startsWith(cut.heard))
      // About 2.4 s of the voice were heard (60 ms a character): the cut is near there, on a word boundary.
      assert.approximately(cut.heard.length, 2_400 / 60, 12)
      const assistant = call.session.chatContext.find((i) => "role" in i && i.role === "assistant")
      assert(assistant !== undefined && "content" in assistant)
      assert.strictEqual(assistant.content, cut.heard)
      assert.isBelow(call.session.output.agentEndMs(), cut.atMs + 1)
      yield* call.until(() => spoken(call).some((s) => s.text === "Sure."))
      // The next turn's model saw what the caller heard.
      const second = call.llm.requests[1]
      assert(second !== undefined)
      assert.deepInclude(second.items[1], { role: "assistant", content: cut.heard })
      assert.deepInclude(second.items[2], { role: "user", content: "stop please" })
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("a caller's turn that ends while the model streams cancels that model round", () =>
    Effect.gen(function* () {
      const call = yield* startCall({
        stt: { transcripts: ["tell me everything", "actually no"] },
        llm: { replies: [LONG, "Fine."], firstTokenMs: 3_000 },
      })
      call.caller.say("tell me everything")
      yield* call.until(() => call.llm.requests.length === 1)
      call.caller.say("actually no")
      yield* call.until(() => spoken(call).some((s) => s.text === "Fine."))
      assert.deepStrictEqual(call.llm.cancelled, ["turn_1"])
      assert.deepInclude(call.llm.requests[1]?.items.at(-1), { role: "user", content: "actually no" })
      assert.isFalse(call.session.chatContext.some((i) => "content" in i && i.content === LONG))
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("a short cough pauses the agent, which resumes where it paused; nothing is cut", () =>
    Effect.gen(function* () {
      const call = yield* startCall(
        { stt: { transcripts: ["go on"] }, llm: { replies: [LONG], wordMs: 5 } },
        { minInterruptionMs: 500 },
      )
      call.caller.say("go on")
      yield* call.until(() => call.of("agent_state").some((e) => e.state === "speaking"))
      yield* advance(1_000)
      const endBefore = call.session.output.agentEndMs()
      call.caller.say("uh")
      yield* call.until(() => call.of("resumed").length === 1)
      // The output was held for the cough: the reply ends later by about as long.
      assert.isAbove(call.session.output.agentEndMs(), endBefore + 100)
      yield* call.until(() => spoken(call).length === 1)
      assert.strictEqual(spoken(call)[0]?.text, LONG)
      assert.lengthOf(call.of("interrupted"), 0)
      assert.deepInclude(lastItem(call), { role: "assistant", content: LONG })
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect(
    "long speech with no transcript is a false interruption: the agent resumes after falseInterruptionMs",
    () =>
      Effect.gen(function* () {
        const call = yield* startCall(
          // The second utterance transcribes to nothing (background noise).
          { stt: { transcripts: ["go on", ""] }, llm: { replies: [LONG], wordMs: 5 } },
          { minInterruptionMs: 300, falseInterruptionMs: 1_000 },
        )
        call.caller.say("go on")
        yield* call.until(() => call.of("agent_state").some((e) => e.state === "speaking"))
        yield* advance(600)
        call.caller.say("noise noise noise")
        yield* call.until(() => call.of("resumed").length === 1)
        const resumedAt = call.of("resumed")[0]?.atMs ?? 0
        const endOfNoise = call.stt.utterances[1]?.endMs ?? 0
        // The session started at virtual time 0: call times and the STT's clock times agree.
        // The STT reports the end of speech after 300 ms of silence; the agent waits 1 000 ms from there.
        assert.isAtLeast(resumedAt, endOfNoise + 1_000)
        assert.isAtMost(resumedAt, endOfNoise + 300 + 1_000 + 2 * STEP_MS)
        yield* call.until(() => spoken(call).length === 1)
        assert.strictEqual(spoken(call)[0]?.text, LONG)
        assert.lengthOf(call.of("interrupted"), 0)
        yield* finish(call)
      }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect(
    "allowInterruptions: false holds the floor; the caller's words are answered after the reply",
    () =>
      Effect.gen(function* () {
        const call = yield* startCall(
          {
            stt: { transcripts: ["hello", "wait a moment"] },
            llm: { replies: ["Noted.", "Sure, waiting."] },
          },
          { minInterruptionMs: 200 },
        )
        call.session.say(LONG, { allowInterruptions: false })
        yield* call.until(() => call.of("agent_state").some((e) => e.state === "speaking"))
        yield* advance(500)
        call.caller.say("wait a moment please now")
        yield* advance(4_000)
        assert.lengthOf(call.of("interrupted"), 0)
        assert.lengthOf(
          call.llm.requests,
          0,
          "a transcript heard while the agent holds the floor does not restart the reply",
        )
        yield* call.until(() => spoken(call).length === 2)
        assert.strictEqual(spoken(call)[0]?.text, LONG)
        assert.strictEqual(spoken(call)[1]?.text, "Noted.")
        assert.deepInclude(call.llm.requests[0]?.items.at(-1), { role: "user", content: "hello" })
        yield* finish(call)
      }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect(
    "interrupting during a tool call aborts the execution; the interrupted round is not answered",
    () =>
      Effect.gen(function* () {
        const aborted: string[] = []
        const lookup = defineTool({
          name: "lookup",
          execute: (_args, { signal }) =>
            new Promise((resolve, reject) => {
              const timer = setTimeout(() => resolve({ found: true }), 60_000)
              signal.addEventListener("abort", () => {
                clearTimeout(timer)
                aborted.push(String(signal.aborted))
                reject(new Error("aborted"))
              })
            }),
        })
        const call = yield* startCall(
          {
            stt: { transcripts: ["look it up", "never mind"] },
            llm: { replies: [{ text: "Let me look.", toolCalls: [{ name: "lookup" }] }, "Okay."] },
          },
          { agent: defineAgent({ instructions: "Use tools.", tools: [lookup] }) },
        )
        call.caller.say("look it up")
        yield* call.until(() => call.of("agent_state").some((e) => e.state === "runningTools"))
        yield* advance(1_000)
        call.caller.say("never mind")
        yield* call.until(() => call.of("interrupted").length === 1)
        assert.deepStrictEqual(aborted, ["true"])
        yield* call.until(() => spoken(call).some((s) => s.text === "Okay."))
        assert.lengthOf(call.of("tool_result"), 0)
        yield* finish(call)
      }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("runs two tools of one turn, sends results and thrown errors back to the model", () =>
    Effect.gen(function* () {
      const weather = defineTool({
        name: "weather",
        parameters: Schema.Struct({ city: Schema.String }),
        execute: (args) => ({ city: args.city, sky: "clear" }),
      })
      const broken = defineTool({
        name: "broken",
        execute: () => {
          throw new Error("the service is down")
        },
      })
      const call = yield* startCall(
        {
          stt: { transcripts: ["weather and news"] },
          llm: {
            replies: [
              { toolCalls: [{ name: "weather", arguments: { city: "Oslo" } }, { name: "broken" }] },
              "Clear in Oslo; no news.",
            ],
          },
        },
        { agent: defineAgent({ instructions: "Use tools.", tools: [weather, broken] }) },
      )
      call.caller.say("weather and news")
      yield* call.until(() => spoken(call).length === 1)
      assert.deepStrictEqual(
        call.of("tool_called").map((e) => e.call.name),
        ["weather", "broken"],
      )
      assert.deepStrictEqual(
        call.of("tool_result").map((e) => [e.name, e.output]),
        [
          ["weather", { city: "Oslo", sky: "clear" }],
          ["broken", { error: "the service is down" }],
        ],
      )
      const second = call.llm.requests[1]
      assert(second !== undefined)
      const outputs = second.items.filter((i) => i.type === "function_call_output")
      assert.lengthOf(outputs, 2)
      assert.include(JSON.stringify(outputs), "the service is down")
      assert.strictEqual(spoken(call)[0]?.text, "Clear in Oslo; no news.")
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("a call whose arguments are not JSON is answered as refused, beside a call that runs", () =>
    Effect.gen(function* () {
      const ran: unknown[] = []
      const note = defineTool({ name: "note", execute: (args) => ran.push(args) })
      const call = yield* startCall(
        {
          stt: { transcripts: ["take a note"] },
          llm: {
            replies: [
              {
                toolCalls: [{ name: "note", arguments: { text: "a" } }],
                invalidCalls: [{ name: "note", rawArguments: "{oops" }],
              },
              "Noted.",
            ],
          },
        },
        { agent: defineAgent({ instructions: "Use tools.", tools: [note] }) },
      )
      call.caller.say("take a note")
      yield* call.until(() => spoken(call).length === 1)
      assert.deepStrictEqual(ran, [{ text: "a" }])
      const outputs = (call.llm.requests[1]?.items ?? []).filter((i) => i.type === "function_call_output")
      assert.lengthOf(outputs, 2)
      assert.include(JSON.stringify(outputs), "not JSON")
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("minInterruptionWords: enough interim words interrupt at once, before minInterruptionMs", () =>
    Effect.gen(function* () {
      const call = yield* startCall(
        {
          stt: { transcripts: ["go on", "no no stop right there"], interimEveryMs: 100 },
          llm: { replies: [LONG, "Stopping."], wordMs: 5 },
        },
        { minInterruptionMs: 10_000, minInterruptionWords: 3 },
      )
      call.caller.say("go on")
      yield* call.until(() => call.of("agent_state").some((e) => e.state === "speaking"))
      yield* advance(1_000)
      call.caller.say("no no stop right there")
      const spokeAt = call.session.runtime.now()
      yield* call.until(() => call.of("interrupted").length === 1)
      const cutAt = call.of("interrupted")[0]?.atMs ?? 0
      // Interim words come every 100 ms from 150 ms into the speech: the third cuts in, not 10 s later.
      assert.isBelow(cutAt - spokeAt, 600)
      yield* call.until(() => spoken(call).some((s) => s.text === "Stopping."))
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("maxToolSteps bounds the tool rounds of a turn; the last round has no tools", () =>
    Effect.gen(function* () {
      const ping = defineTool({ name: "ping", execute: () => "pong" })
      const call = yield* startCall(
        {
          stt: { transcripts: ["ping forever"] },
          llm: {
            replies: (request) =>
              request.tools.length > 0 ? { toolCalls: [{ name: "ping" }] } : "Done pinging.",
          },
        },
        { agent: defineAgent({ instructions: "Ping.", tools: [ping] }), maxToolSteps: 2 },
      )
      call.caller.say("ping forever")
      yield* call.until(() => spoken(call).length === 1)
      assert.lengthOf(call.of("tool_result"), 2)
      assert.deepStrictEqual(
        call.llm.requests.map((r) => r.tools.length),
        [1, 1, 0],
      )
      assert.strictEqual(spoken(call)[0]?.text, "Done pinging.")
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("a tool longer than toolFillerMs lets the agent say the filler line", () =>
    Effect.gen(function* () {
      const release = deferred<string>()
      const slow = defineTool({ name: "slow", execute: () => release.promise })
      const call = yield* startCall(
        {
          stt: { transcripts: ["do it"] },
          llm: { replies: [{ toolCalls: [{ name: "slow" }] }, "All done."] },
        },
        {
          agent: defineAgent({ instructions: "Use tools.", tools: [slow] }),
          toolFillerMs: 1_000,
          toolFiller: "One moment.",
        },
      )
      call.caller.say("do it")
      yield* call.until(() => call.of("agent_state").some((e) => e.state === "runningTools"))
      const toolsAt = call.of("agent_state").find((e) => e.state === "runningTools")?.atMs ?? 0
      yield* call.until(() => call.of("agent_state").some((e) => e.state === "speaking"))
      const fillerAt = call.of("agent_state").find((e) => e.state === "speaking")?.atMs ?? 0
      assert.isAtLeast(fillerAt - toolsAt, 1_000)
      release.resolve("ready")
      yield* call.until(() => spoken(call).length === 1)
      assert.strictEqual(spoken(call)[0]?.text, "One moment. All done.")
      const assistant = call.session.chatContext.filter((i) => "role" in i && i.role === "assistant")
      assert.deepStrictEqual(
        assistant.map((i) => ("content" in i ? i.content : "")),
        ["One moment.", "All done."],
      )
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect(
    "updateAgent hands the conversation over: new instructions and tools, same chat, onEnter runs",
    () =>
      Effect.gen(function* () {
        const entered: string[] = []
        const billing = defineAgent({
          instructions: "You handle billing.",
          tools: [defineTool({ name: "refund", execute: () => "refunded" })],
          onEnter: (session) => {
            entered.push("billing")
            session.say("Billing here.")
          },
        })
        const call = yield* startCall({
          stt: { transcripts: ["I want a refund", "yes please"] },
          llm: { replies: ["Let me transfer you.", "Refund issued."] },
        })
        call.caller.say("I want a refund")
        yield* call.until(() => spoken(call).length === 1)
        call.session.updateAgent(billing)
        yield* call.until(() => spoken(call).length === 2)
        assert.deepStrictEqual(entered, ["billing"])
        assert.strictEqual(spoken(call)[1]?.text, "Billing here.")
        call.caller.say("yes please")
        yield* call.until(() => spoken(call).length === 3)
        const request = call.llm.requests[1]
        assert(request !== undefined)
        assert.strictEqual(request.instructions, "You handle billing.")
        assert.deepStrictEqual(
          request.tools.map((t) => t.name),
          ["refund"],
        )
        assert.deepInclude(request.items[0], { role: "user", content: "I want a refund" })
        assert.strictEqual(call.session.agent, billing)
        yield* finish(call)
      }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect(
    "say and generateReply resolve with the words heard: all of a line played, the cut part of one interrupted",
    () =>
      Effect.gen(function* () {
        const call = yield* startCall({ stt: { transcripts: [] }, llm: { replies: [LONG], wordMs: 5 } })
        const results: { text: string; interrupted: boolean }[] = []
        void call.session.say("Hello there.").then((r) => results.push(r))
        const generated = call.session.generateReply()
        void generated.then((r) => results.push(r))
        yield* call.until(() => results.length === 1)
        assert.deepStrictEqual(results[0], { text: "Hello there.", interrupted: false })
        yield* call.until(() => call.of("agent_state").filter((e) => e.state === "speaking").length === 2)
        yield* advance(1_000)
        call.session.interrupt()
        yield* call.until(() => results.length === 2)
        assert.isTrue(results[1]?.interrupted)
        assert.isTrue(LONG.startsWith(results[1]?.text ?? "x"))
        assert.isAbove(results[1]?.text.length ?? 0, 0)
        // A line asked for as the call ends resolves as never spoken.
        const late = call.session.say("Too late.")
        yield* finish(call)
        assert.deepStrictEqual(yield* Effect.promise(() => late), { text: "", interrupted: true })
        assert.deepStrictEqual(yield* Effect.promise(() => call.session.say("After the end.")), {
          text: "",
          interrupted: true,
        })
      }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("generateReply adds instructions for one reply; interrupt() cuts any reply", () =>
    Effect.gen(function* () {
      const call = yield* startCall({ stt: { transcripts: [] }, llm: { replies: [LONG], wordMs: 5 } })
      call.session.generateReply({ instructions: "Greet the caller.", allowInterruptions: false })
      yield* call.until(() => call.of("agent_state").some((e) => e.state === "speaking"))
      assert.strictEqual(call.llm.requests[0]?.instructions, "Be brief.\n\nGreet the caller.")
      yield* advance(1_000)
      call.session.interrupt()
      yield* call.until(() => call.of("interrupted").length === 1)
      assert.isTrue(LONG.startsWith(call.of("interrupted")[0]?.heard ?? "x"))
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("a model turn that fails mid-reply is reported; the next turn is answered", () =>
    Effect.gen(function* () {
      const call = yield* startCall({
        stt: { transcripts: ["first", "second"] },
        llm: {
          replies: [
            { fail: new Error("connection lost"), text: "I was saying", afterWords: 2 },
            "Back again.",
          ],
        },
      })
      call.caller.say("first")
      yield* call.until(() => spoken(call).length === 1)
      assert.strictEqual(spoken(call)[0]?.text, "I was")
      assert.include(String(call.of("error")[0]?.error), "connection lost")
      call.caller.say("second")
      yield* call.until(() => spoken(call).length === 2)
      assert.strictEqual(spoken(call)[1]?.text, "Back again.")
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect(
    "a synthesis that fails is reported; the agent goes back to listening and answers the next turn",
    () =>
      Effect.gen(function* () {
        let calls = 0
        const call = yield* startCall(
          { stt: { transcripts: ["first", "second"] }, llm: { replies: ["Lost words.", "Heard you."] } },
          {
            tts: createFakeTTS({
              behaviour: () => (calls++ === 0 ? { error: ttsUnavailable("fake-tts") } : undefined),
            }),
          },
        )
        call.caller.say("first")
        yield* call.until(() => call.of("error").length === 1)
        assert.include(String(call.of("error")[0]?.error), "503")
        yield* call.until(() => call.of("agent_state").at(-1)?.state === "idle")
        call.caller.say("second")
        yield* call.until(() => spoken(call).some((s) => s.text === "Heard you."))
        yield* finish(call)
      }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("a turn the transcriber fails on is reported; the next turn is answered", () =>
    Effect.gen(function* () {
      const call = yield* startCall({
        stt: { transcripts: ["lost", "found"], failUtterances: [0] },
        llm: { replies: ["Found it."] },
      })
      call.caller.say("lost words")
      yield* call.until(() => call.of("error").length === 1)
      assert.include(JSON.stringify(call.of("error")[0]?.error), "The transcription failed")
      call.caller.say("found words")
      yield* call.until(() => spoken(call).length === 1)
      assert.deepInclude(call.session.chatContext[0], { role: "user", content: "found" })
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("bad options fail with a clear error; a second start throws", () =>
    Effect.gen(function* () {
      const context = yield* Effect.context<RealtimeSocket>()
      const base = {
        agent: defineAgent({ instructions: "x" }),
        stt: scriptedSTT({ transcripts: [] }),
        llm: scriptedLLM({ replies: [""] }),
        tts: createFakeTTS(),
        context,
      }
      assert.throws(
        () => createAgentSession({ ...base, minInterruptionMs: -1 }),
        RangeError,
        /minInterruptionMs/,
      )
      assert.throws(
        () => createAgentSession({ ...base, minEndpointingMs: 900, maxEndpointingMs: 100 }),
        RangeError,
        /maxEndpointingMs/,
      )
      assert.throws(() => defineAgent({ instructions: "x", tools: [tool("a"), tool("a")] }), TypeError, /a/)
      const call = yield* startCall({ stt: { transcripts: [] }, llm: { replies: [""] } })
      assert.throws(() => call.session.start(), Error, /already started/)
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  it.effect("a ten-minute call runs in virtual time", () =>
    Effect.gen(function* () {
      const call = yield* startCall({
        stt: { transcripts: () => "tell me more" },
        llm: { replies: () => "Here is a little more about it, and then some." },
      })
      const started = Date.now()
      let turns = 0
      while (call.session.runtime.now() < 10 * 60_000) {
        call.caller.say("tell me more")
        turns++
        yield* call.until(() => spoken(call).length === turns)
        // Silence between turns: the caller's frames and the STT run inside one clock move.
        yield* TestClock.adjust(10_000)
      }
      assert.isAtLeast(turns, 40)
      assert.lengthOf(call.session.metrics(), turns)
      assert.deepStrictEqual(
        call.session.chatContext.filter((i) => "role" in i && i.role === "user").length,
        turns,
      )
      // No timing assertion (tests never assert timings); the run time is in the test report.
      void started
      yield* finish(call)
    }).pipe(Effect.provide(RealtimeSocket.layer)),
  )

  describe("teardown leaves nothing, in every state", () => {
    const cases: readonly {
      readonly name: string
      readonly reached: (snapshot: ReturnType<AgentSession["actor"]["getSnapshot"]>) => boolean
      readonly after?: string
    }[] = [
      { name: "the caller speaking", reached: (s) => s.matches({ live: { user: "speaking" } }) },
      { name: "endpointing", reached: (s) => s.matches({ live: { user: "endOfTurnPending" } }) },
      {
        name: "thinking",
        reached: (s) => s.matches({ live: { agent: { replying: { model: "generating" } } } }),
      },
      {
        name: "running tools",
        reached: (s) => s.matches({ live: { agent: { replying: { model: "runningTools" } } } }),
      },
      {
        name: "speaking",
        reached: (s) => s.matches({ live: { agent: { replying: { voice: "speaking" } } } }),
      },
      {
        name: "paused by the caller",
        reached: (s) => s.matches({ live: { agent: { replying: { voice: "paused" } } } }),
        after: "uh",
      },
      {
        name: "playing out",
        reached: (s) => s.matches({ live: { agent: { replying: { synthesis: "playingOut" } } } }),
      },
    ]
    for (const c of cases)
      it.effect(`closes while ${c.name}`, () =>
        Effect.gen(function* () {
          const aborted: boolean[] = []
          const wait = defineTool({
            name: "wait",
            execute: (_args, { signal }) =>
              new Promise((_resolve, reject) => {
                signal.addEventListener("abort", () => {
                  aborted.push(signal.aborted)
                  reject(new Error("aborted"))
                })
              }),
          })
          const call = yield* startCall(
            {
              stt: { transcripts: ["hello there", "uh"] },
              llm: {
                replies: c.name === "running tools" ? [{ toolCalls: [{ name: "wait" }] }] : [LONG],
                wordMs: c.name === "thinking" ? 500 : 5,
              },
            },
            { agent: defineAgent({ instructions: "Be brief.", tools: [wait] }) },
          )
          call.caller.say("hello there")
          const reached = () => c.reached(call.session.actor.getSnapshot())
          if (c.after !== undefined) {
            yield* call.until(() =>
              call.session.actor
                .getSnapshot()
                .matches({ live: { agent: { replying: { voice: "speaking" } } } }),
            )
            call.caller.say(c.after)
          }
          yield* call.until(reached)
          yield* finish(call)
          if (c.name === "running tools") assert.deepStrictEqual(aborted, [true])
        }).pipe(Effect.provide(RealtimeSocket.layer)),
      )
  })
})
