import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreateRoomResult, JoinRoomResult, StatsSummary } from '../../shared/index';
import { freePort } from '../support/free-port';
import { makeRelayFrames } from '../support/media-fixture';
import { publishPaced } from '../support/paced-publisher';
import { startRedis, type RedisServer } from '../support/redis-server';
import { spawnServer, type ServerProcess } from '../support/server-process';
import {
  closeAllClients,
  collect,
  connectClient,
  emitAck,
  expectOk,
  sleep,
  waitFor,
  type TestSocket,
} from './helpers';
import { ChunkSource, collectChunks, sendChunk, subscribe, waitForCount } from './relay-helpers';

/**
 * Two real server processes sharing one real redis-server: a room lives on the node that
 * created it, and a socket on the other node uses it as if it were local.
 */
let redis: RedisServer;
let nodeA: ServerProcess;
let nodeB: ServerProcess;
let urlA: string;
let urlB: string;

async function startNode(env: Record<string, string>): Promise<ServerProcess> {
  const node = await spawnServer(env);
  const url = `http://127.0.0.1:${node.port}`;
  // Ready means joined: the node refuses sockets until its Redis adapter is in place.
  const deadline = Date.now() + 15_000;
  while (
    (await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (Date.now() > deadline) throw new Error(`node not ready\n${node.lines.join('\n')}`);
    await sleep(100);
  }
  return node;
}

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

let clusterEnv: Record<string, string>;
const adminToken = randomBytes(24).toString('base64url');
const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

beforeAll(async () => {
  redis = await startRedis();
  clusterEnv = {
    REDIS_URL: redis.url,
    ROOM_SECRET: randomBytes(24).toString('base64url'),
    RECLAIM_GRACE_S: '30',
    // Lets one test pose as another address (x-forwarded-for) without blocking 127.0.0.1.
    TRUST_PROXY: '1',
    ADMIN_TOKEN: adminToken,
  };
  // Each node writes its own mirrors; node B serves A's by asking A.
  [nodeA, nodeB] = await Promise.all([
    startNode({ ...clusterEnv, HLS_DIR: tempDir('roomcast-hls-a-') }),
    startNode({ ...clusterEnv, HLS_DIR: tempDir('roomcast-hls-b-') }),
  ]);
  urlA = `http://127.0.0.1:${nodeA.port}`;
  urlB = `http://127.0.0.1:${nodeB.port}`;
}, 60_000);

const opened: TestSocket[] = [];

afterEach(() => {
  closeAllClients();
  for (const socket of opened.splice(0)) socket.disconnect();
});

afterAll(async () => {
  nodeA?.kill();
  nodeB?.kill();
  await redis?.stop();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

async function roomOnA() {
  const broadcaster = await connectClient(urlA);
  const created = expectOk(
    await emitAck<CreateRoomResult>(broadcaster, 'create_room', { title: 'cross-node' }),
  );
  return { broadcaster, created };
}

describe('scale-out over Redis', () => {
  it('/readyz reports redis as a critical check that is up', async () => {
    const body = (await (await fetch(`${urlB}/readyz`)).json()) as {
      ready: boolean;
      checks: Record<string, { status: string; critical: boolean; detail?: string }>;
    };
    expect(body.ready).toBe(true);
    expect(body.checks.redis).toMatchObject({ status: 'ok', critical: true });
    expect(body.checks.redis!.detail).toMatch(/^redis \d/);
  });

  it('a viewer on node B joins a room on node A by its code; signals, chat and stats cross', async () => {
    const { broadcaster, created } = await roomOnA();
    const viewer = await connectClient(urlB);
    const joinedSeen = waitFor(broadcaster, 'viewer_joined');
    const joined = expectOk(
      await emitAck<JoinRoomResult>(viewer, 'join_room', { roomId: created.roomId }),
    );
    expect(joined.broadcasterId).toBe(broadcaster.welcome.clientId);
    expect(joined.title).toBe('cross-node');
    expect((await joinedSeen).viewerId).toBe(viewer.welcome.clientId);

    // Signalling both ways: the viewer's offer reaches A's broadcaster, the answer reaches B.
    const atBroadcaster = waitFor(broadcaster, 'signal');
    expectOk(
      await emitAck(viewer, 'signal', {
        to: broadcaster.welcome.clientId,
        description: { type: 'offer', sdp: 'v=0 from B' },
      }),
    );
    expect(await atBroadcaster).toMatchObject({
      from: viewer.welcome.clientId,
      description: { type: 'offer', sdp: 'v=0 from B' },
    });
    const atViewer = waitFor(viewer, 'signal');
    expectOk(
      await emitAck(broadcaster, 'signal', {
        to: viewer.welcome.clientId,
        candidate: { candidate: 'candidate:1 1 udp 1 198.18.0.1 5000 typ host', sdpMid: '0' },
      }),
    );
    expect((await atViewer).from).toBe(broadcaster.welcome.clientId);

    // Chat from B reaches both; the summary (computed on A) reaches B with the viewer counted.
    const chatAtBroadcaster = waitFor(broadcaster, 'chat');
    const chatAtViewer = waitFor(viewer, 'chat');
    expectOk(await emitAck(viewer, 'chat', { text: 'hello from B' }));
    expect((await chatAtBroadcaster).text).toBe('hello from B');
    expect((await chatAtViewer).from).toBe(viewer.welcome.clientId);
    const summary: StatsSummary = await waitFor(viewer, 'stats_summary', 4000, (s) => {
      return s.roomId === created.roomId && s.viewerCount === 1;
    });
    expect(summary.broadcaster.online).toBe(true);
    expect(summary.viewers.map((v) => v.viewerId)).toEqual([viewer.welcome.clientId]);

    // Spoofing still fails across nodes: the viewer is no broadcaster on A either.
    const spoof = await emitAck(viewer, 'egress_set', { hls: true });
    expect(spoof).toMatchObject({ ok: false, error: { code: 'NOT_BROADCASTER' } });

    // Leaving on B is seen on A; ending on A is seen on B.
    const left = waitFor(broadcaster, 'viewer_left');
    expectOk(await emitAck(viewer, 'leave_room', {}));
    expect((await left).viewerId).toBe(viewer.welcome.clientId);
    const viewer2 = await connectClient(urlB);
    expectOk(await emitAck(viewer2, 'join_room', { roomId: created.roomId }));
    const closed = waitFor(viewer2, 'room_closed');
    expectOk(await emitAck(broadcaster, 'leave_room', {}));
    expect(await closed).toMatchObject({ roomId: created.roomId, reason: 'broadcaster_left' });
    // The code is free again: a join by it now fails on either node.
    const again = await connectClient(urlB);
    expect(await emitAck(again, 'join_room', { roomId: created.roomId })).toMatchObject({
      ok: false,
      error: { code: 'ROOM_NOT_FOUND' },
    });
  });

  it('a viewer disconnecting on node B leaves the room on node A', async () => {
    const { broadcaster, created } = await roomOnA();
    const viewer = await connectClient(urlB);
    expectOk(await emitAck(viewer, 'join_room', { roomId: created.roomId }));
    const left = waitFor(broadcaster, 'viewer_left', 4000);
    viewer.disconnect();
    expect((await left).viewerId).toBe(viewer.welcome.clientId);
  });

  it('relay chunks from node A reach relay viewers on node B, byte for byte, GOP first', async () => {
    const { broadcaster, created } = await roomOnA();
    const source = new ChunkSource();
    // Before anyone subscribes: a keyframe and two deltas land in A's GOP cache.
    const early = [source.next('video', { key: true }), source.next('video'), source.next('video')];
    // The hub exists once someone subscribes or a chunk arrives; send after a relay viewer.
    const v1 = await connectClient(urlB);
    const v2 = await connectClient(urlB);
    for (const v of [v1, v2]) {
      expectOk(await emitAck(v, 'join_room', { roomId: created.roomId }));
    }
    const demand = collect(broadcaster, 'relay_demand');
    const got1 = collectChunks(v1);
    await subscribe(v1);
    await until(() => demand.at(-1)?.active === true);
    for (const bytes of early) sendChunk(broadcaster, bytes);
    await waitForCount(got1, 3);
    // A second viewer on B starts from the GOP cache too (B's mirror hub serves it).
    const got2 = collectChunks(v2);
    await subscribe(v2);
    await waitForCount(got2, 3);
    const live = [source.next('audio'), source.next('video'), source.next('audio')];
    for (const bytes of live) sendChunk(broadcaster, bytes);
    await waitForCount(got1, 6);
    await waitForCount(got2, 6);
    const sent = [...early, ...live].map((b) => Buffer.from(b).toString('hex'));
    expect(got1.map((c) => Buffer.from(c.bytes).toString('hex'))).toEqual(sent);
    expect(got2.map((c) => Buffer.from(c.bytes).toString('hex'))).toEqual(sent);
    // A keyframe request from B reaches the broadcaster on A.
    const keyframe = waitFor(broadcaster, 'keyframe_requested', 3000);
    await sleep(1100); // the hub allows one request per second
    v1.emit('keyframe_request', {});
    await keyframe;
    // When both leave the relay, demand stops.
    expectOk(await emitAck(v1, 'relay_unsubscribe', {}));
    expectOk(await emitAck(v2, 'relay_unsubscribe', {}));
    await until(() => demand.at(-1)?.active === false);
  });

  it('a broadcaster reconnecting through node B reclaims its room on node A; viewers stay', async () => {
    const { broadcaster, created } = await roomOnA();
    const viewer = await connectClient(urlA);
    expectOk(await emitAck(viewer, 'join_room', { roomId: created.roomId }));
    const offline = waitFor(viewer, 'broadcaster_status', 3000, (s) => !s.online);
    broadcaster.disconnect();
    await offline;
    const back = await connectClient(urlB);
    const online = waitFor(viewer, 'broadcaster_status', 3000, (s) => s.online);
    const reclaimed = expectOk(
      await emitAck<CreateRoomResult>(back, 'reclaim_room', {
        roomId: created.roomId,
        broadcasterToken: created.broadcasterToken,
      }),
    );
    expect(reclaimed.viewers).toEqual([viewer.welcome.clientId]);
    expect((await online).broadcasterId).toBe(back.welcome.clientId);
    // Its relay chunks are forwarded to A and come back out to A's relay viewer.
    const got = collectChunks(viewer);
    await subscribe(viewer);
    const source = new ChunkSource();
    sendChunk(back, source.next('video', { key: true }));
    sendChunk(back, source.next('video'));
    await waitForCount(got, 2);
  });

  it('two nodes creating rooms at once never hand out one code', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 20 }, (_, i) => connectClient(i % 2 ? urlA : urlB)),
    );
    const created = await Promise.all(
      sockets.map((s) => emitAck<CreateRoomResult>(s, 'create_room', {})),
    );
    const codes = created.map((r) => expectOk(r).roomId);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('an ended room cannot be re-created by its token on the other node', async () => {
    const { broadcaster, created } = await roomOnA();
    expectOk(await emitAck(broadcaster, 'leave_room', {}));
    await sleep(200);
    const elsewhere = await connectClient(urlB);
    expect(
      await emitAck(elsewhere, 'reclaim_room', {
        roomId: created.roomId,
        broadcasterToken: created.broadcasterToken,
      }),
    ).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
  });

  it('listings and the admin API cover every node: a room on A is listed, and closed, through B', async () => {
    const broadcaster = await connectClient(urlA);
    const created = expectOk(
      await emitAck<CreateRoomResult>(broadcaster, 'create_room', {
        title: 'listed on A',
        listed: true,
      }),
    );
    const listed = (await (await fetch(`${urlB}/api/rooms`)).json()) as {
      rooms: Array<{ roomId: string; title: string }>;
    };
    expect(listed.rooms).toContainEqual(
      expect.objectContaining({ roomId: created.roomId, title: 'listed on A' }),
    );
    const auth = { authorization: `Bearer ${adminToken}` };
    const admin = (await (await fetch(`${urlB}/api/admin/rooms`, { headers: auth })).json()) as {
      rooms: Array<{ roomId: string; node: string }>;
    };
    const row = admin.rooms.find((r) => r.roomId === created.roomId);
    expect(row?.node).toMatch(/^[0-9a-f-]{36}$/);
    const closed = waitFor(broadcaster, 'room_closed');
    const response = await fetch(`${urlB}/api/admin/rooms/${created.roomId}/close`, {
      method: 'POST',
      headers: auth,
    });
    expect(response.status).toBe(200);
    expect(await closed).toMatchObject({ roomId: created.roomId, reason: 'closed_by_admin' });
  });

  it("node B serves the HLS mirror of a room on node A (proxied from A's files)", async () => {
    const frames = await makeRelayFrames({ video: 'h264', seconds: 2 });
    const { broadcaster, created } = await roomOnA();
    expectOk(await emitAck(broadcaster, 'egress_set', { hls: true }));
    const publisher = publishPaced(frames, (bytes) => broadcaster.emit('relay_chunk', bytes));
    try {
      const playlistUrl = `${urlB}/hls/${created.roomId}/index.m3u8`;
      let playlist = '';
      const deadline = Date.now() + 20_000;
      while (!/seg-\d+\.ts/.test(playlist)) {
        if (Date.now() > deadline) throw new Error(`no segment listed through B: ${playlist}`);
        await sleep(250);
        const response = await fetch(playlistUrl);
        playlist = response.status === 200 ? await response.text() : '';
        if (response.status === 200) {
          expect(response.headers.get('content-type')).toMatch(/mpegurl/);
          expect(response.headers.get('cache-control')).toBe('no-cache');
          // The mirror is public: players on other origins fetch it through any node.
          expect(response.headers.get('access-control-allow-origin')).toBe('*');
        }
      }
      const segment = /(seg-\d+\.ts)/.exec(playlist)![1]!;
      const response = await fetch(`${urlB}/hls/${created.roomId}/${segment}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('video/mp2t');
      const bytes = new Uint8Array(await response.arrayBuffer());
      // MPEG-TS: 188-byte packets, each starting with the sync byte.
      expect(bytes.length % 188).toBe(0);
      expect(bytes[0]).toBe(0x47);
      expect(bytes[188]).toBe(0x47);
      // The public list on B shows A's mirror.
      const streams = (await (await fetch(`${urlB}/api/streams`)).json()) as {
        streams: Array<{ roomId: string }>;
      };
      expect(streams.streams.map((s) => s.roomId)).toContain(created.roomId);
      // An unknown room is still a JSON 404 through B.
      expect((await fetch(`${urlB}/hls/000002/index.m3u8`)).status).toBe(404);
    } finally {
      publisher.stop();
      expectOk(await emitAck(broadcaster, 'leave_room', {}));
    }
  }, 40_000);

  it('a socket that drops on node A and reconnects to node B keeps its session (Redis Streams adapter)', async () => {
    const socket = ioClient(urlA, {
      transports: ['websocket'],
      reconnectionDelay: 100,
      reconnectionDelayMax: 200,
      forceNew: true,
    }) as TestSocket;
    opened.push(socket);
    const first = await waitFor(socket, 'welcome');
    // Recovery needs at least one packet received after the session started.
    await sleep(300);
    // The next reconnect goes to node B, as a load balancer without stickiness might send it.
    (socket.io as unknown as { uri: string }).uri = urlB;
    const again = waitFor(socket, 'welcome', 5000);
    socket.io.engine.close();
    const second = await again;
    expect(socket.recovered).toBe(true);
    expect(second.clientId).toBe(first.clientId);
    // And it works on B: it can open a room there.
    expectOk(await emitAck<CreateRoomResult>(socket, 'create_room', {}));
  });

  it('failed joins are counted across nodes: the 11th from one address is refused on both', async () => {
    const posing = async (url: string) => {
      const socket = ioClient(url, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        extraHeaders: { 'x-forwarded-for': '198.18.0.77' },
      }) as TestSocket;
      opened.push(socket);
      await waitFor(socket, 'welcome');
      return socket;
    };
    const onA = await posing(urlA);
    const onB = await posing(urlB);
    let notFound = 0;
    for (let i = 0; i < 30; i++) {
      const result = await emitAck(i % 2 ? onA : onB, 'join_room', { roomId: '000001' });
      if (result.ok) throw new Error('room 000001 should not exist');
      if (result.error.code === 'RATE_LIMITED') break;
      notFound += 1;
    }
    // Per-process counting would allow 10 on each node (20).
    expect(notFound).toBe(10);
    for (const socket of [onA, onB]) {
      expect(await emitAck(socket, 'join_room', { roomId: '000001' })).toMatchObject({
        ok: false,
        error: { code: 'RATE_LIMITED' },
      });
    }
  });

  it('a node whose Redis is unreachable stays up, reports not ready, refuses sockets and never logs the password', async () => {
    const password = randomBytes(12).toString('hex');
    const deadPort = await freePort();
    const node = await spawnServer({
      ...clusterEnv,
      REDIS_URL: `redis://:${password}@127.0.0.1:${deadPort}`,
    });
    try {
      const url = `http://127.0.0.1:${node.port}`;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { checks: Record<string, { status: string }> };
      expect(body.checks.redis).toMatchObject({ status: 'down', critical: true });
      const socket = ioClient(url, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
      });
      opened.push(socket as TestSocket);
      const refused = await new Promise<string>((resolve) =>
        socket.once('connect_error', (err) => resolve(err.message)),
      );
      expect(refused).toBeTruthy();
      expect(node.lines.join('\n')).toContain('redis unreachable');
      expect(node.lines.join('\n')).not.toContain(password);
    } finally {
      node.kill();
    }
  }, 40_000);

  // Last: it kills node A.
  it("when the room's node dies, the broadcaster re-creates it on node B and the viewer there rejoins", async () => {
    const { created } = await roomOnA();
    const viewer = await connectClient(urlB);
    expectOk(await emitAck(viewer, 'join_room', { roomId: created.roomId }));
    const closed = waitFor(viewer, 'room_closed', 20_000);
    nodeA.kill();
    // Node B notices A's heartbeat is gone and tells its sockets, as a restart would.
    expect(await closed).toMatchObject({ roomId: created.roomId, reason: 'server_shutdown' });
    // The broadcaster's reconnect lands on B (as nginx would send it) and reclaims.
    const back = await connectClient(urlB);
    let reclaimed: CreateRoomResult | null = null;
    const deadline = Date.now() + 20_000;
    while (!reclaimed) {
      const result = await emitAck<CreateRoomResult>(
        back,
        'reclaim_room',
        { roomId: created.roomId, broadcasterToken: created.broadcasterToken },
        8000,
      );
      if (result.ok) reclaimed = result.data;
      else if (result.error.code !== 'SERVER_BUSY' || Date.now() > deadline) {
        throw new Error(`reclaim refused: ${result.error.code}`);
      } else await sleep(500);
    }
    expect(reclaimed.roomId).toBe(created.roomId);
    const joined = expectOk(
      await emitAck<JoinRoomResult>(viewer, 'join_room', { roomId: created.roomId }),
    );
    expect(joined.broadcasterId).toBe(back.welcome.clientId);
  }, 60_000);
});
