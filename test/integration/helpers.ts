import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import type {
  AckResult,
  ClientToServerEvents,
  ServerToClientEvents,
  Welcome,
} from '../../shared/index';
import { createApp, type App } from '../../server/app';
import { loadConfig } from '../../server/config';
import { createLogger } from '../../server/logger';
import type { Timers } from '../../server/room-registry';

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestServer {
  server: App;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** The real app on an ephemeral port, with a silent logger and an empty client dir. */
export async function startServer(
  env: Record<string, string> = {},
  options: { timers?: Timers; clientDir?: string } = {},
): Promise<TestServer> {
  const clientDir = options.clientDir ?? mkdtempSync(path.join(tmpdir(), 'roomcast-client-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    CLIENT_DIR: clientDir,
    // The generated ROOM_SECRET file goes to a scratch dir, not the checkout.
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'roomcast-data-')),
    // A free UDP port for the SFU: test files run in parallel.
    WEBRTC_UDP_PORT: '0',
    ...env,
  });
  const server = createApp({
    config,
    logger: createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent'),
    timers: options.timers,
  });
  const { port } = await server.listen();
  return { server, port, url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

const openSockets = new Set<TestSocket>();

/** A connected client (websocket only, no reconnection) with its `welcome`. */
export async function connectClient(
  url: string,
  welcomeTimeoutMs = 3000,
): Promise<TestSocket & { welcome: Welcome }> {
  const socket = ioClient(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: Math.max(5000, welcomeTimeoutMs),
  }) as TestSocket;
  openSockets.add(socket);
  const welcome = await waitFor(socket, 'welcome', welcomeTimeoutMs);
  return Object.assign(socket, { welcome });
}

export function closeAllClients(): void {
  for (const socket of openSockets) socket.disconnect();
  openSockets.clear();
}

/** Emits with an ack and resolves with the ack result (rejects on timeout). */
export function emitAck<T = unknown>(
  socket: TestSocket,
  event: string,
  payload?: unknown,
  timeoutMs = 3000,
): Promise<AckResult<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), timeoutMs);
    const args = payload === undefined ? [] : [payload];
    (socket.emit as (...a: unknown[]) => void)(event, ...args, (result: AckResult<T>) => {
      clearTimeout(timer);
      resolve(result);
    });
  });
}

/** Resolves with the next `event` payload that passes `predicate`. */
export function waitFor<E extends keyof ServerToClientEvents>(
  socket: TestSocket,
  event: E,
  timeoutMs = 3000,
  predicate: (payload: Parameters<ServerToClientEvents[E]>[0]) => boolean = () => true,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  type Payload = Parameters<ServerToClientEvents[E]>[0];
  return new Promise((resolve, reject) => {
    const listener = (payload: Payload) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener as never);
      resolve(payload);
    };
    const timer = setTimeout(() => {
      socket.off(event, listener as never);
      reject(new Error(`timed out waiting for ${String(event)}`));
    }, timeoutMs);
    socket.on(event, listener as never);
  });
}

/** Collects every `event` payload from now on. */
export function collect<E extends keyof ServerToClientEvents>(
  socket: TestSocket,
  event: E,
): Array<Parameters<ServerToClientEvents[E]>[0]> {
  const seen: Array<Parameters<ServerToClientEvents[E]>[0]> = [];
  socket.on(event, ((payload: Parameters<ServerToClientEvents[E]>[0]) =>
    seen.push(payload)) as never);
  return seen;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asserts an ack succeeded and returns its data. */
export function expectOk<T>(result: AckResult<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.data;
}

/** Timers the test fires by hand, so grace-period expiry needs no waiting. */
export class ManualTimers implements Timers {
  #next = 1;
  readonly pending = new Map<number, () => void>();
  setTimeout = (callback: () => void) => {
    const id = this.#next++;
    this.pending.set(id, callback);
    return id;
  };
  clearTimeout = (handle: unknown) => {
    this.pending.delete(handle as number);
  };
  fireAll(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const callback of due) callback();
  }
}

/** A broadcaster with a room and `count` joined viewers. */
export async function roomWithViewers(url: string, count: number, createPayload: object = {}) {
  const broadcaster = await connectClient(url);
  const created = expectOk(
    await emitAck<{ roomId: string; broadcasterToken: string }>(
      broadcaster,
      'create_room',
      createPayload,
    ),
  );
  const viewers: Array<TestSocket & { welcome: Welcome }> = [];
  for (let i = 0; i < count; i++) {
    const viewer = await connectClient(url);
    expectOk(await emitAck(viewer, 'join_room', { roomId: created.roomId }));
    viewers.push(viewer);
  }
  return { broadcaster, viewers, roomId: created.roomId, token: created.broadcasterToken };
}
