import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { RoomCode } from '../../shared/index';
import {
  RoomRegistry,
  type RoomRegistryOptions,
  type RoomSnapshot,
} from '../../server/room-registry';

/** Manual timers: the test decides when time passes. */
class ManualTimers {
  #next = 1;
  readonly pending = new Map<number, { at: number; callback: () => void }>();
  now = 0;
  setTimeout = (callback: () => void, ms: number) => {
    const id = this.#next++;
    this.pending.set(id, { at: this.now + ms, callback });
    return id;
  };
  clearTimeout = (handle: unknown) => {
    this.pending.delete(handle as number);
  };
  advance(ms: number) {
    this.now += ms;
    for (const [id, timer] of [...this.pending]) {
      if (timer.at <= this.now) {
        this.pending.delete(id);
        timer.callback();
      }
    }
  }
}

function makeRegistry(overrides: Partial<RoomRegistryOptions> = {}) {
  const timers = new ManualTimers();
  const expired: Array<{ room: RoomSnapshot; viewerIds: string[] }> = [];
  const registry = new RoomRegistry({
    maxViewersPerRoom: 3,
    maxRooms: 5,
    reclaimGraceMs: 30_000,
    now: () => timers.now,
    timers,
    onRoomExpired: (room, viewerIds) => expired.push({ room, viewerIds }),
    ...overrides,
  });
  return { registry, timers, expired };
}

function create(registry: RoomRegistry, peer: string, opts = {}) {
  const result = registry.createRoom(peer, opts);
  if (!result.ok) throw new Error(result.code);
  return result.value;
}

describe('RoomRegistry', () => {
  let ctx: ReturnType<typeof makeRegistry>;
  beforeEach(() => {
    ctx = makeRegistry();
  });

  it('creates a room bound to its broadcaster with a signed token', () => {
    const { room, broadcasterToken } = create(ctx.registry, 'b1', { title: 'Hi', listed: true });
    expect(room.id).toMatch(/^\d{6}$/);
    expect(room.broadcasterId).toBe('b1');
    // base64url(payload) "." base64url(HMAC-SHA256)
    expect(broadcasterToken).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(ctx.registry.membershipOf('b1')).toMatchObject({ role: 'broadcaster' });
  });

  it('keeps a peer in at most one room; re-joining the same room is idempotent', () => {
    const a = create(ctx.registry, 'b1').room;
    const b = create(ctx.registry, 'b2').room;
    expect(ctx.registry.createRoom('b1')).toEqual({ ok: false, code: 'ALREADY_IN_ROOM' });
    expect(ctx.registry.joinRoom(a.id, 'v1')).toMatchObject({
      ok: true,
      value: { alreadyJoined: false },
    });
    expect(ctx.registry.joinRoom(a.id, 'v1')).toMatchObject({
      ok: true,
      value: { alreadyJoined: true },
    });
    expect(ctx.registry.joinRoom(b.id, 'v1')).toEqual({ ok: false, code: 'ALREADY_IN_ROOM' });
    expect(ctx.registry.joinRoom(a.id, 'b1')).toEqual({ ok: false, code: 'ALREADY_IN_ROOM' });
  });

  it('answers ROOM_NOT_FOUND, ROOM_FULL and SERVER_BUSY', () => {
    expect(ctx.registry.joinRoom('000000' as RoomCode, 'v')).toEqual({
      ok: false,
      code: 'ROOM_NOT_FOUND',
    });
    const { room } = create(ctx.registry, 'b');
    for (const v of ['v1', 'v2', 'v3']) expect(ctx.registry.joinRoom(room.id, v).ok).toBe(true);
    expect(ctx.registry.joinRoom(room.id, 'v4')).toEqual({ ok: false, code: 'ROOM_FULL' });
    for (let i = 0; i < 4; i++) create(ctx.registry, `x${i}`);
    expect(ctx.registry.createRoom('x9')).toEqual({ ok: false, code: 'SERVER_BUSY' });
  });

  it('gives SERVER_BUSY when no free code is found in bounded attempts', () => {
    const { registry } = makeRegistry({ randomCode: () => 7 });
    create(registry, 'b1');
    expect(registry.createRoom('b2')).toEqual({ ok: false, code: 'SERVER_BUSY' });
  });

  it('viewer leave keeps the room; broadcaster leave closes it for everyone', () => {
    const { room } = create(ctx.registry, 'b');
    ctx.registry.joinRoom(room.id, 'v1');
    ctx.registry.joinRoom(room.id, 'v2');
    expect(ctx.registry.leave('v1')).toMatchObject({ ok: true, value: { kind: 'viewer_left' } });
    expect(ctx.registry.leave('v1')).toEqual({ ok: false, code: 'NOT_IN_ROOM' });
    expect(ctx.registry.leave('b')).toMatchObject({
      ok: true,
      value: { kind: 'room_closed', viewerIds: ['v2'] },
    });
    expect(ctx.registry.getRoom(room.id)).toBeUndefined();
    expect(ctx.registry.membershipOf('v2')).toBeUndefined();
    expect(ctx.registry.peerCount).toBe(0);
  });

  it('keeps the room through the grace period and lets the token reclaim it', () => {
    const { room, broadcasterToken } = create(ctx.registry, 'b-old');
    ctx.registry.joinRoom(room.id, 'v1');
    expect(ctx.registry.disconnect('b-old')).toMatchObject({ kind: 'broadcaster_offline' });
    expect(ctx.registry.getRoom(room.id)?.broadcasterOnline).toBe(false);
    ctx.timers.advance(29_000);
    expect(ctx.registry.reclaimRoom(room.id, 'x'.repeat(43), 'b-new')).toEqual({
      ok: false,
      code: 'UNAUTHORIZED',
    });
    const reclaimed = ctx.registry.reclaimRoom(room.id, broadcasterToken, 'b-new');
    expect(reclaimed).toMatchObject({ ok: true, value: { previousBroadcasterId: 'b-old' } });
    ctx.timers.advance(60_000);
    expect(ctx.expired).toEqual([]);
    const live = ctx.registry.getRoom(room.id)!;
    expect(live.broadcasterId).toBe('b-new');
    expect(live.broadcasterOnline).toBe(true);
    expect([...live.viewers.keys()]).toEqual(['v1']);
  });

  it('closes the room when the grace period runs out', () => {
    const { room, broadcasterToken } = create(ctx.registry, 'b');
    ctx.registry.joinRoom(room.id, 'v1');
    ctx.registry.disconnect('b');
    ctx.timers.advance(30_000);
    expect(ctx.expired).toHaveLength(1);
    expect(ctx.expired[0]?.viewerIds).toEqual(['v1']);
    expect(ctx.registry.getRoom(room.id)).toBeUndefined();
    expect(ctx.registry.reclaimRoom(room.id, broadcasterToken, 'b2')).toEqual({
      ok: false,
      code: 'ROOM_NOT_FOUND',
    });
  });

  it('works with vitest fake timers and the default timers too', () => {
    vi.useFakeTimers();
    try {
      const onRoomExpired = vi.fn();
      const registry = new RoomRegistry({
        maxViewersPerRoom: 1,
        maxRooms: 1,
        reclaimGraceMs: 1000,
        onRoomExpired,
      });
      create(registry, 'b');
      registry.disconnect('b');
      vi.advanceTimersByTime(999);
      expect(onRoomExpired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(onRoomExpired).toHaveBeenCalledOnce();
    } finally {
      vi.useRealTimers();
    }
  });

  it('closes at once when the grace period is zero', () => {
    const { registry } = makeRegistry({ reclaimGraceMs: 0 });
    const { room } = create(registry, 'b');
    expect(registry.disconnect('b')).toMatchObject({ kind: 'room_closed' });
    expect(registry.getRoom(room.id)).toBeUndefined();
  });

  it('viewer disconnect just removes the viewer', () => {
    const { room } = create(ctx.registry, 'b');
    ctx.registry.joinRoom(room.id, 'v');
    expect(ctx.registry.disconnect('v')).toMatchObject({ kind: 'viewer_left', viewerId: 'v' });
    expect(ctx.registry.getRoom(room.id)?.viewers.size).toBe(0);
    expect(ctx.registry.disconnect('nobody')).toBeUndefined();
  });

  it('lists only listed rooms with a live broadcaster', () => {
    const listed = create(ctx.registry, 'b1', { listed: true, title: 'Public' }).room;
    create(ctx.registry, 'b2', { listed: false, title: 'Secret' });
    ctx.registry.joinRoom(listed.id, 'v');
    expect(ctx.registry.listedRooms()).toEqual([
      { roomId: listed.id, title: 'Public', viewerCount: 1, startedAt: 0 },
    ]);
    ctx.registry.disconnect('b1');
    expect(ctx.registry.listedRooms()).toEqual([]);
  });
});

describe('RoomRegistry viewer modes', () => {
  it('records each viewer’s mode and counts them per room', () => {
    const registry = new RoomRegistry({ maxViewersPerRoom: 10, maxRooms: 10, reclaimGraceMs: 0 });
    const created = registry.createRoom('b');
    if (!created.ok) throw new Error(created.code);
    const roomId = created.value.room.id;
    registry.joinRoom(roomId, 'v1');
    registry.joinRoom(roomId, 'v2', (room) =>
      room.viewers.size >= 1
        ? { mode: 'relay', modeReason: 'overflow' }
        : { mode: 'webrtc', modeReason: null },
    );
    expect(registry.getRoom(roomId)?.viewers.get('v1')).toMatchObject({
      mode: 'webrtc',
      modeReason: null,
    });
    expect(registry.getRoom(roomId)?.viewers.get('v2')).toMatchObject({
      mode: 'relay',
      modeReason: 'overflow',
    });
    expect(registry.modeCounts(roomId)).toEqual({ webrtc: 1, relay: 1, sfu: 0 });
    expect(registry.setViewerMode('v1', 'relay', 'fallback')).toBe(true);
    expect(registry.setViewerMode('v2', 'webrtc', 'overflow')).toBe(true);
    expect(registry.getRoom(roomId)?.viewers.get('v2')?.modeReason).toBeNull();
    expect(registry.modeCounts(roomId)).toEqual({ webrtc: 1, relay: 1, sfu: 0 });
    expect(registry.setViewerMode('b', 'relay', 'forced')).toBe(false); // the broadcaster
    expect(registry.setViewerMode('nobody', 'relay', 'forced')).toBe(false);
  });
});

describe('RoomRegistry signed tokens and re-creation', () => {
  const secret = 'shared-room-secret-0123456789abcdef';
  const fixedCode = () => 42917;
  const make = () =>
    new RoomRegistry({
      maxViewersPerRoom: 10,
      maxRooms: 10,
      reclaimGraceMs: 0,
      roomSecret: secret,
      randomCode: fixedCode,
    });

  it('re-creates a missing room under its code from a token signed with the same secret', () => {
    const before = make();
    const created = before.createRoom('b1', { title: 'Old' });
    if (!created.ok) throw new Error(created.code);
    const { room, broadcasterToken } = created.value;
    // A new process: nothing in memory, the same secret.
    const after = make();
    expect(after.reclaimRoom(room.id, broadcasterToken, 'b2')).toEqual({
      ok: false,
      code: 'ROOM_NOT_FOUND',
    });
    const reclaimed = after.reclaimRoom(room.id, broadcasterToken, 'b2', { title: 'Back' });
    expect(reclaimed).toMatchObject({ ok: true, value: { recreated: true } });
    expect(after.getRoom(room.id)).toMatchObject({ title: 'Back', broadcasterId: 'b2' });
    expect(after.membershipOf('b2')).toMatchObject({ role: 'broadcaster' });
    // The same token keeps working for the re-created room (another reconnect).
    after.disconnect('b2');
    expect(after.getRoom(room.id)).toBeUndefined();
  });

  it('refuses a token from another secret or for another code', () => {
    const other = new RoomRegistry({
      maxViewersPerRoom: 10,
      maxRooms: 10,
      reclaimGraceMs: 0,
      roomSecret: 'a-different-secret-0123456789abcd',
      randomCode: fixedCode,
    });
    const created = other.createRoom('b1');
    if (!created.ok) throw new Error(created.code);
    const registry = make();
    const { broadcasterToken, room } = created.value;
    expect(registry.reclaimRoom(room.id, broadcasterToken, 'b2', {})).toEqual({
      ok: false,
      code: 'ROOM_NOT_FOUND',
    });
    expect(registry.reclaimRoom('111111' as RoomCode, broadcasterToken, 'b2', {})).toEqual({
      ok: false,
      code: 'ROOM_NOT_FOUND',
    });
  });

  it('an old token for a code reused by a new room does not take the new room', () => {
    const registry = new RoomRegistry({
      maxViewersPerRoom: 10,
      maxRooms: 10,
      reclaimGraceMs: 30_000,
      roomSecret: secret,
      randomCode: fixedCode,
    });
    const first = registry.createRoom('b1');
    if (!first.ok) throw new Error(first.code);
    registry.leave('b1');
    const second = registry.createRoom('b2');
    if (!second.ok) throw new Error(second.code);
    expect(second.value.room.id).toBe(first.value.room.id);
    expect(registry.reclaimRoom(first.value.room.id, first.value.broadcasterToken, 'b1')).toEqual({
      ok: false,
      code: 'UNAUTHORIZED',
    });
  });

  it('a room ended on purpose cannot be re-created with its token; a shutdown can', () => {
    const registry = make();
    const created = registry.createRoom('b1');
    if (!created.ok) throw new Error(created.code);
    const { room, broadcasterToken } = created.value;
    registry.leave('b1');
    expect(registry.reclaimRoom(room.id, broadcasterToken, 'b2', {})).toEqual({
      ok: false,
      code: 'ROOM_NOT_FOUND',
    });
    const again = registry.createRoom('b3');
    if (!again.ok) throw new Error(again.code);
    registry.closeRoom(again.value.room.id, false);
    expect(
      registry.reclaimRoom(again.value.room.id, again.value.broadcasterToken, 'b3', {}),
    ).toMatchObject({ ok: true, value: { recreated: true } });
  });
});
