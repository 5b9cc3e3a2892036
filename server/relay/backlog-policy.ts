import type { RelayFrameHeader } from '../../shared/index';

/** Audio is kept past the video bound, up to this multiple of it; beyond, audio drops too. */
export const AUDIO_BACKLOG_FACTOR = 2;

/** One viewer's position in the stream, as the policy sees it. */
export interface ViewerStreamState {
  /** Video deltas are useless until a keyframe: set after a drop and for a fresh viewer. */
  awaitingKeyframe: boolean;
}

export type BacklogDecision = 'send' | 'drop';

/**
 * Decides whether one chunk goes to one viewer, given the bytes still queued for it.
 *
 * - Video: past `limitBytes`, drop, and keep dropping deltas until a keyframe fits again, so
 *   the decoder never sees a delta whose reference is missing.
 * - Audio: always sent while the backlog is under AUDIO_BACKLOG_FACTOR × `limitBytes`, so a
 *   slow viewer keeps its sound; past that, dropped too, so memory stays bounded.
 *
 * So one viewer's queue never grows past AUDIO_BACKLOG_FACTOR × limitBytes + one chunk.
 * Mutates `state.awaitingKeyframe`.
 */
export function decideChunk(
  state: ViewerStreamState,
  header: Pick<RelayFrameHeader, 'track' | 'keyframe'>,
  backlogBytes: number,
  limitBytes: number,
): BacklogDecision {
  if (header.track === 'audio') {
    return backlogBytes < limitBytes * AUDIO_BACKLOG_FACTOR ? 'send' : 'drop';
  }
  if (backlogBytes >= limitBytes) {
    state.awaitingKeyframe = true;
    return 'drop';
  }
  if (state.awaitingKeyframe) {
    if (!header.keyframe) return 'drop';
    state.awaitingKeyframe = false;
  }
  return 'send';
}
