import { afterEach, describe, expect, it } from 'vitest';
import type { SfuAnswer, StatsSummary } from '../../shared/index';
import {
  closeAllClients,
  connectClient,
  emitAck,
  startServer,
  type TestServer,
  type TestSocket,
} from './helpers';
import { PublisherClient, SubscriberClient } from '../support/webrtc-client';

/** WHEP against the real server with real WebRTC clients; every refusal is a typed error. */

const servers: TestServer[] = [];
const peers: Array<{ close(): void }> = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) peer.close();
  closeAllClients();
  for (const server of servers.splice(0)) await server.close();
});

async function setup(env: Record<string, string> = {}, password?: string) {
  const t = await startServer(env);
  servers.push(t);
  const broadcaster = await connectClient(t.url);
  const created = await emitAck<{ roomId: string }>(
    broadcaster,
    'create_room',
    password ? { password } : {},
  );
  if (!created.ok) throw new Error('create_room failed');
  return { t, broadcaster, roomId: created.data.roomId };
}

/** The broadcaster's page: publish on demand, keep sending frames (keyframes when asked). */
function publishOnDemand(broadcaster: TestSocket): { stop(): void } {
  let ticker: NodeJS.Timeout | undefined;
  broadcaster.on('sfu_demand', async (demand) => {
    if (!demand.active || ticker) return;
    const pub = new PublisherClient();
    peers.push(pub);
    const ack = await emitAck<SfuAnswer>(broadcaster, 'sfu_publish', { sdp: await pub.offer() });
    if (!ack.ok) throw new Error(ack.error.code);
    await pub.accept(ack.data.sdp);
    ticker = setInterval(() => pub.sendFrame(false, 2), 30);
  });
  return { stop: () => clearInterval(ticker) };
}

async function offer(): Promise<{ sub: SubscriberClient; sdp: string }> {
  const sub = new SubscriberClient();
  peers.push(sub);
  return { sub, sdp: await sub.offer() };
}

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', ...headers },
    body,
  });

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

describe('WHEP', () => {
  it('plays a password room with the password, and answers like a missing room without it', async () => {
    const { t, broadcaster, roomId } = await setup({}, 'open sesame');
    const publisher = publishOnDemand(broadcaster);
    try {
      const endpoint = `${t.url}/whep/${roomId}`;
      const { sub, sdp } = await offer();
      const missing = await post(endpoint, sdp);
      expect(missing.status).toBe(404);
      expect(await errorCode(missing)).toBe('ROOM_NOT_FOUND');
      const wrong = await post(endpoint, sdp, { Authorization: 'Bearer nope' });
      expect(wrong.status).toBe(404);
      const unknown = await post(`${t.url}/whep/000000`, sdp);
      expect(unknown.status).toBe(404);
      expect(await unknown.text()).toContain('No live room has that number.');

      const summaries: StatsSummary[] = [];
      broadcaster.on('stats_summary', (s) => summaries.push(s));
      const res = await post(endpoint, sdp, {
        Authorization: 'Bearer open sesame',
        Origin: 'https://player.example',
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('content-type')).toMatch(/^application\/sdp/);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-expose-headers')).toMatch(/Location/);
      const location = res.headers.get('location')!;
      expect(location).toMatch(new RegExp(`^/whep/${roomId}/[A-Za-z0-9_-]{22}$`));
      expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{16}"$/);
      await sub.accept(await res.text());
      const until = Date.now() + 8000;
      while (sub.received.length < 4 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      expect(sub.received.length).toBeGreaterThanOrEqual(4);
      expect(sub.received[0]![12]).toBe(0x67);
      // Counted in the room as a WHEP player.
      const end = Date.now() + 3000;
      while (!summaries.some((s) => s.pathCounts.whep === 1) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(summaries.some((s) => s.pathCounts.whep === 1 && s.viewerCount === 1)).toBe(true);

      // DELETE only under its own room, only once.
      const id = location.split('/').pop()!;
      expect((await fetch(`${t.url}/whep/111111/${id}`, { method: 'DELETE' })).status).toBe(404);
      expect(
        (await fetch(`${t.url}/whep/${roomId}/${'A'.repeat(22)}`, { method: 'DELETE' })).status,
      ).toBe(404);
      const deleted = await fetch(`${t.url}${location}`, { method: 'DELETE' });
      expect(deleted.status).toBe(200);
      expect((await fetch(`${t.url}${location}`, { method: 'DELETE' })).status).toBe(404);
    } finally {
      publisher.stop();
    }
  });

  it('answers bad requests with typed errors and keeps serving', async () => {
    const { t, roomId } = await setup();
    const endpoint = `${t.url}/whep/${roomId}`;
    const { sdp } = await offer();
    const asText = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: sdp,
    });
    expect(asText.status).toBe(415);
    const bad = await post(endpoint, 'v=0\r\nthis is not an offer\r\n');
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe('INVALID_PAYLOAD');
    const huge = await post(endpoint, `v=0\r\n${'a=x\r\n'.repeat(40_000)}`);
    expect(huge.status).toBe(413);
    expect(await errorCode(huge)).toBe('INVALID_PAYLOAD');
    const malformedCode = await post(`${t.url}/whep/12ab56`, sdp);
    expect(malformedCode.status).toBe(400);
    expect((await fetch(endpoint)).status).toBe(405);
    const preflight = await fetch(endpoint, {
      method: 'OPTIONS',
      headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it('PATCH: trickle fragments accepted, wrong ETag and ICE restarts refused', async () => {
    const { t, broadcaster, roomId } = await setup();
    const publisher = publishOnDemand(broadcaster);
    try {
      const { sdp } = await offer();
      const res = await post(`${t.url}/whep/${roomId}`, sdp);
      expect(res.status).toBe(201);
      const location = `${t.url}${res.headers.get('location')}`;
      const etag = res.headers.get('etag')!;
      const ufrag = /a=ice-ufrag:(\S+)/.exec(sdp)![1]!;
      const patch = (body: string, headers: Record<string, string> = {}) =>
        fetch(location, {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ...headers },
          body,
        });
      const fragment = `a=ice-ufrag:${ufrag}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2113937151 198.18.0.9 50000 typ host\r\n`;
      expect((await patch(fragment, { 'If-Match': etag })).status).toBe(204);
      expect((await patch(fragment, { 'If-Match': '"0000000000000000"' })).status).toBe(412);
      const restart = await patch(`a=ice-ufrag:Zzzz\r\na=ice-pwd:${'p'.repeat(24)}\r\n`, {
        'If-Match': '*',
      });
      expect(restart.status).toBe(422);
      expect((await patch('a=candidate:broken', {})).status).toBe(400);
      expect((await patch('x=evil\r\n', {})).status).toBe(400);
      const wrongType = await fetch(location, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/sdp' },
        body: fragment,
      });
      expect(wrongType.status).toBe(415);
    } finally {
      publisher.stop();
    }
  });

  it('failed WHEP requests count like failed joins: the address is then blocked', async () => {
    const { t, roomId } = await setup({ FAILED_JOINS_PER_MIN: '3' }, 'secret');
    const { sdp } = await offer();
    for (let i = 0; i < 3; i++) {
      expect((await post(`${t.url}/whep/${roomId}`, sdp)).status).toBe(404);
    }
    const blocked = await post(`${t.url}/whep/${roomId}`, sdp, { Authorization: 'Bearer secret' });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await errorCode(blocked)).toBe('RATE_LIMITED');
  });
});
