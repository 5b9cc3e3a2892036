import type { RoomCode } from '../../shared/index';
import type { Logger } from '../logger';
import { generateRoomCode } from '../room-code';
import { logThrottle, type RedisClient } from './redis-client';

export interface RoomDirectoryOptions {
  client: RedisClient;
  /** Unique per process (the app passes randomUUID()). */
  nodeId: string;
  /** This node's internal base URL (e.g. http://10.0.0.11:8080), published with its heartbeat. */
  nodeUrl: string;
  log: Logger;
  /** Default 'roomcast:'. */
  keyPrefix?: string;
  /** Default 30_000: a room entry outlives its node by at most this. */
  entryTtlMs?: number;
  /** Default 10_000; must be below entryTtlMs. */
  refreshMs?: number;
  /** Code generator override (tests narrow the space to force collisions). */
  random?: (max: number) => number;
  /** Default 32. */
  maxAttempts?: number;
  /** Default 2_000: a command waiting longer (Redis unreachable) rejects instead of hanging. */
  commandTimeoutMs?: number;
}

/** Codes per refresh script call, so one call never blocks Redis for long. */
const REFRESH_BATCH = 500;
const WARN_INTERVAL_MS = 10_000;

/** Deletes KEYS[1] only when it still holds ARGV[1]. */
const COMPARE_AND_DELETE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** KEYS[1] := ARGV[2] (PX ARGV[3]) only when it holds ARGV[1]. */
const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/** Takes KEYS[1] for ARGV[1] when free, re-arms it when ours; returns the owner either way. */
const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if owner == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return owner`;

/**
 * Re-arms every room key still ours, re-sets the vanished ones, and the heartbeat (KEYS[1]) when
 * ARGV[3] is not empty. Returns { re-set count, i1, owner1, i2, owner2, ... } for keys (1-based
 * among the room keys) that another node holds.
 */
const REFRESH = `
local node, ttl = ARGV[1], ARGV[2]
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ttl)
end
local result = { 0 }
for i = 2, #KEYS do
  local owner = redis.call('GET', KEYS[i])
  if owner == node then
    redis.call('PEXPIRE', KEYS[i], ttl)
  elseif owner == false then
    redis.call('SET', KEYS[i], node, 'PX', ttl)
    result[1] = result[1] + 1
  else
    result[#result + 1] = i - 1
    result[#result + 1] = owner
  end
end
return result`;

/** Deletes every room key (KEYS[2..]) still holding ARGV[1], and the heartbeat KEYS[1]. */
const RELEASE_ALL = `
redis.call('DEL', KEYS[1])
local released = 0
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    released = released + redis.call('DEL', KEYS[i])
  end
end
return released`;

/**
 * Which node hosts which room, shared by every node through Redis. `<prefix>room:<code>` holds
 * the owner's node id with a TTL this node keeps re-arming, so a crashed node's rooms free
 * themselves within entryTtlMs; `<prefix>node:<id>` is its heartbeat with its URL.
 */
export class RedisRoomDirectory {
  readonly nodeId: string;
  readonly #redis: RedisClient;
  readonly #nodeUrl: string;
  readonly #log: Logger;
  readonly #prefix: string;
  readonly #entryTtlMs: number;
  readonly #refreshMs: number;
  readonly #random: ((max: number) => number) | undefined;
  readonly #maxAttempts: number;
  readonly #refreshErrors = logThrottle(WARN_INTERVAL_MS);
  readonly #foreignWarnings = logThrottle(WARN_INTERVAL_MS);
  #collisions = 0;
  #timer: NodeJS.Timeout | undefined;
  #localCodes: (() => Iterable<RoomCode>) | undefined;
  #refreshing: Promise<void> | undefined;
  #stopped = false;

  constructor(options: RoomDirectoryOptions) {
    this.nodeId = options.nodeId;
    this.#nodeUrl = options.nodeUrl;
    this.#log = options.log;
    this.#prefix = options.keyPrefix ?? 'roomcast:';
    this.#entryTtlMs = options.entryTtlMs ?? 30_000;
    this.#refreshMs = options.refreshMs ?? 10_000;
    this.#random = options.random;
    this.#maxAttempts = options.maxAttempts ?? 32;
    if (!(this.#refreshMs > 0 && this.#refreshMs < this.#entryTtlMs)) {
      throw new Error('room directory: refreshMs must be positive and below entryTtlMs');
    }
    if (this.nodeId === '') throw new Error('room directory: nodeId must not be empty');
    this.#redis = options.client.withCommandOptions({
      timeout: options.commandTimeoutMs ?? 2_000,
    }) as RedisClient;
  }

  /** SET NX refusals in allocate() so far (codes another room already held). */
  get allocationCollisions(): number {
    return this.#collisions;
  }

  /** Claims a fresh random 6-digit code for this node with SET NX PX; null after maxAttempts collisions. */
  async allocate(): Promise<RoomCode | null> {
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      const code = generateRoomCode(this.#random);
      const set = await this.#redis.set(this.#roomKey(code), this.nodeId, {
        condition: 'NX',
        expiration: { type: 'PX', value: this.#entryTtlMs },
      });
      if (set === 'OK') return code;
      this.#collisions++;
    }
    return null;
  }

  /** Claims one given code (a broadcaster re-creating its room): ok when free or already ours; else the owner. */
  async claim(code: RoomCode): Promise<{ ok: true } | { ok: false; owner: string }> {
    const owner = String(
      await this.#redis.eval(CLAIM, {
        keys: [this.#roomKey(code)],
        arguments: [this.nodeId, String(this.#entryTtlMs)],
      }),
    );
    return owner === this.nodeId ? { ok: true } : { ok: false, owner };
  }

  /** The node id hosting the room, or null. */
  async lookup(code: RoomCode): Promise<string | null> {
    const owner = await this.#redis.get(this.#roomKey(code));
    return owner === null ? null : String(owner);
  }

  /**
   * Deletes the entry only if it is still ours (Lua compare-and-delete). Drop the room from
   * localCodes() first, or the next refresh puts it back.
   */
  async release(code: RoomCode): Promise<void> {
    // A refresh that read localCodes() before the room closed must not re-set it after this.
    await this.#refreshing;
    await this.#redis.eval(COMPARE_AND_DELETE, {
      keys: [this.#roomKey(code)],
      arguments: [this.nodeId],
    });
  }

  /** Becomes the owner only if `deadNode` still is (Lua compare-and-set, with a fresh TTL). */
  async takeOver(code: RoomCode, deadNode: string): Promise<boolean> {
    const taken = await this.#redis.eval(COMPARE_AND_SET, {
      keys: [this.#roomKey(code)],
      arguments: [deadNode, this.nodeId, String(this.#entryTtlMs)],
    });
    return Number(taken) === 1;
  }

  /** Whether that node's heartbeat key is live; plus its advertised URL. */
  async nodeInfo(nodeId: string): Promise<{ url: string } | null> {
    const raw = await this.#redis.get(this.#nodeKey(nodeId));
    if (raw === null) return null;
    try {
      const parsed: unknown = JSON.parse(String(raw));
      const url = (parsed as { url?: unknown } | null)?.url;
      return typeof url === 'string' ? { url } : null;
    } catch {
      return null;
    }
  }

  /** Every node with a live heartbeat (this one included), for cluster-wide listings. */
  async liveNodes(): Promise<Array<{ id: string; url: string }>> {
    const match = this.#nodeKey('*');
    const ids: string[] = [];
    let cursor = '0';
    // Bounded: a service has a handful of nodes; never loop forever on a misbehaving server.
    for (let page = 0; page < 1000; page++) {
      const reply = await this.#redis.scan(cursor, { MATCH: match, COUNT: 100 });
      for (const key of reply.keys) ids.push(String(key).slice(match.length - 1));
      cursor = String(reply.cursor);
      if (cursor === '0') break;
    }
    const nodes = await Promise.all(ids.map(async (id) => ({ id, info: await this.nodeInfo(id) })));
    return nodes.flatMap(({ id, info }) => (info ? [{ id, url: info.url }] : []));
  }

  /** Token nonce digests of rooms ended on purpose, shared by every node (SET … PX ttlMs). */
  async revoke(nonceDigest: string, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#revokedKey(nonceDigest), '1', {
      expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) },
    });
  }

  async isRevoked(nonceDigest: string): Promise<boolean> {
    return (await this.#redis.exists(this.#revokedKey(nonceDigest))) === 1;
  }

  /**
   * Starts the refresh loop: every refreshMs, re-arms the TTL of every code in localCodes() that
   * is still ours (re-sets the ones that vanished, warns about ones another node holds) and this
   * node's heartbeat. Runs once immediately; the timer does not keep the process alive; Redis
   * errors are logged (bounded) and never thrown.
   */
  start(localCodes: () => Iterable<RoomCode>): void {
    if (this.#localCodes !== undefined) throw new Error('room directory already started');
    this.#localCodes = localCodes;
    this.#stopped = false;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#refreshMs);
    this.#timer.unref();
  }

  /** Stops the loop, releases every code in localCodes() still ours and the heartbeat. Never throws. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#refreshing;
    const localCodes = this.#localCodes;
    this.#localCodes = undefined;
    const codes = localCodes ? [...safeCodes(localCodes)] : [];
    try {
      for (let i = 0; i < codes.length || i === 0; i += REFRESH_BATCH) {
        const batch = codes.slice(i, i + REFRESH_BATCH);
        await this.#redis.eval(RELEASE_ALL, {
          keys: [this.#nodeKey(this.nodeId), ...batch.map((code) => this.#roomKey(code))],
          arguments: [this.nodeId],
        });
      }
    } catch (err) {
      // Entries expire by themselves within entryTtlMs.
      this.#log.warn({ err: errorMessage(err) }, 'room directory: release on stop failed');
    }
  }

  #tick(): void {
    // One refresh at a time: a slow Redis must not stack them up.
    if (this.#refreshing !== undefined || this.#stopped) return;
    this.#refreshing = this.#refresh()
      .catch((err: unknown) => {
        const skipped = this.#refreshErrors.take();
        if (skipped !== null) {
          this.#log.warn({ err: errorMessage(err), skipped }, 'room directory refresh failed');
        }
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
  }

  async #refresh(): Promise<void> {
    const localCodes = this.#localCodes;
    if (!localCodes) return;
    const codes = [...localCodes()];
    const heartbeat = JSON.stringify({ url: this.#nodeUrl });
    let reset = 0;
    const foreign: { code: RoomCode; owner: string }[] = [];
    // The heartbeat goes with the first batch (an empty one when no room is local).
    for (let i = 0; i < codes.length || i === 0; i += REFRESH_BATCH) {
      const batch = codes.slice(i, i + REFRESH_BATCH);
      const reply = (await this.#redis.eval(REFRESH, {
        keys: [this.#nodeKey(this.nodeId), ...batch.map((code) => this.#roomKey(code))],
        arguments: [this.nodeId, String(this.#entryTtlMs), i === 0 ? heartbeat : ''],
      })) as unknown[];
      reset += Number(reply[0]);
      for (let j = 1; j + 1 < reply.length; j += 2) {
        const code = batch[Number(reply[j]) - 1];
        if (code !== undefined) foreign.push({ code, owner: String(reply[j + 1]) });
      }
    }
    if (reset > 0) this.#log.info({ count: reset }, 'room directory: re-registered vanished rooms');
    if (foreign.length > 0) {
      const skipped = this.#foreignWarnings.take();
      if (skipped !== null) {
        this.#log.warn(
          { count: foreign.length, sample: foreign.slice(0, 5), skipped },
          'room directory: local rooms are registered to another node',
        );
      }
    }
  }

  #roomKey(code: RoomCode): string {
    return `${this.#prefix}room:${code}`;
  }

  #nodeKey(nodeId: string): string {
    return `${this.#prefix}node:${nodeId}`;
  }

  #revokedKey(nonceDigest: string): string {
    return `${this.#prefix}revoked:${nonceDigest}`;
  }
}

function safeCodes(localCodes: () => Iterable<RoomCode>): Iterable<RoomCode> {
  try {
    return localCodes();
  } catch {
    return [];
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
