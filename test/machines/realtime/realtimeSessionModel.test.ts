/**
 * Model-based tests of the Realtime session machine: its graph is explored with
 * `xstate/graph` (shortest paths over the state value and an abstraction of the context,
 * with a fake socket actor), the paths must reach every state node of the machine but the
 * lifecycle's draining (a Realtime session has no end of input), and every path replayed on
 * a running actor must reach the same states.
 */
import { describe, expect, it } from "vitest"
import { type AnyStateNode, createActor, fromCallback, type SnapshotFrom } from "xstate"
import { getShortestPaths, getStateNodes } from "xstate/graph"
import type { SessionSocketInput } from "../../../machines/lifecycle/sessionLifecycle.ts"
import {
  type RealtimeSessionEvent,
  type RealtimeSessionInput,
  type RealtimeSocketCommand,
  realtimeSessionMachine,
} from "../../../machines/realtime/realtimeSession.ts"

const machine = realtimeSessionMachine.provide({
  actors: { socket: fromCallback<RealtimeSocketCommand, SessionSocketInput>(() => () => undefined) },
})
type Snapshot = SnapshotFrom<typeof machine>

const inputs: Record<string, RealtimeSessionInput> = {}
for (const onDuplicate of ["cancel_existing", "cancel_new", "keep_both"] as const) {
  inputs[onDuplicate] = {
    settings: {
      model: "gpt-realtime",
      tools: [],
      turnDetection: { type: "server_vad" },
      inputTranscription: { model: "gpt-4o-mini-transcribe" },
    },
    onDuplicate,
    lifecycle: { reconnect: { maxAttempts: 1, baseDelayMs: 10, jitter: 0 }, seed: 1 },
  }
}

const failure = (retryable: boolean) => ({
  code: retryable ? "close_1006" : "http_401",
  message: "x",
  retryable,
})

const events = (snapshot: Snapshot): RealtimeSessionEvent[] => {
  const responseId = snapshot.context.response?.responseId ?? "resp_1"
  // One call and at most two queued creates keep the abstraction finite.
  const bounded = (e: RealtimeSessionEvent) =>
    (e.type !== "SERVER.FUNCTION_CALL" || snapshot.context.calls.length === 0) &&
    (e.type !== "CREATE_RESPONSE" || snapshot.context.queued.length < 2)
  const all: RealtimeSessionEvent[] = [
    { type: "SOCKET.OPEN", atMs: 0 },
    { type: "SERVER.SESSION_CREATED", atMs: 0 },
    { type: "SERVER.SESSION_UPDATED", atMs: 0 },
    { type: "SOCKET.FAILED", failure: failure(true), atMs: 0 },
    { type: "SOCKET.FAILED", failure: failure(false), atMs: 0 },
    {
      type: "SERVER.ERROR",
      code: "response_cancel_not_active",
      errorType: "invalid_request_error",
      message: "x",
      param: undefined,
      atMs: 0,
    },
    { type: "CREATE_RESPONSE", requestId: "r", request: {}, atMs: 0 },
    { type: "INTERRUPT" },
    { type: "SERVER.RESPONSE_CREATED", responseId, atMs: 0 },
    { type: "SERVER.RESPONSE_DONE", responseId, status: "completed", usage: null, atMs: 0 },
    { type: "SERVER.RESPONSE_DONE", responseId: "resp_stranger", status: "completed", usage: null, atMs: 0 },
    { type: "SERVER.TRANSCRIPT_DELTA", responseId, itemId: "i", delta: "x", atMs: 0 },
    {
      type: "SERVER.FUNCTION_CALL",
      responseId,
      itemId: "f",
      callId: "c",
      name: "t",
      arguments: "{}",
      atMs: 0,
    },
    { type: "TOOL_OUTPUT", callId: "c", output: "1", itemId: "o", respond: true, atMs: 0 },
    { type: "SERVER.SPEECH_STARTED", itemId: "u", audioStartMs: 0, atMs: 0 },
    { type: "SERVER.SPEECH_STOPPED", itemId: "u", audioEndMs: 100, atMs: 0 },
    { type: "SERVER.COMMITTED", itemId: "u", atMs: 0 },
    { type: "SERVER.INPUT_TRANSCRIPT", itemId: "u", text: "hi", final: true, atMs: 0 },
    { type: "CLOSE" },
  ]
  return all.filter(bounded)
}

const serializeState = (snapshot: Snapshot): string => {
  const c = snapshot.context
  return JSON.stringify([
    snapshot.value,
    c.response === undefined ? null : [c.response.responseId !== undefined, c.response.outputSeen],
    c.queued.length,
    c.calls.map((call) => call.answered),
    c.wireReady,
    c.speaking,
    c.lifecycle.attempt,
  ])
}

describe("realtimeSessionMachine model", () => {
  const visited = new Set<string>()
  for (const [name, input] of Object.entries(inputs)) {
    const paths = getShortestPaths(machine, {
      input,
      events,
      serializeState,
      serializeEvent: (event) => JSON.stringify(event),
      limit: 20_000,
    })

    it(`replays every shortest path on a running actor (${name})`, () => {
      expect(paths.length).toBeGreaterThan(20)
      for (const path of paths) {
        for (const node of path.state._nodes as AnyStateNode[]) visited.add(node.id)
        const actor = createActor(machine, { input }).start()
        for (const step of path.steps) {
          if ((step.event.type as string) === "xstate.init") continue
          const before = actor.getSnapshot()
          actor.send(step.event)
          expect(JSON.stringify(actor.getSnapshot().value)).toBe(JSON.stringify(step.state.value))
          // A response.done of another response (or of one already done) changes nothing.
          if (step.event.type === "SERVER.RESPONSE_DONE" && step.event.responseId === "resp_stranger") {
            expect(actor.getSnapshot().context.response).toEqual(before.context.response)
          }
        }
        actor.stop()
      }
    })
  }

  it("reaches every state node but draining", () => {
    const all = getStateNodes(machine.root).map((n) => n.id)
    const missing = all.filter((id) => !visited.has(id) && !id.includes("draining"))
    expect(missing).toEqual([])
  })
})
