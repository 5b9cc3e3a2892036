import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PeerStatsDigest } from '../../shared/index';
import { probeTurn, turnTarget } from '../../server/readiness';
import { startCoturn, turnserverPath, type Coturn } from '../support/coturn';
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
import { ChunkSource, collectChunks, sendChunk, subscribe, waitForCount } from './relay-helpers';

const digest = (over: Partial<PeerStatsDigest> = {}): PeerStatsDigest => ({
  path: 'direct',
  codec: 'VP8',
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

/** One sample's value from Prometheus text, e.g. `roomcast_viewers{path="turn"}`. */
function sample(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (line.slice(0, space) === name) return Number(line.slice(space + 1));
  }
  return undefined;
}

async function scrape(t: TestServer, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${t.url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

describe('health, readiness and metrics endpoints', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterEach(() => closeAllClients());
  afterAll(() => t.close());

  it('/healthz stays a cheap liveness answer with the feature fields', async () => {
    const res = await fetch(`${t.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      rooms: expect.any(Number),
      features: { turn: { enabled: false }, relay: { enabled: true } },
    });
  });

  it('/readyz is 200 when listening, with ffmpeg, coturn and Redis states', async () => {
    const res = await fetch(`${t.url}/readyz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body).toMatchObject({
      status: 'ready',
      listening: true,
      shuttingDown: false,
      checks: {
        ffmpeg: { status: 'ok', critical: false },
        coturn: { status: 'off', critical: false },
        redis: { status: 'off', critical: false },
      },
    });
  });

  it('/readyz is 503 while a critical dependency is down, and 200 again when it recovers', async () => {
    let redisUp = false;
    t.server.readiness.register(
      'redis',
      () => (redisUp ? { status: 'ok' } : { status: 'down', detail: 'connection refused' }),
      { critical: true },
    );
    const down = await fetch(`${t.url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({
      status: 'not_ready',
      checks: { redis: { status: 'down', critical: true, detail: 'connection refused' } },
    });
    redisUp = true;
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    t.server.readiness.register('redis', () => ({ status: 'off' }));
  });

  it('/metrics and /readyz are not answered by the SPA fallback', async () => {
    const res = await fetch(`${t.url}/metrics/anything`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('counts rooms, viewers by path, join failures, rate limits and handler latency', async () => {
    const { broadcaster, viewers, roomId } = await roomWithViewers(t.url, 2);
    const [direct, turn] = viewers as [(typeof viewers)[0], (typeof viewers)[0]];
    direct.emit('stats', { role: 'viewer', inbound: digest() });
    turn.emit('stats', { role: 'viewer', inbound: digest({ path: 'turn', protocol: 'tcp' }) });
    await waitFor(
      broadcaster,
      'stats_summary',
      3000,
      (s) => s.pathCounts.turn === 1 && s.pathCounts.direct === 1,
    );

    const stranger = await connectClient(t.url);
    expect(await emitAck(stranger, 'join_room', { roomId: '000000' })).toMatchObject({
      error: { code: 'ROOM_NOT_FOUND' },
    });
    expect(await emitAck(stranger, 'join_room', { roomId: 'abc' })).toMatchObject({
      error: { code: 'INVALID_PAYLOAD' },
    });
    // The request bucket holds 20: the rest of a burst of 30 is refused.
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => emitAck(stranger, 'leave_room', {})),
    );
    expect(burst.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED').length).toBeGreaterThan(0);

    const text = await scrape(t);
    expect(sample(text, 'roomcast_rooms')).toBe(t.server.registry.roomCount);
    expect(sample(text, 'roomcast_rooms')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'roomcast_viewers{path="direct"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'roomcast_viewers{path="turn"}')).toBe(1);
    expect(sample(text, 'roomcast_viewers{path="relay"}')).toBe(0);
    expect(sample(text, 'roomcast_viewers{path="hls"}')).toBe(0);
    expect(sample(text, 'roomcast_join_failures_total{code="ROOM_NOT_FOUND"}')).toBe(1);
    expect(sample(text, 'roomcast_join_failures_total{code="INVALID_PAYLOAD"}')).toBe(1);
    expect(sample(text, 'roomcast_rate_limited_total{scope="leave_room"}')).toBeGreaterThanOrEqual(
      10,
    );
    expect(
      sample(text, 'roomcast_signalling_handler_seconds_count{event="join_room"}'),
    ).toBeGreaterThanOrEqual(4);
    expect(
      sample(text, 'roomcast_signalling_handler_seconds_bucket{le="+Inf",event="create_room"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(text).toContain('roomcast_ffmpeg_restarts_total 0');
    // prom-client's process metrics, under the same prefix.
    expect(sample(text, 'roomcast_process_resident_memory_bytes')).toBeGreaterThan(0);

    // A closed room leaves the viewer gauge.
    expectOk(await emitAck(broadcaster, 'leave_room', {}));
    expect(roomId).toMatch(/^\d{6}$/);
    const after = await scrape(t);
    expect(sample(after, 'roomcast_viewers{path="turn"}')).toBe(0);
  });

  it('counts relay bytes in and out', async () => {
    const before = await scrape(t);
    const bytesIn0 = sample(before, 'roomcast_relay_bytes_in_total') ?? 0;
    const bytesOut0 = sample(before, 'roomcast_relay_bytes_out_total') ?? 0;
    const { broadcaster, viewers } = await roomWithViewers(t.url, 1);
    const viewer = viewers[0]!;
    const received = collectChunks(viewer);
    await subscribe(viewer);
    const source = new ChunkSource();
    const chunks = [
      source.next('video', { key: true, size: 1000 }),
      source.next('video', { size: 500 }),
    ];
    for (const chunk of chunks) sendChunk(broadcaster, chunk);
    await waitForCount(received, 2);
    const total = chunks.reduce((n, c) => n + c.byteLength, 0);
    const text = await scrape(t);
    expect(sample(text, 'roomcast_relay_bytes_in_total')! - bytesIn0).toBe(total);
    expect(sample(text, 'roomcast_relay_bytes_out_total')! - bytesOut0).toBe(total);
  });

  // Last: the app stays marked as shutting down.
  it('/readyz turns 503 once shutdown starts, while /healthz still answers 200', async () => {
    t.server.readiness.markShuttingDown();
    const res = await fetch(`${t.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'not_ready', shuttingDown: true });
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});

describe('metrics per app', () => {
  it('two apps in one process keep separate registries', async () => {
    const a = await startServer();
    const METRICS_TOKEN = randomBytes(16).toString('hex');
    const b = await startServer({ METRICS_TOKEN });
    try {
      await roomWithViewers(a.url, 0);
      expect(sample(await scrape(a), 'roomcast_rooms')).toBe(1);
      const open = await fetch(`${b.url}/metrics`);
      expect(open.status).toBe(401);
      expect(await open.text()).not.toContain('roomcast_');
      const wrong = await fetch(`${b.url}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}x` },
      });
      expect(wrong.status).toBe(401);
      const text = await scrape(b, { authorization: `Bearer ${METRICS_TOKEN}` });
      expect(sample(text, 'roomcast_rooms')).toBe(0);
    } finally {
      closeAllClients();
      await a.close();
      await b.close();
    }
  });
});

describe('coturn readiness probe', () => {
  it('reads host, port and transport from the first TURN URL', () => {
    expect(turnTarget(['turn:turn.example.com:3478?transport=udp'])).toEqual({
      host: 'turn.example.com',
      port: 3478,
      transport: 'udp',
    });
    expect(turnTarget(['turn:[::1]:3479?transport=tcp'])).toEqual({
      host: '::1',
      port: 3479,
      transport: 'tcp',
    });
    expect(turnTarget(['turns:t.example?transport=tcp'])).toMatchObject({
      port: 5349,
      transport: 'tcp',
    });
    expect(turnTarget([])).toBeNull();
  });

  it('reports down when nothing answers on UDP or TCP', async () => {
    // A bound UDP socket that never answers, and a TCP port nobody listens on.
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const udpPort = silent.address().port;
    try {
      const udp = await probeTurn({ host: '127.0.0.1', port: udpPort, transport: 'udp' }, 300);
      expect(udp.status).toBe('down');
      const tcp = await probeTurn({ host: '127.0.0.1', port: udpPort, transport: 'tcp' }, 300);
      expect(tcp.status).toBe('down');
    } finally {
      silent.close();
    }
  });

  describe.skipIf(turnserverPath() === null && !process.env.CI)('with real coturn', () => {
    let coturn: Coturn;
    let t: TestServer;
    beforeAll(async () => {
      coturn = await startCoturn();
      t = await startServer({ TURN_URLS: coturn.urls.join(','), TURN_SECRET: coturn.secret });
    });
    afterAll(async () => {
      await t?.close();
      await coturn?.stop();
    });

    it('answers a STUN binding over UDP and accepts TCP', async () => {
      const udp = await probeTurn({ host: '127.0.0.1', port: coturn.port, transport: 'udp' });
      expect(udp).toEqual({ status: 'ok', detail: `udp://127.0.0.1:${coturn.port}` });
      const tcp = await probeTurn({ host: '127.0.0.1', port: coturn.port, transport: 'tcp' });
      expect(tcp.status).toBe('ok');
    });

    it('/readyz shows coturn reachable; the probe result is cached between scrapes', async () => {
      const res = await fetch(`${t.url}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ checks: { coturn: { status: 'ok' } } });
      await coturn.stop();
      // Within the cache lifetime the last answer stands, so scrapes do not probe every time...
      expect(await (await fetch(`${t.url}/readyz`)).json()).toMatchObject({
        checks: { coturn: { status: 'ok' } },
      });
      // ...and a fresh probe sees it gone.
      const gone = await probeTurn({ host: '127.0.0.1', port: coturn.port, transport: 'udp' }, 500);
      expect(gone.status).toBe('down');
    });
  });
});
