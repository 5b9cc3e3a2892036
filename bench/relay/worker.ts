/**
 * Relay benchmark worker, forked by run.ts: either the publisher (one socket that sends the
 * synthetic frames of frames.ts) or a group of viewers (socket.io-client against roomcast, or
 * plain `ws` against the raw broadcast server) that count and time what arrives.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/events';
import { RELAY_HEADER_BYTES } from '../../shared/relay-frame';
import type { RoomCode } from '../../shared/schemas';
import { LatencyHistogram } from '../signalling/histogram';
import { FrameSource, framesDue, readStamp, type FrameSpec } from './frames';
import type {
  PublisherWindowResult,
  RelayParentToWorker,
  RelayTarget,
  RelayWorkerToParent,
  ViewerGroupResult,
} from './ipc';

type RoomcastSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const TICK_MS = 5;
const LOOP_DELAY_RESOLUTION_MS = 5;
const MAX_ERRORS = 5;

const nowMs = () => performance.timeOrigin + performance.now();
const send = (message: RelayWorkerToParent) => process.send?.(message);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${label} timed out`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const closers: Array<() => void> = [];

// ---- publisher ------------------------------------------------------------------------------

interface PublisherState {
  windowId: number;
  windowStartedAt: number;
  video: number;
  audio: number;
  bytes: number;
  dropped: number;
}

async function startPublisher(target: RelayTarget, url: string, spec: FrameSpec): Promise<void> {
  let roomId: string | null = null;
  let emit: (bytes: Uint8Array) => boolean;
  if (target === 'roomcast') {
    const socket: RoomcastSocket = io(url, { transports: ['websocket'], reconnection: false });
    closers.push(() => socket.close());
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', (e) => reject(e));
      }),
      10_000,
      'publisher connect',
    );
    const created = await socket.timeout(10_000).emitWithAck('create_room', {});
    if (!created.ok) throw new Error(`create_room ${created.error.code}`);
    roomId = created.data.roomId;
    socket.on('protocol_error', (e) => {
      if (errorsSeen++ < MAX_ERRORS) console.error(`publisher protocol_error ${JSON.stringify(e)}`);
    });
    emit = (bytes) => {
      if (!socket.connected) return false;
      socket.emit('relay_chunk', bytes);
      return true;
    };
  } else {
    const ws = new WebSocket(`${url}/?role=publisher`, { perMessageDeflate: false });
    closers.push(() => ws.terminate());
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      }),
      10_000,
      'publisher connect',
    );
    emit = (bytes) => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(bytes, { binary: true });
      return true;
    };
  }

  const source = new FrameSource(spec);
  const state: PublisherState = {
    windowId: 0,
    windowStartedAt: nowMs(),
    video: 0,
    audio: 0,
    bytes: 0,
    dropped: 0,
  };
  const sent = { video: 0, audio: 0 };
  const startedAt = performance.now();
  const timer = setInterval(() => {
    const due = framesDue(spec, performance.now() - startedAt, sent);
    // Interleave by schedule time is unnecessary at 5 ms ticks; audio first keeps it small.
    for (let i = 0; i < due.audio; i++) {
      const bytes = source.nextAudio({ sentAtMs: nowMs(), windowId: state.windowId });
      sent.audio += 1;
      if (emit(bytes)) {
        if (state.windowId) {
          state.audio += 1;
          state.bytes += bytes.byteLength;
        }
      } else state.dropped += 1;
    }
    for (let i = 0; i < due.video; i++) {
      const { bytes } = source.nextVideo({ sentAtMs: nowMs(), windowId: state.windowId });
      sent.video += 1;
      if (emit(bytes)) {
        if (state.windowId) {
          state.video += 1;
          state.bytes += bytes.byteLength;
        }
      } else state.dropped += 1;
    }
  }, TICK_MS);
  closers.push(() => clearInterval(timer));
  publisher = state;
  send({ type: 'publisher_ready', roomId });
}

let publisher: PublisherState | null = null;
let errorsSeen = 0;

function switchWindow(windowId: number): void {
  if (!publisher) throw new Error('window before init_publisher');
  const result: PublisherWindowResult = {
    windowId: publisher.windowId,
    videoFrames: publisher.video,
    audioFrames: publisher.audio,
    bytes: publisher.bytes,
    elapsedMs: nowMs() - publisher.windowStartedAt,
    dropped: publisher.dropped,
  };
  Object.assign(publisher, {
    windowId,
    windowStartedAt: nowMs(),
    video: 0,
    audio: 0,
    bytes: 0,
    dropped: 0,
  });
  send({ type: 'window_done', result });
}

// ---- viewers --------------------------------------------------------------------------------

interface WindowTally {
  video: number;
  audio: number;
  bytes: number;
}

interface SimViewer {
  measured: boolean;
  disconnected: boolean;
  /** Per window id. */
  tallies: Map<number, WindowTally>;
  /** The underlying TCP socket, for pausing reads. */
  tcp: () => { pause(): void; resume(): void } | null;
  close: () => void;
}

const viewers: SimViewer[] = [];
const latencyByWindow = new Map<number, LatencyHistogram>();
let disconnects = 0;
let closing = false;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });

function handleFrame(viewer: SimViewer, frame: ArrayBuffer | Uint8Array): void {
  const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
  if (bytes.byteLength < RELAY_HEADER_BYTES + 9) return;
  const configLength = bytes[2]! | (bytes[3]! << 8);
  const stamp = readStamp(bytes.subarray(RELAY_HEADER_BYTES + configLength));
  if (!stamp || stamp.windowId === 0) return;
  let tally = viewer.tallies.get(stamp.windowId);
  if (!tally) {
    tally = { video: 0, audio: 0, bytes: 0 };
    viewer.tallies.set(stamp.windowId, tally);
  }
  if (bytes[1]! & 1) tally.audio += 1;
  else tally.video += 1;
  tally.bytes += bytes.byteLength;
  if (viewer.measured) {
    let histogram = latencyByWindow.get(stamp.windowId);
    if (!histogram) {
      histogram = new LatencyHistogram();
      latencyByWindow.set(stamp.windowId, histogram);
    }
    histogram.record(nowMs() - stamp.sentAtMs);
  }
}

type TcpSocket = { pause(): void; resume(): void };

async function connectRoomcastViewer(
  viewer: SimViewer,
  url: string,
  roomId: string,
  timeoutMs: number,
): Promise<void> {
  const socket: RoomcastSocket = io(url, { transports: ['websocket'], reconnection: false });
  viewer.close = () => socket.close();
  viewer.tcp = () => {
    // engine.io-client's websocket transport keeps the `ws` instance on `.ws`.
    const transport = (
      socket.io.engine as unknown as { transport?: { ws?: { _socket?: TcpSocket } } }
    ).transport;
    return transport?.ws?._socket ?? null;
  };
  socket.on('relay_chunk', (frame) => handleFrame(viewer, frame));
  socket.on('disconnect', () => {
    if (closing) return;
    disconnects += 1;
    viewer.disconnected = true;
  });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (e) => reject(e));
    }),
    timeoutMs,
    'connect',
  );
  const joined = await socket
    .timeout(timeoutMs)
    .emitWithAck('join_room', { roomId: roomId as RoomCode });
  if (!joined.ok) throw new Error(`join_room ${joined.error.code}`);
  const subscribed = await socket
    .timeout(timeoutMs)
    .emitWithAck('relay_subscribe', { reason: 'forced' });
  if (!subscribed.ok) throw new Error(`relay_subscribe ${subscribed.error.code}`);
}

async function connectRawViewer(viewer: SimViewer, url: string, timeoutMs: number): Promise<void> {
  const ws = new WebSocket(`${url}/?role=viewer`, { perMessageDeflate: false });
  ws.binaryType = 'nodebuffer';
  viewer.close = () => ws.terminate();
  viewer.tcp = () => (ws as unknown as { _socket?: TcpSocket })._socket ?? null;
  ws.on('message', (data, isBinary) => {
    if (isBinary) handleFrame(viewer, data as Buffer);
  });
  ws.on('close', () => {
    if (closing) return;
    disconnects += 1;
    viewer.disconnected = true;
  });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }),
    timeoutMs,
    'connect',
  );
}

async function startViewers(
  message: Extract<RelayParentToWorker, { type: 'init_viewers' }>,
): Promise<void> {
  const total = message.count + message.throttled;
  for (let i = 0; i < total; i++) {
    viewers.push({
      measured: i < message.count,
      disconnected: false,
      tallies: new Map(),
      tcp: () => null,
      close: () => {},
    });
  }
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  let next = 0;
  const runOne = async () => {
    while (next < viewers.length) {
      const viewer = viewers[next++]!;
      try {
        if (message.target === 'roomcast') {
          await connectRoomcastViewer(
            viewer,
            message.url,
            message.roomId ?? '',
            message.requestTimeoutMs,
          );
        } else {
          await connectRawViewer(viewer, message.url, message.requestTimeoutMs);
        }
        ok += 1;
      } catch (error) {
        failed += 1;
        const reason = error instanceof Error ? error.message : String(error);
        if (errors.length < MAX_ERRORS && !errors.includes(reason)) errors.push(reason);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, message.concurrency) }, runOne));
  loopDelay.enable();
  mark = { cpu: process.cpuUsage(), at: performance.now() };
  send({ type: 'viewers_ready', ok, failed, errors });
}

/** CPU and wall clock at the previous collect (or when the viewers were ready). */
let mark = { cpu: process.cpuUsage(), at: performance.now() };

function collect(windowId: number): ViewerGroupResult {
  const cpu = process.cpuUsage(mark.cpu);
  const elapsedMs = performance.now() - mark.at;
  mark = { cpu: process.cpuUsage(), at: performance.now() };
  const result: ViewerGroupResult = {
    windowId,
    viewers: 0,
    videoFrames: 0,
    audioFrames: 0,
    bytes: 0,
    perViewerVideo: [],
    latency: (latencyByWindow.get(windowId) ?? new LatencyHistogram()).toJSON(),
    throttledVideoFrames: 0,
    throttledAudioFrames: 0,
    throttledDisconnected: viewers.filter((v) => !v.measured && v.disconnected).length,
    disconnects,
    workerCpuMs: (cpu.user + cpu.system) / 1000,
    workerElapsedMs: elapsedMs,
    loopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS),
  };
  loopDelay.reset();
  for (const viewer of viewers) {
    const tally = viewer.tallies.get(windowId) ?? { video: 0, audio: 0, bytes: 0 };
    viewer.tallies.delete(windowId);
    if (viewer.measured) {
      result.viewers += 1;
      result.videoFrames += tally.video;
      result.audioFrames += tally.audio;
      result.bytes += tally.bytes;
      result.perViewerVideo.push(tally.video);
    } else {
      result.throttledVideoFrames += tally.video;
      result.throttledAudioFrames += tally.audio;
    }
  }
  latencyByWindow.delete(windowId);
  return result;
}

function throttle(paused: boolean): number {
  let sockets = 0;
  for (const viewer of viewers) {
    if (viewer.measured) continue;
    const tcp = viewer.tcp();
    if (!tcp) continue;
    if (paused) tcp.pause();
    else tcp.resume();
    sockets += 1;
  }
  return sockets;
}

// ---- plumbing -------------------------------------------------------------------------------

function closeAll(): void {
  closing = true;
  for (const close of closers) close();
  for (const viewer of viewers) viewer.close();
}

process.on('message', (message: RelayParentToWorker) => {
  const fail = (error: unknown) =>
    send({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
  try {
    switch (message.type) {
      case 'init_publisher':
        startPublisher(message.target, message.url, message.spec).catch(fail);
        break;
      case 'init_viewers':
        startViewers(message).catch(fail);
        break;
      case 'window':
        switchWindow(message.windowId);
        break;
      case 'collect':
        send({ type: 'collected', result: collect(message.windowId) });
        break;
      case 'throttle':
        send({ type: 'throttled', sockets: throttle(message.paused) });
        break;
      case 'close':
        closeAll();
        void sleep(200).then(() => process.exit(0));
        break;
    }
  } catch (error) {
    fail(error);
  }
});

send({ type: 'started' });

// Never outlive the runner.
process.on('disconnect', () => {
  closeAll();
  process.exit(0);
});
