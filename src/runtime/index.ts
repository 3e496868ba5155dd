/**
 * The runtime bridge: runs the session machines with Effect services. A
 * {@link SessionRuntime} holds a session's services, its one clock and its fibers; the
 * socket actor connects through `RealtimeSocket` and decodes frames at the edge. What is
 * particular to one capability (the transcription actors, the Responses socket) lives in
 * that capability's folder.
 * @module
 */

export {
  type Channel,
  type ChannelHooks,
  createChannel,
} from "./channel.ts"
export {
  type RelayedEvent,
  relayEmitted,
} from "./relayEmitted.ts"
export {
  makeSessionRuntime,
  type SessionRuntime,
  type SessionRuntimeOptions,
} from "./SessionRuntime.ts"
export {
  type ConnectionHandler,
  failureOfTransportError,
  makeSocketActor,
  type SocketActorOptions,
  type Wire,
} from "./socketActor.ts"
