import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** A room password as stored: never the password itself. */
export interface PasswordHash {
  salt: Buffer;
  hash: Buffer;
}

const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** N=2^14, r=8: ~16 MiB and tens of ms per guess, on the libuv pool (off the event loop). */
const SCRYPT_OPTIONS: ScryptOptions = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, SCRYPT_OPTIONS, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(SALT_BYTES);
  return { salt, hash: await derive(password, salt) };
}

/** Used when there is no room: the same scrypt work, so a miss takes as long as a wrong password. */
const DUMMY_SALT = randomBytes(SALT_BYTES);
const DUMMY_HASH = randomBytes(KEY_BYTES);

/**
 * True when `password` matches. `stored` null (no such room) still runs one scrypt and returns
 * false, so "no room" and "wrong password" cost the same.
 */
export async function checkPassword(
  stored: PasswordHash | null,
  password: string | undefined,
): Promise<boolean> {
  const target = stored ?? { salt: DUMMY_SALT, hash: DUMMY_HASH };
  const key = await derive(password ?? '', target.salt);
  return timingSafeEqual(key, target.hash) && stored !== null;
}
