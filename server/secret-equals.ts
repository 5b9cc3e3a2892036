import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Constant-time string equality; hashing first makes the lengths equal, so no length leak. */
export function secretEquals(given: unknown, expected: string): boolean {
  return typeof given === 'string' && timingSafeEqual(sha256(given), sha256(expected));
}

/** Constant-time `Authorization: Bearer <token>` check. */
export function bearerMatches(header: string | undefined, token: string | null): boolean {
  if (!token) return false;
  const given = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
  return given !== undefined && secretEquals(given, token);
}
