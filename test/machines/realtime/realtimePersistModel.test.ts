/**
 * Model-based round trips of the Realtime machine's snapshots: at every state reached by the
 * shortest paths of its graph (`xstate/graph`), the context is persisted (`restoreOf`, through
 * JSON), a new actor is started from it (`input.restore`) and connected; what it sends on its
 * first connection must equal what the original actor sends when its connection is lost
 * there and a new one is made: the same conversation re-created, item for item and in order,
 * the same responses asked for again; a call waiting for its output still takes it.
 */
import { describe, expect, it } from "vitest"
import { createActor, fromCallback, SimulatedClock, type SnapshotFrom } from "xstate"
import { getShortestPaths } from "xstate/graph"
import type { SessionSocketInput } from "../../../machines/lifecycle/sessionLifecycle.ts"
import {
  type RealtimeSessionEvent,
  type RealtimeSessionInput,
  type RealtimeSocketCommand,
  realtimeSessionMachine,
  restoreOf,
} from "../../../machines/realtime/realtimeSession.ts"

const recordingMachine = (sent: RealtimeSocketCommand[]) =>
  realtimeSessionMachine.provide({
    actors: {
      socket: fromCallback<RealtimeSocketCommand, SessionSocketInput>(({ receive }) => {
        receive((command) => {
          sent.push(command)
        })
        return () => undefined
      }),
    },
  })
const explorer = recordingMachine([])
type Snapshot = SnapshotFrom<typeof explorer>

const input: RealtimeSessionInput = {
  settings: { model: "gpt-realtime", tools: [], turnDetection: { type: "server_vad" } },
  lifecycle: { reconnect: { maxAttempts: 10, baseDelayMs: 10, jitter: 0 }, seed: 1 },
}

const events = (snapshot: Snapshot): RealtimeSessionEvent[] => {
  const c = snapshot.context
  const responseId = c.response?.responseId ?? `resp_${c.mirror.length}`
  const all: RealtimeSessionEvent[] = [
    { type: "SOCKET.OPEN", atMs: 0 },
    { type: "SERVER.SESSION_CREATED", atMs: 0 },
    { type: "SERVER.SESSION_UPDATED", atMs: 0 },
    { type: "SEND_TEXT", text: `said ${c.mirror.length}`, itemId: `user_${c.mirror.length}` },
    {
      type: "SERVER.ITEM_ADDED",
      item: {
        type: "message",
        id: `user_${c.mirror.length}`,
        role: "user",
        content: `said ${c.mirror.length}`,
      },
      previousItemId: c.mirror.at(-1)?.id ?? null,
      done: true,
      atMs: 0,
    } as unknown as RealtimeSessionEvent,
    { type: "CREATE_RESPONSE", requestId: `r${c.queued.length}`, request: {}, atMs: 0 },
    { type: "SERVER.RESPONSE_CREATED", responseId, atMs: 0 },
    { type: "SERVER.TRANSCRIPT_DELTA", responseId, itemId: `a_${responseId}`, delta: "x", atMs: 0 },
    { type: "SERVER.RESPONSE_DONE", responseId, status: "completed", usage: null, atMs: 0 },
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
  ]
  // A bounded conversation keeps the graph finite.
  return all
    .filter(
      (e) => (e.type !== "SEND_TEXT" && (e.type as string) !== "SERVER.ITEM_ADDED") || c.mirror.length < 2,
    )
    .filter(
      (e) =>
        (e.type !== "SERVER.FUNCTION_CALL" || c.calls.length === 0) &&
        (e.type !== "CREATE_RESPONSE" || c.queued.length < 1),
    )
}

const serializeState = (snapshot: Snapshot): string => {
  const c = snapshot.context
  return JSON.stringify([
    snapshot.value,
    c.mirror.map((m) => [m.id, m.item.type === "message" ? m.item.content : m.item.type]),
    c.response === undefined ? null : [c.response.responseId !== undefined],
    c.queued.length,
    c.calls.map((call) => call.answered),
  ])
}

const handshake: RealtimeSessionEvent[] = [
  { type: "SOCKET.OPEN", atMs: 0 },
  { type: "SERVER.SESSION_CREATED", atMs: 0 },
  { type: "SERVER.SESSION_UPDATED", atMs: 0 },
]

/** The events sent to the socket that a new connection's conversation depends on. */
const conversationSent = (sent: readonly RealtimeSocketCommand[]) =>
  sent.flatMap((command) => {
    if (command.type !== "send") return []
    const event = command.event as { type: string; item?: unknown; previous_item_id?: string }
    if (event.type === "conversation.item.create")
      return [JSON.stringify([event.type, event.previous_item_id, event.item])]
    if (event.type === "response.create") return [event.type]
    return []
  })

describe("realtimeSessionMachine persist round trips", () => {
  const paths = getShortestPaths(explorer, {
    input,
    events,
    serializeState,
    serializeEvent: (event) => JSON.stringify(event),
    limit: 20_000,
  })

  it("resumes at every reachable online state as a lost connection would recover there", () => {
    let compared = 0
    for (const path of paths) {
      if (!path.state.matches("online") || path.state.context.lifecycle.recovering) continue
      // The original: the path, then its connection lost and made again.
      const lost: RealtimeSocketCommand[] = []
      const clock = new SimulatedClock()
      const original = createActor(recordingMachine(lost), { input, clock }).start()
      for (const step of path.steps) {
        if ((step.event.type as string) !== "xstate.init") original.send(step.event)
      }
      const persisted = JSON.parse(JSON.stringify(restoreOf(original.getSnapshot().context)))
      lost.length = 0
      original.send({
        type: "SOCKET.FAILED",
        failure: { code: "close_1006", message: "x", retryable: true },
        atMs: 0,
      })
      clock.increment(60_000)
      for (const event of handshake) original.send(event)

      // The resumed one: a new actor from the snapshot, on its first connection.
      const resumedSent: RealtimeSocketCommand[] = []
      const resumed = createActor(recordingMachine(resumedSent), {
        input: { ...input, restore: persisted },
        clock: new SimulatedClock(),
      }).start()
      for (const event of handshake) resumed.send(event)

      expect(resumed.getSnapshot().matches({ online: "streaming" })).toBe(true)
      expect(conversationSent(resumedSent), JSON.stringify(path.state.value)).toEqual(conversationSent(lost))
      expect(resumed.getSnapshot().context.calls).toEqual(original.getSnapshot().context.calls)
      for (const call of resumed.getSnapshot().context.calls.filter((c) => !c.answered)) {
        resumed.send({
          type: "TOOL_OUTPUT",
          callId: call.callId,
          output: "1",
          itemId: "o2",
          respond: false,
          atMs: 0,
        })
        const answered = resumedSent.some(
          (command) =>
            command.type === "send" &&
            JSON.stringify(command.event).includes('"function_call_output"') &&
            JSON.stringify(command.event).includes(`"${call.callId}"`),
        )
        expect(answered).toBe(true)
      }
      original.stop()
      resumed.stop()
      compared++
    }
    expect(compared).toBeGreaterThan(20)
  })
})
