import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closeAllClients,
  collect,
  connectClient,
  emitAck,
  roomWithViewers,
  sleep,
  startServer,
  waitFor,
  type TestServer,
} from './helpers';

const offer = { type: 'offer', sdp: 'v=0\r\n' };
const answer = { type: 'answer', sdp: 'v=0\r\n' };
const candidate = {
  candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host',
  sdpMid: '0',
  sdpMLineIndex: 0,
};

describe('signal routing', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterEach(() => closeAllClients());
  afterAll(() => t.close());

  it('forwards broadcaster ↔ viewer both ways with a server-stamped from', async () => {
    const { broadcaster, viewers } = await roomWithViewers(t.url, 1);
    const viewer = viewers[0]!;

    const atViewer = waitFor(viewer, 'signal');
    expect(await emitAck(broadcaster, 'signal', { to: viewer.id, description: offer })).toEqual({
      ok: true,
      data: null,
    });
    expect(await atViewer).toEqual({ from: broadcaster.id, description: offer });

    const atBroadcaster = waitFor(broadcaster, 'signal');
    viewer.emit('signal', { to: broadcaster.id!, description: answer as never });
    expect(await atBroadcaster).toEqual({ from: viewer.id, description: answer });

    const candidateAtViewer = waitFor(viewer, 'signal');
    broadcaster.emit('signal', { to: viewer.id!, candidate });
    expect(await candidateAtViewer).toEqual({ from: broadcaster.id, candidate });

    const endOfCandidates = waitFor(broadcaster, 'signal');
    viewer.emit('signal', { to: broadcaster.id!, candidate: null });
    expect(await endOfCandidates).toEqual({ from: viewer.id, candidate: null });
  });

  it('ignores a client-supplied from (refused as INVALID_PAYLOAD, never forwarded)', async () => {
    const { broadcaster, viewers } = await roomWithViewers(t.url, 2);
    const seen = collect(broadcaster, 'signal');
    const result = await emitAck(viewers[0]!, 'signal', {
      to: broadcaster.id,
      from: viewers[1]!.id,
      description: answer,
    });
    expect(result).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    await sleep(100);
    expect(seen).toEqual([]);
  });

  it('refuses viewer → viewer, viewer → other room, and strangers', async () => {
    const a = await roomWithViewers(t.url, 2);
    const b = await roomWithViewers(t.url, 1);
    const leaks = [
      collect(a.viewers[1]!, 'signal'),
      collect(b.broadcaster, 'signal'),
      collect(b.viewers[0]!, 'signal'),
    ];
    const viewer = a.viewers[0]!;
    for (const to of [
      a.viewers[1]!.id,
      b.broadcaster.id,
      b.viewers[0]!.id,
      viewer.id,
      'no-such-peer',
    ]) {
      expect(await emitAck(viewer, 'signal', { to, description: offer })).toMatchObject({
        ok: false,
        error: { code: 'PEER_NOT_FOUND' },
      });
    }
    // A broadcaster can't reach another room's viewers either.
    expect(
      await emitAck(a.broadcaster, 'signal', { to: b.viewers[0]!.id, description: offer }),
    ).toMatchObject({
      error: { code: 'PEER_NOT_FOUND' },
    });
    const stranger = await connectClient(t.url);
    expect(
      await emitAck(stranger, 'signal', { to: a.broadcaster.id, description: offer }),
    ).toMatchObject({
      error: { code: 'NOT_IN_ROOM' },
    });
    await sleep(100);
    for (const seen of leaks) expect(seen).toEqual([]);
  });

  it("refuses viewers doing the broadcaster's job", async () => {
    const { viewers, roomId } = await roomWithViewers(t.url, 1);
    const viewer = viewers[0]!;
    expect(
      await emitAck(viewer, 'reclaim_room', { roomId, broadcasterToken: 'y'.repeat(43) }),
    ).toMatchObject({
      error: { code: 'UNAUTHORIZED' },
    });
    const errors = collect(viewer, 'protocol_error');
    viewer.emit('stats', { role: 'broadcaster', totalUploadKbps: 1, peers: [] });
    await waitFor(viewer, 'protocol_error');
    expect(errors[0]).toMatchObject({ event: 'stats', code: 'NOT_BROADCASTER' });
  });

  it('answers an un-acked signal that fails with a protocol_error', async () => {
    const { viewers } = await roomWithViewers(t.url, 1);
    const error = waitFor(viewers[0]!, 'protocol_error');
    viewers[0]!.emit('signal', { to: 'nobody', description: offer as never });
    expect(await error).toMatchObject({ event: 'signal', code: 'PEER_NOT_FOUND' });
  });
});
