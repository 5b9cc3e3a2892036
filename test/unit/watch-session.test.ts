import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JoinRoomResult, PeerStatsDigest, StatsSummary } from '../../shared/index';
import type { ViewerLinkOptions } from '../../client/src/lib/viewer-link';
import { WATCH_CHAT_LIMIT, WatchSession } from '../../client/src/state/watch-session.svelte';
import type { LinkPort } from '../../client/src/state/ports';
import { FakeSignalling, FakeStream, flush } from './ui-fakes';

class FakeLink {
  signals: unknown[] = [];
  closed = false;
  digest: PeerStatsDigest | null = null;
  constructor(readonly opts: ViewerLinkOptions) {}
  async handleSignal(msg: unknown) {
    this.signals.push(msg);
  }
  async collectStats() {
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
  let session: WatchSession;

  beforeEach(() => {
    vi.useFakeTimers();
    signalling = new FakeSignalling();
    signalling.responders.join_room = () => ({ ok: true, data: JOINED });
    links = [];
    session = new WatchSession({
      signalling: signalling.asPort(),
      createLink: (opts) => {
        const link = new FakeLink(opts);
        links.push(link);
        return link as unknown as LinkPort;
      },
    });
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
    expect(signalling.stats).toEqual([{ role: 'viewer', inbound: DIGEST }]);
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
});
