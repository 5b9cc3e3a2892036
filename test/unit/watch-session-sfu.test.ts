import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JoinRoomResult, PeerStatsDigest } from '../../shared/index';
import type { SfuLinkOptions } from '../../client/src/lib/sfu-link';
import type { RelayPlayerOptions } from '../../client/src/lib/relay-player';
import { WatchSession, type SfuLinkPort } from '../../client/src/state/watch-session.svelte';
import type { RelayPlayerPort } from '../../client/src/state/ports';
import { FakeSignalling, FakeStream, flush } from './ui-fakes';

/** The watch session's SFU rung: the link it opens, the path it shows, where it goes on failure. */

class FakeSfuLink {
  closed = false;
  framesDecoded = 0;
  constructor(readonly opts: SfuLinkOptions) {}
  async probeFramesDecoded() {
    return this.framesDecoded;
  }
  async collectStats(): Promise<PeerStatsDigest> {
    return {
      path: 'sfu',
      codec: 'H264',
      bitrateKbps: 800,
      fps: 30,
      width: 854,
      height: 480,
      rttMs: 2,
      lossPct: 0,
      candidateType: 'host',
      protocol: 'udp',
    };
  }
  close() {
    this.closed = true;
  }
}

const JOINED: JoinRoomResult = {
  roomId: '123456' as JoinRoomResult['roomId'],
  broadcasterId: 'b1',
  broadcasterOnline: true,
  title: 'Show',
  iceServers: [],
  mode: 'webrtc',
  modeReason: null,
  relayAvailable: true,
  hlsMirror: false,
  ladder: { mediaTimeoutMs: 8000, retryIntervalMs: 30_000 },
};

describe('WatchSession on the SFU', () => {
  let signalling: FakeSignalling;
  let links: FakeSfuLink[];
  let players: RelayPlayerOptions[];
  let session: WatchSession;

  beforeEach(() => {
    vi.useFakeTimers();
    signalling = new FakeSignalling();
    links = [];
    players = [];
  });
  afterEach(() => {
    session.destroy();
    vi.useRealTimers();
  });

  function make(join: Partial<JoinRoomResult> = {}, pathOverride?: 'auto' | 'sfu') {
    signalling.responders.join_room = () => ({ ok: true, data: { ...JOINED, ...join } });
    session = new WatchSession({
      signalling: signalling.asPort(),
      pathOverride,
      createSfuLink: (opts) => {
        const link = new FakeSfuLink(opts);
        links.push(link);
        return link as unknown as SfuLinkPort;
      },
      createRelayPlayer: (opts) => {
        players.push(opts);
        return {
          handleChunk() {},
          collectStats: () => ({}) as PeerStatsDigest,
          framesDecoded: 0,
          close() {},
        } as unknown as RelayPlayerPort;
      },
      createLink: () => {
        throw new Error('no WebRTC link to the broadcaster expected');
      },
      statsIntervalMs: 1000,
    });
    return session;
  }

  it('?path=sfu subscribes with reason forced and plays the SFU stream as path sfu', async () => {
    await make({}, 'sfu').start('123456');
    expect(links).toHaveLength(1);
    await links[0]!.opts.subscribe('v=0 offer');
    expect(signalling.requestsOf('sfu_subscribe')).toEqual([
      { sdp: 'v=0 offer', reason: 'forced' },
    ]);
    links[0]!.opts.onStream(new FakeStream('sfu') as unknown as MediaStream);
    expect(session.state).toBe('playing');
    expect(session.path).toBe('sfu');
    links[0]!.framesDecoded = 30;
    await vi.advanceTimersByTimeAsync(1100);
    expect(session.digest?.path).toBe('sfu');
    expect(session.digest?.pathReason).toBe('SFU forced by ?path=sfu');
    const report = signalling.stats.at(-1) as { inbound: PeerStatsDigest };
    expect(report.inbound.path).toBe('sfu');
  });

  it('an overflow viewer (join mode sfu) subscribes with reason overflow', async () => {
    await make({ mode: 'sfu', modeReason: 'overflow' }).start('123456');
    await links[0]!.opts.subscribe('offer');
    expect(signalling.requestsOf('sfu_subscribe')).toEqual([{ sdp: 'offer', reason: 'overflow' }]);
  });

  it('CODEC_UNSUPPORTED (Firefox and H.264): closes the link, takes the relay, says why', async () => {
    await make({}, 'sfu').start('123456');
    links[0]!.opts.onFailed('CODEC_UNSUPPORTED', 'This browser cannot receive H264 over WebRTC.');
    await flush();
    expect(links[0]!.closed).toBe(true);
    expect(players).toHaveLength(1);
    expect(signalling.requestsOf('relay_subscribe')).toEqual([{ reason: 'fallback' }]);
    expect(session.path).toBe('relay');
    expect(session.reason?.key).toBe('reason.relaySfuCodec');
    expect(session.reason?.params).toEqual({ codec: 'H264' });
  });

  it('leaving sends sfu_unsubscribe only when switching away mid-session', async () => {
    await make({}, 'sfu').start('123456');
    session.setPathOverride('relay');
    await flush();
    expect(signalling.requestsOf('sfu_unsubscribe')).toHaveLength(1);
    expect(links[0]!.closed).toBe(true);
  });
});
