import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ackError,
  ackOk,
  PROTOCOL_VERSION,
  type ClientToServerEvents,
  type RoomCode,
  type ServerToClientEvents,
} from '../../shared/index';
import { SignallingClient, type ConnectionState } from '../../client/src/lib/signalling-client';
import { setLogLevel } from '../../client/src/lib/logger';

setLogLevel('error');

/** A tiny stand-in server (not the app's): welcome on connect, a few canned acks, signal echo. */
let http: HttpServer;
let io: Server<ClientToServerEvents, ServerToClientEvents>;
let url: string;
let serverSockets: ServerSocket[];
const clients: SignallingClient[] = [];

beforeEach(async () => {
  serverSockets = [];
  http = createServer();
  io = new Server(http);
  io.on('connection', (socket) => {
    serverSockets.push(socket);
    socket.emit('welcome', {
      clientId: socket.id,
      protocolVersion: PROTOCOL_VERSION,
      iceServers: [],
    });
    socket.on('join_room', (payload, ack) => {
      if (payload.roomId === '123456') {
        ack(
          ackOk({
            roomId: payload.roomId,
            broadcasterId: 'b1',
            broadcasterOnline: true,
            title: 'Demo',
            iceServers: [],
            mode: 'webrtc',
            modeReason: null,
            relayAvailable: false,
            hlsMirror: false,
            ladder: { mediaTimeoutMs: 8000, retryIntervalMs: 30_000 },
          }),
        );
      } else {
        ack(ackError('ROOM_NOT_FOUND'));
      }
    });
    // create_room is never acknowledged, to exercise the client timeout.
    socket.on('create_room', () => undefined);
    // leave_room drops the connection before answering.
    socket.on('leave_room', () => socket.disconnect(true));
    socket.on('signal', (payload) => {
      const { to: _to, ...rest } = payload;
      socket.emit('signal', { from: socket.id, ...rest });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await new Promise<void>((resolve) => io.close(() => resolve()));
});

function makeClient(): SignallingClient {
  const client = new SignallingClient({
    url,
    ioOptions: { reconnectionDelay: 50, reconnectionDelayMax: 100 },
  });
  clients.push(client);
  return client;
}

const waitFor = (predicate: () => boolean, timeoutMs = 3000) =>
  new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error('timed out waiting'));
      setTimeout(poll, 10);
    };
    poll();
  });

describe('SignallingClient', () => {
  it('connects over websocket and resolves with the welcome', async () => {
    const client = makeClient();
    const states: ConnectionState[] = [];
    client.onStateChange((s) => states.push(s));
    expect(client.connectionState).toBe('disconnected');
    const welcome = await client.connect();
    expect(welcome.clientId).toBe(serverSockets[0]?.id);
    expect(client.clientId).toBe(welcome.clientId);
    expect(client.connectionState).toBe('connected');
    expect(states).toEqual(['connecting', 'connected']);
    expect(client.socket.io.engine.transport.name).toBe('websocket');
    // A second call shares the promise.
    await expect(client.connect()).resolves.toEqual(welcome);
  });

  it('maps acks to ok and error results', async () => {
    const client = makeClient();
    await client.connect();
    const ok = await client.request('join_room', { roomId: '123456' as RoomCode });
    expect(ok).toEqual({
      ok: true,
      data: expect.objectContaining({ roomId: '123456', broadcasterId: 'b1' }),
    });
    const missing = await client.request('join_room', { roomId: '654321' as RoomCode });
    expect(missing).toEqual({
      ok: false,
      error: { code: 'ROOM_NOT_FOUND', message: expect.any(String) },
    });
  });

  it('maps an unanswered request to TIMEOUT', async () => {
    const client = makeClient();
    await client.connect();
    const result = await client.request('create_room', {}, 150);
    expect(result).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
  });

  it('answers DISCONNECTED when not connected, without throwing', async () => {
    const client = makeClient();
    const result = await client.request('create_room', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'DISCONNECTED' } });
  });

  it('answers DISCONNECTED when the connection drops while waiting', async () => {
    const client = makeClient();
    await client.connect();
    const result = await client.request('leave_room', {}, 2000);
    expect(result).toMatchObject({ ok: false, error: { code: 'DISCONNECTED' } });
    // The server kicked us: no automatic reconnection.
    await waitFor(() => client.connectionState === 'disconnected');
  });

  it('delivers typed server events and unsubscribes', async () => {
    const client = makeClient();
    await client.connect();
    const received: unknown[] = [];
    const off = client.on('signal', (msg) => received.push(msg));
    client.sendSignal({ to: 'someone', description: { type: 'offer', sdp: 'v=0' } });
    await waitFor(() => received.length === 1);
    expect(received[0]).toEqual({
      from: client.clientId,
      description: { type: 'offer', sdp: 'v=0' },
    });
    off();
    client.sendSignal({ to: 'someone', candidate: null });
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toHaveLength(1);
  });

  it('drops signals while disconnected instead of buffering them', async () => {
    const client = makeClient();
    client.sendSignal({ to: 'x', candidate: null });
    client.sendStats({ role: 'broadcaster', totalUploadKbps: 0, peers: [] });
    expect(client.socket.sendBuffer).toHaveLength(0);
  });

  it('reconnects after a transport drop and reports the new clientId', async () => {
    const client = makeClient();
    const first = await client.connect();
    const states: ConnectionState[] = [];
    client.onStateChange((s) => states.push(s));
    const welcomes: string[] = [];
    client.onWelcome((w) => welcomes.push(w.clientId));
    // Closing the engine connection looks like a network drop to the client.
    serverSockets[0]?.conn.close();
    await waitFor(() => welcomes.length === 1);
    expect(welcomes[0]).not.toBe(first.clientId);
    expect(client.clientId).toBe(welcomes[0]);
    expect(states).toContain('reconnecting');
    expect(client.connectionState).toBe('connected');
  });

  it('close() disconnects for good', async () => {
    const client = makeClient();
    await client.connect();
    client.close();
    expect(client.connectionState).toBe('disconnected');
    await new Promise((r) => setTimeout(r, 200));
    expect(client.socket.connected).toBe(false);
    const result = await client.request('join_room', { roomId: '123456' as RoomCode });
    expect(result).toMatchObject({ ok: false, error: { code: 'DISCONNECTED' } });
  });
});
