import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbuseLimits } from '../../server/abuse-limits';
import { connectRedis, type RedisClient } from '../../server/cluster/redis-client';
import { createLogger } from '../../server/logger';
import { startRedis, type RedisServer } from '../support/redis-server';

const LIMITS = { failedJoinsPerMin: 10, createRoomsPerMin: 2, apiRequestsPerMin: 3 };
const silent = createLogger('silent');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let redis: RedisServer;
let clientA: RedisClient;
let clientB: RedisClient;
let nodeA: AbuseLimits;
let nodeB: AbuseLimits;

beforeAll(async () => {
  redis = await startRedis();
  // Two nodes: each with its own connection, as two processes would have.
  clientA = await connectRedis(redis.url, silent, 'node-a');
  clientB = await connectRedis(redis.url, silent, 'node-b');
  nodeA = new AbuseLimits(LIMITS, { redis: clientA });
  nodeB = new AbuseLimits(LIMITS, { redis: clientB });
});

afterAll(async () => {
  await clientA?.close();
  await clientB?.close();
  await redis?.stop();
});

describe('abuse limits shared through Redis', () => {
  it('counts failed joins from one address across nodes: the 11th attempt is blocked on both', async () => {
    const ip = '203.0.113.7';
    for (let i = 0; i < 6; i++) {
      expect(await nodeA.joinBlockedFor(ip)).toBeNull();
      await nodeA.recordFailedJoin(ip);
    }
    for (let i = 0; i < 4; i++) {
      expect(await nodeB.joinBlockedFor(ip)).toBeNull();
      await nodeB.recordFailedJoin(ip);
    }
    expect(await nodeA.joinBlockedFor(ip)).toBe(60);
    expect(await nodeB.joinBlockedFor(ip)).toBe(60);
    expect(await nodeA.joinBlockedFor('203.0.113.8')).toBeNull();
    const keys = await clientA.keys('roomcast:rl:*');
    expect(keys).toEqual(
      expect.arrayContaining([`roomcast:rl:failed-join:${ip}`, `roomcast:rl:strikes:${ip}`]),
    );
  });

  it('shares room-creation and REST limits across nodes', async () => {
    const ip = '198.51.100.20';
    expect(await nodeA.tryCreateRoom(ip)).toBeNull();
    expect(await nodeB.tryCreateRoom(ip)).toBeNull();
    expect(await nodeA.tryCreateRoom(ip)).toBeGreaterThan(0);
    expect(await nodeB.tryCreateRoom(ip)).toBeGreaterThan(0);

    expect(await nodeA.tryApiRequest(ip)).toBeNull();
    expect(await nodeB.tryApiRequest(ip)).toBeNull();
    expect(await nodeA.tryApiRequest(ip)).toBeNull();
    expect(await nodeB.tryApiRequest(ip)).toBeGreaterThan(0);
  });

  it('falls back to per-process limits while Redis is down', async () => {
    await redis.stop();
    await sleep(200);
    expect(clientA.isReady).toBe(false);

    const ip = '192.0.2.44';
    // Still answering, and still limiting (per process now).
    expect(await nodeA.tryCreateRoom(ip)).toBeNull();
    expect(await nodeA.tryCreateRoom(ip)).toBeNull();
    expect(await nodeA.tryCreateRoom(ip)).toBeGreaterThan(0);
    expect(await nodeB.tryCreateRoom(ip)).toBeNull();
    expect(await nodeA.tryApiRequest(ip)).toBeNull();

    for (let i = 0; i < 10; i++) {
      expect(await nodeA.joinBlockedFor(ip)).toBeNull();
      await nodeA.recordFailedJoin(ip);
    }
    expect(await nodeA.joinBlockedFor(ip)).toBe(60);
    expect(await nodeB.joinBlockedFor(ip)).toBeNull();
  });
});
