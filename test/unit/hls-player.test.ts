import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  HlsPlayer,
  LOW_LATENCY_CONFIG,
  SID_LENGTH,
  formatLatency,
  liveLatencySeconds,
  missingPlaylistDelayMs,
  nativePlayingDateMs,
  nextHlsState,
  playlistUrlWithSid,
  randomSid,
  tabReaderSid,
  type HlsConstructor,
  type HlsPlayerSnapshot,
  type HlsPlayerState,
} from '../../client/src/lib/hls-player';

describe('HLS player state machine', () => {
  it.each<[HlsPlayerState, Parameters<typeof nextHlsState>[1], HlsPlayerState]>([
    ['loading', { type: 'playlist-missing' }, 'waiting'],
    ['waiting', { type: 'playlist-loaded' }, 'loading'],
    ['loading', { type: 'playing' }, 'playing'],
    ['playing', { type: 'playlist-loaded' }, 'playing'],
    // The playlist vanished mid-play (server restart): wait for it again.
    ['playing', { type: 'playlist-missing' }, 'waiting'],
    ['playing', { type: 'ended' }, 'ended'],
    ['playing', { type: 'fatal', message: 'x' }, 'error'],
    ['ended', { type: 'playing' }, 'ended'],
    ['error', { type: 'playlist-missing' }, 'error'],
    ['ended', { type: 'reload' }, 'loading'],
    ['error', { type: 'reload' }, 'loading'],
  ])('%s + %o → %s', (from, event, to) => {
    expect(nextHlsState(from, event)).toBe(to);
  });
});

describe('HLS live latency', () => {
  it('is now minus the PROGRAM-DATE-TIME on screen, in seconds', () => {
    expect(liveLatencySeconds(1_000_000, 1_002_340)).toBeCloseTo(2.34);
  });

  it('reads a server clock slightly ahead as zero, and absurd readings as unknown', () => {
    expect(liveLatencySeconds(1_000_500, 1_000_000)).toBe(0);
    expect(liveLatencySeconds(null, 5)).toBeNull();
    expect(liveLatencySeconds(0, 5)).toBeNull();
    expect(liveLatencySeconds(Number.NaN, 5)).toBeNull();
    expect(liveLatencySeconds(1_000_000, 1_000_000 + 11 * 60_000)).toBeNull();
  });

  it('formats with one decimal', () => {
    expect(formatLatency(2.345)).toBe('2.3 s');
    expect(formatLatency(0)).toBe('0.0 s');
    expect(formatLatency(null)).toBe('—');
  });

  it('native HLS: start date plus the current position', () => {
    expect(nativePlayingDateMs(1_000_000, 2.5)).toBe(1_002_500);
    expect(nativePlayingDateMs(Number.NaN, 2.5)).toBeNull();
  });
});

describe('HLS reader id', () => {
  it('is 16 url-safe characters, drawn from the random source', () => {
    const sid = randomSid((bytes) => bytes.fill(255));
    expect(sid).toBe('_'.repeat(SID_LENGTH));
    expect(randomSid()).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(randomSid()).not.toBe(randomSid());
  });

  it('is stable within a tab and appended to the playlist URL', () => {
    expect(tabReaderSid()).toBe(tabReaderSid());
    expect(playlistUrlWithSid('/hls/123456/index.m3u8', 'abc')).toBe(
      '/hls/123456/index.m3u8?sid=abc',
    );
    expect(playlistUrlWithSid('/x.m3u8?a=1', 'a b')).toBe('/x.m3u8?a=1&sid=a%20b');
  });

  it('retries a missing playlist sooner first, then every 3 s', () => {
    expect([0, 1, 2, 3, 10].map(missingPlaylistDelayMs)).toEqual([500, 1000, 2000, 3000, 3000]);
  });
});

/** A stand-in for hls.js: records calls and lets the test fire its events. */
class FakeHls {
  static supported = true;
  static instances: FakeHls[] = [];
  static isSupported() {
    return FakeHls.supported;
  }
  static Events = {
    MANIFEST_PARSED: 'hlsManifestParsed',
    LEVEL_LOADED: 'hlsLevelLoaded',
    ERROR: 'hlsError',
  };
  static ErrorTypes = { NETWORK_ERROR: 'networkError', MEDIA_ERROR: 'mediaError' };
  handlers = new Map<string, (event: string, data: unknown) => void>();
  source: string | null = null;
  attached: unknown = null;
  destroyed = false;
  stopped = false;
  recoveries = 0;
  playingDate: Date | null = null;
  currentLevel = -1;
  levels: Array<{ bitrate: number }> = [];
  constructor(readonly config: Record<string, unknown>) {
    FakeHls.instances.push(this);
  }
  on(event: string, fn: (event: string, data: unknown) => void) {
    this.handlers.set(event, fn);
  }
  fire(event: string, data: unknown) {
    this.handlers.get(event)?.(event, data);
  }
  loadSource(url: string) {
    this.source = url;
  }
  attachMedia(video: unknown) {
    this.attached = video;
  }
  recoverMediaError() {
    this.recoveries += 1;
  }
  stopLoad() {
    this.stopped = true;
  }
  destroy() {
    this.destroyed = true;
  }
}

class FakeVideo {
  listeners = new Map<string, Set<() => void>>();
  videoWidth = 1280;
  videoHeight = 720;
  currentTime = 0;
  plays = 0;
  canPlayNative = '';
  addEventListener(type: string, fn: () => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }
  removeEventListener(type: string, fn: () => void) {
    this.listeners.get(type)?.delete(fn);
  }
  dispatch(type: string) {
    for (const fn of this.listeners.get(type) ?? []) fn();
  }
  canPlayType() {
    return this.canPlayNative;
  }
  play() {
    this.plays += 1;
    return Promise.resolve();
  }
  listenerCount() {
    return [...this.listeners.values()].reduce((n, set) => n + set.size, 0);
  }
}

const NOT_FOUND = {
  type: 'networkError',
  details: 'manifestLoadError',
  fatal: true,
  response: { code: 404, text: 'Not Found' },
};

describe('HlsPlayer', () => {
  let video: FakeVideo;
  let changes: HlsPlayerSnapshot[];
  let player: HlsPlayer;
  let now: number;

  async function startPlayer() {
    player = new HlsPlayer({
      video: video as unknown as HTMLVideoElement,
      playlistUrl: '/hls/123456/index.m3u8',
      sid: 'S'.repeat(16),
      loadHls: async () => FakeHls as unknown as HlsConstructor,
      onChange: (snapshot) => changes.push(snapshot),
      now: () => now,
    });
    await player.start();
    return FakeHls.instances.at(-1)!;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    FakeHls.instances = [];
    FakeHls.supported = true;
    video = new FakeVideo();
    changes = [];
    now = 1_000_000;
  });

  afterEach(() => {
    player.destroy();
    vi.useRealTimers();
  });

  it('loads the playlist with the sid and the low-latency tuning', async () => {
    const hls = await startPlayer();
    expect(hls.source).toBe('/hls/123456/index.m3u8?sid=SSSSSSSSSSSSSSSS');
    expect(hls.attached).toBe(video);
    expect(hls.config).toMatchObject(LOW_LATENCY_CONFIG);
    expect(hls.config).toMatchObject({
      lowLatencyMode: true,
      liveSyncDuration: 1.5,
      liveMaxLatencyDuration: 4,
      maxLiveSyncPlaybackRate: 1.5,
    });
    expect(player.snapshot.state).toBe('loading');
  });

  it('waits with a visible state while the playlist is 404, then plays', async () => {
    const first = await startPlayer();
    first.fire('hlsError', NOT_FOUND);
    expect(player.snapshot.state).toBe('waiting');
    expect(changes.at(-1)?.state).toBe('waiting');
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeHls.instances).toHaveLength(2);
    const second = FakeHls.instances[1]!;
    second.fire('hlsError', NOT_FOUND);
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeHls.instances).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    const third = FakeHls.instances[2]!;
    third.fire('hlsManifestParsed', {});
    expect(player.snapshot.state).toBe('loading');
    expect(video.plays).toBeGreaterThan(0);
    video.dispatch('playing');
    expect(player.snapshot.state).toBe('playing');
  });

  it('reads the latency from the PROGRAM-DATE-TIME of the frame on screen', async () => {
    const hls = await startPlayer();
    hls.currentLevel = 0;
    hls.levels = [{ bitrate: 2_500_000 }];
    video.dispatch('playing');
    hls.playingDate = new Date(now - 1840);
    await vi.advanceTimersByTimeAsync(500);
    expect(player.snapshot.latencySeconds).toBeCloseTo(1.84);
    expect(player.snapshot.bitrateKbps).toBe(2500);
    now += 1000;
    await vi.advanceTimersByTimeAsync(500);
    expect(changes.at(-1)?.latencySeconds).toBeCloseTo(2.84);
  });

  it('ends when the video reaches the end of an ENDLIST playlist', async () => {
    const hls = await startPlayer();
    video.dispatch('playing');
    hls.fire('hlsLevelLoaded', { details: { live: false } });
    video.dispatch('ended');
    expect(player.snapshot.state).toBe('ended');
    expect(player.snapshot.latencySeconds).toBeNull();
    expect(hls.stopped).toBe(true);
  });

  it('a network error after ENDLIST is the end, not a wait', async () => {
    const hls = await startPlayer();
    video.dispatch('playing');
    hls.fire('hlsLevelLoaded', { details: { live: false } });
    hls.fire('hlsError', NOT_FOUND);
    expect(player.snapshot.state).toBe('ended');
  });

  it('recovers media errors twice, then reports a clear error', async () => {
    const hls = await startPlayer();
    const mediaError = { type: 'mediaError', details: 'bufferStalledError', fatal: true };
    hls.fire('hlsError', mediaError);
    hls.fire('hlsError', mediaError);
    expect(hls.recoveries).toBe(2);
    expect(player.snapshot.state).toBe('loading');
    hls.fire('hlsError', mediaError);
    expect(player.snapshot).toMatchObject({
      state: 'error',
      error: 'mediaError: bufferStalledError',
    });
  });

  it('ignores non-fatal errors', async () => {
    const hls = await startPlayer();
    hls.fire('hlsError', { ...NOT_FOUND, fatal: false });
    expect(player.snapshot.state).toBe('loading');
  });

  it('reload starts over after an error', async () => {
    const hls = await startPlayer();
    hls.fire('hlsError', { type: 'otherError', details: 'internalException', fatal: true });
    expect(player.snapshot.state).toBe('error');
    player.reload();
    await vi.advanceTimersByTimeAsync(0);
    expect(player.snapshot).toMatchObject({ state: 'loading', error: null });
    expect(FakeHls.instances).toHaveLength(2);
  });

  it('without MSE or native HLS it says the browser cannot play HLS', async () => {
    FakeHls.supported = false;
    player = new HlsPlayer({
      video: video as unknown as HTMLVideoElement,
      playlistUrl: '/hls/123456/index.m3u8',
      loadHls: async () => FakeHls as unknown as HlsConstructor,
    });
    await player.start();
    expect(player.snapshot.state).toBe('error');
    expect(player.snapshot.error).toMatch(/cannot play HLS/);
  });

  it('destroy removes its listeners, stops retrying and destroys hls.js', async () => {
    const hls = await startPlayer();
    hls.fire('hlsError', NOT_FOUND);
    player.destroy();
    expect(hls.destroyed).toBe(true);
    expect(video.listenerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(FakeHls.instances).toHaveLength(1);
  });
});
