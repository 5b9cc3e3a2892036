import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { AbuseLimits } from '../abuse-limits';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { RoomRegistry } from '../room-registry';
import type { Signalling } from '../signalling';
import type { AppServer } from '../socket-types';
import { ClusterRouter } from './cluster-router';
import { NodeBus, type BusPublisher, type BusSubscriber } from './node-bus';
import type { ReadinessCheck } from '../readiness';
import { connectRedis, redactRedisUrl, redisCheck, type RedisClient } from './redis-client';
import { RedisRoomDirectory } from './room-directory';

/** A crashed node's rooms become free (and its members are dropped) within this. */
const ENTRY_TTL_MS = 10_000;
const REFRESH_MS = 3_000;
const LIVENESS_CHECK_MS = 3_000;

export interface ClusterOptions {
  url: string;
  nodeId: string;
  nodeUrl: string;
  io: AppServer;
  registry: RoomRegistry;
  signalling: Signalling;
  relay: Config['relay'];
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
  /** Per-address limits: moved into Redis so every node counts together. */
  abuse?: AbuseLimits;
}

export interface Cluster {
  client: RedisClient;
  /** `/readyz`: PING with the server version. */
  check: ReadinessCheck;
  router: ClusterRouter;
  directory: RedisRoomDirectory;
  close(): Promise<void>;
}

/**
 * Joins the service's other nodes through Redis: the Socket.IO Streams adapter (events and
 * connection-state recovery on any node), the room directory (codes → home node), and the node
 * bus (forwarded events, relay chunks).
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { url, nodeId, io, log } = options;
  const client = await connectRedis(url, log, 'main');
  io.adapter(
    createAdapter(client, {
      streamName: 'roomcast:socket.io',
      channelPrefix: 'roomcast:socket.io',
      sessionKeyPrefix: 'roomcast:sio:session:',
      maxLen: 10_000,
    }),
  );
  const subscriber = client.duplicate();
  subscriber.on('error', (err: Error) => log.debug({ err: err.message }, 'redis subscriber error'));
  await subscriber.connect();
  const bus = new NodeBus({
    nodeId,
    publisher: client as unknown as BusPublisher,
    subscriber: subscriber as unknown as BusSubscriber,
    log,
  });
  const directory = new RedisRoomDirectory({
    client,
    nodeId,
    nodeUrl: options.nodeUrl,
    log,
    entryTtlMs: ENTRY_TTL_MS,
    refreshMs: REFRESH_MS,
  });
  const router = new ClusterRouter({
    io,
    bus,
    directory,
    registry: options.registry,
    relay: options.relay,
    log,
    metrics: options.metrics,
    now: options.now,
    livenessCheckMs: LIVENESS_CHECK_MS,
  });
  options.abuse?.shareThrough(client);
  await router.start(options.signalling);
  options.signalling.attachCluster(router);
  directory.start(() => [...options.registry.rooms()].map((room) => room.id));
  log.info({ node: nodeId, redis: redactRedisUrl(url) }, 'cluster joined');
  return {
    client,
    check: redisCheck(client),
    router,
    directory,
    async close() {
      await directory.stop();
      await router.close();
      await subscriber.quit().catch(() => {});
      await client.quit().catch(() => {});
    },
  };
}
