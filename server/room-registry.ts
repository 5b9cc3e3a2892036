import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mintBroadcasterToken, verifyBroadcasterToken } from './broadcaster-token';
import type { PasswordHash } from './room-password';
import type {
  ErrorCode,
  ListedRoom,
  ModeReason,
  RoomClosed,
  RoomCode,
  ViewerMode,
} from '../shared/index';
import { allocateRoomCode } from './room-code';

export type RoomCloseReason = RoomClosed['reason'];

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface RoomRegistryOptions {
  maxViewersPerRoom: number;
  maxRooms: number;
  reclaimGraceMs: number;
  now?: () => number;
  timers?: Timers;
  /** Called when a room ends without anyone asking (its grace period ran out). */
  onRoomExpired?: (room: RoomSnapshot, viewerIds: string[]) => void;
  /** A room ended on purpose (its token may no longer re-create it): shared with other nodes. */
  onRevoke?: (nonceDigest: string) => void;
  /** Override the code generator (tests). */
  randomCode?: (max: number) => number;
  /**
   * Signs broadcaster tokens. The same secret after a restart lets a broadcaster take its code
   * back; a random one (the default) only within this process.
   */
  roomSecret?: string | Buffer;
}

export interface RoomOptions {
  title?: string;
  listed?: boolean;
  relayOnly?: boolean;
  /** scrypt hash of the room password; joins must present it. */
  password?: PasswordHash | null;
}

/** Nonces of rooms ended on purpose, so their tokens cannot re-create them (bounded, FIFO). */
const MAX_REVOKED_NONCES = 10_000;

export interface ViewerEntry {
  joinedAt: number;
  /** How the viewer is served: a WebRTC peer connection, or the server relay. */
  mode: ViewerMode;
  /** Why it is on the relay; null while on WebRTC. */
  modeReason: ModeReason | null;
}

export interface ViewerModeCounts {
  webrtc: number;
  relay: number;
  sfu: number;
}

/** Read-only view of a room handed to callers. */
export interface RoomSnapshot {
  readonly id: RoomCode;
  readonly title: string;
  readonly listed: boolean;
  /** The broadcaster makes no peer connections (?path=relay): every viewer gets the relay. */
  readonly relayOnly: boolean;
  readonly createdAt: number;
  readonly broadcasterId: string;
  readonly broadcasterOnline: boolean;
  readonly viewers: ReadonlyMap<string, ViewerEntry>;
}

interface Room extends RoomSnapshot {
  broadcasterId: string;
  broadcasterOnline: boolean;
  viewers: Map<string, ViewerEntry>;
  /** sha256 of the signed token's nonce: binds tokens to this room, not just to its code. */
  nonceDigest: Buffer;
  password: PasswordHash | null;
  graceTimer: unknown;
}

export type Membership = { room: RoomSnapshot; role: 'broadcaster' | 'viewer' };

export type RegistryResult<T> = { ok: true; value: T } | { ok: false; code: ErrorCode };

const ok = <T>(value: T): RegistryResult<T> => ({ ok: true, value });
const fail = (code: ErrorCode): RegistryResult<never> => ({ ok: false, code });

export type LeaveOutcome =
  | { kind: 'viewer_left'; room: RoomSnapshot; viewerId: string }
  | { kind: 'room_closed'; room: RoomSnapshot; viewerIds: string[] };

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/**
 * All room state, with no transport in it: callers pass peer ids and get typed results back.
 * A peer is in at most one room, either as its broadcaster or as a viewer.
 */
export class RoomRegistry {
  readonly #rooms = new Map<RoomCode, Room>();
  /** peerId → room it belongs to. */
  readonly #membership = new Map<string, RoomCode>();
  readonly #options: RoomRegistryOptions;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #secret: string | Buffer;
  readonly #revokedNonces = new Set<string>();

  constructor(options: RoomRegistryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? realTimers;
    this.#secret = options.roomSecret ?? randomBytes(32);
  }

  get roomCount(): number {
    return this.#rooms.size;
  }

  get peerCount(): number {
    return this.#membership.size;
  }

  getRoom(roomId: RoomCode): RoomSnapshot | undefined {
    return this.#rooms.get(roomId);
  }

  rooms(): IterableIterator<RoomSnapshot> {
    return this.#rooms.values();
  }

  /**
   * The digest that identifies a validly signed token's room instance (what revocation
   * records), or null when the signature is wrong.
   */
  tokenNonceDigest(roomId: RoomCode, broadcasterToken: string): string | null {
    const payload = verifyBroadcasterToken(this.#secret, roomId, broadcasterToken);
    return payload ? digest(payload.nonce).toString('base64') : null;
  }

  /** The room's password hash, or null when it has none (or does not exist). */
  passwordOf(roomId: RoomCode): PasswordHash | null {
    return this.#rooms.get(roomId)?.password ?? null;
  }

  membershipOf(peerId: string): Membership | undefined {
    const roomId = this.#membership.get(peerId);
    const room = roomId === undefined ? undefined : this.#rooms.get(roomId);
    if (!room) return undefined;
    return { room, role: room.broadcasterId === peerId ? 'broadcaster' : 'viewer' };
  }

  /** `code`: one already allocated for this node elsewhere (the Redis directory). */
  createRoom(
    broadcasterId: string,
    options: RoomOptions = {},
    code?: RoomCode,
  ): RegistryResult<{ room: RoomSnapshot; broadcasterToken: string }> {
    if (this.#membership.has(broadcasterId)) return fail('ALREADY_IN_ROOM');
    if (this.#rooms.size >= this.#options.maxRooms) return fail('SERVER_BUSY');
    if (code !== undefined && this.#rooms.has(code)) return fail('SERVER_BUSY');
    const id = code ?? allocateRoomCode((c) => this.#rooms.has(c), 32, this.#options.randomCode);
    if (id === null) return fail('SERVER_BUSY');
    const { token, payload } = mintBroadcasterToken(this.#secret, id, this.#now());
    const room = this.#insert(id, broadcasterId, payload.nonce, options);
    return ok({ room, broadcasterToken: token });
  }

  #insert(id: RoomCode, broadcasterId: string, nonce: string, options: RoomOptions): Room {
    const room: Room = {
      id,
      title: options.title ?? '',
      listed: options.listed ?? false,
      relayOnly: options.relayOnly ?? false,
      createdAt: this.#now(),
      broadcasterId,
      broadcasterOnline: true,
      viewers: new Map(),
      nonceDigest: digest(nonce),
      password: options.password ?? null,
      graceTimer: undefined,
    };
    this.#rooms.set(id, room);
    this.#membership.set(broadcasterId, id);
    return room;
  }

  /**
   * Joining the room you are already viewing is a no-op success. `pickMode` chooses how a new
   * viewer is served, seeing the room before the viewer is added (overflow decisions).
   */
  joinRoom(
    roomId: RoomCode,
    viewerId: string,
    pickMode?: (room: RoomSnapshot) => { mode: ViewerMode; modeReason: ModeReason | null },
  ): RegistryResult<{ room: RoomSnapshot; alreadyJoined: boolean }> {
    const room = this.#rooms.get(roomId);
    const current = this.#membership.get(viewerId);
    if (current !== undefined) {
      if (current === roomId && room && room.broadcasterId !== viewerId) {
        return ok({ room, alreadyJoined: true });
      }
      return fail('ALREADY_IN_ROOM');
    }
    if (!room) return fail('ROOM_NOT_FOUND');
    if (room.viewers.size >= this.#options.maxViewersPerRoom) return fail('ROOM_FULL');
    const { mode, modeReason } = pickMode?.(room) ?? { mode: 'webrtc', modeReason: null };
    room.viewers.set(viewerId, { joinedAt: this.#now(), mode, modeReason });
    this.#membership.set(viewerId, roomId);
    return ok({ room, alreadyJoined: false });
  }

  /** Switches a viewer between WebRTC and the relay; false when it is no viewer of a room. */
  setViewerMode(viewerId: string, mode: ViewerMode, modeReason: ModeReason | null): boolean {
    const membership = this.membershipOf(viewerId);
    if (!membership || membership.role !== 'viewer') return false;
    const entry = this.#rooms.get(membership.room.id)?.viewers.get(viewerId);
    if (!entry) return false;
    entry.mode = mode;
    entry.modeReason = mode === 'webrtc' ? null : modeReason;
    return true;
  }

  /** Viewers per mode in one room (all zero for an unknown room). */
  modeCounts(roomId: RoomCode): ViewerModeCounts {
    const counts: ViewerModeCounts = { webrtc: 0, relay: 0, sfu: 0 };
    const room = this.#rooms.get(roomId);
    if (room) for (const entry of room.viewers.values()) counts[entry.mode] += 1;
    return counts;
  }

  /** An explicit leave: a viewer leaves, or the broadcaster ends the room. */
  leave(peerId: string): RegistryResult<LeaveOutcome> {
    const membership = this.membershipOf(peerId);
    if (!membership) return fail('NOT_IN_ROOM');
    const room = this.#rooms.get(membership.room.id)!;
    if (membership.role === 'broadcaster') {
      return ok({ kind: 'room_closed', room, viewerIds: this.#close(room) });
    }
    room.viewers.delete(peerId);
    this.#membership.delete(peerId);
    return ok({ kind: 'viewer_left', room, viewerId: peerId });
  }

  /**
   * The peer's connection is gone. Viewers leave; a broadcaster's room stays for the grace
   * period (or closes at once when the grace period is zero).
   */
  disconnect(
    peerId: string,
  ): LeaveOutcome | { kind: 'broadcaster_offline'; room: RoomSnapshot } | undefined {
    const membership = this.membershipOf(peerId);
    if (!membership) return undefined;
    const room = this.#rooms.get(membership.room.id)!;
    if (membership.role === 'viewer') {
      room.viewers.delete(peerId);
      this.#membership.delete(peerId);
      return { kind: 'viewer_left', room, viewerId: peerId };
    }
    if (this.#options.reclaimGraceMs <= 0) {
      return { kind: 'room_closed', room, viewerIds: this.#close(room) };
    }
    room.broadcasterOnline = false;
    this.#membership.delete(peerId);
    room.graceTimer = this.#timers.setTimeout(() => {
      room.graceTimer = undefined;
      if (this.#rooms.get(room.id) !== room || room.broadcasterOnline) return;
      const viewerIds = this.#close(room);
      this.#options.onRoomExpired?.(room, viewerIds);
    }, this.#options.reclaimGraceMs);
    return { kind: 'broadcaster_offline', room };
  }

  /**
   * A new connection takes the broadcaster seat back with the room's token. Also allowed while
   * the old socket still looks online (it may not have timed out yet): the old one is unbound.
   */
  reclaimRoom(
    roomId: RoomCode,
    broadcasterToken: string,
    newBroadcasterId: string,
    /**
     * When the room is gone (a restart), a validly signed token re-creates it with the same code
     * and these options. Absent: ROOM_NOT_FOUND as before.
     */
    recreate?: RoomOptions,
  ): RegistryResult<{
    room: RoomSnapshot;
    previousBroadcasterId: string;
    wasOnline: boolean;
    recreated: boolean;
  }> {
    const payload = verifyBroadcasterToken(this.#secret, roomId, broadcasterToken);
    const room = this.#rooms.get(roomId);
    if (!room) {
      // A bad token for a missing room reads like any missing room: no signature oracle.
      if (
        !payload ||
        !recreate ||
        this.#revokedNonces.has(digest(payload.nonce).toString('base64'))
      ) {
        return fail('ROOM_NOT_FOUND');
      }
      if (this.#membership.has(newBroadcasterId)) return fail('ALREADY_IN_ROOM');
      if (this.#rooms.size >= this.#options.maxRooms) return fail('SERVER_BUSY');
      const recreated = this.#insert(roomId, newBroadcasterId, payload.nonce, recreate);
      return ok({
        room: recreated,
        previousBroadcasterId: newBroadcasterId,
        wasOnline: false,
        recreated: true,
      });
    }
    // A token for an earlier room with the same code has the right signature but not this nonce.
    if (!payload || !timingSafeEqual(digest(payload.nonce), room.nonceDigest)) {
      return fail('UNAUTHORIZED');
    }
    if (room.broadcasterId === newBroadcasterId && room.broadcasterOnline) {
      return ok({
        room,
        previousBroadcasterId: newBroadcasterId,
        wasOnline: true,
        recreated: false,
      });
    }
    if (this.#membership.has(newBroadcasterId)) return fail('ALREADY_IN_ROOM');
    const previousBroadcasterId = room.broadcasterId;
    const wasOnline = room.broadcasterOnline;
    if (wasOnline) this.#membership.delete(previousBroadcasterId);
    if (room.graceTimer !== undefined) {
      this.#timers.clearTimeout(room.graceTimer);
      room.graceTimer = undefined;
    }
    room.broadcasterId = newBroadcasterId;
    room.broadcasterOnline = true;
    this.#membership.set(newBroadcasterId, room.id);
    return ok({ room, previousBroadcasterId, wasOnline, recreated: false });
  }

  /**
   * Ends a room for an outside reason (admin, shutdown). Returns the viewers it had. `final`
   * (admin) also stops its token from re-creating it; a shutdown leaves that possible.
   */
  closeRoom(roomId: RoomCode, final = true): string[] {
    const room = this.#rooms.get(roomId);
    return room ? this.#close(room, final) : [];
  }

  /** Only rooms whose broadcaster chose "listed": a public list of codes would defeat them. */
  listedRooms(): ListedRoom[] {
    const listed: ListedRoom[] = [];
    for (const room of this.#rooms.values()) {
      if (!room.listed || !room.broadcasterOnline) continue;
      listed.push({
        roomId: room.id,
        title: room.title,
        viewerCount: room.viewers.size,
        startedAt: room.createdAt,
      });
    }
    return listed.sort((a, b) => b.startedAt - a.startedAt);
  }

  #close(room: Room, final = true): string[] {
    if (final) this.#revoke(room.nonceDigest);
    if (room.graceTimer !== undefined) {
      this.#timers.clearTimeout(room.graceTimer);
      room.graceTimer = undefined;
    }
    const viewerIds = [...room.viewers.keys()];
    for (const viewerId of viewerIds) this.#membership.delete(viewerId);
    if (this.#membership.get(room.broadcasterId) === room.id) {
      this.#membership.delete(room.broadcasterId);
    }
    this.#rooms.delete(room.id);
    return viewerIds;
  }

  #revoke(nonceDigest: Buffer): void {
    const key = nonceDigest.toString('base64');
    this.#revokedNonces.add(key);
    this.#options.onRevoke?.(key);
    if (this.#revokedNonces.size > MAX_REVOKED_NONCES) {
      const oldest = this.#revokedNonces.values().next().value;
      if (oldest !== undefined) this.#revokedNonces.delete(oldest);
    }
  }
}
