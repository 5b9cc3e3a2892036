import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_FRAME_VERSION, RELAY_MAX_FRAME_BYTES } from '../../shared/index';
import {
  closeAllClients,
  collect,
  connectClient,
  emitAck,
  expectOk,
  roomWithViewers,
  sleep,
  startServer,
  waitFor,
  type TestServer,
  type TestSocket,
} from './helpers';
import {
  ChunkSource,
  collectChunks,
  sendChunk,
  subscribe,
  waitForCount,
  type ReceivedChunk,
} from './relay-helpers';

describe('relay: fan-out, GOP cache, demand, keyframes', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterEach(() => closeAllClients());
  afterAll(() => t.close());

  it('tells the broadcaster relay_demand when the first relay viewer comes and the last goes', async () => {
    const { broadcaster, viewers } = await roomWithViewers(t.url, 2);
    const demands = collect(broadcaster, 'relay_demand');
    const on = waitFor(broadcaster, 'relay_demand');
    await subscribe(viewers[0]!);
    expect(await on).toEqual({ active: true, relayViewers: 1, preferH264: false });
    await subscribe(viewers[1]!, 'fallback');
    await sleep(50);
    expect(demands).toHaveLength(1);
    expect(await emitAck(viewers[0]!, 'relay_unsubscribe', {})).toEqual({ ok: true, data: null });
    await sleep(50);
    expect(demands).toHaveLength(1);
    const off = waitFor(broadcaster, 'relay_demand');
    viewers[1]!.disconnect(); // leaving by disconnect counts too
    expect(await off).toEqual({ active: false, relayViewers: 0, preferH264: false });
  });

  it('fans chunks out untouched, and serves a late joiner from the GOP cache at a keyframe', async () => {
    const { broadcaster, viewers } = await roomWithViewers(t.url, 2);
    const src = new ChunkSource();
    const early = collectChunks(viewers[0]!);
    await subscribe(viewers[0]!);
    const sent = [
      src.next('audio', { config: true }),
      src.next('video', { key: true }),
      src.next('video'),
      src.next('audio'),
      src.next('video'),
      src.next('video', { key: true }),
      src.next('audio'),
      src.next('video'),
    ];
    for (const bytes of sent) sendChunk(broadcaster, bytes);
    await waitForCount(early, sent.length);
    expect(early.map((c) => Buffer.from(c.bytes))).toEqual(sent.map((b) => Buffer.from(b)));

    const late = collectChunks(viewers[1]!);
    await subscribe(viewers[1]!);
    // audio config (kept aside), then the latest keyframe and everything since
    await waitForCount(late, 4);
    const live = src.next('video');
    sendChunk(broadcaster, live);
    await waitForCount(late, 5);
    expect(late.map((c) => Buffer.from(c.bytes))).toEqual(
      [sent[0]!, sent[5]!, sent[6]!, sent[7]!, live].map((b) => Buffer.from(b)),
    );
    const firstVideo = late.find((c) => c.header.track === 'video')!;
    expect(firstVideo.header).toMatchObject({ keyframe: true, hasConfig: true });
  });

  it('rejects media from a viewer: protocol_error NOT_BROADCASTER, never forwarded', async () => {
    const { broadcaster, viewers } = await roomWithViewers(t.url, 2);
    const [sender, watcher] = viewers as [(typeof viewers)[0], (typeof viewers)[0]];
    const received = collectChunks(watcher);
    await subscribe(watcher);
    const src = new ChunkSource();
    const refused = waitFor(sender, 'protocol_error');
    sendChunk(sender, src.next('video', { key: true, size: 50 }));
    expect(await refused).toMatchObject({ event: 'relay_chunk', code: 'NOT_BROADCASTER' });
    const stranger = await connectClient(t.url);
    const strangerRefused = waitFor(stranger, 'protocol_error');
    sendChunk(stranger, src.next('video', { key: true }));
    expect(await strangerRefused).toMatchObject({ event: 'relay_chunk', code: 'NOT_IN_ROOM' });
    const marker = src.next('video', { key: true, size: 77 });
    sendChunk(broadcaster, marker);
    await waitForCount(received, 1);
    await sleep(50);
    expect(received.map((c) => Buffer.from(c.bytes))).toEqual([Buffer.from(marker)]);
  });

  it('refuses an oversized or malformed chunk without harming the room', async () => {
    const { broadcaster, viewers } = await roomWithViewers(t.url, 1);
    const received = collectChunks(viewers[0]!);
    await subscribe(viewers[0]!);
    const src = new ChunkSource();
    const errors = collect(broadcaster, 'protocol_error');
    const big = new Uint8Array(RELAY_MAX_FRAME_BYTES + 1024);
    big.set(src.next('video', { key: true }));
    sendChunk(broadcaster, big);
    sendChunk(broadcaster, new Uint8Array([RELAY_FRAME_VERSION, 0, 0]));
    (broadcaster.emit as (...a: unknown[]) => void)('relay_chunk', { not: 'binary' });
    const good = [src.next('video', { key: true }), src.next('audio'), src.next('video')];
    for (const bytes of good) sendChunk(broadcaster, bytes);
    await waitForCount(received, good.length);
    await sleep(50);
    expect(received.map((c) => Buffer.from(c.bytes))).toEqual(good.map((b) => Buffer.from(b)));
    expect(errors.map((e) => [e.event, e.code])).toEqual([
      ['relay_chunk', 'INVALID_PAYLOAD'],
      ['relay_chunk', 'INVALID_PAYLOAD'],
      ['relay_chunk', 'INVALID_PAYLOAD'],
    ]);
    expect(errors[0]!.message).toContain('TOO_LARGE');
    expect(broadcaster.connected).toBe(true);
  });

  it('forwards keyframe_request to the broadcaster, at most once a second per room', async () => {
    const { broadcaster, viewers } = await roomWithViewers(t.url, 2);
    const requests = collect(broadcaster, 'keyframe_requested');
    // Subscribing while nothing is cached asks for a keyframe at once.
    await subscribe(viewers[0]!);
    await waitForCount(requests, 1);
    await sleep(1000);
    for (let i = 0; i < 5; i++) {
      viewers[0]!.emit('keyframe_request', {});
      viewers[1]!.emit('keyframe_request', {});
    }
    await waitForCount(requests, 2);
    await sleep(200);
    expect(requests).toHaveLength(2);
    expect(requests[1]).toEqual({});
    // The broadcaster itself can't ask (it would only talk to itself).
    const refused = waitFor(broadcaster, 'protocol_error');
    broadcaster.emit('keyframe_request', {});
    expect(await refused).toMatchObject({ event: 'keyframe_request', code: 'UNAUTHORIZED' });
  });

  it('request_offer reaches only the broadcaster of the requester’s room', async () => {
    const { broadcaster, viewers } = await roomWithViewers(t.url, 2);
    const other = await roomWithViewers(t.url, 0);
    const otherSaw = collect(other.broadcaster, 'offer_requested');
    const viewerSaw = collect(viewers[1]!, 'offer_requested');
    const requested = waitFor(broadcaster, 'offer_requested');
    expect(await emitAck(viewers[0]!, 'request_offer', {})).toEqual({
      ok: true,
      data: { iceServers: [] },
    });
    expect(await requested).toEqual({ viewerId: viewers[0]!.id, iceServers: [] });
    const stranger = await connectClient(t.url);
    expect(await emitAck(stranger, 'request_offer', {})).toMatchObject({
      error: { code: 'NOT_IN_ROOM' },
    });
    expect(await emitAck(broadcaster, 'request_offer', {})).toMatchObject({
      error: { code: 'UNAUTHORIZED' },
    });
    expect(await emitAck(viewers[0]!, 'request_offer', { to: 'x' })).toMatchObject({
      error: { code: 'INVALID_PAYLOAD' },
    });
    await sleep(50);
    expect(otherSaw).toEqual([]);
    expect(viewerSaw).toEqual([]);
  });

  it('on reclaim the new broadcaster hears the demand, and viewers restart at its keyframe', async () => {
    const { broadcaster, viewers, roomId, token } = await roomWithViewers(t.url, 1);
    const got = collectChunks(viewers[0]!);
    await subscribe(viewers[0]!);
    const oldSrc = new ChunkSource();
    sendChunk(broadcaster, oldSrc.next('video', { key: true }));
    sendChunk(broadcaster, oldSrc.next('video'));
    await waitForCount(got, 2);
    const offline = waitFor(viewers[0]!, 'broadcaster_status');
    broadcaster.disconnect();
    await offline;
    const again = await connectClient(t.url);
    const demand = waitFor(again, 'relay_demand');
    expectOk(await emitAck(again, 'reclaim_room', { roomId, broadcasterToken: token }));
    expect(await demand).toEqual({ active: true, relayViewers: 1, preferH264: false });
    const newSrc = new ChunkSource();
    const delta = newSrc.next('video'); // from before the new encoder's first keyframe
    const key = newSrc.next('video', { key: true });
    sendChunk(again, delta);
    sendChunk(again, key);
    await waitForCount(got, 3);
    await sleep(50);
    expect(got.map((c) => Buffer.from(c.bytes)).slice(2)).toEqual([Buffer.from(key)]);
  });

  it('relay viewers report path relay and are counted in stats_summary', async () => {
    const { broadcaster, viewers } = await roomWithViewers(t.url, 1);
    await subscribe(viewers[0]!);
    viewers[0]!.emit('stats', {
      role: 'viewer',
      inbound: {
        path: 'relay',
        codec: 'H264',
        bitrateKbps: 900,
        fps: 30,
        width: 640,
        height: 360,
        rttMs: null,
        lossPct: null,
        candidateType: null,
        protocol: null,
        pathReason: 'Relay forced by ?path=relay',
      },
    });
    const summary = await waitFor(
      broadcaster,
      'stats_summary',
      3000,
      (s) => s.pathCounts.relay === 1,
    );
    expect(summary.viewers[0]).toMatchObject({
      path: 'relay',
      pathReason: 'Relay forced by ?path=relay',
    });
  });
});

/** The TCP socket under a socket.io-client's websocket (Node: engine.io-client → ws). */
function tcpOf(socket: TestSocket): { pause(): void; resume(): void } {
  const engine = (socket.io as unknown as { engine: { transport: { ws: { _socket: unknown } } } })
    .engine;
  const tcp = engine.transport.ws._socket as { pause(): void; resume(): void } | undefined;
  if (!tcp) throw new Error('no underlying TCP socket: is the transport websocket?');
  return tcp;
}

function videoGaps(chunks: ReceivedChunk[]): ReceivedChunk[] {
  const video = chunks.filter((c) => c.header.track === 'video');
  return video.filter((c, i) => i > 0 && c.header.seq !== video[i - 1]!.header.seq + 1);
}

function seqsOf(chunks: ReceivedChunk[], track: 'video' | 'audio'): number[] {
  return chunks.filter((c) => c.header.track === track).map((c) => c.header.seq);
}

describe('relay: per-viewer backlog bound', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({
      RELAY_VIEWER_BACKLOG_BYTES: String(1024 * 1024),
      RELAY_MAX_ROOM_KBPS: '10000000',
      RELAY_GOP_CACHE_BYTES: String(64 * 1024 * 1024),
    });
  });
  afterEach(() => closeAllClients());
  afterAll(() => t.close(), 30_000);

  it('a throttled viewer drops video to the next keyframe and keeps audio; a fast one loses nothing', async () => {
    const { broadcaster, viewers } = await roomWithViewers(t.url, 2);
    const fast: TestSocket = viewers[0]!;
    const slow: TestSocket = viewers[1]!;
    const fastGot = collectChunks(fast);
    const slowGot = collectChunks(slow);
    await subscribe(fast);
    await subscribe(slow);
    const src = new ChunkSource();
    let sentVideo = 0;
    let sentAudio = 0;
    // Paced under the per-socket chunk rate (RATE_LIMITS.relay); big chunks fill the kernel
    // buffers of the paused connection quickly.
    const burst = async (groups: number) => {
      for (let g = 0; g < groups; g++) {
        for (let i = 0; i < 10; i++) {
          sendChunk(broadcaster, src.next('video', { key: i === 0, size: 200_000 }));
          sendChunk(broadcaster, src.next('audio', { size: 300 }));
          sentVideo++;
          sentAudio++;
          if (i % 2 === 1) await sleep(12);
        }
      }
    };
    await burst(1);
    await waitForCount(slowGot, 20);
    const tcp = tcpOf(slow);
    tcp.pause();
    await burst(20);
    await waitForCount(fastGot, sentVideo + sentAudio, 20_000);
    tcp.resume();
    await burst(2);
    await waitForCount(fastGot, sentVideo + sentAudio, 20_000);
    // The slow viewer catches up: its last chunk is the last one sent.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const last = slowGot.filter((c) => c.header.track === 'video').at(-1);
      if (last?.header.seq === sentVideo - 1) break;
      await sleep(20);
    }
    const fastVideo = seqsOf(fastGot, 'video');
    expect(fastVideo).toEqual([...Array(sentVideo).keys()]);
    expect(seqsOf(fastGot, 'audio')).toEqual([...Array(sentAudio).keys()]);

    const gaps = videoGaps(slowGot);
    // Some video was dropped for the slow viewer, and it resumed only at keyframes.
    expect(gaps.length).toBeGreaterThan(0);
    for (const gap of gaps) expect(gap.header.keyframe).toBe(true);
    expect(seqsOf(slowGot, 'video').at(-1)).toBe(sentVideo - 1);
    expect(seqsOf(slowGot, 'audio')).toEqual([...Array(sentAudio).keys()]);
  }, 60_000);
});
