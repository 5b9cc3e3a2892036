import { randomBytes } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import {
  LIMITS,
  ROOM_CODE_PATTERN,
  type ErrorCode,
  type IceServer,
  type RoomCode,
} from '../../shared/index';
import { clientIp, rateLimitedMessage, type AbuseLimits } from '../abuse-limits';
import type { Logger } from '../logger';
import type { RoomRegistry } from '../room-registry';
import { checkPassword } from '../room-password';
import { parseOffer } from './sdp';
import type { SfuService, SubscriberSession } from './sfu-service';

/**
 * WHEP (draft-ietf-wish-whep) for rooms whose media reaches the server: POST an SDP offer to
 * /whep/<room>, get 201 + the answer + a Location to DELETE (or PATCH with trickle candidates).
 * A password room wants `Authorization: Bearer <password>`; a wrong or missing one is answered
 * exactly like a missing room, as join_room does. Errors are typed JSON, like the REST API.
 */

export interface WhepDeps {
  service: SfuService;
  registry: RoomRegistry;
  abuse?: AbuseLimits;
  trustProxyHops: number;
  /** STUN + TURN (minted for this player) for the Link headers. */
  iceServers: (playerId: string) => IceServer[];
  log: Logger;
  /** The room's audience changed (a player came or went): refresh its stats summary. */
  onAudienceChange?: (roomId: RoomCode) => void;
}

/** Concurrent WHEP sessions one address may hold. */
export const WHEP_SESSIONS_PER_ADDRESS = 10;
/** A trickle PATCH body, at most. */
const MAX_SDPFRAG_BYTES = 16 * 1024;

interface WhepResource {
  id: string;
  roomId: RoomCode;
  etag: string;
  ip: string;
  iceUfrag: string;
  session: SubscriberSession;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_PAYLOAD: 400,
  UNAUTHORIZED: 401,
  ROOM_NOT_FOUND: 404,
  NOT_IN_ROOM: 404,
  CODEC_UNSUPPORTED: 422,
  RATE_LIMITED: 429,
  PEER_NOT_FOUND: 503,
  SERVER_BUSY: 503,
};

function sendError(res: Response, code: ErrorCode | string, message: string, status?: number) {
  const http = status ?? STATUS[code as ErrorCode] ?? 500;
  if (http === 503) res.set('Retry-After', '5');
  res.status(http).json({ error: { code, message } });
}

/** RFC 8288 Link headers for ICE servers, as WHIP/WHEP clients read them. */
export function iceLinkHeaders(servers: IceServer[]): string[] {
  const links: string[] = [];
  for (const server of servers) {
    const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
    for (const url of urls) {
      let link = `<${url}>; rel="ice-server"`;
      if (server.username !== undefined && server.credential !== undefined) {
        link += `; username="${server.username}"; credential="${server.credential}"; credential-type="password"`;
      }
      links.push(link);
    }
  }
  return links;
}

/** Validates a trickle-ice-sdpfrag body; returns its ICE ufrag (if any) or an error. */
export function parseSdpFrag(body: string): { ufrag: string | null } | { error: string } {
  if (body.length > MAX_SDPFRAG_BYTES) return { error: 'fragment too large' };
  let ufrag: string | null = null;
  let candidates = 0;
  for (const line of body.split(/\r?\n/)) {
    if (line === '') continue;
    if (line.length > LIMITS.maxCandidateChars) return { error: 'line too long' };
    if (line.startsWith('a=ice-ufrag:')) {
      ufrag = line.slice('a=ice-ufrag:'.length).trim();
      if (!/^[A-Za-z0-9+/]{4,256}$/.test(ufrag)) return { error: 'invalid ice-ufrag' };
    } else if (line.startsWith('a=candidate:')) {
      if (++candidates > 64) return { error: 'too many candidates' };
      if (!/^a=candidate:\S+ \d \S+ \d+ \S+ \d+ typ \S+/.test(line)) {
        return { error: 'malformed candidate' };
      }
    } else if (!/^(a=ice-pwd:|a=mid:|a=end-of-candidates|m=|a=ice-options:|a=group:)/.test(line)) {
      return { error: 'unexpected line in fragment' };
    }
  }
  return { ufrag };
}

export function whepRouter(deps: WhepDeps): express.Router {
  const { service, registry, log } = deps;
  const router = express.Router();
  const resources = new Map<string, WhepResource>();
  const perAddress = new Map<string, number>();
  const ipOf = (req: Request) =>
    clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], deps.trustProxyHops);

  const forget = (resource: WhepResource) => {
    if (!resources.delete(resource.id)) return;
    const left = (perAddress.get(resource.ip) ?? 1) - 1;
    if (left <= 0) perAddress.delete(resource.ip);
    else perAddress.set(resource.ip, left);
    deps.onAudienceChange?.(resource.roomId);
  };

  // Players often live on other origins: WHEP is public like the HLS mirror (passwords still apply).
  router.use((req, res, next) => {
    res.set('Access-Control-Allow-Origin', '*');
    res.set('Access-Control-Expose-Headers', 'Location, ETag, Link, Retry-After');
    if (req.method === 'OPTIONS') {
      res
        .set('Access-Control-Allow-Methods', 'POST, PATCH, DELETE, OPTIONS')
        .set('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match')
        .set('Access-Control-Max-Age', '600')
        .status(204)
        .end();
      return;
    }
    next();
  });

  router.use(async (req, res, next) => {
    const wait = (await deps.abuse?.tryApiRequest(ipOf(req))) ?? null;
    if (wait === null) return next();
    res.set('Retry-After', String(wait));
    sendError(res, 'RATE_LIMITED', rateLimitedMessage(wait));
  });

  const sdpBody = express.text({ type: 'application/sdp', limit: LIMITS.maxSdpChars });

  router.post('/:room', async (req, res, next) => {
    const roomId = req.params.room;
    if (!ROOM_CODE_PATTERN.test(roomId)) {
      return sendError(res, 'INVALID_PAYLOAD', 'A room code is six digits.');
    }
    if (!req.is('application/sdp')) {
      return sendError(res, 'INVALID_PAYLOAD', 'Send the SDP offer as application/sdp.', 415);
    }
    sdpBody(req, res, (err?: unknown) => {
      if (err) return next(err);
      void play(req, res, roomId as RoomCode).catch(next);
    });
  });

  async function play(req: Request, res: Response, roomId: RoomCode): Promise<void> {
    const ip = ipOf(req);
    const blockedFor = (await deps.abuse?.joinBlockedFor(ip)) ?? null;
    if (blockedFor !== null) {
      res.set('Retry-After', String(blockedFor));
      return sendError(res, 'RATE_LIMITED', rateLimitedMessage(blockedFor));
    }
    const header = req.get('authorization') ?? '';
    const password = header.startsWith('Bearer ') ? header.slice(7) : undefined;
    // A missing room and a wrong password cost one scrypt each and answer the same.
    const stored = registry.passwordOf(roomId);
    const exists = registry.getRoom(roomId) !== undefined;
    const admitted =
      exists && (stored === null || (await checkPassword(stored, password?.slice(0, 256))));
    if (!exists) await checkPassword(null, password);
    if (!admitted) {
      await deps.abuse?.recordFailedJoin(ip);
      return sendError(res, 'ROOM_NOT_FOUND', 'No live room has that number.');
    }
    if ((perAddress.get(ip) ?? 0) >= WHEP_SESSIONS_PER_ADDRESS) {
      return sendError(res, 'RATE_LIMITED', 'Too many WHEP sessions from this address.');
    }
    const sdp = typeof req.body === 'string' ? req.body : '';
    const parsed = parseOffer(sdp);
    if (!parsed.ok) return sendError(res, 'INVALID_PAYLOAD', `Bad SDP offer: ${parsed.reason}.`);
    perAddress.set(ip, (perAddress.get(ip) ?? 0) + 1);
    const created: { resource?: WhepResource } = {};
    let gone = false;
    res.once('close', () => (gone = !res.writableFinished));
    const result = await service.subscribe(roomId, sdp, 'whep', {
      stillWanted: () => !gone && registry.getRoom(roomId) !== undefined,
      onClosed: () => created.resource && forget(created.resource),
    });
    if (!result.ok) {
      const left = (perAddress.get(ip) ?? 1) - 1;
      if (left <= 0) perAddress.delete(ip);
      else perAddress.set(ip, left);
      return sendError(res, result.code, result.message);
    }
    const id = randomBytes(16).toString('base64url');
    const resource: WhepResource = {
      id,
      roomId,
      etag: `"${randomBytes(8).toString('hex')}"`,
      ip,
      iceUfrag: parsed.offer.iceUfrag,
      session: result.value.session,
    };
    created.resource = resource;
    resources.set(id, resource);
    deps.onAudienceChange?.(roomId);
    log.info({ room: roomId, resource: id.slice(0, 6), codec: result.value.codec }, 'whep player');
    res
      .status(201)
      .type('application/sdp')
      .set('Location', `/whep/${roomId}/${id}`)
      .set('ETag', resource.etag)
      .set('Cache-Control', 'no-store')
      .set('Link', iceLinkHeaders(deps.iceServers(`whep-${id.slice(0, 16)}`)))
      .send(result.value.sdp);
  }

  /** The resource, only under its own room's path (another room's id is unknown here). */
  const lookup = (req: Request): WhepResource | undefined => {
    const resource = resources.get(String(req.params.id));
    return resource && resource.roomId === req.params.room ? resource : undefined;
  };

  router.delete('/:room/:id', (req, res) => {
    const resource = lookup(req);
    if (!resource) return sendError(res, 'NOT_FOUND', 'No such WHEP session.', 404);
    resource.session.close();
    forget(resource);
    res.status(200).json({ closed: true });
  });

  const fragBody = express.text({
    type: 'application/trickle-ice-sdpfrag',
    limit: MAX_SDPFRAG_BYTES,
  });
  router.patch('/:room/:id', (req, res, next) => {
    const resource = lookup(req);
    if (!resource) return sendError(res, 'NOT_FOUND', 'No such WHEP session.', 404);
    if (!req.is('application/trickle-ice-sdpfrag')) {
      return sendError(res, 'INVALID_PAYLOAD', 'Send application/trickle-ice-sdpfrag.', 415);
    }
    const ifMatch = req.get('if-match');
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== resource.etag) {
      return sendError(res, 'INVALID_PAYLOAD', 'The ETag does not match this session.', 412);
    }
    fragBody(req, res, (err?: unknown) => {
      if (err) return next(err);
      const frag = parseSdpFrag(typeof req.body === 'string' ? req.body : '');
      if ('error' in frag) return sendError(res, 'INVALID_PAYLOAD', `Bad fragment: ${frag.error}.`);
      if (ifMatch === '*' || (frag.ufrag !== null && frag.ufrag !== resource.iceUfrag)) {
        return sendError(
          res,
          'INVALID_PAYLOAD',
          'ICE restarts are not supported; DELETE this session and POST a new offer.',
          422,
        );
      }
      // The server learns a player's address from its authenticated ICE checks, never from
      // candidates it is told about, so valid candidates need nothing more.
      res.status(204).end();
    });
  });

  router.all('/:room{/:id}', (_req, res) => {
    res.set('Allow', 'POST, PATCH, DELETE, OPTIONS');
    sendError(res, 'INVALID_PAYLOAD', 'Method not allowed here.', 405);
  });

  router.use(
    (
      err: { status?: number; type?: string },
      _req: Request,
      res: Response,
      _next: express.NextFunction,
    ) => {
      if (err.type === 'entity.too.large') {
        return sendError(res, 'INVALID_PAYLOAD', 'The body is too large.', 413);
      }
      const status = typeof err.status === 'number' && err.status < 500 ? err.status : 500;
      if (status >= 500) log.error({ err }, 'whep error');
      sendError(
        res,
        status >= 500 ? 'INTERNAL_ERROR' : 'INVALID_PAYLOAD',
        'The request failed.',
        status,
      );
    },
  );

  return router;
}
