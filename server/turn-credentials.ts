import { createHmac } from 'node:crypto';

/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest, coturn `use-auth-secret`):
 * username `<unix expiry>:<clientId>`, credential base64(HMAC-SHA1(secret, username)).
 * coturn recomputes the HMAC with its `static-auth-secret` and refuses expired usernames.
 */
export interface TurnCredential {
  username: string;
  credential: string;
  /** Unix time (seconds) after which coturn refuses the username. */
  expiresAtS: number;
}

/** Longest client id kept in a username; socket ids are 20 characters. */
const MAX_CLIENT_ID_LENGTH = 64;

/**
 * `<unix expiry>:<clientId>`. The client id is reduced to `[A-Za-z0-9_-]` so it can never
 * contain coturn's `:` separator or anything a log line would misread.
 */
export function turnUsername(expiresAtS: number, clientId: string): string {
  if (!Number.isSafeInteger(expiresAtS) || expiresAtS <= 0) {
    throw new RangeError('expiry must be a positive whole number of seconds');
  }
  const safeId = clientId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, MAX_CLIENT_ID_LENGTH);
  return `${expiresAtS}:${safeId === '' ? 'anon' : safeId}`;
}

/** base64(HMAC-SHA1(secret, username)), exactly what coturn computes. */
export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/** A credential valid for `ttlS` seconds from `nowMs`. */
export function mintTurnCredential(
  secret: string,
  clientId: string,
  nowMs: number,
  ttlS: number,
): TurnCredential {
  const expiresAtS = Math.floor(nowMs / 1000) + ttlS;
  const username = turnUsername(expiresAtS, clientId);
  return { username, credential: turnPassword(secret, username), expiresAtS };
}
