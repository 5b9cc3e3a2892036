import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JoinRoomResult, PeerStatsDigest, StatsSummary } from '../../shared/index';
import type { ViewerLinkOptions } from '../../client/src/lib/viewer-link';
import type { RelayPlayerOptions } from '../../client/src/lib/relay-player';
import {
  FRAME_PROBE_INTERVAL_MS,
  REJOIN_WINDOW_MS,
  WATCH_CHAT_LIMIT,
  WatchSession,
} from '../../client/src/state/watch-session.svelte';
import type { LinkPort, RelayPlayerPort } from '../../client/src/state/ports';
import type { HlsPlayerSnapshot } from '../../client/src/lib/hls-player';
import { FakeSignalling, FakeStream, flush } from './ui-fakes';

class FakeLink {
  signals: unknown[] = [];
  closed = false;
  digest: PeerStatsDigest | null = null;
  framesDecoded = 0;
  constructor(readonly opts: ViewerLinkOptions) {}
  async handleSignal(msg: unknown) {
    this.signals.push(msg);
  }
  probes = 0;
  async probeFramesDecoded() {
    this.probes += 1;
    return this.framesDecoded;
  }
  async collectStats() {
    return this.digest;
  }
  close() {
    this.closed = true;
  }
}

class FakePlayer {
  chunks: unknown[] = [];
  closed = false;
  framesDecoded = 0;
  digest: PeerStatsDigest = {
    path: 'relay',
    codec: 'H264',
    bitrateKbps: 700,
    fps: 30,
    width: 854,
    height: 480,
    rttMs: null,
    lossPct: null,
    candidateType: null,
    protocol: null,
  };
  constructor(readonly opts: RelayPlayerOptions) {}
  handleChunk(frame: unknown) {
    this.chunks.push(frame);
  }
  collectStats() {
    return this.digest;
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
  iceServers: [{ urls: 'stun:example.org' }],
  mode: 'webrtc',
  modeReason: null,
  relayAvailable: false,
  hlsMirror: false,
  ladder: { mediaTimeoutMs: 8000, retryIntervalMs: 30_000 },
};

const DIGEST: PeerStatsDigest = {
  path: 'direct',
  codec: 'AV1',
  bitrateKbps: 900,
  fps: 30,
  width: 1280,
  height: 720,
  rttMs: 4,
  lossPct: 0,
  candidateType: 'host',
  protocol: 'udp',
};

describe('WatchSession', () => {
  let signalling: FakeSignalling;
  let links: FakeLink[];
  let players: FakePlayer[];
  let session: WatchSession;

  function makeSession(pathOverride?: 'auto' | 'turn' | 'relay') {
    return new WatchSession({
      signalling: signalling.asPort(),
      pathOverride,
      createLink: (opts) => {
        const link = new FakeLink(opts);
        links.push(link);
        return link as unknown as LinkPort;
      },
      createRelayPlayer: (opts) => {
        const player = new FakePlayer(opts);
        players.push(player);
        return player as unknown as RelayPlayerPort;
      },
    });
  }

  beforeEach(() => {
    vi.useFakeTimers();
    signalling = new FakeSignalling();
    signalling.responders.join_room = () => ({ ok: true, data: JOINED });
    links = [];
    players = [];
    session = makeSession();
  });

  afterEach(() => {
    session.destroy();
    vi.useRealTimers();
  });

  it('shows not-found for a malformed code without touching the server', async () => {
    await session.start('abc');
    expect(session.state).toBe('not-found');
    expect(signalling.connectCalls).toBe(0);
    expect(signalling.requests).toHaveLength(0);
  });

  it.each([
    ['ROOM_NOT_FOUND', 'not-found'],
    ['ROOM_FULL', 'full'],
    ['INTERNAL_ERROR', 'error'],
  ] as const)('maps a %s join error to %s', async (code, state) => {
    signalling.responders.join_room = () => ({ ok: false, error: { code, message: 'x' } });
    await session.start('123456');
    expect(session.state).toBe(state);
    expect(links).toHaveLength(0);
  });

  it('retries a not-found join with the password the viewer types', async () => {
    signalling.responders.join_room = (payload) =>
      (payload as { password?: string }).password === 'pw'
        ? { ok: true, data: JOINED }
        : { ok: false, error: { code: 'ROOM_NOT_FOUND', message: 'x' } };
    await session.start('123456');
    expect(session.state).toBe('not-found');
    await session.retryWithPassword('wrong');
    expect(session.state).toBe('not-found');
    await session.retryWithPassword('pw');
    expect(session.state).not.toBe('not-found');
    expect(session.isTerminal).toBe(false);
    expect(signalling.requestsOf('join_room')).toEqual([
      { roomId: '123456' },
      { roomId: '123456', password: 'wrong' },
      { roomId: '123456', password: 'pw' },
    ]);
  });

  it('reports an unreachable server as an error', async () => {
    signalling.failConnect = true;
    await session.start('123456');
    expect(session.state).toBe('error');
    expect(session.error).toEqual({ key: 'error.connect' });
  });

  it('joins, links to the broadcaster, and plays when the stream arrives', async () => {
    await session.start('123456');
    expect(signalling.requestsOf('join_room')).toEqual([{ roomId: '123456' }]);
    expect(session.state).toBe('connecting');
    expect(session.title).toBe('Show');
    const link = links[0]!;
    expect(link.opts.broadcasterId).toBe('b1');
    expect(link.opts.iceServers).toEqual(JOINED.iceServers);

    signalling.emit('signal', { from: 'b1', description: { type: 'offer', sdp: 'v=0' } });
    expect(link.signals).toHaveLength(1);

    const stream = new FakeStream('remote') as unknown as MediaStream;
    link.opts.onStream(stream);
    expect(session.state).toBe('playing');
    expect(session.stream).toBe(stream);
  });

  it('waits while the broadcaster is offline at join time', async () => {
    signalling.responders.join_room = () => ({
      ok: true,
      data: { ...JOINED, broadcasterOnline: false },
    });
    await session.start('123456');
    expect(session.state).toBe('waiting');
  });

  it('sends its inbound stats every second and exposes codec and path', async () => {
    await session.start('123456');
    links[0]!.digest = DIGEST;
    await vi.advanceTimersByTimeAsync(1000);
    expect(signalling.stats).toEqual([
      { role: 'viewer', inbound: { ...DIGEST, pathReason: null } },
    ]);
    expect(session.codec).toBe('AV1');
    expect(session.path).toBe('direct');
    await vi.advanceTimersByTimeAsync(2000);
    expect(signalling.stats).toHaveLength(3);
  });

  it('opens a fresh link when a reclaimed room announces a new broadcaster id', async () => {
    await session.start('123456');
    links[0]!.opts.onStream(new FakeStream('a') as unknown as MediaStream);
    signalling.emit('broadcaster_status', {
      roomId: '123456',
      broadcasterId: 'b1',
      online: false,
    } as never);
    expect(session.broadcasterOnline).toBe(false);
    expect(links[0]!.closed).toBe(false);

    signalling.emit('broadcaster_status', {
      roomId: '123456',
      broadcasterId: 'b2',
      online: true,
    } as never);
    expect(links[0]!.closed).toBe(true);
    expect(links[1]!.opts.broadcasterId).toBe('b2');
    expect(session.state).toBe('connecting');
    expect(session.broadcasterOnline).toBe(true);

    // A late stream from the old link must not win.
    links[0]!.opts.onStream(new FakeStream('old') as unknown as MediaStream);
    expect(session.state).toBe('connecting');
  });

  it('ends when the room closes', async () => {
    await session.start('123456');
    signalling.emit('room_closed', { roomId: '123456', reason: 'broadcaster_left' } as never);
    expect(session.state).toBe('ended');
    expect(links[0]!.closed).toBe(true);
    const sent = signalling.stats.length;
    await vi.advanceTimersByTimeAsync(3000);
    expect(signalling.stats.length).toBe(sent);
  });

  it('rejoins with a new link after its own socket reconnects', async () => {
    await session.start('123456');
    signalling.setState('reconnecting');
    expect(session.state).toBe('reconnecting');
    signalling.setState('connected');
    signalling.welcome('client-2');
    await flush(20);
    expect(signalling.requestsOf('join_room')).toHaveLength(2);
    expect(links[0]!.closed).toBe(true);
    expect(links).toHaveLength(2);
    expect(session.state).toBe('connecting');
  });

  it('rejoins after a recovered reconnect that kept its socket id', async () => {
    await session.start('123456');
    signalling.setState('reconnecting');
    signalling.setState('connected');
    // Socket.IO recovered the session: same id, but the server dropped the viewer on disconnect.
    signalling.welcome('client-1');
    await flush(20);
    expect(signalling.requestsOf('join_room')).toHaveLength(2);
    expect(links[0]!.closed).toBe(true);
    expect(links).toHaveLength(2);
  });

  it('after a server restart keeps rejoining until the broadcaster has reclaimed the room', async () => {
    await session.start('123456');
    let roomBack = false;
    signalling.responders.join_room = () =>
      roomBack
        ? { ok: true, data: JOINED }
        : { ok: false, error: { code: 'ROOM_NOT_FOUND', message: 'x' } };
    signalling.setState('reconnecting');
    signalling.setState('connected');
    signalling.welcome('client-2');
    await flush(20);
    expect(session.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(signalling.requestsOf('join_room')).toHaveLength(3);
    expect(session.state).toBe('reconnecting');
    roomBack = true;
    await vi.advanceTimersByTimeAsync(2000);
    expect(signalling.requestsOf('join_room')).toHaveLength(4);
    expect(session.state).toBe('connecting');
    expect(links).toHaveLength(2);
  });

  it('gives up rejoining a room that never comes back and shows it ended', async () => {
    await session.start('123456');
    signalling.responders.join_room = () => ({
      ok: false,
      error: { code: 'ROOM_NOT_FOUND', message: 'x' },
    });
    signalling.setState('reconnecting');
    signalling.setState('connected');
    signalling.welcome('client-2');
    await vi.advanceTimersByTimeAsync(REJOIN_WINDOW_MS + 10_000);
    expect(session.state).toBe('ended');
    const attempts = signalling.requestsOf('join_room').length;
    // Backoff: a handful of attempts, not one a second.
    expect(attempts).toBeGreaterThan(3);
    expect(attempts).toBeLessThan(15);
  });

  it('treats server_shutdown as a restart: waits reconnecting and rejoins after the welcome', async () => {
    await session.start('123456');
    signalling.emit('room_closed', { roomId: '123456', reason: 'server_shutdown' } as never);
    expect(session.state).toBe('reconnecting');
    expect(links[0]!.closed).toBe(true);
    signalling.setState('reconnecting');
    signalling.setState('connected');
    signalling.welcome('client-2');
    await flush(20);
    expect(signalling.requestsOf('join_room')).toHaveLength(2);
    expect(session.state).toBe('connecting');
  });

  it('after server_shutdown with its own socket still up (another node went away) rejoins by itself', async () => {
    await session.start('123456');
    let roomBack = false;
    signalling.responders.join_room = () =>
      roomBack
        ? { ok: true, data: JOINED }
        : { ok: false, error: { code: 'ROOM_NOT_FOUND', message: 'x' } };
    signalling.emit('room_closed', { roomId: '123456', reason: 'server_shutdown' } as never);
    expect(session.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(signalling.requestsOf('join_room')).toHaveLength(2);
    expect(session.state).toBe('reconnecting');
    roomBack = true;
    await vi.advanceTimersByTimeAsync(2000);
    expect(signalling.requestsOf('join_room')).toHaveLength(3);
    expect(session.state).toBe('connecting');
  });

  it('opens a fresh link when the broadcaster comes back under the same id', async () => {
    await session.start('123456');
    signalling.emit('broadcaster_status', {
      roomId: '123456',
      broadcasterId: 'b1',
      online: false,
    } as never);
    expect(links[0]!.closed).toBe(false);
    signalling.emit('broadcaster_status', {
      roomId: '123456',
      broadcasterId: 'b1',
      online: true,
    } as never);
    expect(links[0]!.closed).toBe(true);
    expect(links).toHaveLength(2);
    expect(links[1]!.opts.broadcasterId).toBe('b1');
  });

  it('keeps the stats summary and a bounded chat log for its room only', async () => {
    await session.start('123456');
    const summary = {
      roomId: '123456',
      at: 1,
      viewerCount: 4,
      pathCounts: {},
      broadcaster: { online: true, uploadKbps: 1 },
      viewers: [],
    } as unknown as StatsSummary;
    signalling.emit('stats_summary', summary);
    expect(session.viewerCount).toBe(4);
    for (let i = 0; i < WATCH_CHAT_LIMIT + 1; i++) {
      signalling.emit('chat', { id: `${i}`, roomId: '123456', text: `m${i}` } as never);
    }
    signalling.emit('chat', { id: 'x', roomId: '654321', text: 'other room' } as never);
    expect(session.chat).toHaveLength(WATCH_CHAT_LIMIT);
    expect(session.chat.at(-1)!.text).toBe(`m${WATCH_CHAT_LIMIT}`);
  });

  it('sends chat and leaves the room on destroy', async () => {
    await session.start('123456');
    expect(await session.sendChat('  hi ')).toBe(true);
    expect(await session.sendChat('   ')).toBe(false);
    expect(signalling.requestsOf('chat')).toEqual([{ text: 'hi' }]);
    session.destroy();
    expect(signalling.requestsOf('leave_room')).toHaveLength(1);
    expect(links[0]!.closed).toBe(true);
    expect(signalling.listenerCount()).toBe(0);
  });

  describe('connection ladder', () => {
    const WITH_RELAY: JoinRoomResult = { ...JOINED, relayAvailable: true };

    beforeEach(() => {
      signalling.responders.join_room = () => ({ ok: true, data: WITH_RELAY });
    });

    it('stays on direct WebRTC with no reason when frames arrive in time', async () => {
      await session.start('123456');
      expect(links[0]!.opts.iceTransportPolicy).toBe('all');
      links[0]!.digest = DIGEST;
      links[0]!.framesDecoded = 12;
      await vi.advanceTimersByTimeAsync(20_000);
      expect(signalling.requestsOf('relay_subscribe')).toEqual([]);
      expect(players).toHaveLength(0);
      expect(session.path).toBe('direct');
      expect(session.reason).toBeNull();
      expect(session.ladder?.phase).toBe('webrtc');
    });

    it('notices first frames within a probe interval and then stops probing', async () => {
      await session.start('123456');
      const link = links[0]!;
      await vi.advanceTimersByTimeAsync(FRAME_PROBE_INTERVAL_MS);
      expect(link.probes).toBe(1);
      link.framesDecoded = 1;
      await vi.advanceTimersByTimeAsync(FRAME_PROBE_INTERVAL_MS);
      expect(session.ladder?.phase).toBe('webrtc');
      const probes = link.probes;
      await vi.advanceTimersByTimeAsync(5000);
      expect(link.probes).toBe(probes);
    });

    it('falls back to the relay after the media deadline, shows it, and reports it', async () => {
      await session.start('123456');
      const webrtc = new FakeStream('webrtc') as unknown as MediaStream;
      links[0]!.opts.onStream(webrtc); // tracks arrive, but no frame is ever decoded
      expect(session.stream).toBe(webrtc);
      await vi.advanceTimersByTimeAsync(8000);
      expect(links[0]!.closed).toBe(true);
      expect(signalling.requestsOf('relay_subscribe')).toEqual([{ reason: 'fallback' }]);
      const player = players[0]!;
      expect(session.path).toBe('relay');
      expect(session.state).toBe('connecting');

      const chunk = new Uint8Array([1, 2, 3]);
      signalling.emit('relay_chunk', chunk.buffer);
      expect(player.chunks).toEqual([chunk.buffer]);
      player.opts.requestKeyframe();
      expect(signalling.keyframeRequests).toBe(1);

      const relayStream = new FakeStream('relay') as unknown as MediaStream;
      player.opts.onStream(relayStream);
      player.opts.onFirstFrame?.();
      expect(session.stream).toBe(relayStream);
      expect(session.state).toBe('playing');
      expect(session.ladder?.relayPlaying).toBe(true);

      signalling.stats = [];
      await vi.advanceTimersByTimeAsync(1000);
      expect(signalling.stats).toEqual([
        {
          role: 'viewer',
          inbound: {
            ...player.digest,
            pathReason: 'No WebRTC media after 8 s; using the server relay',
          },
        },
      ]);
      expect(session.reason).toEqual({ key: 'reason.relayFallback', params: { seconds: 8 } });
    });

    it('retries WebRTC in the background and upgrades back when its frames flow', async () => {
      await session.start('123456');
      await vi.advanceTimersByTimeAsync(8000);
      const player = players[0]!;
      const relayStream = new FakeStream('relay') as unknown as MediaStream;
      player.opts.onStream(relayStream);
      expect(signalling.requestsOf('request_offer')).toHaveLength(0);

      await vi.advanceTimersByTimeAsync(30_000);
      expect(signalling.requestsOf('request_offer')).toHaveLength(1);
      const trial = links[1]!;
      expect(trial.closed).toBe(false);
      // The trial's tracks arrive but the relay keeps the screen until frames are decoded.
      const webrtc = new FakeStream('webrtc-2') as unknown as MediaStream;
      trial.opts.onStream(webrtc);
      expect(session.stream).toBe(relayStream);

      trial.digest = { ...DIGEST, path: 'turn', candidateType: 'relay', protocol: 'tcp' };
      trial.framesDecoded = 5;
      await vi.advanceTimersByTimeAsync(1000);
      expect(session.stream).toBe(webrtc);
      expect(player.closed).toBe(true);
      expect(signalling.requestsOf('relay_unsubscribe')).toHaveLength(1);
      expect(session.path).toBe('turn');
      expect(session.reason).toEqual({ key: 'reason.turnTcp' });
      const last = signalling.stats.at(-1) as { inbound: PeerStatsDigest };
      expect(last.inbound.pathReason).toBe('UDP blocked; using TURN over TCP');
    });

    it('?path=relay subscribes at once with reason forced and opens no WebRTC', async () => {
      session.destroy();
      session = makeSession('relay');
      await session.start('123456');
      expect(signalling.requestsOf('relay_subscribe')).toEqual([{ reason: 'forced' }]);
      expect(links).toHaveLength(0);
      expect(session.path).toBe('relay');
      expect(session.reason).toEqual({ key: 'reason.relayForced' });
      await vi.advanceTimersByTimeAsync(120_000);
      expect(links).toHaveLength(0);
      expect(signalling.requestsOf('request_offer')).toHaveLength(0);
    });

    it('?path=turn and the hide-my-IP toggle ask ICE for relay candidates only', async () => {
      session.destroy();
      session = makeSession('turn');
      await session.start('123456');
      expect(links[0]!.opts.iceTransportPolicy).toBe('relay');
      session.setPathOverride('auto');
      expect(links[0]!.closed).toBe(true);
      await flush(); // the new link waits for the request_offer ack
      expect(links[1]!.opts.iceTransportPolicy).toBe('all');
      expect(signalling.requestsOf('request_offer')).toHaveLength(1);
    });

    it("a retry's link uses the fresh ICE servers from the request_offer ack", async () => {
      const fresh = [
        { urls: 'stun:example.org' },
        { urls: ['turn:t:3478'], username: '9999999999:viewer', credential: 'new' },
      ];
      signalling.responders.request_offer = () => ({ ok: true, data: { iceServers: fresh } });
      await session.start('123456');
      expect(links[0]!.opts.iceServers).toEqual(JOINED.iceServers);
      await vi.advanceTimersByTimeAsync(8000); // → relay
      await vi.advanceTimersByTimeAsync(30_000); // background retry
      expect(signalling.requestsOf('request_offer')).toHaveLength(1);
      expect(links[1]!.opts.iceServers).toEqual(fresh);
    });

    it('a retry whose request_offer is refused still opens a link with the old servers', async () => {
      signalling.responders.request_offer = () => ({
        ok: false,
        error: { code: 'PEER_NOT_FOUND', message: 'x' },
      });
      session.destroy();
      session = makeSession('turn');
      await session.start('123456');
      session.setPathOverride('auto');
      await flush();
      expect(links).toHaveLength(2);
      expect(links[1]!.opts.iceServers).toEqual(JOINED.iceServers);
    });

    it('a link closed while its request_offer ack is pending is never opened', async () => {
      let answer: (v: unknown) => void = () => {};
      signalling.responders.request_offer = () =>
        new Promise((r) => (answer = r)) as unknown as ReturnType<
          NonNullable<typeof signalling.responders.request_offer>
        >;
      session.destroy();
      session = makeSession('turn');
      await session.start('123456');
      session.setPathOverride('auto'); // fresh link → waits for the ack
      session.setPathOverride('turn'); // and again: the first wait is stale
      answer({ ok: true, data: { iceServers: [] } });
      await flush(10);
      session.destroy();
      expect(links.filter((l) => !l.closed)).toHaveLength(0);
      expect(links.length).toBeLessThanOrEqual(2);
    });

    it('a join ack with mode relay (overflow) goes straight to the relay', async () => {
      signalling.responders.join_room = () => ({
        ok: true,
        data: { ...WITH_RELAY, mode: 'relay', modeReason: 'overflow' },
      });
      await session.start('123456');
      expect(links).toHaveLength(0);
      expect(signalling.requestsOf('relay_subscribe')).toEqual([{ reason: 'overflow' }]);
      expect(session.reason).toEqual({ key: 'reason.relayOverflow' });
    });

    it('without a relay it stays on WebRTC and says that no path works', async () => {
      signalling.responders.join_room = () => ({ ok: true, data: JOINED });
      await session.start('123456');
      await vi.advanceTimersByTimeAsync(8000);
      expect(signalling.requestsOf('relay_subscribe')).toEqual([]);
      expect(links[0]!.closed).toBe(false);
      expect(session.reason).toEqual({ key: 'reason.noPath', params: { seconds: 8 } });
    });

    it('a refused relay_subscribe goes back to WebRTC with the no-path message', async () => {
      signalling.responders.relay_subscribe = () => ({
        ok: false,
        error: { code: 'INVALID_PAYLOAD', message: 'x' },
      });
      await session.start('123456');
      await vi.advanceTimersByTimeAsync(8000);
      await flush(10);
      expect(players[0]!.closed).toBe(true);
      expect(links[1]!.closed).toBe(false);
      expect(session.ladder?.active).toBe('webrtc');
      expect(session.reason?.key).toBe('reason.noPath');
    });

    it('rejoins from the top after a reconnect and cleans up the relay on destroy', async () => {
      await session.start('123456');
      await vi.advanceTimersByTimeAsync(8000);
      signalling.setState('reconnecting');
      signalling.setState('connected');
      signalling.welcome('client-2');
      await flush(20);
      expect(players[0]!.closed).toBe(true);
      // The server forgot the old socket; no unsubscribe for it.
      expect(signalling.requestsOf('relay_unsubscribe')).toHaveLength(0);
      expect(links).toHaveLength(2);
      expect(session.ladder?.phase).toBe('webrtc-trying');
      session.destroy();
      expect(links[1]!.closed).toBe(true);
      expect(signalling.listenerCount()).toBe(0);
    });
  });
  describe('HLS mirror', () => {
    const WITH_MIRROR: JoinRoomResult = { ...JOINED, hlsMirror: true };
    const PLAYING: HlsPlayerSnapshot = {
      state: 'playing',
      latencySeconds: 2.1,
      error: null,
      native: false,
      width: 1280,
      height: 720,
      bitrateKbps: 2500,
    };
    const summaryWith = (hlsMirror: boolean) =>
      ({
        roomId: '123456',
        at: 1,
        viewerCount: 1,
        pathCounts: {},
        broadcaster: { online: true, uploadKbps: 1 },
        viewers: [],
        hlsMirror,
      }) as unknown as StatsSummary;

    it('"Switch to HLS" closes WebRTC, hands the page the playlist, and reports path hls', async () => {
      signalling.responders.join_room = () => ({ ok: true, data: WITH_MIRROR });
      await session.start('123456');
      expect(session.hlsMirror).toBe(true);
      links[0]!.opts.onStream(new FakeStream('a') as unknown as MediaStream);
      session.chooseHls();
      expect(links[0]!.closed).toBe(true);
      expect(session.hls).toEqual({ playlistUrl: '/hls/123456/index.m3u8', cause: 'chosen' });
      expect(session.path).toBe('hls');
      expect(session.stream).toBeNull();
      expect(session.state).toBe('connecting');
      session.handleHlsPlayer(PLAYING);
      expect(session.state).toBe('playing');
      await vi.advanceTimersByTimeAsync(1000);
      expect(signalling.stats.at(-1)).toMatchObject({
        role: 'viewer',
        inbound: {
          path: 'hls',
          width: 1280,
          bitrateKbps: 2500,
          pathReason: 'You switched to the HLS mirror: a few seconds behind live',
        },
      });
      session.leaveHls();
      expect(session.hls).toBeNull();
      expect(signalling.requestsOf('request_offer')).toHaveLength(1);
    });

    it('falls back to HLS by itself when WebRTC fails and the relay is off', async () => {
      signalling.responders.join_room = () => ({ ok: true, data: WITH_MIRROR });
      await session.start('123456');
      await vi.advanceTimersByTimeAsync(8000);
      expect(session.hls?.cause).toBe('relay-off');
      expect(session.path).toBe('hls');
      expect(session.reason).toEqual({ key: 'reason.hlsRelayOff', params: { seconds: 8 } });
    });

    it('a relay player that cannot decode hands over to HLS', async () => {
      signalling.responders.join_room = () => ({
        ok: true,
        data: { ...WITH_MIRROR, relayAvailable: true },
      });
      await session.start('123456');
      await vi.advanceTimersByTimeAsync(8000);
      await flush(10);
      expect(session.ladder?.active).toBe('relay');
      players[0]!.opts.onUnplayable?.('no WebCodecs VideoDecoder');
      expect(players[0]!.closed).toBe(true);
      expect(signalling.requestsOf('relay_unsubscribe')).toHaveLength(1);
      expect(session.hls?.cause).toBe('relay-unplayable');
      expect(session.reason).toEqual({ key: 'reason.hlsRelayUnplayable' });
    });

    it('follows stats_summary: the mirror switching off takes the viewer back to WebRTC', async () => {
      await session.start('123456');
      expect(session.hlsMirror).toBe(false);
      signalling.emit('stats_summary', summaryWith(true));
      expect(session.hlsMirror).toBe(true);
      session.chooseHls();
      expect(session.path).toBe('hls');
      signalling.emit('stats_summary', summaryWith(false));
      expect(session.hls).toBeNull();
      expect(session.ladder?.active).toBe('webrtc');
    });

    it('an HLS player error leaves HLS', async () => {
      signalling.responders.join_room = () => ({ ok: true, data: WITH_MIRROR });
      await session.start('123456');
      session.chooseHls();
      session.handleHlsPlayer({ ...PLAYING, state: 'error', error: 'mediaError' });
      expect(session.hls).toBeNull();
      expect(session.ladder?.phase).toBe('webrtc-trying');
    });
  });
});
