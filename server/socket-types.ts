import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, RoomCode, ServerToClientEvents } from '../shared/index';

/** No cross-server events yet (single process); the adapter would carry them. */
export type InterServerEvents = Record<string, never>;

export interface SocketData {
  connectedAt: number;
  /** Rate-limit key: the client's address (see clientIp). */
  ip: string;
  /** The handshake carried BROADCAST_TOKEN (or none is required). */
  mayBroadcast: boolean;
}

export type AppServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
export type AppSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/** Every member of room R is in the Socket.IO room `room:R`. */
export function socketRoom(roomId: RoomCode): `room:${string}` {
  return `room:${roomId}`;
}
