import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { Server } from 'socket.io';
import {
  LIMITS,
  STATS_SUMMARY_INTERVAL_MS,
  type ListedRoom,
  type PublicStream,
} from '../shared/index';
import { AbuseLimits } from './abuse-limits';
import { loadOrCreateRoomSecret } from './broadcaster-token';
// The cluster code (and the redis package) is loaded only when REDIS_URL is set.
import type { Cluster } from './cluster/cluster';
import { redactRedisUrl } from './cluster/redis-url';
import type { Config } from './config';
import { probeFfmpeg, type FfmpegProbe } from './egress/ffmpeg-binary';
import { EgressManager } from './egress/egress-manager';
import type { RelaySource } from './egress/ffmpeg-pipeline';
import { createHttpApp, originAllowed } from './http-routes';
import { roomIceServers, welcomeIceServers } from './ice-servers';
import { subsystemLogger, type Logger } from './logger';
import { Metrics } from './metrics';
import { Readiness, turnCheck } from './readiness';
import { RoomRegistry, type Timers } from './room-registry';
import { Signalling } from './signalling';
import { createSfu, type SfuService } from './sfu/index';
import type { AppServer } from './socket-types';
import { StatsAggregator } from './stats-aggregator';
import { turnStatus } from './ice-servers';

export interface AppDeps {
  config: Config;
  logger: Logger;
  now?: () => number;
  /** Grace-period timers; tests inject fakes so expiry is instant. */
  timers?: Timers;
  /** ffmpeg's probe result; tests may inject one (default: run `ffmpeg -version`). */
  ffmpeg?: FfmpegProbe;
  /** PEM certificate and key: HTTPS and WSS on the same port (see server/tls.ts). */
  tls?: { cert: string; key: string };
  /** Created here when absent; egress increments `ffmpegRestarts`. */
  metrics?: Metrics;
  /** Created here when absent; egress and Redis register their checks on it. */
  readiness?: Readiness;
  /** Overrides ROOM_SECRET / the DATA_DIR file (tests). */
  roomSecret?: string;
}

export interface App {
  app: Express;
  httpServer: HttpServer;
  io: AppServer;
  registry: RoomRegistry;
  egress: EgressManager;
  metrics: Metrics;
  readiness: Readiness;
  /** `https` when started with a certificate. */
  scheme: 'http' | 'https';
  signalling: Signalling;
  /** The server WebRTC rung and WHEP (off with a reason when unavailable). */
  sfu: SfuService;
  listen(port?: number, host?: string): Promise<{ port: number }>;
  close(): Promise<void>;
}

/** Socket.IO's default path, which engine.io serves itself. */
const SOCKET_IO_PATH = '/socket.io/';

/** How long Socket.IO keeps a dropped socket's session (id, rooms, missed events). */
const CONNECTION_RECOVERY_MS = 2 * 60 * 1000;

/** The once-a-second summaries go out in this many evenly spaced batches. */
const SUMMARY_SLICES = 10;

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Wires the parts together; no side effects until `listen`. */
export function createApp(deps: AppDeps): App {
  const { config, logger } = deps;
  const now = deps.now ?? Date.now;
  const roomsLog = subsystemLogger(logger, 'rooms');

  const roomSecret =
    deps.roomSecret ?? loadOrCreateRoomSecret(config.access.roomSecret, config.access.dataDir);
  const abuse = new AbuseLimits(config.limits);

  const registry = new RoomRegistry({
    roomSecret,
    maxViewersPerRoom: config.rooms.maxViewersPerRoom,
    maxRooms: config.rooms.maxRooms,
    reclaimGraceMs: config.rooms.reclaimGraceMs,
    now,
    timers: deps.timers,
    // `signalling` is created below; expiry can only fire after that.
    onRoomExpired: (room) => signalling.handleRoomExpired(room),
    onRevoke: (nonceDigest) => cluster?.router.revoke(nonceDigest),
  });
  /** Several nodes (REDIS_URL): joined after listen; handshakes wait for it. */
  const redisUrl = config.redis.url;
  const nodeId = randomUUID();
  let cluster: Cluster | null = null;
  let closing = false;
  const clusterLog = subsystemLogger(logger, 'cluster');

  // https.Server extends tls.Server, not http.Server, but serves the same request/upgrade API.
  const httpServer: HttpServer = deps.tls
    ? (createHttpsServer({ cert: deps.tls.cert, key: deps.tls.key }) as unknown as HttpServer)
    : createServer();
  const io: AppServer = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: LIMITS.maxMessageBytes,
    cors: {
      origin: config.access.allowedOrigins.length > 0 ? config.access.allowedOrigins : false,
    },
    // CORS headers do not bind WebSockets: refuse foreign Origins at the handshake itself.
    allowRequest: (req, callback) => {
      // A node not yet in the cluster would hold sockets the other nodes cannot reach.
      if (redisUrl && !cluster) return callback('Waiting for Redis.', false);
      callback(
        null,
        originAllowed(req.headers.origin, req.headers.host, config.access.allowedOrigins),
      );
    },
    // A dropped socket that comes back within this keeps its id and gets the events it missed.
    connectionStateRecovery: {
      maxDisconnectionDuration: CONNECTION_RECOVERY_MS,
      skipMiddlewares: true,
    },
  });

  const metrics =
    deps.metrics ??
    new Metrics({ rooms: () => registry.roomCount, clients: () => io.engine.clientsCount });
  const egressLog = subsystemLogger(logger, 'egress');
  const ffmpeg = deps.ffmpeg ?? probeFfmpeg(config.egress.ffmpegPath);
  if (ffmpeg.available) egressLog.info({ version: ffmpeg.version }, 'ffmpeg found: egress on');
  else egressLog.warn({ reason: ffmpeg.reason }, 'egress off: HLS mirror and restream disabled');
  const egress: EgressManager = new EgressManager({
    config: config.egress,
    relayEnabled: config.relay.enabled,
    ffmpeg,
    // `signalling` is created below; egress only calls these after a room exists.
    hubFor: (roomId): RelaySource => signalling.relayHub(roomId),
    roomInfo: (roomId) => {
      const room = registry.getRoom(roomId);
      return room
        ? { title: room.title, startedAt: room.createdAt, viewerCount: room.viewers.size }
        : null;
    },
    onChange: (roomId, status) => signalling.handleEgressChange(roomId, status),
    log: egressLog,
    now,
    onFfmpegCrash: () => metrics.ffmpegRestarts.inc(),
  });
  const readiness = deps.readiness ?? new Readiness();
  // Egress and Redis may have registered their own checks on a readiness passed in.
  // The probe egress runs on (FFMPEG_PATH), not a PATH lookup of its own.
  readiness.registerDefault('ffmpeg', () =>
    ffmpeg.available
      ? { status: 'ok', detail: `ffmpeg ${ffmpeg.version}` }
      : { status: 'down', detail: ffmpeg.reason },
  );
  readiness.registerDefault('coturn', turnCheck(config.turn.urls, turnStatus(config).enabled));
  if (redisUrl) {
    readiness.register(
      'redis',
      () =>
        cluster
          ? cluster.check()
          : { status: 'down', detail: `connecting to ${redactRedisUrl(redisUrl)}` },
      { critical: true },
    );
  } else {
    readiness.registerDefault('redis', () => ({ status: 'off', detail: 'REDIS_URL not set' }));
  }

  const sfu = createSfu({
    config,
    log: subsystemLogger(logger, 'sfu'),
    registry,
    io,
    abuse,
    now,
    // `signalling` is created below; WHEP players only arrive after listen.
    publishSummary: (roomId) => signalling.publishSummary(roomId),
  });
  const app = createHttpApp({
    config,
    log: subsystemLogger(logger, 'http'),
    registry,
    clientCount: () => io.engine.clientsCount,
    now,
    startedAt: now(),
    version: readVersion(),
    egress,
    readiness,
    metrics,
    abuse,
    broadcastTokenRequired: config.access.broadcastToken !== null,
    routes: [{ path: '/whep', router: sfu.whep }],
    features: () => ({ sfu: sfu.status() }),
    admin: {
      rooms: () => cluster?.router.everywhere('admin_rooms', adminRoomsHere()) ?? adminRoomsHere(),
      closeRoom: (roomId) =>
        cluster?.router.closeRoomAnywhere(roomId) ??
        signalling.closeRoom(roomId, 'closed_by_admin'),
    },
    cluster: () => {
      const router = cluster?.router;
      if (!router) return null;
      const newestFirst = <T extends { startedAt: number }>(list: T[]) =>
        list.sort((a, b) => b.startedAt - a.startedAt);
      return {
        listedRooms: async (local) =>
          newestFirst((await router.everywhere('listed', local)) as ListedRoom[]),
        streams: async (local) =>
          newestFirst((await router.everywhere('streams', local)) as PublicStream[]),
        homeUrlOf: (roomId) => router.homeUrlOf(roomId),
      };
    },
  });
  // engine.io answers /socket.io/* (long-polling) on its own 'request' listener; Express must
  // not answer those too, or the poll's response gets a second set of headers.
  httpServer.on('request', (req, res) => {
    if (req.url?.startsWith(SOCKET_IO_PATH)) return;
    app(req, res);
  });

  const signalling: Signalling = new Signalling({
    io,
    registry,
    stats: new StatsAggregator({ now }),
    welcomeIceServers: () => welcomeIceServers(config),
    roomIceServers: (clientId) => roomIceServers(config, clientId, now()),
    log: subsystemLogger(logger, 'signalling'),
    now,
    relay: config.relay,
    ladder: config.ladder,
    relayLog: logger.child({ subsystem: 'relay' }),
    egress,
    metrics,
    access: config.access,
    abuse,
  });
  signalling.addFeature(sfu.feature);
  io.on('connection', (socket) => signalling.handleConnection(socket));

  let summaryTimer: NodeJS.Timeout | undefined;

  /** The admin list of this node's rooms; with several nodes each row says which node. */
  function adminRoomsHere() {
    const rooms = signalling.adminRooms();
    return redisUrl ? rooms.map((room) => ({ ...room, node: nodeId })) : rooms;
  }

  /** One attempt to join the other nodes through Redis; false (logged) when Redis is away. */
  async function tryJoinCluster(url: string, port: number): Promise<boolean> {
    try {
      const { startCluster } = await import('./cluster/cluster');
      const joined = await startCluster({
        url,
        nodeId,
        nodeUrl: config.redis.nodeUrl ?? `${deps.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
        io,
        registry,
        signalling,
        relay: config.relay,
        log: clusterLog,
        metrics,
        now,
        abuse,
      });
      joined.router.setViews({
        listedRooms: () => registry.listedRooms(),
        streams: () => egress.publicStreams(),
        adminRooms: adminRoomsHere,
        closeRoom: (roomId) => signalling.closeRoom(roomId, 'closed_by_admin'),
      });
      if (closing) await joined.close();
      else cluster = joined;
      return true;
    } catch (err) {
      clusterLog.error(
        { err: (err as Error).message, redis: redactRedisUrl(url) },
        'redis unreachable: this node refuses sockets until it connects',
      );
      return false;
    }
  }

  return {
    app,
    httpServer,
    io,
    registry,
    egress,
    metrics,
    readiness,
    scheme: deps.tls ? 'https' : 'http',
    signalling,
    sfu: sfu.service,
    async listen(port = config.port, host = config.host) {
      // The SFU's UDP port first: /healthz reports it from the first request on.
      await sfu.start();
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        httpServer.once('error', onError);
        httpServer.listen(port, host, () => {
          httpServer.off('error', onError);
          // One timer for every room, each tick covering a slice of them; unref'd so it never
          // holds the process open.
          let slice = 0;
          summaryTimer = setInterval(() => {
            signalling.publishSummarySlice(slice, SUMMARY_SLICES);
            slice = (slice + 1) % SUMMARY_SLICES;
          }, STATS_SUMMARY_INTERVAL_MS / SUMMARY_SLICES);
          summaryTimer.unref();
          readiness.markListening();
          const address = httpServer.address() as AddressInfo;
          roomsLog.debug({ port: address.port }, 'http server bound');
          if (!redisUrl) return resolve({ port: address.port });
          // listen() waits for the first attempt only; after that, retry every 2 s.
          void tryJoinCluster(redisUrl, address.port).then(async (joined) => {
            resolve({ port: address.port });
            while (!joined && !closing) {
              await new Promise((r) => setTimeout(r, 2000).unref());
              joined = closing || (await tryJoinCluster(redisUrl, address.port));
            }
          });
        });
      });
    },
    async close() {
      closing = true;
      readiness.markShuttingDown();
      if (summaryTimer) clearInterval(summaryTimer);
      signalling.closeAllRooms();
      sfu.close();
      // Every mirror gets its ENDLIST before the process goes.
      await egress.close();
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
        // Keep-alive HTTP connections would otherwise hold close() open.
        httpServer.closeAllConnections?.();
      });
      await cluster?.close();
    },
  };
}
