import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOM_CODE_PATTERN } from '../shared/index';

/**
 * Broadcaster tokens are signed, not stored: base64url(payload) + "." + base64url(HMAC-SHA256),
 * so a restarted server with the same secret can still verify them and hand the code back.
 */
export interface BroadcasterTokenPayload {
  room: string;
  /** Issued at, unix ms. */
  iat: number;
  /** Random per room instance: an old token for a reused code does not fit the new room. */
  nonce: string;
}

const NONCE_BYTES = 12;
const SECRET_FILE = 'room-secret';
const SECRET_BYTES = 32;

function sign(secret: string | Buffer, encodedPayload: string): Buffer {
  return createHmac('sha256', secret).update(encodedPayload, 'utf8').digest();
}

export function mintBroadcasterToken(
  secret: string | Buffer,
  roomId: string,
  now: number = Date.now(),
): { token: string; payload: BroadcasterTokenPayload } {
  const payload: BroadcasterTokenPayload = {
    room: roomId,
    iat: now,
    nonce: randomBytes(NONCE_BYTES).toString('base64url'),
  };
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return { token: `${encoded}.${sign(secret, encoded).toString('base64url')}`, payload };
}

/**
 * The payload when the signature is right (constant-time compare) and it names `roomId`; null
 * for anything else, including malformed input.
 */
export function verifyBroadcasterToken(
  secret: string | Buffer,
  roomId: string,
  token: string,
): BroadcasterTokenPayload | null {
  if (typeof token !== 'string' || token.length > 512) return null;
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return null;
  const encoded = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = sign(secret, encoded);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const p = payload as Partial<BroadcasterTokenPayload> | null;
  if (
    !p ||
    typeof p.room !== 'string' ||
    !ROOM_CODE_PATTERN.test(p.room) ||
    typeof p.iat !== 'number' ||
    typeof p.nonce !== 'string' ||
    p.room !== roomId
  ) {
    return null;
  }
  return { room: p.room, iat: p.iat, nonce: p.nonce };
}

/**
 * ROOM_SECRET, else a random secret generated once into `<dataDir>/room-secret` (mode 0600), so
 * broadcaster tokens survive restarts without any configuration.
 */
export function loadOrCreateRoomSecret(configured: string | null, dataDir: string): string {
  if (configured !== null) return configured;
  const file = path.resolve(dataDir, SECRET_FILE);
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length < 32) throw new Error(`${file} holds a secret shorter than 32 characters`);
    return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  // `wx`: two processes starting at once must not overwrite each other's secret.
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      return readFileSync(file, 'utf8').trim();
    }
    throw err;
  }
  chmodSync(file, 0o600);
  return secret;
}
