import { randomUUID } from 'node:crypto';
import {
  ackError,
  ackOk,
  ChatSendSchema,
  CreateRoomSchema,
  EgressSetSchema,
  JoinRoomSchema,
  KeyframeRequestSchema,
  LeaveRoomSchema,
  PROTOCOL_VERSION,
  ReclaimRoomSchema,
  RelaySubscribeSchema,
  RelayUnsubscribeSchema,
  RequestOfferSchema,
  RestreamSetSchema,
  SignalSchema,
  StatsReportSchema,
  type AckResult,
  type ChatMessage,
  type ChatSendRequest,
  type CreateRoomRequest,
  type CreateRoomResult,
  type EgressSetRequest,
  type EgressStatus,
  type ErrorCode,
  type IceServer,
  type JoinRoomRequest,
  type JoinRoomResult,
  type ModeReason,
  type ReclaimRoomRequest,
  type RelayDemand,
  type RelaySubscribeRequest,
  type RestreamSetRequest,
  type RoomCode,
  type SignalMessage,
  type SignalRequest,
  type StatsReport,
  type ViewerMode,
} from '../shared/index';
import { AbuseLimits, clientIp, rateLimitedMessage } from './abuse-limits';
import { localCaller, type Caller } from './caller';
import type { Config } from './config';
import { checkPassword, hashPassword } from './room-password';
import { secretEquals } from './secret-equals';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { createRateLimiters } from './rate-limit';
import { RelayChunkSchema, type ParsedRelayChunk } from './relay/relay-chunk';
import { RelayHub } from './relay/relay-hub';
import { socketSink } from './relay/socket-sink';
import type { Membership, RoomRegistry, RoomSnapshot } from './room-registry';
import {
  guardUnknownEvents,
  registerHandler,
  type ClientEventName,
  type HandlerContext,
} from './socket-handler';
import type { ClusterPort } from './cluster/cluster-port';
import { UNHANDLED_EVENT, type EventSpec, type SignallingFeature } from './signalling-feature';
import { socketRoom, type AppServer, type AppSocket } from './socket-types';
import type { StatsAggregator } from './stats-aggregator';

export interface SignallingDeps {
  io: AppServer;
  registry: RoomRegistry;
  stats: StatsAggregator;
  /** STUN only: for `welcome`, which every connected socket gets. */
  welcomeIceServers: () => IceServer[];
  /**
   * STUN + TURN with a fresh per-client credential: in create/reclaim/join and request_offer
   * acks, and in viewer_joined/offer_requested to the broadcaster (room members only).
   */
  roomIceServers: (clientId: string) => IceServer[];
  log: Logger;
  now: () => number;
  /** Relay bounds and the ladder settings handed to viewers in the join ack. */
  relay: Config['relay'];
  ladder: Config['ladder'];
  /** Logger for the relay subsystem (defaults to `log`). */
  relayLog?: Logger;
  /** The egress manager (HLS mirror, restreams, recording); absent in signalling-only tests. */
  egress?: EgressPort;
  /** Prometheus counters; absent in signalling-only tests. */
  metrics?: Metrics;
  /** BROADCAST_TOKEN and TRUST_PROXY; absent → anyone may broadcast, socket address as key. */
  access?: Pick<Config['access'], 'broadcastToken' | 'trustProxyHops'>;
  /** Per-IP limits; absent → a default set (Config defaults). */
  abuse?: AbuseLimits;
}

export type { EventRoute, EventSpec, SignallingFeature } from './signalling-feature';

export type { ClusterPort } from './cluster/cluster-port';

export type CloseReason =
  'broadcaster_left' | 'grace_expired' | 'closed_by_admin' | 'server_shutdown';

/** What signalling needs from egress; implemented by server/egress/egress-manager.ts. */
export interface EgressPort {
  mirrorOn(roomId: RoomCode): boolean;
  /** Distinct recent HLS playlist readers. */
  hlsViewers(roomId: RoomCode): number;
  wantsH264(roomId: RoomCode): boolean;
  roomStarted(roomId: RoomCode): void;
  roomEnded(roomId: RoomCode): Promise<void>;
  status(roomId: RoomCode): EgressStatus;
  setMirror(
    roomId: RoomCode,
    on: boolean,
  ): { ok: true; status: EgressStatus } | { ok: false; code: ErrorCode; message: string };
  setRestream(
    roomId: RoomCode,
    target: string,
    on: boolean,
  ): { ok: true; status: EgressStatus } | { ok: false; code: ErrorCode; message: string };
}

/** Short display names; the same six-character id prefix the viewers panel shows. */
function chatName(role: 'broadcaster' | 'viewer', peerId: string): string {
  return role === 'broadcaster' ? 'Host' : `Viewer ${peerId.slice(0, 6)}`;
}

/**
 * Socket.IO glue: turns events into registry calls and registry outcomes into emits.
 * Room state lives in RoomRegistry; this class only routes.
 */
export class Signalling {
  readonly #deps: SignallingDeps;
  #changedRooms = new Set<RoomCode>();
  /** One relay hub per room that has had a relay viewer or chunk; removed when the room ends. */
  readonly #hubs = new Map<RoomCode, RelayHub>();
  /** The last relay_demand sent per room: egress status ticks must not repeat it. */
  readonly #lastDemand = new Map<RoomCode, RelayDemand>();
  readonly #abuse: AbuseLimits;
  /** Several nodes behind Redis (REDIS_URL); unset → everything stays in this process. */
  #cluster: ClusterPort | undefined;
  readonly #features: SignallingFeature[] = [];

  constructor(deps: SignallingDeps) {
    this.#deps = deps;
    this.#abuse =
      deps.abuse ??
      new AbuseLimits({ failedJoinsPerMin: 10, createRoomsPerMin: 30, apiRequestsPerMin: 300 });
  }

  /** A feature module's events and room hooks (server/sfu); call before sockets connect. */
  addFeature(feature: SignallingFeature): void {
    this.#features.push(feature);
    Object.assign(this.#specs, feature.events);
  }

  /** Routes room events through Redis from now on (set once Redis is connected). */
  attachCluster(cluster: ClusterPort): void {
    this.#cluster = cluster;
  }

  /** True when the server wants a token from broadcasters. */
  get broadcastTokenRequired(): boolean {
    return (this.#deps.access?.broadcastToken ?? null) !== null;
  }

  handleConnection(socket: AppSocket): void {
    const { log, now, welcomeIceServers } = this.#deps;
    socket.data.connectedAt = now();
    if (socket.recovered) {
      // Socket.IO restored the id and its rooms, but the registry dropped this peer when it
      // disconnected: leave those rooms until the client rejoins or reclaims.
      for (const room of socket.rooms) if (room !== socket.id) void socket.leave(room);
    }
    const hops = this.#deps.access?.trustProxyHops ?? 0;
    socket.data.ip = clientIp(
      socket.handshake.address,
      socket.handshake.headers['x-forwarded-for'],
      hops,
    );
    const required = this.#deps.access?.broadcastToken ?? null;
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    socket.data.mayBroadcast = required === null || secretEquals(auth?.token, required);
    const ctx: HandlerContext = {
      socket,
      log: log.child({ peer: socket.id }),
      limits: createRateLimiters(now),
      metrics: this.#deps.metrics,
    };
    const caller = localCaller(socket, ctx.log);
    guardUnknownEvents(ctx);
    for (const [event, spec] of Object.entries(this.#specs) as [ClientEventName, EventSpec][]) {
      registerHandler(ctx, event, {
        schema: spec.schema,
        rateLimit: spec.rateLimit,
        handle: (payload) =>
          this.#cluster
            ? this.#cluster.route(caller, event, spec.route, payload)
            : spec.run(caller, payload),
      });
    }
    socket.on('disconnect', (reason) => {
      if (this.#cluster?.routeDisconnect(caller, reason)) return;
      this.handleDisconnect(caller, reason);
    });
    socket.emit('welcome', {
      clientId: socket.id,
      protocolVersion: PROTOCOL_VERSION,
      iceServers: welcomeIceServers(),
      broadcastTokenRequired: this.broadcastTokenRequired,
    });
    ctx.log.debug('connected');
  }

  /** Every client event's spec (see EventSpec); features add theirs. */
  readonly #specs: Partial<Record<ClientEventName, EventSpec>> = {
    create_room: {
      schema: CreateRoomSchema,
      rateLimit: 'request',
      route: 'here',
      run: (c, p) => this.handleCreateRoom(c, p as CreateRoomRequest),
    },
    reclaim_room: {
      schema: ReclaimRoomSchema,
      rateLimit: 'request',
      route: 'by-code',
      run: (c, p) => this.handleReclaimRoom(c, p as ReclaimRoomRequest),
    },
    join_room: {
      schema: JoinRoomSchema,
      rateLimit: 'request',
      route: 'by-code',
      run: (c, p) => this.handleJoinRoom(c, p as JoinRoomRequest),
    },
    leave_room: {
      schema: LeaveRoomSchema,
      rateLimit: 'request',
      route: 'by-membership',
      run: (c) => this.handleLeaveRoom(c),
    },
    signal: {
      schema: SignalSchema,
      rateLimit: 'media',
      route: 'by-membership',
      run: (c, p) => this.handleSignal(c, p as SignalRequest),
    },
    stats: {
      schema: StatsReportSchema,
      rateLimit: 'media',
      route: 'by-membership',
      run: (c, p) => this.handleStats(c, p as StatsReport),
    },
    chat: {
      schema: ChatSendSchema,
      rateLimit: 'chat',
      route: 'by-membership',
      run: (c, p) => this.handleChat(c, p as ChatSendRequest),
    },
    relay_subscribe: {
      schema: RelaySubscribeSchema,
      rateLimit: 'request',
      route: 'by-membership',
      run: (c, p) => this.handleRelaySubscribe(c, p as RelaySubscribeRequest),
    },
    relay_unsubscribe: {
      schema: RelayUnsubscribeSchema,
      rateLimit: 'request',
      route: 'by-membership',
      run: (c) => this.handleRelayUnsubscribe(c),
    },
    request_offer: {
      schema: RequestOfferSchema,
      rateLimit: 'request',
      route: 'by-membership',
      run: (c) => this.handleRequestOffer(c),
    },
    keyframe_request: {
      schema: KeyframeRequestSchema,
      rateLimit: 'media',
      route: 'by-membership',
      run: (c) => this.handleKeyframeRequest(c),
    },
    relay_chunk: {
      schema: RelayChunkSchema,
      rateLimit: 'relay',
      route: 'by-membership',
      run: (c, p) => this.handleRelayChunk(c, p as ParsedRelayChunk),
    },
    egress_set: {
      schema: EgressSetSchema,
      rateLimit: 'request',
      route: 'by-membership',
      run: (c, p) => this.handleEgressSet(c, p as EgressSetRequest),
    },
    restream_set: {
      schema: RestreamSetSchema,
      rateLimit: 'request',
      route: 'by-membership',
      run: (c, p) => this.handleRestreamSet(c, p as RestreamSetRequest),
    },
  };

  /** The spec of one event, for a node that runs an event forwarded to it. */
  eventSpec(event: ClientEventName): EventSpec {
    return this.#specs[event] ?? UNHANDLED_EVENT;
  }

  async handleCreateRoom(
    caller: Caller,
    payload: CreateRoomRequest,
  ): Promise<AckResult<CreateRoomResult>> {
    if (!caller.mayBroadcast) {
      return ackError('UNAUTHORIZED', 'This server needs a broadcast token to go live.');
    }
    if (this.#deps.registry.membershipOf(caller.id)) return ackError('ALREADY_IN_ROOM');
    const wait = await this.#abuse.tryCreateRoom(caller.ip);
    if (wait !== null) return ackError('RATE_LIMITED', rateLimitedMessage(wait));
    const password = payload.password ? await hashPassword(payload.password) : null;
    const cluster = this.#cluster;
    // With several nodes the code comes from Redis (SET NX), so two nodes never hand out one.
    const code = cluster ? await cluster.allocateCode() : undefined;
    if (code === null) return ackError('SERVER_BUSY');
    if (!caller.connected()) {
      if (code) cluster?.roomClosed(code);
      return ackError('NOT_IN_ROOM');
    }
    const options = { title: payload.title, listed: payload.listed, relayOnly: payload.relayOnly };
    const result = this.#deps.registry.createRoom(caller.id, { ...options, password }, code);
    if (!result.ok) {
      if (code) cluster?.roomClosed(code);
      return ackError(result.code);
    }
    const { room, broadcasterToken } = result.value;
    caller.join(socketRoom(room.id));
    caller.log.info(
      { room: room.id, listed: room.listed, relayOnly: room.relayOnly },
      'room created',
    );
    // Forced mirror / recording start now; the broadcaster hears egress_status either way.
    if (this.#deps.egress) this.#deps.egress.roomStarted(room.id);
    return ackOk({
      roomId: room.id,
      broadcasterToken,
      iceServers: this.#deps.roomIceServers(caller.id),
      viewers: [],
      relayViewers: [],
    });
  }

  async handleReclaimRoom(
    caller: Caller,
    payload: ReclaimRoomRequest,
  ): Promise<AckResult<CreateRoomResult>> {
    const { io, registry } = this.#deps;
    const roomId = payload.roomId as RoomCode;
    // ROOM_NOT_FOUND vs UNAUTHORIZED tells whether a code is live, so reclaim failures share the
    // failed-join budget: probing by reclaim is capped like probing by join.
    const blockedFor = await this.#abuse.joinBlockedFor(caller.ip);
    if (blockedFor !== null) return ackError('RATE_LIMITED', rateLimitedMessage(blockedFor));
    // A room gone after a restart comes back under its code, with what the broadcaster resends.
    // Re-creating is creating: it needs the broadcast token.
    const cluster = this.#cluster;
    let canRecreate = caller.mayBroadcast && !registry.getRoom(roomId);
    if (canRecreate && cluster) {
      // Ended on purpose on any node, or now held by another node: nothing to re-create here.
      const nonce = registry.tokenNonceDigest(roomId, payload.broadcasterToken);
      canRecreate =
        nonce !== null && !(await cluster.isRevoked(nonce)) && (await cluster.claimCode(roomId));
    }
    const recreate = canRecreate
      ? {
          title: payload.title,
          listed: payload.listed,
          relayOnly: payload.relayOnly,
          password: payload.password ? await hashPassword(payload.password) : null,
        }
      : undefined;
    if (!caller.connected()) return ackError('NOT_IN_ROOM');
    const result = registry.reclaimRoom(roomId, payload.broadcasterToken, caller.id, recreate);
    if (!result.ok) {
      if (recreate && cluster && !registry.getRoom(roomId)) cluster.roomClosed(roomId);
      caller.log.info({ room: roomId, code: result.code }, 'reclaim refused');
      if (result.code === 'ROOM_NOT_FOUND' || result.code === 'UNAUTHORIZED') {
        await this.#abuse.recordFailedJoin(caller.ip);
      }
      return ackError(result.code);
    }
    const { room, previousBroadcasterId, wasOnline } = result.value;
    if (result.value.recreated) {
      caller.join(socketRoom(room.id));
      caller.log.info({ room: room.id }, 'room re-created by reclaim');
    }
    // A recovered socket keeps its id, so an offline seat coming back counts as a change too.
    if (previousBroadcasterId !== caller.id || !wasOnline) {
      // The old socket may still be connected (not timed out yet): unbind it.
      if (previousBroadcasterId !== caller.id) {
        io.in(previousBroadcasterId).socketsLeave(socketRoom(room.id));
      }
      caller.join(socketRoom(room.id));
      io.to(socketRoom(room.id)).except(caller.id).emit('broadcaster_status', {
        roomId: room.id,
        broadcasterId: caller.id,
        online: true,
      });
      // A new upstream: what was cached came from the old connection's encoder.
      this.#hubs.get(room.id)?.resetSource();
      this.#cluster?.relayReset(room.id);
      this.#markChanged(room.id);
      for (const feature of this.#features) feature.broadcasterChanged?.(room.id);
    }
    this.#sendDemand(room.id, true);
    if (this.#deps.egress) {
      this.#deps.egress.roomStarted(room.id);
      this.#deps.io.to(caller.id).emit('egress_status', this.#deps.egress.status(room.id));
    }
    caller.log.info({ room: room.id, viewers: room.viewers.size }, 'room reclaimed');
    return ackOk({
      roomId: room.id,
      broadcasterToken: payload.broadcasterToken,
      iceServers: this.#deps.roomIceServers(caller.id),
      viewers: [...room.viewers.keys()],
      // Relay and SFU viewers: the broadcaster makes no peer connection for them.
      relayViewers: [...room.viewers].filter(([, v]) => v.mode !== 'webrtc').map(([id]) => id),
    });
  }

  async handleJoinRoom(
    caller: Caller,
    payload: JoinRoomRequest,
  ): Promise<AckResult<JoinRoomResult>> {
    const { io, registry } = this.#deps;
    const roomId = payload.roomId as RoomCode;
    const { ip } = caller;
    const blockedFor = await this.#abuse.joinBlockedFor(ip);
    if (blockedFor !== null) return ackError('RATE_LIMITED', rateLimitedMessage(blockedFor));
    // Members already know where they are: no password and no scrypt for them.
    if (!registry.membershipOf(caller.id)) {
      // A missing room and a wrong password cost one scrypt each and answer the same.
      const room = registry.getRoom(roomId);
      const stored = registry.passwordOf(roomId);
      const admitted =
        room !== undefined &&
        (stored === null ? true : await checkPassword(stored, payload.password));
      if (room === undefined) await checkPassword(null, payload.password);
      if (!admitted || registry.getRoom(roomId) !== room) {
        await this.#abuse.recordFailedJoin(ip);
        return ackError('ROOM_NOT_FOUND');
      }
      if (!caller.connected()) return ackError('NOT_IN_ROOM');
    }
    const result = registry.joinRoom(roomId, caller.id, (r) => this.#pickMode(r));
    if (!result.ok) {
      if (result.code === 'ROOM_NOT_FOUND') await this.#abuse.recordFailedJoin(ip);
      return ackError(result.code);
    }
    const { room, alreadyJoined } = result.value;
    const entry = room.viewers.get(caller.id);
    const mode: ViewerMode = entry?.mode ?? 'webrtc';
    const modeReason: ModeReason | null = entry?.modeReason ?? null;
    if (!alreadyJoined) {
      caller.join(socketRoom(room.id));
      if (room.broadcasterOnline) {
        // A relay viewer gets no offer: the broadcaster makes no peer connection for it. A WebRTC
        // viewer's peer connection gets freshly minted TURN credentials (the create ack's expire).
        io.to(room.broadcasterId).emit(
          'viewer_joined',
          mode === 'webrtc'
            ? {
                viewerId: caller.id,
                mode,
                iceServers: this.#deps.roomIceServers(room.broadcasterId),
              }
            : { viewerId: caller.id, mode },
        );
      }
      caller.log.info(
        { room: room.id, viewers: room.viewers.size, mode, modeReason },
        'viewer joined',
      );
      this.#markChanged(room.id);
    }
    return ackOk({
      roomId: room.id,
      broadcasterId: room.broadcasterId,
      broadcasterOnline: room.broadcasterOnline,
      title: room.title,
      iceServers: this.#deps.roomIceServers(caller.id),
      mode,
      modeReason,
      relayAvailable: this.#deps.relay.enabled,
      hlsMirror: this.#deps.egress?.mirrorOn(room.id) ?? false,
      ladder: {
        mediaTimeoutMs: this.#deps.ladder.mediaTimeoutMs,
        retryIntervalMs: this.#deps.ladder.retryIntervalMs,
      },
    });
  }

  handleEgressSet(caller: Caller, payload: EgressSetRequest): AckResult<EgressStatus> {
    const room = this.#broadcasterRoom(caller);
    if (!room.ok) return room.error;
    const egress = this.#deps.egress;
    if (!egress) return ackError('SERVER_BUSY', 'Egress is not available on this server.');
    const result = egress.setMirror(room.roomId, payload.hls);
    if (!result.ok) return ackError(result.code, result.message);
    caller.log.info({ room: room.roomId, hls: payload.hls }, 'hls mirror switched');
    return ackOk(result.status);
  }

  handleRestreamSet(caller: Caller, payload: RestreamSetRequest): AckResult<EgressStatus> {
    const room = this.#broadcasterRoom(caller);
    if (!room.ok) return room.error;
    const egress = this.#deps.egress;
    if (!egress) return ackError('SERVER_BUSY', 'Egress is not available on this server.');
    const result = egress.setRestream(room.roomId, payload.target, payload.on);
    if (!result.ok) return ackError(result.code, result.message);
    caller.log.info(
      { room: room.roomId, target: payload.target, on: payload.on },
      'restream switched',
    );
    return ackOk(result.status);
  }

  /** Egress changed state: the broadcaster sees it, and relay demand may change (H.264). */
  handleEgressChange(roomId: RoomCode, status: EgressStatus): void {
    const room = this.#deps.registry.getRoom(roomId);
    if (!room) return;
    if (room.broadcasterOnline) this.#deps.io.to(room.broadcasterId).emit('egress_status', status);
    this.#sendDemand(roomId);
  }

  /** The room's relay hub if it has one (other nodes' keyframe requests and unsubscribes). */
  existingRelayHub(roomId: RoomCode): RelayHub | undefined {
    return this.#hubs.get(roomId);
  }

  /** The room's relay hub, created on first use (egress subscribes to it like a viewer). */
  relayHub(roomId: RoomCode): RelayHub {
    return this.#hubFor(roomId);
  }

  #broadcasterRoom(
    caller: Caller,
  ): { ok: true; roomId: RoomCode } | { ok: false; error: AckResult<never> } {
    const membership = this.#deps.registry.membershipOf(caller.id);
    if (!membership) return { ok: false, error: ackError('NOT_IN_ROOM') };
    if (membership.role !== 'broadcaster') return { ok: false, error: ackError('NOT_BROADCASTER') };
    return { ok: true, roomId: membership.room.id };
  }

  handleLeaveRoom(caller: Caller): AckResult<null> {
    const result = this.#deps.registry.leave(caller.id);
    if (!result.ok) return ackError(result.code);
    const outcome = result.value;
    if (outcome.kind === 'viewer_left') {
      caller.leave(socketRoom(outcome.room.id));
      this.#afterViewerLeft(outcome.room, outcome.viewerId);
      caller.log.info({ room: outcome.room.id }, 'viewer left');
    } else {
      this.#closeSocketRoom(outcome.room.id, 'broadcaster_left', caller.id);
      caller.log.info({ room: outcome.room.id }, 'room closed by broadcaster');
    }
    return ackOk(null);
  }

  /** Only broadcaster ↔ viewer of the same room; `from` is always the sender's socket id. */
  handleSignal(caller: Caller, payload: SignalRequest): AckResult<null> {
    const membership = this.#deps.registry.membershipOf(caller.id);
    if (!membership) return ackError('NOT_IN_ROOM');
    const { room, role } = membership;
    const reachable =
      role === 'broadcaster'
        ? room.viewers.has(payload.to)
        : payload.to === room.broadcasterId && room.broadcasterOnline;
    if (!reachable) return ackError('PEER_NOT_FOUND');
    const message: SignalMessage = { from: caller.id };
    if (payload.description !== undefined) message.description = payload.description;
    if (payload.candidate !== undefined) message.candidate = payload.candidate;
    this.#deps.io.to(payload.to).emit('signal', message);
    caller.log.debug(
      { room: room.id, to: payload.to, kind: payload.description?.type ?? 'candidate' },
      'signal',
    );
    return ackOk(null);
  }

  handleStats(caller: Caller, report: StatsReport): AckResult<null> {
    const { registry, stats } = this.#deps;
    const membership = registry.membershipOf(caller.id);
    if (!membership) return ackError('NOT_IN_ROOM');
    const { room, role } = membership;
    if (report.role === 'viewer') {
      if (role !== 'viewer')
        return ackError('INVALID_PAYLOAD', 'The broadcaster reports as broadcaster.');
      stats.recordViewerReport(room.id, caller.id, report.inbound);
    } else {
      if (role !== 'broadcaster') return ackError('NOT_BROADCASTER');
      stats.recordBroadcasterReport(room.id, report.totalUploadKbps, report.peers, (id) =>
        room.viewers.has(id),
      );
    }
    return ackOk(null);
  }

  handleChat(caller: Caller, payload: ChatSendRequest): AckResult<ChatMessage> {
    const membership = this.#deps.registry.membershipOf(caller.id);
    if (!membership) return ackError('NOT_IN_ROOM');
    const { room, role } = membership;
    const message: ChatMessage = {
      id: randomUUID(),
      roomId: room.id,
      from: caller.id,
      role,
      name: chatName(role, caller.id),
      text: payload.text,
      at: this.#deps.now(),
    };
    // The sender gets the broadcast too, so every client renders chat from one place.
    this.#deps.io.to(socketRoom(room.id)).emit('chat', message);
    return ackOk(message);
  }

  /** A viewer moves to the relay: its mode changes, then the GOP cache and live chunks flow. */
  handleRelaySubscribe(caller: Caller, payload: RelaySubscribeRequest): AckResult<null> {
    const membership = this.#viewerMembership(caller);
    if (!membership.ok) return membership.error;
    if (!this.#deps.relay.enabled) {
      return ackError('UNAUTHORIZED', 'The server relay is switched off.');
    }
    const { room } = membership;
    this.#deps.registry.setViewerMode(caller.id, 'relay', payload.reason);
    this.#markChanged(room.id);
    // After the ack has gone out, so the client hears "subscribed" before the first chunk.
    setImmediate(() => {
      const still = this.#deps.registry.membershipOf(caller.id);
      if (!caller.connected() || still?.room.id !== room.id) return;
      if (still.room.viewers.get(caller.id)?.mode !== 'relay') return;
      // A viewer on another node gets the room's chunks through that node's mirror hub.
      this.#hubFor(room.id).subscribe(
        caller.socket ? socketSink(caller.socket) : this.#cluster!.nodeSink(room.id, caller.node!),
      );
    });
    caller.log.info({ room: room.id, reason: payload.reason }, 'relay subscribe');
    return ackOk(null);
  }

  /** The viewer's WebRTC path works (again): stop relaying to it. */
  handleRelayUnsubscribe(caller: Caller): AckResult<null> {
    const membership = this.#viewerMembership(caller);
    if (!membership.ok) return membership.error;
    const { room } = membership;
    this.#deps.registry.setViewerMode(caller.id, 'webrtc', null);
    this.#hubs.get(room.id)?.unsubscribe(caller.id);
    this.#cluster?.viewerChanged(room.id, caller.id, false);
    this.#markChanged(room.id);
    caller.log.info({ room: room.id }, 'relay unsubscribe');
    return ackOk(null);
  }

  /**
   * A viewer wants a fresh WebRTC offer (ladder retry): tell its broadcaster only. Both sides
   * get freshly minted ICE servers, so a retry hours into a broadcast can still allocate TURN.
   */
  handleRequestOffer(caller: Caller): AckResult<{ iceServers: IceServer[] }> {
    const membership = this.#viewerMembership(caller);
    if (!membership.ok) return membership.error;
    const { room } = membership;
    if (!room.broadcasterOnline) return ackError('PEER_NOT_FOUND');
    const { io, roomIceServers } = this.#deps;
    io.to(room.broadcasterId).emit('offer_requested', {
      viewerId: caller.id,
      iceServers: roomIceServers(room.broadcasterId),
    });
    caller.log.debug({ room: room.id }, 'offer requested');
    return ackOk({ iceServers: roomIceServers(caller.id) });
  }

  /** A relay viewer's decoder needs a keyframe; the hub allows one request per second. */
  handleKeyframeRequest(caller: Caller): AckResult<null> {
    const membership = this.#viewerMembership(caller);
    if (!membership.ok) return membership.error;
    if (!this.#deps.relay.enabled) return ackOk(null);
    this.#hubFor(membership.room.id).requestKeyframe();
    return ackOk(null);
  }

  /** Media for the relay: only from the room's broadcaster, bounded per room by byte rate. */
  handleRelayChunk(caller: Caller, chunk: ParsedRelayChunk): AckResult<null> {
    const membership = this.#deps.registry.membershipOf(caller.id);
    if (!membership) return ackError('NOT_IN_ROOM');
    if (membership.role !== 'broadcaster') return ackError('NOT_BROADCASTER');
    if (!this.#deps.relay.enabled) {
      return ackError('UNAUTHORIZED', 'The server relay is switched off.');
    }
    const result = this.#hubFor(membership.room.id).publish(chunk.header, chunk.bytes);
    if (result.ok) this.#deps.metrics?.relayBytesIn.inc(chunk.bytes.byteLength);
    if (!result.ok) {
      caller.log.debug({ room: membership.room.id }, 'relay chunk over the room byte rate');
      return ackError('RATE_LIMITED', 'The room relay byte rate is exceeded.');
    }
    return ackOk(null);
  }

  handleDisconnect(caller: Caller, reason: string): void {
    try {
      const outcome = this.#deps.registry.disconnect(caller.id);
      caller.log.debug({ reason }, 'disconnected');
      if (!outcome) return;
      const roomId = outcome.room.id;
      if (outcome.kind === 'viewer_left') {
        this.#afterViewerLeft(outcome.room, outcome.viewerId);
        caller.log.info({ room: roomId, reason }, 'viewer disconnected');
      } else if (outcome.kind === 'broadcaster_offline') {
        this.#deps.io.to(socketRoom(roomId)).emit('broadcaster_status', {
          roomId,
          broadcasterId: caller.id,
          online: false,
        });
        this.#markChanged(roomId);
        caller.log.info({ room: roomId, reason }, 'broadcaster offline, grace period started');
      } else {
        this.#closeSocketRoom(roomId, 'broadcaster_left');
        caller.log.info({ room: roomId, reason }, 'room closed: broadcaster disconnected');
      }
    } catch (err) {
      caller.log.error({ err }, 'disconnect cleanup failed');
    }
  }

  /** Registry callback: the grace period ran out without a reclaim. */
  handleRoomExpired(room: RoomSnapshot): void {
    this.#closeSocketRoom(room.id, 'grace_expired');
    this.#deps.log.info({ room: room.id }, 'room closed: grace period expired');
  }

  /** Ends every room (server shutdown), telling its viewers why. */
  closeAllRooms(): void {
    const ids = [...this.#deps.registry.rooms()].map((room) => room.id);
    for (const roomId of ids) this.closeRoom(roomId, 'server_shutdown');
  }

  /**
   * Ends one room for an outside reason: everyone in it, the broadcaster included, gets
   * `room_closed`. False when there is no such room. An admin close also stops the
   * broadcaster's token from re-creating it; a shutdown keeps that possible (restart).
   */
  closeRoom(roomId: RoomCode, reason: CloseReason): boolean {
    if (!this.#deps.registry.getRoom(roomId)) return false;
    this.#deps.registry.closeRoom(roomId, reason !== 'server_shutdown');
    this.#closeSocketRoom(roomId, reason);
    this.#deps.log.info({ room: roomId, reason }, 'room closed');
    return true;
  }

  /** What the admin API lists: every room with its counts and relay state. */
  adminRooms() {
    const { registry, egress } = this.#deps;
    return [...registry.rooms()].map((room) => ({
      roomId: room.id,
      title: room.title,
      listed: room.listed,
      relayOnly: room.relayOnly,
      passwordProtected: registry.passwordOf(room.id) !== null,
      createdAt: room.createdAt,
      broadcasterOnline: room.broadcasterOnline,
      viewerCount: room.viewers.size,
      modeCounts: registry.modeCounts(room.id),
      relaySubscribers: this.#hubs.get(room.id)?.subscriberCount ?? 0,
      hlsMirror: egress?.mirrorOn(room.id) ?? false,
      hlsViewers: egress?.hlsViewers(room.id) ?? 0,
    }));
  }

  publishSummary(roomId: RoomCode): void {
    const room = this.#deps.registry.getRoom(roomId);
    if (!room) return;
    const viewers = [...room.viewers].map(([viewerId, v]) => ({ viewerId, joinedAt: v.joinedAt }));
    const summary = this.#deps.stats.summarize({
      roomId,
      broadcasterOnline: room.broadcasterOnline,
      viewers,
      hlsViewers: this.#deps.egress?.hlsViewers(roomId) ?? 0,
      hlsMirror: this.#deps.egress?.mirrorOn(roomId) ?? false,
      audience: this.#features.map((f) => f.audience?.(roomId) ?? {}),
    });
    this.#deps.metrics?.recordPathCounts(roomId, summary.pathCounts);
    this.#deps.io.to(socketRoom(roomId)).emit('stats_summary', summary);
  }

  /**
   * One tick of the periodic summary. Rooms are spread over `slices` ticks by their code, so a
   * thousand rooms never share one event-loop turn (that stalled joins in the load benchmark).
   * Empty rooms are skipped: joins and leaves already publish at once.
   */
  publishSummarySlice(slice: number, slices: number): void {
    const changed = this.#changedRooms;
    this.#changedRooms = new Set();
    for (const roomId of changed) this.publishSummary(roomId);
    for (const room of this.#deps.registry.rooms()) {
      if (changed.has(room.id) || room.viewers.size === 0) continue;
      if (Number(room.id) % slices === slice) this.publishSummary(room.id);
    }
  }

  /**
   * Joins and leaves publish on the next tick rather than at once, so a burst of N joins sends
   * one summary per tick instead of N summaries to N viewers.
   */
  #markChanged(roomId: RoomCode): void {
    this.#changedRooms.add(roomId);
  }

  /**
   * How a new viewer is served: the relay when the broadcaster asked for relay only (`forced`);
   * when its mesh is full or its uplink is saturated, a feature's rung (the SFU) or else the
   * relay (if on); else WebRTC.
   */
  #pickMode(room: RoomSnapshot): { mode: ViewerMode; modeReason: ModeReason | null } {
    const { relay, ladder, registry, stats } = this.#deps;
    if (room.relayOnly && relay.enabled) return { mode: 'relay', modeReason: 'forced' };
    const modeReason: ModeReason | null =
      registry.modeCounts(room.id).webrtc >= ladder.maxMeshViewers
        ? 'overflow'
        : stats.isUplinkSaturated(room.id)
          ? 'uplink_saturated'
          : null;
    const mode = modeReason && this.#features.map((f) => f.overflowMode?.(room)).find(Boolean);
    if (mode) return { mode, modeReason };
    if (modeReason && relay.enabled) return { mode: 'relay', modeReason };
    return { mode: 'webrtc', modeReason: null };
  }

  #viewerMembership(
    caller: Caller,
  ): (Membership & { ok: true }) | { ok: false; error: AckResult<never> } {
    const membership = this.#deps.registry.membershipOf(caller.id);
    if (!membership) return { ok: false, error: ackError('NOT_IN_ROOM') };
    if (membership.role !== 'viewer') {
      return { ok: false, error: ackError('UNAUTHORIZED', 'Only viewers can do that.') };
    }
    return { ok: true, ...membership };
  }

  #hubFor(roomId: RoomCode): RelayHub {
    let hub = this.#hubs.get(roomId);
    if (!hub) {
      const { relay, io, registry } = this.#deps;
      const log = (this.#deps.relayLog ?? this.#deps.log).child({ room: roomId });
      hub = new RelayHub({
        gopCacheBytes: relay.gopCacheBytes,
        viewerBacklogBytes: relay.viewerBacklogBytes,
        maxRoomKbps: relay.maxRoomKbps,
        now: this.#deps.now,
        onDemandChange: (active, relayViewers) => {
          log.info({ active, relayViewers }, 'relay demand');
          this.#sendDemand(roomId);
        },
        onDelivery: (decision, bytes) => {
          const metrics = this.#deps.metrics;
          if (decision === 'send') metrics?.relayBytesOut.inc(bytes);
          else metrics?.relayFramesDroppedBacklog.inc();
        },
        onKeyframeNeeded: () => {
          const room = registry.getRoom(roomId);
          if (room?.broadcasterOnline) io.to(room.broadcasterId).emit('keyframe_requested', {});
        },
      });
      this.#hubs.set(roomId, hub);
    }
    return hub;
  }

  /** Tells the broadcaster whether to run its relay encoder (on changes and on reclaim). */
  #sendDemand(roomId: RoomCode, force = false): void {
    const room = this.#deps.registry.getRoom(roomId);
    if (!room?.broadcasterOnline) return;
    const hub = this.#hubs.get(roomId);
    const demand = {
      // Egress subscribers count as demand, but not as relay viewers.
      active: (hub?.subscriberCount ?? 0) > 0,
      relayViewers: (hub?.viewerCount ?? 0) + (this.#cluster?.remoteRelayViewers(roomId) ?? 0),
      // ffmpeg copies H.264 instead of re-encoding it.
      preferH264: this.#deps.egress?.wantsH264(roomId) ?? false,
    };
    const last = this.#lastDemand.get(roomId);
    if (
      last &&
      last.active === demand.active &&
      last.relayViewers === demand.relayViewers &&
      last.preferH264 === demand.preferH264 &&
      !force
    ) {
      return;
    }
    this.#lastDemand.set(roomId, demand);
    this.#deps.io.to(room.broadcasterId).emit('relay_demand', demand);
  }

  #afterViewerLeft(room: RoomSnapshot, viewerId: string): void {
    for (const feature of this.#features) feature.viewerLeft?.(room.id, viewerId);
    this.#hubs.get(room.id)?.unsubscribe(viewerId);
    this.#cluster?.viewerChanged(room.id, viewerId, true);
    this.#deps.stats.removeViewer(room.id, viewerId);
    if (room.broadcasterOnline) {
      this.#deps.io.to(room.broadcasterId).emit('viewer_left', { viewerId });
    }
    this.#markChanged(room.id);
  }

  #closeSocketRoom(
    roomId: RoomCode,
    reason: CloseReason,
    /** The broadcaster who ended it already knows. */
    exceptPeer?: string,
  ): void {
    const { io, stats } = this.#deps;
    const audience = exceptPeer
      ? io.to(socketRoom(roomId)).except(exceptPeer)
      : io.to(socketRoom(roomId));
    audience.emit('room_closed', { roomId, reason });
    io.in(socketRoom(roomId)).socketsLeave(socketRoom(roomId));
    stats.removeRoom(roomId);
    this.#lastDemand.delete(roomId);
    // Egress first: it unsubscribes from the hub and ends its outputs (HLS gets ENDLIST).
    void this.#deps.egress?.roomEnded(roomId).catch((err: unknown) => {
      this.#deps.log.warn({ room: roomId, err: (err as Error).message }, 'egress end failed');
    });
    this.#deps.metrics?.recordPathCounts(roomId, null);
    this.#hubs.get(roomId)?.close();
    this.#hubs.delete(roomId);
    this.#cluster?.roomClosed(roomId);
    for (const feature of this.#features) feature.roomClosed?.(roomId);
  }
}
