/**
 * Words in flight at a runner's death: two runner processes on 127.0.0.1, PostgreSQL from the
 * machine's package, the simulator in this process, callers through the front door (proxy).
 * One runner is killed (SIGKILL) while one caller is mid-word, one has just finished a word
 * (no final transcript yet) and one hears the agent's reply: on the new runner each call's
 * transcripts are exactly the words said, once each, and the next replies know them.
 */
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import {
  DEFAULT_CLUSTER_TIMINGS,
  type LocalCluster,
  type LocalPostgres,
  startLocalCluster,
  startLocalPostgres,
} from "../../src/cluster/index.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import { wordsIn } from "../../src/testing/index.ts"
import {
  agentReplies,
  connectCaller,
  finalTranscripts,
  type MediaCaller,
  type MediaEvent,
  shardsSettled,
  userTextsOf,
} from "./mediaCaller.ts"

const CALLS = 6

let postgres: LocalPostgres
let sim: Simulator
let cluster: LocalCluster
const calls: { callId: string; runner: string; caller: MediaCaller }[] = []

beforeAll(async () => {
  postgres = await startLocalPostgres()
  sim = await startSimulator({
    scenario: {
      transcripts: (request) => wordsIn(request.audio, 24_000).join(" ") || "(silence)",
      replies: (request) => ({ text: `Heard ${userTextsOf(request.input).join(", ")}.` }),
    },
  })
  cluster = await startLocalCluster({
    runners: 2,
    databaseUrl: postgres.url,
    env: { OPENAI_API_KEY: sim.apiKey ?? "", OPENAI_BASE_URL: sim.httpUrl },
  })
  // Every shard owned, half each, the same for a second, before calls are placed.
  await shardsSettled(cluster.client, { runners: 2, shardsPerGroup: DEFAULT_CLUSTER_TIMINGS.shardsPerGroup })
}, 120_000)

afterAll(async () => {
  await Promise.all(calls.map((c) => c.caller?.hangUp()))
  await cluster?.stop()
  await sim?.close()
  await postgres?.stop()
}, 120_000)

const count = (caller: MediaCaller, type: string) => caller.events.filter((e) => e.type === type).length
const reattachments = (caller: MediaCaller) => caller.events.filter((e) => e.type === "reattached")
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("words in flight when a runner dies", () => {
  it("transcribes what callers said as their runner died exactly once on the new runner", async () => {
    for (let i = 0; i < CALLS; i++) {
      const status = await cluster.client.place()
      calls.push({ callId: status.callId, runner: status.runner, caller: undefined as never })
    }
    await Promise.all(
      calls.map(async (c) => {
        c.caller = await connectCaller(`${cluster.frontDoor.url}/calls/${c.callId}`)
        await c.caller.until((events) => events.some((e) => e.type === "call_attached"))
      }),
    )
    // A first turn, stored: its reply's end is a checkpoint the front door hears of.
    await Promise.all(calls.map((c) => c.caller.speak("alpha")))
    await Promise.all(
      calls.map((c) =>
        c.caller.until((events) => {
          const replyEnd = events.findIndex((e) => e.type === "agent_transcript")
          return replyEnd >= 0 && events.slice(replyEnd).some((e) => e.type === "checkpoint")
        }),
      ),
    )
    for (const c of calls) c.runner = (await cluster.client.status(c.callId)).runner
    const victim = cluster.runners().find((r) => r.address === calls[0]?.runner)
    assert.isDefined(victim)
    if (victim === undefined) return
    const onVictim = calls.filter((c) => c.runner === victim.address)
    assert.isAtLeast(onVictim.length, 3, JSON.stringify(calls.map((c) => c.runner)))
    const [midWord, wordDone, replying] = onVictim.map((c) => c.caller) as [
      MediaCaller,
      MediaCaller,
      MediaCaller,
    ]
    const others = calls.filter((c) => c.runner !== victim.address).map((c) => c.caller)

    // `replying` says its word first; once its reply starts, `wordDone` speaks and the runner
    // dies as its word ends (no final transcript can have come: the end of speech needs
    // silence), while `midWord`, 200 ms behind, is halfway through its word.
    let atKill: { midWord: number; wordDone: number; replyEnds: number; replies: number } | undefined
    const speaking = [replying.speak("bravo")]
    await replying.until((events) => events.filter((e) => e.type === "reply").length >= 2)
    speaking.push(
      wordDone.speak("bravo", {
        onWordEnd: () => {
          atKill = {
            midWord: finalTranscripts(midWord).length,
            wordDone: finalTranscripts(wordDone).length,
            replyEnds: count(replying, "agent_transcript"),
            replies: count(replying, "reply"),
          }
          void victim.kill()
        },
      }),
    )
    await sleep(200)
    speaking.push(midWord.speak("bravo"), ...others.map((c) => c.speak("bravo")))
    await Promise.all(speaking)
    assert.deepStrictEqual(atKill, { midWord: 1, wordDone: 1, replyEnds: 1, replies: 2 })

    for (const caller of [midWord, wordDone, replying])
      await caller.until(() => reattachments(caller).length > 0, 40_000)
    // The reply cut off by the death: its audio not played yet is dropped at the loss.
    const kept = replying.events.map((e) => e.type)
    const cutReply = kept.indexOf("reply", kept.indexOf("reply") + 1)
    assert.include(kept.slice(cutReply, kept.indexOf("reattached")), "clear")
    await Promise.all(calls.map((c) => c.caller.until(() => agentReplies(c.caller).length >= 2, 40_000)))
    for (const c of calls) {
      assert.deepStrictEqual(finalTranscripts(c.caller), ["alpha", "bravo"], c.callId)
      // The reply cut off by the death was never in the conversation: it is said again, whole.
      assert.deepStrictEqual(agentReplies(c.caller), ["Heard alpha.", "Heard alpha, bravo."], c.callId)
    }
    for (const caller of [midWord, wordDone]) {
      const [moved] = reattachments(caller) as [MediaEvent]
      assert.isAbove(moved.replayedFrames as number, 0)
      assert.strictEqual(moved.lostFrames, 0)
    }
    assert.strictEqual(cluster.frontDoor.stats().lostFrames, 0)

    // The next reply knows every word, once.
    await Promise.all(calls.map((c) => c.caller.speak("charlie")))
    await Promise.all(calls.map((c) => c.caller.until(() => agentReplies(c.caller).length >= 3, 40_000)))
    for (const c of calls) {
      assert.deepStrictEqual(finalTranscripts(c.caller), ["alpha", "bravo", "charlie"], c.callId)
      assert.strictEqual(agentReplies(c.caller)[2], "Heard alpha, bravo, charlie.", c.callId)
    }
  }, 240_000)
})
