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

/** Adapts a Socket.IO socket to the hub: one binary `relay_chunk` per chunk, never volatile. */
export function socketSink(socket: AppSocket): RelaySink {
  return {
    id: socket.id,
    send: (bytes) => {
      socket.emit('relay_chunk', bytes as unknown as ArrayBuffer);
    },
    backlogBytes: () => socketBacklogBytes(socket),
  };
}
