/**
 * A bench:sfu viewer process: N SFU viewers (socket.io-client joins the room, a node-datachannel
 * peer subscribes with sfu_subscribe) that count the video frames they receive whole, per
 * measurement window, and the time from the publisher's send stamp to the first packet.
 */
import { io, type Socket } from 'socket.io-client';
import type { AckResult, SfuAnswer } from '../../shared/index';
import { SubscriberClient } from '../../test/support/webrtc-client';
import {
  readPayload,
  type SfuParentToWorker,
  type SfuWorkerToParent,
  type ViewerTally,
} from './media';

interface Viewer {
  socket: Socket;
  sub: SubscriberClient;
  /** frame number → packets seen, for the current window. */
  frames: Map<number, { got: number; of: number; window: number }>;
  latencies: number[];
  bytes: number;
}

const viewers: Viewer[] = [];
const send = (message: SfuWorkerToParent) => process.send?.(message);

function ack<T>(socket: Socket, event: string, payload: unknown, timeoutMs: number) {
  return new Promise<AckResult<T>>((resolve, reject) => {
    socket
      .timeout(timeoutMs)
      .emit(event, payload, (err: Error | null, result: AckResult<T>) =>
        err ? reject(err) : resolve(result),
      );
  });
}

async function addViewer(url: string, roomId: string): Promise<void> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('welcome', () => resolve());
    socket.once('connect_error', reject);
  });
  const joined = await ack(socket, 'join_room', { roomId }, 20_000);
  if (!joined.ok) throw new Error(`join_room: ${joined.error.code}`);
  const viewer: Viewer = {
    socket,
    sub: null as unknown as SubscriberClient,
    frames: new Map(),
    latencies: [],
    bytes: 0,
  };
  // Count as packets arrive instead of keeping them.
  const sub = new SubscriberClient({
    onRtp: (packet) => {
      const stamp = readPayload(packet);
      if (!stamp) return;
      viewer.bytes += packet.length;
      if (stamp.window === 0) return;
      const frame = viewer.frames.get(stamp.frame) ?? {
        got: 0,
        of: stamp.packets,
        window: stamp.window,
      };
      if (frame.got === 0) viewer.latencies.push(Date.now() - stamp.sentAt);
      frame.got++;
      viewer.frames.set(stamp.frame, frame);
    },
  });
  viewer.sub = sub;
  const answer = await ack<SfuAnswer>(
    socket,
    'sfu_subscribe',
    { sdp: await sub.offer(), reason: 'forced' },
    30_000,
  );
  if (!answer.ok) throw new Error(`sfu_subscribe: ${answer.error.code} ${answer.error.message}`);
  await sub.accept(answer.data.sdp);
  viewers.push(viewer);
}

function tally(window: number): ViewerTally {
  let frames = 0;
  const perViewer: number[] = [];
  const latencies: number[] = [];
  let bytes = 0;
  for (const viewer of viewers) {
    let whole = 0;
    for (const [id, frame] of viewer.frames) {
      if (frame.window !== window) continue;
      if (frame.got >= frame.of) whole++;
      viewer.frames.delete(id);
    }
    frames += whole;
    perViewer.push(whole);
    latencies.push(...viewer.latencies);
    viewer.latencies = [];
    bytes += viewer.bytes;
    viewer.bytes = 0;
  }
  return { viewers: viewers.length, frames, perViewer, latencies, bytes };
}

process.on('message', async (message: SfuParentToWorker) => {
  try {
    if (message.type === 'init') {
      let failed = 0;
      const errors: string[] = [];
      for (let i = 0; i < message.count; i += 8) {
        const batch = Array.from({ length: Math.min(8, message.count - i) }, () =>
          addViewer(message.url, message.roomId).catch((err: unknown) => {
            failed++;
            const text = err instanceof Error ? err.message : String(err);
            if (!errors.includes(text) && errors.length < 5) errors.push(text);
          }),
        );
        await Promise.all(batch);
      }
      send({ type: 'ready', failed, errors });
    } else if (message.type === 'collect') {
      send({ type: 'collected', tally: tally(message.window) });
    } else if (message.type === 'close') {
      for (const viewer of viewers) {
        viewer.sub.close();
        viewer.socket.disconnect();
      }
      process.exit(0);
    }
  } catch (err) {
    send({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
  }
});
send({ type: 'started' });
