import { describe, expect, it } from 'vitest';
import { AUDIO_BACKLOG_FACTOR, decideChunk } from '../../server/relay/backlog-policy';

const video = (keyframe = false) => ({ track: 'video' as const, keyframe });
const audio = { track: 'audio' as const, keyframe: false };

describe('decideChunk', () => {
  it('a fresh viewer waits for a keyframe, then takes every chunk under the bound', () => {
    const state = { awaitingKeyframe: true };
    expect(decideChunk(state, video(), 0, 1000)).toBe('drop');
    expect(decideChunk(state, audio, 0, 1000)).toBe('send');
    expect(decideChunk(state, video(true), 0, 1000)).toBe('send');
    expect(state.awaitingKeyframe).toBe(false);
    expect(decideChunk(state, video(), 999, 1000)).toBe('send');
  });

  it('past the bound drops video until the next keyframe, and keeps audio', () => {
    const state = { awaitingKeyframe: false };
    expect(decideChunk(state, video(), 1000, 1000)).toBe('drop');
    expect(state.awaitingKeyframe).toBe(true);
    expect(decideChunk(state, audio, 1500, 1000)).toBe('send');
    // The backlog drained, but deltas still need their keyframe.
    expect(decideChunk(state, video(), 0, 1000)).toBe('drop');
    // A keyframe that does not fit is dropped too.
    expect(decideChunk(state, video(true), 5000, 1000)).toBe('drop');
    expect(decideChunk(state, video(true), 10, 1000)).toBe('send');
    expect(decideChunk(state, video(), 10, 1000)).toBe('send');
  });

  it('drops audio too past the hard bound, so memory stays bounded', () => {
    const state = { awaitingKeyframe: false };
    expect(decideChunk(state, audio, 1000 * AUDIO_BACKLOG_FACTOR - 1, 1000)).toBe('send');
    expect(decideChunk(state, audio, 1000 * AUDIO_BACKLOG_FACTOR, 1000)).toBe('drop');
  });
});
