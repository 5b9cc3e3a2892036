import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Request, RequestHandler, Response } from 'express';
import { ROOM_CODE_PATTERN, type RoomCode } from '../../shared/index';
import type { Logger } from '../logger';

/** Only what ffmpeg writes for the mirror (the home node validates again). */
const HLS_FILE = /^(index\.m3u8|seg-\d{1,9}\.ts)$/;
const PROXY_TIMEOUT_MS = 5000;
/** Headers passed back from the room's node: the ones a player and a cache need. */
const PASSED_HEADERS = ['content-type', 'content-length', 'cache-control', 'last-modified', 'etag'];

export interface HlsProxyDeps {
  /** True when this node serves the room's files itself. */
  servedHere(roomId: RoomCode): boolean;
  /** The base URL of the node that runs the room's mirror, when it is another node. */
  homeUrlOf(roomId: RoomCode): Promise<string | null>;
  log: Logger;
}

/**
 * `/hls/<room>/<file>` for a room whose mirror runs on another node: fetched from that node and
 * streamed back, so any node behind the load balancer serves any room's HLS. The player's sid
 * rides along, so the home node still counts its readers (sid-less ones count per node).
 */
export function hlsProxy(deps: HlsProxyDeps): RequestHandler {
  return (req, res, next) => {
    const { room, file } = req.params as { room?: string; file?: string };
    if (
      (req.method !== 'GET' && req.method !== 'HEAD') ||
      !room ||
      !file ||
      !ROOM_CODE_PATTERN.test(room) ||
      !HLS_FILE.test(file) ||
      deps.servedHere(room as RoomCode)
    ) {
      return next();
    }
    deps.homeUrlOf(room as RoomCode).then(
      (base) => (base ? forward(base, req, res, deps.log) : next()),
      () => next(),
    );
  };
}

function forward(base: string, req: Request, res: Response, log: Logger): void {
  const sid = typeof req.query.sid === 'string' ? req.query.sid.slice(0, 64) : null;
  const target = new URL(`${base}/hls/${req.params.room}/${req.params.file}`);
  if (sid) target.searchParams.set('sid', sid);
  const headers: Record<string, string> = { 'user-agent': req.get('user-agent') ?? '' };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send(
    target,
    // Nodes on one deployment may use the self-signed certificate.
    { method: req.method, headers, timeout: PROXY_TIMEOUT_MS, rejectUnauthorized: false },
    (answer) => {
      res.status(answer.statusCode ?? 502);
      copyHeaders(answer.headers, res);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    },
  );
  upstream.on('timeout', () => upstream.destroy(new Error('timeout')));
  upstream.on('error', (err) => {
    log.warn({ room: req.params.room, err: err.message }, 'hls proxy to the room node failed');
    if (!res.headersSent) {
      res
        .status(502)
        .set('Cache-Control', 'no-store')
        .json({
          error: { code: 'SERVER_BUSY', message: "The room's server did not answer." },
        });
    } else res.destroy();
  });
  upstream.end();
}

function copyHeaders(from: IncomingHttpHeaders, res: Response): void {
  for (const name of PASSED_HEADERS) {
    const value = from[name];
    if (typeof value === 'string') res.set(name, value);
  }
}
