/**
 * The runtime bridge: runs the session machines with Effect services. A
 * {@link SessionRuntime} holds a session's services, its one clock and its fibers; the
 * socket actor connects through `RealtimeSocket` and decodes frames at the edge. What is
 * particular to one capability (the transcription actors, the Responses socket) lives in
 * that capability's folder.
 * @module
 */

export * from "./channel.ts"
export * from "./relayEmitted.ts"
export * from "./SessionRuntime.ts"
export * from "./socketActor.ts"
