import type { AckResult, RoomCode } from '../../shared/index';
import type { Caller } from '../caller';
import type { RelaySink } from '../relay/relay-hub';
import type { EventRoute } from '../signalling-feature';
import type { ClientEventName } from '../socket-handler';

/** Routes events between nodes when REDIS_URL is set; see server/cluster/cluster-router.ts. */
export interface ClusterPort {
  route(
    caller: Caller,
    event: ClientEventName,
    route: EventRoute,
    payload: unknown,
  ): Promise<AckResult<unknown>>;
  /** True when the disconnect was for a room on another node (and has been forwarded). */
  routeDisconnect(caller: Caller, reason: string): boolean;
  /** A fresh code this node owns (SET NX in Redis), or null when none could be had. */
  allocateCode(): Promise<RoomCode | null>;
  /** Claims a code for a room re-created here; false when another node holds it. */
  claimCode(roomId: RoomCode): Promise<boolean>;
  isRevoked(nonceDigest: string): Promise<boolean>;
  /** The hub sink that carries a room's chunks to a node's mirror hub. */
  nodeSink(roomId: RoomCode, node: string): RelaySink;
  /** Relay viewers of the room whose sockets are on other nodes. */
  remoteRelayViewers(roomId: RoomCode): number;
  /** A viewer left the room (`left`) or the relay: its node may no longer need the chunks. */
  viewerChanged(roomId: RoomCode, viewerId: string, left: boolean): void;
  relayReset(roomId: RoomCode): void;
  /** The room is gone: release its code, tell the other nodes. */
  roomClosed(roomId: RoomCode): void;
}
