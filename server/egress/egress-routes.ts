import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import express, { type Request, type Response, type Router } from 'express';
import type { RoomCode } from '../../shared/index';
import { proxyHls } from '../cluster/hls-proxy';
import type { Logger } from '../logger';
import { bearerMatches } from '../secret-equals';
import { hlsFilePath, recordingPath } from './egress-paths';
import type { PublicStream } from '../../shared/index';
import type { EgressManager } from './egress-manager';
import { readerKeyOf } from './hls-viewers';

function notFound(res: Response): void {
  res
    .status(404)
    .set('Cache-Control', 'no-store')
    .json({
      error: { code: 'NOT_FOUND', message: 'Not found.' },
    });
}

/**
 * `/hls/<room>/<file>`: the public mirror. Only a 6-digit room whose mirror is served and only
 * `index.m3u8` / `seg-N.ts` are answered; everything else is a 404 (never the SPA). The playlist
 * is `no-cache`, segments are immutable, CORS is open (it is public by design).
 */
export interface RemoteHls {
  /** The base URL of the node that runs a room's mirror, when it is another node. */
  homeUrlOf(roomId: RoomCode): Promise<string | null>;
  log: Logger;
}

export function hlsRouter(egress: EgressManager, remote?: () => RemoteHls | null): Router {
  const router = express.Router();
  router.use((req, res, next) => {
    res.set('Access-Control-Allow-Origin', '*');
    res.set('Access-Control-Expose-Headers', 'Content-Length');
    res.set('X-Content-Type-Options', 'nosniff');
    if (req.method === 'OPTIONS') {
      res.set('Access-Control-Allow-Methods', 'GET, HEAD');
      res.set('Access-Control-Allow-Headers', 'Range');
      res.status(204).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      notFound(res);
      return;
    }
    next();
  });
  router.get('/:room/:file', (req, res) => {
    const roomId = req.params.room ?? '';
    const file = req.params.file ?? '';
    const target = hlsFilePath(egress.hlsRoot, roomId, file);
    if (!target) return notFound(res);
    if (!egress.isServed(roomId as RoomCode)) {
      // Several nodes: the room's mirror may run on another one.
      const other = remote?.();
      if (!other) return notFound(res);
      void other.homeUrlOf(roomId as RoomCode).then(
        (base) => (base ? proxyHls(base, req, res, other.log) : notFound(res)),
        () => notFound(res),
      );
      return;
    }
    if (target.kind === 'playlist') {
      // ffmpeg rewrites the playlist every segment: read it whole, so the length we announce is
      // the length we send (a stat + stream could disagree and corrupt the keep-alive stream).
      void readFile(target.path)
        .then((body) => {
          const reader = readerKeyOf(
            req.query.sid,
            req.socket.remoteAddress ?? '',
            req.get('user-agent') ?? '',
          );
          if (reader) egress.recordHlsRead(roomId as RoomCode, reader);
          res.type('application/vnd.apple.mpegurl').set('Cache-Control', 'no-cache');
          if (req.method === 'HEAD') res.set('Content-Length', String(body.byteLength)).end();
          else res.send(body);
        })
        .catch(() => notFound(res));
      return;
    }
    // Segments are renamed into place complete (`temp_file`) and never change after.
    void stat(target.path)
      .then((info) => {
        if (!info.isFile()) return notFound(res);
        res.type('video/mp2t').set('Cache-Control', 'public, max-age=31536000, immutable');
        res.set('Content-Length', String(info.size));
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        const stream = createReadStream(target.path);
        stream.on('error', () => {
          // Deleted between stat and read (a rotated segment): the player asks for the next.
          if (!res.headersSent) notFound(res);
          else res.destroy();
        });
        stream.pipe(res);
      })
      .catch(() => notFound(res));
  });
  router.use((_req, res) => notFound(res));
  return router;
}

/** `/api/streams` (public) and `/api/recordings` (admin token; off without one). */
export function egressApiRouter(
  egress: EgressManager,
  adminToken: string | null,
  /** Every node's mirrors when several nodes serve one service; this node's by default. */
  streams: () => Promise<PublicStream[]> = async () => egress.publicStreams(),
): Router {
  const router = express.Router();
  router.get('/streams', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ streams: await streams() });
  });
  const guard = (req: Request, res: Response): boolean => {
    if (!adminToken || !egress.recordDir) {
      notFound(res);
      return false;
    }
    if (!bearerMatches(req.get('authorization'), adminToken)) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        .json({ error: { code: 'UNAUTHORIZED', message: 'Admin token required.' } });
      return false;
    }
    return true;
  };
  router.get('/recordings', (req, res) => {
    if (!guard(req, res)) return;
    void egress.recordings().then((recordings) => {
      res.set('Cache-Control', 'no-store').json({ recordings });
    });
  });
  router.get('/recordings/:name', (req, res) => {
    if (!guard(req, res)) return;
    const dir = egress.recordDir;
    const path = dir ? recordingPath(dir, req.params.name ?? '') : null;
    if (!path) {
      notFound(res);
      return;
    }
    res.set('Cache-Control', 'no-store');
    res.download(path, req.params.name ?? 'recording.mkv', (err) => {
      if (err && !res.headersSent) notFound(res);
    });
  });
  return router;
}
