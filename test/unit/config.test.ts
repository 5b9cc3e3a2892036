import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config';

describe('loadConfig', () => {
  it('has safe defaults with no public STUN servers', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      logLevel: 'info',
      clientDir: 'dist/client',
      rooms: { maxViewersPerRoom: 100, maxRooms: 10_000, reclaimGraceMs: 30_000 },
      ice: { stunUrls: [] },
    });
  });

  it('reads every variable; PORT=0 is allowed and blanks mean default', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      MAX_VIEWERS_PER_ROOM: '3',
      MAX_ROOMS: '7',
      RECLAIM_GRACE_S: '2',
      STUN_URLS: 'stun:a.example:3478, stun:b.example:19302',
      LOG_LEVEL: 'silent',
      CLIENT_DIR: '/srv/client',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      clientDir: '/srv/client',
      rooms: { maxViewersPerRoom: 3, maxRooms: 7, reclaimGraceMs: 2000 },
      ice: { stunUrls: ['stun:a.example:3478', 'stun:b.example:19302'] },
    });
    expect(loadConfig({ PORT: '', STUN_URLS: '' }).port).toBe(8080);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['MAX_VIEWERS_PER_ROOM', '0'],
    ['MAX_ROOMS', '1.5'],
    ['RECLAIM_GRACE_S', 'soon'],
    ['STUN_URLS', 'http://example.com'],
    ['LOG_LEVEL', 'loud'],
  ])('names the bad variable %s=%s', (name, value) => {
    let caught: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(name);
    expect((caught as ConfigError).message).toContain(name);
  });
});
