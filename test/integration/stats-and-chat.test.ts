import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, PeerStatsDigest, StatsSummary } from '../../shared/index';
import {
  closeAllClients,
  connectClient,
  emitAck,
  expectOk,
  roomWithViewers,
  startServer,
  waitFor,
  type TestServer,
} from './helpers';

const digest = (over: Partial<PeerStatsDigest> = {}): PeerStatsDigest => ({
  path: 'direct',
  codec: 'AV1',
  bitrateKbps: 1500,
  fps: 30,
  width: 1280,
  height: 720,
  rttMs: null,
  lossPct: 0,
  candidateType: 'host',
  protocol: 'udp',
  ...over,
});

describe('stats summary and chat', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterEach(() => closeAllClients());
  afterAll(() => t.close());

  it('sends a stats_summary right after a join with the viewer count', async () => {
    const { broadcaster, roomId } = await roomWithViewers(t.url, 0);
    const viewer = await connectClient(t.url);
    // Well before the 1 s periodic tick: this one is sent because of the join.
    const summary = waitFor(broadcaster, 'stats_summary', 400, (s) => s.viewerCount === 1);
    expectOk(await emitAck(viewer, 'join_room', { roomId }));
    expect((await summary).viewers.map((v) => v.viewerId)).toEqual([viewer.id]);
    expect((await summary).pathCounts).toEqual({
      direct: 0,
      turn: 0,
      sfu: 0,
      relay: 0,
      hls: 0,
      whep: 0,
    });
    const afterLeave = waitFor(broadcaster, 'stats_summary', 400, (s) => s.viewerCount === 0);
    expectOk(await emitAck(viewer, 'leave_room', {}));
    await afterLeave;
  });

  it('merges viewer and broadcaster reports within ~2 s', async () => {
    const { broadcaster, viewers, roomId } = await roomWithViewers(t.url, 2);
    const [v1, v2] = viewers as [(typeof viewers)[0], (typeof viewers)[0]];
    v1.emit('stats', { role: 'viewer', inbound: digest({ bitrateKbps: 1400, fps: 29 }) });
    broadcaster.emit('stats', {
      role: 'broadcaster',
      totalUploadKbps: 3000,
      peers: [
        { ...digest({ bitrateKbps: 1600, rttMs: 4 }), viewerId: v1.id! },
        { ...digest({ path: 'turn', codec: 'VP9', rttMs: 30 }), viewerId: v2.id! },
        { ...digest(), viewerId: 'not-a-member' },
      ],
    });
    const merged = (s: StatsSummary) => s.broadcaster.uploadKbps === 3000 && s.viewers.length === 2;
    const atViewer = waitFor(v2, 'stats_summary', 2500, merged);
    const summary = await waitFor(broadcaster, 'stats_summary', 2500, merged);
    expect(summary).toMatchObject({
      roomId,
      viewerCount: 2,
      pathCounts: { direct: 1, turn: 1, sfu: 0, relay: 0, hls: 0, whep: 0 },
      broadcaster: { online: true, uploadKbps: 3000 },
    });
    const byId = new Map(summary.viewers.map((v) => [v.viewerId, v]));
    expect(byId.get(v1.id!)).toMatchObject({ bitrateKbps: 1400, fps: 29, rttMs: 4, codec: 'AV1' });
    expect(byId.get(v2.id!)).toMatchObject({ path: 'turn', codec: 'VP9', rttMs: 30 });
    expect(byId.get(v1.id!)?.joinedAt).toEqual(expect.any(Number));
    expect((await atViewer).viewerCount).toBe(2);
  });

  it('broadcasts chat to the whole room, sender included, and acks the same message', async () => {
    const { broadcaster, viewers, roomId } = await roomWithViewers(t.url, 2);
    const received = [broadcaster, ...viewers].map((s) => waitFor(s, 'chat'));
    const ack = expectOk(
      await emitAck<ChatMessage>(viewers[0]!, 'chat', { text: '  <b>hello</b>  ' }),
    );
    expect(ack).toMatchObject({
      roomId,
      from: viewers[0]!.id,
      role: 'viewer',
      name: `Viewer ${viewers[0]!.id!.slice(0, 6)}`,
      text: '<b>hello</b>',
    });
    for (const message of await Promise.all(received)) expect(message).toEqual(ack);

    const hostMessage = expectOk(
      await emitAck<ChatMessage>(broadcaster, 'chat', { text: 'hi all' }),
    );
    expect(hostMessage).toMatchObject({ role: 'broadcaster', name: 'Host' });
  });

  it('refuses chat outside a room', async () => {
    const { viewers } = await roomWithViewers(t.url, 1);
    expectOk(await emitAck(viewers[0]!, 'leave_room', {}));
    expect(await emitAck(viewers[0]!, 'chat', { text: 'anyone?' })).toMatchObject({
      error: { code: 'NOT_IN_ROOM' },
    });
  });
});
