import type { AppSocket } from '../socket-types';
import type { RelaySink } from './relay-hub';

/** The parts of engine.io's connection we read; none of them are in its public types. */
interface EngineConnLike {
  writeBuffer?: ReadonlyArray<{ data?: unknown }>;
  transport?: {
    writable?: boolean;
    /** The `ws` WebSocket under the websocket transport (absent while long-polling). */
    socket?: { bufferedAmount?: number };
  };
}

function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/**
 * Bytes queued for this socket and not yet handed to the kernel: engine.io's write buffer
 * (packets waiting while the transport is busy writing) plus the `ws` socket's own buffer.
 * `emit()` gives no backpressure signal, so this is the measure the backlog policy uses.
 */
export function socketBacklogBytes(socket: AppSocket): number {
  const conn = socket.conn as unknown as EngineConnLike;
  let bytes = conn.transport?.socket?.bufferedAmount ?? 0;
  const queued = conn.writeBuffer;
  if (queued && queued.length > 0) {
    for (const packet of queued) bytes += sizeOf(packet.data);
  }
  return bytes;
}

/** Socket.IO's packet type for an event (the encoder makes it a binary event as needed). */
const EVENT_PACKET = 2;

interface PacketWriter {
  packet(packet: { type: number; data: unknown[] }, opts: { compress?: boolean }): void;
}

/**
 * Adapts a Socket.IO socket to the hub: one binary `relay_chunk` per chunk, never volatile.
 * With connection-state recovery on, `socket.emit` goes through the adapter so the packet can
 * be replayed after a reconnect: with the Redis adapter that is one XADD per chunk per viewer,
 * and in memory 2 minutes of chunks per viewer. Live media is never replayed (the viewer
 * resubscribes and starts at a keyframe), so chunks are written to the socket directly.
 */
export function socketSink(socket: AppSocket): RelaySink {
  const writer = socket as unknown as PacketWriter;
  return {
    id: socket.id,
    send: (bytes) => {
      // Compression would only burn CPU on encoded media.
      writer.packet({ type: EVENT_PACKET, data: ['relay_chunk', bytes] }, { compress: false });
    },
    backlogBytes: () => socketBacklogBytes(socket),
  };
}
