import { readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { Server } from 'socket.io';
import { LIMITS, STATS_SUMMARY_INTERVAL_MS } from '../shared/index';
import { AbuseLimits } from './abuse-limits';
import { loadOrCreateRoomSecret } from './broadcaster-token';
import type { Config } from './config';
import { createHttpApp, originAllowed } from './http-routes';
import { roomIceServers, welcomeIceServers } from './ice-servers';
import { subsystemLogger, type Logger } from './logger';
import { RoomRegistry, type Timers } from './room-registry';
import { Signalling } from './signalling';
import type { AppServer } from './socket-types';
import { StatsAggregator } from './stats-aggregator';

export interface AppDeps {
  config: Config;
  logger: Logger;
  now?: () => number;
  /** Grace-period timers; tests inject fakes so expiry is instant. */
  timers?: Timers;
  /** Overrides ROOM_SECRET / the DATA_DIR file (tests). */
  roomSecret?: string;
}

export interface App {
  app: Express;
  httpServer: HttpServer;
  io: AppServer;
  registry: RoomRegistry;
  signalling: Signalling;
  listen(port?: number, host?: string): Promise<{ port: number }>;
  close(): Promise<void>;
}

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
  });

  const httpServer = createServer();
  const io: AppServer = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: LIMITS.maxMessageBytes,
    cors: {
      origin: config.access.allowedOrigins.length > 0 ? config.access.allowedOrigins : false,
    },
    // CORS headers do not bind WebSockets: refuse foreign Origins at the handshake itself.
    allowRequest: (req, callback) =>
      callback(
        null,
        originAllowed(req.headers.origin, req.headers.host, config.access.allowedOrigins),
      ),
  });

  const app = createHttpApp({
    config,
    log: subsystemLogger(logger, 'http'),
    registry,
    clientCount: () => io.engine.clientsCount,
    now,
    startedAt: now(),
    version: readVersion(),
    abuse,
    broadcastTokenRequired: config.access.broadcastToken !== null,
    admin: {
      rooms: () => signalling.adminRooms(),
      closeRoom: (roomId) => signalling.closeRoom(roomId, 'closed_by_admin'),
    },
  });
  // Socket.IO answers /socket.io/* itself before the request reaches Express.
  httpServer.on('request', app);

  const signalling = new Signalling({
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
    access: config.access,
    abuse,
  });
  io.on('connection', (socket) => signalling.handleConnection(socket));

  let summaryTimer: NodeJS.Timeout | undefined;

  return {
    app,
    httpServer,
    io,
    registry,
    signalling,
    listen(port = config.port, host = config.host) {
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
          const address = httpServer.address() as AddressInfo;
          roomsLog.debug({ port: address.port }, 'http server bound');
          resolve({ port: address.port });
        });
      });
    },
    async close() {
      if (summaryTimer) clearInterval(summaryTimer);
      signalling.closeAllRooms();
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
        // Keep-alive HTTP connections would otherwise hold close() open.
        httpServer.closeAllConnections?.();
      });
    },
  };
}
