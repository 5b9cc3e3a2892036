import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Request, Response } from 'express';
import type { Logger } from '../logger';

const PROXY_TIMEOUT_MS = 5000;
/** Headers passed back from the room's node: the ones a player and a cache need. */
const PASSED_HEADERS = ['content-type', 'content-length', 'cache-control', 'last-modified', 'etag'];

/**
 * Streams `/hls/<room>/<file>` from the node that runs the room's mirror (`base`), so any node
 * behind the load balancer serves any room's HLS. The caller (hlsRouter) has validated the room
 * and file name and set the CORS headers. The player's sid rides along, so the room's node still
 * counts its readers (sid-less ones count per proxying node).
 */
export function proxyHls(base: string, req: Request, res: Response, log: Logger): void {
  const sid = typeof req.query.sid === 'string' ? req.query.sid.slice(0, 64) : null;
  const target = new URL(`${base}/hls/${req.params.room}/${req.params.file}`);
  if (sid) target.searchParams.set('sid', sid);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send(
    target,
    {
      method: req.method,
      headers: { 'user-agent': req.get('user-agent') ?? '' },
      timeout: PROXY_TIMEOUT_MS,
      // Nodes on one deployment may use the self-signed certificate.
      rejectUnauthorized: false,
    },
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
