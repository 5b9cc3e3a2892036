import {
  encodeRelayFrame,
  readRelayHeader,
  type RelayFrameHeader,
  type RelayTrack,
} from '../../shared/index';
import { emitAck, expectOk, waitFor, type TestSocket } from './helpers';

export interface ReceivedChunk {
  header: RelayFrameHeader;
  bytes: Uint8Array;
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new Error(`relay_chunk carried ${typeof data}`);
}

/** Every relay_chunk a socket receives from now on, with its parsed header. */
export function collectChunks(socket: TestSocket): ReceivedChunk[] {
  const seen: ReceivedChunk[] = [];
  socket.on('relay_chunk', (data: unknown) => {
    const bytes = toBytes(data);
    const parsed = readRelayHeader(bytes);
    if (!parsed.ok) throw new Error(`viewer got a bad chunk: ${parsed.error}`);
    seen.push({ header: parsed.header, bytes });
  });
  return seen;
}

/** Encodes chunks with per-track sequence numbers, like the broadcaster's upstream does. */
export class ChunkSource {
  readonly #seq: Record<RelayTrack, number> = { video: 0, audio: 0 };
  #timestampUs = 0;

  next(
    track: RelayTrack,
    opts: { key?: boolean; size?: number; config?: boolean } = {},
  ): Uint8Array {
    const key = opts.key ?? false;
    this.#timestampUs += track === 'video' ? 33_333 : 20_000;
    const withConfig = opts.config ?? (track === 'video' ? key : false);
    return encodeRelayFrame({
      track,
      keyframe: track === 'audio' ? true : key,
      seq: this.#seq[track]++,
      timestampUs: this.#timestampUs,
      durationUs: track === 'video' ? 33_333 : 20_000,
      ...(withConfig
        ? {
            config:
              track === 'video'
                ? { codec: 'avc1.42e01f', codedWidth: 640, codedHeight: 360 }
                : { codec: 'opus', sampleRate: 48_000, numberOfChannels: 2 },
          }
        : {}),
      data: new Uint8Array(opts.size ?? 200).fill(this.#seq[track] % 256),
    });
  }
}

export function sendChunk(socket: TestSocket, bytes: Uint8Array): void {
  socket.emit('relay_chunk', bytes);
}

/** Subscribes a viewer to the relay and waits for the ack. */
export async function subscribe(viewer: TestSocket, reason = 'forced'): Promise<void> {
  expectOk(await emitAck(viewer, 'relay_subscribe', { reason }));
}

/** Resolves once `chunks` holds at least `count` entries (rejects after `timeoutMs`). */
export async function waitForCount<T>(items: T[], count: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (items.length < count) {
    if (Date.now() > deadline) throw new Error(`got ${items.length} of ${count}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export { waitFor };
