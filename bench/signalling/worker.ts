/**
 * Load-generating worker: simulates `rooms` × (1 broadcaster + `viewersPerRoom` viewers) against
 * either the roomcast Socket.IO server or a PeerJS server, phase by phase as the runner commands.
 * Forked by run.ts with an IPC channel; it exits when the runner goes away.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/events';
import type { RoomCode, SignalMessage } from '../../shared/schemas';
import { LatencyHistogram } from './histogram';
import type {
  ParentToWorker,
  PhaseCommand,
  PhaseName,
  PhaseResult,
  SignalResult,
  WorkerInit,
  WorkerToParent,
} from './ipc';
import {
  CANDIDATES_PER_SIDE,
  answerSdp,
  iceCandidate,
  nowMs,
  offerSdp,
  readStamp,
  type CandidateInit,
} from './payloads';

type RoomcastSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type DescriptionType = 'offer' | 'answer';

interface ClientTransport {
  sendDescription(to: string, type: DescriptionType, sdp: string): void;
  sendCandidate(to: string, candidate: CandidateInit): void;
  close(): void;
}

interface SimClient {
  index: number;
  role: 'broadcaster' | 'viewer';
  room: SimRoom;
  /** roomcast: the server-assigned clientId; peerjs: the id we chose. */
  id: string | null;
  transport: ClientTransport | null;
  roomcast: RoomcastSocket | null;
  joined: boolean;
}

interface SimRoom {
  code: string | null;
  broadcaster: SimClient;
  viewers: SimClient[];
}

const MAX_ERROR_REASONS = 5;
/** monitorEventLoopDelay reports whole timer periods; subtract the period to get the lag. */
const LOOP_DELAY_RESOLUTION_MS = 5;
/** PeerJS clients ping every 5 s by default (peerjs `pingInterval`); keep the same habit. */
const PEERJS_HEARTBEAT_MS = 5000;

let init: WorkerInit | null = null;
const rooms: SimRoom[] = [];
const clients: SimClient[] = [];
let closing = false;

// Signal-phase counters, reset at the start of the phase.
let recording = false;
let windowEndsAt = 0;
let relayLatency = new LatencyHistogram();
let sent = 0;
let deliveredInWindow = 0;
let deliveredTotal = 0;
let otherEvents = 0;
let unexpectedDisconnects = 0;

function send(message: WorkerToParent): void {
  process.send?.(message);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts `task` for each item at `ratePerSec` (an open-loop arrival rate, so latency is not
 * inflated by a self-made queue), but never with more than `maxInFlight` running at once.
 */
async function runPaced<T>(
  items: readonly T[],
  ratePerSec: number,
  maxInFlight: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const gapMs = 1000 / ratePerSec;
  const startedAt = nowMs();
  const running = new Set<Promise<void>>();
  for (let i = 0; i < items.length; i++) {
    const dueIn = startedAt + i * gapMs - nowMs();
    if (dueIn > 1) await sleep(dueIn);
    while (running.size >= maxInFlight) await Promise.race(running);
    const run: Promise<void> = task(items[i]!).finally(() => running.delete(run));
    running.add(run);
  }
  await Promise.all(running);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

class PhaseTally {
  readonly latency = new LatencyHistogram();
  readonly errors: string[] = [];
  readonly startedAt = nowMs();
  ok = 0;
  failed = 0;

  fail(reason: string): void {
    this.failed += 1;
    if (this.errors.length < MAX_ERROR_REASONS && !this.errors.includes(reason)) {
      this.errors.push(reason);
    }
  }

  result(): PhaseResult {
    return {
      ok: this.ok,
      failed: this.failed,
      errors: this.errors,
      latency: this.latency.toJSON(),
      elapsedMs: nowMs() - this.startedAt,
    };
  }
}

// ---- receiving ------------------------------------------------------------------------------

function handleRelayed(
  client: SimClient,
  from: string,
  kind: DescriptionType | 'candidate',
  text: string,
): void {
  if (!recording) return;
  const sentAt = readStamp(text);
  const receivedAt = nowMs();
  if (sentAt !== null) relayLatency.record(receivedAt - sentAt);
  deliveredTotal += 1;
  if (receivedAt <= windowEndsAt) deliveredInWindow += 1;
  // The viewer answers every offer, then trickles its own candidates (the polite peer's half).
  if (kind === 'offer' && client.role === 'viewer' && client.transport) {
    client.transport.sendDescription(from, 'answer', answerSdp(nowMs()));
    for (let i = 0; i < CANDIDATES_PER_SIDE; i++) {
      client.transport.sendCandidate(from, iceCandidate(i, nowMs()));
    }
    sent += 1 + CANDIDATES_PER_SIDE;
  }
}

function handleRoomcastSignal(client: SimClient, message: SignalMessage): void {
  if (message.description?.sdp !== undefined) {
    const kind = message.description.type === 'offer' ? 'offer' : 'answer';
    handleRelayed(client, message.from, kind, message.description.sdp);
  } else if (message.candidate) {
    handleRelayed(client, message.from, 'candidate', message.candidate.candidate);
  }
}

interface PeerJsMessage {
  type?: string;
  src?: string;
  payload?: {
    sdp?: { type?: string; sdp?: string };
    candidate?: { candidate?: string };
  };
}

function handlePeerJsMessage(client: SimClient, message: PeerJsMessage): void {
  const from = message.src ?? '';
  switch (message.type) {
    case 'OFFER':
      handleRelayed(client, from, 'offer', message.payload?.sdp?.sdp ?? '');
      break;
    case 'ANSWER':
      handleRelayed(client, from, 'answer', message.payload?.sdp?.sdp ?? '');
      break;
    case 'CANDIDATE':
      handleRelayed(client, from, 'candidate', message.payload?.candidate?.candidate ?? '');
      break;
    default:
      otherEvents += 1;
  }
}

// ---- connecting -----------------------------------------------------------------------------

function connectRoomcast(client: SimClient, config: WorkerInit): Promise<void> {
  const socket: RoomcastSocket = io(config.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: config.requestTimeoutMs,
  });
  client.roomcast = socket;
  client.transport = {
    sendDescription: (to, type, sdp) => socket.emit('signal', { to, description: { type, sdp } }),
    sendCandidate: (to, candidate) => socket.emit('signal', { to, candidate }),
    close: () => socket.disconnect(),
  };
  socket.on('signal', (message) => handleRoomcastSignal(client, message));
  socket.onAny((event: string) => {
    if (recording && event !== 'signal') otherEvents += 1;
  });
  socket.on('disconnect', () => {
    if (!closing) unexpectedDisconnects += 1;
  });
  return new Promise<void>((resolve, reject) => {
    socket.once('welcome', (welcome) => {
      client.id = welcome.clientId;
      resolve();
    });
    socket.once('connect_error', (error) => reject(new Error(`connect_error: ${error.message}`)));
  });
}

function connectPeerJs(client: SimClient, config: WorkerInit): Promise<void> {
  const id = `w${config.workerIndex}c${client.index}${randomBytes(4).toString('hex')}`;
  const token = randomBytes(8).toString('hex');
  client.id = id;
  const ws = new WebSocket(`${config.url}?key=peerjs&id=${id}&token=${token}`, {
    perMessageDeflate: false,
  });
  let heartbeat: NodeJS.Timeout | undefined;
  const connectionId = `mc_${randomBytes(6).toString('hex')}`;
  client.transport = {
    sendDescription: (to, type, sdp) =>
      ws.send(
        JSON.stringify({
          type: type === 'offer' ? 'OFFER' : 'ANSWER',
          dst: to,
          payload: { sdp: { type, sdp }, type: 'media', connectionId },
        }),
      ),
    sendCandidate: (to, candidate) =>
      ws.send(
        JSON.stringify({
          type: 'CANDIDATE',
          dst: to,
          payload: { candidate, type: 'media', connectionId },
        }),
      ),
    close: () => {
      clearInterval(heartbeat);
      ws.close();
    },
  };
  return new Promise<void>((resolve, reject) => {
    let opened = false;
    ws.on('message', (data) => {
      let message: PeerJsMessage;
      try {
        message = JSON.parse(String(data)) as PeerJsMessage;
      } catch {
        return;
      }
      if (!opened && message.type === 'OPEN') {
        opened = true;
        heartbeat = setInterval(() => {
          if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"HEARTBEAT"}');
        }, PEERJS_HEARTBEAT_MS);
        resolve();
      } else if (!opened && (message.type === 'ERROR' || message.type === 'ID-TAKEN')) {
        reject(new Error(`peerjs ${message.type}`));
      } else {
        handlePeerJsMessage(client, message);
      }
    });
    ws.on('error', (error) => reject(new Error(`ws error: ${error.message}`)));
    ws.on('close', () => {
      clearInterval(heartbeat);
      if (!closing) unexpectedDisconnects += 1;
      if (!opened) reject(new Error('ws closed before OPEN'));
    });
  });
}

// ---- phases ---------------------------------------------------------------------------------

function setUp(config: WorkerInit): void {
  init = config;
  let index = 0;
  for (let r = 0; r < config.rooms; r++) {
    const room = { code: null, viewers: [] } as unknown as SimRoom;
    const make = (role: SimClient['role']): SimClient => ({
      index: index++,
      role,
      room,
      id: null,
      transport: null,
      roomcast: null,
      joined: false,
    });
    room.broadcaster = make('broadcaster');
    for (let v = 0; v < config.viewersPerRoom; v++) room.viewers.push(make('viewer'));
    rooms.push(room);
    clients.push(room.broadcaster, ...room.viewers);
  }
}

async function phaseConnect(config: WorkerInit): Promise<PhaseResult> {
  const tally = new PhaseTally();
  const connect = config.target === 'roomcast' ? connectRoomcast : connectPeerJs;
  await runPaced(clients, config.ratePerSec, config.concurrency, async (client) => {
    const startedAt = nowMs();
    try {
      await withTimeout(connect(client, config), config.requestTimeoutMs, 'connect');
      tally.latency.record(nowMs() - startedAt);
      tally.ok += 1;
    } catch (error) {
      client.transport?.close();
      client.transport = null;
      tally.fail(error instanceof Error ? error.message : String(error));
    }
  });
  return tally.result();
}

async function phaseCreate(config: WorkerInit): Promise<PhaseResult> {
  const tally = new PhaseTally();
  const broadcasters = rooms.map((room) => room.broadcaster).filter((b) => b.transport);
  await runPaced(broadcasters, config.ratePerSec, config.concurrency, async (broadcaster) => {
    if (config.target === 'peerjs') {
      // PeerJS has no rooms: the broadcaster simply addresses its viewers by id.
      broadcaster.room.code = 'peerjs';
      tally.ok += 1;
      return;
    }
    const startedAt = nowMs();
    try {
      const result = await broadcaster
        .roomcast!.timeout(config.requestTimeoutMs)
        .emitWithAck('create_room', {});
      if (!result.ok) throw new Error(`create_room ${result.error.code}`);
      tally.latency.record(nowMs() - startedAt);
      broadcaster.room.code = result.data.roomId;
      tally.ok += 1;
    } catch (error) {
      tally.fail(error instanceof Error ? error.message : String(error));
    }
  });
  return tally.result();
}

async function phaseJoin(config: WorkerInit): Promise<PhaseResult> {
  const tally = new PhaseTally();
  const viewers = rooms
    .flatMap((room) => (room.code ? room.viewers : []))
    .filter((v) => v.transport);
  await runPaced(viewers, config.ratePerSec, config.concurrency, async (viewer) => {
    if (config.target === 'peerjs') {
      viewer.joined = true;
      tally.ok += 1;
      return;
    }
    const startedAt = nowMs();
    try {
      const result = await viewer
        .roomcast!.timeout(config.requestTimeoutMs)
        .emitWithAck('join_room', { roomId: viewer.room.code as RoomCode });
      if (!result.ok) throw new Error(`join_room ${result.error.code}`);
      tally.latency.record(nowMs() - startedAt);
      viewer.joined = true;
      tally.ok += 1;
    } catch (error) {
      tally.fail(error instanceof Error ? error.message : String(error));
    }
  });
  return tally.result();
}

function startRound(broadcaster: SimClient, viewer: SimClient): void {
  const transport = broadcaster.transport;
  if (!transport || !viewer.id || nowMs() > windowEndsAt) return;
  transport.sendDescription(viewer.id, 'offer', offerSdp(nowMs()));
  for (let i = 0; i < CANDIDATES_PER_SIDE; i++) {
    transport.sendCandidate(viewer.id, iceCandidate(i, nowMs()));
  }
  sent += 1 + CANDIDATES_PER_SIDE;
}

async function phaseSignal(command: PhaseCommand): Promise<SignalResult> {
  const durationMs = command.durationMs ?? 10_000;
  const intervalMs = command.roundIntervalMs ?? 5000;
  const drainMs = command.drainMs ?? 2000;
  relayLatency = new LatencyHistogram();
  sent = 0;
  deliveredInWindow = 0;
  deliveredTotal = 0;
  otherEvents = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  const cpuBefore = process.cpuUsage();
  const startedAt = nowMs();
  windowEndsAt = startedAt + durationMs;
  recording = true;

  const timers: NodeJS.Timeout[] = [];
  for (const room of rooms) {
    if (!room.code || !room.broadcaster.transport) continue;
    for (const viewer of room.viewers) {
      if (!viewer.joined || !viewer.transport) continue;
      // A random phase per viewer spreads the rounds evenly instead of in lock-step bursts.
      const first = setTimeout(() => {
        startRound(room.broadcaster, viewer);
        timers.push(setInterval(() => startRound(room.broadcaster, viewer), intervalMs));
      }, Math.random() * intervalMs);
      timers.push(first);
    }
  }
  await sleep(durationMs);
  for (const timer of timers) clearTimeout(timer);
  await sleep(drainMs);
  recording = false;
  loopDelay.disable();
  const cpu = process.cpuUsage(cpuBefore);
  return {
    ok: deliveredTotal,
    failed: Math.max(0, sent - deliveredTotal),
    errors: unexpectedDisconnects > 0 ? [`${unexpectedDisconnects} unexpected disconnects`] : [],
    latency: relayLatency.toJSON(),
    elapsedMs: nowMs() - startedAt,
    sent,
    deliveredInWindow,
    deliveredTotal,
    windowMs: durationMs,
    otherEvents,
    workerCpuMs: (cpu.user + cpu.system) / 1000,
    loopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS),
    loopDelayMaxMs: Math.max(0, loopDelay.max / 1e6 - LOOP_DELAY_RESOLUTION_MS),
  };
}

async function runPhase(command: PhaseCommand): Promise<void> {
  if (!init) throw new Error('phase before init');
  const handlers: Record<PhaseName, () => Promise<PhaseResult | SignalResult>> = {
    connect: () => phaseConnect(init!),
    create: () => phaseCreate(init!),
    join: () => phaseJoin(init!),
    signal: () => phaseSignal(command),
  };
  const result = await handlers[command.phase]();
  send({ type: 'phase_done', phase: command.phase, result });
}

function closeAll(): void {
  closing = true;
  for (const client of clients) client.transport?.close();
}

process.on('message', (message: ParentToWorker) => {
  if (message.type === 'init') {
    setUp(message);
    send({ type: 'ready' });
  } else if (message.type === 'phase') {
    runPhase(message).catch((error: unknown) => {
      send({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
    });
  } else if (message.type === 'close') {
    closeAll();
    // Give close frames a moment to leave, then go.
    setTimeout(() => process.exit(0), 300).unref();
  }
});

send({ type: 'started' });

// Never outlive the runner.
process.on('disconnect', () => {
  closeAll();
  process.exit(0);
});
