/**
 * The caller's audio a call's stored checkpoint does not hold yet, kept on the caller's side
 * of the media path (the front door in proxy mode; the caller itself in redirect mode) so the
 * runner that resumes the call after a death hears it: no words lost.
 *
 * The frames are numbered as the call counts them (every binary message, from the index the
 * runner gives in `call_attached`). A `checkpoint` event from the runner lets go of the frames
 * before its `audioFrames`; on each attach, the frames from the runner's `audioFrames` on are
 * sent again after `{"type":"audio_from","frame":N}`, and the runner skips any it holds, so
 * nothing is heard twice. Bounded: past `maxFrames` the oldest go, counted in `dropped`; a
 * frame a runner then needs and no longer held is counted in `lost`.
 * @module
 */

/** One caller frame kept: its index in the call, its bytes, the rate it was sent at. */
export interface KeptFrame {
  readonly frame: number
  readonly data: Buffer
  readonly rateHz: number
}

/** What an attach sends: `audio_from` = `from`, then `frames`; `lost` frames are gone for good. */
export interface Replay {
  readonly from: number
  readonly frames: readonly KeptFrame[]
  readonly lost: number
}

/** A replay window (see the module). */
export interface ReplayWindow {
  /** Keeps the caller's next frame. */
  push(data: Buffer, rateHz: number): void
  /** The runner's checkpoint holds the frames before `audioFrames`. */
  ack(audioFrames: number): void
  /**
   * A runner took the call and expects frame `audioFrames` next (the first attach numbers the
   * frames kept so far from there); what to send it.
   */
  attach(audioFrames: number): Replay
  /** Frames kept now. */
  readonly size: number
  /** The index the next frame gets (once a runner has numbered the frames). */
  readonly next: number
  /** Frames let go because the window was full. */
  readonly dropped: number
  /** Frames a runner needed that the window no longer held. */
  readonly lost: number
}

/** A window of at most `maxFrames` frames (at least 1). */
export const createReplayWindow = (maxFrames: number): ReplayWindow => {
  const bound = Math.max(1, Math.floor(maxFrames))
  // A queue on an array: `head` is the oldest kept; compacted once half is spent.
  let items: { data: Buffer; rateHz: number }[] = []
  let head = 0
  // The index of items[head]; until the first attach, counted from 0.
  let first = 0
  let numbered = false
  let dropped = 0
  let lost = 0

  const size = () => items.length - head
  const letGo = (count: number) => {
    const n = Math.min(count, size())
    if (n <= 0) return
    head += n
    first += n
    if (head > 1024 && head * 2 > items.length) {
      items = items.slice(head)
      head = 0
    }
  }
  return {
    push(data, rateHz) {
      items.push({ data, rateHz })
      if (size() > bound) {
        letGo(1)
        dropped += 1
      }
    },
    ack(audioFrames) {
      if (numbered) letGo(audioFrames - first)
    },
    attach(audioFrames) {
      if (!numbered) {
        numbered = true
        // The runner has seen none of these: they are its frames from `audioFrames` on (a
        // first attach after the oldest were dropped counts those as never sent).
        first = audioFrames
      } else {
        letGo(audioFrames - first)
        if (first > audioFrames) lost += first - audioFrames
      }
      const frames: KeptFrame[] = []
      for (let i = head; i < items.length; i++) {
        const item = items[i] as { data: Buffer; rateHz: number }
        frames.push({ frame: first + i - head, data: item.data, rateHz: item.rateHz })
      }
      return { from: first, frames, lost: Math.max(0, first - audioFrames) }
    },
    get size() {
      return size()
    },
    get next() {
      return first + size()
    },
    get dropped() {
      return dropped
    },
    get lost() {
      return lost
    },
  }
}
