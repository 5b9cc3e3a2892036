import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeRelayFrame,
  ERROR_MESSAGES,
  type CreateRoomResult,
  type JoinRoomResult,
} from '../../shared/index';
import { closeAccessClients, connectFrom, connectRefused } from './access-helpers';
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
} from './helpers';

const BROADCAST_TOKEN = randomBytes(16).toString('hex');
const ADMIN_TOKEN = randomBytes(16).toString('hex');

afterEach(() => {
  closeAllClients();
  closeAccessClients();
});

/** A six-digit code no room has (the test servers hold only a handful of rooms). */
function missingCode(t: TestServer, seed: number): string {
  for (let n = seed; ; n = (n + 7919) % 1_000_000) {
    const code = String(n).padStart(6, '0');
    if (!t.server.registry.getRoom(code as never)) return code;
  }
}

describe('BROADCAST_TOKEN', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ BROADCAST_TOKEN });
  });
  afterAll(() => t.close());

  it('refuses create_room without the handshake token and says one is required', async () => {
    const anonymous = await connectFrom(t.url);
    expect(anonymous.welcome.broadcastTokenRequired).toBe(true);
    const refused = await emitAck(anonymous, 'create_room', {});
    expect(refused).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    const wrong = await connectFrom(t.url, { auth: { token: `${BROADCAST_TOKEN}x` } });
    expect(await emitAck(wrong, 'create_room', {})).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED' },
    });
  });

  it('lets a broadcaster with the token go live, and anyone join', async () => {
    const broadcaster = await connectFrom(t.url, { auth: { token: BROADCAST_TOKEN } });
    const created = expectOk(await emitAck<CreateRoomResult>(broadcaster, 'create_room', {}));
    const viewer = await connectFrom(t.url);
    expectOk(await emitAck(viewer, 'join_room', { roomId: created.roomId }));
    const health = await (await fetch(`${t.url}/healthz`)).json();
    expect(health.broadcastTokenRequired).toBe(true);
  });

  it('is not required when unset', async () => {
    const open = await startServer();
    try {
      const client = await connectFrom(open.url);
      expect(client.welcome.broadcastTokenRequired).toBe(false);
      expectOk(await emitAck(client, 'create_room', {}));
    } finally {
      await open.close();
    }
  });
});

describe('room passwords', () => {
  let t: TestServer;
  beforeAll(async () => {
    // Many deliberate misses below: keep the failed-join limit out of the way here.
    t = await startServer({ FAILED_JOINS_PER_MIN: '100000' });
  });
  afterAll(() => t.close());

  it('admits the right password only; a wrong or missing one reads exactly like no room', async () => {
    const broadcaster = await connectClient(t.url);
    const { roomId } = expectOk(
      await emitAck<CreateRoomResult>(broadcaster, 'create_room', { password: 'correct horse' }),
    );
    const viewer = await connectClient(t.url);
    const missingRoom = await emitAck(viewer, 'join_room', { roomId: missingCode(t, 1) });
    const noPassword = await emitAck(viewer, 'join_room', { roomId });
    const wrongPassword = await emitAck(viewer, 'join_room', { roomId, password: 'battery' });
    const expected = {
      ok: false,
      error: { code: 'ROOM_NOT_FOUND', message: ERROR_MESSAGES.ROOM_NOT_FOUND },
    };
    expect(missingRoom).toEqual(expected);
    expect(noPassword).toEqual(expected);
    expect(wrongPassword).toEqual(expected);
    const joined = expectOk(
      await emitAck<JoinRoomResult>(viewer, 'join_room', { roomId, password: 'correct horse' }),
    );
    expect(joined.roomId).toBe(roomId);
  });

  it('takes as long to refuse a wrong password as a missing room (medians within noise)', async () => {
    const broadcaster = await connectClient(t.url);
    const { roomId } = expectOk(
      await emitAck<CreateRoomResult>(broadcaster, 'create_room', { password: 'secret' }),
    );
    const viewer = await connectClient(t.url);
    const timeJoin = async (payload: object) => {
      const started = performance.now();
      const result = await emitAck(viewer, 'join_room', payload);
      expect(result).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
      return performance.now() - started;
    };
    const wrong: number[] = [];
    const missing: number[] = [];
    const open = await roomWithViewers(t.url, 0);
    const openRoom: number[] = [];
    // Interleaved, so drift in machine load hits both samples alike. The per-socket request
    // bucket (20 burst, 5/s) sets the pace.
    for (let i = 0; i < 24; i++) {
      wrong.push(await timeJoin({ roomId, password: `guess-${i}` }));
      missing.push(await timeJoin({ roomId: missingCode(t, 1000 + i * 31), password: `g${i}` }));
      await sleep(250);
    }
    for (let i = 0; i < 5; i++) {
      const probe = await connectClient(t.url);
      const started = performance.now();
      expectOk(await emitAck(probe, 'join_room', { roomId: open.roomId }));
      openRoom.push(performance.now() - started);
      probe.disconnect();
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const [mWrong, mMissing] = [median(wrong), median(missing)];
    // Both run one scrypt (tens of ms): the medians agree to within a few ms or 25 %.
    expect(Math.abs(mWrong - mMissing)).toBeLessThan(
      Math.max(5, 0.25 * Math.max(mWrong, mMissing)),
    );
    // …and that work is really done: a join with no password to check is clearly faster.
    expect(median(openRoom)).toBeLessThan(Math.min(mWrong, mMissing));
  }, 60_000);
});

describe('room enumeration', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(); // default: 10 failed joins per minute per IP
  });
  afterAll(() => t.close());

  it('answers the 11th failed join from one IP with RATE_LIMITED; another IP still joins', async () => {
    const { roomId } = await roomWithViewers(t.url, 0);
    const prober = await connectFrom(t.url, { localAddress: '127.0.0.2' });
    for (let i = 0; i < 10; i++) {
      const result = await emitAck(prober, 'join_room', { roomId: missingCode(t, 500 + i) });
      expect(result).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
    }
    const eleventh = await emitAck<never>(prober, 'join_room', { roomId: missingCode(t, 900) });
    expect(eleventh).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    expect(!eleventh.ok && eleventh.error.message).toMatch(/Retry after \d+ s\./);
    // Blocked means blocked: a live code answers the same, so the block leaks nothing.
    const probeLive = await emitAck(prober, 'join_room', { roomId });
    expect(probeLive).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    // A new socket from the same address is still that address.
    const sameIp = await connectFrom(t.url, { localAddress: '127.0.0.2' });
    expect(await emitAck(sameIp, 'join_room', { roomId })).toMatchObject({
      ok: false,
      error: { code: 'RATE_LIMITED' },
    });
    // Someone else is not locked out.
    const fresh = await connectFrom(t.url, { localAddress: '127.0.0.3' });
    expect(expectOk(await emitAck<JoinRoomResult>(fresh, 'join_room', { roomId })).roomId).toBe(
      roomId,
    );
  }, 20_000);

  it('counts reclaim_room probes (live code: UNAUTHORIZED, else ROOM_NOT_FOUND) in the same budget', async () => {
    const { roomId } = await roomWithViewers(t.url, 0);
    const prober = await connectFrom(t.url, { localAddress: '127.0.0.6' });
    const token = 'x'.repeat(43);
    for (let i = 0; i < 5; i++) {
      expect(
        await emitAck(prober, 'reclaim_room', { roomId, broadcasterToken: token }),
      ).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
      expect(await emitAck(prober, 'join_room', { roomId: missingCode(t, 700 + i) })).toMatchObject(
        { ok: false, error: { code: 'ROOM_NOT_FOUND' } },
      );
    }
    expect(
      await emitAck(prober, 'reclaim_room', { roomId, broadcasterToken: token }),
    ).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    expect(await emitAck(prober, 'join_room', { roomId })).toMatchObject({
      ok: false,
      error: { code: 'RATE_LIMITED' },
    });
  });

  it('limits create_room per IP', async () => {
    const limited = await startServer({ CREATE_ROOMS_PER_MIN: '2' });
    try {
      for (let i = 0; i < 2; i++) {
        const b = await connectFrom(limited.url, { localAddress: '127.0.0.4' });
        expectOk(await emitAck(b, 'create_room', {}));
      }
      const third = await connectFrom(limited.url, { localAddress: '127.0.0.4' });
      expect(await emitAck(third, 'create_room', {})).toMatchObject({
        ok: false,
        error: { code: 'RATE_LIMITED' },
      });
      const other = await connectFrom(limited.url, { localAddress: '127.0.0.5' });
      expectOk(await emitAck(other, 'create_room', {}));
    } finally {
      await limited.close();
    }
  });

  it('limits the REST API per IP with a 429 JSON error', async () => {
    const limited = await startServer({ API_REQUESTS_PER_MIN: '3' });
    try {
      for (let i = 0; i < 3; i++) {
        expect((await fetch(`${limited.url}/api/rooms`)).status).toBe(200);
      }
      const res = await fetch(`${limited.url}/api/rooms`);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await res.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    } finally {
      await limited.close();
    }
  });
});

describe('admin API', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ ADMIN_TOKEN });
  });
  afterAll(() => t.close());
  const admin = (path: string, init: RequestInit = {}, token = ADMIN_TOKEN) =>
    fetch(`${t.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
    });

  it('answers 404 when ADMIN_TOKEN is not configured', async () => {
    const bare = await startServer();
    try {
      const res = await fetch(`${bare.url}/api/admin/rooms`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(res.status).toBe(404);
    } finally {
      await bare.close();
    }
  });

  it('refuses a missing or wrong bearer token', async () => {
    expect((await fetch(`${t.url}/api/admin/rooms`)).status).toBe(401);
    expect((await admin('/api/admin/rooms', {}, `${ADMIN_TOKEN}x`)).status).toBe(401);
    expect((await admin('/api/admin/rooms/123456/close', { method: 'POST' }, 'nope')).status).toBe(
      401,
    );
  });

  it('lists every room, unlisted and password ones too, with viewer counts', async () => {
    // roomWithViewers joins without the password: its viewer joins by hand.
    const room = await roomWithViewers(t.url, 0, { title: 'Hidden', password: 'pw' });
    const v = await connectClient(t.url);
    expectOk(await emitAck(v, 'join_room', { roomId: room.roomId, password: 'pw' }));
    const body = await (await admin('/api/admin/rooms')).json();
    expect(body.rooms).toContainEqual(
      expect.objectContaining({
        roomId: room.roomId,
        title: 'Hidden',
        listed: false,
        passwordProtected: true,
        broadcasterOnline: true,
        viewerCount: 1,
        modeCounts: { webrtc: 1, relay: 0, sfu: 0 },
        relaySubscribers: 0,
      }),
    );
  });

  it('closes a room: everyone gets room_closed closed_by_admin, and its token cannot revive it', async () => {
    const room = await roomWithViewers(t.url, 2);
    const toViewers = room.viewers.map((v) => waitFor(v, 'room_closed'));
    const toBroadcaster = waitFor(room.broadcaster, 'room_closed');
    const res = await admin(`/api/admin/rooms/${room.roomId}/close`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ roomId: room.roomId, closed: true });
    for (const closed of [...(await Promise.all(toViewers)), await toBroadcaster]) {
      expect(closed).toEqual({ roomId: room.roomId, reason: 'closed_by_admin' });
    }
    expect(t.server.registry.getRoom(room.roomId as never)).toBeUndefined();
    expect(
      await emitAck(room.broadcaster, 'reclaim_room', {
        roomId: room.roomId,
        broadcasterToken: room.token,
      }),
    ).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
    const again = await admin(`/api/admin/rooms/${room.roomId}/close`, { method: 'POST' });
    expect(again.status).toBe(404);
    expect((await admin('/api/admin/rooms/12345x/close', { method: 'POST' })).status).toBe(400);
  });
});

describe('spoofing', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ ADMIN_TOKEN });
  });
  afterAll(() => t.close());

  it('a viewer cannot act as the broadcaster, close the room, push relay media or reach other rooms', async () => {
    const a = await roomWithViewers(t.url, 1);
    const b = await roomWithViewers(t.url, 1);
    const viewer = a.viewers[0]!;
    const protocolErrors = collect(viewer, 'protocol_error');
    const otherRoomChat = collect(b.viewers[0]!, 'chat');
    const otherSignals = collect(b.broadcaster, 'signal');
    const relayAtB = collect(b.viewers[0]!, 'relay_chunk');

    // Broadcaster-only reports and media.
    expect(
      await emitAck(viewer, 'stats', { role: 'broadcaster', totalUploadKbps: 1, peers: [] }),
    ).toMatchObject({ ok: false, error: { code: 'NOT_BROADCASTER' } });
    const frame = encodeRelayFrame({
      track: 'video',
      keyframe: true,
      seq: 1,
      timestampUs: 0,
      durationUs: 33_000,
      config: { codec: 'vp8' },
      data: new Uint8Array(100),
    });
    expect(await emitAck(viewer, 'relay_chunk', frame)).toMatchObject({
      ok: false,
      error: { code: 'NOT_BROADCASTER' },
    });
    // Taking a broadcaster seat: a guessed token, or another room's real token.
    expect(
      await emitAck(viewer, 'reclaim_room', { roomId: a.roomId, broadcasterToken: 'x'.repeat(43) }),
    ).toMatchObject({ ok: false });
    const intruder = await connectClient(t.url);
    expect(
      await emitAck(intruder, 'reclaim_room', { roomId: a.roomId, broadcasterToken: b.token }),
    ).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    // A token whose payload was edited to name room A keeps B's signature: refused.
    const [payloadB, macB] = b.token.split('.') as [string, string];
    const edited = JSON.parse(Buffer.from(payloadB, 'base64url').toString('utf8'));
    edited.room = a.roomId;
    const forged = `${Buffer.from(JSON.stringify(edited)).toString('base64url')}.${macB}`;
    expect(
      await emitAck(intruder, 'reclaim_room', { roomId: a.roomId, broadcasterToken: forged }),
    ).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    // Closing the room: leave_room from a viewer only takes the viewer out.
    const viewerLeft = waitFor(a.broadcaster, 'viewer_left');
    expectOk(await emitAck(viewer, 'leave_room', {}));
    expect(await viewerLeft).toEqual({ viewerId: viewer.id });
    expect(t.server.registry.getRoom(a.roomId as never)?.broadcasterOnline).toBe(true);
    expectOk(await emitAck(viewer, 'join_room', { roomId: a.roomId }));
    // …and the admin API without the admin token is 401.
    expect(
      (await fetch(`${t.url}/api/admin/rooms/${a.roomId}/close`, { method: 'POST' })).status,
    ).toBe(401);
    // Other rooms: no signals to their peers, no second room, chat stays home.
    expect(
      await emitAck(viewer, 'signal', { to: b.broadcaster.id!, candidate: null }),
    ).toMatchObject({ ok: false, error: { code: 'PEER_NOT_FOUND' } });
    expect(await emitAck(viewer, 'join_room', { roomId: b.roomId })).toMatchObject({
      ok: false,
      error: { code: 'ALREADY_IN_ROOM' },
    });
    expectOk(await emitAck(viewer, 'chat', { text: 'hello room A' }));
    await sleep(200);
    expect(otherRoomChat).toEqual([]);
    expect(otherSignals).toEqual([]);
    expect(relayAtB).toEqual([]);
    expect(protocolErrors).toEqual([]);
    // Both rooms still run.
    expect(t.server.registry.getRoom(a.roomId as never)?.broadcasterId).toBe(a.broadcaster.id);
    expect(t.server.registry.getRoom(b.roomId as never)?.broadcasterId).toBe(b.broadcaster.id);
  });
});

describe('reclaim after a server restart (signed tokens)', () => {
  const ROOM_SECRET = randomBytes(16).toString('hex');

  it('a second server with the same ROOM_SECRET gives the broadcaster its code back', async () => {
    const first = await startServer({ ROOM_SECRET });
    const broadcaster = await connectClient(first.url);
    const created = expectOk(
      await emitAck<CreateRoomResult>(broadcaster, 'create_room', {
        title: 'Before',
        password: 'pw',
      }),
    );
    await first.close();

    const second = await startServer({ ROOM_SECRET });
    const wrongSecret = await startServer({ ROOM_SECRET: `${ROOM_SECRET}-other` });
    try {
      const back = await connectClient(second.url);
      const reclaimed = expectOk(
        await emitAck<CreateRoomResult>(back, 'reclaim_room', {
          roomId: created.roomId,
          broadcasterToken: created.broadcasterToken,
          title: 'After',
          password: 'pw',
        }),
      );
      expect(reclaimed).toMatchObject({ roomId: created.roomId, viewers: [], relayViewers: [] });
      const viewer = await connectClient(second.url);
      const joined = expectOk(
        await emitAck<JoinRoomResult>(viewer, 'join_room', {
          roomId: created.roomId,
          password: 'pw',
        }),
      );
      expect(joined).toMatchObject({ broadcasterId: back.id, title: 'After' });
      const signal = waitFor(back, 'signal');
      viewer.emit('signal', { to: back.id!, candidate: null });
      expect(await signal).toEqual({ from: viewer.id, candidate: null });

      const elsewhere = await connectClient(wrongSecret.url);
      expect(
        await emitAck(elsewhere, 'reclaim_room', {
          roomId: created.roomId,
          broadcasterToken: created.broadcasterToken,
        }),
      ).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
    } finally {
      await second.close();
      await wrongSecret.close();
    }
  });
});

describe('security headers and origins', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ ALLOWED_ORIGINS: 'https://allowed.example' });
  });
  afterAll(() => t.close());

  it('sends a CSP limited to our origin plus blob:/mediastream: media, and nosniff', async () => {
    for (const path of ['/', '/api/rooms', '/healthz']) {
      const res = await fetch(`${t.url}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self' blob:");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("media-src 'self' blob: mediastream:");
      expect(csp).toContain("img-src 'self' data: blob:");
      expect(csp).toContain("worker-src 'self' blob:");
      expect(csp).not.toContain('upgrade-insecure-requests');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('answers CORS for ALLOWED_ORIGINS and same-origin only; other origins get 403', async () => {
    const allowed = await fetch(`${t.url}/api/rooms`, {
      headers: { origin: 'https://allowed.example' },
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://allowed.example');
    const same = await fetch(`${t.url}/api/rooms`, { headers: { origin: t.url } });
    expect(same.status).toBe(200);
    const foreign = await fetch(`${t.url}/api/rooms`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a Socket.IO handshake from a foreign origin', async () => {
    expect(await connectRefused(t.url, { origin: 'https://evil.example' })).toBe('refused');
    expect(await connectRefused(t.url, { origin: 'https://allowed.example' })).toBe('connected');
    expect(await connectRefused(t.url, { origin: t.url })).toBe('connected');
  });
});
