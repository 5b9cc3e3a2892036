import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler, type Express, type Response } from 'express';
import { PROTOCOL_VERSION } from '../shared/index';
import type { Config } from './config';
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
}

/** Constant-time `Authorization: Bearer <token>` check. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (\S+)$/.exec(header ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
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
const NON_SPA_PREFIX = /^\/(api|socket\.io|healthz|readyz|metrics|hls)(\/|$)/;

export function createHttpApp(deps: HttpDeps): Express {
  const { config, registry, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'weak');

  app.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({
      status: 'ok',
      version: deps.version,
      protocolVersion: PROTOCOL_VERSION,
      uptimeS: Math.round((deps.now() - deps.startedAt) / 1000),
      rooms: registry.roomCount,
      clients: deps.clientCount(),
      features: featureStatus(config, deps.egress),
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
  api.use(express.json({ limit: '16kb' }));
  api.get('/ice-servers', (_req, res) => {
    // Anonymous callers get STUN only; TURN credentials go only in room acks over the socket.
    res.set('Cache-Control', 'no-store').json({ iceServers: welcomeIceServers(config) });
  });
  api.get('/rooms', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ rooms: registry.listedRooms() });
  });
  if (deps.egress) api.use(egressApiRouter(deps.egress, config.egress.adminToken));
  api.use((_req, res) => sendJsonError(res, 404, 'NOT_FOUND', 'No such API endpoint.'));
  app.use('/api', api);
  if (deps.egress) app.use('/hls', hlsRouter(deps.egress, log));

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
