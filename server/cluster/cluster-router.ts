import { z } from 'zod';
import {
  ackError,
  ackOk,
  CLIENT_EVENT_NAMES,
  readRelayHeader,
  ROOM_CODE_PATTERN,
  type AckResult,
  type RoomCode,
} from '../../shared/index';
import { remoteCaller, type Caller } from '../caller';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { ParsedRelayChunk } from '../relay/relay-chunk';
import { RelayHub, type RelaySink } from '../relay/relay-hub';
import { socketSink } from '../relay/socket-sink';
import type { RoomRegistry } from '../room-registry';
import type { ClusterPort, EventRoute, Signalling } from '../signalling';
import type { ClientEventName } from '../socket-handler';
import { socketRoom, type AppServer } from '../socket-types';
import type { BusMessage, NodeBus } from './node-bus';

/** What the router needs from the Redis room directory (server/cluster/room-directory.ts). */
export interface DirectoryPort {
  allocate(): Promise<RoomCode | null>;
  claim(code: RoomCode): Promise<{ ok: true } | { ok: false; owner: string }>;
  lookup(code: RoomCode): Promise<string | null>;
  release(code: RoomCode): Promise<void>;
  takeOver(code: RoomCode, deadNode: string): Promise<boolean>;
  nodeInfo(nodeId: string): Promise<{ url: string } | null>;
  liveNodes(): Promise<Array<{ id: string; url: string }>>;
  revoke(nonceDigest: string, ttlMs: number): Promise<void>;
  isRevoked(nonceDigest: string): Promise<boolean>;
}

/** This node's own answers to cluster-wide HTTP questions (listings, admin). */
export interface NodeViews {
  listedRooms(): unknown[];
  streams(): unknown[];
  adminRooms(): unknown[];
  closeRoom(roomId: RoomCode): boolean;
}

export type ClusterQuery = 'listed' | 'streams' | 'admin_rooms';

export interface ClusterRouterDeps {
  io: AppServer;
  bus: NodeBus;
  directory: DirectoryPort;
  registry: RoomRegistry;
  relay: Config['relay'];
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
  /** How often sockets' home nodes and remote members' nodes are checked for liveness. */
  livenessCheckMs?: number;
}

/** How long a revoked token stays revoked across nodes (tokens carry no expiry). */
export const REVOCATION_TTL_MS = 30 * 24 * 3600 * 1000;
const DEFAULT_LIVENESS_CHECK_MS = 5000;

const RoomCodeSchema = z.string().regex(ROOM_CODE_PATTERN);
const PeerSchema = z.object({
  id: z.string().min(1).max(64),
  ip: z.string().max(80),
  mayBroadcast: z.boolean(),
});
const ForwardedEventSchema = z.object({
  peer: PeerSchema,
  event: z.enum(CLIENT_EVENT_NAMES),
  payload: z.unknown(),
});
const RoomArgsSchema = z.object({ room: RoomCodeSchema });
const QueryArgsSchema = z.object({ what: z.enum(['listed', 'streams', 'admin_rooms']) });
/** How long a listing waits for each other node. */
const QUERY_TIMEOUT_MS = 1000;
const NODE_LIST_TTL_MS = 2000;
const DisconnectArgsSchema = z.object({
  peerId: z.string().min(1).max(64),
  reason: z.string().max(100),
});
const AckShapeSchema = z.union([
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);

/** The home node did not answer a forwarded event. */
const UNREACHABLE = Symbol('unreachable');

interface Placement {
  room: RoomCode;
  node: string;
}

/**
 * Several nodes behind Redis. Each room lives on one node (its home: where it was created or
 * last re-created), and its handlers run there. A socket on another node (an edge) has its
 * room events forwarded to the home over the node bus; the home answers through the Socket.IO
 * Redis adapter, which reaches sockets on any node. Relay chunks cross once per edge node and
 * fan out there from a mirror hub, with each socket's own backlog policy.
 */
export class ClusterRouter implements ClusterPort {
  readonly #deps: ClusterRouterDeps;
  #signalling: Signalling | null = null;
  /** Sockets on this node whose room is homed on another node. */
  readonly #away = new Map<string, Placement>();
  /** Members of rooms homed here whose sockets are on other nodes. */
  readonly #remote = new Map<string, Placement>();
  /** Rooms homed elsewhere with relay viewers here. */
  readonly #mirrors = new Map<RoomCode, { hub: RelayHub; node: string }>();
  #livenessTimer: NodeJS.Timeout | undefined;
  #views: NodeViews | null = null;
  #nodeList: { at: number; nodes: Promise<Array<{ id: string; url: string }>> } | null = null;

  constructor(deps: ClusterRouterDeps) {
    this.#deps = deps;
  }

  get nodeId(): string {
    return this.#deps.bus.nodeId;
  }

  async start(signalling: Signalling): Promise<void> {
    this.#signalling = signalling;
    await this.#deps.bus.start({
      onRequest: (message) => this.#onRequest(message),
      onMessage: (message) => this.#onMessage(message),
    });
    this.#livenessTimer = setInterval(
      () => void this.#checkLiveness(),
      this.#deps.livenessCheckMs ?? DEFAULT_LIVENESS_CHECK_MS,
    );
    this.#livenessTimer.unref();
  }

  async close(): Promise<void> {
    if (this.#livenessTimer) clearInterval(this.#livenessTimer);
    for (const { hub } of this.#mirrors.values()) hub.close();
    this.#mirrors.clear();
    await this.#deps.bus.close();
  }

  // ── Cluster-wide HTTP answers ───────────────────────────────────────────────────────

  setViews(views: NodeViews): void {
    this.#views = views;
  }

  /** This node's answer plus every other live node's (a node that does not answer is skipped). */
  async everywhere(what: ClusterQuery, local: unknown[]): Promise<unknown[]> {
    const { bus } = this.#deps;
    const nodes = await this.#liveNodes();
    const answers = await Promise.all(
      nodes
        .filter((node) => node.id !== this.nodeId)
        .map((node) =>
          bus.request(node.id, 'query', { what }, null, QUERY_TIMEOUT_MS).catch(() => []),
        ),
    );
    return [...local, ...answers.flatMap((answer) => (Array.isArray(answer) ? answer : []))];
  }

  /**
   * The live nodes, scanned at most once per NODE_LIST_TTL_MS: every open home page polls the
   * listings, and a SCAN per poll would grow with the audience.
   */
  #liveNodes(): Promise<Array<{ id: string; url: string }>> {
    const now = (this.#deps.now ?? Date.now)();
    if (this.#nodeList && now - this.#nodeList.at < NODE_LIST_TTL_MS) return this.#nodeList.nodes;
    const nodes = this.#deps.directory.liveNodes().catch((err: Error) => {
      this.#deps.log.warn({ err: err.message }, 'node listing failed');
      this.#nodeList = null;
      return [];
    });
    this.#nodeList = { at: now, nodes };
    return nodes;
  }

  /** Closes a room on whichever node holds it. */
  async closeRoomAnywhere(roomId: RoomCode): Promise<boolean> {
    if (this.#views?.closeRoom(roomId)) return true;
    const owner = await this.#deps.directory.lookup(roomId).catch(() => null);
    if (owner === null || owner === this.nodeId) return false;
    const closed = await this.#deps.bus
      .request(owner, 'admin_close', { room: roomId }, null, 2 * QUERY_TIMEOUT_MS)
      .catch(() => false);
    return closed === true;
  }

  /** The base URL of the node running a room that lives elsewhere (its HLS is there). */
  async homeUrlOf(roomId: RoomCode): Promise<string | null> {
    const { directory } = this.#deps;
    const owner = await directory.lookup(roomId).catch(() => null);
    if (owner === null || owner === this.nodeId) return null;
    return (await directory.nodeInfo(owner).catch(() => null))?.url ?? null;
  }

  // ── Edge side: a socket here ──────────────────────────────────────────────────────────

  async route(
    caller: Caller,
    event: ClientEventName,
    route: EventRoute,
    payload: unknown,
  ): Promise<AckResult<unknown>> {
    const spec = this.#spec(event);
    const away = this.#away.get(caller.id);
    if (away) {
      // A member of a room elsewhere: that room's node answers everything (ALREADY_IN_ROOM…).
      if (route === 'here') return ackError('ALREADY_IN_ROOM');
      const result = await this.#forward(away.node, caller, event, payload, away.room);
      return result === UNREACHABLE
        ? ackError('SERVER_BUSY', "The room's server is not answering. Try again.")
        : result;
    }
    if (route === 'by-code') {
      const roomId = (payload as { roomId: RoomCode }).roomId;
      const home = await this.#remoteHomeOf(caller, roomId);
      if (home !== null) {
        const result = await this.#forward(home, caller, event, payload, roomId);
        if (result !== UNREACHABLE) return result;
        return this.#homeUnreachable(home, caller, event, payload, roomId);
      }
    }
    return spec.run(caller, payload);
  }

  routeDisconnect(caller: Caller, reason: string): boolean {
    const away = this.#away.get(caller.id);
    if (!away) return false;
    this.#deps.bus.send(away.node, 'disconnect', {
      peerId: caller.id,
      reason: reason.slice(0, 100),
    });
    this.#dropAway(caller.id);
    return true;
  }

  /** The room's home when it is another node; null when it is here or nowhere. */
  async #remoteHomeOf(caller: Caller, roomId: RoomCode): Promise<string | null> {
    const { registry, directory, log } = this.#deps;
    if (registry.membershipOf(caller.id) || registry.getRoom(roomId)) return null;
    let owner: string | null;
    try {
      owner = await directory.lookup(roomId);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'room directory lookup failed');
      return null;
    }
    return owner === null || owner === this.nodeId ? null : owner;
  }

  /**
   * The home did not answer. A node whose heartbeat is gone is dead: its rooms are free, and a
   * broadcaster with a signed token re-creates its room here. Viewers hear "not found", which
   * their rejoin loop retries until the broadcaster is back.
   */
  async #homeUnreachable(
    home: string,
    caller: Caller,
    event: ClientEventName,
    payload: unknown,
    roomId: RoomCode,
  ): Promise<AckResult<unknown>> {
    const { directory, log } = this.#deps;
    const alive = await directory.nodeInfo(home).catch(() => ({ url: '' }));
    log.warn({ room: roomId, node: home.slice(0, 8), alive: alive !== null }, 'home unreachable');
    if (event !== 'reclaim_room') return ackError('ROOM_NOT_FOUND');
    if (alive) return ackError('SERVER_BUSY', "The room's server is not answering. Try again.");
    await directory.takeOver(roomId, home).catch(() => false);
    return this.#spec(event).run(caller, payload);
  }

  async #forward(
    node: string,
    caller: Caller,
    event: ClientEventName,
    payload: unknown,
    roomId: RoomCode,
  ): Promise<AckResult<unknown> | typeof UNREACHABLE> {
    const { bus, log } = this.#deps;
    const peer = { id: caller.id, ip: caller.ip, mayBroadcast: caller.mayBroadcast };
    if (event === 'relay_chunk') {
      // Media is fire-and-forget: a round trip per chunk would add latency for nothing.
      bus.send(node, 'event', { peer, event, payload: null }, (payload as ParsedRelayChunk).bytes);
      return ackOk(null);
    }
    let answer: unknown;
    try {
      answer = await bus.request(node, 'event', { peer, event, payload });
    } catch (err) {
      log.warn({ event, node: node.slice(0, 8), err: (err as Error).message }, 'forward failed');
      return UNREACHABLE;
    }
    const parsed = AckShapeSchema.safeParse(answer);
    if (!parsed.success) return ackError('INTERNAL_ERROR');
    const result = parsed.data as AckResult<unknown>;
    this.#afterForward(caller, event, node, roomId, result);
    return result;
  }

  #afterForward(
    caller: Caller,
    event: ClientEventName,
    node: string,
    roomId: RoomCode,
    result: AckResult<unknown>,
  ): void {
    if (!result.ok) {
      // The home no longer knows this socket (room closed, or it restarted).
      if (result.error.code === 'NOT_IN_ROOM') this.#dropAway(caller.id);
      return;
    }
    switch (event) {
      case 'join_room':
      case 'reclaim_room':
        this.#away.set(caller.id, { room: roomId, node });
        break;
      case 'leave_room':
        this.#dropAway(caller.id);
        break;
      case 'relay_subscribe':
        // After the ack, as on the home node: "subscribed" before the first chunk.
        setImmediate(() => {
          const socket = caller.socket;
          if (!socket?.connected || this.#away.get(caller.id)?.room !== roomId) return;
          this.#mirrorFor(roomId, node).subscribe(socketSink(socket));
        });
        break;
      case 'relay_unsubscribe':
        this.#unmirror(roomId, caller.id);
        break;
      default:
        break;
    }
  }

  #dropAway(socketId: string): void {
    const away = this.#away.get(socketId);
    if (!away) return;
    this.#away.delete(socketId);
    this.#unmirror(away.room, socketId);
  }

  #mirrorFor(roomId: RoomCode, node: string): RelayHub {
    let mirror = this.#mirrors.get(roomId);
    if (mirror && mirror.node !== node) {
      mirror.hub.close();
      mirror = undefined;
    }
    if (!mirror) {
      const { relay, bus, metrics } = this.#deps;
      const hub = new RelayHub({
        gopCacheBytes: relay.gopCacheBytes,
        viewerBacklogBytes: relay.viewerBacklogBytes,
        // The home already bounds the room's rate; its GOP replay arrives in one burst.
        maxRoomKbps: Number.MAX_SAFE_INTEGER / 1000,
        now: this.#deps.now,
        onKeyframeNeeded: () => bus.send(node, 'keyframe', { room: roomId }),
        onDelivery: (decision, bytes) => {
          if (decision === 'send') metrics?.relayBytesOut.inc(bytes);
          else metrics?.relayFramesDroppedBacklog.inc();
        },
      });
      mirror = { hub, node };
      this.#mirrors.set(roomId, mirror);
    }
    return mirror.hub;
  }

  #unmirror(roomId: RoomCode, socketId: string): void {
    const mirror = this.#mirrors.get(roomId);
    if (!mirror) return;
    mirror.hub.unsubscribe(socketId);
    if (mirror.hub.subscriberCount === 0) {
      mirror.hub.close();
      this.#mirrors.delete(roomId);
    }
  }

  // ── Home side: rooms here, members elsewhere ─────────────────────────────────────────

  async allocateCode(): Promise<RoomCode | null> {
    try {
      return await this.#deps.directory.allocate();
    } catch (err) {
      this.#deps.log.error({ err: (err as Error).message }, 'room code allocation failed');
      return null;
    }
  }

  async claimCode(roomId: RoomCode): Promise<boolean> {
    try {
      return (await this.#deps.directory.claim(roomId)).ok;
    } catch (err) {
      this.#deps.log.error({ err: (err as Error).message }, 'room code claim failed');
      return false;
    }
  }

  async isRevoked(nonceDigest: string): Promise<boolean> {
    try {
      return await this.#deps.directory.isRevoked(nonceDigest);
    } catch {
      return false;
    }
  }

  revoke(nonceDigest: string): void {
    this.#deps.directory.revoke(nonceDigest, REVOCATION_TTL_MS).catch((err: Error) => {
      this.#deps.log.warn({ err: err.message }, 'token revocation not shared');
    });
  }

  nodeSink(roomId: RoomCode, node: string): RelaySink {
    const { bus } = this.#deps;
    return {
      id: `node:${node}`,
      // One sink stands for all of that node's viewers; they are counted from the registry.
      egress: true,
      send: (bytes) => bus.send(node, 'relay', { room: roomId }, bytes),
      backlogBytes: () => bus.inFlightBytes(node),
    };
  }

  remoteRelayViewers(roomId: RoomCode): number {
    const room = this.#deps.registry.getRoom(roomId);
    if (!room) return 0;
    let n = 0;
    for (const [id, entry] of room.viewers) if (entry.mode === 'relay' && this.#remote.has(id)) n++;
    return n;
  }

  viewerChanged(roomId: RoomCode, viewerId: string, left: boolean): void {
    const placement = this.#remote.get(viewerId);
    if (!placement) return;
    if (left) this.#remote.delete(viewerId);
    const room = this.#deps.registry.getRoom(roomId);
    if (room) {
      for (const [id, entry] of room.viewers) {
        if (entry.mode === 'relay' && this.#remote.get(id)?.node === placement.node) return;
      }
    }
    this.#signalling?.existingRelayHub(roomId)?.unsubscribe(`node:${placement.node}`);
  }

  relayReset(roomId: RoomCode): void {
    for (const node of this.#nodesOf(roomId))
      this.#deps.bus.send(node, 'relay_reset', { room: roomId });
  }

  roomClosed(roomId: RoomCode): void {
    const nodes = this.#nodesOf(roomId);
    for (const [id, placement] of this.#remote)
      if (placement.room === roomId) this.#remote.delete(id);
    for (const node of nodes) this.#deps.bus.send(node, 'room_ended', { room: roomId });
    this.#deps.directory.release(roomId).catch((err: Error) => {
      this.#deps.log.warn({ room: roomId, err: err.message }, 'room code release failed');
    });
  }

  #nodesOf(roomId: RoomCode): Set<string> {
    const nodes = new Set<string>();
    for (const placement of this.#remote.values()) {
      if (placement.room === roomId) nodes.add(placement.node);
    }
    return nodes;
  }

  #spec(event: ClientEventName) {
    if (!this.#signalling) throw new Error('cluster router not started');
    return this.#signalling.eventSpec(event);
  }

  async #onRequest(message: BusMessage): Promise<unknown> {
    switch (message.op) {
      case 'event':
        return this.#runForwarded(message);
      case 'query': {
        const args = QueryArgsSchema.safeParse(message.args);
        const views = this.#views;
        if (!args.success || !views) return [];
        if (args.data.what === 'listed') return views.listedRooms();
        if (args.data.what === 'streams') return views.streams();
        return views.adminRooms();
      }
      case 'admin_close': {
        const args = RoomArgsSchema.safeParse(message.args);
        return args.success && this.#views
          ? this.#views.closeRoom(args.data.room as RoomCode)
          : false;
      }
      default:
        return ackError('INVALID_PAYLOAD', 'Unknown node request.');
    }
  }

  /** An event from a socket on another node, validated again with the same schema. */
  async #runForwarded(message: BusMessage): Promise<AckResult<unknown>> {
    const args = ForwardedEventSchema.safeParse(message.args);
    if (!args.success) return ackError('INVALID_PAYLOAD');
    const { peer, event } = args.data;
    const spec = this.#spec(event);
    if (spec.route === 'here') return ackError('INVALID_PAYLOAD');
    const parsed = spec.schema.safeParse(
      event === 'relay_chunk' ? message.body : args.data.payload,
    );
    if (!parsed.success) return ackError('INVALID_PAYLOAD');
    const caller = remoteCaller(this.#deps.io, peer, message.from, this.#deps.log);
    const result = await spec.run(caller, parsed.data);
    if (result.ok && (event === 'join_room' || event === 'reclaim_room')) {
      const roomId = (parsed.data as { roomId: RoomCode }).roomId;
      this.#remote.set(peer.id, { room: roomId, node: message.from });
    }
    return result;
  }

  #onMessage(message: BusMessage): void {
    switch (message.op) {
      case 'event':
        void this.#runForwarded(message);
        return;
      case 'disconnect': {
        const args = DisconnectArgsSchema.safeParse(message.args);
        if (!args.success) return;
        this.#remoteGone(args.data.peerId, message.from, args.data.reason);
        return;
      }
      case 'relay': {
        const args = RoomArgsSchema.safeParse(message.args);
        const mirror = args.success ? this.#mirrors.get(args.data.room as RoomCode) : undefined;
        if (!mirror || mirror.node !== message.from || !message.body) return;
        // A Buffer is a Uint8Array: no copy on the per-chunk path.
        const header = readRelayHeader(message.body);
        if (header.ok) mirror.hub.publish(header.header, message.body);
        return;
      }
      case 'relay_reset': {
        const args = RoomArgsSchema.safeParse(message.args);
        if (args.success) this.#mirrors.get(args.data.room as RoomCode)?.hub.resetSource();
        return;
      }
      case 'keyframe': {
        const args = RoomArgsSchema.safeParse(message.args);
        if (!args.success) return;
        const roomId = args.data.room as RoomCode;
        if (this.#deps.registry.getRoom(roomId)) {
          this.#signalling?.existingRelayHub(roomId)?.requestKeyframe();
        }
        return;
      }
      case 'room_ended': {
        const args = RoomArgsSchema.safeParse(message.args);
        if (!args.success) return;
        for (const [socketId, away] of this.#away) {
          if (away.room === args.data.room && away.node === message.from) this.#dropAway(socketId);
        }
        return;
      }
      default:
        this.#deps.log.debug({ op: message.op.slice(0, 32) }, 'unknown bus message');
    }
  }

  /** A member's socket on another node is gone (its disconnect, or its node died). */
  #remoteGone(peerId: string, node: string, reason: string): void {
    const placement = this.#remote.get(peerId);
    if (!placement || placement.node !== node) return;
    const caller = remoteCaller(
      this.#deps.io,
      { id: peerId, ip: '', mayBroadcast: false },
      node,
      this.#deps.log,
    );
    this.#signalling?.handleDisconnect(caller, reason);
    this.#remote.delete(peerId);
  }

  /**
   * A node whose heartbeat is gone is dead. Its members here are disconnected; sockets here
   * whose room lived there hear `room_closed` (server_shutdown), as after a restart, and
   * rejoin when the broadcaster has re-created the room elsewhere.
   */
  async #checkLiveness(): Promise<void> {
    const nodes = new Set<string>();
    for (const p of this.#away.values()) nodes.add(p.node);
    for (const p of this.#remote.values()) nodes.add(p.node);
    for (const node of nodes) {
      let alive: boolean;
      try {
        alive = (await this.#deps.directory.nodeInfo(node)) !== null;
      } catch {
        continue;
      }
      if (alive) continue;
      this.#deps.log.warn({ node: node.slice(0, 8) }, 'node gone: its rooms and members dropped');
      for (const [peerId, p] of this.#remote)
        if (p.node === node) this.#remoteGone(peerId, node, 'node gone');
      for (const [socketId, p] of this.#away) {
        if (p.node !== node) continue;
        const socket = this.#deps.io.sockets.sockets.get(socketId);
        socket?.emit('room_closed', { roomId: p.room, reason: 'server_shutdown' });
        void socket?.leave(socketRoom(p.room));
        this.#dropAway(socketId);
      }
    }
  }
}
