import { describe, expect, it } from 'vitest';
import type { RelayFrameHeader } from '../../shared/index';
import { GOP_AUDIO_ONLY_CHUNKS, GopCache, type RelayChunk } from '../../server/relay/gop-cache';

let seq = 0;
function chunk(
  track: 'video' | 'audio',
  opts: { key?: boolean; config?: boolean; size?: number } = {},
): RelayChunk {
  const size = opts.size ?? 100;
  const header: RelayFrameHeader = {
    track,
    keyframe: opts.key ?? false,
    hasConfig: opts.config ?? false,
    seq: seq++,
    timestampUs: seq * 1000,
    durationUs: 0,
    byteLength: size,
  };
  return { header, bytes: new Uint8Array(size) };
}

describe('GopCache', () => {
  it('starts at the latest video keyframe and keeps every chunk since, in order', () => {
    const cache = new GopCache(1_000_000);
    cache.push(chunk('video')); // a delta before any keyframe is useless
    expect(cache.hasKeyframe).toBe(false);
    expect(cache.snapshot()).toEqual([]);
    const k1 = chunk('video', { key: true, config: true });
    cache.push(k1);
    cache.push(chunk('video'));
    const k2 = chunk('video', { key: true, config: true });
    cache.push(k2);
    const d = chunk('video');
    const a = chunk('audio');
    cache.push(d);
    cache.push(a);
    expect(cache.hasKeyframe).toBe(true);
    expect(cache.snapshot()).toEqual([k2, d, a]);
    expect(cache.byteLength).toBe(300);
  });

  it('keeps the audio config aside and sends it first, once', () => {
    const cache = new GopCache(1_000_000);
    const audioConfig = chunk('audio', { config: true });
    cache.push(audioConfig);
    const key = chunk('video', { key: true, config: true });
    cache.push(key);
    const a = chunk('audio');
    cache.push(a);
    expect(cache.snapshot()).toEqual([audioConfig, key, a]);
    expect(cache.byteLength).toBe(300);
  });

  it('keeps only recent audio while no keyframe is cached', () => {
    const cache = new GopCache(1_000_000);
    for (let i = 0; i < GOP_AUDIO_ONLY_CHUNKS + 30; i++) cache.push(chunk('audio'));
    expect(cache.chunkCount).toBe(GOP_AUDIO_ONLY_CHUNKS);
    expect(cache.hasKeyframe).toBe(false);
  });

  it('drops a GOP that outgrows the byte bound and waits for the next keyframe', () => {
    const cache = new GopCache(1000);
    cache.push(chunk('video', { key: true, size: 400 }));
    cache.push(chunk('video', { size: 400 }));
    expect(cache.byteLength).toBe(800);
    cache.push(chunk('video', { size: 400 }));
    expect(cache.byteLength).toBeLessThanOrEqual(1000);
    expect(cache.hasKeyframe).toBe(false);
    expect(cache.snapshot()).toEqual([]);
    cache.push(chunk('video', { size: 100 })); // delta after the drop: not cached
    expect(cache.chunkCount).toBe(0);
    const key = chunk('video', { key: true, size: 100 });
    cache.push(key);
    expect(cache.snapshot()).toEqual([key]);
  });

  it('clear() forgets everything', () => {
    const cache = new GopCache(10_000);
    cache.push(chunk('audio', { config: true }));
    cache.push(chunk('video', { key: true }));
    cache.clear();
    expect(cache.snapshot()).toEqual([]);
    expect(cache.byteLength).toBe(0);
  });
});
