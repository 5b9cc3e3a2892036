import type Hls from 'hls.js';
import type { ErrorData, HlsConfig, LevelLoadedData } from 'hls.js';
import { createLogger } from './logger';

/**
 * Plays the public HLS mirror (`/hls/<room>/index.m3u8`) in a `<video>`: hls.js (loaded on demand,
 * so the main bundle does not carry it) tuned for low latency, or the browser's own HLS (Safari).
 * The state machine and the latency maths are pure functions below, testable without a DOM.
 */

const log = createLogger('hls-player');

export type HlsPlayerState =
  /** Fetching the playlist for the first time. */
  | 'loading'
  /** The playlist is not there yet (404: the mirror was just switched on, or is off); retrying. */
  | 'waiting'
  | 'playing'
  /** The playlist has `#EXT-X-ENDLIST` and playback reached its end. */
  | 'ended'
  | 'error';

export type HlsPlayerEvent =
  | { type: 'playlist-missing' }
  | { type: 'playlist-loaded' }
  | { type: 'playing' }
  | { type: 'ended' }
  | { type: 'fatal'; message: string }
  | { type: 'reload' };

/** The next state; terminal states (`ended`, `error`) only leave on an explicit reload. */
export function nextHlsState(state: HlsPlayerState, event: HlsPlayerEvent): HlsPlayerState {
  if (event.type === 'reload') return 'loading';
  if (state === 'ended' || state === 'error') return state;
  switch (event.type) {
    case 'playlist-missing':
      // A playing mirror whose playlist vanished (ffmpeg restart, server restart) waits again.
      return 'waiting';
    case 'playlist-loaded':
      return state === 'playing' ? 'playing' : 'loading';
    case 'playing':
      return 'playing';
    case 'ended':
      return 'ended';
    case 'fatal':
      return 'error';
  }
}

/** Beyond this, a PROGRAM-DATE-TIME reading is a clock problem, not latency. */
const MAX_PLAUSIBLE_LATENCY_MS = 10 * 60_000;

/**
 * Live latency in seconds from the PROGRAM-DATE-TIME of the frame on screen. Null when unknown
 * or absurd; a small negative value (the server's clock a little ahead) reads as 0.
 */
export function liveLatencySeconds(playingDateMs: number | null, nowMs: number): number | null {
  if (playingDateMs === null || !Number.isFinite(playingDateMs) || playingDateMs <= 0) return null;
  const latency = nowMs - playingDateMs;
  if (!Number.isFinite(latency) || Math.abs(latency) > MAX_PLAUSIBLE_LATENCY_MS) return null;
  return Math.max(0, latency) / 1000;
}

/** "2.3 s": seconds with one decimal, for `data-testid="hls-latency"`; "—" while unknown. */
export function formatLatency(seconds: number | null): string {
  return seconds === null ? '—' : `${seconds.toFixed(1)} s`;
}

/** The native player's PROGRAM-DATE-TIME of the current frame: its start date plus the position. */
export function nativePlayingDateMs(startDateMs: number, currentTimeS: number): number | null {
  if (!Number.isFinite(startDateMs) || startDateMs <= 0) return null;
  return startDateMs + currentTimeS * 1000;
}

const SID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
export const SID_LENGTH = 16;

/** 16 url-safe random characters (64 symbols, so `& 63` keeps the draw uniform). */
export function randomSid(
  random: (bytes: Uint8Array<ArrayBuffer>) => void = (b) => crypto.getRandomValues(b),
): string {
  const bytes = new Uint8Array(SID_LENGTH);
  random(bytes);
  let sid = '';
  for (const byte of bytes) sid += SID_ALPHABET[byte & 63];
  return sid;
}

let tabSid: string | null = null;
/** One id per tab (module lifetime), so the server counts this tab as one reader. */
export function tabReaderSid(): string {
  tabSid ??= randomSid();
  return tabSid;
}

/** The playlist URL with `?sid=`; the segments resolve relative to it and carry no sid. */
export function playlistUrlWithSid(playlistUrl: string, sid: string): string {
  const sep = playlistUrl.includes('?') ? '&' : '?';
  return `${playlistUrl}${sep}sid=${encodeURIComponent(sid)}`;
}

/**
 * Low-latency tuning: hls.js defaults sit 3 target durations (~3 s here) behind live with no
 * catch-up. The mirror's segments are ~1 s, so sit 1.5 s behind, jump when 4 s behind, and play
 * up to 1.5× to catch up. A small back buffer keeps memory flat on long broadcasts.
 */
export const LOW_LATENCY_CONFIG = {
  lowLatencyMode: true,
  liveSyncDuration: 1.5,
  liveMaxLatencyDuration: 4,
  maxLiveSyncPlaybackRate: 1.5,
  backBufferLength: 10,
  maxBufferLength: 6,
  liveDurationInfinity: true,
  enableWorker: true,
} satisfies Partial<HlsConfig>;

/** How long to wait before asking again for a missing playlist; grows to 3 s. */
export function missingPlaylistDelayMs(attempt: number): number {
  return Math.min(3000, 500 * 2 ** Math.min(attempt, 3));
}

/** Media-error recoveries per load before giving up with an error. */
const MAX_MEDIA_RECOVERIES = 2;
const LATENCY_INTERVAL_MS = 500;

export interface HlsPlayerSnapshot {
  state: HlsPlayerState;
  /** Seconds behind live (PROGRAM-DATE-TIME), null until known. */
  latencySeconds: number | null;
  /** A plain message for `error`. */
  error: string | null;
  /** The browser plays HLS itself (Safari) instead of hls.js. */
  native: boolean;
  width: number;
  height: number;
  bitrateKbps: number;
}

/** The slice of hls.js the player uses, so tests can pass a fake. */
export type HlsConstructor = typeof Hls;

export interface HlsPlayerOptions {
  video: HTMLVideoElement;
  /** `/hls/<room>/index.m3u8`; the sid is added here. */
  playlistUrl: string;
  onChange?: (snapshot: HlsPlayerSnapshot) => void;
  /** Tests: inject hls.js or a fake. */
  loadHls?: () => Promise<HlsConstructor>;
  sid?: string;
  /** `default`: hls.js defaults (the benchmark's baseline); else the low-latency tuning. */
  tuning?: 'low-latency' | 'default';
  now?: () => number;
}

/**
 * Prefix of the sid a room member (the watch page) uses: the server already counts that viewer
 * by its stats, so it must not count its playlist reads as another HLS viewer.
 */
export const MEMBER_SID_PREFIX = 'member_';

const loadHlsJs = async (): Promise<HlsConstructor> => (await import('hls.js')).default;

export class HlsPlayer {
  readonly #video: HTMLVideoElement;
  readonly #url: string;
  readonly #onChange: ((snapshot: HlsPlayerSnapshot) => void) | undefined;
  readonly #loadHls: () => Promise<HlsConstructor>;
  readonly #now: () => number;
  #hls: Hls | null = null;
  #native = false;
  #state: HlsPlayerState = 'loading';
  #error: string | null = null;
  #latency: number | null = null;
  #missingAttempts = 0;
  #mediaRecoveries = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #latencyTimer: ReturnType<typeof setInterval> | null = null;
  #endlist = false;
  #destroyed = false;
  readonly #videoListeners: Array<[string, () => void]> = [];

  constructor(opts: HlsPlayerOptions) {
    this.#video = opts.video;
    this.#url = playlistUrlWithSid(opts.playlistUrl, opts.sid ?? tabReaderSid());
    this.#onChange = opts.onChange;
    this.#loadHls = opts.loadHls ?? loadHlsJs;
    this.#now = opts.now ?? (() => Date.now());
    this.#tuning = opts.tuning ?? 'low-latency';
  }

  readonly #tuning: 'low-latency' | 'default';

  get snapshot(): HlsPlayerSnapshot {
    const level =
      this.#hls && this.#hls.currentLevel >= 0 ? this.#hls.levels[this.#hls.currentLevel] : null;
    return {
      state: this.#state,
      latencySeconds: this.#latency,
      error: this.#error,
      native: this.#native,
      width: this.#video.videoWidth || 0,
      height: this.#video.videoHeight || 0,
      bitrateKbps: level ? Math.round(level.bitrate / 1000) : 0,
    };
  }

  /** The playlist URL actually requested (with the tab's sid). */
  get url(): string {
    return this.#url;
  }

  async start(): Promise<void> {
    this.#listenToVideo();
    this.#latencyTimer = setInterval(() => this.#sampleLatency(), LATENCY_INTERVAL_MS);
    const HlsJs = await this.#loadHls().catch((err: unknown) => {
      log.warn('hls.js failed to load', err);
      return null;
    });
    if (this.#destroyed) return;
    if (HlsJs?.isSupported()) {
      this.#loadWithHlsJs(HlsJs);
    } else if (this.#video.canPlayType('application/vnd.apple.mpegurl')) {
      this.#native = true;
      void this.#loadNative();
    } else {
      this.#apply({
        type: 'fatal',
        message: 'This browser cannot play HLS (no MSE, no native HLS).',
      });
    }
  }

  /** Starts over after `ended` or `error` (e.g. the broadcaster switched the mirror back on). */
  reload(): void {
    if (this.#destroyed) return;
    this.#clearRetry();
    this.#endlist = false;
    this.#missingAttempts = 0;
    this.#mediaRecoveries = 0;
    this.#error = null;
    this.#apply({ type: 'reload' });
    if (this.#native) void this.#loadNative();
    else void this.#loadHls().then((HlsJs) => !this.#destroyed && this.#loadWithHlsJs(HlsJs));
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#clearRetry();
    if (this.#latencyTimer) clearInterval(this.#latencyTimer);
    this.#latencyTimer = null;
    for (const [type, fn] of this.#videoListeners) this.#video.removeEventListener(type, fn);
    this.#hls?.destroy();
    this.#hls = null;
    if (this.#native) {
      this.#video.removeAttribute('src');
      this.#video.load();
    }
  }

  #listenToVideo(): void {
    const on = (type: string, fn: () => void) => {
      this.#video.addEventListener(type, fn);
      this.#videoListeners.push([type, fn]);
    };
    on('playing', () => this.#apply({ type: 'playing' }));
    on('ended', () => this.#apply({ type: 'ended' }));
    on('error', () => {
      // hls.js reports its own media errors; this is the native player's.
      if (!this.#native) return;
      const code = this.#video.error?.code;
      // MEDIA_ERR_SRC_NOT_SUPPORTED is how Safari reports a missing playlist.
      if (code === 4 && this.#state !== 'playing') this.#playlistMissing();
      else this.#apply({ type: 'fatal', message: this.#video.error?.message || 'playback failed' });
    });
  }

  #loadWithHlsJs(HlsJs: HlsConstructor): void {
    this.#hls?.destroy();
    const hls = new HlsJs({
      ...(this.#tuning === 'default' ? {} : LOW_LATENCY_CONFIG),
      // Our own loop retries a missing playlist with a visible state; hls.js need not.
      manifestLoadPolicy: {
        default: {
          maxTimeToFirstByteMs: 10_000,
          maxLoadTimeMs: 20_000,
          timeoutRetry: { maxNumRetry: 1, retryDelayMs: 0, maxRetryDelayMs: 0 },
          errorRetry: { maxNumRetry: 0, retryDelayMs: 500, maxRetryDelayMs: 1000 },
        },
      },
    });
    this.#hls = hls;
    hls.on(HlsJs.Events.MANIFEST_PARSED, () => {
      this.#missingAttempts = 0;
      this.#apply({ type: 'playlist-loaded' });
      this.#video.play().catch(() => {});
    });
    hls.on(HlsJs.Events.LEVEL_LOADED, (_event, data: LevelLoadedData) => {
      // A playlist with #EXT-X-ENDLIST is no longer live: the broadcast ended.
      if (!data.details.live) this.#endlist = true;
    });
    hls.on(HlsJs.Events.ERROR, (_event, data: ErrorData) => {
      if (hls !== this.#hls) return;
      this.#handleHlsError(HlsJs, hls, data);
    });
    hls.loadSource(this.#url);
    hls.attachMedia(this.#video);
  }

  #handleHlsError(HlsJs: HlsConstructor, hls: Hls, data: ErrorData): void {
    if (!data.fatal) return;
    const status = data.response?.code;
    log.debug('fatal hls error', data.details, status);
    if (data.type === HlsJs.ErrorTypes.NETWORK_ERROR) {
      if (this.#endlist) {
        this.#apply({ type: 'ended' });
        return;
      }
      // The playlist is missing (404) or the server is away: wait and load again from scratch.
      this.#playlistMissing();
      return;
    }
    if (
      data.type === HlsJs.ErrorTypes.MEDIA_ERROR &&
      this.#mediaRecoveries < MAX_MEDIA_RECOVERIES
    ) {
      this.#mediaRecoveries += 1;
      hls.recoverMediaError();
      return;
    }
    this.#apply({ type: 'fatal', message: `${data.type}: ${data.details}` });
  }

  async #loadNative(): Promise<void> {
    // Safari's <video> hides the HTTP status; ask first so a 404 shows as "waiting".
    try {
      const response = await fetch(this.#url, { cache: 'no-store' });
      if (this.#destroyed) return;
      if (!response.ok) {
        this.#playlistMissing();
        return;
      }
    } catch {
      if (!this.#destroyed) this.#playlistMissing();
      return;
    }
    this.#missingAttempts = 0;
    this.#apply({ type: 'playlist-loaded' });
    this.#video.src = this.#url;
    this.#video.play().catch(() => {});
  }

  #playlistMissing(): void {
    this.#apply({ type: 'playlist-missing' });
    this.#clearRetry();
    const delay = missingPlaylistDelayMs(this.#missingAttempts++);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#destroyed) return;
      this.#mediaRecoveries = 0;
      if (this.#native) void this.#loadNative();
      else void this.#loadHls().then((HlsJs) => !this.#destroyed && this.#loadWithHlsJs(HlsJs));
    }, delay);
  }

  #clearRetry(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #sampleLatency(): void {
    if (this.#state !== 'playing') return;
    let playingDate: number | null = null;
    if (this.#hls) {
      playingDate = this.#hls.playingDate?.getTime() ?? null;
    } else if (this.#native) {
      const start = (
        this.#video as HTMLVideoElement & { getStartDate?: () => Date }
      ).getStartDate?.();
      playingDate = start ? nativePlayingDateMs(start.getTime(), this.#video.currentTime) : null;
    }
    const latency = liveLatencySeconds(playingDate, this.#now());
    if (latency === this.#latency) return;
    this.#latency = latency;
    this.#emit();
  }

  #apply(event: HlsPlayerEvent): void {
    if (this.#destroyed) return;
    const next = nextHlsState(this.#state, event);
    if (event.type === 'fatal' && next === 'error') this.#error = event.message;
    if (next === this.#state && event.type !== 'fatal') return;
    this.#state = next;
    if (next !== 'playing') this.#latency = null;
    if (next === 'error' || next === 'ended') {
      this.#clearRetry();
      this.#hls?.stopLoad();
    }
    this.#emit();
  }

  #emit(): void {
    this.#onChange?.(this.snapshot);
  }
}
