import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadOrCreateRoomSecret,
  mintBroadcasterToken,
  verifyBroadcasterToken,
} from '../../server/broadcaster-token';

const SECRET = 'a-room-secret-of-32-characters!!';

describe('signed broadcaster tokens', () => {
  it('verifies a token it minted for the same room and returns its payload', () => {
    const { token, payload } = mintBroadcasterToken(SECRET, '042917', 1_000);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(payload).toEqual({ room: '042917', iat: 1_000, nonce: expect.any(String) });
    expect(verifyBroadcasterToken(SECRET, '042917', token)).toEqual(payload);
  });

  it('gives every token its own nonce', () => {
    const a = mintBroadcasterToken(SECRET, '042917').payload.nonce;
    const b = mintBroadcasterToken(SECRET, '042917').payload.nonce;
    expect(a).not.toBe(b);
  });

  it('refuses another room, another secret, and any edited byte', () => {
    const { token } = mintBroadcasterToken(SECRET, '042917');
    expect(verifyBroadcasterToken(SECRET, '042918', token)).toBeNull();
    expect(verifyBroadcasterToken('another-secret-of-32-characters!', '042917', token)).toBeNull();
    const [payload, mac] = token.split('.') as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ room: '042918', iat: 1, nonce: 'x' }),
      'utf8',
    ).toString('base64url');
    expect(verifyBroadcasterToken(SECRET, '042918', `${forged}.${mac}`)).toBeNull();
    const flipped = mac[0] === 'A' ? `B${mac.slice(1)}` : `A${mac.slice(1)}`;
    expect(verifyBroadcasterToken(SECRET, '042917', `${payload}.${flipped}`)).toBeNull();
  });

  it.each(['', '.', 'abc', 'a.b.c', `${'x'.repeat(600)}.y`, 'e30.AAAA', '!!!.???'])(
    'refuses the malformed token %j',
    (token) => {
      expect(verifyBroadcasterToken(SECRET, '042917', token)).toBeNull();
    },
  );

  it('refuses a correctly signed payload that is not a token (no room, bad code)', () => {
    const { token } = mintBroadcasterToken(SECRET, 'abcdef');
    expect(verifyBroadcasterToken(SECRET, 'abcdef', token)).toBeNull();
  });
});

describe('the room secret', () => {
  it('prefers ROOM_SECRET and writes no file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-secret-'));
    expect(loadOrCreateRoomSecret(SECRET, path.join(dir, 'data'))).toBe(SECRET);
    expect(() => statSync(path.join(dir, 'data'))).toThrow();
  });

  it('is generated once into DATA_DIR with mode 0600 and read back on the next start', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'roomcast-secret-')), 'data');
    const first = loadOrCreateRoomSecret(null, dir);
    expect(first.length).toBeGreaterThanOrEqual(32);
    const file = path.join(dir, 'room-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first);
    expect(loadOrCreateRoomSecret(null, dir)).toBe(first);
  });

  it('refuses a secret file that is too short', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-secret-'));
    writeFileSync(path.join(dir, 'room-secret'), 'short\n');
    expect(() => loadOrCreateRoomSecret(null, dir)).toThrow(/shorter than 32/);
  });
});
