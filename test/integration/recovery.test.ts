import { randomBytes } from 'node:crypto';
import { io as ioClient } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreateRoomResult, JoinRoomResult, Welcome } from '../../shared/index';
import { spawnServer, type ServerProcess } from '../support/server-process';
import {
  closeAllClients,
  collect,
  connectClient,
  emitAck,
  expectOk,
  startServer,
  waitFor,
  type TestServer,
  type TestSocket,
} from './helpers';
import { freePort } from '../support/free-port';

const reconnecting: TestSocket[] = [];

/** A client that reconnects by itself, as the app's SignallingClient does. */
async function connectReconnecting(url: string): Promise<TestSocket & { welcome: Welcome }> {
  const socket = ioClient(url, {
    transports: ['websocket'],
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    forceNew: true,
    timeout: 5000,
  }) as TestSocket;
  reconnecting.push(socket);
  const welcome = await waitFor(socket, 'welcome');
  return Object.assign(socket, { welcome });
}

/** Cuts the transport under the socket (a network drop); the client then reconnects. */
async function dropAndReconnect(socket: TestSocket): Promise<Welcome> {
  const welcome = waitFor(socket, 'welcome', 5000);
  socket.io.engine.close();
  return welcome;
}

function closeReconnecting(): void {
  for (const socket of reconnecting.splice(0)) socket.disconnect();
}

describe('recovery: Socket.IO connection-state recovery', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterEach(() => {
    closeAllClients();
    closeReconnecting();
  });
  afterAll(() => t.close());

  it('a viewer whose socket drops is recovered under its id and rejoins the room', async () => {
    const broadcaster = await connectClient(t.url);
    const { roomId } = expectOk(await emitAck<CreateRoomResult>(broadcaster, 'create_room', {}));
    const viewer = await connectReconnecting(t.url);
    expectOk(await emitAck(viewer, 'join_room', { roomId }));
    const firstId = viewer.id;

    const left = waitFor(broadcaster, 'viewer_left', 5000);
    const welcome = await dropAndReconnect(viewer);
    expect(viewer.recovered).toBe(true);
    expect(welcome.clientId).toBe(firstId);
    // The registry dropped the viewer when the socket went, so the broadcaster heard it leave.
    expect(await left).toEqual({ viewerId: firstId });
    expect(t.server.registry.membershipOf(firstId!)).toBeUndefined();

    // The recovered socket left the room's broadcasts until it rejoins.
    const chatBeforeRejoin = collect(viewer, 'chat');
    expectOk(await emitAck(broadcaster, 'chat', { text: 'not for you yet' }));
    const joined = waitFor(broadcaster, 'viewer_joined', 3000);
    const join = expectOk(await emitAck<JoinRoomResult>(viewer, 'join_room', { roomId }));
    expect(join.roomId).toBe(roomId);
    expect((await joined).viewerId).toBe(firstId);
    expect(chatBeforeRejoin).toEqual([]);
    expect(t.server.registry.membershipOf(firstId!)?.role).toBe('viewer');
  });

  it('a recovered broadcaster reclaims its room and viewers hear it is back online', async () => {
    const broadcaster = await connectReconnecting(t.url);
    const created = expectOk(await emitAck<CreateRoomResult>(broadcaster, 'create_room', {}));
    const viewer = await connectClient(t.url);
    expectOk(await emitAck(viewer, 'join_room', { roomId: created.roomId }));
    const statuses = collect(viewer, 'broadcaster_status');
    const firstId = broadcaster.id;

    const welcome = await dropAndReconnect(broadcaster);
    expect(broadcaster.recovered).toBe(true);
    expect(welcome.clientId).toBe(firstId);
    await expect.poll(() => statuses.map((s) => s.online)).toEqual([false]);

    const back = waitFor(viewer, 'broadcaster_status', 3000, (s) => s.online);
    const reclaimed = expectOk(
      await emitAck<CreateRoomResult>(broadcaster, 'reclaim_room', {
        roomId: created.roomId,
        broadcasterToken: created.broadcasterToken,
      }),
    );
    expect(reclaimed.viewers).toEqual([viewer.id]);
    // Same socket id, but viewers must still learn the seat is live again (new peer connections).
    expect(await back).toEqual({
      roomId: created.roomId,
      broadcasterId: broadcaster.id,
      online: true,
    });
    expect(t.server.registry.getRoom(created.roomId as never)?.broadcasterOnline).toBe(true);
  });
});

describe('recovery: server restart', () => {
  const env = { ROOM_SECRET: randomBytes(16).toString('hex') };
  // Every process spawned, so a timed-out test still kills the ones it started late.
  const spawned: ServerProcess[] = [];
  const spawn = async (extra: Record<string, string>) => {
    const started = await spawnServer({ ...env, ...extra });
    spawned.push(started);
    return started;
  };
  afterEach(() => {
    closeAllClients();
    closeReconnecting();
    for (const started of spawned.splice(0)) started.kill();
  });
  afterAll(() => {
    for (const started of spawned.splice(0)) started.kill();
  });

  it('after a kill and restart on the same port the broadcaster reclaims its code and a viewer rejoins', async () => {
    const port = await freePort();
    const first = await spawn({ PORT: String(port) });
    const url = `http://127.0.0.1:${port}`;
    const broadcaster = await connectReconnecting(url);
    const created = expectOk(
      await emitAck<CreateRoomResult>(broadcaster, 'create_room', { listed: true }),
    );
    const viewer = await connectReconnecting(url);
    expectOk(await emitAck(viewer, 'join_room', { roomId: created.roomId }));

    const broadcasterBack = waitFor(broadcaster, 'welcome', 20_000);
    const viewerBack = waitFor(viewer, 'welcome', 20_000);
    first.kill();
    await first.exited;
    await spawn({ PORT: String(port) });
    await Promise.all([broadcasterBack, viewerBack]);
    expect(broadcaster.recovered).toBe(false);

    // The viewer may come back first: the room is not there until the broadcaster reclaims it.
    const early = await emitAck(viewer, 'join_room', { roomId: created.roomId });
    expect(early).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
    const reclaimed = expectOk(
      await emitAck<CreateRoomResult>(broadcaster, 'reclaim_room', {
        roomId: created.roomId,
        broadcasterToken: created.broadcasterToken,
        // The page resends its settings, so a re-created room is listed again.
        listed: true,
      }),
    );
    expect(reclaimed.roomId).toBe(created.roomId);
    const joined = waitFor(broadcaster, 'viewer_joined', 3000);
    const join = expectOk(
      await emitAck<JoinRoomResult>(viewer, 'join_room', { roomId: created.roomId }),
    );
    expect(join.broadcasterId).toBe(broadcaster.id);
    expect((await joined).viewerId).toBe(viewer.id);
    const rooms = (await (await fetch(`${url}/api/rooms`)).json()) as {
      rooms: Array<{ roomId: string }>;
    };
    expect(rooms.rooms.map((r) => r.roomId)).toContain(created.roomId);
  }, 60_000);
});
