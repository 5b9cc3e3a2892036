import { createClient, type RedisClientType } from 'redis';
import type { Logger } from '../logger';
import type { CheckResult, ReadinessCheck } from '../readiness';
import { redactRedisUrl } from './redis-url';

export { redactRedisUrl };

/** A connected node-redis client (RESP3, the default modules). */
export type RedisClient = RedisClientType;

/** Reconnect backoff: 50 ms doubling up to this cap, retried forever. */
const MAX_RECONNECT_DELAY_MS = 2_000;
/** Commands waiting while Redis is unreachable; more are rejected at once. */
const COMMANDS_QUEUE_MAX_LENGTH = 10_000;
/** At most one connection-error line per client per this long. */
const ERROR_LOG_INTERVAL_MS = 10_000;
const PING_TIMEOUT_MS = 1_500;

export interface ConnectRedisOptions {
  /** Give up (and close the client) when the first connection is not ready by then. */
  connectTimeoutMs?: number;
}

/**
 * True at most once per `intervalMs`; counts the calls it said no to, so the next log line can
 * say how many were skipped.
 */
export function logThrottle(intervalMs: number, now: () => number = Date.now) {
  let lastAt = -Infinity;
  let skipped = 0;
  return {
    /** The number of skipped calls since the last `true`, or null when this one should be skipped. */
    take(): number | null {
      const at = now();
      if (at - lastAt < intervalMs) {
        skipped++;
        return null;
      }
      lastAt = at;
      const result = skipped;
      skipped = 0;
      return result;
    },
  };
}

function reconnectDelay(retries: number): number {
  const base = Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(retries, 10));
  // Jitter so several nodes do not reconnect in lockstep after a Redis restart.
  return Math.round(base * (0.75 + Math.random() * 0.25));
}

/**
 * Creates and connects a client. Reconnects forever with a backoff capped at 2 s; while Redis is
 * away, at most 10k commands wait. Connection errors are logged at most once per 10 s, and never
 * with the URL's password.
 */
export async function connectRedis(
  url: string,
  log: Logger,
  name: string,
  options: ConnectRedisOptions = {},
): Promise<RedisClient> {
  const where = redactRedisUrl(url);
  const password = safePassword(url);
  const scrub = (text: string) => (password ? text.split(password).join('***') : text);
  const clientLog = log.child({ redis: name, url: where });
  const client: RedisClient = createClient({
    url,
    name: `roomcast-${name}`,
    commandsQueueMaxLength: COMMANDS_QUEUE_MAX_LENGTH,
    socket: { reconnectStrategy: reconnectDelay, connectTimeout: 5_000 },
  });

  const errors = logThrottle(ERROR_LOG_INTERVAL_MS);
  let down = false;
  client.on('error', (err: unknown) => {
    down = true;
    const skipped = errors.take();
    if (skipped === null) return;
    const message = scrub(err instanceof Error ? err.message : String(err));
    clientLog.warn({ err: message, skipped }, 'redis connection error');
  });
  client.on('ready', () => {
    if (down) clientLog.info('redis connection restored');
    down = false;
  });

  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`redis ${name} at ${where}: not ready after ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
  });
  try {
    await Promise.race([client.connect(), timedOut]);
  } catch (err) {
    client.destroy();
    throw err instanceof Error ? new Error(scrub(err.message)) : err;
  } finally {
    clearTimeout(timer);
  }
  clientLog.info('redis connected');
  return client;
}

function safePassword(url: string): string {
  try {
    const { password } = new URL(url);
    return password === '' ? '' : decodeURIComponent(password);
  } catch {
    return '';
  }
}

/** /readyz: `ok` with the server version when PING answers; `down` while not connected. */
export function redisCheck(client: RedisClient): ReadinessCheck {
  let version: string | undefined;
  return async (): Promise<CheckResult> => {
    if (!client.isReady) return { status: 'down', detail: 'redis not connected' };
    try {
      const timed = client.withCommandOptions({ timeout: PING_TIMEOUT_MS });
      await timed.ping();
      if (version === undefined) {
        const info = String(await timed.info('server'));
        version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
      }
      return { status: 'ok', detail: `redis ${version}` };
    } catch (err) {
      return { status: 'down', detail: err instanceof Error ? err.message : 'redis PING failed' };
    }
  };
}
