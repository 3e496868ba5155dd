/**
 * The runtime bridge: runs the session machines with Effect services. A
 * {@link SessionRuntime} holds a session's services, its one clock and its fibers; the
 * socket actor connects through `RealtimeSocket` and decodes frames at the edge; the
 * transcription actors supply the transcription machine's `socket` and `audioInput`.
 * @module
 */

export * from "../stt/transcriptionActors.ts"
export * from "./SessionRuntime.ts"
export * from "./socketActor.ts"
