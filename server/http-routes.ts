import { existsSync } from 'node:fs';
import path from 'node:path';
import express, {
  type ErrorRequestHandler,
  type Express,
  type RequestHandler,
  type Response,
} from 'express';
import helmet from 'helmet';
import {
  PROTOCOL_VERSION,
  ROOM_CODE_PATTERN,
  type ListedRoom,
  type PublicStream,
  type RoomCode,
} from '../shared/index';
import { clientIp, rateLimitedMessage, type AbuseLimits } from './abuse-limits';
import type { Config } from './config';
import { bearerMatches, secretEquals } from './secret-equals';
import { turnStatus, welcomeIceServers } from './ice-servers';
import type { Logger } from './logger';
import type { EgressManager } from './egress/egress-manager';
import { egressApiRouter, hlsRouter } from './egress/egress-routes';
import type { Metrics } from './metrics';
import type { Readiness } from './readiness';

import type { RoomRegistry } from './room-registry';

export interface HttpDeps {
  config: Config;
  log: Logger;
  registry: RoomRegistry;
  clientCount: () => number;
  now: () => number;
  startedAt: number;
  version: string;
  egress?: EgressManager;
  readiness?: Readiness;
  metrics?: Metrics;
  /** Per-IP REST limit; absent → unlimited (unit tests). */
  abuse?: AbuseLimits;
  /** The admin API's view of signalling; bound late because signalling is created after. */
  admin?: AdminPort;
  /** Whether `welcome` will ask for a broadcast token (also in /healthz for the broadcast page). */
  broadcastTokenRequired?: boolean;
  /** Null until this node has joined the cluster (or without REDIS_URL). */
  cluster?: () => ClusterHttpPort | null;
  /** Protocol routers from feature folders (e.g. /whep), mounted before the SPA fallback. */
  routes?: Array<{ path: string; router: express.Router }>;
  /** More `/healthz` features (e.g. `sfu`), read on every request. */
  features?: () => Record<string, unknown>;
}

export interface AdminPort {
  rooms(): unknown[] | Promise<unknown[]>;
  /** False when no such room. */
  closeRoom(roomId: RoomCode): boolean | Promise<boolean>;
}

/** Several nodes: listings gathered from every node, HLS fetched from the room's node. */
export interface ClusterHttpPort {
  listedRooms(local: ListedRoom[]): Promise<ListedRoom[]>;
  streams(local: PublicStream[]): Promise<PublicStream[]>;
  homeUrlOf(roomId: RoomCode): Promise<string | null>;
}

/**
 * Origins allowed to call us from a browser: our own (the request's Host) and ALLOWED_ORIGINS.
 * Requests without an Origin (same-origin GETs, curl, server-to-server) are not cross-origin.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowedOrigins: readonly string[],
): boolean {
  if (origin === undefined) return true;
  if (allowedOrigins.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * CSP: only our origin, plus blob:/mediastream: media, data:/blob: images and blob: workers
 * (hls.js). 'self' covers same-origin ws:/wss: in Chromium and Firefox. No
 * upgrade-insecure-requests and no HSTS here: LAN deployments run over plain http, and HSTS
 * belongs to the TLS terminator.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        // blob: for the relay's AudioWorklet fallback (frame-source.ts builds its module as a blob).
        scriptSrc: ["'self'", 'blob:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:', 'mediastream:'],
        connectSrc: ["'self'"],
        workerSrc: ["'self'", 'blob:'],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'self'"],
      },
    },
    strictTransportSecurity: false,
  });
}

/** Optional rungs, reported by /healthz so operators and the UI see what is on and why not. */
export function featureStatus(config: Config, egress?: EgressManager) {
  const egressReason = egress ? egress.unavailableReason : 'egress is not wired';
  return {
    turn: turnStatus(config),
    relay: config.relay.enabled
      ? { enabled: true, reason: null }
      : { enabled: false, reason: 'RELAY_ENABLED is false' },
    hls: {
      enabled: egressReason === null,
      reason: egressReason,
      policy: config.egress.hlsPolicy,
    },
    restream: {
      enabled: egressReason === null && config.egress.rtmpTargets.length > 0,
      reason:
        egressReason ?? (config.egress.rtmpTargets.length === 0 ? 'RTMP_TARGETS is empty' : null),
      targets: config.egress.rtmpTargets.map((t) => t.name),
    },
    recording: {
      enabled: config.egress.recordDir !== null && config.relay.enabled,
      reason: config.egress.recordDir === null ? 'RECORD_DIR is not set' : null,
    },
    ffmpeg: egress?.health().ffmpeg ?? { available: false, reason: 'egress is not wired' },
  };
}

function sendJsonError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/** Paths the SPA history fallback must never answer. */
const NON_SPA_PREFIX = /^\/(api|socket\.io|healthz|readyz|metrics|hls|whep|whip)(\/|$)/;

/** Without ADMIN_TOKEN these routes do not exist (404), so nothing hints at an admin API. */
function adminRoutes(adminToken: string, admin: AdminPort): express.Router {
  const router = express.Router();
  router.use((req, res, next) => {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (secretEquals(given, adminToken)) return next();
    res.set('WWW-Authenticate', 'Bearer');
    sendJsonError(res, 401, 'UNAUTHORIZED', 'A valid admin token is required.');
  });
  router.get('/rooms', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ rooms: await admin.rooms() });
  });
  router.post('/rooms/:room/close', async (req, res) => {
    const roomId = req.params.room;
    if (typeof roomId !== 'string' || !ROOM_CODE_PATTERN.test(roomId)) {
      sendJsonError(res, 400, 'INVALID_PAYLOAD', 'A room code is six digits.');
      return;
    }
    if (!(await admin.closeRoom(roomId as RoomCode))) {
      sendJsonError(res, 404, 'ROOM_NOT_FOUND', 'No live room has that number.');
      return;
    }
    res.json({ roomId, closed: true });
  });
  return router;
}

export function createHttpApp(deps: HttpDeps): Express {
  const { config, registry, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'weak');
  app.use(securityHeaders());

  app.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({
      status: 'ok',
      version: deps.version,
      protocolVersion: PROTOCOL_VERSION,
      uptimeS: Math.round((deps.now() - deps.startedAt) / 1000),
      rooms: registry.roomCount,
      clients: deps.clientCount(),
      features: { ...featureStatus(config, deps.egress), ...deps.features?.() },
      broadcastTokenRequired: deps.broadcastTokenRequired ?? false,
    });
  });

  // Readiness: 503 before listening, while shutting down, or when a critical dependency is down.
  const readiness = deps.readiness;
  if (readiness) {
    app.get('/readyz', async (_req, res, next) => {
      try {
        const report = await readiness.report();
        res
          .status(report.ready ? 200 : 503)
          .set('Cache-Control', 'no-store')
          .json({ status: report.ready ? 'ready' : 'not_ready', ...report });
      } catch (err) {
        next(err);
      }
    });
  }

  const metrics = deps.metrics;
  if (metrics) {
    app.get('/metrics', async (req, res, next) => {
      const token = config.metrics.token;
      if (token !== null && !bearerMatches(req.get('authorization'), token)) {
        res.set('WWW-Authenticate', 'Bearer');
        return sendJsonError(res, 401, 'UNAUTHORIZED', 'A metrics token is required.');
      }
      try {
        const body = await metrics.render();
        res.set('Cache-Control', 'no-store').type(metrics.contentType).send(body);
      } catch (err) {
        next(err);
      }
    });
  }

  const api = express.Router();
  const ipOf = (req: express.Request) =>
    clientIp(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      config.access.trustProxyHops,
    );
  // CORS: our own origin and ALLOWED_ORIGINS get the headers; other origins get 403.
  api.use((req, res, next) => {
    const origin = req.headers.origin;
    if (!originAllowed(origin, req.headers.host, config.access.allowedOrigins)) {
      sendJsonError(res, 403, 'FORBIDDEN_ORIGIN', 'This origin may not call the API.');
      return;
    }
    if (origin !== undefined) {
      res.vary('Origin');
      res.set('Access-Control-Allow-Origin', origin);
      if (req.method === 'OPTIONS') {
        res
          .set('Access-Control-Allow-Methods', 'GET, POST')
          .set('Access-Control-Allow-Headers', 'Authorization, Content-Type')
          .set('Access-Control-Max-Age', '600')
          .status(204)
          .end();
        return;
      }
    }
    next();
  });
  api.use(async (req, res, next) => {
    const wait = (await deps.abuse?.tryApiRequest(ipOf(req))) ?? null;
    if (wait === null) return next();
    res.set('Retry-After', String(wait));
    sendJsonError(res, 429, 'RATE_LIMITED', rateLimitedMessage(wait));
  });
  api.use(express.json({ limit: '16kb' }));
  const adminToken = config.access.adminToken;
  if (adminToken !== null && deps.admin) {
    api.use('/admin', adminRoutes(adminToken, deps.admin));
  }
  api.get('/ice-servers', (_req, res) => {
    // Anonymous callers get STUN only; TURN credentials go only in room acks over the socket.
    res.set('Cache-Control', 'no-store').json({ iceServers: welcomeIceServers(config) });
  });
  api.get('/rooms', async (_req, res) => {
    const local = registry.listedRooms();
    const cluster = deps.cluster?.();
    const rooms = cluster ? await cluster.listedRooms(local) : local;
    res.set('Cache-Control', 'no-store').json({ rooms });
  });
  if (deps.egress) {
    const egress = deps.egress;
    const streams = async () => {
      const local = egress.publicStreams();
      const cluster = deps.cluster?.();
      return cluster ? cluster.streams(local) : local;
    };
    api.use(egressApiRouter(egress, config.egress.adminToken, streams));
  }
  api.use((_req, res) => sendJsonError(res, 404, 'NOT_FOUND', 'No such API endpoint.'));
  app.use('/api', api);
  if (deps.egress) {
    app.use(
      '/hls',
      hlsRouter(deps.egress, () => {
        const cluster = deps.cluster?.();
        return cluster ? { homeUrlOf: (roomId) => cluster.homeUrlOf(roomId), log } : null;
      }),
    );
  }

  for (const { path: mount, router } of deps.routes ?? []) app.use(mount, router);

  const clientDir = path.resolve(config.clientDir);
  const indexHtml = path.join(clientDir, 'index.html');
  app.use(
    express.static(clientDir, {
      index: false,
      setHeaders: (res, filePath) => {
        const isAsset = filePath.startsWith(path.join(clientDir, 'assets') + path.sep);
        // Vite fingerprints /assets/*, so they never change; everything else revalidates.
        res.setHeader(
          'Cache-Control',
          isAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    }),
  );

  // History fallback: extension-less GET/HEAD navigations load the SPA (e.g. /watch/123456).
  app.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (NON_SPA_PREFIX.test(req.path)) return next();
    const lastSegment = req.path.split('/').pop() ?? '';
    if (req.path.startsWith('/assets/') || lastSegment.includes('.')) return next();
    if (!existsSync(indexHtml)) {
      res.status(503).type('text/plain').send('client not built: run npm run build');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(indexHtml, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });

  app.use((_req, res) => sendJsonError(res, 404, 'NOT_FOUND', 'Not found.'));

  const handleError: ErrorRequestHandler = (err, _req, res, _next) => {
    const status =
      typeof err?.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 500;
    if (status >= 500) log.error({ err }, 'http error');
    else log.debug({ status, type: err?.type }, 'http client error');
    if (res.headersSent) {
      res.end();
      return;
    }
    sendJsonError(
      res,
      status,
      status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST',
      status >= 500 ? 'Something went wrong on the server.' : 'The request was malformed.',
    );
  };
  app.use(handleError);
  return app;
}
