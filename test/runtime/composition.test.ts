/**
 * Sessions compose as children of one actor system: a parent machine invokes a
 * transcription session and an LLM (each facade's `logic`), hears their events through
 * `relayEmitted`, and runs both on one runtime and one virtual clock.
 */
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { assign, createActor, sendTo, setup } from "xstate"
import type { ChatChunk } from "../../machines/responses/chunks.ts"
import type { SpeechEvent } from "../../machines/transcription/speechEvents.ts"
import { ResponsesChain } from "../../src/llm/ResponsesLLM.ts"
import { makeSessionRuntime, type RelayedEvent, relayEmitted } from "../../src/runtime/index.ts"
import { type Simulator, startSimulator } from "../../src/simulator/index.ts"
import { TranscriptionSession } from "../../src/stt/TranscriptionSession.ts"
import { RealtimeSocket } from "../../src/transport/index.ts"
import { eventually, toneAt, transcriptionConnections } from "../stt/transcriptionSessionHelpers.ts"

const withSimulator = <A, E, R>(use: (sim: Simulator) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.promise(() =>
      startSimulator({
        scenario: { transcripts: ["what is the weather"], replies: [{ text: "sunny all day" }] },
      }),
    ),
    use,
    (sim) => Effect.promise(() => sim.close()),
  )

const wait = (predicate: () => boolean) => Effect.promise(() => eventually(predicate))

it.effect("invokes a transcription session and an LLM as children of one parent, on one virtual clock", () =>
  withSimulator((sim) =>
    Effect.gen(function* () {
      const runtime = makeSessionRuntime(yield* Effect.context<RealtimeSocket>())
      const endpoint = { apiKey: "sk-simulator", baseUrl: sim.httpUrl }
      const stt = TranscriptionSession.logic(runtime, {
        openai: endpoint,
        env: {},
        turnDetection: null,
        timeouts: { rotateAfterMs: 1_000 },
        seed: 7,
      })
      const llm = ResponsesChain.logic(runtime, { openai: endpoint, env: {}, rotateAfterMs: 1_000 })

      type ParentEvent =
        | { readonly type: "COMMIT" }
        | RelayedEvent<"stt", SpeechEvent>
        | RelayedEvent<"llm", { readonly type: string; readonly chunk?: ChatChunk }>
      const parent = setup({
        types: {
          context: {} as { heard: string | undefined; reply: string },
          events: {} as ParentEvent,
        },
        actors: {
          stt: stt.logic,
          llm: llm.logic,
          relayStt: relayEmitted("stt"),
          relayLlm: relayEmitted("llm"),
        },
      }).createMachine({
        id: "agent",
        context: { heard: undefined, reply: "" },
        invoke: [
          { id: "stt", systemId: "stt", src: "stt", input: stt.input },
          { id: "llm", systemId: "llm", src: "llm", input: llm.input },
          { src: "relayStt" },
          { src: "relayLlm" },
        ],
        initial: "listening",
        states: {
          listening: {
            on: {
              COMMIT: { actions: sendTo("stt", () => stt.flushEvent()) },
              "stt.final_transcript": {
                target: "answering",
                actions: [
                  assign({
                    heard: ({ event }) =>
                      event.event.type === "final_transcript" ? event.event.alternatives[0]?.text : undefined,
                  }),
                  sendTo("llm", ({ context }) => ({
                    type: "CHAT" as const,
                    request: llm.request([{ role: "user", content: context.heard ?? "" }], {}, "turn_1"),
                  })),
                ],
              },
            },
          },
          answering: {
            on: {
              "llm.turn.chunk": [
                { guard: ({ event }) => event.event.chunk?.type === "end", target: "answered" },
                {
                  actions: assign({
                    reply: ({ context, event }) =>
                      context.reply + (event.event.chunk?.type === "text" ? event.event.chunk.delta : ""),
                  }),
                },
              ],
            },
          },
          answered: {},
        },
      })

      const agent = createActor(parent, { clock: runtime.clock })
      agent.start()
      yield* wait(
        () => agent.getSnapshot().children.stt?.getSnapshot().matches({ online: "streaming" }) === true,
      )

      const speech = toneAt(600)
      for (let i = 0; i < speech.length; i += 480) {
        stt.audio.push({ data: speech.subarray(i, i + 480), sampleRateHz: 24_000, channels: 1 })
      }
      agent.send({ type: "COMMIT" })
      yield* wait(() => agent.getSnapshot().matches("answered"))
      assert.strictEqual(agent.getSnapshot().context.heard, "what is the weather")
      assert.strictEqual(agent.getSnapshot().context.reply, "sunny all day")

      // Both children's delays are timers of the one clock the parent runs on: one move of
      // virtual time renews both connections.
      const responses = () => sim.connections.filter((c) => c.kind === "responses")
      assert.strictEqual(transcriptionConnections(sim).length, 1)
      assert.strictEqual(responses().length, 1)
      assert.isAtLeast(runtime.clock.pendingTimers, 2)
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(transcriptionConnections(sim).length, 1)
      assert.strictEqual(responses().length, 1)
      yield* TestClock.adjust("1 millis")
      yield* wait(() => transcriptionConnections(sim).length === 2 && responses().length === 2)

      agent.stop()
      yield* Effect.promise(() => runtime.shutdown())
      assert.strictEqual(runtime.activeFibers, 0)
      assert.strictEqual(runtime.clock.pendingTimers, 0)
      yield* wait(() => sim.connections.every((c) => !c.open))
    }),
  ).pipe(Effect.provide(RealtimeSocket.layer)),
)
