import { describe, expect, it } from 'vitest';
import { JitterBuffer } from '../../client/src/lib/relay/jitter-buffer';

const opts = { maxItems: 10, maxSpanUs: 100_000, maxWaitMs: 100, leadUs: 10_000 };

describe('JitterBuffer', () => {
  it('releases everything at once when there is no audio clock', () => {
    const jb = new JitterBuffer<string>(opts);
    jb.push('a', 1_000_000, 0);
    jb.push('b', 1_033_000, 0);
    expect(jb.pull(null, 0)).toEqual(['a', 'b']);
    expect(jb.size).toBe(0);
  });

  it('holds video until the audio clock (plus the lead) reaches it', () => {
    const jb = new JitterBuffer<string>(opts);
    jb.push('a', 1_000_000, 0);
    jb.push('b', 1_033_000, 0);
    expect(jb.pull(980_000, 0)).toEqual([]);
    expect(jb.pull(990_000, 1)).toEqual(['a']);
    expect(jb.pull(1_020_000, 2)).toEqual([]);
    expect(jb.pull(1_023_000, 3)).toEqual(['b']);
  });

  it('keeps frames in timestamp order', () => {
    const jb = new JitterBuffer<string>(opts);
    jb.push('late', 2_000, 0);
    jb.push('early', 1_000, 0);
    jb.push('mid', 1_500, 0);
    expect(jb.pull(null, 0)).toEqual(['early', 'mid', 'late']);
  });

  it('never holds more than maxItems', () => {
    const jb = new JitterBuffer<number>({ ...opts, maxSpanUs: 10_000_000 });
    for (let i = 0; i < 12; i++) jb.push(i, 1_000_000 + i * 1000, 0);
    // The audio clock is far behind: only the bound releases frames, oldest first.
    expect(jb.pull(0, 0)).toEqual([0, 1]);
    expect(jb.size).toBe(10);
  });

  it('never spans more than maxSpanUs of media', () => {
    const jb = new JitterBuffer<number>(opts);
    for (let i = 0; i < 5; i++) jb.push(i, i * 40_000, 0); // 0..160 ms
    expect(jb.pull(-1_000_000, 0)).toEqual([0, 1]); // what remains spans 80..160 ms
    expect(jb.size).toBe(3);
  });

  it('never holds a frame longer than maxWaitMs (audio stalled)', () => {
    const jb = new JitterBuffer<string>(opts);
    jb.push('a', 5_000_000, 1000);
    expect(jb.pull(0, 1050)).toEqual([]);
    expect(jb.nextDeadlineMs(1050)).toBe(50);
    expect(jb.pull(0, 1100)).toEqual(['a']);
    expect(jb.nextDeadlineMs(1100)).toBeNull();
  });

  it('clear() hands back everything so the caller can close frames', () => {
    const jb = new JitterBuffer<string>(opts);
    jb.push('a', 1, 0);
    jb.push('b', 2, 0);
    expect(jb.clear()).toEqual(['a', 'b']);
    expect(jb.size).toBe(0);
  });
});
