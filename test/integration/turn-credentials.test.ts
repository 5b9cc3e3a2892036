import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreateRoomResult, IceServer, JoinRoomResult } from '../../shared/index';
import { createApp, type App } from '../../server/app';
import { loadConfig } from '../../server/config';
import { createLogger } from '../../server/logger';
import { turnPassword } from '../../server/turn-credentials';
import {
  closeAllClients,
  connectClient,
  emitAck,
  expectOk,
  sleep,
  waitFor,
  type TestSocket,
} from './helpers';

// Random per run: no secret-looking value is committed.
const SECRET = randomBytes(16).toString('hex');
const TTL_S = 900;
const TURN_URLS = ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp'];
const STUN = { urls: ['stun:127.0.0.1:3478'] };

/** Every pino line the server writes, at trace level, via a destination stream. */
const logLines: string[] = [];

/** Every event a socket receives, serialised, so a test can grep the whole conversation. */
function recordEverything(socket: TestSocket): string[] {
  const seen: string[] = [];
  socket.onAny((event: string, ...args: unknown[]) => seen.push(JSON.stringify([event, args])));
  return seen;
}

function turnEntry(servers: IceServer[]): IceServer {
  const entry = servers.find((s) => s.username !== undefined);
  if (!entry) throw new Error(`no TURN entry in ${JSON.stringify(servers)}`);
  return entry;
}

/** The TURN entry is exactly the configured URLs with a valid credential for this socket. */
function expectCredentialFor(servers: IceServer[], socket: TestSocket, before: number): void {
  expect(servers[0]).toEqual(STUN);
  const turn = turnEntry(servers);
  expect(turn.urls).toEqual(TURN_URLS);
  const [expiry, clientId] = String(turn.username).split(':');
  expect(clientId).toBe(socket.id);
  const expiresAtS = Number(expiry);
  expect(expiresAtS).toBeGreaterThanOrEqual(Math.floor(before / 1000) + TTL_S);
  expect(expiresAtS).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + TTL_S);
  expect(turn.credential).toBe(turnPassword(SECRET, String(turn.username)));
}

describe('TURN credentials reach only room members', () => {
  let server: App;
  let url: string;

  beforeAll(async () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'trace',
      CLIENT_DIR: mkdtempSync(path.join(tmpdir(), 'roomcast-client-')),
      STUN_URLS: STUN.urls.join(','),
      TURN_URLS: TURN_URLS.join(','),
      TURN_SECRET: SECRET,
      TURN_TTL_S: String(TTL_S),
    });
    const logger = createLogger('trace', { write: (line: string) => void logLines.push(line) });
    // Someone logging the whole config by mistake must still not leak the secret.
    logger.info({ config }, 'config loaded');
    server = createApp({ config, logger });
    const { port } = await server.listen();
    url = `http://127.0.0.1:${port}`;
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    await server.close();
    // Nothing the server logged, at any level, carries the secret.
    expect(logLines.length).toBeGreaterThan(10);
    const all = logLines.join('');
    expect(all).not.toContain(SECRET);
    expect(all).toContain('[redacted]');
  });

  it('welcome and GET /api/ice-servers carry STUN only', async () => {
    const client = await connectClient(url);
    expect(client.welcome.iceServers).toEqual([STUN]);
    const res = await fetch(`${url}/api/ice-servers`);
    expect(await res.json()).toEqual({ iceServers: [STUN] });
    const health = await (await fetch(`${url}/healthz`)).json();
    expect(health.features.turn).toEqual({ enabled: true, reason: null });
  });

  it('create_room, join_room and reclaim_room acks carry a valid per-socket credential', async () => {
    const before = Date.now();
    const broadcaster = await connectClient(url);
    const created = expectOk(await emitAck<CreateRoomResult>(broadcaster, 'create_room', {}));
    expectCredentialFor(created.iceServers, broadcaster, before);

    const viewer = await connectClient(url);
    const joined = expectOk(
      await emitAck<JoinRoomResult>(viewer, 'join_room', { roomId: created.roomId }),
    );
    expectCredentialFor(joined.iceServers, viewer, before);
    expect(turnEntry(joined.iceServers).username).not.toBe(turnEntry(created.iceServers).username);

    const offline = waitFor(viewer, 'broadcaster_status');
    broadcaster.disconnect();
    await offline;
    const again = await connectClient(url);
    const reclaimed = expectOk(
      await emitAck<CreateRoomResult>(again, 'reclaim_room', {
        roomId: created.roomId,
        broadcasterToken: created.broadcasterToken,
      }),
    );
    expectCredentialFor(reclaimed.iceServers, again, before);
  });

  it('a socket that never joins a room never receives a TURN credential', async () => {
    const outsider = await connectClient(url);
    const heard = recordEverything(outsider);
    heard.push(JSON.stringify(outsider.welcome));

    // A busy room next to it: create, join, chat, leave.
    const broadcaster = await connectClient(url);
    const { roomId } = expectOk(await emitAck<CreateRoomResult>(broadcaster, 'create_room', {}));
    const viewer = await connectClient(url);
    expectOk(await emitAck(viewer, 'join_room', { roomId }));
    expectOk(await emitAck(viewer, 'chat', { text: 'hello' }));

    // Failed attempts by the outsider get errors, never credentials.
    const wrongRoom = roomId === '000000' ? '000001' : '000000';
    const acks = [
      await emitAck(outsider, 'join_room', { roomId: wrongRoom }),
      await emitAck(outsider, 'join_room', { roomId: 'abc' }),
      await emitAck(outsider, 'reclaim_room', { roomId, broadcasterToken: 'x'.repeat(43) }),
    ];
    for (const ack of acks) expect(ack.ok).toBe(false);
    heard.push(...acks.map((a) => JSON.stringify(a)));
    await sleep(100);

    const transcript = heard.join('\n');
    expect(transcript).not.toMatch(/turns?:/);
    expect(transcript).not.toContain('credential');
    expect(transcript).not.toContain('username');
    expect(transcript).not.toContain(SECRET);
  });

  it('the secret never appears in anything a room member receives', async () => {
    const broadcaster = await connectClient(url);
    const heard = recordEverything(broadcaster);
    const created = await emitAck<CreateRoomResult>(broadcaster, 'create_room', {});
    const viewer = await connectClient(url);
    const viewerHeard = recordEverything(viewer);
    const joined = await emitAck<JoinRoomResult>(viewer, 'join_room', {
      roomId: expectOk(created).roomId,
    });
    await sleep(100);
    const transcript = [...heard, ...viewerHeard, JSON.stringify(created), JSON.stringify(joined)];
    expect(transcript.join('\n')).not.toContain(SECRET);
  });
});

describe('TURN credentials stay fresh during long broadcasts', () => {
  let server: App;
  let url: string;
  let clock = Date.now();

  beforeAll(async () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      CLIENT_DIR: mkdtempSync(path.join(tmpdir(), 'roomcast-client-')),
      STUN_URLS: STUN.urls.join(','),
      TURN_URLS: TURN_URLS.join(','),
      TURN_SECRET: SECRET,
      TURN_TTL_S: String(TTL_S),
    });
    server = createApp({ config, logger: createLogger('silent'), now: () => clock });
    const { port } = await server.listen();
    url = `http://127.0.0.1:${port}`;
  });
  afterEach(() => closeAllClients());
  afterAll(() => server.close());

  /** A valid credential for `clientId` that is still good at the server's `clock`. */
  function expectFreshFor(servers: IceServer[] | undefined, clientId: string): void {
    expect(servers?.[0]).toEqual(STUN);
    const turn = turnEntry(servers ?? []);
    expect(turn.urls).toEqual(TURN_URLS);
    const [expiry, id] = String(turn.username).split(':');
    expect(id).toBe(clientId);
    expect(Number(expiry)).toBe(Math.floor(clock / 1000) + TTL_S);
    expect(Number(expiry)).toBeGreaterThan(clock / 1000);
    expect(turn.credential).toBe(turnPassword(SECRET, String(turn.username)));
  }

  it('viewer_joined, offer_requested and the request_offer ack carry newly minted TURN credentials', async () => {
    const broadcaster = await connectClient(url);
    const created = expectOk(await emitAck<CreateRoomResult>(broadcaster, 'create_room', {}));
    const createdExpiry = Number(String(turnEntry(created.iceServers).username).split(':')[0]);

    clock += 2 * TTL_S * 1000; // hours later: the create ack's credential has expired
    expect(createdExpiry).toBeLessThan(clock / 1000);

    const joinedEvent = waitFor(broadcaster, 'viewer_joined');
    const viewer = await connectClient(url);
    expectOk(await emitAck<JoinRoomResult>(viewer, 'join_room', { roomId: created.roomId }));
    const joined = await joinedEvent;
    expect(joined).toMatchObject({ viewerId: viewer.id, mode: 'webrtc' });
    expectFreshFor(joined.iceServers, broadcaster.id!);

    clock += 2 * TTL_S * 1000; // a background retry, later still
    const requested = waitFor(broadcaster, 'offer_requested');
    const ack = expectOk(await emitAck<{ iceServers: IceServer[] }>(viewer, 'request_offer', {}));
    expectFreshFor(ack.iceServers, viewer.id!);
    const offerRequested = await requested;
    expect(offerRequested.viewerId).toBe(viewer.id);
    expectFreshFor(offerRequested.iceServers, broadcaster.id!);
  });
});

describe('TURN disabled', () => {
  it('reports why on /healthz and hands out no TURN entry', async () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      CLIENT_DIR: mkdtempSync(path.join(tmpdir(), 'roomcast-client-')),
      TURN_URLS: TURN_URLS.join(','),
    });
    const server = createApp({ config, logger: createLogger('silent') });
    const { port } = await server.listen();
    const base = `http://127.0.0.1:${port}`;
    try {
      const health = await (await fetch(`${base}/healthz`)).json();
      expect(health.features.turn).toEqual({
        enabled: false,
        reason: 'TURN_SECRET or TURN_SECRET_FILE not set',
      });
      const broadcaster = await connectClient(base);
      const created = expectOk(await emitAck<CreateRoomResult>(broadcaster, 'create_room', {}));
      expect(created.iceServers).toEqual([]);
      const joinedEvent = waitFor(broadcaster, 'viewer_joined');
      const viewer = await connectClient(base);
      expectOk(await emitAck(viewer, 'join_room', { roomId: created.roomId }));
      expect((await joinedEvent).iceServers).toEqual([]);
      const requested = waitFor(broadcaster, 'offer_requested');
      expect(expectOk(await emitAck(viewer, 'request_offer', {}))).toEqual({ iceServers: [] });
      expect((await requested).iceServers).toEqual([]);
    } finally {
      closeAllClients();
      await server.close();
    }
  });
});
