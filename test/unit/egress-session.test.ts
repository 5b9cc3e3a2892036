import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EgressStatus } from '../../shared/index';
import {
  EgressSession,
  hlsToggleLock,
  retryCountdownSeconds,
} from '../../client/src/state/egress-session.svelte';
import { FakeSignalling } from './ui-fakes';

const OUTPUT_OFF = {
  state: 'off',
  error: null,
  restarts: 0,
  retryInMs: null,
  speed: null,
} as const;

function statusFor(overrides: Partial<EgressStatus> = {}): EgressStatus {
  return {
    roomId: '123456' as EgressStatus['roomId'],
    capabilities: {
      ffmpeg: true,
      reason: null,
      hlsPolicy: 'optional',
      restreamTargets: ['youtube', 'twitch'],
      recording: false,
    },
    hls: { ...OUTPUT_OFF, on: false, pageUrl: null, playlistUrl: null },
    restreams: [],
    recording: { ...OUTPUT_OFF, on: false },
    transcoding: false,
    ...overrides,
  };
}

describe('egress panel rules', () => {
  it('locks the mirror toggle without ffmpeg or under a server policy', () => {
    expect(hlsToggleLock(null)).toBe('egress.loading');
    expect(hlsToggleLock(statusFor())).toBeNull();
    const caps = statusFor().capabilities;
    expect(hlsToggleLock(statusFor({ capabilities: { ...caps, ffmpeg: false } }))).toBe(
      'egress.unavailable',
    );
    expect(hlsToggleLock(statusFor({ capabilities: { ...caps, hlsPolicy: 'forced_on' } }))).toBe(
      'egress.forcedOn',
    );
    expect(hlsToggleLock(statusFor({ capabilities: { ...caps, hlsPolicy: 'forced_off' } }))).toBe(
      'egress.forcedOff',
    );
  });

  it('counts a retry down from when its status arrived', () => {
    expect(retryCountdownSeconds(1000, 5000, 1000)).toBe(5);
    expect(retryCountdownSeconds(1000, 5000, 2500)).toBe(4);
    expect(retryCountdownSeconds(1000, 5000, 9000)).toBe(0);
    expect(retryCountdownSeconds(1000, null, 1000)).toBeNull();
  });
});

describe('EgressSession', () => {
  let signalling: FakeSignalling;
  let roomId: string | null;
  let now: number;
  let egress: EgressSession;

  beforeEach(() => {
    vi.useFakeTimers();
    signalling = new FakeSignalling();
    roomId = '123456';
    now = 10_000;
    egress = new EgressSession({
      signalling: signalling.asPort(),
      roomId: () => roomId,
      now: () => now,
    });
    egress.start();
  });

  afterEach(() => {
    egress.destroy();
    vi.useRealTimers();
  });

  it('shows the pushed status of its own room only, and picks the first target', () => {
    signalling.emit('egress_status', statusFor({ roomId: '654321' as EgressStatus['roomId'] }));
    expect(egress.status).toBeNull();
    signalling.emit('egress_status', statusFor());
    expect(egress.status?.capabilities.ffmpeg).toBe(true);
    expect(egress.targets).toEqual(['youtube', 'twitch']);
    expect(egress.selectedTarget).toBe('youtube');
    roomId = null;
    // A new session object is not needed: the derived status follows the room.
    expect(egress.hlsLock).toBe('egress.loading');
  });

  it('switches the mirror with egress_set and shows the ack', async () => {
    signalling.emit('egress_status', statusFor());
    signalling.responders.egress_set = () => ({
      ok: true,
      data: statusFor({
        hls: {
          ...OUTPUT_OFF,
          state: 'starting',
          on: true,
          pageUrl: '/live/123456',
          playlistUrl: '/hls/123456/index.m3u8',
        },
      }),
    });
    await egress.setHls(true);
    expect(signalling.requestsOf('egress_set')).toEqual([{ hls: true }]);
    expect(egress.status?.hls).toMatchObject({ on: true, state: 'starting' });
    expect(egress.busy).toBe(false);
  });

  it('sends nothing while the toggle is locked (no ffmpeg)', async () => {
    const caps = statusFor().capabilities;
    signalling.emit(
      'egress_status',
      statusFor({ capabilities: { ...caps, ffmpeg: false, reason: 'ffmpeg not found' } }),
    );
    await egress.setHls(true);
    expect(signalling.requestsOf('egress_set')).toEqual([]);
  });

  it("shows the server's reason when a request is refused", async () => {
    signalling.emit('egress_status', statusFor());
    signalling.responders.restream_set = () => ({
      ok: false,
      error: { code: 'SERVER_BUSY', message: 'ffmpeg is not installed on the server' },
    });
    await egress.setRestream('youtube', true);
    expect(signalling.requestsOf('restream_set')).toEqual([{ target: 'youtube', on: true }]);
    expect(egress.error).toEqual({
      key: 'egress.refused',
      detail: 'ffmpeg is not installed on the server',
    });
  });

  it('never asks for a target the server did not offer', async () => {
    signalling.emit('egress_status', statusFor());
    await egress.setRestream('rtmp://evil.example/live', true);
    expect(signalling.requestsOf('restream_set')).toEqual([]);
  });

  it('counts a failing restream down to its next retry', async () => {
    signalling.emit(
      'egress_status',
      statusFor({
        restreams: [
          {
            ...OUTPUT_OFF,
            name: 'youtube',
            on: true,
            state: 'retrying',
            error: 'connection refused',
            retryInMs: 4000,
          },
        ],
      }),
    );
    expect(egress.selectedRestream?.state).toBe('retrying');
    expect(egress.retryIn(egress.selectedRestream)).toBe(4);
    now += 2500;
    await vi.advanceTimersByTimeAsync(1000);
    expect(egress.retryIn(egress.selectedRestream)).toBe(2);
  });
});
