/**
 * The lifecycle every Realtime WebSocket session shares, as reusable XState v5 parts:
 *
 * ```
 * online ─┬─ connecting ─ awaitingSessionCreated ─ configuring ─┬─ streaming   (plugged in)
 *         │                                                     └─ draining    (plugged in)
 * reconnecting (backoff) ── back to online
 * closed (final) · failed (final)
 * ```
 *
 * A session machine builds its `setup({...})` with {@link lifecycleActions},
 * {@link lifecycleGuards} and {@link lifecycleDelays} spread in, and its config with
 * {@link sessionLifecycle}`(id).config({ streaming, draining })`, plugging its own
 * streaming and draining states into the shared shape. The session supplies a few named
 * actions of its own ({@link LifecycleHookAction}) and one actor, `socket`, invoked for the
 * whole time the session is `online` (leaving `online` stops it, which closes the socket).
 *
 * Pure: no sockets, no timers of its own. Every wait is an `after` with a named delay; the
 * backoff jitter comes from a seeded generator in the context, so a run is reproducible.
 * @module
 */
import { assign, type EventObject, type MachineContext } from "xstate"
import { classifyOpenAIError } from "../../src/protocol/index.ts"

// ---------------------------------------------------------------------------------------
// Policy

/** How a lost connection is retried. Times in milliseconds. */
export interface ReconnectPolicy {
  /** Attempts after a loss before giving up (0 = never reconnect). */
  readonly maxAttempts: number
  /** Delay before the first attempt; doubles each attempt. */
  readonly baseDelayMs: number
  /** Upper bound of the delay. */
  readonly maxDelayMs: number
  /**
   * Share of the delay that is random, 0..1: the delay is `d × (1 − jitter + jitter × r)` with
   * `r` uniform in [0, 1), so 0 is no jitter and 1 is "full jitter".
   */
  readonly jitter: number
}

/** Default reconnect policy: 5 attempts, 250 ms doubling to at most 10 s, half jittered. */
export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  jitter: 0.5,
}

/** The named waits of a session, in milliseconds. */
export interface LifecycleTimeouts {
  /** From the socket opening to `session.created` (`sessionCreatedTimeout`). */
  readonly sessionCreatedMs: number
  /** From `session.update` to `session.updated` (`sessionUpdatedTimeout`). */
  readonly sessionUpdatedMs: number
  /**
   * Longest silence from the server while it owes the session an event (a transcript, a
   * commit acknowledgement, a VAD event for audible speech) before the connection counts as
   * stalled (`inactivityTimeout`). While draining too: a stall after end of input is caught
   * by this wait and the outstanding turns are replayed on a new connection, but only if it
   * fires before {@link LifecycleTimeouts.drainMs}; keep it well below `drainMs`.
   */
  readonly inactivityMs: number
  /**
   * After end of input, the longest wait on one connection for the outstanding results
   * (`drainTimeout`); when it fires, the turns still outstanding end with `drain_timeout`.
   * The wait starts when a connection enters draining and starts again on the connection
   * that replaces a stalled or lost one. It must exceed
   * {@link LifecycleTimeouts.inactivityMs} plus the time the server still answered before it
   * fell silent, or a stall while draining ends in `drain_timeout` instead of a reconnect and
   * a replay; and it must leave the new connection time to transcribe the replayed turns.
   */
  readonly drainMs: number
  /**
   * After end of input, the longest wait for the outstanding results across every connection
   * the drain takes (`drainTimeout` never runs past it): a server that stalls each new
   * connection cannot keep a drain going by forcing reconnects.
   */
  readonly drainTotalMs: number
  /**
   * Connection age after which the session reconnects at the next quiet moment, ahead of
   * the server's 60-minute cap (`connectionMaxAge`).
   */
  readonly rotateAfterMs: number
}

/**
 * Default waits: 10 s to create, 10 s to configure, 15 s of owed silence, 30 s to drain on
 * one connection and 90 s across all, rotate at 50 min. The drain is twice the inactivity wait, so a server that stalls after end
 * of input is caught and the outstanding turns replayed rather than ended by `drain_timeout`.
 */
export const DEFAULT_LIFECYCLE_TIMEOUTS: LifecycleTimeouts = {
  sessionCreatedMs: 10_000,
  sessionUpdatedMs: 10_000,
  inactivityMs: 15_000,
  drainMs: 30_000,
  drainTotalMs: 90_000,
  rotateAfterMs: 50 * 60_000,
}

// ---------------------------------------------------------------------------------------
// Context and events

/** Why a connection (or the session) ended, as a value. */
export interface LifecycleFailure {
  /** Stable code: the server's error code, or one of this library's (`close_1006`, `http_401`, `stalled`, ...). */
  readonly code: string
  readonly message: string
  /** Whether a new connection can succeed. */
  readonly retryable: boolean
}

/**
 * How a socket ended, as the one socket actor reports it (`SOCKET.FAILED`), for every
 * WebSocket session (Realtime and Responses): a {@link LifecycleFailure} (`close_1000` when
 * the server closed normally, `close_1006`, `http_401`, `connect_timeout`, ...) and what a
 * machine needs to tell a refused connection from a lost one.
 */
export interface SocketFailure extends LifecycleFailure {
  /** True when the socket had opened (false: the connection attempt failed). */
  readonly opened: boolean
  /** The close code the peer closed with (1000 included). */
  readonly closeCode?: number
  /** The HTTP status of a rejected upgrade. */
  readonly status?: number
}

/** The lifecycle's part of a session machine's context (`context.lifecycle`). */
export interface LifecycleState {
  readonly policy: ReconnectPolicy
  readonly timeouts: LifecycleTimeouts
  /** Reconnect attempts since the last connection that reached `streaming`. */
  readonly attempt: number
  /** Connections opened so far (the socket actor's input). */
  readonly connections: number
  /** True while the current connection replaces a lost one (until it is configured). */
  readonly recovering: boolean
  /** True once the connection is old enough to be replaced at the next quiet moment. */
  readonly rotationDue: boolean
  /** The failure that sent the session to `reconnecting` or `failed`. */
  readonly lastFailure: LifecycleFailure | undefined
  /** Delay chosen for the pending reconnect, in milliseconds. */
  readonly reconnectDelayMs: number
  /** State of the jitter generator (32-bit). */
  readonly seed: number
}

/** A context that holds a {@link LifecycleState}. */
export interface LifecycleContext extends MachineContext {
  readonly lifecycle: LifecycleState
}

/** Options to build the initial {@link LifecycleState}. */
export interface LifecycleStateOptions {
  readonly reconnect?: Partial<ReconnectPolicy>
  readonly timeouts?: Partial<LifecycleTimeouts>
  /** Seed of the backoff jitter (any integer). */
  readonly seed?: number
}

/**
 * The initial {@link LifecycleState}, with defaults filled in.
 *
 * @throws {RangeError} for a negative or non-finite time, a negative attempt count, or a
 *   jitter outside 0..1
 */
export const initialLifecycleState = (options: LifecycleStateOptions = {}): LifecycleState => {
  const policy: ReconnectPolicy = { ...DEFAULT_RECONNECT_POLICY, ...defined(options.reconnect) }
  const timeouts: LifecycleTimeouts = { ...DEFAULT_LIFECYCLE_TIMEOUTS, ...defined(options.timeouts) }
  for (const [name, value] of Object.entries({ ...policy, ...timeouts })) {
    if (!Number.isFinite(value) || value < 0)
      throw new RangeError(`${name} must be a finite number >= 0, got ${value}`)
  }
  if (policy.jitter > 1) throw new RangeError(`jitter must be within 0..1, got ${policy.jitter}`)
  return {
    policy,
    timeouts,
    attempt: 0,
    connections: 0,
    recovering: false,
    rotationDue: false,
    lastFailure: undefined,
    reconnectDelayMs: 0,
    seed: (options.seed ?? 0x9e3779b9) >>> 0,
  }
}

const defined = <T extends object>(value: Partial<T> | undefined): Partial<T> => {
  const out: Partial<T> = {}
  if (value === undefined) return out
  for (const [key, v] of Object.entries(value)) if (v !== undefined) (out as Record<string, unknown>)[key] = v
  return out
}

/** The events the lifecycle reacts to. Every event from the outside carries its clock time `atMs`. */
export type LifecycleEvent =
  /** The socket actor opened the WebSocket. */
  | { readonly type: "SOCKET.OPEN"; readonly atMs: number }
  /** The connection is gone or could not be opened. */
  | { readonly type: "SOCKET.FAILED"; readonly failure: LifecycleFailure; readonly atMs: number }
  /** `session.created` (or beta `transcription_session.created`). */
  | { readonly type: "SERVER.SESSION_CREATED"; readonly atMs: number }
  /** `session.updated` (or beta `transcription_session.updated`). */
  | { readonly type: "SERVER.SESSION_UPDATED"; readonly atMs: number }
  /** An `error` event. */
  | {
      readonly type: "SERVER.ERROR"
      readonly code: string | undefined
      readonly errorType: string | undefined
      readonly message: string
      readonly param: string | undefined
      readonly atMs: number
    }
  /** Stop now, releasing everything. */
  | { readonly type: "CLOSE" }

/** The input of the `socket` actor the lifecycle invokes while `online`. */
export interface SessionSocketInput {
  /** 1-based number of this connection in the session. */
  readonly connection: number
}

// ---------------------------------------------------------------------------------------
// Pure rules

/**
 * What a session does with a server `error` event, by `classifyOpenAIError`:
 * `fatal` (bad credentials, beta shape on GA, no quota: fail without retrying),
 * `reconnect` (retryable: `session_expired`, server faults, rate limits: new connection with backoff),
 * `report` (rejected: surface it and carry on; most errors leave the session open).
 */
export const classifyServerError = (error: {
  readonly code: string | undefined
  readonly errorType: string | undefined
}): "fatal" | "reconnect" | "report" => {
  const verdict = classifyOpenAIError({ source: "event", code: error.code, errorType: error.errorType })
  return verdict.kind === "fatal" ? "fatal" : verdict.retryable ? "reconnect" : "report"
}

/** Advances a 32-bit xorshift generator; returns the next state and a number in [0, 1). */
export const nextRandom = (seed: number): { readonly seed: number; readonly value: number } => {
  let x = seed >>> 0 || 0x9e3779b9
  x ^= x << 13
  x >>>= 0
  x ^= x >>> 17
  x ^= x << 5
  x >>>= 0
  return { seed: x, value: x / 0x1_0000_0000 }
}

/**
 * The delay before reconnect `attempt` (1-based): `baseDelayMs × 2^(attempt−1)` capped at
 * `maxDelayMs`, with the jittered share scaled by `random` ∈ [0, 1). In milliseconds.
 */
export const backoffDelayMs = (policy: ReconnectPolicy, attempt: number, random: number): number => {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(exponential * (1 - policy.jitter + policy.jitter * random))
}

// ---------------------------------------------------------------------------------------
// Actions, guards, delays

/** Parameters of `recordFailure`: a failure to record instead of the one the event carries. */
export interface RecordFailureParams {
  readonly failure?: LifecycleFailure
}

/** The failure an event describes, if it describes one. */
export const failureOfEvent = (event: EventObject): LifecycleFailure | undefined => {
  if (event.type === "SOCKET.FAILED") {
    return (event as unknown as Extract<LifecycleEvent, { type: "SOCKET.FAILED" }>).failure
  }
  if (event.type === "SERVER.ERROR") {
    const e = event as unknown as Extract<LifecycleEvent, { type: "SERVER.ERROR" }>
    return {
      code: e.code ?? e.errorType ?? "server_error",
      message: e.message,
      retryable: classifyServerError(e) === "reconnect",
    }
  }
  return undefined
}

const updateLifecycle = <TContext extends LifecycleContext>(
  context: TContext,
  patch: Partial<LifecycleState>,
): Partial<TContext> => ({ lifecycle: { ...context.lifecycle, ...patch } }) as Partial<TContext>

/**
 * The lifecycle's own actions, typed for a session's context and events. Spread them into
 * `setup({ actions })`:
 * - `recordFailure` (params {@link RecordFailureParams}): keep the failure of the event (or params);
 * - `scheduleReconnect`: count the attempt and choose its jittered delay;
 * - `countConnection`: a new socket is being opened;
 * - `markConfigured`: the connection reached streaming; attempts start over;
 * - `markRotationDue` / `beginRotation`: connection age reached, and the planned replacement.
 */
export const lifecycleActions = <TContext extends LifecycleContext, TEvent extends EventObject>() => ({
  recordFailure: assign<TContext, TEvent, RecordFailureParams | undefined, TEvent, never>(
    ({ context, event }, params) => {
      const failure = params?.failure ?? failureOfEvent(event) ?? context.lifecycle.lastFailure
      return updateLifecycle(context, { lastFailure: failure })
    },
  ),
  scheduleReconnect: assign<TContext, TEvent, undefined, TEvent, never>(({ context }) => {
    const attempt = context.lifecycle.attempt + 1
    const { seed, value } = nextRandom(context.lifecycle.seed)
    return updateLifecycle(context, {
      attempt,
      seed,
      recovering: true,
      reconnectDelayMs: backoffDelayMs(context.lifecycle.policy, attempt, value),
    })
  }),
  countConnection: assign<TContext, TEvent, undefined, TEvent, never>(({ context }) =>
    updateLifecycle(context, { connections: context.lifecycle.connections + 1, rotationDue: false }),
  ),
  markConfigured: assign<TContext, TEvent, undefined, TEvent, never>(({ context }) =>
    updateLifecycle(context, { attempt: 0, recovering: false }),
  ),
  markRotationDue: assign<TContext, TEvent, undefined, TEvent, never>(({ context }) =>
    updateLifecycle(context, { rotationDue: true }),
  ),
  beginRotation: assign<TContext, TEvent, undefined, TEvent, never>(({ context }) =>
    updateLifecycle(context, { rotationDue: false }),
  ),
})

/**
 * The lifecycle's guards. Spread them into `setup({ guards })`:
 * - `hasAttemptsLeft`: another reconnect attempt is allowed;
 * - `canReconnectAfterSocketFailure`: the `SOCKET.FAILED` event is retryable and attempts are left;
 * - `isFatalServerError` / `isReconnectServerError`: {@link classifyServerError} of a `SERVER.ERROR`;
 * - `canReconnectAfterServerError`: a reconnect-class `SERVER.ERROR` and attempts are left;
 * - `isConfigurationRejected`: an `invalid_request_error` (here: the session configuration was refused);
 * - `rotationDue`: the connection should be replaced at this quiet moment.
 */
export const lifecycleGuards = <TContext extends LifecycleContext, TEvent extends EventObject>() => {
  type Args = { context: TContext; event: TEvent }
  const attemptsLeft = (context: TContext): boolean =>
    context.lifecycle.attempt < context.lifecycle.policy.maxAttempts
  const serverErrorClass = (event: TEvent) =>
    event.type === "SERVER.ERROR"
      ? classifyServerError(event as unknown as Extract<LifecycleEvent, { type: "SERVER.ERROR" }>)
      : undefined
  return {
    hasAttemptsLeft: ({ context }: Args) => attemptsLeft(context),
    canReconnectAfterSocketFailure: ({ context, event }: Args) =>
      event.type === "SOCKET.FAILED" &&
      (event as unknown as Extract<LifecycleEvent, { type: "SOCKET.FAILED" }>).failure.retryable &&
      attemptsLeft(context),
    isFatalServerError: ({ event }: Args) => serverErrorClass(event) === "fatal",
    isReconnectServerError: ({ event }: Args) => serverErrorClass(event) === "reconnect",
    canReconnectAfterServerError: ({ context, event }: Args) =>
      serverErrorClass(event) === "reconnect" && attemptsLeft(context),
    isConfigurationRejected: ({ event }: Args) =>
      event.type === "SERVER.ERROR" &&
      (event as unknown as Extract<LifecycleEvent, { type: "SERVER.ERROR" }>).errorType ===
        "invalid_request_error",
    rotationDue: ({ context }: Args) => context.lifecycle.rotationDue,
  }
}

/**
 * The lifecycle's named delays, read from `context.lifecycle.timeouts` (so options set them
 * per session). Spread into `setup({ delays })`.
 */
export const lifecycleDelays = <TContext extends LifecycleContext>() => ({
  sessionCreatedTimeout: ({ context }: { context: TContext }) => context.lifecycle.timeouts.sessionCreatedMs,
  sessionUpdatedTimeout: ({ context }: { context: TContext }) => context.lifecycle.timeouts.sessionUpdatedMs,
  inactivityTimeout: ({ context }: { context: TContext }) => context.lifecycle.timeouts.inactivityMs,
  drainTimeout: ({ context }: { context: TContext }) => context.lifecycle.timeouts.drainMs,
  connectionMaxAge: ({ context }: { context: TContext }) => context.lifecycle.timeouts.rotateAfterMs,
  reconnectDelay: ({ context }: { context: TContext }) => context.lifecycle.reconnectDelayMs,
})

/**
 * Actions every session using the lifecycle implements itself (named in `setup({ actions })`):
 * - `onConnecting`: on entering `online` (a new socket is being opened; the old one is gone);
 * - `sendSessionUpdate`: on entering `configuring`, send the session's configuration;
 * - `startStreaming`: the connection is configured; start (or resume, replaying) the audio
 *   (runs before `markConfigured`, so `context.lifecycle.recovering` and `attempt` still
 *   describe the reconnect);
 * - `handleServerError`: a server error that is neither fatal nor a reason to reconnect;
 * - `onConnectionLost`: on entering `reconnecting` (the failure is in `context.lifecycle.lastFailure`);
 * - `onSessionFailed`: on entering `failed`;
 * - `onSessionClosed`: on entering `closed`.
 */
export type LifecycleHookAction =
  | "onConnecting"
  | "sendSessionUpdate"
  | "startStreaming"
  | "handleServerError"
  | "onConnectionLost"
  | "onSessionFailed"
  | "onSessionClosed"

// ---------------------------------------------------------------------------------------
// State configuration

/** The states and handlers a session plugs into the lifecycle. */
export interface LifecycleParts<TStreaming, TDraining, TOn, TOnlineOn> {
  /** The configured connection while input flows. Its transitions may use the lifecycle's targets. */
  readonly streaming: TStreaming
  /** After end of input: finish what is outstanding, then go to `#<id>.closed`. */
  readonly draining: TDraining
  /** Handlers active in every state (merged with the lifecycle's `CLOSE`). */
  readonly on: TOn
  /** Handlers active while `online` (merged with the lifecycle's socket and error handlers). */
  readonly onlineOn: TOnlineOn
}

/**
 * The lifecycle bound to a machine `id`: absolute targets, transition helpers and the state
 * configuration to plug streaming and draining states into.
 */
export const sessionLifecycle = <const Id extends string>(id: Id) => {
  const targets = {
    online: `#${id}.online`,
    streaming: `#${id}.online.streaming`,
    draining: `#${id}.online.draining`,
    reconnecting: `#${id}.reconnecting`,
    closed: `#${id}.closed`,
    failed: `#${id}.failed`,
  } as const

  /**
   * Transitions for a failure found by the session itself (a timeout, a stall): reconnect
   * while attempts are left and the failure is retryable, otherwise fail.
   */
  const failOver = (failure: LifecycleFailure) =>
    failure.retryable
      ? [
          {
            guard: "hasAttemptsLeft" as const,
            target: targets.reconnecting,
            actions: { type: "recordFailure" as const, params: { failure } },
          },
          { target: targets.failed, actions: { type: "recordFailure" as const, params: { failure } } },
        ]
      : [{ target: targets.failed, actions: { type: "recordFailure" as const, params: { failure } } }]

  /** A transition for a quiet moment: replace an old connection now (guarded by `rotationDue`). */
  const rotate = {
    guard: "rotationDue" as const,
    target: targets.online,
    reenter: true,
    actions: "beginRotation" as const,
  }

  /** The root state configuration, with `parts` plugged in. Spread it into `createMachine`. */
  const config = <
    const TStreaming,
    const TDraining,
    const TOn extends object,
    const TOnlineOn extends object,
  >(
    parts: LifecycleParts<TStreaming, TDraining, TOn, TOnlineOn>,
  ) => ({
    id,
    initial: "online" as const,
    on: { ...parts.on, CLOSE: { target: targets.closed } },
    states: {
      online: {
        description: "A connection exists (or is being opened); the socket actor lives exactly this long.",
        entry: ["countConnection" as const, "onConnecting" as const],
        invoke: {
          id: "socket" as const,
          src: "socket" as const,
          input: ({ context }: { context: LifecycleContext }): SessionSocketInput => ({
            connection: context.lifecycle.connections,
          }),
          onDone: failOver({
            code: "socket_actor_done",
            message: "The socket actor ended without reporting why",
            retryable: true,
          }),
          onError: failOver({
            code: "socket_actor_error",
            message: "The socket actor stopped with an error",
            retryable: true,
          }),
        },
        initial: "connecting" as const,
        after: { connectionMaxAge: { actions: "markRotationDue" as const } },
        on: {
          ...parts.onlineOn,
          "SOCKET.FAILED": [
            {
              guard: "canReconnectAfterSocketFailure" as const,
              target: targets.reconnecting,
              actions: "recordFailure" as const,
            },
            { target: targets.failed, actions: "recordFailure" as const },
          ],
          "SERVER.ERROR": [
            {
              guard: "isFatalServerError" as const,
              target: targets.failed,
              actions: "recordFailure" as const,
            },
            {
              guard: "canReconnectAfterServerError" as const,
              target: targets.reconnecting,
              actions: "recordFailure" as const,
            },
            {
              guard: "isReconnectServerError" as const,
              target: targets.failed,
              actions: "recordFailure" as const,
            },
            { actions: "handleServerError" as const },
          ],
        },
        states: {
          connecting: {
            description: "Waiting for the WebSocket handshake (the transport's connect timeout applies).",
            on: { "SOCKET.OPEN": { target: "awaitingSessionCreated" as const } },
          },
          awaitingSessionCreated: {
            description: "Socket open; waiting for session.created.",
            on: { "SERVER.SESSION_CREATED": { target: "configuring" as const } },
            after: {
              sessionCreatedTimeout: failOver({
                code: "session_created_timeout",
                message: "The server did not send session.created in time",
                retryable: true,
              }),
            },
          },
          configuring: {
            description: "session.update sent; waiting for session.updated.",
            entry: "sendSessionUpdate" as const,
            on: {
              "SERVER.SESSION_UPDATED": {
                target: "streaming" as const,
                actions: ["startStreaming" as const, "markConfigured" as const],
              },
              "SERVER.ERROR": [
                {
                  guard: "isFatalServerError" as const,
                  target: targets.failed,
                  actions: "recordFailure" as const,
                },
                // Reconnect-class errors first: `session_expired` is an invalid_request_error too,
                // but it ends the connection, not the configuration.
                {
                  guard: "canReconnectAfterServerError" as const,
                  target: targets.reconnecting,
                  actions: "recordFailure" as const,
                },
                {
                  guard: "isReconnectServerError" as const,
                  target: targets.failed,
                  actions: "recordFailure" as const,
                },
                {
                  guard: "isConfigurationRejected" as const,
                  target: targets.failed,
                  actions: "recordFailure" as const,
                },
                { actions: "handleServerError" as const },
              ],
            },
            after: {
              sessionUpdatedTimeout: failOver({
                code: "session_updated_timeout",
                message: "The server did not acknowledge session.update in time",
                retryable: true,
              }),
            },
          },
          streaming: parts.streaming,
          draining: parts.draining,
        },
      },
      reconnecting: {
        description: "The connection was lost; waiting out the jittered backoff before the next attempt.",
        entry: ["scheduleReconnect" as const, "onConnectionLost" as const],
        after: { reconnectDelay: { target: targets.online } },
      },
      closed: {
        description: "Finished: input drained, or close() was called.",
        type: "final" as const,
        entry: "onSessionClosed" as const,
      },
      failed: {
        description: "Ended by a fatal error or after the last reconnect attempt.",
        type: "final" as const,
        entry: "onSessionFailed" as const,
      },
    },
  })

  return { id, targets, failOver, rotate, config }
}
