import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RoomCode } from '../../shared/index';
import { connectRedis, redisCheck, type RedisClient } from '../../server/cluster/redis-client';
import { RedisRoomDirectory, type RoomDirectoryOptions } from '../../server/cluster/room-directory';
import { createLogger, type Logger } from '../../server/logger';
import { freePort } from '../support/free-port';
import { startRedis, type RedisServer } from '../support/redis-server';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function captureLogger(): {
  log: Logger;
  lines: () => Record<string, unknown>[];
  raw: () => string;
} {
  const written: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void written.push(line) });
  return {
    log,
    lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>),
    raw: () => written.join(''),
  };
}

const silent = createLogger('silent');

let redis: RedisServer;
/** Test-side connection for inspecting and tampering with keys. */
let inspector: RedisClient;
const clients: RedisClient[] = [];
const directories: RedisRoomDirectory[] = [];
let prefixCounter = 0;

beforeAll(async () => {
  redis = await startRedis();
  inspector = await connectRedis(redis.url, silent, 'inspector');
});

afterEach(async () => {
  await Promise.all(directories.splice(0).map((directory) => directory.stop()));
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await inspector?.close();
  await redis?.stop();
});

/** A directory on its own Redis connection; every test gets its own key prefix. */
async function node(
  nodeId: string,
  prefix: string,
  options: Partial<RoomDirectoryOptions> = {},
): Promise<RedisRoomDirectory> {
  const client = await connectRedis(redis.url, silent, nodeId);
  clients.push(client);
  const directory = new RedisRoomDirectory({
    client,
    nodeId,
    nodeUrl: `http://10.0.0.${directories.length + 1}:8080`,
    log: silent,
    keyPrefix: prefix,
    ...options,
  });
  directories.push(directory);
  return directory;
}

function freshPrefix(): string {
  return `test${++prefixCounter}:`;
}

describe('room directory in Redis', () => {
  it('two nodes allocating at once never collide', async () => {
    const prefix = freshPrefix();
    // 1,300 possible codes for 1,000 rooms: the nodes keep drawing codes the other just took.
    let draws = 0;
    const narrow = (): number => {
      draws++;
      return Math.floor(Math.random() * 1_300);
    };
    const options = { random: narrow, maxAttempts: 400 };
    const a = await node('node-a', prefix, options);
    const b = await node('node-b', prefix, options);

    const calls: Promise<{ node: string; code: RoomCode | null }>[] = [];
    for (let i = 0; i < 500; i++) {
      calls.push(a.allocate().then((code) => ({ node: 'node-a', code })));
      calls.push(b.allocate().then((code) => ({ node: 'node-b', code })));
    }
    const results = await Promise.all(calls);

    const codes = results.map((r) => r.code);
    expect(codes.every((code) => code !== null)).toBe(true);
    expect(new Set(codes).size).toBe(1_000);
    const owners = await inspector.mGet(results.map((r) => `${prefix}room:${r.code}`));
    expect(owners).toEqual(results.map((r) => r.node));
    // Collisions really happened, and each one was refused rather than handed out.
    const collisions = a.allocationCollisions + b.allocationCollisions;
    expect(collisions).toBeGreaterThan(100);
    expect(draws).toBe(1_000 + collisions);
    expect(a.allocationCollisions).toBeGreaterThan(0);
    expect(b.allocationCollisions).toBeGreaterThan(0);
  });

  it('allocate gives up with null when every code is taken', async () => {
    const prefix = freshPrefix();
    const a = await node('node-a', prefix, { random: () => 7, maxAttempts: 5 });
    expect(await a.allocate()).toBe('000007');
    expect(await a.allocate()).toBeNull();
    expect(a.allocationCollisions).toBe(5);
  });

  it('claims, looks up, releases and takes over rooms only as their owner allows', async () => {
    const prefix = freshPrefix();
    const a = await node('node-a', prefix);
    const b = await node('node-b', prefix);
    const code = '123456' as RoomCode;

    expect(await a.lookup(code)).toBeNull();
    expect(await a.claim(code)).toEqual({ ok: true });
    expect(await a.claim(code)).toEqual({ ok: true });
    expect(await b.claim(code)).toEqual({ ok: false, owner: 'node-a' });
    expect(await b.lookup(code)).toBe('node-a');

    // Releasing someone else's room is a no-op.
    await b.release(code);
    expect(await a.lookup(code)).toBe('node-a');

    // Taking over only works from the node named as dead.
    expect(await b.takeOver(code, 'node-c')).toBe(false);
    expect(await a.lookup(code)).toBe('node-a');
    expect(await b.takeOver(code, 'node-a')).toBe(true);
    expect(await a.lookup(code)).toBe('node-b');
    expect(await inspector.pTTL(`${prefix}room:${code}`)).toBeGreaterThan(25_000);
    expect(await a.takeOver(code, 'node-a')).toBe(false);

    await a.release(code);
    expect(await a.lookup(code)).toBe('node-b');
    await b.release(code);
    expect(await a.lookup(code)).toBeNull();
    expect(await b.takeOver(code, 'node-b')).toBe(false);
    expect(await a.lookup(code)).toBeNull();
  });

  it('keeps a live node’s rooms and heartbeat past their TTL, and lets an idle entry expire', async () => {
    const prefix = freshPrefix();
    const timing = { entryTtlMs: 500, refreshMs: 100 };
    const a = await node('node-a', prefix, timing);
    const b = await node('node-b', prefix, timing);
    const live = await a.allocate();
    const idle = await b.allocate();
    expect(live).not.toBeNull();
    expect(idle).not.toBeNull();
    a.start(() => [live!]);

    await sleep(1_200);
    expect(await b.lookup(live!)).toBe('node-a');
    expect(await b.nodeInfo('node-a')).toEqual({ url: 'http://10.0.0.1:8080' });
    // Never refreshed: gone after its TTL.
    expect(await a.lookup(idle!)).toBeNull();
    expect(await a.nodeInfo('node-b')).toBeNull();
  });

  it('a stopped node’s rooms and heartbeat are gone, and other nodes’ rooms stay', async () => {
    const prefix = freshPrefix();
    const a = await node('node-a', prefix);
    const b = await node('node-b', prefix);
    const mine = (await a.allocate())!;
    const theirs = (await b.allocate())!;
    a.start(() => [mine, theirs]);
    await sleep(50);
    expect(await b.nodeInfo('node-a')).toEqual({ url: 'http://10.0.0.1:8080' });

    await a.stop();
    expect(await b.lookup(mine)).toBeNull();
    expect(await b.nodeInfo('node-a')).toBeNull();
    expect(await a.lookup(theirs)).toBe('node-b');
  });

  it('re-registers a room whose entry vanished, and leaves one another node holds', async () => {
    const prefix = freshPrefix();
    const { log, lines } = captureLogger();
    const a = await node('node-a', prefix, { entryTtlMs: 2_000, refreshMs: 100, log });
    const vanishing = (await a.allocate())!;
    const stolen = (await a.allocate())!;
    a.start(() => [vanishing, stolen]);
    await sleep(50);

    // As after a Redis restart, and as after a node that lost its entry to another.
    await inspector.del(`${prefix}room:${vanishing}`);
    await inspector.set(`${prefix}room:${stolen}`, 'node-z');
    await sleep(350);

    expect(await a.lookup(vanishing)).toBe('node-a');
    expect(await a.lookup(stolen)).toBe('node-z');
    const warnings = lines().filter((line) => String(line.msg).includes('another node'));
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatchObject({ count: 1, sample: [{ code: stolen, owner: 'node-z' }] });
    // Throttled: one warning although several refreshes ran.
    expect(warnings.length).toBe(1);
    expect(lines().some((line) => String(line.msg).includes('re-registered'))).toBe(true);
  });

  it('shares revoked token digests between nodes until they expire', async () => {
    const prefix = freshPrefix();
    const a = await node('node-a', prefix);
    const b = await node('node-b', prefix);
    expect(await b.isRevoked('digest-1')).toBe(false);
    await a.revoke('digest-1', 300);
    expect(await b.isRevoked('digest-1')).toBe(true);
    expect(await b.isRevoked('digest-2')).toBe(false);
    await sleep(450);
    expect(await b.isRevoked('digest-1')).toBe(false);
  });

  it('rejects a refresh interval that would let entries expire', async () => {
    const client = await connectRedis(redis.url, silent, 'config');
    clients.push(client);
    const base = { client, nodeId: 'n', nodeUrl: 'http://x', log: silent };
    expect(() => new RedisRoomDirectory({ ...base, entryTtlMs: 100, refreshMs: 100 })).toThrow();
    expect(() => new RedisRoomDirectory({ ...base, nodeId: '' })).toThrow();
  });
});

describe('Redis connection', () => {
  it('reports the Redis version when ready', async () => {
    const client = await connectRedis(redis.url, silent, 'readiness');
    clients.push(client);
    const result = await redisCheck(client)();
    expect(result.status).toBe('ok');
    expect(result.detail).toMatch(/^redis \d+\.\d+/);
  });

  it('when Redis restarts: readiness is down, commands reject, then rooms are registered again', async () => {
    const first = await startRedis();
    let second: RedisServer | undefined;
    const { log, raw } = captureLogger();
    try {
      const client = await connectRedis(first.url, log, 'outage');
      clients.push(client);
      const directory = new RedisRoomDirectory({
        client,
        nodeId: 'node-a',
        nodeUrl: 'http://a',
        log,
        entryTtlMs: 1_000,
        refreshMs: 100,
        commandTimeoutMs: 300,
      });
      const code = (await directory.allocate())!;
      directory.start(() => [code]);
      const check = redisCheck(client);
      expect((await check()).status).toBe('ok');

      await first.stop();
      await sleep(300);
      expect(await check()).toEqual({ status: 'down', detail: 'redis not connected' });
      await expect(directory.lookup(code)).rejects.toThrow();
      expect(raw()).toContain('redis connection error');

      // An empty Redis on the same port: the client reconnects and the refresh loop (which
      // kept running through the errors) puts the room and heartbeat back.
      second = await startRedis({ port: first.port });
      const deadline = Date.now() + 8_000;
      while ((await check()).status !== 'ok' && Date.now() < deadline) await sleep(100);
      expect((await check()).status).toBe('ok');
      await sleep(300);
      expect(await directory.lookup(code)).toBe('node-a');
      expect(await directory.nodeInfo('node-a')).toEqual({ url: 'http://a' });
      expect(raw()).toContain('redis connection restored');
      await directory.stop();
    } finally {
      await first.stop();
      await second?.stop();
    }
  });

  it('gives up on a first connection that never comes, without logging the password', async () => {
    const port = await freePort();
    const { log, raw } = captureLogger();
    const url = `redis://app:Sup3rSecretPw@127.0.0.1:${port}`;
    const attempt = connectRedis(url, log, 'unreachable', { connectTimeoutMs: 500 });
    await expect(attempt).rejects.toThrow(/not ready after 500 ms/);
    await attempt.catch((err: Error) => expect(err.message).not.toContain('Sup3rSecretPw'));
    expect(raw()).toContain('redis connection error');
    expect(raw()).toContain('app:***@127.0.0.1');
    expect(raw()).not.toContain('Sup3rSecretPw');
  });
});
