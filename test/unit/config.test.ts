import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has safe defaults with no public STUN servers', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      logLevel: 'info',
      clientDir: 'dist/client',
      rooms: { maxViewersPerRoom: 100, maxRooms: 10_000, reclaimGraceMs: 30_000 },
      ice: { stunUrls: [] },
      turn: { urls: [], secret: null, ttlS: 3600 },
      ladder: { maxMeshViewers: 8, mediaTimeoutMs: 8000, retryIntervalMs: 30_000 },
      relay: {
        enabled: true,
        maxRoomKbps: 40_000,
        viewerBacklogBytes: 2_000_000,
        gopCacheBytes: 8_000_000,
      },
      dataDir: 'data',
      egress: {
        adminToken: null,
        ffmpegPath: 'ffmpeg',
        hlsDir: path.join(tmpdir(), 'roomcast-hls'),
        hlsListSize: 6,
        hlsPolicy: 'optional',
        hlsRetentionMs: 60_000,
        hlsSegmentSeconds: 1,
        recordDir: null,
        rtmpTargets: [],
        transcodeKbps: 2500,
      },
      tls: { certFile: null, keyFile: null, selfSigned: false },
      metrics: { token: null },
      access: {
        broadcastToken: null,
        adminToken: null,
        roomSecret: null,
        dataDir: 'data',
        trustProxyHops: 0,
        allowedOrigins: [],
      },
      sfu: { udpPort: 8189, publicIp: null, maxViewers: 500 },
      redis: { url: null, nodeUrl: null },
      limits: { failedJoinsPerMin: 10, createRoomsPerMin: 30, apiRequestsPerMin: 300 },
    });
  });

  it('reads TLS, self-signed, data dir and metrics token settings', () => {
    const config = loadConfig({
      TLS_CERT_FILE: '/etc/roomcast/cert.pem',
      TLS_KEY_FILE: '/etc/roomcast/key.pem',
      SELF_SIGNED: '1',
      DATA_DIR: '/var/lib/roomcast',
      METRICS_TOKEN: 'metrics-token-0123456789',
    });
    expect(config.tls).toEqual({
      certFile: '/etc/roomcast/cert.pem',
      keyFile: '/etc/roomcast/key.pem',
      selfSigned: true,
    });
    expect(config.dataDir).toBe('/var/lib/roomcast');
    expect(config.metrics.token).toBe('metrics-token-0123456789');
  });

  it('refuses half a TLS setting and a short metrics token, naming the variable', () => {
    expect(() => loadConfig({ TLS_CERT_FILE: '/c.pem' })).toThrow(/TLS_KEY_FILE/);
    expect(() => loadConfig({ TLS_KEY_FILE: '/k.pem' })).toThrow(/TLS_CERT_FILE/);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });

  it('reads the access-control and abuse-limit variables', () => {
    const config = loadConfig({
      BROADCAST_TOKEN: 'b'.repeat(16),
      ADMIN_TOKEN: 'a'.repeat(20),
      ROOM_SECRET: 'r'.repeat(32),
      DATA_DIR: '/var/lib/roomcast',
      TRUST_PROXY: 'true',
      ALLOWED_ORIGINS: 'https://a.example, http://b.example:8080',
      FAILED_JOINS_PER_MIN: '5',
      CREATE_ROOMS_PER_MIN: '6',
      API_REQUESTS_PER_MIN: '7',
    });
    expect(config.access).toEqual({
      broadcastToken: 'b'.repeat(16),
      adminToken: 'a'.repeat(20),
      roomSecret: 'r'.repeat(32),
      dataDir: '/var/lib/roomcast',
      trustProxyHops: 1,
      allowedOrigins: ['https://a.example', 'http://b.example:8080'],
    });
    expect(config.limits).toEqual({
      failedJoinsPerMin: 5,
      createRoomsPerMin: 6,
      apiRequestsPerMin: 7,
    });
    expect(loadConfig({ TRUST_PROXY: '2' }).access.trustProxyHops).toBe(2);
  });

  it.each([
    ['ADMIN_TOKEN', 'short'],
    ['BROADCAST_TOKEN', 'has a space in it ok'],
    ['ROOM_SECRET', 'tooshort'],
    ['ALLOWED_ORIGINS', 'https://a.example/path'],
    ['TRUST_PROXY', 'maybe'],
    ['FAILED_JOINS_PER_MIN', '0'],
  ])('rejects a bad %s', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(variable);
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
    ['TURN_URLS', 'stun:a.example:3478'],
    ['TURN_URLS', 'https://turn.example'],
    ['TURN_SECRET', 'too-short'],
    ['TURN_SECRET', 'has a space in it, long enough'],
    ['TURN_TTL_S', '10'],
    ['MAX_MESH_VIEWERS', '-1'],
    ['MEDIA_TIMEOUT_MS', 'fast'],
    ['WEBRTC_RETRY_MS', '1.5'],
    ['RELAY_ENABLED', 'maybe'],
    ['RELAY_MAX_ROOM_KBPS', '0'],
    ['RELAY_VIEWER_BACKLOG_BYTES', '100'],
    ['RELAY_GOP_CACHE_BYTES', 'lots'],
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

describe('loadConfig: TURN, ladder and relay', () => {
  const secret = 'a-long-enough-turn-secret';

  it('reads the TURN, ladder and relay variables', () => {
    const config = loadConfig({
      TURN_URLS: 'turn:t.example:3478?transport=udp, turns:t.example:5349?transport=tcp',
      TURN_SECRET: secret,
      TURN_TTL_S: '600',
      MAX_MESH_VIEWERS: '1',
      MEDIA_TIMEOUT_MS: '3000',
      WEBRTC_RETRY_MS: '5000',
      RELAY_ENABLED: 'false',
      RELAY_MAX_ROOM_KBPS: '9000',
      RELAY_VIEWER_BACKLOG_BYTES: '500000',
      RELAY_GOP_CACHE_BYTES: '4000000',
    });
    expect(config.turn).toEqual({
      urls: ['turn:t.example:3478?transport=udp', 'turns:t.example:5349?transport=tcp'],
      secret,
      ttlS: 600,
    });
    expect(config.ladder).toEqual({
      maxMeshViewers: 1,
      mediaTimeoutMs: 3000,
      retryIntervalMs: 5000,
    });
    expect(config.relay).toEqual({
      enabled: false,
      maxRoomKbps: 9000,
      viewerBacklogBytes: 500_000,
      gopCacheBytes: 4_000_000,
    });
    expect(loadConfig({ RELAY_ENABLED: '1' }).relay.enabled).toBe(true);
    expect(loadConfig({ RELAY_ENABLED: 'off' }).relay.enabled).toBe(false);
  });

  it('reads the secret from TURN_SECRET_FILE, ignoring surrounding whitespace', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-config-'));
    const file = path.join(dir, 'turn-secret');
    writeFileSync(file, `  ${secret}\n`);
    expect(loadConfig({ TURN_SECRET_FILE: file }).turn.secret).toBe(secret);
    // An injected reader: the real file system is the default only.
    const read = (p: string) => (p === '/run/secrets/turn' ? `${secret}\n` : '');
    expect(loadConfig({ TURN_SECRET_FILE: '/run/secrets/turn' }, read).turn.secret).toBe(secret);
  });

  it('refuses a missing, short or ambiguous secret file without echoing the secret', () => {
    const missing = configError(() => loadConfig({ TURN_SECRET_FILE: '/nonexistent/turn' }));
    expect(missing.variable).toBe('TURN_SECRET_FILE');
    expect(missing.message).toContain('ENOENT');

    const short = configError(() => loadConfig({ TURN_SECRET_FILE: 'f' }, () => 'tiny\n'));
    expect(short.variable).toBe('TURN_SECRET_FILE');
    expect(short.message).not.toContain('tiny');

    const spaced = configError(() =>
      loadConfig({ TURN_SECRET_FILE: 'f' }, () => 'two words that are long'),
    );
    expect(spaced.message).toContain('whitespace');
    expect(spaced.message).not.toContain('two words');

    const both = configError(() =>
      loadConfig({ TURN_SECRET: secret, TURN_SECRET_FILE: 'f' }, () => secret),
    );
    expect(both.variable).toBe('TURN_SECRET_FILE');
    expect(both.message).not.toContain(secret);
  });

  it('REDIS_URL needs ROOM_SECRET, and takes only redis:// URLs; NODE_URL loses its trailing slash', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/ROOM_SECRET/);
    expect(() => loadConfig({ REDIS_URL: 'http://x', ROOM_SECRET: 'a'.repeat(32) })).toThrow(
      /REDIS_URL/,
    );
    const config = loadConfig({
      REDIS_URL: 'redis://:pw@10.0.0.20:6379',
      ROOM_SECRET: 'a'.repeat(32),
      NODE_URL: 'http://10.0.0.11:8080/',
    });
    expect(config.redis).toEqual({
      url: 'redis://:pw@10.0.0.20:6379',
      nodeUrl: 'http://10.0.0.11:8080',
    });
  });

  it('never puts the TURN_SECRET value in the error message', () => {
    const err = configError(() => loadConfig({ TURN_SECRET: 'short-secret' }));
    expect(err.variable).toBe('TURN_SECRET');
    expect(err.message).not.toContain('short-secret');
  });
});
