import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreateRoomResult, JoinRoomResult } from '../../shared/index';
import {
  closeAllClients,
  collect,
  connectClient,
  emitAck,
  expectOk,
  ManualTimers,
  roomWithViewers,
  sleep,
  startServer,
  waitFor,
  type TestServer,
} from './helpers';

describe('rooms: create, join, leave, reclaim', () => {
  let t: TestServer;
  const timers = new ManualTimers();
  beforeAll(async () => {
    t = await startServer({ MAX_VIEWERS_PER_ROOM: '2' }, { timers });
  });
  afterEach(() => closeAllClients());
  afterAll(() => t.close());

  it('sends welcome with the client id and protocol version on connect', async () => {
    const client = await connectClient(t.url);
    expect(client.welcome).toEqual({
      clientId: client.id,
      protocolVersion: 1,
      iceServers: [],
      broadcastTokenRequired: false,
    });
  });

  it('creates a room and lets a viewer join; the broadcaster hears viewer_joined', async () => {
    const broadcaster = await connectClient(t.url);
    const created = expectOk(
      await emitAck<CreateRoomResult>(broadcaster, 'create_room', { title: 'Demo', listed: true }),
    );
    expect(created.roomId).toMatch(/^\d{6}$/);
    expect(created.broadcasterToken.length).toBeGreaterThanOrEqual(43);
    expect(created.viewers).toEqual([]);

    const viewer = await connectClient(t.url);
    const joined = waitFor(broadcaster, 'viewer_joined');
    const join = expectOk(
      await emitAck<JoinRoomResult>(viewer, 'join_room', { roomId: created.roomId }),
    );
    expect(join).toEqual({
      roomId: created.roomId,
      broadcasterId: broadcaster.id,
      broadcasterOnline: true,
      title: 'Demo',
      iceServers: [],
      mode: 'webrtc',
      modeReason: null,
      relayAvailable: true,
      hlsMirror: false,
      ladder: { mediaTimeoutMs: 8000, retryIntervalMs: 30_000 },
    });
    expect(await joined).toEqual({ viewerId: viewer.id, mode: 'webrtc', iceServers: [] });

    // Joining the same room again is idempotent and does not re-announce.
    const announcements = collect(broadcaster, 'viewer_joined');
    expect((await emitAck(viewer, 'join_room', { roomId: created.roomId })).ok).toBe(true);
    await sleep(100);
    expect(announcements).toEqual([]);

    const left = waitFor(broadcaster, 'viewer_left');
    expect(await emitAck(viewer, 'leave_room', {})).toEqual({ ok: true, data: null });
    expect(await left).toEqual({ viewerId: viewer.id });
    expect(await emitAck(viewer, 'leave_room')).toMatchObject({
      ok: false,
      error: { code: 'NOT_IN_ROOM' },
    });
  });

  it('refuses a second room per socket and unknown rooms', async () => {
    const { broadcaster, viewers, roomId } = await roomWithViewers(t.url, 1);
    expect(await emitAck(broadcaster, 'create_room', {})).toMatchObject({
      error: { code: 'ALREADY_IN_ROOM' },
    });
    const other = await roomWithViewers(t.url, 0);
    expect(await emitAck(viewers[0]!, 'join_room', { roomId: other.roomId })).toMatchObject({
      error: { code: 'ALREADY_IN_ROOM' },
    });
    const stranger = await connectClient(t.url);
    const missing = roomId === '000000' ? '000001' : '000000';
    expect(await emitAck(stranger, 'join_room', { roomId: missing })).toMatchObject({
      ok: false,
      error: { code: 'ROOM_NOT_FOUND' },
    });
  });

  it('answers ROOM_FULL past MAX_VIEWERS_PER_ROOM', async () => {
    const { roomId } = await roomWithViewers(t.url, 2);
    const third = await connectClient(t.url);
    expect(await emitAck(third, 'join_room', { roomId })).toMatchObject({
      ok: false,
      error: { code: 'ROOM_FULL' },
    });
  });

  it('sends room_closed to viewers when the broadcaster leaves', async () => {
    const { broadcaster, viewers, roomId } = await roomWithViewers(t.url, 2);
    const closed = viewers.map((v) => waitFor(v, 'room_closed'));
    const broadcasterSaw = collect(broadcaster, 'room_closed');
    expectOk(await emitAck(broadcaster, 'leave_room', {}));
    for (const c of closed) expect(await c).toEqual({ roomId, reason: 'broadcaster_left' });
    expect(broadcasterSaw).toEqual([]);
    const late = await connectClient(t.url);
    expect(await emitAck(late, 'join_room', { roomId })).toMatchObject({
      error: { code: 'ROOM_NOT_FOUND' },
    });
    // Viewers of a closed room are free to join another.
    const next = await roomWithViewers(t.url, 0);
    expect((await emitAck(viewers[0]!, 'join_room', { roomId: next.roomId })).ok).toBe(true);
  });

  it('lets the broadcaster reclaim within the grace period; viewers stay', async () => {
    const { broadcaster, viewers, roomId, token } = await roomWithViewers(t.url, 2);
    const offline = waitFor(viewers[0]!, 'broadcaster_status');
    const oldId = broadcaster.id;
    broadcaster.disconnect();
    expect(await offline).toEqual({ roomId, broadcasterId: oldId, online: false });

    const intruder = await connectClient(t.url);
    expect(
      await emitAck(intruder, 'reclaim_room', { roomId, broadcasterToken: 'x'.repeat(43) }),
    ).toMatchObject({
      error: { code: 'UNAUTHORIZED' },
    });

    const again = await connectClient(t.url);
    const online = waitFor(viewers[1]!, 'broadcaster_status', 3000, (s) => s.online);
    const reclaimed = expectOk(
      await emitAck<CreateRoomResult>(again, 'reclaim_room', { roomId, broadcasterToken: token }),
    );
    expect(reclaimed.roomId).toBe(roomId);
    expect(reclaimed.viewers.sort()).toEqual(viewers.map((v) => v.id).sort());
    expect(await online).toEqual({ roomId, broadcasterId: again.id, online: true });
    timers.fireAll(); // the cancelled grace timer must not close the room
    expectOk(await emitAck(viewers[0]!, 'leave_room', {}));
    const joiner = await connectClient(t.url);
    expect(
      expectOk(await emitAck<JoinRoomResult>(joiner, 'join_room', { roomId })).broadcasterId,
    ).toBe(again.id);
  });

  it('closes the room with grace_expired when nobody reclaims it', async () => {
    const { broadcaster, viewers, roomId, token } = await roomWithViewers(t.url, 1);
    const offline = waitFor(viewers[0]!, 'broadcaster_status');
    broadcaster.disconnect();
    await offline;
    const closed = waitFor(viewers[0]!, 'room_closed');
    timers.fireAll();
    expect(await closed).toEqual({ roomId, reason: 'grace_expired' });
    const late = await connectClient(t.url);
    expect(await emitAck(late, 'reclaim_room', { roomId, broadcasterToken: token })).toMatchObject({
      error: { code: 'ROOM_NOT_FOUND' },
    });
  });
});
