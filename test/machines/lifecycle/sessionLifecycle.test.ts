import { describe, expect, it } from "vitest"
import { assign, createActor, fromCallback, SimulatedClock, setup } from "xstate"
import {
  backoffDelayMs,
  classifyServerError,
  DEFAULT_RECONNECT_POLICY,
  initialLifecycleState,
  type LifecycleContext,
  type LifecycleEvent,
  lifecycleActions,
  lifecycleDelays,
  lifecycleGuards,
  nextRandom,
  type SessionSocketInput,
  sessionLifecycle,
} from "../../../machines/lifecycle/sessionLifecycle.ts"

describe("backoffDelayMs", () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, jitter: 0 }

  it("doubles from the base delay and stops at the cap", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(policy, n, 0.5))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ])
  })

  it("scales the jittered share with the random number", () => {
    const jittered = { ...policy, jitter: 0.5 }
    expect(backoffDelayMs(jittered, 3, 0)).toBe(200)
    expect(backoffDelayMs(jittered, 3, 0.999_999)).toBe(400)
    expect(backoffDelayMs({ ...policy, jitter: 1 }, 3, 0.25)).toBe(100)
  })
})

describe("nextRandom", () => {
  it("is deterministic for a seed and stays within [0, 1)", () => {
    let seed = 42
    const values: number[] = []
    for (let i = 0; i < 1000; i++) {
      const next = nextRandom(seed)
      seed = next.seed
      values.push(next.value)
    }
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true)
    expect(new Set(values).size).toBe(1000)
    expect(nextRandom(42)).toEqual(nextRandom(42))
  })
})

describe("classifyServerError", () => {
  it.each([
    ["beta_api_shape_disabled", "invalid_request_error", "fatal"],
    ["invalid_api_key", "invalid_request_error", "fatal"],
    ["insufficient_quota", "insufficient_quota", "fatal"],
    [undefined, "authentication_error", "fatal"],
    ["session_expired", "invalid_request_error", "reconnect"],
    ["rate_limit_exceeded", "tokens", "reconnect"],
    [undefined, "server_error", "reconnect"],
    ["input_audio_buffer_commit_empty", "invalid_request_error", "report"],
    ["unknown_parameter", "invalid_request_error", "report"],
  ] as const)("classifies %s / %s as %s", (code, errorType, expected) => {
    expect(classifyServerError({ code, errorType })).toBe(expected)
  })
})

describe("initialLifecycleState", () => {
  it("fills in defaults and keeps given values", () => {
    const state = initialLifecycleState({ reconnect: { maxAttempts: 2 }, timeouts: { drainMs: 5 } })
    expect(state.policy).toEqual({ ...DEFAULT_RECONNECT_POLICY, maxAttempts: 2 })
    expect(state.timeouts.drainMs).toBe(5)
    expect(state.attempt).toBe(0)
  })

  it("rejects negative times and a jitter above 1", () => {
    expect(() => initialLifecycleState({ timeouts: { inactivityMs: -1 } })).toThrow(RangeError)
    expect(() => initialLifecycleState({ reconnect: { jitter: 1.5 } })).toThrow(RangeError)
  })
})

/**
 * A second session machine on the same lifecycle, as a speech-to-speech session would be:
 * its own streaming substates (idle ⇄ responding), its own context and hooks. The lifecycle's
 * states, reconnects, failure handling and rotation come for free.
 */
interface ConversationContext extends LifecycleContext {
  readonly updatesSent: number
  readonly responses: number
  readonly hooks: readonly string[]
}

type ConversationEvent =
  | LifecycleEvent
  | { readonly type: "RESPONSE.CREATED" }
  | { readonly type: "RESPONSE.DONE" }

const conversation = sessionLifecycle("conversation")

const conversationMachine = setup({
  types: {
    context: {} as ConversationContext,
    events: {} as ConversationEvent,
    input: {} as { readonly maxAttempts: number },
  },
  actors: {
    socket: fromCallback<ConversationEvent, SessionSocketInput>(() => undefined),
  },
  delays: lifecycleDelays<ConversationContext>(),
  guards: lifecycleGuards<ConversationContext, ConversationEvent>(),
  actions: {
    ...lifecycleActions<ConversationContext, ConversationEvent>(),
    onConnecting: assign(({ context }) => ({ hooks: [...context.hooks, "onConnecting"] })),
    sendSessionUpdate: assign(({ context }) => ({ updatesSent: context.updatesSent + 1 })),
    startStreaming: assign(({ context }) => ({ hooks: [...context.hooks, "startStreaming"] })),
    handleServerError: assign(({ context }) => ({ hooks: [...context.hooks, "handleServerError"] })),
    onConnectionLost: assign(({ context }) => ({ hooks: [...context.hooks, "onConnectionLost"] })),
    onSessionFailed: assign(({ context }) => ({ hooks: [...context.hooks, "onSessionFailed"] })),
    onSessionClosed: assign(({ context }) => ({ hooks: [...context.hooks, "onSessionClosed"] })),
    countResponse: assign(({ context }) => ({ responses: context.responses + 1 })),
  },
}).createMachine({
  context: ({ input }) => ({
    lifecycle: initialLifecycleState({
      reconnect: { maxAttempts: input.maxAttempts, baseDelayMs: 100, jitter: 0 },
      timeouts: { rotateAfterMs: 5_000 },
    }),
    updatesSent: 0,
    responses: 0,
    hooks: [],
  }),
  ...conversation.config({
    on: {},
    onlineOn: {},
    streaming: {
      initial: "idle" as const,
      states: {
        idle: {
          on: { "RESPONSE.CREATED": { target: "responding" as const } },
          always: conversation.rotate,
        },
        responding: {
          on: { "RESPONSE.DONE": { target: "idle" as const, actions: "countResponse" as const } },
        },
      },
    },
    draining: { always: { target: conversation.targets.closed } },
  }),
})

const open = (actor: ReturnType<typeof createActor<typeof conversationMachine>>) => {
  actor.send({ type: "SOCKET.OPEN", atMs: 0 })
  actor.send({ type: "SERVER.SESSION_CREATED", atMs: 0 })
  actor.send({ type: "SERVER.SESSION_UPDATED", atMs: 0 })
}

describe("sessionLifecycle reused by another session machine", () => {
  it("gives the plugged-in streaming states the shared connect and configure sequence", () => {
    const actor = createActor(conversationMachine, {
      input: { maxAttempts: 2 },
      clock: new SimulatedClock(),
    }).start()
    expect(actor.getSnapshot().value).toEqual({ online: "connecting" })
    open(actor)
    expect(actor.getSnapshot().value).toEqual({ online: { streaming: "idle" } })
    actor.send({ type: "RESPONSE.CREATED" })
    expect(actor.getSnapshot().value).toEqual({ online: { streaming: "responding" } })
    expect(actor.getSnapshot().context).toMatchObject({
      updatesSent: 1,
      hooks: ["onConnecting", "startStreaming"],
    })
  })

  it("reconnects after a retryable failure, reconfigures, and fails when attempts run out", () => {
    const clock = new SimulatedClock()
    const actor = createActor(conversationMachine, { input: { maxAttempts: 1 }, clock }).start()
    open(actor)
    actor.send({
      type: "SOCKET.FAILED",
      failure: { code: "close_1011", message: "x", retryable: true },
      atMs: 0,
    })
    expect(actor.getSnapshot().value).toBe("reconnecting")
    clock.increment(100)
    open(actor)
    expect(actor.getSnapshot().context.updatesSent).toBe(2)
    expect(actor.getSnapshot().context.lifecycle.attempt).toBe(0)
    actor.send({
      type: "SERVER.ERROR",
      code: "server_error",
      errorType: "server_error",
      message: "x",
      param: undefined,
      atMs: 0,
    })
    clock.increment(100)
    actor.send({
      type: "SOCKET.FAILED",
      failure: { code: "close_1006", message: "x", retryable: true },
      atMs: 0,
    })
    expect(actor.getSnapshot().value).toBe("failed")
    expect(actor.getSnapshot().context.hooks.at(-1)).toBe("onSessionFailed")
  })

  it("reports a non-fatal server error through the session's own hook and stays", () => {
    const actor = createActor(conversationMachine, {
      input: { maxAttempts: 1 },
      clock: new SimulatedClock(),
    }).start()
    open(actor)
    actor.send({
      type: "SERVER.ERROR",
      code: "unknown_parameter",
      errorType: "invalid_request_error",
      message: "x",
      param: "y",
      atMs: 0,
    })
    expect(actor.getSnapshot().value).toEqual({ online: { streaming: "idle" } })
    expect(actor.getSnapshot().context.hooks.at(-1)).toBe("handleServerError")
  })

  it("fails on a rejected configuration instead of retrying it", () => {
    const actor = createActor(conversationMachine, {
      input: { maxAttempts: 3 },
      clock: new SimulatedClock(),
    }).start()
    actor.send({ type: "SOCKET.OPEN", atMs: 0 })
    actor.send({ type: "SERVER.SESSION_CREATED", atMs: 0 })
    actor.send({
      type: "SERVER.ERROR",
      code: "invalid_value",
      errorType: "invalid_request_error",
      message: "bad model",
      param: "session.model",
      atMs: 0,
    })
    expect(actor.getSnapshot().value).toBe("failed")
    expect(actor.getSnapshot().context.lifecycle.lastFailure).toEqual({
      code: "invalid_value",
      message: "bad model",
      retryable: false,
    })
  })

  it("rotates an old connection only once the plugged-in streaming state is idle", () => {
    const clock = new SimulatedClock()
    const actor = createActor(conversationMachine, { input: { maxAttempts: 1 }, clock }).start()
    open(actor)
    actor.send({ type: "RESPONSE.CREATED" })
    clock.increment(5_000)
    expect(actor.getSnapshot().value).toEqual({ online: { streaming: "responding" } })
    expect(actor.getSnapshot().context.lifecycle.connections).toBe(1)
    actor.send({ type: "RESPONSE.DONE" })
    expect(actor.getSnapshot().value).toEqual({ online: "connecting" })
    expect(actor.getSnapshot().context.lifecycle.connections).toBe(2)
    expect(actor.getSnapshot().context.hooks.filter((h) => h === "onConnectionLost")).toEqual([])
  })
})
