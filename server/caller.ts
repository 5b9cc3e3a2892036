import type { Logger } from './logger';
import type { AppServer, AppSocket } from './socket-types';

/**
 * Who sent a room event, wherever its socket lives. Room handlers run on the room's home node;
 * the sender may be a socket here or one on another node whose event was forwarded.
 */
export interface Caller {
  readonly id: string;
  /** Rate-limit key (see clientIp). */
  readonly ip: string;
  readonly mayBroadcast: boolean;
  readonly log: Logger;
  /** The node holding the socket; null for a socket on this node. */
  readonly node: string | null;
  /** Present for a socket on this node (relay sinks need it). */
  readonly socket?: AppSocket;
  connected(): boolean;
  join(room: string): void;
  leave(room: string): void;
}

export function localCaller(socket: AppSocket, log: Logger): Caller {
  return {
    id: socket.id,
    get ip() {
      return socket.data.ip;
    },
    get mayBroadcast() {
      return socket.data.mayBroadcast;
    },
    log,
    node: null,
    socket,
    connected: () => socket.connected,
    join: (room) => void socket.join(room),
    leave: (room) => void socket.leave(room),
  };
}

export interface RemotePeer {
  id: string;
  ip: string;
  mayBroadcast: boolean;
}

/** A socket on `node`: joins and leaves go through the adapter, which reaches every node. */
export function remoteCaller(io: AppServer, peer: RemotePeer, node: string, log: Logger): Caller {
  return {
    id: peer.id,
    ip: peer.ip,
    mayBroadcast: peer.mayBroadcast,
    log: log.child({ peer: peer.id, node: node.slice(0, 8) }),
    node,
    // The edge node tells us when it goes (a forwarded disconnect).
    connected: () => true,
    join: (room) => io.in(peer.id).socketsJoin(room),
    leave: (room) => io.in(peer.id).socketsLeave(room),
  };
}
