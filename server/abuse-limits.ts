import { isIPv6 } from 'node:net';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  type IRateLimiterOptions,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { ERROR_MESSAGES } from '../shared/index';
import type { RedisClient } from './cluster/redis-client';
import type { Config } from './config';

/** The longest a failed-join block grows to by backoff. */
const MAX_BLOCK_S = 3600;
/** Blocks within this window count toward the backoff. */
const STRIKE_WINDOW_S = 24 * 3600;

/**
 * The address limits are keyed by. X-Forwarded-For only with TRUST_PROXY (the entry added by
 * the `hops`-th trusted proxy from the right; the left end is whatever the client wrote).
 * IPv6 is keyed by its /64, since one host usually owns a whole /64.
 */
export function clientIp(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustProxyHops: number,
): string {
  let ip = remoteAddress ?? 'unknown';
  if (trustProxyHops > 0 && forwardedFor !== undefined) {
    const list = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    const picked = list[Math.max(0, list.length - trustProxyHops)];
    if (picked !== undefined) ip = picked;
  }
  return ipKey(ip);
}

export function ipKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip.slice(0, 64);
  const full = expandIPv6(ip);
  return full ? `${full.slice(0, 4).join(':')}::/64` : ip.slice(0, 64);
}

function expandIPv6(ip: string): string[] | null {
  const [head, tail] = ip.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  if (ip.includes('.')) return null;
  const missing = 8 - left.length - right.length;
  if (missing < 0) return null;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  return groups.length === 8 ? groups.map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')) : null;
}

export function rateLimitedMessage(retryAfterS: number): string {
  return `${ERROR_MESSAGES.RATE_LIMITED} Retry after ${retryAfterS} s.`;
}

export interface AbuseLimitsOptions {
  /** Share the counts between every node through this Redis (the process falls back to its own when Redis is away). */
  redis?: RedisClient;
}

/**
 * Per-IP limits: failed joins with growing blocks, room creation, REST calls. In memory, or in
 * Redis when several nodes serve one service. Per-socket message limits stay in rate-limit.ts.
 */
export class AbuseLimits {
  #failedJoins!: RateLimiterAbstract;
  #strikes!: RateLimiterAbstract;
  #createRooms!: RateLimiterAbstract;
  #api!: RateLimiterAbstract;
  readonly #failedJoinPoints: number;
  readonly #limits: Config['limits'];

  constructor(limits: Config['limits'], options: AbuseLimitsOptions = {}) {
    this.#limits = limits;
    this.#failedJoinPoints = limits.failedJoinsPerMin;
    this.#build(options.redis);
  }

  /** From now on the counts live in Redis, shared with every node (once the cluster is joined). */
  shareThrough(redis: RedisClient): void {
    this.#build(redis);
  }

  #build(redis: RedisClient | undefined): void {
    const limits = this.#limits;
    const limiter = (name: string, settings: { points: number; duration: number }) =>
      createLimiter(name, settings, redis);
    this.#failedJoins = limiter('failed-join', { points: limits.failedJoinsPerMin, duration: 60 });
    this.#strikes = limiter('strikes', { points: 1_000_000, duration: STRIKE_WINDOW_S });
    this.#createRooms = limiter('create-room', { points: limits.createRoomsPerMin, duration: 60 });
    this.#api = limiter('api', { points: limits.apiRequestsPerMin, duration: 60 });
  }

  /** Seconds until this IP may join again, or null when it may now. */
  async joinBlockedFor(ip: string): Promise<number | null> {
    const res = await this.#failedJoins.get(ip);
    if (!res || res.consumedPoints < this.#failedJoinPoints) return null;
    return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  }

  /** A join that found no room (or a wrong password). Reaching the limit blocks, doubling each time. */
  async recordFailedJoin(ip: string): Promise<void> {
    const res = await this.#failedJoins.penalty(ip);
    if (res.consumedPoints < this.#failedJoinPoints) return;
    const strikes = (await this.#strikes.penalty(ip)).consumedPoints;
    const blockS = Math.min(MAX_BLOCK_S, 60 * 2 ** Math.min(strikes - 1, 16));
    await this.#failedJoins.block(ip, blockS);
  }

  /** Null when allowed (and counted); else seconds to wait. */
  tryCreateRoom(ip: string): Promise<number | null> {
    return take(this.#createRooms, ip);
  }

  tryApiRequest(ip: string): Promise<number | null> {
    return take(this.#api, ip);
  }
}

/**
 * A Redis limiter backed by an in-memory one of the same settings: while Redis is unreachable
 * the limits hold per process instead of every call failing.
 */
function createLimiter(
  name: string,
  settings: Pick<IRateLimiterOptions, 'points' | 'duration'>,
  redis: RedisClient | undefined,
): RateLimiterAbstract {
  const insurance = new RateLimiterMemory(settings);
  if (!redis) return insurance;
  return new RateLimiterRedis({
    ...settings,
    storeClient: redis,
    useRedisPackage: true,
    keyPrefix: `roomcast:rl:${name}`,
    // Straight to the insurance while disconnected, instead of queueing behind the reconnect.
    rejectIfRedisNotReady: true,
    insuranceLimiter: insurance,
  });
}

async function take(limiter: RateLimiterAbstract, key: string): Promise<number | null> {
  try {
    await limiter.consume(key);
    return null;
  } catch (res) {
    const ms = (res as { msBeforeNext?: number }).msBeforeNext ?? 1000;
    return Math.max(1, Math.ceil(ms / 1000));
  }
}
