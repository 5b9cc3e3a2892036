import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config';
import { roomIceServers, turnStatus, welcomeIceServers } from '../../server/ice-servers';
import { mintTurnCredential, turnPassword, turnUsername } from '../../server/turn-credentials';

// Known vectors computed independently with openssl, e.g.
//   printf %s '1700003600:abc123' | openssl dgst -sha1 -hmac 'north-wind-secret-42' -binary | base64
const SECRET = 'north-wind-secret-42';

describe('TURN REST credentials', () => {
  it('matches HMAC-SHA1 vectors computed with openssl', () => {
    expect(turnPassword('secret', 'user')).toBe('An2kjIxkLKTFjrmC7sgZFReed6M=');
    expect(turnPassword(SECRET, '1700003600:abc123')).toBe('N+PnCQy8g/etWg6ZYXKK9NsZUWY=');
  });

  it('mints <unix expiry>:<clientId> with the TTL added to the current second', () => {
    // 1_700_000_000.999 s + 3600 s → expiry 1_700_003_600 (fractions are dropped, not rounded up).
    const cred = mintTurnCredential(SECRET, 'abc123', 1_700_000_000_999, 3600);
    expect(cred).toEqual({
      username: '1700003600:abc123',
      credential: 'N+PnCQy8g/etWg6ZYXKK9NsZUWY=',
      expiresAtS: 1_700_003_600,
    });
  });

  it('keeps only [A-Za-z0-9_-] of the client id, so coturn sees exactly one separator', () => {
    expect(turnUsername(1_700_003_600, 'a:b c/d_e-F9')).toBe('1700003600:abcd_e-F9');
    expect(turnUsername(1_700_003_600, ':::')).toBe('1700003600:anon');
    expect(turnUsername(1_700_003_600, 'x'.repeat(200))).toBe(`1700003600:${'x'.repeat(64)}`);
  });

  it('refuses a nonsensical expiry', () => {
    expect(() => turnUsername(0, 'a')).toThrow(RangeError);
    expect(() => turnUsername(1.5, 'a')).toThrow(RangeError);
  });

  it('differs per client and per secret', () => {
    const a = mintTurnCredential(SECRET, 'client-a', 1_700_000_000_000, 60);
    const b = mintTurnCredential(SECRET, 'client-b', 1_700_000_000_000, 60);
    const c = mintTurnCredential(`${SECRET}x`, 'client-a', 1_700_000_000_000, 60);
    expect(a.credential).not.toBe(b.credential);
    expect(a.credential).not.toBe(c.credential);
  });
});

describe('ICE server lists', () => {
  const base = { STUN_URLS: 'stun:stun.example:3478' };
  const turnEnv = {
    ...base,
    TURN_URLS: 'turn:turn.example:3478?transport=udp,turn:turn.example:3478?transport=tcp',
    TURN_SECRET: SECRET,
    TURN_TTL_S: '600',
  };

  it('welcome carries STUN only, even with TURN configured', () => {
    const config = loadConfig(turnEnv);
    expect(welcomeIceServers(config)).toEqual([{ urls: ['stun:stun.example:3478'] }]);
    expect(welcomeIceServers(loadConfig({}))).toEqual([]);
  });

  it('room members get STUN plus TURN with a fresh credential', () => {
    const config = loadConfig(turnEnv);
    const servers = roomIceServers(config, 'abc123', 1_700_003_000_000);
    expect(servers).toEqual([
      { urls: ['stun:stun.example:3478'] },
      {
        urls: ['turn:turn.example:3478?transport=udp', 'turn:turn.example:3478?transport=tcp'],
        username: '1700003600:abc123',
        credential: 'N+PnCQy8g/etWg6ZYXKK9NsZUWY=',
      },
    ]);
    expect(JSON.stringify(servers)).not.toContain(SECRET);
  });

  it('gives no TURN entry unless both the URLs and the secret are set', () => {
    const noSecret = loadConfig({ ...base, TURN_URLS: 'turn:turn.example:3478' });
    const noUrls = loadConfig({ ...base, TURN_SECRET: SECRET });
    expect(roomIceServers(noSecret, 'a', 0)).toEqual([{ urls: ['stun:stun.example:3478'] }]);
    expect(roomIceServers(noUrls, 'a', 0)).toEqual([{ urls: ['stun:stun.example:3478'] }]);
    expect(turnStatus(noSecret)).toEqual({
      enabled: false,
      reason: 'TURN_SECRET or TURN_SECRET_FILE not set',
    });
    expect(turnStatus(noUrls)).toEqual({ enabled: false, reason: 'TURN_URLS not set' });
    expect(turnStatus(loadConfig(turnEnv))).toEqual({ enabled: true, reason: null });
  });
});
