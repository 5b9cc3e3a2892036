import type express from 'express';
import type { RoomCode } from '../../shared/index';
import type { AbuseLimits } from '../abuse-limits';
import type { Config } from '../config';
import { roomIceServers } from '../ice-servers';
import type { Logger } from '../logger';
import type { RoomRegistry } from '../room-registry';
import type { SignallingFeature } from '../signalling-feature';
import type { AppServer } from '../socket-types';
import { SfuService, type SfuStatus } from './sfu-service';
import { sfuSignalling } from './sfu-signalling';
import { whepRouter } from './whep-routes';

export { SfuService } from './sfu-service';

/** The bitrate the server asks a publisher for: a ceiling, the broadcaster's preset caps it. */
const PUBLISHER_KBPS = 8000;

export interface SfuDeps {
  config: Config;
  log: Logger;
  registry: RoomRegistry;
  io: AppServer;
  abuse?: AbuseLimits;
  now: () => number;
  /** Republishes a room's stats summary (WHEP players are counted there). */
  publishSummary: (roomId: RoomCode) => void;
}

export interface Sfu {
  service: SfuService;
  /** Socket.IO events and room hooks for Signalling.addFeature. */
  feature: SignallingFeature;
  /** Mounted at /whep. */
  whep: express.Router;
  status(): SfuStatus;
  start(): Promise<void>;
  close(): void;
}

/** Wires the SFU: nothing binds a port until `start` (called from listen). */
export function createSfu(deps: SfuDeps): Sfu {
  const { config, registry, io } = deps;
  const service = new SfuService({
    config: { ...config.sfu, publisherKbps: PUBLISHER_KBPS },
    log: deps.log,
    now: deps.now,
    onDemand: (roomId) => sendDemand(roomId),
  });
  function sendDemand(roomId: RoomCode): void {
    const room = registry.getRoom(roomId);
    if (room?.broadcasterOnline)
      io.to(room.broadcasterId).emit('sfu_demand', service.demandOf(roomId));
  }
  return {
    service,
    feature: sfuSignalling({ service, registry, sendDemand }),
    whep: whepRouter({
      service,
      registry,
      abuse: deps.abuse,
      trustProxyHops: config.access.trustProxyHops,
      iceServers: (playerId) => roomIceServers(config, playerId, deps.now()),
      log: deps.log,
      onAudienceChange: deps.publishSummary,
    }),
    status: () => service.status(),
    start: () => service.start(),
    close: () => service.close(),
  };
}
